/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_rollup.c: the central store's rollups (schema 9), what full-range
 * `hops` and `health` read instead of every handshake.
 *
 * SQLite folds a tail of rows above an id boundary. On PostgreSQL ids are
 * no boundary: sensors' transactions commit out of id order, so a row
 * with a lower id can appear after a fold has passed it. Instead each
 * shipper adds the deltas of exactly the rows its transaction inserted
 * (the direct COPY: all of the batch; the staged merge and the row by row
 * search: the rows INSERT ... ON CONFLICT DO NOTHING RETURNING gave back)
 * in that same transaction: the rows and their counts commit together or
 * not at all (a server restart mid-batch loses both, and the re-sent
 * batch adds them once). Each statement touches its table in key order
 * (ORDER BY the key), and every transaction goes through the tables in
 * the same order, so sensors adding to the same keys wait, never deadlock.
 *
 * The tables keep SQLite's key definitions (rollup.h, one text):
 *   rollup_legs        as SQLite's;
 *   rollup_pairs       (endpoint, client, sensor), key only: a pair the
 *                      statement inserted is new for its sensor, and
 *                      rollup_clients grows by exactly those;
 *   rollup_pairs_all   (endpoint, client), the same for rollup_clients_all
 *                      (SQLite asks rollup_pairs whether another sensor has
 *                      the pair; here a concurrent sensor's uncommitted
 *                      pair would be invisible, a key conflict is not);
 *   rollup_runs        the handshakes per run (health's ledger).
 * Sessions are hourly rows already and prune keeps them: the reports
 * read them as they are, as SQLite's rolled views do.
 */
#include <stdio.h>
#include <string.h>

#include "central_int.h"
#include "kexwatch/rollup.h"

const char kx_pg_rollup_schema[] =
	"CREATE TABLE rollup_legs (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, sensor text NOT NULL, protocol text NOT NULL,"
	" group_name text NOT NULL, group_family text NOT NULL, verdict text NOT NULL,"
	" reason text NOT NULL, offers_pq integer NOT NULL, hrr integer NOT NULL,"
	" hrr_group integer NOT NULL, band integer NOT NULL, ch_seg0 integer NOT NULL,"
	" slow integer NOT NULL, n bigint NOT NULL, first_us bigint NOT NULL,"
	" last_us bigint NOT NULL, max_ch_to_sh_us bigint, newest_first_us bigint NOT NULL,"
	" PRIMARY KEY (" KX_ROLLUP_LEGS_PK "));"
	"CREATE TABLE rollup_pairs (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, client_ip text NOT NULL, sensor text NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, client_ip, sensor));"
	"CREATE TABLE rollup_pairs_all (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, client_ip text NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, client_ip));"
	"CREATE TABLE rollup_clients (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, sensor text NOT NULL, clients bigint NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, sensor));"
	"CREATE TABLE rollup_clients_all (server_ip text NOT NULL, server_port integer NOT NULL,"
	" sni text NOT NULL, clients bigint NOT NULL, PRIMARY KEY (server_ip, server_port, sni));"
	"CREATE TABLE rollup_runs (run_id bigint PRIMARY KEY, n bigint NOT NULL)";

/* The handshakes columns the steps below read: all kx_new holds. */
const char *const kx_pg_rollup_cols[] = {
	"run_id",     "sensor",    "ts_first_us",  "ts_last_us", "protocol",
	"client_ip",  "server_ip", "server_port",  "sni",        "offers_pq",
	"hrr",        "hrr_group", "group_name",   "group_family", "verdict",
	"reason",     "ch_bytes",  "ch_segments",  "ch2_bytes",  "ch_to_sh_us",
};
const unsigned kx_pg_n_rollup_cols = sizeof(kx_pg_rollup_cols) / sizeof(kx_pg_rollup_cols[0]);

/* Before an upgrade builds them: a store whose version was set back by
 * hand may have them already. */
const char kx_pg_rollup_drop[] =
	"DROP TABLE IF EXISTS rollup_legs, rollup_pairs, rollup_pairs_all, rollup_clients,"
	" rollup_clients_all, rollup_runs";

/* The steps of a fold of the rows of table %s (each names it once). */
static const char *const fold_steps[] = {
	"INSERT INTO rollup_legs SELECT " KX_ROLLUP_LEGS_KEY("greatest", KX_ROLLUP_B_PG)
	" FROM %s GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"
	" ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15"
	KX_ROLLUP_LEGS_ADD("least", "greatest"),
	/* The pairs new for their sensor grow its counter; only those can be
	 * new for every sensor (a pair and its sensor's pair commit together),
	 * so rollup_pairs_all sees only them. One statement: the CTEs run in
	 * one order (p, a, the counters of all, then c), the same in every
	 * transaction. */
	"WITH p AS (INSERT INTO rollup_pairs SELECT DISTINCT server_ip, server_port,"
	" coalesce(sni, ''), client_ip, sensor FROM %s ORDER BY 1, 2, 3, 4, 5"
	" ON CONFLICT DO NOTHING RETURNING server_ip, server_port, sni, client_ip, sensor),"
	" c AS (INSERT INTO rollup_clients SELECT server_ip, server_port, sni, sensor, count(*)"
	"  FROM p GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
	"  ON CONFLICT (server_ip, server_port, sni, sensor)"
	"  DO UPDATE SET clients = rollup_clients.clients + excluded.clients),"
	" a AS (INSERT INTO rollup_pairs_all SELECT DISTINCT server_ip, server_port, sni,"
	"  client_ip FROM p ORDER BY 1, 2, 3, 4"
	"  ON CONFLICT DO NOTHING RETURNING server_ip, server_port, sni)"
	" INSERT INTO rollup_clients_all SELECT server_ip, server_port, sni, count(*)"
	" FROM a GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
	" ON CONFLICT (server_ip, server_port, sni)"
	" DO UPDATE SET clients = rollup_clients_all.clients + excluded.clients",
	"INSERT INTO rollup_runs SELECT run_id, count(*) FROM %s GROUP BY 1 ORDER BY 1"
	" ON CONFLICT (run_id) DO UPDATE SET n = rollup_runs.n + excluded.n",
};

int kx_pg_rollup_add(PGconn *pg, const char *table, char *err, size_t errlen)
{
	char sql[2048];

	for (size_t i = 0; i < sizeof(fold_steps) / sizeof(fold_steps[0]); i++) {
		/* The one %s replaced by hand: the steps are not format literals. */
		const char *at = strstr(fold_steps[i], "%s");
		int k = snprintf(sql, sizeof(sql), "%.*s%s%s", (int)(at - fold_steps[i]),
				 fold_steps[i], table, at + 2);
		if (k < 0 || (size_t)k >= sizeof(sql)) {
			snprintf(err, errlen, "rollups: statement too long");
			return -1;
		}
		PGresult *r = PQexec(pg, sql);
		ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
			snprintf(err, errlen, "rollups: %s", kx_pg_errmsg(pg, r));
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}
