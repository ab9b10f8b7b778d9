/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_push.c: `kexwatch push`: send a sensor database's waiting rows to the
 * central store, without capturing (after an outage, or from a laptop that
 * recorded offline). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/central.h"
#include "kexwatch/cli.h"
#include "kexwatch/store.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch push --pg URL [--db FILE] [--timeout S]\n"
		"\n"
		"Sends every handshake row of the local database that the central PostgreSQL\n"
		"inventory has not received yet (the outbox: rows after the mark kept in the\n"
		"table central_outbox), in order, in batches; rows the central store already\n"
		"has are skipped by its de-duplication key. The password comes from PGPASSWORD,\n"
		"PGPASSFILE or ~/.pgpass.\n"
		"\n"
		"  --db FILE     the sensor's database (default: kexwatch.db)\n"
		"  --pg URL      postgresql://user@host:port/dbname or 'host=... dbname=...'\n"
		"  --timeout S   give up after S seconds, retrying while the server is away\n"
		"                (default: 60)\n"
		"  -q, --quiet   no summary\n"
		"  -h, --help    this help\n"
		"\n"
		"Exit status: 0 when nothing is left to send, 1 when rows are still waiting or\n"
		"the database failed, 2 on usage errors.\n");
}

int kx_cmd_push(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "pg", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = "kexwatch.db";
	char *url = NULL;
	unsigned long timeout_s = 60;
	int quiet = 0, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'p': {
			free(url);
			url = strdup(optarg);
			/* Keep a password out of ps: redact argv in place. */
			char red[256];
			kx_pg_redact(optarg, red, sizeof(red));
			size_t n = strlen(optarg);
			memset(optarg, 0, n);
			memcpy(optarg, red, strlen(red) < n ? strlen(red) : n);
			break;
		}
		case 't': {
			char *end;
			timeout_s = strtoul(optarg, &end, 10);
			if (!optarg[0] || *end || timeout_s > 86400) {
				fprintf(stderr, "kexwatch push: --timeout wants seconds (0..86400)\n");
				free(url);
				return KX_EXIT_USAGE;
			}
			break;
		}
		case 'q': quiet = 1; break;
		case 'h': print_help(stdout); free(url); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch push --help'.\n");
			free(url);
			return KX_EXIT_USAGE;
		}
	}
	if (!url || !kx_pg_is_url(url) || optind != argc) {
		fprintf(stderr, "kexwatch push: needs --pg URL (and no other arguments)\n");
		free(url);
		return KX_EXIT_USAGE;
	}
	/* Through the store: a file of an older schema is migrated first. */
	char err[512];
	struct kx_store *st;
	if (kx_store_open(db, NULL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch push: %s\n", err);
		free(url);
		return KX_EXIT_FAIL;
	}
	kx_store_close(st);
	struct kx_central *c;
	struct kx_central_opts co = { .url = url, .db_path = db };
	if (kx_central_start(&co, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch push: %s\n", err);
		free(url);
		return KX_EXIT_FAIL;
	}
	struct kx_central_stats s;
	kx_central_stop(c, (unsigned)timeout_s * 1000u, &s);
	free(url);
	if (!quiet)
		fprintf(stderr,
			"pushed %s: %" PRIu64 " rows sent, %" PRIu64 " already there, %" PRIu64
			" failed attempts, %" PRIu64 " refused, %" PRId64 " still waiting; %" PRIu64
			" sessions rows sent\n",
			db, s.sent, s.present, s.errors, s.rejected, s.backlog < 0 ? 0 : s.backlog,
			s.sessions_sent);
	return s.backlog == 0 ? KX_EXIT_OK : KX_EXIT_FAIL;
}
