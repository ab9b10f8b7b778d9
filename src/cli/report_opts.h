/* SPDX-License-Identifier: BSD-2-Clause */
/* report_opts.h: the options every report command takes: --db, --json,
 * --csv, --since, --until, --sensor, --groups, --help. */
#ifndef KEXWATCH_REPORT_OPTS_H
#define KEXWATCH_REPORT_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "kexwatch/report.h"

enum {
	KX_ROPT_DB = 2000, KX_ROPT_JSON, KX_ROPT_CSV, KX_ROPT_SINCE, KX_ROPT_UNTIL, KX_ROPT_SENSOR,
	KX_ROPT_WIDE, KX_ROPT_LIMIT, KX_ROPT_COLUMNS, KX_ROPT_GROUPS,
};

#define KX_REPORT_LONGOPTS                                     \
	{ "db", required_argument, NULL, KX_ROPT_DB },         \
	{ "json", no_argument, NULL, KX_ROPT_JSON },           \
	{ "csv", no_argument, NULL, KX_ROPT_CSV },             \
	{ "since", required_argument, NULL, KX_ROPT_SINCE },   \
	{ "until", required_argument, NULL, KX_ROPT_UNTIL },   \
	{ "sensor", required_argument, NULL, KX_ROPT_SENSOR }, \
	{ "groups", required_argument, NULL, KX_ROPT_GROUPS }, \
	{ "help", no_argument, NULL, 'h' }

/* The table options of hops, clients, fingerprints and changes. */
#define KX_TABLE_LONGOPTS                                      \
	{ "wide", no_argument, NULL, KX_ROPT_WIDE },           \
	{ "limit", required_argument, NULL, KX_ROPT_LIMIT },   \
	{ "columns", required_argument, NULL, KX_ROPT_COLUMNS }

struct kx_report_cli {
	const char *cmd;   /* "hops": for messages */
	const char *db;
	enum kx_out_format fmt;
	struct kx_report_filter f;
	const char *since, *until;
	int64_t now_us;    /* what relative times count back from */
	int formats;       /* --json/--csv given: more than one is an error */
	bool wide;         /* --wide */
	const char *limit, *columns;
	const char *groups; /* --groups FILE: loaded by kx_report_cli_finish */
	struct kx_table_opts table;
};

void kx_report_cli_init(struct kx_report_cli *o, const char *cmd);

/* Applies option ch: 1 when it was one of KX_REPORT_LONGOPTS, 0 when not. */
int kx_report_cli_option(struct kx_report_cli *o, int ch, const char *arg);

/* Parses --since/--until and checks combinations; -1 after printing why. */
int kx_report_cli_finish(struct kx_report_cli *o);

/* The help lines of KX_REPORT_LONGOPTS but --help, which each command
 * lists last. */
void kx_report_cli_help(FILE *out, int with_formats);

/* The help lines of KX_TABLE_LONGOPTS. */
void kx_report_cli_table_help(FILE *out);

/* After kx_report_cli_finish, for a command with KX_TABLE_LONGOPTS:
 * parses --limit and sets the table options (the terminal's width when
 * stdout is one and not --wide); -1 after printing why. */
int kx_report_cli_table(struct kx_report_cli *o);

/* Prints a report's error as "kexwatch CMD: ..." and returns the exit
 * status: KX_EXIT_USAGE for an unknown --columns name, else fail. */
int kx_report_cli_failed(const struct kx_report_cli *o, const char *err, int fail);

/* A report that takes only the common options: parses them, runs `run`
 * on stdout, prints errors as "kexwatch NAME: ...". Returns the exit status. */
typedef int (*kx_report_fn)(const char *db_path, const struct kx_report_filter *f,
			    enum kx_out_format fmt, FILE *out, char *err, size_t errlen);
int kx_report_cli_run(int argc, char **argv, const char *name, void (*help)(FILE *out),
		      kx_report_fn run);

/* kx_report_cli_run with KX_TABLE_LONGOPTS too. */
int kx_report_cli_run_table(int argc, char **argv, const char *name, void (*help)(FILE *out),
			    kx_report_fn run);


#endif
