/*
 * table.h - a reactor's actor table: slots naming actors by (slot,
 * generation), so a stale ref is detected instead of reaching whoever reuses
 * the slot.
 *
 * Invariants: only the owning reactor frees a slot (and bumps its
 * generation); any thread may reserve one (a spawn from another core), from a
 * Treiber free list whose head carries an ABA tag, or from never-used slots.
 * Slots live in chunks of 4096 that are allocated on demand and never move,
 * so a slot's address is stable for the table's life.
 *
 * An alias slot (atoll_alias_new) is a stable name for successive actors:
 * each incarnation is published in its own slot and in the alias slot, and
 * the alias slot is emptied (its generation kept) when the incarnation
 * stops. Alias slots are never freed, so their generation never moves.
 */
#ifndef ATOLL_TABLE_H
#define ATOLL_TABLE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/ref.h"

struct atoll__actor;

#define ATOLL__CHUNK_BITS 12u
#define ATOLL__CHUNK_SLOTS (1u << ATOLL__CHUNK_BITS)
#define ATOLL__MAX_SLOTS (1u << ATOLL_REF_SLOT_BITS)
#define ATOLL__MAX_CHUNKS (ATOLL__MAX_SLOTS / ATOLL__CHUNK_SLOTS)
#define ATOLL__GEN_MASK ((1u << ATOLL_REF_GEN_BITS) - 1u)

struct atoll__slot {
	/* Set with release by the reserver (atoll__table_publish), cleared by
	 * the owner; read with acquire by anyone resolving a ref. */
	_Atomic(struct atoll__actor *) actor;
	/* Bumped by the owner when the slot is freed, before the release CAS
	 * that pushes it on the free list; read by reservers after the
	 * acquire CAS that pops it, and by senders checking a ref. */
	_Atomic uint32_t gen;
	/* Free-list link (index + 1, 0 = end). Written by the owner before the
	 * push CAS; read by poppers after the acquire load of the head. */
	_Atomic uint32_t next_free;
	/* 1 when the actor's bounded mailbox rejects (ATOLL_OVERFLOW_REJECT):
	 * senders on other cores then give a message without reply_to their
	 * own ref, so a rejection can come back. Written (relaxed) by the
	 * spawner before the release store that publishes the actor; read
	 * (relaxed) by senders, for whom a stale value only misroutes a
	 * rejection to a dead letter. */
	_Atomic uint32_t rejects;
	/* 1 for an alias slot. Written (relaxed) by the reserver before the
	 * alias ref is handed out; read (relaxed) by spawners that got the
	 * ref through some synchronising channel (a message, a start). */
	_Atomic uint32_t alias;
};

struct atoll__table {
	/* (tag << 32) | (slot + 1); 0 in the low half = empty. The owner's
	 * release CAS in free pairs with the acquire CAS in reserve. */
	alignas(128) _Atomic uint64_t free_head;
	/* Never-used slots handed out so far; fetch_add by reservers. */
	_Atomic uint32_t fresh;
	/* Chunk pointers, installed once with a CAS (release) and read with
	 * acquire by anyone. */
	alignas(128) _Atomic(struct atoll__slot *) *chunks;
	unsigned core;
};

/* Returns the ref for (core, slot, gen). */
static inline atoll_ref atoll__ref_make(unsigned core, uint32_t slot, uint32_t gen)
{
	return ((atoll_ref)core << (ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS)) |
	       ((atoll_ref)slot << ATOLL_REF_GEN_BITS) | (atoll_ref)gen;
}

static inline uint32_t atoll__ref_slot(atoll_ref ref)
{
	return (uint32_t)(ref >> ATOLL_REF_GEN_BITS) & (ATOLL__MAX_SLOTS - 1u);
}

static inline uint32_t atoll__ref_gen(atoll_ref ref)
{
	return (uint32_t)ref & ATOLL__GEN_MASK;
}

