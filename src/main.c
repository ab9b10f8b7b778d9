/* SPDX-License-Identifier: BSD-2-Clause */
/* main.c: kexwatch entry point: subcommand dispatch, --help, --version. */
#include <pcap/pcap.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/cli.h"
#include "kexwatch/dpi.h"
#include "kexwatch/prog.h"
#include "kx_config.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "read", kx_cmd_read, "analyse saved captures (pcap, pcapng) into the inventory" },
	{ "live", kx_cmd_live, "capture on interfaces (span port, TAP) and record as it happens" },
	{ "hops", kx_cmd_hops, "one line per server endpoint: hybrid, classical, and why" },
	{ "clients", kx_cmd_clients, "one line per client: does it offer post-quantum groups" },
	{ "fingerprints", kx_cmd_fingerprints, "one line per client software (JA4 + key exchange, HASSH)" },
	{ "audit", kx_cmd_audit, "check the inventory against a policy file (exit 1 on failure)" },
	{ "changes", kx_cmd_changes, "what got worse (or better) since a baseline (exit 1 if worse)" },
	{ "health", kx_cmd_health, "ClientHellos left unanswered, by size and hop (MTU drops)" },
	{ "groups", kx_cmd_groups, "the key-exchange group registry: code, name, family, sizes" },
	{ "sql", kx_cmd_sql, "run one read-only SQL statement (table, JSON, CSV)" },
	{ "report", kx_cmd_report, "write a self-contained HTML report" },
	{ "cbom", kx_cmd_cbom, "write a CycloneDX cryptography BOM (CBOM) of the inventory" },
	{ "merge", kx_cmd_merge, "combine sensor databases into one inventory" },
	{ "push", kx_cmd_push, "send rows waiting in a sensor database to the central store" },
	{ "prune", kx_cmd_prune, "remove handshake rows older than a retention (central store)" },
	{ "rollup", kx_cmd_rollup, "fold new rows into the rollups the reports read (or rebuild them)" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"kexwatch %s: which links negotiate post-quantum key exchange, and which do not\n"
		"\n"
		"usage: kexwatch COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"commands:\n",
		KX_VERSION);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"  kexwatch COMMAND --help   options of one command (or: kexwatch help COMMAND)\n"
		"  kexwatch --version        versions of kexwatch and the libraries it uses\n");
}

static int find_index(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return (int)i;
	return -1;
}

/* 1 + the command's index, 0 when there is none of that name. */
static int find(const char *name)
{
	return find_index(name) + 1;
}

/* Runs command find()-1 with every message (getopt's included, which names
 * argv[0]) prefixed "kexwatch CMD: ". */
static int run(int cmd, int argc, char **argv)
{
	static char prog[64];
	snprintf(prog, sizeof(prog), "kexwatch %s", commands[cmd - 1].name);
	kx_prog = prog;
	argv[0] = prog;
	return commands[cmd - 1].run(argc, argv);
}

int main(int argc, char **argv)
{
	/* Past a file size limit, writes must fail with EFBIG (reported as a
	 * database error) instead of killing the process mid-transaction. */
	signal(SIGXFSZ, SIG_IGN);
	/* Before SQLite initialises: no global mutex around every allocation
	 * for statistics nobody reads (measured: ~5% of the writer thread). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (argc < 2) {
		usage(stderr);
		return KX_EXIT_USAGE;
	}
	/* `kexwatch help CMD` is `kexwatch CMD --help`. */
	if (strcmp(argv[1], "help") == 0 && argc >= 3) {
		if (!find(argv[2])) {
			fprintf(stderr, "kexwatch help: unknown command '%s'\n\n", argv[2]);
			usage(stderr);
			return KX_EXIT_USAGE;
		}
		char *hargv[] = { argv[2], (char *)"--help", NULL };
		return run(find(argv[2]), 2, hargv);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return KX_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("kexwatch %s\n%s\nnDPI %s\nSQLite %s\n", KX_VERSION, pcap_lib_version(),
		       kx_dpi_version(), sqlite3_libversion());
		return KX_EXIT_OK;
	}
	if (find(argv[1]))
		return run(find(argv[1]), argc - 1, argv + 1);
	fprintf(stderr, "kexwatch: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return KX_EXIT_USAGE;
}
