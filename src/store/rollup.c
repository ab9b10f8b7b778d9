/* SPDX-License-Identifier: BSD-2-Clause */
/* rollup.c: folding handshake rows into the all-time rollups (rollup.h).
 *
 * A fold is a handful of set-based statements over one id range of
 * handshake_rows, in one write transaction with the move of folded_id:
 * GROUP BY over a few thousand rows that are in the page cache costs a
 * fraction of what a trigger per row would (measured on the dense bench:
 * 0.12 s against 0.7 s for 23 k rows), and the writer decides when to pay
 * it (every --rollup-every rows), so a capture's critical path does not.
 *
 * NULLs cannot be part of a WITHOUT ROWID key, so the keys hold '' (or
 * -1) for "none"; the report views turn them back into NULL. An SNI, a
 * group name or a reason is never stored as '' (the parsers store NULL
 * for an empty name), so the two never meet.
 */
#include "kexwatch/rollup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <unistd.h>

#include "kexwatch/store.h"

const char kx_rollup_schema[] =
	"CREATE TABLE rollup_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
	" folded_id INTEGER NOT NULL, folded_session_id INTEGER NOT NULL);"
	"INSERT INTO rollup_state VALUES (1, 0, 0);"
	/* band: 0 no ClientHello reassembled, 1 under 1500 bytes, 2 1500 or
	 * more (health's bands); ch_seg0: its first segment never seen; slow:
	 * a ServerHello 1 s or more after it. */
	"CREATE TABLE rollup_legs (server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, sensor TEXT NOT NULL, protocol TEXT NOT NULL,"
	" group_name TEXT NOT NULL, group_family TEXT NOT NULL, verdict TEXT NOT NULL,"
	" reason TEXT NOT NULL, offers_pq INTEGER NOT NULL, hrr INTEGER NOT NULL,"
	" hrr_group INTEGER NOT NULL, band INTEGER NOT NULL, ch_seg0 INTEGER NOT NULL,"
	" slow INTEGER NOT NULL,"
	" n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" max_ch_to_sh_us INTEGER, newest_first_us INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, sensor, protocol, group_name, group_family,"
	" verdict, reason, offers_pq, hrr, hrr_group, band, ch_seg0, slow)) WITHOUT ROWID;"
	"CREATE TABLE rollup_pairs (server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, client_ip TEXT NOT NULL, sensor TEXT NOT NULL,"
	" n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, client_ip, sensor)) WITHOUT ROWID;"
	"CREATE TABLE rollup_clients (server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, sensor TEXT NOT NULL, clients INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, sensor)) WITHOUT ROWID;"
	"CREATE TABLE rollup_clients_all (server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, clients INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni)) WITHOUT ROWID;"
	"CREATE TABLE rollup_runs (run_id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
	/* Per client: the legs (hello: a ClientHello was parsed) and the
	 * ClientHello sets, software and SSH offers it used. */
	"CREATE TABLE rollup_client_legs (client_ip TEXT NOT NULL, sensor TEXT NOT NULL,"
	" protocol TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL,"
	" offers_pq INTEGER NOT NULL, hello INTEGER NOT NULL,"
	" n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, sensor, protocol, verdict, reason, offers_pq, hello))"
	" WITHOUT ROWID;"
	"CREATE TABLE rollup_client_hellos (client_ip TEXT NOT NULL, sensor TEXT NOT NULL,"
	" hello_id INTEGER NOT NULL, fp_id INTEGER NOT NULL, kex_offered TEXT NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, sensor, hello_id, fp_id, kex_offered)) WITHOUT ROWID;"
	/* Per hour of the first segment (ts_first_us / 3600 s), sensor and
	 * verdict: the HTML report's hybrid share over time. */
	"CREATE TABLE rollup_hourly (hour INTEGER NOT NULL, sensor TEXT NOT NULL,"
	" verdict TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (hour, sensor, verdict)) WITHOUT ROWID;";

/* Schema 13: per fingerprint set (fingerprints.id, which decides the JA4
 * or HASSH and the key-exchange suffix the report groups by), the legs,
 * the distinct clients and the distinct endpoints: a link's rows share a
 * few dozen sets, so these grow with clients and endpoints, not rows. */
