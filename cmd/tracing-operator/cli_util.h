/* cli_util.h - small helpers shared by the CLI subcommands: reading input files
 * (or stdin) with a size cap, and printing diagnostics. */
#ifndef OP_CLI_UTIL_H
#define OP_CLI_UTIL_H
#include <stddef.h>
#include <stdio.h>

#include "base/diag.h"

#define CLI_MAX_INPUT (64u * 1024 * 1024)

/* Reads path ("-" = stdin) into a new NUL-terminated buffer. On failure prints
 * "tracing-operator <cmd>: <path>: <reason>" to stderr and returns NULL. */
char *cli_read_input(const char *cmd, const char *path, size_t *ret_len);

/* new ref: docs with every `kind: List` (or *List) object replaced by its items, so
 * `compile -o json` and `kubectl get -o json` output can be fed back in. */
#include <jansson.h>
json_t *cli_flatten_lists(json_t *docs);

/* Prints every item as "<prefix>: error|warning: <where>: <msg>" to f. */
void cli_print_diag(FILE *f, const char *prefix, const struct diag *d);

#endif
