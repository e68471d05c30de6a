/*
 * tcp_listener_params.c - a TCP listener from a topology's parameters
 * (port, bind, max_connections), for the server types of the actor library
 * (tcp_listener.h). The listener lives on the server actor's reactor, so one
 * server actor per reactor (placement = each) gives one listener per
 * reactor on a shared port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>

#include "tcp_listener.h"

int atoll_tcp_listener_check_params(const struct atoll_params *p, char *err, size_t errlen)
{
	const char *bind = atoll_params_str(p, "bind");
	unsigned char addr[sizeof(struct in6_addr)];

	if (bind == NULL ||
	    (inet_pton(AF_INET, bind, addr) != 1 && inet_pton(AF_INET6, bind, addr) != 1)) {
		snprintf(err, errlen,
			 "parameter 'bind': expected an IPv4 or IPv6 address such as 127.0.0.1 "
			 "or ::1, got '%s'",
			 bind != NULL ? bind : "");
		return -EINVAL;
	}
	return 0;
}

int atoll_tcp_listener_spawn(atoll_ctx *ctx, const struct atoll_params *p,
			     const struct atoll_actor_type *conn_type, const void *conn_arg,
			     void (*release)(const void *conn_arg), atoll_ref *listener)
{
	struct atoll_tcp_listener_args args = {
		.host = atoll_params_str(p, "bind"),
		.port = (uint16_t)atoll_params_int(p, "port"),
		.max_connections = (unsigned)atoll_params_int(p, "max_connections"),
		.conn_type = conn_type,
		.conn_arg = conn_arg,
		.release = release,
	};
	const char *group = atoll_params_group_name(p);
	int err;

	/* Spawned here: init runs now, so args may live on the stack. */
	err = atoll_spawn(ctx, &atoll_tcp_listener_type, &args, ATOLL_HERE, listener);
	if (err < 0)
		fprintf(stderr, "%s: cannot listen on %s port %u (reactor %u): %s\n",
			group[0] != '\0' ? group : conn_type->name,
			args.host != NULL ? args.host : "127.0.0.1", (unsigned)args.port,
			atoll_core(ctx), atoll_strerror(err));
	return err;
}
