/*
 * table.c - slot reservation and release for the actor table (table.h).
 * Reservation is lock-free so that any core can spawn onto any other and get
 * a valid ref at once; release is done by the owning reactor only, which is
 * what keeps generations single-writer.
 */
#include "table.h"

#include <errno.h>
#include <stdlib.h>

#include "alloc.h"

int atoll__table_init(struct atoll__table *t, unsigned core)
{
	atomic_init(&t->free_head, 0);
	atomic_init(&t->fresh, 0);
	t->core = core;
	t->chunks = atoll__zalloc(ATOLL__MAX_CHUNKS * sizeof(*t->chunks));
	return t->chunks != NULL ? 0 : -ENOMEM;
}

void atoll__table_destroy(struct atoll__table *t)
{
	if (t->chunks == NULL)
		return;
	for (uint32_t i = 0; i < ATOLL__MAX_CHUNKS; i++)
		atoll__free(atomic_load_explicit(&t->chunks[i], memory_order_relaxed));
	atoll__free(t->chunks);
	t->chunks = NULL;
}

/* Returns the chunk for slot index, creating it if needed. */
static struct atoll__slot *chunk_get(struct atoll__table *t, uint32_t index)
{
	_Atomic(struct atoll__slot *) *cp = &t->chunks[index >> ATOLL__CHUNK_BITS];
	struct atoll__slot *chunk = atomic_load_explicit(cp, memory_order_acquire);
	struct atoll__slot *expected = NULL;

	if (chunk != NULL)
		return chunk;
	chunk = atoll__alloc(ATOLL__CHUNK_SLOTS * sizeof(*chunk));
	if (chunk == NULL)
		return NULL;
	for (uint32_t i = 0; i < ATOLL__CHUNK_SLOTS; i++) {
		atomic_init(&chunk[i].actor, NULL);
		atomic_init(&chunk[i].gen, 1);
		atomic_init(&chunk[i].next_free, 0);
		atomic_init(&chunk[i].rejects, 0);
		atomic_init(&chunk[i].alias, 0);
	}
	/* Release pairs with the acquire loads in chunk_get and
	 * atoll__table_slot: the initialised slots are visible. */
	if (!atomic_compare_exchange_strong_explicit(cp, &expected, chunk, memory_order_acq_rel,
						     memory_order_acquire)) {
		atoll__free(chunk); /* Another reserver won; use its chunk. */
		return expected;
	}
	return chunk;
}

int atoll__table_reserve(struct atoll__table *t, atoll_ref *ref)
{
	uint64_t head = atomic_load_explicit(&t->free_head, memory_order_acquire);
	uint32_t index;

	while ((uint32_t)head != 0) {
		struct atoll__slot *s = atoll__table_slot(t, (uint32_t)head - 1);
		uint32_t next = atomic_load_explicit(&s->next_free, memory_order_relaxed);
		uint64_t want = ((head >> 32) + 1) << 32 | next;

		/* Acquire pairs with the owner's release CAS in
		 * atoll__table_free: the slot's gen and next_free are those it
		 * wrote. The tag makes a head that was popped and pushed back
		 * in between fail this CAS (ABA). */
		if (atomic_compare_exchange_weak_explicit(&t->free_head, &head, want,
							  memory_order_acquire,
							  memory_order_acquire)) {
			index = (uint32_t)head - 1;
			*ref = atoll__ref_make(t->core, index,
					       atomic_load_explicit(&s->gen, memory_order_relaxed));
			return 0;
		}
	}
	index = atomic_fetch_add_explicit(&t->fresh, 1, memory_order_relaxed);
	if (index >= ATOLL__MAX_SLOTS) {
		atomic_fetch_sub_explicit(&t->fresh, 1, memory_order_relaxed);
		return -EAGAIN;
	}
	struct atoll__slot *chunk = chunk_get(t, index);
	if (chunk == NULL)
		return -ENOMEM; /* The slot index is lost; rare and harmless. */
	*ref = atoll__ref_make(t->core, index,
			       atomic_load_explicit(&chunk[index & (ATOLL__CHUNK_SLOTS - 1u)].gen,
						    memory_order_relaxed));
	return 0;
}

void atoll__table_publish(struct atoll__table *t, atoll_ref ref, struct atoll__actor *actor)
{
	struct atoll__slot *s = atoll__table_slot(t, atoll__ref_slot(ref));

	/* Release pairs with the acquire load in atoll__table_get. */
	atomic_store_explicit(&s->actor, actor, memory_order_release);
}

void atoll__table_free(struct atoll__table *t, atoll_ref ref)
{
	uint32_t index = atoll__ref_slot(ref);
	struct atoll__slot *s = atoll__table_slot(t, index);
	uint32_t gen = (atomic_load_explicit(&s->gen, memory_order_relaxed) + 1) & ATOLL__GEN_MASK;
	uint64_t head = atomic_load_explicit(&t->free_head, memory_order_relaxed);

	atomic_store_explicit(&s->actor, NULL, memory_order_relaxed);
	atomic_store_explicit(&s->gen, gen != 0 ? gen : 1, memory_order_relaxed);
	do {
		atomic_store_explicit(&s->next_free, (uint32_t)head, memory_order_relaxed);
		/* Release pairs with the acquire CAS in atoll__table_reserve. */
	} while (!atomic_compare_exchange_weak_explicit(
		&t->free_head, &head, ((head >> 32) + 1) << 32 | (index + 1), memory_order_release,
		memory_order_relaxed));
}

int atoll__table_reserve_alias(struct atoll__table *t, atoll_ref *ref)
{
	int err = atoll__table_reserve(t, ref);

	if (err == 0)
		atomic_store_explicit(&atoll__table_slot(t, atoll__ref_slot(*ref))->alias, 1u,
				      memory_order_relaxed);
	return err;
}

void atoll__table_alias_clear(struct atoll__table *t, atoll_ref alias, struct atoll__actor *actor)
{
	struct atoll__slot *s = atoll__table_slot(t, atoll__ref_slot(alias));
	struct atoll__actor *expected = actor;

	/* Relaxed: the DOWN that tells a supervisor this incarnation is gone
	 * is sent after this, through a ring (release/acquire), so the
	 * supervisor's next publish is ordered after this clear. A publish
	 * that won the race (a restart while this one still stopped) makes
	 * the exchange fail, and the slot keeps the newer actor. */
	(void)atomic_compare_exchange_strong_explicit(&s->actor, &expected, NULL,
						      memory_order_relaxed, memory_order_relaxed);
}