/* Returns the slot for index, or NULL if its chunk does not exist. */
static inline struct atoll__slot *atoll__table_slot(struct atoll__table *t, uint32_t index)
{
	struct atoll__slot *chunk =
		atomic_load_explicit(&t->chunks[index >> ATOLL__CHUNK_BITS], memory_order_acquire);
	return chunk != NULL ? &chunk[index & (ATOLL__CHUNK_SLOTS - 1u)] : NULL;
}

/*
 * Returns the actor named by ref if its generation is current and an actor
 * is published in the slot, else NULL. Any thread; from a thread other than
 * the owner the answer may be stale by the time it is used.
 */
static inline struct atoll__actor *atoll__table_get(struct atoll__table *t, atoll_ref ref)
{
	struct atoll__slot *s = atoll__table_slot(t, atoll__ref_slot(ref));

	if (s == NULL || atomic_load_explicit(&s->gen, memory_order_relaxed) != atoll__ref_gen(ref))
		return NULL;
	return atomic_load_explicit(&s->actor, memory_order_acquire);
}

/* Whether the actor named by ref (if current) rejects when full. Any
 * thread; a hint (see atoll__slot.rejects). */
static inline bool atoll__table_rejects(struct atoll__table *t, atoll_ref ref)
{
	struct atoll__slot *s = atoll__table_slot(t, atoll__ref_slot(ref));

	return s != NULL && atomic_load_explicit(&s->rejects, memory_order_relaxed) != 0;
}

/* Sets the rejects hint of a reserved slot, before it is published. */
static inline void atoll__table_set_rejects(struct atoll__table *t, atoll_ref ref, bool rejects)
{
	atomic_store_explicit(&atoll__table_slot(t, atoll__ref_slot(ref))->rejects,
			      rejects ? 1u : 0u, memory_order_relaxed);
}

/* Whether ref names an alias slot of this table (generation included).
 * Any thread. */
static inline bool atoll__table_is_alias(struct atoll__table *t, atoll_ref ref)
{
	struct atoll__slot *s = atoll__table_slot(t, atoll__ref_slot(ref));

	return s != NULL && atomic_load_explicit(&s->alias, memory_order_relaxed) != 0 &&
	       atomic_load_explicit(&s->gen, memory_order_relaxed) == atoll__ref_gen(ref);
}

/* Sets up an empty table for reactor `core`. Returns 0 or -ENOMEM. */
int atoll__table_init(struct atoll__table *t, unsigned core);

/* Frees the chunks. Actors still in the table are not freed. */
void atoll__table_destroy(struct atoll__table *t);

/*
 * Reserves a free slot and stores the ref naming it in *ref. Any thread.
 * Returns 0, -EAGAIN when all slots are in use, or -ENOMEM.
 */
int atoll__table_reserve(struct atoll__table *t, atoll_ref *ref);

/* Makes actor visible under the reserved ref (release store). */
void atoll__table_publish(struct atoll__table *t, atoll_ref ref, struct atoll__actor *actor);

/*
 * Owner only: empties the slot named by ref, bumps its generation so the
 * ref goes stale, and puts the slot on the free list.
 */
void atoll__table_free(struct atoll__table *t, atoll_ref ref);

/*
 * Reserves a slot as an alias (see above) and stores its ref in *ref. Any
 * thread. Returns 0, -EAGAIN (table full) or -ENOMEM.
 */
int atoll__table_reserve_alias(struct atoll__table *t, atoll_ref *ref);

/*
 * Owner only: empties the alias slot named by alias if it still names
 * actor. A newer incarnation may have been published there already (a
 * supervisor restarting a child whose old incarnation is still stopping):
 * the slot is then left to it.
 */
void atoll__table_alias_clear(struct atoll__table *t, atoll_ref alias, struct atoll__actor *actor);

/* Number of slots ever handed out (upper bound for iteration). */
static inline uint32_t atoll__table_used(struct atoll__table *t)
{
	uint32_t n = atomic_load_explicit(&t->fresh, memory_order_acquire);
	return n < ATOLL__MAX_SLOTS ? n : ATOLL__MAX_SLOTS;
}

#endif /* ATOLL_TABLE_H */
