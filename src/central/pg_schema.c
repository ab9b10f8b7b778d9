/* SPDX-License-Identifier: BSD-2-Clause */
/* pg_schema.c: the central store's schema, connection and URL handling.
 *
 * PostgreSQL schema 1 (kexwatch_meta: schema_version = 1) mirrors SQLite
 * schema 3 column for column; integers are bigint or integer, lists stay
 * JSON text, booleans stay 0/1 so the same SQL reads both:
 *   runs        id bigserial, local_id (the run's id in the sensor's file),
 *               then the SQLite runs columns; UNIQUE (sensor, started_us,
 *               local_id) identifies a sensor's run
 *   sources     run_id -> runs.id, source_id, name
 *   handshakes  id bigserial, run_id -> runs.id, then the SQLite columns;
 *               UNIQUE (ts_first_us, dedup_key), index (server_ip,
 *               server_port, sni) as in SQLite
 *   views       hops, clients, hybrid_share_daily, clienthello_sizes,
 *               classical_handshakes: SQLite's, in PostgreSQL's dialect
 *
 * Schema 2 mirrors SQLite schema 6: handshakes gain tunnel and
 * client_hello_seen, runs their capture span (capture_first_us,
 * capture_last_us), and the table sessions the hourly aggregates of the
 * sessions without a handshake, keyed like SQLite's (sensor, hour,
 * client_ip, server_ip, server_port, transport, app, verdict, reason, vlan,
 * tunnel). A sensor's row is the total of its own file, so the shipper
 * upserts it with the larger counts (greatest), which a row sent twice
 * leaves as it is. The views hops, clients and clienthello_sizes read the
 * sessions as SQLite's schema 6 views do. A schema 1 store is upgraded in
 * place by the first sensor that connects (ALTER TABLE ... ADD COLUMN,
 * the new table, the views again); reports read both.
 *
 * Schema 3 partitions handshakes by range on ts_first_us, one partition per
 * UTC month (handshakes_pYYYYMM, created by the shipper before a batch that
 * needs it), so `kexwatch prune` drops whole months. The de-duplication key
 * (ts_first_us, dedup_key) is the primary key; id stays a sequence without
 * an index of its own. A schema 1 or 2 store is upgraded in place: its rows
 * move into the partitions, ids kept, in the schema transaction.
 *
 * Schema 4 mirrors SQLite schema 7: handshakes gain the fingerprint and
 * signature-readiness columns at their end (ja4 ... ske_sigalg, NULL in
 * older rows), one column per value (PostgreSQL compresses repeated text;
 * the de-duplicated fingerprints table is SQLite's, for its writer). A
 * schema 1 to 3 store is upgraded in place (ALTER TABLE ... ADD COLUMN on
 * the partitioned table, which reaches every partition) and its views
 * made again.
 *
 * Schema 5 mirrors SQLite schema 9: the hops view says 'no-verdict' for an
 * endpoint none of whose handshakes decides and 'no-verdict (not
 * observed)' for one seen only in sessions whose handshake was not
 * captured; 'unknown' is left to unregistered code points. The clients
 * view says 'no-hello' for a client without a parsed ClientHello and
 * clienthello_sizes 'not reassembled' for the band of none. Older stores
 * get the views again (no table changes).
 *
 * Schema 6 mirrors SQLite schema 10's `interface` (the capture interface of
 * a row: a pcapng interface's if_name, live's -i; NULL when none), one
 * column at the end of handshakes; a schema 1 to 5 store is upgraded in
 * place the same way and its views made again.
 *
 * Schema 7 mirrors SQLite schema 11: a sessions row whose handshake was not
 * seen (reason 'handshake-unseen') says 'no-verdict', not 'unknown'; a
 * schema 1 to 6 store has its rows rewritten in the schema transaction
 * (no view tests a session's verdict word; they are made again anyway).
 *
 * Schema 8 drops the foreign keys handshakes.run_id and sessions.run_id ->
 * runs(id): PostgreSQL checked them with a query per inserted row, about
 * a quarter of the server's work in a bulk push. The writer keeps the
 * integrity instead: the shipper upserts a run (committed, in its own short
 * transaction) before any batch that names its id, and nothing deletes
 * runs (prune drops handshakes only). sources keeps its foreign key (a
 * few rows per run, written in the run's own transaction). A schema 1 to 7
 * store loses the two in place (on the partitioned parent, which takes
 * them off every partition).
 *
 * Schema 9 adds the rollups (pg_rollup.c): all-time aggregates of the
 * handshakes that full-range `hops` and `health` read instead of the raw
 * rows, kept by the shipper in each batch's own transaction, untouched by
 * prune. A schema 1 to 8 store gets them built from its rows in the
 * schema transaction (no statement timeout there: it reads every row).
 *
 * Schema 10 adds rollup_pending (pg_rollup.c): a batch's transaction
 * appends its new rows' rollup columns there instead of updating the
 * rollups, and the folder moves them into the rollups later; reports read
 * both. A schema 9 store gets the empty table (its rollups are complete);
 * older ones get it with the rollups they are built with.
 *
 * Schema 11 keys the rollups' pairs by integer ids (pg_rollup.c): a
 * schema 9 or 10 store's text pairs get their ids in the upgrade
 * transaction, and views of the old tables' names take their place.
 *
 * Schema 12 adds the client rollups (pg_rollup.c) and rollup_pending's
 * columns they read: a schema 9 to 11 store gets them built from every
 * handshake in the upgrade transaction, and its pending rows folded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KX_STR2(x) #x
#define KX_STR(x) KX_STR2(x)

#include "central_int.h"
#include "kexwatch/central.h"

const struct kx_pg_col kx_pg_hs_cols[] = {
	{ "sensor", "text NOT NULL" },          { "source", "text" },
	{ "ts_first", "text NOT NULL" },        { "ts_first_us", "bigint NOT NULL" },
	{ "ts_last", "text NOT NULL" },         { "ts_last_us", "bigint NOT NULL" },
	{ "transport", "text NOT NULL" },       { "protocol", "text NOT NULL" },
	{ "client_ip", "text NOT NULL" },       { "client_port", "integer NOT NULL" },
	{ "server_ip", "text NOT NULL" },       { "server_port", "integer NOT NULL" },
	{ "ip_version", "integer NOT NULL" },   { "vlan", "integer NOT NULL" },
	{ "sni", "text" },                      { "alpn", "text NOT NULL" },
	{ "legacy_version", "integer NOT NULL" }, { "versions_offered", "text NOT NULL" },
	{ "version", "text" },                  { "version_code", "integer" },
	{ "cipher_suite", "integer" },          { "groups_offered", "text NOT NULL" },
	{ "groups_offered_2", "text" },         { "key_shares", "text NOT NULL" },
	{ "offers_pq", "integer NOT NULL" },    { "hrr", "integer NOT NULL" },
	{ "hrr_group", "integer" },             { "group_code", "integer" },
	{ "group_name", "text" },               { "group_family", "text" },
	{ "tls12_kx", "text" },                 { "resumed", "integer NOT NULL" },
	{ "psk", "integer NOT NULL" },          { "verdict", "text NOT NULL" },
	{ "reason", "text" },                   { "ch_bytes", "integer NOT NULL" },
	{ "ch_segments", "integer NOT NULL" },  { "ch2_bytes", "integer" },
	{ "ch2_segments", "integer" },          { "ch_to_sh_us", "bigint" },
	{ "sigalgs", "text NOT NULL" },         { "ech", "integer NOT NULL" },
	{ "list_overflow", "integer NOT NULL" }, { "ndpi", "text" },
	{ "pkt_first_ch", "bigint NOT NULL" },  { "pkt_sh", "bigint" },
	{ "ssh_client_banner", "text" },        { "ssh_server_banner", "text" },
	{ "kex_offered", "text" },              { "kex_offered_server", "text" },
	{ "ssh_hostkey", "text" },              { "starttls", "text" },
	{ "dedup_key", "bigint NOT NULL" },
	/* Schema 2: */
	{ "tunnel", "text" },                   { "client_hello_seen", "integer" },
	/* Schema 4 (SQLite schema 7's fingerprint columns): */
	{ "ja4", "text" },                      { "ja4_2", "text" },
	{ "ja4s", "text" },                     { "ja4s_hrr", "text" },
	{ "kx_fp", "text" },                    { "kx_fp_2", "text" },
	{ "hassh", "text" },                    { "hassh_server", "text" },
	{ "offers_mldsa", "integer" },          { "key_share_sizes", "text" },
	{ "server_share_size", "integer" },     { "kx_anomalies", "text" },
	{ "cert_status", "text" },              { "cert_key", "text" },
	{ "cert_key_bits", "integer" },         { "cert_curve", "text" },
	{ "cert_sig", "text" },                 { "ske_sigalg", "integer" },
	/* Schema 6 (SQLite schema 10): */
	{ "interface", "text" },
};
#define PG_N_FP_COLS 18
#define PG_N_V6_COLS 1 /* schema 5 changed only views */
const unsigned kx_pg_n_hs_cols = sizeof(kx_pg_hs_cols) / sizeof(kx_pg_hs_cols[0]);
const unsigned kx_pg_n_hs_cols_v4 = sizeof(kx_pg_hs_cols) / sizeof(kx_pg_hs_cols[0]) - PG_N_V6_COLS;
const unsigned kx_pg_n_hs_cols_v3 =
	sizeof(kx_pg_hs_cols) / sizeof(kx_pg_hs_cols[0]) - PG_N_V6_COLS - PG_N_FP_COLS;
