/* main.c - tracing-operator entry point: dispatches to the subcommands. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"

static const struct command commands[] = {
    {"render", "print the manifests a TracingModel becomes (no cluster needed)", cmd_render},
    {"validate", "check TracingModel/Instrumentation files and print every error", cmd_validate},
    {"compile", "compile tracing DSL files into TracingModel/Instrumentation YAML", cmd_compile},
    {"run", "run the controller and the admission webhooks", cmd_run},
    {"version", "print the version", cmd_version},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "Usage: tracing-operator <command> [flags]\n\nCommands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->help);
    fprintf(f, "\nRun 'tracing-operator <command> --help' for a command's flags.\n");
}

int main(int argc, char **argv) {
    xalloc_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc - 1, argv + 1);
    for (const struct command *c = commands; c->name; c++)
        if (!strcmp(argv[1], c->name))
            return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "tracing-operator: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
