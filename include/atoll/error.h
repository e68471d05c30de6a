/*
 * atoll/error.h - error convention.
 *
 * Every atoll function that can fail returns an int: >= 0 on success (or a
 * count), a negative errno value on failure. There is no global "last error".
 */
#ifndef ATOLL_ERROR_H
#define ATOLL_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Returns a static, human-readable string for a value returned by an atoll
 * function: "success" for values >= 0, strerror(-err) otherwise.
 * Thread-safe; the string must not be freed.
 */
const char *atoll_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_ERROR_H */