const unsigned kx_pg_n_hs_cols_v1 =
	sizeof(kx_pg_hs_cols) / sizeof(kx_pg_hs_cols[0]) - PG_N_V6_COLS - PG_N_FP_COLS - 2;

const struct kx_pg_col kx_pg_run_cols[] = {
	{ "started", "text NOT NULL" },        { "started_us", "bigint NOT NULL" },
	{ "finished", "text" },                { "finished_us", "bigint" },
	{ "sensor", "text NOT NULL" },         { "command", "text" },
	{ "kexwatch_version", "text NOT NULL" }, { "packets", "bigint" },
	{ "bytes", "bigint" },                 { "flows", "bigint" },
	{ "handshakes", "bigint" },            { "skipped_malformed", "bigint" },
	{ "skipped_truncated", "bigint" },     { "flows_evicted", "bigint" },
	{ "db_errors", "bigint" },             { "counters", "text" },
	/* Schema 2: */
	{ "capture_first_us", "bigint" },      { "capture_last_us", "bigint" },
};
const unsigned kx_pg_n_run_cols = sizeof(kx_pg_run_cols) / sizeof(kx_pg_run_cols[0]);
const unsigned kx_pg_n_run_cols_v1 = sizeof(kx_pg_run_cols) / sizeof(kx_pg_run_cols[0]) - 2;

/* sessions columns after id and run_id, in SQLite table order. */
const struct kx_pg_col kx_pg_session_cols[] = {
	{ "sensor", "text NOT NULL" },        { "hour", "bigint NOT NULL" },
	{ "transport", "text NOT NULL" },     { "app", "text NOT NULL" },
	{ "client_ip", "text NOT NULL" },     { "server_ip", "text NOT NULL" },
	{ "server_port", "integer NOT NULL" }, { "ip_version", "integer NOT NULL" },
	{ "vlan", "integer NOT NULL" },       { "tunnel", "text NOT NULL" },
	{ "verdict", "text NOT NULL" },       { "reason", "text NOT NULL" },
	{ "ndpi", "text" },                   { "sessions", "bigint NOT NULL" },
	{ "bytes", "bigint NOT NULL" },       { "ts_first_us", "bigint NOT NULL" },
	{ "ts_last_us", "bigint NOT NULL" },  { "source_id", "integer" },
	{ "client_port", "integer NOT NULL" }, { "pkt_first", "bigint NOT NULL" },
};
const unsigned kx_pg_n_session_cols = sizeof(kx_pg_session_cols) / sizeof(kx_pg_session_cols[0]);

