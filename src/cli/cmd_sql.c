/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_sql.c: `kexwatch sql "SELECT ..."`: one read-only statement. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch sql [--db FILE] [--json | --csv] [--groups FILE] \"SELECT ...\"\n"
		"\n"
		"Runs one SQL statement on a read-only connection and prints the rows as a\n"
		"table, JSON or CSV. Only reads are allowed: SELECT (WITH included) and\n"
		"pragmas that read (table_info, user_version, ...). INSERT, UPDATE, DELETE,\n"
		"CREATE, DROP, ATTACH, DETACH, transactions, pragma writes and more than one\n"
		"statement are refused; the file is opened read-only in any case. '-' reads\n"
		"the statement from standard input.\n"
		"\n"
		"  --db FILE         SQLite inventory (default: kexwatch.db)\n"
		"  --json            a JSON array of objects instead of a table\n"
		"  --csv             CSV (RFC 4180) with a header line\n"
		"  --groups FILE     registry additions and overrides for kx_group_name(),\n"
		"                    kx_group_family() and kx_group_rename() (the format of\n"
		"                    read --groups)\n"
		"  -h, --help        this help\n"
		"\n"
		"Views: hops, clients, hybrid_share_daily, clienthello_sizes,\n"
		"classical_handshakes (README: SQLite inventory). Functions besides SQLite's:\n"
		"kx_group_name(code), kx_group_family(code), kx_group_rename(name) (the name\n"
		"a --groups file gives a stored group name, or the name), kx_ssh_kex_class(name),\n"
		"kx_set(x [, max]) (distinct values, sorted, comma-joined), kx_ts_text(us)\n"
		"(integer microseconds as 2026-01-02T03:04:05.123456Z; NULL for others).\n"
		"\n"
		"  kexwatch sql \"SELECT * FROM hybrid_share_daily\"\n"
		"  kexwatch sql \"SELECT sni, verdict FROM hops WHERE verdict LIKE 'classical%%'\"\n"
		"\n"
		"Exit status: 0 success, 1 the statement failed or the database could not be\n"
		"read, 2 usage error or a refused statement.\n");
}

/* The statement from standard input, at most 1 MiB. */
static char *read_stdin(void)
{
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);

	if (ferror(stdin) || n == sizeof(buf) - 1)
		return NULL;
	buf[n] = '\0';
	return buf;
}

int kx_cmd_sql(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, KX_ROPT_DB },
		{ "json", no_argument, NULL, KX_ROPT_JSON },
		{ "csv", no_argument, NULL, KX_ROPT_CSV },
		{ "groups", required_argument, NULL, KX_ROPT_GROUPS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	const char *sql;
	char err[1024];
	int ch, rc;

	kx_report_cli_init(&o, "sql");
	optind = 1;
	/* '+': a statement starting with '-' (a comment) is not an option. */
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		if (ch == 'h') {
			print_help(stdout);
			return KX_EXIT_OK;
		}
		fprintf(stderr, "Try 'kexwatch sql --help'.\n");
		return KX_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kexwatch sql: expected one SQL statement (quoted) as the argument\n");
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0)
		return KX_EXIT_USAGE;
	sql = argv[optind];
	if (strcmp(sql, "-") == 0 && !(sql = read_stdin())) {
		fprintf(stderr, "kexwatch sql: cannot read the statement from standard input "
				"(at most 1 MiB)\n");
		return KX_EXIT_USAGE;
	}
	rc = kx_report_sql(o.db, sql, o.fmt, stdout, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kexwatch sql: %s\n", err);
		return rc == -2 ? KX_EXIT_USAGE : KX_EXIT_FAIL;
	}
	return KX_EXIT_OK;
}
