/* SPDX-License-Identifier: BSD-2-Clause */
/* test_report.c: the hops, clients and health reports and the views of
 * schema 2, over handshakes that exercise every endpoint verdict.
 *
 * The hops view (schema 1) was checked against an independent script from
 * the rows written out below; the reports compute their verdicts with their
 * own SQL over filtered rows, so every report is also compared with the
 * matching view row by row (EXCEPT both ways), and each view of schema 2
 * with its report. Expected report texts are exact. */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "kexwatch/report.h"
#include "kexwatch/rollup.h"
#include "kexwatch/store.h"
#include "report_test.h"
#include "src/report/report_int.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define SCHEMA_STR STR(KX_STORE_SCHEMA_VERSION)

static const char want_hops[] =
	"198.51.100.2|443|declined.example|2025-11-22T10:00:05.123456Z|2025-11-22T10:00:06.124456Z|2|2|0|0|0|2|1|1|0|0|0|0|x25519|classical (server-declined)|5|0|0|0|0|0|0|0|0|NULL\n"
	"203.0.113.5|8443|NULL|2025-11-22T10:00:04.123456Z|2025-11-22T10:00:04.124456Z|1|1|0|0|0|1|0|0|1|0|0|0|secp256r1|classical (clients-no-pq)|4|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.3|443|draft.example|2025-11-22T10:00:07.123456Z|2025-11-22T10:00:08.124456Z|2|1|1|0|1|0|0|0|0|0|0|0|X25519Kyber768Draft00,X25519MLKEM768|draft-kyber|3|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.4|443|mixed.example|2025-11-22T10:00:09.123456Z|2025-11-22T10:00:10.124456Z|2|2|1|0|0|1|1|0|0|0|0|0|X25519MLKEM768,x25519|mixed|2|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.5|443|quiet.example|2025-11-22T10:00:11.123456Z|2025-11-22T10:00:12.124456Z|2|1|0|0|0|0|0|0|0|1|1|0|NULL|no-verdict|1|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.6|443|odd.example|2025-11-22T10:00:13.123456Z|2025-11-22T10:00:13.124456Z|1|1|0|0|0|0|0|0|0|0|0|1|0x1234|unknown|1|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.1|443|example.com|2025-11-22T10:00:01.123456Z|2025-11-22T10:00:03.124456Z|3|2|2|0|0|0|0|0|0|0|1|0|X25519MLKEM768|hybrid|0|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.7|443|evil\x1b""[2J,\"x\".example|2025-11-22T10:00:14.123456Z|2025-11-22T10:00:14.124456Z|1|1|1|0|0|0|0|0|0|0|0|0|X25519MLKEM768|hybrid|0|0|0|0|0|0|0|0|0|NULL"
;

#include "test_report_want.h"

static int hops_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		   char *err, size_t errlen)
{
	if (!arg)
		return kx_report_hops(path, fmt, out, err, errlen);
	return kx_report_hops_with(path, arg, fmt, out, err, errlen);
}

static int clients_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		      char *err, size_t errlen)
{
	return kx_report_clients(path, arg, fmt, out, err, errlen);
}

static int health_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		     char *err, size_t errlen)
{
	return kx_report_health(path, arg, fmt, out, err, errlen);
}

static void check_run(report_fn fn, const char *path, const void *arg, enum kx_out_format fmt,
		      const char *want, const char *what)
{
	char *text = run(fn, path, arg, fmt);

	check_str(text, want, what);
	free(text);
}

/* Rows of `a` not in `b` and of `b` not in `a` (as "n|m"), on a report
 * connection: the reports' functions are registered there. */
static const char *differ(const char *path, const char *a, const char *b)
{
	static char out[64];
	struct kx_rdb r;
	char err[512];
	long long x = -1, y = -1;
	char *q1 = sqlite3_mprintf("SELECT count(*) FROM (SELECT * FROM (%s) EXCEPT "
				   "SELECT * FROM (%s))", a, b);
	char *q2 = sqlite3_mprintf("SELECT count(*) FROM (SELECT * FROM (%s) EXCEPT "
				   "SELECT * FROM (%s))", b, a);

	if (kx_rdb_open(&r, path, err, sizeof(err)) == 0) {
		if (kx_rdb_int64(&r, q1, NULL, &x) < 0 || kx_rdb_int64(&r, q2, NULL, &y) < 0)
			printf("# %s\n", err);
		kx_rdb_close(&r);
	}
	sqlite3_free(q1);
	sqlite3_free(q2);
	snprintf(out, sizeof(out), "%lld|%lld", x, y);
	return out;
}

