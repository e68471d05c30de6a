/*
 * atoll.h - the atoll actor runtime: pinned reactors, actors with private
 * mailboxes, io_uring I/O, lock-free cross-core rings.
 *
 * Include this one header. See docs/tutorial.md for a first actor.
 */
#ifndef ATOLL_H
#define ATOLL_H

#define ATOLL_VERSION_MAJOR 0
#define ATOLL_VERSION_MINOR 1
#define ATOLL_VERSION_PATCH 0

#include "atoll/error.h"
#include "atoll/ref.h"
#include "atoll/msg.h"
#include "atoll/actor.h"
#include "atoll/failure.h"
#include "atoll/timer.h"
#include "atoll/registry.h"
#include "atoll/runtime.h"
#include "atoll/io.h"
#include "atoll/params.h"
#include "atoll/module.h"
#include "atoll/topology.h"

#endif /* ATOLL_H */
