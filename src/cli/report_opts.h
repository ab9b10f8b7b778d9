/* SPDX-License-Identifier: BSD-2-Clause */
/* report_opts.h: the options every report command takes: --db, --json,
 * --csv, --since, --until, --sensor, --help. */
#ifndef KEXWATCH_REPORT_OPTS_H
#define KEXWATCH_REPORT_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "kexwatch/report.h"

enum {
	KX_ROPT_DB = 2000, KX_ROPT_JSON, KX_ROPT_CSV, KX_ROPT_SINCE, KX_ROPT_UNTIL, KX_ROPT_SENSOR,
};

#define KX_REPORT_LONGOPTS                                     \
	{ "db", required_argument, NULL, KX_ROPT_DB },         \
	{ "json", no_argument, NULL, KX_ROPT_JSON },           \
	{ "csv", no_argument, NULL, KX_ROPT_CSV },             \
	{ "since", required_argument, NULL, KX_ROPT_SINCE },   \
	{ "until", required_argument, NULL, KX_ROPT_UNTIL },   \
	{ "sensor", required_argument, NULL, KX_ROPT_SENSOR }, \
	{ "help", no_argument, NULL, 'h' }

struct kx_report_cli {
	const char *cmd;   /* "hops": for messages */
	const char *db;
	enum kx_out_format fmt;
	struct kx_report_filter f;
	const char *since, *until;
	int64_t now_us;    /* what relative times count back from */
	int formats;       /* --json/--csv given: more than one is an error */
};

void kx_report_cli_init(struct kx_report_cli *o, const char *cmd);

/* Applies option ch: 1 when it was one of KX_REPORT_LONGOPTS, 0 when not. */
int kx_report_cli_option(struct kx_report_cli *o, int ch, const char *arg);

/* Parses --since/--until and checks combinations; -1 after printing why. */
int kx_report_cli_finish(struct kx_report_cli *o);

/* The help lines of KX_REPORT_LONGOPTS but --help, which each command
 * lists last. */
void kx_report_cli_help(FILE *out, int with_formats);

/* A report that takes only the common options: parses them, runs `run`
 * on stdout, prints errors as "kexwatch NAME: ...". Returns the exit status. */
typedef int (*kx_report_fn)(const char *db_path, const struct kx_report_filter *f,
			    enum kx_out_format fmt, FILE *out, char *err, size_t errlen);
int kx_report_cli_run(int argc, char **argv, const char *name, void (*help)(FILE *out),
		      kx_report_fn run);


#endif