#define VIEW_COLS                                                                            \
	"server_ip, server_port, sni, first_seen, last_seen, handshakes, clients, n_hybrid,"  \
	" n_pq, n_hybrid_draft, n_classical, n_client_no_pq, n_server_declined, n_tls12,"     \
	" n_resumed, n_incomplete, n_unknown, groups_selected, verdict, risk, sessions,"       \
	" n_plaintext, n_unseen, n_offer_unseen, n_no_tls, n_starttls_not_offered,"          \
	" n_starttls_refused, n_ssl_refused, apps"

static void test_views_agree(const char *path)
{
	struct kx_hops_opts o;
	char *sql, *cl, *a;

	kx_hops_opts_init(&o);
	sql = kx_hops_sql(&o, false, false);
	a = sqlite3_mprintf("SELECT " VIEW_COLS " FROM (%s)", sql);
	check_str(differ(path, a, "SELECT " VIEW_COLS " FROM hops"), "0|0",
		  "hops report and hops view: the same rows, counts and verdicts");
	sqlite3_free(a);
	sqlite3_free(sql);

	/* The same from the rollups: first with every row in the tail, then
	 * folded (rollup.h). */
	for (int folded = 0; folded < 2; folded++) {
		if (folded) {
			sqlite3 *db;
			char e[256];
			int64_t n = -1;
			if (sqlite3_open(path, &db) == SQLITE_OK)
				n = kx_rollup_fold(db, 3, 0, NULL, e, sizeof(e));
			sqlite3_close(db);
			CHECK(n > 0, "rollups: the rows fold, three at a time (%lld)", (long long)n);
		}
		sql = kx_hops_sql(&o, false, true);
		a = sqlite3_mprintf("SELECT " VIEW_COLS " FROM (%s)", sql);
		check_str(differ(path, a, "SELECT " VIEW_COLS " FROM hops"), "0|0",
			  folded ? "hops from folded rollups and the hops view agree"
				 : "hops from the rollups' tail and the hops view agree");
		sqlite3_free(a);
		sqlite3_free(sql);
	}

	cl = sqlite3_mprintf(kx_clients_sql, kx_clients_ssh_sql, kx_fp_cols_v7, "", "");
	a = sqlite3_mprintf("SELECT client_ip, first_seen, last_seen, handshakes, n_hello,"
			    " n_offers_pq, n_no_pq, offers_pq, servers, n_hybrid, n_pq,"
			    " n_hybrid_draft, n_classical, n_client_no_pq, n_server_declined,"
			    " n_tls12, n_resumed, n_incomplete, n_unknown, sessions, n_plaintext,"
			    " n_unseen FROM (%s)", cl);
	check_str(differ(path, a, "SELECT * FROM clients"), "0|0",
		  "clients report and clients view agree");
	sqlite3_free(a);
	sqlite3_free(cl);

	check_str(differ(path, kx_health_bands_sql, "SELECT * FROM clienthello_sizes"), "0|0",
		  "health bands and clienthello_sizes view agree");
}

/* Sessions without a handshake, ClientHellos not captured, capacity: the
 * endpoint verdicts, counts by weight, and the same in the views. */
