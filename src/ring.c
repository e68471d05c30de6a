/*
 * ring.c - allocation of the SPSC ring's slot array. The ring's operations
 * are inline in ring.h because they sit on the cross-core hot path.
 */
#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int atoll__ring_init(struct atoll__ring *ring, uint32_t capacity)
{
	if (capacity < 2 || (capacity & (capacity - 1)) != 0)
		return -EINVAL;
	memset(ring, 0, sizeof(*ring));
	ring->slots = calloc(capacity, sizeof(void *));
	if (ring->slots == NULL)
		return -ENOMEM;
	ring->mask = capacity - 1;
	atomic_init(&ring->head, 0);
	atomic_init(&ring->tail, 0);
	return 0;
}

void atoll__ring_destroy(struct atoll__ring *ring)
{
	free(ring->slots);
	ring->slots = NULL;
}