const char kx_rollup_fp_schema[] =
	"CREATE TABLE rollup_fp_legs (fp_id INTEGER NOT NULL, sensor TEXT NOT NULL,"
	" protocol TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL,"
	" offers_pq INTEGER NOT NULL, n INTEGER NOT NULL, first_us INTEGER NOT NULL,"
	" last_us INTEGER NOT NULL,"
	" PRIMARY KEY (fp_id, sensor, protocol, verdict, reason, offers_pq)) WITHOUT ROWID;"
	"CREATE TABLE rollup_fp_clients (fp_id INTEGER NOT NULL, sensor TEXT NOT NULL,"
	" protocol TEXT NOT NULL, client_ip TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (fp_id, sensor, protocol, client_ip)) WITHOUT ROWID;"
	"CREATE TABLE rollup_fp_endpoints (fp_id INTEGER NOT NULL, sensor TEXT NOT NULL,"
	" protocol TEXT NOT NULL, server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (fp_id, sensor, protocol, server_ip, server_port, sni)) WITHOUT ROWID;"
	/* What `cbom` lists per endpoint: the algorithms a handshake showed
	 * and its verdict ('' or -1: none). */
	"CREATE TABLE rollup_cbom (sensor TEXT NOT NULL, protocol TEXT NOT NULL,"
	" server_ip TEXT NOT NULL, server_port INTEGER NOT NULL, sni TEXT NOT NULL,"
	" version TEXT NOT NULL, cipher_suite INTEGER NOT NULL, group_code INTEGER NOT NULL,"
	" group_name TEXT NOT NULL, group_family TEXT NOT NULL, tls12_kx TEXT NOT NULL,"
	" ssh_hostkey TEXT NOT NULL, verdict TEXT NOT NULL, n INTEGER NOT NULL,"
	" first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" PRIMARY KEY (sensor, protocol, server_ip, server_port, sni, version, cipher_suite,"
	" group_code, group_name, group_family, tls12_kx, ssh_hostkey, verdict)) WITHOUT ROWID;";

/* Schema 14: per client, what `clients` lists over the full range without
 * reading every pair. rollup_client_sets holds the client's distinct
 * server addresses (kind 0) and SNIs (kind 1) per sensor, keyed so that
 * a client's first SNIs in byte order are one index range; the counters
 * say how many there are per sensor and over all sensors, and grow by the
 * entries that are new when a fold adds them (as rollup_clients does for
 * endpoints). rollup_client_legs_all and rollup_client_hellos_all are
 * rollup_client_legs and rollup_client_hellos without the sensor: a
 * client's rows over all sensors, a few per client. */
const char kx_rollup_client_schema[] =
	"CREATE TABLE rollup_client_sets (client_ip TEXT NOT NULL, kind INTEGER NOT NULL,"
	" value TEXT NOT NULL, sensor TEXT NOT NULL,"
	" PRIMARY KEY (client_ip, kind, value, sensor)) WITHOUT ROWID;"
	"CREATE TABLE rollup_client_counts (client_ip TEXT NOT NULL, sensor TEXT NOT NULL,"
	" servers INTEGER NOT NULL, snis INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, sensor)) WITHOUT ROWID;"
	"CREATE TABLE rollup_client_counts_all (client_ip TEXT NOT NULL PRIMARY KEY,"
	" servers INTEGER NOT NULL, snis INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE rollup_client_legs_all (client_ip TEXT NOT NULL,"
	" protocol TEXT NOT NULL, verdict TEXT NOT NULL, reason TEXT NOT NULL,"
	" offers_pq INTEGER NOT NULL, hello INTEGER NOT NULL,"
	" n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, protocol, verdict, reason, offers_pq, hello))"
	" WITHOUT ROWID;"
	"CREATE TABLE rollup_client_hellos_all (client_ip TEXT NOT NULL,"
	" hello_id INTEGER NOT NULL, fp_id INTEGER NOT NULL, kex_offered TEXT NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, hello_id, fp_id, kex_offered)) WITHOUT ROWID;";

/* Schema 15: per day, subject and sensor, the handshakes and how many of
 * them were in each state `changes` compares (rollup.h). Keyed by the
 * subject first: a report looks up only the endpoints and clients its
 * window shows (a line needs legs in the window), each a short range of
 * days in key order. A client adds a row per day it is active, an
 * endpoint a row a day. Sessions rows are not here: they grow in place
 * over their hour, and a report reads them raw. */
const char kx_rollup_daily_schema[] =
	"CREATE TABLE rollup_daily_endpoints (server_ip TEXT NOT NULL,"
	" server_port INTEGER NOT NULL, sni TEXT NOT NULL, day INTEGER NOT NULL,"
	" sensor TEXT NOT NULL, n INTEGER NOT NULL, strong INTEGER NOT NULL,"
	" declined INTEGER NOT NULL, draft INTEGER NOT NULL, tls13 INTEGER NOT NULL,"
	" tls12 INTEGER NOT NULL, encrypted INTEGER NOT NULL, classical INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, day, sensor)) WITHOUT ROWID;"
	"CREATE TABLE rollup_daily_clients (client_ip TEXT NOT NULL, day INTEGER NOT NULL,"
	" sensor TEXT NOT NULL, n INTEGER NOT NULL, offer INTEGER NOT NULL,"
	" nooffer INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, day, sensor)) WITHOUT ROWID;";

/* Schema 16: the same per week (day / 7 of rollup_daily_*) over all
 * sensors, so an all-sensor month's baseline reads about four rows and a
 * few edge days per subject instead of thirty days times its sensors
 * (with --sensor, `changes` reads the daily rows). Each row is the sum of
 * its week's daily rows, always: the fold adds to both, the upgrade
 * regroups the daily rows, and prune takes the days it drops out of their
 * week too. */
const char kx_rollup_weekly_schema[] =
	/* rollup_legs without the sensor: most reports read all sensors. */
	"CREATE TABLE rollup_legs_all (server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" sni TEXT NOT NULL, protocol TEXT NOT NULL,"
	" group_name TEXT NOT NULL, group_family TEXT NOT NULL, verdict TEXT NOT NULL,"
	" reason TEXT NOT NULL, offers_pq INTEGER NOT NULL, hrr INTEGER NOT NULL,"
	" hrr_group INTEGER NOT NULL, band INTEGER NOT NULL, ch_seg0 INTEGER NOT NULL,"
	" slow INTEGER NOT NULL,"
	" n INTEGER NOT NULL, first_us INTEGER NOT NULL, last_us INTEGER NOT NULL,"
	" max_ch_to_sh_us INTEGER, newest_first_us INTEGER NOT NULL,"
	" PRIMARY KEY (" KX_ROLLUP_LEGS_PK_S("") ")) WITHOUT ROWID;"
	/* rollup_fp_clients and rollup_fp_endpoints without the sensor. */
	"CREATE TABLE rollup_fp_clients_all (fp_id INTEGER NOT NULL, protocol TEXT NOT NULL,"
	" client_ip TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY (fp_id, protocol, client_ip)) WITHOUT ROWID;"
	"CREATE TABLE rollup_fp_endpoints_all (fp_id INTEGER NOT NULL, protocol TEXT NOT NULL,"
	" server_ip TEXT NOT NULL, server_port INTEGER NOT NULL, sni TEXT NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (fp_id, protocol, server_ip, server_port, sni)) WITHOUT ROWID;"
	"CREATE TABLE rollup_weekly_endpoints (server_ip TEXT NOT NULL,"
	" server_port INTEGER NOT NULL, sni TEXT NOT NULL, week INTEGER NOT NULL,"
	" n INTEGER NOT NULL, strong INTEGER NOT NULL,"
	" declined INTEGER NOT NULL, draft INTEGER NOT NULL, tls13 INTEGER NOT NULL,"
	" tls12 INTEGER NOT NULL, encrypted INTEGER NOT NULL, classical INTEGER NOT NULL,"
	" PRIMARY KEY (server_ip, server_port, sni, week)) WITHOUT ROWID;"
	"CREATE TABLE rollup_weekly_clients (client_ip TEXT NOT NULL, week INTEGER NOT NULL,"
	" n INTEGER NOT NULL, offer INTEGER NOT NULL, nooffer INTEGER NOT NULL,"
	" PRIMARY KEY (client_ip, week)) WITHOUT ROWID;";

/* How many of a group's handshake rows are in a state (rollup.h). */
#define IN_STATE(COND) ", sum(CASE WHEN " COND " THEN 1 ELSE 0 END)"
#define ADD(COL) ", " COL " = " COL " + excluded." COL
/* The chunk's handshake rows as kx_legs has them (is_session 0). */
#define DAILY_ROWS                                                                     \
	" FROM (SELECT *, 0 AS is_session FROM handshake_rows WHERE id > ?1 AND id <= ?2)"

/* The chunk's rows per day (BUCKET 86400000000) or week (604800000000),
 * with the sensor (SENSOR ", sensor", KEY its place in the GROUP BY) or
 * over all sensors (SENSOR "", KEY ""). */
#define FOLD_STATES_ENDPOINTS(TABLE, BUCKET, SENSOR, KEY)                               \
	"INSERT INTO " TABLE " SELECT server_ip, server_port, coalesce(sni, ''),"       \
	" ts_first_us / " BUCKET SENSOR ", count(*)" IN_STATE(KX_LS_STRONG_SQL)          \
	IN_STATE(KX_LS_DECLINED_SQL) IN_STATE(KX_LS_DRAFT_SQL) IN_STATE(KX_LS_TLS13_SQL) \
	IN_STATE(KX_LS_TLS12_SQL) IN_STATE(KX_LS_ENCRYPTED_SQL) IN_STATE(KX_LS_CLASSICAL_SQL) \
	DAILY_ROWS " GROUP BY 1, 2, 3, 4" KEY " ON CONFLICT DO UPDATE SET n = n + excluded.n" \
	ADD("strong") ADD("declined") ADD("draft") ADD("tls13") ADD("tls12") ADD("encrypted") \
	ADD("classical")
#define FOLD_STATES_CLIENTS(TABLE, BUCKET, SENSOR, KEY)                                 \
	"INSERT INTO " TABLE " SELECT client_ip, ts_first_us / " BUCKET SENSOR ","       \
	" count(*)" IN_STATE(KX_LS_OFFER_SQL) IN_STATE(KX_LS_NOOFFER_SQL) DAILY_ROWS     \
	" GROUP BY 1, 2" KEY " ON CONFLICT DO UPDATE SET n = n + excluded.n" ADD("offer") \
	ADD("nooffer")

static const char fold_daily_endpoints[] =
	FOLD_STATES_ENDPOINTS("rollup_daily_endpoints", "86400000000", ", sensor", ", 5");
static const char fold_daily_clients[] =
	FOLD_STATES_CLIENTS("rollup_daily_clients", "86400000000", ", sensor", ", 3");
static const char fold_weekly_endpoints[] =
	FOLD_STATES_ENDPOINTS("rollup_weekly_endpoints", "604800000000", "", "");
static const char fold_weekly_clients[] =
	FOLD_STATES_CLIENTS("rollup_weekly_clients", "604800000000", "", "");
_Static_assert(KX_ROLLUP_DAY_US == 86400000000LL && KX_ROLLUP_WEEK_DAYS == 7,
	       "the fold's bucket literals");

/* ?1 < id <= ?2: the chunk. Its legs are grouped once, into
 * temp.kx_fold_legs, and added to rollup_legs and, regrouped without the
 * sensor (a few rows per endpoint), to rollup_legs_all: grouping the
 * chunk's rows twice cost a quarter of a fold. */
static const char fold_legs_chunk[] =
	"INSERT INTO temp.kx_fold_legs SELECT " KX_ROLLUP_LEGS_KEY("max", KX_ROLLUP_B_SQLITE)
	" FROM handshake_rows WHERE id > ?1 AND id <= ?2"
	" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15";
static const char fold_legs[] =
	"INSERT INTO rollup_legs SELECT * FROM temp.kx_fold_legs WHERE true"
	KX_ROLLUP_LEGS_ADD("min", "max");
static const char fold_legs_all[] =
	"INSERT INTO rollup_legs_all SELECT " KX_ROLLUP_LEGS_PK_S("") ", sum(n), min(first_us),"
	" max(last_us), max(max_ch_to_sh_us), max(newest_first_us) FROM temp.kx_fold_legs"
	" GROUP BY " KX_ROLLUP_LEGS_PK_S("")
	KX_ROLLUP_LEGS_ADD_TO("rollup_legs_all", KX_ROLLUP_LEGS_PK_S(""), "min", "max");

/* The pairs of the chunk's handshakes and of the sessions rows new since
 * the last fold (?3 < id <= ?4). A sessions row is updated in place as
 * its hour goes on, but its pair never changes: it counts as present from
 * the start of its hour, with no handshake (n 0), so folding it now or in
 * a rebuild gives the same row. */
static const char fold_pairs_fill[] =
	"INSERT INTO temp.kx_fold_pairs SELECT server_ip, server_port, sni, client_ip, sensor,"
	" sum(n), min(f), max(l) FROM (SELECT server_ip, server_port, coalesce(sni, '') AS sni,"
	"  client_ip, sensor, 1 AS n, ts_first_us AS f, ts_last_us AS l FROM handshake_rows"
	"  WHERE id > ?1 AND id <= ?2"
	"  UNION ALL SELECT server_ip, server_port, '', client_ip, sensor, 0, hour * 3600000000,"
	"  hour * 3600000000 FROM sessions WHERE id > ?3 AND id <= ?4)"
	" GROUP BY 1, 2, 3, 4, 5";

/* Pairs new for their sensor, and pairs new for every sensor: the
 * distinct-client counters grow by exactly these. Run before the pairs go
 * into rollup_pairs. */
static const char fold_clients[] =
	"INSERT INTO rollup_clients SELECT server_ip, server_port, sni, sensor, count(*)"
	" FROM temp.kx_fold_pairs AS p WHERE NOT EXISTS (SELECT 1 FROM rollup_pairs AS r"
	"  WHERE r.server_ip = p.server_ip AND r.server_port = p.server_port AND r.sni = p.sni"
	"  AND r.client_ip = p.client_ip AND r.sensor = p.sensor)"
	" GROUP BY 1, 2, 3, 4"
	" ON CONFLICT DO UPDATE SET clients = clients + excluded.clients";

static const char fold_clients_all[] =
	"INSERT INTO rollup_clients_all SELECT server_ip, server_port, sni, count(*)"
	" FROM (SELECT DISTINCT server_ip, server_port, sni, client_ip FROM temp.kx_fold_pairs)"
	" AS p WHERE NOT EXISTS (SELECT 1 FROM rollup_pairs AS r"
	"  WHERE r.server_ip = p.server_ip AND r.server_port = p.server_port AND r.sni = p.sni"
	"  AND r.client_ip = p.client_ip)"
	" GROUP BY 1, 2, 3"
	" ON CONFLICT DO UPDATE SET clients = clients + excluded.clients";

static const char fold_pairs[] =
	"INSERT INTO rollup_pairs SELECT * FROM temp.kx_fold_pairs WHERE true"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n,"
	" first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)";

/* The chunk's client set entries (servers and non-empty SNIs of its
 * pairs) that are not in rollup_client_sets yet. Run before fold_sets. */
static const char fold_sets_fill[] =
	"INSERT INTO temp.kx_fold_sets SELECT * FROM (SELECT DISTINCT client_ip, 0 AS kind,"
	"  server_ip AS value, sensor FROM temp.kx_fold_pairs UNION SELECT DISTINCT client_ip,"
	"  1, sni, sensor FROM temp.kx_fold_pairs WHERE sni <> '') AS c"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_client_sets AS s WHERE s.client_ip = c.client_ip"
	"  AND s.kind = c.kind AND s.value = c.value AND s.sensor = c.sensor)";

static const char fold_client_counts[] =
	"INSERT INTO rollup_client_counts SELECT client_ip, sensor, sum(kind = 0), sum(kind = 1)"
	" FROM temp.kx_fold_sets GROUP BY 1, 2"
	" ON CONFLICT DO UPDATE SET servers = servers + excluded.servers,"
	" snis = snis + excluded.snis";

/* New for every sensor: no sensor has the entry yet (a prefix of the key). */
static const char fold_client_counts_all[] =
	"INSERT INTO rollup_client_counts_all SELECT client_ip, sum(kind = 0), sum(kind = 1)"
	" FROM (SELECT DISTINCT client_ip, kind, value FROM temp.kx_fold_sets) AS c"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_client_sets AS s WHERE s.client_ip = c.client_ip"
	"  AND s.kind = c.kind AND s.value = c.value)"
	" GROUP BY 1 ON CONFLICT DO UPDATE SET servers = servers + excluded.servers,"
	" snis = snis + excluded.snis";

static const char fold_sets[] =
	"INSERT INTO rollup_client_sets SELECT * FROM temp.kx_fold_sets";

static const char fold_runs[] =
	"INSERT INTO rollup_runs SELECT run_id, count(*) FROM handshake_rows"
	" WHERE id > ?1 AND id <= ?2 GROUP BY run_id"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_client_legs[] =
	"INSERT INTO rollup_client_legs SELECT client_ip, sensor, protocol, verdict,"
	" coalesce(reason, ''), offers_pq <> 0, ch_bytes > 0, count(*), min(ts_first_us),"
	" max(ts_last_us) FROM handshake_rows WHERE id > ?1 AND id <= ?2"
	" GROUP BY 1, 2, 3, 4, 5, 6, 7"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n,"
	" first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)";

static const char fold_client_hellos[] =
	"INSERT INTO rollup_client_hellos SELECT r.client_ip, r.sensor, r.hello_id,"
	" coalesce(r.fp_id, -1), coalesce(x.kex_offered, ''), count(*)"
	" FROM handshake_rows AS r LEFT JOIN handshake_extras AS x ON x.id = r.id"
	" WHERE r.id > ?1 AND r.id <= ?2 GROUP BY 1, 2, 3, 4, 5"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_client_legs_all[] =
	"INSERT INTO rollup_client_legs_all SELECT client_ip, protocol, verdict,"
	" coalesce(reason, ''), offers_pq <> 0, ch_bytes > 0, count(*), min(ts_first_us),"
	" max(ts_last_us) FROM handshake_rows WHERE id > ?1 AND id <= ?2"
	" GROUP BY 1, 2, 3, 4, 5, 6"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n,"
	" first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)";

static const char fold_client_hellos_all[] =
	"INSERT INTO rollup_client_hellos_all SELECT r.client_ip, r.hello_id,"
	" coalesce(r.fp_id, -1), coalesce(x.kex_offered, ''), count(*)"
	" FROM handshake_rows AS r LEFT JOIN handshake_extras AS x ON x.id = r.id"
	" WHERE r.id > ?1 AND r.id <= ?2 GROUP BY 1, 2, 3, 4"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_hourly[] =
	"INSERT INTO rollup_hourly SELECT ts_first_us / 3600000000, sensor, verdict, count(*)"
	" FROM handshake_rows WHERE id > ?1 AND id <= ?2 GROUP BY 1, 2, 3"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

/* Rows without a fingerprint set (stored before schema 7) have no JA4 or
 * HASSH: the fingerprints report leaves them out. */
static const char fold_fp_legs[] =
	"INSERT INTO rollup_fp_legs SELECT fp_id, sensor, protocol, verdict, coalesce(reason, ''),"
	" offers_pq <> 0, count(*), min(ts_first_us), max(ts_last_us) FROM handshake_rows"
	" WHERE id > ?1 AND id <= ?2 AND fp_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n,"
	" first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)";

static const char fold_fp_clients[] =
	"INSERT INTO rollup_fp_clients SELECT fp_id, sensor, protocol, client_ip, count(*)"
	" FROM handshake_rows WHERE id > ?1 AND id <= ?2 AND fp_id IS NOT NULL"
	" GROUP BY 1, 2, 3, 4 ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_fp_endpoints[] =
	"INSERT INTO rollup_fp_endpoints SELECT fp_id, sensor, protocol, server_ip, server_port,"
	" coalesce(sni, ''), count(*) FROM handshake_rows"
	" WHERE id > ?1 AND id <= ?2 AND fp_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_fp_clients_all[] =
	"INSERT INTO rollup_fp_clients_all SELECT fp_id, protocol, client_ip, count(*)"
	" FROM handshake_rows WHERE id > ?1 AND id <= ?2 AND fp_id IS NOT NULL"
	" GROUP BY 1, 2, 3 ON CONFLICT DO UPDATE SET n = n + excluded.n";

static const char fold_fp_endpoints_all[] =
	"INSERT INTO rollup_fp_endpoints_all SELECT fp_id, protocol, server_ip, server_port,"
	" coalesce(sni, ''), count(*) FROM handshake_rows"
	" WHERE id > ?1 AND id <= ?2 AND fp_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n";

/* Only the handshakes that show an algorithm, as cbom reads them. */
static const char fold_cbom[] =
	"INSERT INTO rollup_cbom SELECT r.sensor, r.protocol, r.server_ip, r.server_port,"
	" coalesce(r.sni, ''), coalesce(r.version, ''), coalesce(r.cipher_suite, -1),"
	" coalesce(r.group_code, -1), coalesce(r.group_name, ''), coalesce(r.group_family, ''),"
	" coalesce(r.tls12_kx, ''), coalesce(x.ssh_hostkey, ''), r.verdict, count(*),"
	" min(r.ts_first_us), max(r.ts_last_us)"
	" FROM handshake_rows AS r LEFT JOIN handshake_extras AS x ON x.id = r.id"
	" WHERE r.id > ?1 AND r.id <= ?2 AND (r.group_name IS NOT NULL"
	"  OR (r.version IS NOT NULL AND r.protocol <> 'ssh'))"
	" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13"
	" ON CONFLICT DO UPDATE SET n = n + excluded.n,"
	" first_us = min(first_us, excluded.first_us), last_us = max(last_us, excluded.last_us)";

/* Runs sql: with ?1 .. ?4 bound to rg[0..3] (the chunk's handshake and
 * sessions id ranges) when it has parameters, else as a script. */
static int exec(sqlite3 *db, const char *sql, const int64_t *rg, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!strchr(sql, '?')) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	} else {
		rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
		if (rc == SQLITE_OK) {
			for (int i = 0; i < sqlite3_bind_parameter_count(s) && i < 4; i++)
				sqlite3_bind_int64(s, i + 1, rg[i]);
			rc = sqlite3_step(s);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "rollups: %s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}

static int64_t query_i64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static bool has_rollups(sqlite3 *db)
{
	return query_i64(db, "SELECT count(*) FROM main.sqlite_master"
			     " WHERE type = 'table' AND name = 'rollup_state'") == 1;
}

int64_t kx_rollup_tail(sqlite3 *db)
{
	if (!has_rollups(db))
		return -1;
	return query_i64(db, "SELECT count(*) FROM main.handshake_rows"
			     " WHERE id > (SELECT folded_id FROM main.rollup_state)");
}

static int64_t count_range(sqlite3 *db, int64_t lo, int64_t hi)
{
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM handshake_rows WHERE id > %" PRId64 " AND id <= %" PRId64,
		 lo, hi);
	return query_i64(db, sql);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One chunk in one transaction: returns the handshake rows folded (0 when
 * none were left) or -1; *left says whether rows remain above it, and
 * *held_us, when held_us is not NULL, how long the write lock was held
 * (the wait for it left out). */
static int64_t fold_chunk(sqlite3 *db, int64_t chunk, bool *left, int64_t *held_us, char *err,
			  size_t errlen)
{
	static const char *const steps[] = { fold_legs_chunk,
					     fold_legs,
					     fold_pairs_fill,
					     fold_clients,
					     fold_clients_all,
					     fold_pairs,
					     fold_sets_fill,
					     fold_client_counts,
					     fold_client_counts_all,
					     fold_sets,
					     fold_runs,
					     fold_client_legs,
					     fold_client_hellos,
					     fold_client_legs_all,
					     fold_client_hellos_all,
					     fold_hourly,
					     fold_fp_legs,
					     fold_fp_clients,
					     fold_fp_endpoints,
					     fold_cbom,
					     fold_daily_endpoints,
					     fold_daily_clients,
					     fold_weekly_endpoints,
					     fold_weekly_clients,
					     fold_legs_all,
					     fold_fp_clients_all,
					     fold_fp_endpoints_all };
	int64_t lo, top, hi, s_lo, s_top, s_hi, n;
	char sql[160];

	*left = false;
	if (exec(db, "BEGIN IMMEDIATE", NULL, err, errlen) < 0)
		return -1;
	int64_t locked = held_us ? mono_us() : 0;
	lo = query_i64(db, "SELECT folded_id FROM rollup_state");
	top = query_i64(db, "SELECT coalesce(max(id), 0) FROM handshake_rows");
	s_lo = query_i64(db, "SELECT folded_session_id FROM rollup_state");
	s_top = query_i64(db, "SELECT coalesce(max(id), 0) FROM sessions");
	if (lo < 0 || top < 0 || s_lo < 0 || s_top < 0) {
		snprintf(err, errlen, "rollups: %s", sqlite3_errmsg(db));
		goto fail;
	}
	if (top <= lo && s_top <= s_lo) {
		if (exec(db, "COMMIT", NULL, err, errlen) < 0)
			goto fail;
		if (held_us)
			*held_us = mono_us() - locked;
		return 0;
	}
	/* The chunk ends at the chunk-th row above lo, not at lo + chunk: ids
	 * a prune or a merge left unused would make a range of chunk ids hold
	 * far fewer rows, and a caller sizing chunks by time grow them into a
	 * long lock when the dense ids come. Sessions rows are never deleted. */
	snprintf(sql, sizeof(sql),
		 "SELECT coalesce((SELECT id FROM handshake_rows WHERE id > %" PRId64
		 " ORDER BY id LIMIT 1 OFFSET %" PRId64 "), %" PRId64 ")",
		 lo, chunk - 1, top > lo ? top : lo);
	hi = query_i64(db, sql);
	s_hi = s_top - s_lo > chunk ? s_lo + chunk : s_top > s_lo ? s_top : s_lo;
	n = hi < 0 ? -1 : count_range(db, lo, hi);
	if (n < 0) {
		snprintf(err, errlen, "rollups: %s", sqlite3_errmsg(db));
		goto fail;
	}
	const int64_t rg[4] = { lo, hi, s_lo, s_hi };
	if (exec(db,
		 "CREATE TEMP TABLE IF NOT EXISTS kx_fold_legs (" KX_ROLLUP_LEGS_PK ", n, first_us,"
		 " last_us, max_ch_to_sh_us, newest_first_us);"
		 "CREATE TEMP TABLE IF NOT EXISTS kx_fold_pairs (server_ip, server_port, sni,"
		 " client_ip, sensor, n, first_us, last_us);"
		 "CREATE TEMP TABLE IF NOT EXISTS kx_fold_sets (client_ip, kind, value, sensor)",
		 NULL, err, errlen) < 0 ||
	    exec(db,
		 "DELETE FROM temp.kx_fold_legs; DELETE FROM temp.kx_fold_pairs;"
		 " DELETE FROM temp.kx_fold_sets",
		 NULL, err, errlen) < 0)
		goto fail;
	/* A file of schema 12 or 13 read by a report that catches up has no
	 * per-client rollups yet: its upgrade fills them from the others. */
	bool clients = query_i64(db, "SELECT count(*) FROM main.sqlite_master"
				     " WHERE name = 'rollup_client_sets'") == 1;
	/* Nor has a file of schema 14 its daily rollups. */
	bool daily = query_i64(db, "SELECT count(*) FROM main.sqlite_master"
				   " WHERE name = 'rollup_daily_clients'") == 1;
	/* Nor has a file of schema 15 its weekly ones and rollup_legs_all. */
	bool weekly = query_i64(db, "SELECT count(*) FROM main.sqlite_master"
				    " WHERE name = 'rollup_weekly_clients'") == 1;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (!clients && (steps[i] == fold_sets_fill || steps[i] == fold_client_counts ||
				 steps[i] == fold_client_counts_all || steps[i] == fold_sets ||
				 steps[i] == fold_client_legs_all ||
				 steps[i] == fold_client_hellos_all))
			continue;
		if (!daily && (steps[i] == fold_daily_endpoints || steps[i] == fold_daily_clients))
			continue;
		if (!weekly && (steps[i] == fold_weekly_endpoints || steps[i] == fold_weekly_clients ||
				steps[i] == fold_legs_all || steps[i] == fold_fp_clients_all ||
				steps[i] == fold_fp_endpoints_all))
			continue;
		if (exec(db, steps[i], rg, err, errlen) < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE rollup_state SET folded_id = %" PRId64 ", folded_session_id = %" PRId64, hi,
		 s_hi);
	if (exec(db, sql, NULL, err, errlen) < 0 ||
	    exec(db, "DELETE FROM temp.kx_fold_pairs; DELETE FROM temp.kx_fold_sets", NULL, err,
		 errlen) < 0 ||
	    exec(db, "COMMIT", NULL, err, errlen) < 0)
		goto fail;
	if (held_us)
		*held_us = mono_us() - locked;
	*left = hi < top || s_hi < s_top;
	return n;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int64_t kx_rollup_fold(sqlite3 *db, int64_t chunk_rows, int64_t max_rows, FILE *progress,
		       char *err, size_t errlen)
{
	int64_t total = 0, tail = -1;
	bool left = true;

	if (!has_rollups(db))
		return 0;
	if (chunk_rows <= 0)
		chunk_rows = 50000;
	if (progress) {
		tail = kx_rollup_tail(db);
		if (tail <= chunk_rows)
			progress = NULL;
	}
	while (left && (max_rows <= 0 || total < max_rows)) {
		int64_t n = fold_chunk(db, chunk_rows, &left, NULL, err, errlen);
		if (n < 0)
			return -1;
		/* One line per tenth of the tail. */
		if (progress && (total + n) * 10 / tail > total * 10 / tail)
			fprintf(progress, "kexwatch: rollups: %" PRId64 " of %" PRId64
				" handshake rows folded\n", total + n, tail);
		total += n;
	}
	return total;
}

int64_t kx_rollup_fold_one(sqlite3 *db, int64_t chunk_rows, bool *left, int64_t *held_us,
			   char *err, size_t errlen)
{
	*left = false;
	*held_us = 0;
	if (!has_rollups(db))
		return 0;
	return fold_chunk(db, chunk_rows > 0 ? chunk_rows : 50000, left, held_us, err, errlen);
}

int64_t kx_rollup_rebuild(sqlite3 *db, FILE *progress, char *err, size_t errlen)
{
	if (!has_rollups(db)) {
		snprintf(err, errlen, "rollups: this inventory has none (schema older than 12)");
		return -1;
	}
	if (exec(db,
		 "BEGIN IMMEDIATE; DELETE FROM rollup_legs; DELETE FROM rollup_pairs;"
		 " DELETE FROM rollup_clients; DELETE FROM rollup_clients_all;"
		 " DELETE FROM rollup_runs; DELETE FROM rollup_client_legs;"
		 " DELETE FROM rollup_client_hellos; DELETE FROM rollup_hourly;"
		 " DELETE FROM rollup_fp_legs; DELETE FROM rollup_fp_clients;"
		 " DELETE FROM rollup_fp_endpoints; DELETE FROM rollup_cbom;"
		 " DELETE FROM rollup_client_sets; DELETE FROM rollup_client_counts;"
		 " DELETE FROM rollup_client_counts_all; DELETE FROM rollup_client_legs_all;"
		 " DELETE FROM rollup_client_hellos_all; DELETE FROM rollup_daily_endpoints;"
		 " DELETE FROM rollup_daily_clients; DELETE FROM rollup_weekly_endpoints;"
		 " DELETE FROM rollup_weekly_clients; DELETE FROM rollup_legs_all;"
		 " DELETE FROM rollup_fp_clients_all; DELETE FROM rollup_fp_endpoints_all;"
		 " UPDATE rollup_state SET folded_id = 0, folded_session_id = 0; COMMIT",
		 NULL, err, errlen) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return kx_rollup_fold(db, 0, 0, progress, err, errlen);
}

/* An upgrade's new rollups: dropped (a file that says it is older has
 * none it could vouch for), created, and filled by the fold steps from
 * the raw rows already folded (id <= folded_id), so the boundary holds
 * for them too. */
static int refill(sqlite3 *db, const char *drop, const char *schema, const char *const *steps,
		  size_t n, char *err, size_t errlen)
{
	int64_t rg[4] = { 0, query_i64(db, "SELECT folded_id FROM rollup_state"), 0, 0 };

	if (rg[1] < 0) {
		snprintf(err, errlen, "rollups: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (exec(db, drop, NULL, err, errlen) < 0 || exec(db, schema, NULL, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (exec(db, steps[i], rg, err, errlen) < 0)
			return -1;
	return 0;
}

int kx_rollup_fp_upgrade(sqlite3 *db, char *err, size_t errlen)
{
	static const char *const steps[] = { fold_fp_legs, fold_fp_clients, fold_fp_endpoints,
					     fold_cbom };
	return refill(db,
		      "DROP TABLE IF EXISTS rollup_fp_legs; DROP TABLE IF EXISTS rollup_fp_clients;"
		      " DROP TABLE IF EXISTS rollup_fp_endpoints; DROP TABLE IF EXISTS rollup_cbom;",
		      kx_rollup_fp_schema, steps, sizeof(steps) / sizeof(steps[0]), err, errlen);
}

/* An upgrade's new rollups made from older rollups (fill): dropped (a
 * file that says it is older has none it could vouch for), created and
 * filled. */
static int regroup(sqlite3 *db, const char *drop, const char *schema, const char *fill,
		   char *err, size_t errlen)
{
	if (exec(db, drop, NULL, err, errlen) < 0 || exec(db, schema, NULL, err, errlen) < 0 ||
	    exec(db, fill, NULL, err, errlen) < 0)
		return -1;
	return 0;
}

int kx_rollup_client_upgrade(sqlite3 *db, char *err, size_t errlen)
{
	/* Everything folded is in rollup_pairs, rollup_client_legs and
	 * rollup_client_hellos already (the pairs of sessions rows too, and
	 * rows pruned since): the new rollups are theirs regrouped. */
	static const char fill[] =
		"INSERT INTO rollup_client_sets SELECT DISTINCT client_ip, 0, server_ip, sensor"
		" FROM rollup_pairs UNION SELECT DISTINCT client_ip, 1, sni, sensor"
		" FROM rollup_pairs WHERE sni <> '';"
		"INSERT INTO rollup_client_counts SELECT client_ip, sensor, sum(kind = 0),"
		" sum(kind = 1) FROM rollup_client_sets GROUP BY 1, 2;"
		"INSERT INTO rollup_client_counts_all SELECT client_ip, sum(kind = 0),"
		" sum(kind = 1) FROM (SELECT DISTINCT client_ip, kind, value"
		" FROM rollup_client_sets) GROUP BY 1;"
		"INSERT INTO rollup_client_legs_all SELECT client_ip, protocol, verdict, reason,"
		" offers_pq, hello, sum(n), min(first_us), max(last_us) FROM rollup_client_legs"
		" GROUP BY 1, 2, 3, 4, 5, 6;"
		"INSERT INTO rollup_client_hellos_all SELECT client_ip, hello_id, fp_id,"
		" kex_offered, sum(n) FROM rollup_client_hellos GROUP BY 1, 2, 3, 4;";

	return regroup(db,
		       "DROP TABLE IF EXISTS rollup_client_sets;"
		       " DROP TABLE IF EXISTS rollup_client_counts;"
		       " DROP TABLE IF EXISTS rollup_client_counts_all;"
		       " DROP TABLE IF EXISTS rollup_client_legs_all;"
		       " DROP TABLE IF EXISTS rollup_client_hellos_all;",
		       kx_rollup_client_schema, fill, err, errlen);
}

int kx_rollup_daily_upgrade(sqlite3 *db, char *err, size_t errlen)
{
	static const char *const steps[] = { fold_daily_endpoints, fold_daily_clients };
	return refill(db,
		      "DROP TABLE IF EXISTS rollup_daily_endpoints;"
		      " DROP TABLE IF EXISTS rollup_daily_clients;",
		      kx_rollup_daily_schema, steps, sizeof(steps) / sizeof(steps[0]), err, errlen);
}

int kx_rollup_weekly_upgrade(sqlite3 *db, char *err, size_t errlen)
{
	/* The daily rows regrouped: what the fold would have added, less the
	 * days a prune dropped (their week keeps only the rest). */
	static const char fill[] =
		"INSERT INTO rollup_weekly_endpoints SELECT server_ip, server_port, sni, day / 7,"
		" sum(n), sum(strong), sum(declined), sum(draft), sum(tls13), sum(tls12),"
		" sum(encrypted), sum(classical) FROM rollup_daily_endpoints GROUP BY 1, 2, 3, 4;"
		"INSERT INTO rollup_weekly_clients SELECT client_ip, day / 7, sum(n),"
		" sum(offer), sum(nooffer) FROM rollup_daily_clients GROUP BY 1, 2;"
		/* rollup_legs and the fingerprint sets' clients and endpoints
		 * regrouped: the same rows (a prune forgets an endpoint's legs,
		 * a fingerprint set's rows, in both). */
		"INSERT INTO rollup_legs_all SELECT server_ip, server_port, sni, protocol,"
		" group_name, group_family, verdict, reason, offers_pq, hrr, hrr_group, band,"
		" ch_seg0, slow, sum(n), min(first_us), max(last_us), max(max_ch_to_sh_us),"
		" max(newest_first_us) FROM rollup_legs"
		" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14;"
		"INSERT INTO rollup_fp_clients_all SELECT fp_id, protocol, client_ip, sum(n)"
		" FROM rollup_fp_clients GROUP BY 1, 2, 3;"
		"INSERT INTO rollup_fp_endpoints_all SELECT fp_id, protocol, server_ip, server_port,"
		" sni, sum(n) FROM rollup_fp_endpoints GROUP BY 1, 2, 3, 4, 5;";

	return regroup(db,
		       "DROP TABLE IF EXISTS rollup_weekly_endpoints;"
		       " DROP TABLE IF EXISTS rollup_weekly_clients; DROP TABLE IF EXISTS rollup_legs_all;"
		       " DROP TABLE IF EXISTS rollup_fp_clients_all;"
		       " DROP TABLE IF EXISTS rollup_fp_endpoints_all;",
		       kx_rollup_weekly_schema, fill, err, errlen);
}

int64_t kx_rollup_file(const char *path, bool rebuild, FILE *progress, char *err, size_t errlen)
{
	struct kx_store *st = NULL;
	sqlite3 *db = NULL;
	int64_t n = -1;

	if (access(path, F_OK) != 0) { /* opening would create an empty inventory */
		snprintf(err, errlen, "%s: no such file", path);
		return -1;
	}
	/* Opened as the writer opens it: refuses what is not an inventory and
	 * upgrades an older schema (to one with empty rollups). */
	if (kx_store_open(path, &(struct kx_store_opts){ .no_background = true }, &st, err, errlen) < 0)
		return -1;
	kx_store_close(st);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	/* A capture's writer holds its transaction for up to a flush interval. */
	sqlite3_busy_timeout(db, 10000);
	char e[256];
	n = rebuild ? kx_rollup_rebuild(db, progress, e, sizeof(e))
		    : kx_rollup_fold(db, 0, 0, progress, e, sizeof(e));
	if (n < 0)
		snprintf(err, errlen, "%s: %s", path, e);
out:
	sqlite3_close(db);
	return n;
}