static void test_legs(const char *path)
{
	sqlite3 *db = open_db(path);
	struct kx_report_filter f;
	struct kx_hops_opts o;

	check_str(sql_rows(db, "SELECT server_ip, server_port, sessions, bytes, ts_first_us - 1763805600123456,"
			       " ts_last_us - 1763805600123456, client_port, pkt_first FROM sessions"
			       " ORDER BY server_ip, client_ip", NULL, 100),
		  "198.51.100.20|5432|2|3000|7201000000|7202500000|47201|72010\n"
		  "198.51.100.21|80|1|300|7203000000|7203500000|47203|72030\n"
		  "198.51.100.22|443|2|10000|7204000000|7204501000|47204|72040\n"
		  "198.51.100.22|443|1|5000|7204000000|7204500000|47204|72040\n"
		  "198.51.100.23|443|1|700|7206000000|7206500000|47206|72060\n"
		  "198.51.100.24|25|1|900|7208000000|7208500000|47208|72080",
		  "legs: sessions aggregated per hour and endpoint, the earliest as evidence");
	check_str(sql_rows(db, "SELECT * FROM hops ORDER BY risk DESC, handshakes DESC,"
			       " server_ip, server_port, sni", NULL, 100),
		  want_legs_view, "hops view over handshakes and sessions");
	sqlite3_close(db);

	check_run(hops_fn, path, NULL, KX_OUT_TABLE, want_legs_table,
		  "hops: plaintext first, no-verdict (not observed), offer-unseen, PLAINTEXT column");
	check_run(hops_fn, path, NULL, KX_OUT_CSV, want_legs_csv,
		  "hops --csv: sessions, plaintext reasons and apps");
	kx_hops_opts_init(&o);
	o.group = KX_HOPS_PAIR;
	check_run(hops_fn, path, &o, KX_OUT_CSV, want_legs_pairs, "hops --group-by pair");
	/* The window is by first session: 12:00:03 .. 12:00:05 holds the http
	 * session and both handshake-unseen rows of .22. */
	kx_hops_opts_init(&o);
	o.f.since_us = (int64_t)T0 + 7203000000ll;
	o.f.until_us = (int64_t)T0 + 7205000000ll;
	check_run(hops_fn, path, &o, KX_OUT_CSV, want_legs_window, "--since/--until apply to sessions");
	o.f.sensor = "s";
	check_run(hops_fn, path, &o, KX_OUT_JSON, "[]\n", "--sensor applies to sessions");
	check_run(clients_fn, path, NULL, KX_OUT_TABLE, want_legs_clients,
		  "clients: a client with plaintext legs only comes first");
	check_run(clients_fn, path, NULL, KX_OUT_CSV, want_legs_clients_csv,
		  "clients --csv: sessions, n_plaintext, n_unseen, plaintext_apps");
	check_run(health_fn, path, NULL, KX_OUT_TABLE, want_legs_health,
		  "health: plaintext, capacity and handshake-unseen findings; capacity in no band");
	kx_report_filter_init(&f);
	f.until_us = (int64_t)T0 + 7204000000ll;
	check_run(health_fn, path, &f, KX_OUT_JSON, want_legs_health_json,
		  "health --json --until: plaintext findings, the ledger of the run");
	test_views_agree(path);
}

static void test_parse(void)
{
	int64_t v = 0;

	CHECK(kx_report_parse_duration("24h", &v) == 0 && v == 86400000000ll, "24h");
	CHECK(kx_report_parse_duration("1h30m", &v) == 0 && v == 5400000000ll, "1h30m");
	CHECK(kx_report_parse_duration("90", &v) == 0 && v == 90000000ll, "bare seconds");
	CHECK(kx_report_parse_duration("2w", &v) == 0 && v == 14ll * 86400000000ll, "2w");
	CHECK(kx_report_parse_duration("", &v) < 0 && kx_report_parse_duration("5y", &v) < 0 &&
		      kx_report_parse_duration("-5m", &v) < 0 &&
		      kx_report_parse_duration("h", &v) < 0,
	      "not durations: empty, 5y, -5m, h");
	CHECK(kx_report_parse_time("2025-11-22T10:00:00.123456Z", 0, &v) == 0 &&
		      v == (int64_t)T0, "RFC 3339 with microseconds");
	CHECK(kx_report_parse_time("2025-11-22T11:00:00.123456+01:00", 0, &v) == 0 &&
		      v == (int64_t)T0, "offset +01:00");
	CHECK(kx_report_parse_time("2025-11-22", 0, &v) == 0 && v == (int64_t)T0 - 36000123456ll,
	      "a date is midnight UTC");
	CHECK(kx_report_parse_time("7d", 1000ll * 86400000000ll, &v) == 0 &&
		      v == 993ll * 86400000000ll, "7d before now");
	CHECK(kx_report_parse_time("2025-02-30T00:00:00Z", 0, &v) < 0 &&
		      kx_report_parse_time("2025-11-22T10:00:00", 0, &v) < 0 &&
		      kx_report_parse_time("yesterday", 0, &v) < 0,
	      "refused: 30 February, no zone, words");
}

