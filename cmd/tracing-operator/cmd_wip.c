/* cmd_wip.c - subcommands still being written; each says so and exits 2. */
#include "cmd.h"

#include <stdio.h>

static int wip(const char *name) {
    fprintf(stderr, "tracing-operator %s: not available in this build yet\n", name);
    return 2;
}

int cmd_run(int argc, char **argv) { return wip("run"); }
