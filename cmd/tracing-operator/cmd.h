/* cmd.h - the subcommands of the tracing-operator binary; each returns the exit code
 * (0 ok, 1 the input has errors, 2 usage or I/O error). */
#ifndef OP_CMD_H
#define OP_CMD_H

struct command {
    const char *name;
    const char *help;
    int (*fn)(int argc, char **argv);
};

int cmd_render(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