static void test_hops(const char *path, const char *empty)
{
	struct kx_hops_opts o;
	sqlite3 *db = open_db(path);

	check_str(sql_rows(db, "SELECT * FROM hops ORDER BY risk DESC, handshakes DESC,"
			       " server_ip, server_port, sni", NULL, 100),
		  want_hops, "hops view: counts, groups, verdict and risk per endpoint");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes"), "14", "14 handshakes stored");
	sqlite3_close(db);

	check_run(hops_fn, path, NULL, KX_OUT_TABLE, want_table,
		  "table: aligned, riskiest first, SNI escaped");
	check_run(hops_fn, path, NULL, KX_OUT_JSON, want_json, "JSON: every column");
	check_run(hops_fn, path, NULL, KX_OUT_CSV, want_csv, "CSV: RFC 4180 quoting, CRLF");

	kx_hops_opts_init(&o);
	o.group = KX_HOPS_SNI;
	check_run(hops_fn, path, &o, KX_OUT_CSV, want_by_sni, "--group-by sni");
	o.group = KX_HOPS_SERVER;
	check_run(hops_fn, path, &o, KX_OUT_TABLE, want_by_server, "--group-by server (table)");
	o.group = KX_HOPS_PAIR;
	o.sort = KX_HOPS_SORT_HANDSHAKES;
	check_run(hops_fn, path, &o, KX_OUT_TABLE, want_by_pair,
		  "--group-by pair --sort handshakes: no CLIENTS column");

	/* Filters apply before aggregation: counts shrink with the window. */
	kx_hops_opts_init(&o);
	o.f.since_us = (int64_t)T0 + 2000000;
	o.f.until_us = (int64_t)T0 + 9000000;
	check_run(hops_fn, path, &o, KX_OUT_CSV, want_window, "--since/--until: 7 rows in, recounted");
	kx_hops_opts_init(&o);
	o.f.sensor = "nobody";
	check_run(hops_fn, path, &o, KX_OUT_JSON, "[]\n", "--sensor that recorded nothing: []");
	o.f.sensor = "s";
	o.sort = KX_HOPS_SORT_NAME;
	o.live_us = 3000000;
	check_run(hops_fn, path, &o, KX_OUT_CSV, want_live,
		  "--live 3s: the last 3 s before the newest row, by name");
	o.live_from_now = true;
	o.now_us = (int64_t)T0 + 100000000;
	check_run(hops_fn, path, &o, KX_OUT_JSON, "[]\n", "--live 3s --now: nothing that recent");

	check_run(hops_fn, empty, NULL, KX_OUT_TABLE,
		  "SERVER  PORT  SNI  PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  PLAINTEXT  OTHER  GROUPS"
		  "  LAST SEEN  VERDICT\n",
		  "table of an empty inventory: the header");
	check_run(hops_fn, empty, NULL, KX_OUT_JSON, "[]\n", "JSON of an empty inventory: []");
}

static void test_clients(const char *path)
{
	check_run(clients_fn, path, NULL, KX_OUT_TABLE, want_clients_table,
		  "clients: no-PQ clients first, sample SNIs, offers as n/m");
	check_run(clients_fn, path, NULL, KX_OUT_JSON, want_clients_json, "clients --json");
}

static void test_health(const char *path)
{
	struct kx_report_filter f;

	check_run(health_fn, path, NULL, KX_OUT_TABLE, want_health_table,
		  "health: bands, hops, findings, runs");
	check_run(health_fn, path, NULL, KX_OUT_JSON, want_health_json, "health --json");
	kx_report_filter_init(&f);
	f.sensor = "s";
	check_run(health_fn, path, &f, KX_OUT_CSV, want_health_csv_s,
		  "health --csv --sensor s: the hops table only");
}

/* The hops view of schema versions 1 to 3: a correlated subquery per
 * endpoint, served by the handshakes_server index. */
static const char hops_v1[] =
	"CREATE VIEW hops AS SELECT"
	" server_ip, server_port, sni, first_seen, last_seen, handshakes, clients,"
	" n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq,"
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"
	" groups_selected, verdict,"
	" CASE verdict WHEN 'classical (server-declined)' THEN 5"
	"  WHEN 'classical (clients-no-pq)' THEN 4 WHEN 'draft-kyber' THEN 3"
	"  WHEN 'mixed' THEN 2 WHEN 'unknown' THEN 1 ELSE 0 END AS risk"
	" FROM (SELECT *,"
	"  CASE WHEN n_decide = n_unknown THEN 'unknown'"
	"  WHEN n_hybrid + n_pq = n_decide THEN 'hybrid'"
	"  WHEN n_hybrid_draft > 0 AND n_classical = 0 THEN 'draft-kyber'"
	"  WHEN n_classical = n_decide THEN"
	"   CASE WHEN n_server_declined + n_tls12_offered_pq > 0 THEN 'classical (server-declined)'"
	"   ELSE 'classical (clients-no-pq)' END"
	"  ELSE 'mixed' END AS verdict"
	" FROM (SELECT server_ip, server_port, sni,"
	"  min(ts_first) AS first_seen, max(ts_last) AS last_seen,"
	"  count(*) AS handshakes, count(DISTINCT client_ip) AS clients,"
	"  sum(verdict = 'hybrid') AS n_hybrid,"
	"  sum(verdict = 'pq') AS n_pq,"
	"  sum(verdict = 'hybrid-draft') AS n_hybrid_draft,"
	"  sum(verdict = 'classical') AS n_classical,"
	"  sum(verdict = 'classical' AND reason IS 'client-no-pq') AS n_client_no_pq,"
	"  sum(verdict = 'classical' AND reason IS 'server-declined') AS n_server_declined,"
	"  sum(verdict = 'classical' AND reason IS 'tls12' AND offers_pq) AS n_tls12_offered_pq,"
	"  sum(verdict = 'classical' AND reason IS 'tls12') AS n_tls12,"
	"  sum(verdict = 'resumed') AS n_resumed,"
	"  sum(verdict = 'incomplete') AS n_incomplete,"
	"  sum(verdict = 'unknown') AS n_unknown,"
	"  sum(verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')) AS n_decide,"
	"  (SELECT group_concat(group_name, ',') FROM"
	"   (SELECT DISTINCT g.group_name FROM handshakes AS g"
	"    WHERE g.server_ip = h.server_ip AND g.server_port = h.server_port"
	"    AND g.sni IS h.sni AND g.group_name IS NOT NULL ORDER BY 1)) AS groups_selected"
	"  FROM handshakes AS h GROUP BY server_ip, server_port, sni));\n";

