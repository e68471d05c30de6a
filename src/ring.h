/*
 * ring.h - a bounded lock-free single-producer single-consumer ring of
 * pointers, one per ordered pair of reactors.
 *
 * Invariants: capacity is a power of two; only the producer writes tail and
 * the slots in [head, tail), only the consumer writes head. Each side keeps a
 * private cache of the other's index (Rigtorp) so the shared lines are read
 * only when the cache says the ring looks full (producer) or empty
 * (consumer). The producer fills slots with push() and makes them visible
 * with publish(), once per batch; the consumer takes them with pop() and
 * hands the slots back with release(), once per batch.
 */
#ifndef ATOLL_RING_H
#define ATOLL_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATOLL__CACHE_LINE 128 /* two lines: defeats the adjacent-line prefetcher */

struct atoll__ring {
	/* Producer side. tail: released in publish, paired with the
	 * consumer's acquire load in pop and has_work. */
	alignas(ATOLL__CACHE_LINE) _Atomic uint32_t tail;
	uint32_t tail_local; /* next slot to fill, not yet published */
	uint32_t head_cache; /* producer's view of head */
	/* Consumer side. head: released in release, paired with the
	 * producer's acquire load in push. */
	alignas(ATOLL__CACHE_LINE) _Atomic uint32_t head;
	uint32_t head_local; /* next slot to read, not yet released */
	uint32_t tail_cache; /* consumer's view of tail */
	/* Read-only after init. */
	alignas(ATOLL__CACHE_LINE) uint32_t mask;
	void **slots;
};

/* Sets up ring with capacity slots (a power of two >= 2). Returns 0,
 * -EINVAL or -ENOMEM. */
int atoll__ring_init(struct atoll__ring *ring, uint32_t capacity);

/* Frees the slot array. The ring must be empty or its contents owned
 * elsewhere. */
void atoll__ring_destroy(struct atoll__ring *ring);

/*
 * Producer: stores p in the next slot without publishing it. Returns false
 * when the ring is full (counting unpublished slots).
 */
static inline bool atoll__ring_push(struct atoll__ring *ring, void *p)
{
	uint32_t t = ring->tail_local;

	if (t - ring->head_cache > ring->mask) {
		/* Acquire pairs with the consumer's release store of head in
		 * atoll__ring_release: slots below head are no longer read. */
		ring->head_cache = atomic_load_explicit(&ring->head, memory_order_acquire);
		if (t - ring->head_cache > ring->mask)
			return false;
	}
	ring->slots[t & ring->mask] = p;
	ring->tail_local = t + 1;
	return true;
}

/* Producer: number of slots pushed but not yet published. */
static inline uint32_t atoll__ring_unpublished(const struct atoll__ring *ring)
{
	return ring->tail_local - atomic_load_explicit(&ring->tail, memory_order_relaxed);
}

/*
 * Producer: makes every pushed slot visible to the consumer. The release
 * store pairs with the consumer's acquire load of tail in atoll__ring_pop.
 */
static inline void atoll__ring_publish(struct atoll__ring *ring)
{
	atomic_store_explicit(&ring->tail, ring->tail_local, memory_order_release);
}

/*
 * Consumer: takes the next published pointer, or returns NULL when none is
 * visible. The slot is not handed back until atoll__ring_release.
 */
static inline void *atoll__ring_pop(struct atoll__ring *ring)
{
	uint32_t h = ring->head_local;

	if (h == ring->tail_cache) {
		/* Acquire pairs with the producer's release store in
		 * atoll__ring_publish: the slot contents are visible. */
		ring->tail_cache = atomic_load_explicit(&ring->tail, memory_order_acquire);
		if (h == ring->tail_cache)
			return NULL;
	}
	ring->head_local = h + 1;
	return ring->slots[h & ring->mask];
}

/*
 * Consumer: hands the popped slots back to the producer. The release store
 * pairs with the producer's acquire load of head in atoll__ring_push.
 */
static inline void atoll__ring_release(struct atoll__ring *ring)
{
	atomic_store_explicit(&ring->head, ring->head_local, memory_order_release);
}

/*
 * Consumer: true when the producer has published slots not yet popped. Used
 * by the park protocol after its full fence, so it reads tail afresh.
 */
static inline bool atoll__ring_has_work(struct atoll__ring *ring)
{
	return atomic_load_explicit(&ring->tail, memory_order_acquire) != ring->head_local;
}

#endif /* ATOLL_RING_H */
