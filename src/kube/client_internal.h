/* client_internal.h - test hooks of the kube client (not for production callers). */
#ifndef OP_KUBE_CLIENT_INTERNAL_H
#define OP_KUBE_CLIENT_INTERNAL_H
#include <stddef.h>
#include <time.h>

#include "kube/client.h"

/* Replaces the clock used for the token's age (default: time(NULL)). */
void kube_client_set_clock(struct kube_client *c, time_t (*now)(void));

/* Replaces KUBE_MAX_RESPONSE (the cap on one response body). */
void kube_client_set_max_response(struct kube_client *c, size_t max);

/* Replaces KUBE_WATCH_MAX_LINE for watches of this client. */
void kube_client_set_max_watch_line(struct kube_client *c, size_t max);

#endif