/* A version 1 file as kexwatch 0.1.0 wrote it: no SSH columns, no views. */
static void make_v1(const char *path, bool keep_ssh_columns)
{
	sqlite3 *db = open_db(path);
	/* Back to the version 1 table: the seven-column UNIQUE key, no dedup_key
	 * (SQLite cannot drop a column that a constraint names, so rebuild). */
	const char *sql =
		"DROP VIEW hops; DROP VIEW clients; DROP VIEW hybrid_share_daily;"
		" DROP VIEW clienthello_sizes; DROP VIEW classical_handshakes;"
		" CREATE TABLE h1 AS SELECT * FROM handshakes;"
		" ALTER TABLE h1 DROP COLUMN dedup_key;"
		" ALTER TABLE h1 DROP COLUMN tunnel; ALTER TABLE h1 DROP COLUMN client_hello_seen;"
		" ALTER TABLE h1 DROP COLUMN ja4;"
		" ALTER TABLE h1 DROP COLUMN ja4_2;"
		" ALTER TABLE h1 DROP COLUMN ja4s;"
		" ALTER TABLE h1 DROP COLUMN ja4s_hrr;"
		" ALTER TABLE h1 DROP COLUMN kx_fp;"
		" ALTER TABLE h1 DROP COLUMN kx_fp_2;"
		" ALTER TABLE h1 DROP COLUMN hassh;"
		" ALTER TABLE h1 DROP COLUMN hassh_server;"
		" ALTER TABLE h1 DROP COLUMN offers_mldsa;"
		" ALTER TABLE h1 DROP COLUMN key_share_sizes;"
		" ALTER TABLE h1 DROP COLUMN server_share_size;"
		" ALTER TABLE h1 DROP COLUMN kx_anomalies;"
		" ALTER TABLE h1 DROP COLUMN cert_status;"
		" ALTER TABLE h1 DROP COLUMN cert_key;"
		" ALTER TABLE h1 DROP COLUMN cert_key_bits;"
		" ALTER TABLE h1 DROP COLUMN cert_curve;"
		" ALTER TABLE h1 DROP COLUMN cert_sig;"
		" ALTER TABLE h1 DROP COLUMN ske_sigalg;"
		" ALTER TABLE h1 DROP COLUMN regression;"
		" ALTER TABLE h1 DROP COLUMN interface;"
		" DROP TABLE sessions; ALTER TABLE runs DROP COLUMN capture_first_us;"
		" ALTER TABLE runs DROP COLUMN capture_last_us;"
		" DROP VIEW handshakes; DROP TABLE handshake_extras; DROP TABLE handshake_rows;"
		" DROP TABLE hellos; DROP TABLE fingerprints;"
		" CREATE TABLE handshakes (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL"
		"  REFERENCES runs(id), sensor TEXT NOT NULL, source TEXT, ts_first TEXT NOT NULL,"
		"  ts_first_us INTEGER NOT NULL, ts_last TEXT NOT NULL, ts_last_us INTEGER NOT NULL,"
		"  transport TEXT NOT NULL, protocol TEXT NOT NULL, client_ip TEXT NOT NULL,"
		"  client_port INTEGER NOT NULL, server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
		"  ip_version INTEGER NOT NULL, vlan INTEGER NOT NULL, sni TEXT, alpn TEXT NOT NULL,"
		"  legacy_version INTEGER NOT NULL, versions_offered TEXT NOT NULL, version TEXT,"
		"  version_code INTEGER, cipher_suite INTEGER, groups_offered TEXT NOT NULL,"
		"  groups_offered_2 TEXT, key_shares TEXT NOT NULL, offers_pq INTEGER NOT NULL,"
		"  hrr INTEGER NOT NULL, hrr_group INTEGER, group_code INTEGER, group_name TEXT,"
		"  group_family TEXT, tls12_kx TEXT, resumed INTEGER NOT NULL, psk INTEGER NOT NULL,"
		"  verdict TEXT NOT NULL, reason TEXT, ch_bytes INTEGER NOT NULL,"
		"  ch_segments INTEGER NOT NULL, ch2_bytes INTEGER, ch2_segments INTEGER,"
		"  ch_to_sh_us INTEGER, sigalgs TEXT NOT NULL, ech INTEGER NOT NULL,"
		"  list_overflow INTEGER NOT NULL, ndpi TEXT, pkt_first_ch INTEGER NOT NULL,"
		"  pkt_sh INTEGER, ssh_client_banner TEXT, ssh_server_banner TEXT, kex_offered TEXT,"
		"  kex_offered_server TEXT, ssh_hostkey TEXT, starttls TEXT,"
		"  UNIQUE (ts_first_us, sensor, protocol, client_ip, client_port, server_ip,"
		"  server_port));"
		" INSERT INTO handshakes SELECT * FROM h1; DROP TABLE h1;"
		" CREATE INDEX handshakes_server ON handshakes (server_ip, server_port, sni);";
	const char *drop_ssh =
		" ALTER TABLE handshakes DROP COLUMN ssh_client_banner;"
		" ALTER TABLE handshakes DROP COLUMN ssh_server_banner;"
		" ALTER TABLE handshakes DROP COLUMN kex_offered;"
		" ALTER TABLE handshakes DROP COLUMN kex_offered_server;"
		" ALTER TABLE handshakes DROP COLUMN ssh_hostkey;"
		" ALTER TABLE handshakes DROP COLUMN starttls;";
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    (!keep_ssh_columns && sqlite3_exec(db, drop_ssh, NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(db, hops_v1, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK)
		printf("# make_v1: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Everything of a schema that queries can see: each table's columns
 * (name, type, NOT NULL, default, key position), its keys and indexes by
 * column list, its foreign keys, and each view's SQL. Names SQLite gives
 * the automatic indexes are left out: they follow the table's history. */
static const char schema_sql[] =
	"SELECT 'table ' || m.name || ': ' || (SELECT group_concat(p.cid || ' ' || p.name || ' '"
	"  || p.type || ' ' || p.\"notnull\" || ' ' || coalesce(p.dflt_value, '-') || ' ' || p.pk, ', ')"
	"  FROM pragma_table_info(m.name) AS p)"
	" FROM sqlite_master AS m WHERE m.type = 'table'"
	" UNION ALL SELECT 'key ' || m.name || ': ' || l.\"unique\" || l.origin || l.partial || ' ('"
	"  || (SELECT group_concat(i.name, ', ') FROM pragma_index_info(l.name) AS i) || ')'"
	" FROM sqlite_master AS m, pragma_index_list(m.name) AS l WHERE m.type = 'table'"
	" UNION ALL SELECT 'fk ' || m.name || ': ' || f.\"from\" || ' -> ' || f.\"table\" || '.'"
	"  || coalesce(f.\"to\", 'rowid')"
	" FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table'"
	" UNION ALL SELECT 'view ' || name || ': ' || sql FROM sqlite_master WHERE type = 'view'"
	" ORDER BY 1";

static char *schema_of(const char *path)
{
	sqlite3 *db = open_db(path);
	char *s = strdup(sql_rows(db, schema_sql, NULL, 400));
	sqlite3_close(db);
	return s;
}

static void test_migration(const char *dir, const char *full)
{
	char path[512], dev[512], *a, *b;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	fill(path);
	make_v1(path, false);
	db = open_db(path);
	check_str(sql_row(db, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'view'),"
			      " (SELECT count(*) FROM pragma_table_info('handshakes'))"),
		  "1|48", "a version 1 file: the hops view, 48 columns");
	sqlite3_close(db);

	/* Reports read version 1 files as they are. */
	a = run(hops_fn, path, NULL, KX_OUT_CSV);
	check_str(a, want_csv, "hops on a version 1 file (read-only: not upgraded)");
	free(a);

	fill_more(path);
	db = open_db(path);
	check_str(sql_row(db, "PRAGMA user_version"), SCHEMA_STR, "the next write upgraded it to the latest");
	check_str(sql_row(db, "SELECT count(*) FROM sqlite_master WHERE name = 'handshakes_server'"), "0",
		  "the endpoint index of versions 1 to 3 is dropped");
	check_str(sql_row(db, "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'view'),"
			      " (SELECT count(*) FROM pragma_table_info('handshakes')),"
			      " (SELECT count(*) FROM handshakes)"),
		  "6|77|22", "six views (handshakes among them), 77 columns, 22 rows");
	check_str(sql_row(db, "SELECT count(*), count(hello_id), count(source_id),"
			      " (SELECT count(*) FROM hellos), (SELECT count(*) FROM (SELECT DISTINCT alpn,"
			      " versions_offered, groups_offered, groups_offered_2, key_shares, sigalgs"
			      " FROM handshakes)), (SELECT count(*) FROM handshake_extras)"
			      " FROM handshake_rows"),
		  "22|22|0|6|6|0", "rows split into handshake_rows and one hellos row per distinct set");
	check_str(sql_row(db, "PRAGMA integrity_check"), "ok", "integrity_check");
	sqlite3_close(db);

	/* A development build wrote version 1 files with the SSH columns. */
	char want_upgraded[32];
	snprintf(want_upgraded, sizeof(want_upgraded), "%d|6|58|22", KX_STORE_SCHEMA_VERSION);
	snprintf(dev, sizeof(dev), "%s/v1ssh.db", dir);
	fill(dev);
	make_v1(dev, true);
	fill_more(dev);
	db = open_db(dev);
	check_str(sql_row(db, "SELECT (SELECT user_version FROM pragma_user_version),"
			      " (SELECT count(*) FROM sqlite_master WHERE type = 'view'),"
			      " (SELECT count(*) FROM pragma_table_info('handshakes')),"
			      " (SELECT count(*) FROM handshakes)"),
		  SCHEMA_STR "|6|77|22", "a version 1 file that has the SSH columns upgrades too");
	sqlite3_close(db);

	/* A new file is created at the latest version directly, not by
	 * replaying the migrations: both ways must give the same schema. */
	a = schema_of(path);
	b = schema_of(full);
	CHECK(strstr(a, "table handshake_rows: 0 id INTEGER 0 - 1, 1 run_id INTEGER 1 - 0,") &&
		      strstr(a, "key handshake_rows: 1u0 (ts_first_us, dedup_key)") &&
		      strstr(a, "fk handshake_rows: run_id -> runs.id") &&
		      strstr(a, "fk handshake_rows: hello_id -> hellos.id") &&
		      strstr(a, "view handshakes: CREATE VIEW handshakes AS SELECT") &&
		      strstr(a, "view hops: CREATE VIEW hops AS SELECT") && strlen(a) > 6000 &&
		      strlen(a) < 24000,
	      "the schema listing has the columns, keys, foreign keys and views");
	check_str(a, b, "an upgraded file has the same schema as a new one");
	free(a);
	free(b);

	/* The upgraded file answers exactly as one created at version 2. */
	a = run(health_fn, path, NULL, KX_OUT_JSON);
	b = run(health_fn, full, NULL, KX_OUT_JSON);
	check_str(a, b, "health of the upgraded file equals that of a new one");
	free(a);
	free(b);
}

static void test_set(const char *path)
{
	sqlite3 *db = open_db(path);
	struct kx_rdb r;
	char err[256];
	sqlite3_stmt *s;

	sqlite3_close(db);
	if (kx_rdb_open(&r, path, err, sizeof(err)) < 0) {
		CHECK(0, "open: %s", err);
		return;
	}
	s = kx_rdb_prepare(&r, "SELECT kx_set(x), kx_set(x, 2), kx_set(NULL),"
			   " kx_group_name(4588), kx_group_family(512), kx_group_name(4660),"
			   " kx_group_name('x') FROM (SELECT 'b' AS x UNION ALL SELECT 'a'"
			   " UNION ALL SELECT 'b' UNION ALL SELECT NULL UNION ALL SELECT 'c')", NULL);
	CHECK(s && sqlite3_step(s) == SQLITE_ROW, "kx_set query");
	if (s) {
		char got[256];
		snprintf(got, sizeof(got), "%s|%s|%s|%s|%s|%s|%s",
			 sqlite3_column_text(s, 0), sqlite3_column_text(s, 1),
			 sqlite3_column_text(s, 2) ? "x" : "NULL", sqlite3_column_text(s, 3),
			 sqlite3_column_text(s, 4), sqlite3_column_text(s, 5),
			 sqlite3_column_text(s, 6) ? "x" : "NULL");
		check_str(got, "a,b,c|a,b +1|NULL|X25519MLKEM768|pq|0x1234|NULL",
			  "kx_set: distinct, sorted, capped; group names and families");
	}
	sqlite3_finalize(s);
	/* kx_ts_text: KX_SQL_TS_TEXT's text for every integer, NULL for the rest. */
	s = kx_rdb_prepare(&r, "WITH RECURSIVE v(i, x) AS (VALUES (0, 0) UNION ALL SELECT i + 1,"
			   " CASE i % 5 WHEN 0 THEN abs(random()) % 253402300900000000"
			   " WHEN 1 THEN random() % 1000000 WHEN 2 THEN 253402300799999999 + i % 3 - 1"
			   " WHEN 3 THEN abs(random()) % 4102444800000000 ELSE i * 86400000000 END"
			   " FROM v WHERE i < 5000)"
			   " SELECT count(*), sum(kx_ts_text(x) IS NOT (" KX_SQL_TS_TEXT("x") ")),"
			   " kx_ts_text('2025-01-01') IS NULL AND kx_ts_text(1.5) IS NULL"
			   " AND kx_ts_text(NULL) IS NULL FROM v", NULL);
	CHECK(s && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 5001 &&
		      sqlite3_column_int(s, 1) == 0 && sqlite3_column_int(s, 2) == 1,
	      "kx_ts_text gives KX_SQL_TS_TEXT's text for 5001 integers (%d differ)",
	      s ? sqlite3_column_int(s, 1) : -1);
	sqlite3_finalize(s);
	kx_rdb_close(&r);
}

/* The printers' by-hand parts print what printf did. */
static void test_printers(void)
{
	const long long v[] = { 0, 7, -7, 1234567890123LL, LLONG_MAX, LLONG_MIN };
	char got[32], want[32];
	char *text = NULL;
	size_t len = 0;
	FILE *m;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = kx_i64_text(v[i], got, sizeof(got));
		snprintf(want, sizeof(want), "%lld", v[i]);
		CHECK(strcmp(got, want) == 0 && n == strlen(want), "kx_i64_text(%s): %s", want, got);
	}
	CHECK(kx_i64_text(-12345, got, 4) == 3 && strcmp(got, "-12") == 0,
	      "kx_i64_text cut to its buffer: %s", got);
	if (!(m = open_memstream(&text, &len))) {
		CHECK(0, "open_memstream");
		return;
	}
	kx_cell_print(m, "a\x01" "b\x7f");
	kx_cell_pad(m, 70);
	kx_cell_print(m, "\x1b");
	kx_cell_pad(m, 0);
	kx_cell_print(m, "");
	fclose(m);
	snprintf(want, sizeof(want), "a\\x01b\\x7f");
	CHECK(text && len == strlen(want) + 70 + 4 && strncmp(text, want, strlen(want)) == 0 &&
		      strspn(text + strlen(want), " ") == 70 && strcmp(text + len - 4, "\\x1b") == 0,
	      "kx_cell_print escapes control bytes, kx_cell_pad pads past 64: %s", text);
	free(text);
}

int main(void)
{
	const char *dir = test_dir();
	char path[512], more[512], empty[512], missing[512], legs[512];
	char *text;

	test_parse();
	test_printers();

	snprintf(path, sizeof(path), "%s/hops.db", dir);
	fill(path);
	snprintf(empty, sizeof(empty), "%s/empty.db", dir);
	{
		struct kx_store *st;
		char err[256];
		if (kx_store_open(empty, NULL, &st, err, sizeof(err)) == 0)
			kx_store_close(st);
	}
	test_hops(path, empty);
	test_views_agree(path);
	test_set(path);
	test_clients(path);

	snprintf(more, sizeof(more), "%s/more.db", dir);
	fill(more);
	fill_more(more);
	test_health(more);
	test_views_agree(more);
	test_migration(dir, more);

	snprintf(legs, sizeof(legs), "%s/legs.db", dir);
	fill_legs(legs);
	test_legs(legs);

	snprintf(missing, sizeof(missing), "%s/missing.db", dir);
	text = run(hops_fn, missing, NULL, KX_OUT_TABLE);
	CHECK(strstr(text, "ERROR: ") && strstr(text, missing) &&
		      strstr(text, "No such file or directory"),
	      "missing database: %s", text);
	free(text);
	CHECK(access(missing, F_OK) < 0 && errno == ENOENT, "and it is not created");

	fclose(fopen(missing, "w"));
	text = run(clients_fn, missing, NULL, KX_OUT_TABLE);
	CHECK(strstr(text, "empty file, not a kexwatch database") != NULL, "empty file: %s", text);
	free(text);

	rm_dir(dir);
	return tap_done();
}
