/*
 * no_register.c - a broken module for test_module.c: it has the ABI symbol
 * but no register function.
 */
#include <atoll.h>

__attribute__((visibility("default"))) const uint32_t atoll_module_abi = ATOLL_MODULE_ABI;
