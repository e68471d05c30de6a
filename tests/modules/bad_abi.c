/*
 * bad_abi.c - a broken module for test_module.c: built for another module
 * ABI version than this atoll's.
 */
#include <atoll.h>

static int bad_abi_register(struct atoll_catalog *c)
{
	(void)c;
	return 0;
}

__attribute__((visibility("default"))) const uint32_t atoll_module_abi = ATOLL_MODULE_ABI + 1000;
__attribute__((visibility("default"))) int atoll_module_register(struct atoll_catalog *c)
{
	return bad_abi_register(c);
}