int kx_pg_col_list(const struct kx_pg_col *cols, unsigned n, const char *prefix, char *out,
		   size_t len)
{
	size_t pos = 0;
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(out + pos, len - pos, "%s%s%s", i ? ", " : "", prefix ? prefix : "",
				 cols[i].name);
		if (k < 0 || (size_t)k >= len - pos)
			return -1;
		pos += (size_t)k;
	}
	return 0;
}

bool kx_pg_is_url(const char *s)
{
	if (!s)
		return false;
	if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0)
		return true;
	/* A key=value string starts with a keyword; a file path does not. */
	size_t k = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
	return k > 0 && s[k] == '=' &&
	       (strstr(s, "dbname=") || strstr(s, "host=") || strstr(s, "service="));
}

void kx_pg_redact(const char *url, char *out, size_t len)
{
	char e[8];
	PQconninfoOption *opts = kx_pq_load(e, sizeof(e)) == 0 ? PQconninfoParse(url, NULL) : NULL;
	if (!opts) {
		snprintf(out, len, "postgresql://(unparsable connection string)");
		return;
	}
	const char *user = NULL, *host = NULL, *port = NULL, *db = NULL, *svc = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !o->val[0])
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0 || (!host && strcmp(o->keyword, "hostaddr") == 0))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "service") == 0)
			svc = o->val;
	}
	if (svc)
		snprintf(out, len, "postgresql://?service=%s", svc);
	else
		snprintf(out, len, "postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
			 host ? host : "", port ? ":" : "", port ? port : "", db ? db : "");
	PQconninfoFree(opts);
}

const char *kx_pg_errmsg(PGconn *pg, PGresult *res)
{
	static _Thread_local char buf[512];
	const char *m = res ? PQresultErrorMessage(res) : NULL;
	if (!m || !m[0])
		m = pg ? PQerrorMessage(pg) : "out of memory";
	snprintf(buf, sizeof(buf), "%s", m);
	/* libpq messages end in a newline and may span lines. */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	return buf;
}

static void ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *kx_pg_connect(const char *url, char *err, size_t errlen)
{
	/* Later entries override earlier ones: the URL's own settings win. A
	 * statement timeout and TCP keepalives keep a hung server or a dead
	 * path from stalling the shipper forever (it then retries). */
	const char *const keys[] = { "connect_timeout", "keepalives_idle", "options", "dbname",
				     "fallback_application_name", NULL };
	const char *const vals[] = { "10", "30", "-c statement_timeout=120000", url, "kexwatch",
				     NULL };
	if (kx_pq_load(err, errlen) < 0)
		return NULL;
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (pg && PQstatus(pg) == CONNECTION_OK) {
		/* NOTICEs ("already exists, skipping") are not news for an operator. */
		PQsetNoticeProcessor(pg, ignore_notice, NULL);
		return pg;
	}
	snprintf(err, errlen, "%s", kx_pg_errmsg(pg, NULL));
	PQfinish(pg);
	return NULL;
}

int kx_pg_probe(const char *url, char *err, size_t errlen)
{
	const char *const keys[] = { "connect_timeout", "dbname", NULL };
	char tmo[16];
	snprintf(tmo, sizeof(tmo), "%d", KX_PG_PROBE_S);
	const char *const vals[] = { tmo, url, NULL };
	if (kx_pq_load(err, errlen) < 0)
		return -1;
	switch (PQpingParams(keys, vals, 1)) {
	case PQPING_OK:
	case PQPING_REJECT: /* up, but starting or shutting down: the retries will do */
		return 0;
	case PQPING_NO_ATTEMPT:
		snprintf(err, errlen, "the connection string cannot be used");
		return -1;
	default:
		snprintf(err, errlen, "no answer within %d s (server down, unreachable or "
			 "refusing connections)", KX_PG_PROBE_S);
		return -1;
	}
}

static int exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "%s", kx_pg_errmsg(pg, r));
	PQclear(r);
	return rc;
}

/* The SQLite views in PostgreSQL's dialect, for psql and dashboards that
 * query the central store directly: sum(bool) becomes count(*) FILTER,
 * IS becomes IS NOT DISTINCT FROM, group_concat string_agg in byte order
 * (COLLATE "C", as SQLite's BINARY). Same columns, same values; the test
 * suite compares every view with SQLite's on the same rows. */
/* The SQLite views in PostgreSQL's dialect, for psql and dashboards that
 * query the central store directly: sum(bool) becomes count(*) FILTER,
 * IS becomes IS NOT DISTINCT FROM, group_concat string_agg in byte order
 * (COLLATE "C", as SQLite's BINARY), the timestamp text is formatted from
 * the microseconds as SQLite's views do. Same columns, same values; the
 * test suite compares every view with SQLite's on the same rows. */
#define PG_TS_TEXT(us)                                                                 \
	"to_char(timestamp 'epoch' + (" us ") * interval '1 microsecond',"            \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Handshakes (weight 1) and sessions (weight: their count), as in
 * sqlite_store.c. */
#define PG_LEGS                                                                        \
	"(SELECT server_ip, server_port, sni, client_ip, ts_first_us, ts_last_us,"      \
	" verdict, reason, offers_pq, ch_bytes, 1 AS n, false AS is_session"            \
	" FROM handshakes UNION ALL SELECT server_ip, server_port, NULL, client_ip,"     \
	" ts_first_us, ts_last_us, verdict, nullif(reason, ''), 0, 0, sessions, true"   \
	" FROM sessions)"

