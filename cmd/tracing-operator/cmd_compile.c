/* cmd_compile.c - `tracing-operator compile`: the tracing DSL into TracingModel and
 * Instrumentation YAML (the work is in src/dsl/cli.c). */
#include "cmd.h"

#include "dsl/dsl.h"

int cmd_compile(int argc, char **argv) { return dsl_cli_compile(argc, argv); }
