/* cli.h - the subcommands of the `maf` tool; each returns the process exit code. */
#ifndef MAF_CLI_H
#define MAF_CLI_H

int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