#define PG_SESSION_COUNTS                                                              \
	"  coalesce(sum(n) FILTER (WHERE is_session), 0) AS sessions,"                 \
	"  coalesce(sum(n) FILTER (WHERE verdict = 'plaintext'), 0) AS n_plaintext,"   \
	"  coalesce(sum(n) FILTER (WHERE reason = 'handshake-unseen'), 0) AS n_unseen,"

#define PG_VIEW_HOPS                                                                   \
	"CREATE VIEW hops AS SELECT"                                                   \
	" server_ip, server_port, sni, first_seen, last_seen, handshakes, clients,"    \
	" n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq,"                \
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"             \
	" groups_selected, verdict,"                                                   \
	" CASE verdict WHEN 'plaintext' THEN 6 WHEN 'classical (server-declined)' THEN 5" \
	"  WHEN 'classical (clients-no-pq)' THEN 4 WHEN 'classical (offer-unseen)' THEN 4" \
	"  WHEN 'draft-kyber' THEN 3 WHEN 'mixed' THEN 2 WHEN 'unknown' THEN 1"         \
	"  WHEN 'no-verdict' THEN 1 WHEN 'no-verdict (not observed)' THEN 1"            \
	"  ELSE 0 END AS risk,"                                                         \
	" sessions, n_plaintext, n_unseen, n_offer_unseen, n_no_tls, n_starttls_not_offered," \
	" n_starttls_refused, n_ssl_refused, apps"                                     \
	" FROM (SELECT *,"                                                             \
	"  CASE WHEN n_plaintext > 0 THEN 'plaintext'"                                 \
	"  WHEN n_decide = 0 AND n_unseen > 0 THEN 'no-verdict (not observed)'"        \
	"  WHEN n_decide = 0 THEN 'no-verdict'"                                        \
	"  WHEN n_decide = n_unknown THEN 'unknown'"                                   \
	"  WHEN n_hybrid + n_pq = n_decide THEN 'hybrid'"                              \
	"  WHEN n_hybrid_draft > 0 AND n_classical = 0 THEN 'draft-kyber'"             \
	"  WHEN n_classical = n_decide THEN"                                           \
	"   CASE WHEN n_server_declined + n_tls12_offered_pq > 0 THEN 'classical (server-declined)'" \
	"   WHEN n_offer_unseen = n_classical THEN 'classical (offer-unseen)'"         \
	"   ELSE 'classical (clients-no-pq)' END"                                      \
	"  ELSE 'mixed' END AS verdict"                                                \
	" FROM (SELECT server_ip, server_port, sni,"                                   \
	"  " PG_TS_TEXT("min(ts_first_us)") " AS first_seen,"                          \
	"  " PG_TS_TEXT("max(ts_last_us)") " AS last_seen,"                            \
	"  count(*) FILTER (WHERE NOT is_session) AS handshakes,"                      \
	"  count(DISTINCT client_ip) AS clients,"                                      \
	"  count(*) FILTER (WHERE verdict = 'hybrid') AS n_hybrid,"                    \
	"  count(*) FILTER (WHERE verdict = 'pq') AS n_pq,"                            \
	"  count(*) FILTER (WHERE verdict = 'hybrid-draft') AS n_hybrid_draft,"        \
	"  count(*) FILTER (WHERE verdict = 'classical') AS n_classical,"              \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'client-no-pq') AS n_client_no_pq," \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'server-declined') AS n_server_declined," \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'tls12' AND offers_pq <> 0)" \
	"   AS n_tls12_offered_pq,"                                                    \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'tls12') AS n_tls12," \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'offer-unseen') AS n_offer_unseen," \
	"  count(*) FILTER (WHERE verdict = 'resumed') AS n_resumed,"                  \
	"  count(*) FILTER (WHERE verdict = 'incomplete') AS n_incomplete,"            \
	"  count(*) FILTER (WHERE verdict = 'unknown' AND NOT is_session) AS n_unknown," \
	PG_SESSION_COUNTS                                                              \
	"  coalesce(sum(n) FILTER (WHERE verdict = 'plaintext' AND reason = 'no-tls'), 0) AS n_no_tls," \
	"  coalesce(sum(n) FILTER (WHERE verdict = 'plaintext' AND reason = 'starttls-not-offered'), 0)" \
	"   AS n_starttls_not_offered,"                                                \
	"  coalesce(sum(n) FILTER (WHERE verdict = 'plaintext' AND reason = 'starttls-refused'), 0)" \
	"   AS n_starttls_refused,"                                                    \
	"  coalesce(sum(n) FILTER (WHERE verdict = 'plaintext' AND reason = 'ssl-refused'), 0)" \
	"   AS n_ssl_refused,"                                                         \
	"  count(*) FILTER (WHERE verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')" \
	"   AND NOT is_session) AS n_decide,"                                          \
	"  (SELECT string_agg(n, ',' ORDER BY n COLLATE \"C\") FROM"                   \
	"   (SELECT DISTINCT g.group_name AS n FROM handshakes AS g"                   \
	"    WHERE g.server_ip = h.server_ip AND g.server_port = h.server_port"        \
	"    AND g.sni IS NOT DISTINCT FROM h.sni AND g.group_name IS NOT NULL) AS d)" \
	"   AS groups_selected,"                                                       \
	"  (SELECT string_agg(n, ',' ORDER BY n COLLATE \"C\") FROM"                   \
	"   (SELECT DISTINCT a.app AS n FROM sessions AS a"                            \
	"    WHERE a.server_ip = h.server_ip AND a.server_port = h.server_port"        \
	"    AND h.sni IS NULL) AS d) AS apps"                                         \
	"  FROM " PG_LEGS " AS h GROUP BY server_ip, server_port, sni) AS c) AS v;\n"

