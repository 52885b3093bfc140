/* cmd_run.c - `tracing-operator run`: the controller (src/controller) with the admission
 * webhooks (src/webhook/runtime) plugged in through the controller's run hooks. */
#include "cmd.h"

#include "controller/controller.h"

int cmd_run(int argc, char **argv) { return controller_cli_run(argc, argv); }
