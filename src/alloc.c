/*
 * alloc.c - jemalloc arenas per reactor (see alloc.h). mallocx/dallocx are
 * called by name so that jemalloc serves atoll's blocks even when another
 * malloc wins symbol interposition in the final program.
 */
#include "alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/ref.h"

#ifndef ATOLL_USE_JEMALLOC
#define ATOLL_USE_JEMALLOC 0
#endif

#if ATOLL_USE_JEMALLOC
#include <jemalloc/jemalloc.h>

void *atoll__alloc(size_t size)
{
	return mallocx(size ? size : 1, 0);
}

void *atoll__zalloc(size_t size)
{
	return mallocx(size ? size : 1, MALLOCX_ZERO);
}

void atoll__free(void *p)
{
	if (p != NULL)
		dallocx(p, 0);
}

/* Arena index per reactor index, created on first use and kept for the life
 * of the process: jemalloc arenas are cheap to keep and costly to churn. */
static unsigned arenas[ATOLL_MAX_REACTORS];
static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;

int atoll__alloc_bind_thread(unsigned index)
{
	unsigned arena;
	size_t sz = sizeof(arena);
	int err;

	if (index >= ATOLL_MAX_REACTORS)
		return -EINVAL;
	pthread_mutex_lock(&arenas_lock);
	arena = arenas[index];
	if (arena == 0) {
		err = mallctl("arenas.create", &arena, &sz, NULL, 0);
		if (err != 0) {
			pthread_mutex_unlock(&arenas_lock);
			return -err;
		}
		arenas[index] = arena;
	}
	pthread_mutex_unlock(&arenas_lock);
	err = mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena));
	return -err;
}

#else /* libc allocator, for sanitizer builds */

void *atoll__alloc(size_t size)
{
	return malloc(size ? size : 1);
}

void *atoll__zalloc(size_t size)
{
	return calloc(1, size ? size : 1);
}

void atoll__free(void *p)
{
	free(p);
}

int atoll__alloc_bind_thread(unsigned index)
{
	(void)index;
	return 0;
}

#endif