#define PG_VIEW_CLIENTS                                                                \
	"CREATE VIEW clients AS SELECT client_ip, first_seen, last_seen, handshakes,"  \
	" n_hello, n_offers_pq, n_hello - n_offers_pq AS n_no_pq,"                     \
	" CASE WHEN n_hello = 0 THEN 'no-hello' WHEN n_offers_pq = n_hello THEN 'all'" \
	"  WHEN n_offers_pq = 0 THEN 'none' ELSE 'some' END AS offers_pq,"             \
	" servers, n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq,"       \
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"             \
	" sessions, n_plaintext, n_unseen"                                             \
	" FROM (SELECT client_ip, " PG_TS_TEXT("min(ts_first_us)") " AS first_seen,"   \
	"  " PG_TS_TEXT("max(ts_last_us)") " AS last_seen,"                            \
	"  count(*) FILTER (WHERE NOT is_session) AS handshakes,"                      \
	"  count(*) FILTER (WHERE ch_bytes > 0) AS n_hello,"                           \
	"  count(*) FILTER (WHERE ch_bytes > 0 AND offers_pq <> 0) AS n_offers_pq,"     \
	"  count(DISTINCT server_ip) AS servers,"                                      \
	"  count(*) FILTER (WHERE verdict = 'hybrid') AS n_hybrid,"                    \
	"  count(*) FILTER (WHERE verdict = 'pq') AS n_pq,"                            \
	"  count(*) FILTER (WHERE verdict = 'hybrid-draft') AS n_hybrid_draft,"        \
	"  count(*) FILTER (WHERE verdict = 'classical') AS n_classical,"              \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'client-no-pq') AS n_client_no_pq," \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'server-declined') AS n_server_declined," \
	"  count(*) FILTER (WHERE verdict = 'classical' AND reason = 'tls12') AS n_tls12," \
	"  count(*) FILTER (WHERE verdict = 'resumed') AS n_resumed,"                  \
	"  count(*) FILTER (WHERE verdict = 'incomplete') AS n_incomplete,"            \
	PG_SESSION_COUNTS                                                              \
	"  count(*) FILTER (WHERE verdict = 'unknown' AND NOT is_session) AS n_unknown" \
	"  FROM " PG_LEGS " AS h GROUP BY client_ip) AS c;\n"

#define PG_VIEW_SIZES                                                                  \
	"CREATE VIEW clienthello_sizes AS SELECT band, count(*) AS handshakes,"        \
	" count(*) - count(*) FILTER (WHERE unanswered) - count(*) FILTER (WHERE capacity)" \
	"  AS answered,"                                                               \
	" count(*) FILTER (WHERE unanswered) AS no_server_hello,"                      \
	" count(*) FILTER (WHERE unanswered AND reason = 'rst') AS n_rst,"             \
	" count(*) FILTER (WHERE unanswered AND reason = 'fin') AS n_fin,"             \
	" count(*) FILTER (WHERE unanswered AND reason = 'timeout') AS n_timeout,"     \
	" count(*) FILTER (WHERE unanswered AND reason = 'end-of-capture') AS n_end_of_capture," \
	" count(*) FILTER (WHERE unanswered AND reason = 'gap') AS n_gap,"             \
	" count(*) FILTER (WHERE unanswered AND reason NOT IN ('rst', 'fin', 'timeout'," \
	"  'end-of-capture', 'gap')) AS n_other,"                                      \
	" count(*) FILTER (WHERE first_lost) AS n_first_segment_lost,"                 \
	" count(*) FILTER (WHERE hrr <> 0) AS n_hrr, count(*) FILTER (WHERE slow) AS n_slow," \
	" round(100.0 * count(*) FILTER (WHERE unanswered) / count(*), 1) AS pct_no_server_hello," \
	" count(*) FILTER (WHERE capacity) AS n_capacity"                              \
	" FROM (SELECT *, CASE WHEN greatest(ch_bytes, coalesce(ch2_bytes, 0)) = 0"       \
	"  THEN 'not reassembled'"                                                      \
	"  WHEN greatest(ch_bytes, coalesce(ch2_bytes, 0)) < 1500 THEN '< 1500'"       \
	"  ELSE '>= 1500' END AS band,"                                                \
	"  verdict = 'incomplete' AND reason IS DISTINCT FROM 'capacity' AS unanswered," \
	"  verdict = 'incomplete' AND reason IS NOT DISTINCT FROM 'capacity' AS capacity," \
	"  verdict = 'incomplete' AND reason IS NOT DISTINCT FROM 'gap' AND ch_segments = 0" \
	"   AS first_lost,"                                                            \
	"  coalesce(ch_to_sh_us >= 1000000, false) AS slow FROM handshakes) AS b"      \
	" GROUP BY band;\n"

#define PG_VIEW_SHARE \
	"CREATE VIEW hybrid_share_daily AS SELECT day, handshakes, deciding, n_hybrid, n_pq," \
	" n_hybrid_draft, n_classical, n_unknown, n_resumed, n_incomplete," \
	" CASE WHEN deciding > 0 THEN 1.0 * (n_hybrid + n_pq) / deciding END AS hybrid_share" \
	" FROM (SELECT substr(ts_first, 1, 10) AS day, count(*) AS handshakes," \
	"  count(*) FILTER (WHERE verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown'))" \
	"   AS deciding," \
	"  count(*) FILTER (WHERE verdict = 'hybrid') AS n_hybrid," \
	"  count(*) FILTER (WHERE verdict = 'pq') AS n_pq," \
	"  count(*) FILTER (WHERE verdict = 'hybrid-draft') AS n_hybrid_draft," \
	"  count(*) FILTER (WHERE verdict = 'classical') AS n_classical," \
	"  count(*) FILTER (WHERE verdict = 'unknown') AS n_unknown," \
	"  count(*) FILTER (WHERE verdict = 'resumed') AS n_resumed," \
	"  count(*) FILTER (WHERE verdict = 'incomplete') AS n_incomplete" \
	"  FROM handshakes GROUP BY day) AS d;\n"

