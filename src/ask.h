/*
 * ask.h - a reactor's pending asks with a deadline (atoll_ask_timeout): an
 * open-addressing hash table from correlation id to the timer that will send
 * the TIMEOUT. An entry exists exactly while the ask is unanswered; whoever
 * removes it (the reply, a rejection, or the timer's TIMEOUT) is the one
 * answer the asker sees. Owned by one reactor, so no locks.
 */
#ifndef ATOLL_ASK_H
#define ATOLL_ASK_H

#include <stdbool.h>
#include <stdint.h>

#include "atoll/timer.h"

struct atoll__ask_entry {
	uint64_t corr; /* 0: empty */
	atoll_timer timer;
};

struct atoll__asks {
	struct atoll__ask_entry *slots; /* [mask + 1], or NULL */
	uint32_t mask;
	uint32_t count;
};

/* Frees the table. */
void atoll__asks_destroy(struct atoll__asks *t);

#endif /* ATOLL_ASK_H */
