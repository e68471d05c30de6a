/*
 * atoll/ref.h - actor references.
 *
 * An atoll_ref is a 64-bit value naming an actor: the reactor (core) it lives
 * on, its slot in that reactor's actor table and the slot's generation. A ref
 * to an actor that has stopped keeps its old generation, so sends to it are
 * detected and counted as dead letters; they never reach an actor that later
 * reuses the slot. Refs are plain values: copy them, put them in messages,
 * compare them with ==.
 */
#ifndef ATOLL_REF_H
#define ATOLL_REF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t atoll_ref;

/* No actor. Generations start at 1, so no live actor ever has this ref. */
#define ATOLL_REF_NONE ((atoll_ref)0)

/* Layout: core (12 bits) | slot (24 bits) | generation (28 bits). */
#define ATOLL_REF_CORE_BITS 12
#define ATOLL_REF_SLOT_BITS 24
#define ATOLL_REF_GEN_BITS 28
#define ATOLL_MAX_REACTORS (1u << ATOLL_REF_CORE_BITS)

/* Returns the index of the reactor the actor named by ref lives on. */
static inline unsigned atoll_ref_core(atoll_ref ref)
{
	return (unsigned)(ref >> (ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS));
}

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_REF_H */