#define PG_VIEW_CLASSICAL \
	"CREATE VIEW classical_handshakes AS SELECT ts_first, ts_first_us, sensor, protocol," \
	" client_ip, client_port, server_ip, server_port, sni, version, group_name, reason," \
	" offers_pq, source, pkt_first_ch, pkt_sh" \
	" FROM handshakes WHERE verdict = 'classical';\n"

static const char pg_views[] =
	PG_VIEW_HOPS PG_VIEW_CLIENTS PG_VIEW_SHARE PG_VIEW_SIZES PG_VIEW_CLASSICAL;

static const char pg_drop_views[] =
	"DROP VIEW IF EXISTS hops; DROP VIEW IF EXISTS clients;"
	" DROP VIEW IF EXISTS hybrid_share_daily; DROP VIEW IF EXISTS clienthello_sizes;"
	" DROP VIEW IF EXISTS classical_handshakes";

/* The sessions table of schema 2 and its index (the reports' time range).
 * run_id names a runs row without a foreign key since schema 8: the
 * shipper upserts the run before the rows that name it (see the top). */
static int create_sessions(PGconn *pg, char *err, size_t errlen)
{
	char sql[4096];
	size_t pos = (size_t)snprintf(sql, sizeof(sql),
				      "CREATE TABLE sessions (id bigserial PRIMARY KEY,"
				      " run_id bigint NOT NULL");
	for (unsigned i = 0; i < kx_pg_n_session_cols; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, ", %s %s",
					kx_pg_session_cols[i].name, kx_pg_session_cols[i].pg_type);
	snprintf(sql + pos, sizeof(sql) - pos,
		 ", UNIQUE (sensor, hour, client_ip, server_ip, server_port, transport, app,"
		 " verdict, reason, vlan, tunnel))");
	if (exec_ok(pg, sql, err, errlen) < 0 ||
	    exec_ok(pg, "CREATE INDEX sessions_sensor ON sessions (sensor, ts_first_us)", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* Schema 1 to 2: the new columns at the end of their tables, the sessions
 * table, the views that read it. */
static int migrate_v2(PGconn *pg, char *err, size_t errlen)
{
	if (exec_ok(pg, pg_drop_views, err, errlen) < 0 ||
	    exec_ok(pg, "ALTER TABLE handshakes ADD COLUMN tunnel text,"
			" ADD COLUMN client_hello_seen integer", err, errlen) < 0 ||
	    exec_ok(pg, "ALTER TABLE runs ADD COLUMN capture_first_us bigint,"
			" ADD COLUMN capture_last_us bigint", err, errlen) < 0 ||
	    create_sessions(pg, err, errlen) < 0 || exec_ok(pg, pg_views, err, errlen) < 0 ||
	    exec_ok(pg, "UPDATE kexwatch_meta SET value = '2' WHERE key = 'schema_version'", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* Schema 3 to 4 (the fingerprint columns) and 4/5 to 6 (interface): the
 * columns of kx_pg_hs_cols from `from` on, the views again. */
static int migrate_add_cols(PGconn *pg, unsigned from, char *err, size_t errlen)
{
	char sql[2048];
	size_t pos = (size_t)snprintf(sql, sizeof(sql), "ALTER TABLE handshakes");
	for (unsigned i = from; i < kx_pg_n_hs_cols; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, "%s ADD COLUMN IF NOT EXISTS %s %s",
					i > from ? "," : "", kx_pg_hs_cols[i].name,
					kx_pg_hs_cols[i].pg_type);
	if (pos >= sizeof(sql)) {
		snprintf(err, errlen, "schema %d: statement too long", KX_PG_SCHEMA_VERSION);
		return -1;
	}
	/* The views again: clienthello_sizes selects every column. */
	if (exec_ok(pg, pg_drop_views, err, errlen) < 0 || exec_ok(pg, sql, err, errlen) < 0 ||
	    exec_ok(pg, pg_views, err, errlen) < 0 ||
	    exec_ok(pg, "UPDATE kexwatch_meta SET value = '" KX_STR(KX_PG_SCHEMA_VERSION) "' WHERE key = 'schema_version'", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* The end of every older upgrade: the views again, with the words of
 * schema 5. */
static int migrate_views(PGconn *pg, char *err, size_t errlen)
{
	if (exec_ok(pg, pg_drop_views, err, errlen) < 0 || exec_ok(pg, pg_views, err, errlen) < 0 ||
	    exec_ok(pg, "UPDATE kexwatch_meta SET value = '" KX_STR(KX_PG_SCHEMA_VERSION) "' WHERE key = 'schema_version'", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* Months since year 0 (year * 12 + month - 1) and their first day's
 * microseconds, in UTC: the civil calendar from days since 1970-01-01
 * (proleptic Gregorian, as PostgreSQL's timestamps). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t kx_pg_month_of(int64_t us)
{
	int64_t z = (us >= 0 ? us / 86400000000LL : (us + 1) / 86400000000LL - 1) + 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned m = mp < 10 ? mp + 3 : mp - 9;
	const int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
	return y * 12 + (int64_t)m - 1;
}

int64_t kx_pg_month_start_us(int64_t month)
{
	int64_t y = month >= 0 ? month / 12 : (month - 11) / 12;
	unsigned m = (unsigned)(month - y * 12) + 1;
	return days_from_civil(y, m, 1) * 86400000000LL;
}

/* The partition of one month (schema 3): handshakes_pYYYYMM. Inside the
 * caller's transaction. */
static int create_month(PGconn *pg, int64_t month, char *err, size_t errlen)
{
	char sql[512];
	int64_t y = month >= 0 ? month / 12 : (month - 11) / 12;
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS handshakes_p%04lld%02d PARTITION OF handshakes"
		 " FOR VALUES FROM (%lld) TO (%lld)",
		 (long long)(y < 0 ? 0 : y), (int)(month - y * 12) + 1,
		 (long long)kx_pg_month_start_us(month), (long long)kx_pg_month_start_us(month + 1));
	return exec_ok(pg, sql, err, errlen);
}

int kx_pg_ensure_months(PGconn *pg, const int64_t *months, unsigned n, char *err, size_t errlen)
{
	char e[512];
	/* Its own short transaction, before the batch's: a sensor creating a
	 * month never waits while holding rows of the parent (no deadlock
	 * with another sensor's batch). The lock orders sensors that meet a
	 * new month together. */
	if (exec_ok(pg, "BEGIN", e, sizeof(e)) < 0 ||
	    exec_ok(pg, "SELECT pg_advisory_xact_lock(1801812088)", e, sizeof(e)) < 0)
		goto fail;
	for (unsigned i = 0; i < n; i++)
		if (create_month(pg, months[i], e, sizeof(e)) < 0)
			goto fail;
	if (exec_ok(pg, "COMMIT", e, sizeof(e)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "partitions: %s", e);
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}

/* Schema 3's handshakes: partitioned by range on ts_first_us, one
 * partition per month (created by the shipper before a batch needs it).
 * A unique key of a partitioned table must hold the partition key: the
 * de-duplication key does, and is the primary key (no index on id, one
 * index fewer to maintain per row). No foreign key on run_id (schema 8):
 * the shipper upserts a run before the rows that name it, so the writer
 * keeps that integrity without a check per row. The two other indexes
 * serve the reports: (server_ip, server_port, sni) the hops view's
 * groups_selected per endpoint, (sensor, ts_first_us) a report scoped to
 * one sensor. */
static int create_handshakes(PGconn *pg, char *err, size_t errlen)
{
	char sql[8192];
	size_t pos = (size_t)snprintf(sql, sizeof(sql),
				      "CREATE TABLE handshakes (id bigserial NOT NULL,"
				      " run_id bigint NOT NULL");
	for (unsigned i = 0; i < kx_pg_n_hs_cols; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, ", %s %s", kx_pg_hs_cols[i].name,
					kx_pg_hs_cols[i].pg_type);
	snprintf(sql + pos, sizeof(sql) - pos,
		 ", PRIMARY KEY (ts_first_us, dedup_key)) PARTITION BY RANGE (ts_first_us)");
	if (exec_ok(pg, sql, err, errlen) < 0 ||
	    exec_ok(pg, "CREATE INDEX handshakes_server ON handshakes (server_ip, server_port, sni)",
		    err, errlen) < 0 ||
	    exec_ok(pg, "CREATE INDEX handshakes_sensor ON handshakes (sensor, ts_first_us)", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* Schema 2 to 3: the plain handshakes table becomes the partitioned one.
 * Its rows are copied into monthly partitions (ids kept) in the schema
 * transaction, so readers see the old table or the new one, never half. */
static int migrate_v3(PGconn *pg, char *err, size_t errlen)
{
	char cols[2048], sql[5120];
	if (exec_ok(pg, pg_drop_views, err, errlen) < 0 ||
	    exec_ok(pg, "ALTER TABLE handshakes RENAME TO handshakes_v2;"
			" ALTER TABLE handshakes_v2 RENAME CONSTRAINT handshakes_pkey TO handshakes_v2_pkey;"
			" ALTER INDEX handshakes_server RENAME TO handshakes_v2_server;"
			" ALTER INDEX handshakes_sensor RENAME TO handshakes_v2_sensor;"
			" ALTER SEQUENCE handshakes_id_seq RENAME TO handshakes_v2_id_seq",
		    err, errlen) < 0 ||
	    create_handshakes(pg, err, errlen) < 0)
		return -1;
	PGresult *r = PQexec(pg, "SELECT DISTINCT (extract(year FROM t) * 12 + extract(month FROM t) - 1)::bigint"
				 " FROM (SELECT timestamp 'epoch' + ts_first_us * interval '1 microsecond' AS t"
				 " FROM handshakes_v2) AS s");
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", kx_pg_errmsg(pg, r));
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (create_month(pg, strtoll(PQgetvalue(r, i, 0), NULL, 10), err, errlen) < 0) {
			PQclear(r);
			return -1;
		}
	PQclear(r);
	/* The new table has schema 4's columns already (create_handshakes);
	 * the old rows fill those of schema 3. */
	if (kx_pg_col_list(kx_pg_hs_cols, kx_pg_n_hs_cols_v3, NULL, cols, sizeof(cols)) < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO handshakes (id, run_id, %s) SELECT id, run_id, %s FROM handshakes_v2",
		 cols, cols);
	if (exec_ok(pg, sql, err, errlen) < 0 ||
	    exec_ok(pg, "SELECT setval('handshakes_id_seq',"
			" coalesce((SELECT max(id) FROM handshakes), 0) + 1, false)", err, errlen) < 0 ||
	    exec_ok(pg, "DROP TABLE handshakes_v2", err, errlen) < 0 ||
	    exec_ok(pg, pg_views, err, errlen) < 0 ||
	    exec_ok(pg, "UPDATE kexwatch_meta SET value = '3' WHERE key = 'schema_version'", err,
		    errlen) < 0)
		return -1;
	return 0;
}

/* Schema 1..7 to 8: the foreign keys of handshakes and sessions to runs
 * dropped, whatever their names (a partitioned parent's takes its
 * partitions' with it). */
static int drop_run_fks(PGconn *pg, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass,"
				 " conname) FROM pg_constraint WHERE contype = 'f'"
				 " AND confrelid = 'runs'::regclass"
				 " AND conrelid IN ('handshakes'::regclass, 'sessions'::regclass)"
				 " ORDER BY 1");
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", kx_pg_errmsg(pg, r));
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++)
		if (exec_ok(pg, PQgetvalue(r, i, 0), err, errlen) < 0) {
			PQclear(r);
			return -1;
		}
	PQclear(r);
	return 0;
}

static int create_schema(PGconn *pg, char *err, size_t errlen)
{
	char sql[8192];
	size_t pos;

	pos = (size_t)snprintf(sql, sizeof(sql),
			       "CREATE TABLE runs (id bigserial PRIMARY KEY, local_id bigint NOT NULL");
	for (unsigned i = 0; i < kx_pg_n_run_cols; i++)
		pos += (size_t)snprintf(sql + pos, sizeof(sql) - pos, ", %s %s", kx_pg_run_cols[i].name,
					kx_pg_run_cols[i].pg_type);
	snprintf(sql + pos, sizeof(sql) - pos, ", UNIQUE (sensor, started_us, local_id))");
	if (exec_ok(pg, sql, err, errlen) < 0 ||
	    exec_ok(pg,
		    "CREATE TABLE sources (run_id bigint NOT NULL REFERENCES runs(id),"
		    " source_id integer NOT NULL, name text NOT NULL, PRIMARY KEY (run_id, source_id))",
		    err, errlen) < 0)
		return -1;
	if (create_handshakes(pg, err, errlen) < 0 ||
	    create_sessions(pg, err, errlen) < 0 || exec_ok(pg, pg_views, err, errlen) < 0 ||
	    exec_ok(pg, kx_pg_rollup_schema, err, errlen) < 0)
		return -1;
	return 0;
}

int kx_pg_ensure_schema(PGconn *pg, char *err, size_t errlen)
{
	char e[512];
	int version = 0;

	/* The advisory lock key is "kexw" (the SQLite application_id). */
	if (exec_ok(pg, "BEGIN", e, sizeof(e)) < 0 ||
	    exec_ok(pg, "SELECT pg_advisory_xact_lock(1801812087)", e, sizeof(e)) < 0 ||
	    exec_ok(pg, "CREATE TABLE IF NOT EXISTS kexwatch_meta (key text PRIMARY KEY,"
			" value text NOT NULL)", e, sizeof(e)) < 0)
		goto fail;
	PGresult *r = PQexec(pg, "SELECT value FROM kexwatch_meta WHERE key = 'schema_version'");
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(e, sizeof(e), "%s", kx_pg_errmsg(pg, r));
		PQclear(r);
		goto fail;
	}
	if (PQntuples(r) == 1)
		version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (version > KX_PG_SCHEMA_VERSION) {
		snprintf(e, sizeof(e), "central schema version %d is newer than this kexwatch supports (%d)",
			 version, KX_PG_SCHEMA_VERSION);
		goto fail;
	}
	if (version == 0 &&
	    (create_schema(pg, e, sizeof(e)) < 0 ||
	     exec_ok(pg, "INSERT INTO kexwatch_meta VALUES ('schema_version', '" KX_STR(KX_PG_SCHEMA_VERSION) "')", e, sizeof(e)) < 0))
		goto fail;
	if (version == 1 && migrate_v2(pg, e, sizeof(e)) < 0)
		goto fail;
	/* migrate_v3 creates the table with the latest columns. */
	if (version >= 1 && version <= 2 &&
	    (migrate_v3(pg, e, sizeof(e)) < 0 ||
	     exec_ok(pg, "UPDATE kexwatch_meta SET value = '" KX_STR(KX_PG_SCHEMA_VERSION) "' WHERE key = 'schema_version'", e,
		     sizeof(e)) < 0))
		goto fail;
	if (version == 3 && migrate_add_cols(pg, kx_pg_n_hs_cols_v3, e, sizeof(e)) < 0)
		goto fail;
	if (version >= 4 && version <= 5 &&
	    migrate_add_cols(pg, kx_pg_n_hs_cols_v4, e, sizeof(e)) < 0)
		goto fail;
	if (version >= 1 && version < 7 &&
	    exec_ok(pg, "UPDATE sessions SET verdict = 'no-verdict'"
			" WHERE verdict = 'unknown' AND reason = 'handshake-unseen'", e, sizeof(e)) < 0)
		goto fail;
	if (version >= 1 && version < 8 && drop_run_fks(pg, e, sizeof(e)) < 0)
		goto fail;
	if (version >= 1 && version < 9 &&
	    (exec_ok(pg, "SET LOCAL statement_timeout = 0", e, sizeof(e)) < 0 ||
	     exec_ok(pg, kx_pg_rollup_drop, e, sizeof(e)) < 0 ||
	     exec_ok(pg, kx_pg_rollup_schema, e, sizeof(e)) < 0 ||
	     kx_pg_rollup_add(pg, "handshakes", e, sizeof(e)) < 0))
		goto fail;
	if (version == 9 && exec_ok(pg, kx_pg_rollup_pending_schema, e, sizeof(e)) < 0)
		goto fail;
	if (version >= 9 && version <= 10 &&
	    (exec_ok(pg, "SET LOCAL statement_timeout = 0", e, sizeof(e)) < 0 ||
	     exec_ok(pg, kx_pg_rollup_pair_ids_migrate, e, sizeof(e)) < 0))
		goto fail;
	if (version >= 9 && version <= 11 && kx_pg_rollup_clients_upgrade(pg, e, sizeof(e)) < 0)
		goto fail;
	if (version >= 1 && version < KX_PG_SCHEMA_VERSION && migrate_views(pg, e, sizeof(e)) < 0)
		goto fail;
	if (exec_ok(pg, "COMMIT", e, sizeof(e)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "central schema: %s", e);
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}
