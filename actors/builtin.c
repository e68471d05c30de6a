/*
 * builtin.c - the actor library's types, by name, for topologies and
 * `atoll list` (atoll_catalog_add_builtin in atoll/module.h).
 */
#include <stddef.h>

#include "atoll.h"

#include "aggregator.h"
#include "chat.h"
#include "counter.h"
#include "echo.h"
#include "fanout.h"
#include "file_sink.h"
#include "generator.h"
#include "kv_topology.h"
#include "line_server.h"
#include "logger.h"
#include "parser.h"
#include "pingpong.h"
#include "router.h"
#include "supervisor.h"
#include "thread_ring.h"
#include "ticker.h"
#include "topic.h"

/* Every library type that can be started from a topology, in the order
 * `atoll list` shows them. */
static const struct atoll_type_info *const builtin[] = {
	/* Sources, stages and sinks. */
	&atoll_ticker_info,     /* periodic messages */
	&atoll_generator_info,  /* load source */
	&atoll_parser_info,     /* pipeline stage */
	&atoll_aggregator_info, /* batching stage */
	&atoll_file_sink_info,  /* records to a file */
	&atoll_router_info,     /* one member of a group */
	&atoll_topic_info,      /* pub-sub */
	&atoll_counter_info,    /* stats sink */
	&atoll_logger_info,     /* log lines */
	/* Failure handling. */
	&atoll_supervisor_info, /* restarts the groups that name it */
	/* Network servers. */
	&echo_info,
	&line_server_info,
	&chat_info,
	&kv_server_info,
	/* Examples and measures. */
	&pingpong_info,
	&thread_ring_info,
	&fanout_info,
	&fanout_worker_info,
	NULL,
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
