/* SPDX-License-Identifier: BSD-2-Clause */
/* report_opts.c: the options every report command takes. */
#include "report_opts.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli_util.h"
#include "kexwatch/groups.h"
#include "kexwatch/cli.h"

void kx_report_cli_init(struct kx_report_cli *o, const char *cmd)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->db = "kexwatch.db";
	o->fmt = KX_OUT_TABLE;
	kx_report_filter_init(&o->f);
	o->now_us = (int64_t)kx_now_us();
}

int kx_report_cli_option(struct kx_report_cli *o, int ch, const char *arg)
{
	switch (ch) {
	case KX_ROPT_DB: o->db = arg; return 1;
	case KX_ROPT_JSON: o->fmt = KX_OUT_JSON; o->formats++; return 1;
	case KX_ROPT_CSV: o->fmt = KX_OUT_CSV; o->formats++; return 1;
	case KX_ROPT_SINCE: o->since = arg; return 1;
	case KX_ROPT_UNTIL: o->until = arg; return 1;
	case KX_ROPT_SENSOR: o->f.sensor = arg; return 1;
	case KX_ROPT_WIDE: o->wide = true; return 1;
	case KX_ROPT_LIMIT: o->limit = arg; return 1;
	case KX_ROPT_COLUMNS: o->columns = arg; return 1;
	case KX_ROPT_GROUPS: o->groups = arg; return 1;
	default: return 0;
	}
}

static int parse_time(const struct kx_report_cli *o, const char *name, const char *arg,
		      int64_t *ret)
{
	if (kx_report_parse_time(arg, o->now_us, ret) == 0)
		return 0;
	fprintf(stderr, "kexwatch %s: %s: expected an RFC 3339 time (2026-11-22T10:00:00Z, "
			"2026-11-22) or a duration before now (30m, 24h, 7d), got '%s'\n",
		o->cmd, name, arg);
	return -1;
}

int kx_report_cli_finish(struct kx_report_cli *o)
{
	if (o->formats > 1) {
		fprintf(stderr, "kexwatch %s: --json and --csv exclude each other\n", o->cmd);
		return -1;
	}
	if (o->since && parse_time(o, "--since", o->since, &o->f.since_us) < 0)
		return -1;
	if (o->until && parse_time(o, "--until", o->until, &o->f.until_us) < 0)
		return -1;
	if (o->f.since_us >= o->f.until_us) {
		fprintf(stderr, "kexwatch %s: --since must be before --until\n", o->cmd);
		return -1;
	}
	if (o->groups) {
		char err[512];
		if (kx_groups_load(o->groups, err, sizeof(err)) < 0) {
			fprintf(stderr, "kexwatch %s: --groups: %s\n", o->cmd, err);
			return -1;
		}
	}
	return 0;
}

void kx_report_cli_help(FILE *out, int with_formats)
{
	fprintf(out,
		"  --db FILE         SQLite inventory, opened read-only (default: kexwatch.db)\n");
	if (with_formats)
		fprintf(out,
			"  --json            a JSON document instead of a table\n"
			"  --csv             CSV (RFC 4180) with a header line instead of a table\n");
	fprintf(out,
		"  --since TIME      only handshakes whose first ClientHello segment is at or\n"
		"                    after TIME: RFC 3339 (2026-11-22T10:00:00Z, 2026-11-22) or\n"
		"                    a duration before now (30m, 24h, 7d, 2w)\n"
		"  --until TIME      only handshakes before TIME (same forms)\n"
		"  --sensor NAME     only handshakes recorded by this sensor (default: all)\n"
		"  --groups FILE     group registry additions and overrides ('CODE NAME FAMILY\n"
		"                    [CLIENT/SERVER]' lines, as for read): names and families\n"
		"                    of code points the report resolves, and kx_group_name(),\n"
		"                    kx_group_family() in SQL\n");
}

void kx_report_cli_table_help(FILE *out)
{
	fprintf(out,
		"  --wide            on a terminal, every column at full width (default: the\n"
		"                    table fits the terminal: optional columns are hidden and\n"
		"                    long cells end in an ellipsis; pipes and files always get\n"
		"                    full lines)\n"
		"  --limit N         only the first N rows, and a note of how many were left out\n"
		"  --columns LIST    these columns in this order, by the names of the --csv\n"
		"                    header (sni,verdict,handshakes); also for --json and --csv\n");
}

static size_t terminal_width(void)
{
	struct winsize ws;
	const char *env;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	env = getenv("COLUMNS");
	if (env && atoi(env) > 0)
		return (size_t)atoi(env);
	return 80;
}

int kx_report_cli_table(struct kx_report_cli *o)
{
	memset(&o->table, 0, sizeof(o->table));
	if (o->limit) {
		char *end;
		long long n = strtoll(o->limit, &end, 10);
		if (end == o->limit || *end || n <= 0) {
			fprintf(stderr, "kexwatch %s: --limit: expected a positive number of rows, "
					"got '%s'\n", o->cmd, o->limit);
			return -1;
		}
		o->table.limit = n;
	}
	if (o->columns && !*o->columns) {
		fprintf(stderr, "kexwatch %s: --columns: expected column names (sni,verdict)\n",
			o->cmd);
		return -1;
	}
	o->table.columns = o->columns;
	if (o->fmt == KX_OUT_TABLE && !o->wide && isatty(STDOUT_FILENO))
		o->table.width = terminal_width();
	kx_table_configure(&o->table);
	return 0;
}

int kx_report_cli_failed(const struct kx_report_cli *o, const char *err, int fail)
{
	fprintf(stderr, "kexwatch %s: %s\n", o->cmd, err);
	return kx_table_error() ? KX_EXIT_USAGE : fail;
}

static int run_report(int argc, char **argv, const char *name, void (*help)(FILE *out),
		      kx_report_fn run, bool table)
{
	static const struct option longopts[] = {
		KX_REPORT_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	static const struct option table_longopts[] = {
		KX_REPORT_LONGOPTS,
		KX_TABLE_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	char err[512];
	int ch;

	kx_report_cli_init(&o, name);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", table ? table_longopts : longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		if (ch == 'h') {
			help(stdout);
			return KX_EXIT_OK;
		}
		fprintf(stderr, "Try 'kexwatch %s --help'.\n", name);
		return KX_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch %s: unexpected argument '%s'\n", name, argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0 || (table && kx_report_cli_table(&o) < 0))
		return KX_EXIT_USAGE;
	if (run(o.db, &o.f, o.fmt, stdout, err, sizeof(err)) < 0)
		return kx_report_cli_failed(&o, err, KX_EXIT_FAIL);
	return KX_EXIT_OK;
}

int kx_report_cli_run(int argc, char **argv, const char *name, void (*help)(FILE *out),
		      kx_report_fn run)
{
	return run_report(argc, argv, name, help, run, false);
}

int kx_report_cli_run_table(int argc, char **argv, const char *name, void (*help)(FILE *out),
			    kx_report_fn run)
{
	return run_report(argc, argv, name, help, run, true);
}
