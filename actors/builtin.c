/*
 * builtin.c - the actor library's types, by name, for topologies and
 * `atoll list` (atoll_catalog_add_builtin in atoll/module.h).
 */
#include <stddef.h>

#include "atoll.h"
#include "counter.h"
#include "file_sink.h"
#include "generator.h"
#include "logger.h"
#include "parser.h"
#include "aggregator.h"
#include "router.h"
#include "ticker.h"
#include "topic.h"

/* Every library type that can be started from a topology, in the order
 * `atoll list` shows them. */
static const struct atoll_type_info *const builtin[] = {
	&atoll_ticker_info, &atoll_generator_info, &atoll_parser_info, &atoll_aggregator_info, NULL,
};

int atoll_catalog_add_builtin(struct atoll_catalog *c)
{
	for (size_t i = 0; builtin[i] != NULL; i++) {
		int rc = atoll_catalog_add(c, builtin[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
