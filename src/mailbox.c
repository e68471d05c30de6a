/*
 * mailbox.c - bounded mailboxes: what happens to an ordinary message that
 * finds a full one (REJECT, DROP_NEWEST, DROP_OLDEST). The limit is checked
 * on the receiving reactor, when a message enters the mailbox; cross-core
 * rings stay lossless. System messages (stop, DOWN, EXIT, TIMEOUT,
 * REJECTED) and I/O completions count in the length but always enter, so a
 * limit never costs an actor its failure notices or its completions.
 */
#include <errno.h>

#include "reactor.h"

/* Whether m may be dropped by DROP_OLDEST. */
static bool droppable(const atoll_msg *m)
{
	return m->type >= ATOLL_MSG_USER && !(m->flags & ATOLL__MSGF_EXEMPT);
}

/* Removes and frees the oldest droppable message. Returns whether one was. */
static bool drop_oldest(struct atoll__actor *a)
{
	atoll_msg *prev = NULL;

	for (atoll_msg *m = a->mbox_head; m != NULL; prev = m, m = m->next) {
		if (!droppable(m))
			continue;
		if (prev != NULL)
			prev->next = m->next;
		else
			a->mbox_head = m->next;
		if (a->mbox_tail == m)
			a->mbox_tail = prev;
		a->mbox_len--;
		atoll_msg_free(m);
		return true;
	}
	return false;
}

int atoll__mailbox_overflow(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	switch (a->overflow) {
	case ATOLL_OVERFLOW_DROP_OLDEST:
		if (drop_oldest(a)) {
			ATOLL__STAT_INC(r, mailbox_dropped);
			atoll__mailbox_push(r, a, msg);
			return ATOLL_SENT;
		}
		/* Only system messages wait: the new one goes instead. */
		/* fall through */
	case ATOLL_OVERFLOW_DROP_NEWEST:
		ATOLL__STAT_INC(r, mailbox_dropped);
		atoll_msg_free(msg);
		return ATOLL_SENT;
	default:
		ATOLL__STAT_INC(r, mailbox_rejected);
		atoll_msg_free(msg);
		return -ENOBUFS;
	}
}

int atoll__mailbox_bounce(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	atoll_ref back = msg->reply_to;
	atoll_msg *rej;
	struct atoll_rejected *p;

	ATOLL__STAT_INC(r, mailbox_rejected);
	if (back == ATOLL_REF_NONE ||
	    (rej = atoll_msg_new(ATOLL_MSG_REJECTED, sizeof(*p))) == NULL) {
		atoll__dead_letter(r, msg);
		return ATOLL_SENT;
	}
	p = rej->data;
	p->target = a->ref;
	p->msg = msg;
	rej->corr = msg->corr;
	/* A refused timed ask is answered by its rejection. */
	if (msg->flags & ATOLL__MSGF_ASKED)
		rej->flags |= ATOLL__MSGF_ANSWER;
	msg->flags &= ~ATOLL__MSGF_ASKED;
	msg->next = NULL;
	rej->release = atoll__mailbox_rejected_release;
	(void)atoll_send(r, back, rej);
	return ATOLL_SENT;
}

void atoll__mailbox_rejected_release(atoll_msg *rej)
{
	struct atoll_rejected *p = rej->data;

	atoll_msg_free(p->msg);
	p->msg = NULL;
}

int atoll__mailbox_setup(struct atoll__actor *a, const struct atoll_spawn_opts *opts)
{
	if (opts->overflow != ATOLL_OVERFLOW_REJECT &&
	    opts->overflow != ATOLL_OVERFLOW_DROP_NEWEST &&
	    opts->overflow != ATOLL_OVERFLOW_DROP_OLDEST)
		return -EINVAL;
	a->mbox_limit = opts->mailbox_limit;
	a->overflow = (uint8_t)opts->overflow;
	return 0;
}
