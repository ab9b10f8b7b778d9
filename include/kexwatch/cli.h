/* SPDX-License-Identifier: BSD-2-Clause */
/* cli.h: subcommands. Each takes the arguments after its name (argv[0] is the
 * subcommand) and returns the process exit status. */
#ifndef KEXWATCH_CLI_H
#define KEXWATCH_CLI_H

int kx_cmd_read(int argc, char **argv);
int kx_cmd_live(int argc, char **argv);
int kx_cmd_changes(int argc, char **argv);
int kx_cmd_hops(int argc, char **argv);
int kx_cmd_clients(int argc, char **argv);
int kx_cmd_fingerprints(int argc, char **argv);
int kx_cmd_audit(int argc, char **argv);
int kx_cmd_health(int argc, char **argv);
int kx_cmd_sql(int argc, char **argv);
int kx_cmd_report(int argc, char **argv);
int kx_cmd_merge(int argc, char **argv);
int kx_cmd_push(int argc, char **argv);
int kx_cmd_prune(int argc, char **argv);
int kx_cmd_rollup(int argc, char **argv);
int kx_cmd_cbom(int argc, char **argv);
int kx_cmd_groups(int argc, char **argv);

/* Exit statuses shared by all commands. */
enum { KX_EXIT_OK = 0, KX_EXIT_FAIL = 1, KX_EXIT_USAGE = 2, KX_EXIT_INTERRUPTED = 130 };

#endif
