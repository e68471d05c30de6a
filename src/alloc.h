/*
 * alloc.h - the runtime's allocator: jemalloc with one arena per reactor.
 *
 * Each reactor thread binds itself to its own jemalloc arena, so cores never
 * share allocator state; a block freed on another core goes back to its
 * arena through jemalloc. Sanitizer builds use the libc allocator, which the
 * sanitizers replace, so every allocation is checked and leaks are reported.
 */
#ifndef ATOLL_ALLOC_H
#define ATOLL_ALLOC_H

#include <stddef.h>

/* Returns size bytes, or NULL. Any thread. */
void *atoll__alloc(size_t size);

/* Returns size zeroed bytes, or NULL. Any thread. */
void *atoll__zalloc(size_t size);

/* Frees a block from atoll__alloc/zalloc; NULL is a no-op. Any thread. */
void atoll__free(void *p);

/*
 * Binds the calling thread to the arena of reactor `index`, creating it the
 * first time (arenas are reused by later runtimes). Returns 0 or -errno;
 * on failure the thread keeps the default arena, which is still correct.
 */
int atoll__alloc_bind_thread(unsigned index);

#endif /* ATOLL_ALLOC_H */
