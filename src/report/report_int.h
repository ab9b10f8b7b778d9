/* SPDX-License-Identifier: BSD-2-Clause */
/* report_int.h: what the reports share: the read-only connection, the row
 * filter, the SQL that turns handshake rows into verdict counts, and the
 * table/JSON/CSV printers. Private to src/report/. */
#ifndef KEXWATCH_REPORT_INT_H
#define KEXWATCH_REPORT_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "kexwatch/report.h"
#include "kexwatch/store.h"

/* A read-only connection inside one read transaction, so every query of a
 * report sees the same snapshot while a capture keeps writing. */
struct kx_rdb {
	sqlite3 *db;
	const char *path;   /* for messages: the file, or the redacted central URL */
	char target[256];   /* central store: its redacted URL */
	char snap_dir[64];  /* central store: the temporary snapshot's folder */
	int version;
	bool rolled;        /* kx_legs_rolled, kx_pairs_rolled, kx_tail_pairs exist (schema 12 on) */
	bool rolled_fp;     /* kx_fp_{legs,clients,endpoints}_rolled, kx_cbom_rolled (13) */
	int64_t folded_id;  /* rolled: the rows the rollups hold (id <= folded_id) */
	char *err;
	size_t errlen;
};

/* Opens path SQLITE_OPEN_READONLY with PRAGMA query_only, checks that it is
 * a kexwatch inventory (schema 1 or newer up to this build's), begins the
 * read transaction and registers the report functions (kx_set, kx_group_name,
 * kx_group_family, kx_group_rename, kx_ssh_kex_class). Never creates the file. Returns 0, or -1 with a message
 * in err (r is then closed). */
int kx_rdb_open(struct kx_rdb *r, const char *path, char *err, size_t errlen);

/* kx_rdb_open for a report that reads only the legs its filter selects:
 * a central store is then copied for that scope only (a local file is
 * opened as it is). NULL scope: everything. */
int kx_rdb_open_scoped(struct kx_rdb *r, const char *path, const struct kx_report_filter *scope,
		       char *err, size_t errlen);

void kx_rdb_close(struct kx_rdb *r);

/* For a report that runs its aggregate SQL in PostgreSQL: opens a read-only
 * session on the central store at url (kx_pg_read_open) and, for the answer
 * rows, an in-memory SQLite database r->db with the report functions
 * (kx_set, kx_group_name, ...) registered. Returns 0 (kx_rdb_close r and
 * kx_pg_read_close *pg afterwards), 1 when the report must take the
 * snapshot instead (a schema older than min_version, or a --groups file,
 * whose renaming is SQLite's; nothing is left open), or -1 with the
 * message in err. */
struct kx_pg_read;
int kx_rdb_open_answer(struct kx_rdb *r, const char *url, int min_version,
		       struct kx_pg_read **pg, char *err, size_t errlen);

/* $1 .. $4 of KX_PG_WINDOW for filter f (NULL: everything), as text. */
struct kx_pg_window {
	char since[24], until[24], live[24];
	const char *v[4];
};
void kx_pg_window_params(struct kx_pg_window *w, const struct kx_report_filter *f);

/* kx_rdb_open_answer, then sql (its window $1 .. $4 from f) run in
 * PostgreSQL into the in-memory table kx_answer of r->db, in the answer's
 * order (rowid), and the PostgreSQL session closed. Returns as
 * kx_rdb_open_answer: 0 (kx_rdb_close r afterwards), 1 for the snapshot,
 * or -1 with the message in err (r closed). */
int kx_rdb_pg_answer(struct kx_rdb *r, const char *url, int min_version,
		     const struct kx_report_filter *f, const char *sql, char *err, size_t errlen);

/* Prepares sql and binds the filter's named parameters (:since, :until,
 * :sensor, :live) where the statement has them. Returns NULL with the
 * message in r->err. */
sqlite3_stmt *kx_rdb_prepare(struct kx_rdb *r, const char *sql, const struct kx_report_filter *f);

/* For a report that reads the legs of a short window several times
 * (health: three passes, the HTML page a dozen): copies the legs of
 * scope's time range and sensor once into a temporary table of the
 * connection, indexed by time, and points kx_legs at it, so every later
 * pass reads a few thousand rows in order instead of looking each one up
 * through the time index again. Every query keeps its own filters, so the
 * answers are the same; nothing happens for the full range, for a window
 * of more than KX_RDB_WINDOW_MAX legs (the copy would cost more than it
 * saves, and its temporary file grows with it), for schemas before 5 or
 * with KEXWATCH_WINDOW_COPY=0 (tests compare both). Returns 0 or -1
 * (r->err). */
#define KX_RDB_WINDOW_MAX 400000
int kx_rdb_keep_window(struct kx_rdb *r, const struct kx_report_filter *scope);

/* Keeps the answer of sql (its rows in its order: read them back ORDER BY
 * rowid) as the connection's temporary table `table`, so a page that
 * shows one answer several times computes it once. Only the temp schema
 * is written; the inventory stays read-only. Returns 0 or -1 (r->err). */
int kx_rdb_materialize(struct kx_rdb *r, const char *table, const char *sql,
		       const struct kx_report_filter *f);

/* The same with more named integer parameters bound (names[i] = values[i]). */
int kx_rdb_materialize_with(struct kx_rdb *r, const char *table, const char *sql,
			    const struct kx_report_filter *f, const char *const *names,
			    const int64_t *values, int n);

/* The changes query over r (sqlite3_free it) for the window w and the
 * baseline [bsince, buntil); parameters :since, :until, :bsince, :buntil,
 * :sensor. The baseline's whole days come from the daily rollups when r
 * has them (schema 15), else every leg is read. Its evidence is looked up
 * in the window's legs, which kx_changes_keep_window keeps first. */
char *kx_changes_sql(const struct kx_rdb *r, enum kx_hops_group g,
		     const struct kx_report_filter *w, int64_t bsince, int64_t buntil);

/* Keeps the legs of w's window with a time index (temp.kx_changes_wl),
 * where kx_changes_sql looks its evidence up. Returns 0 or -1 (r->err). */
int kx_changes_keep_window(struct kx_rdb *r, const struct kx_report_filter *w);

/* Records sqlite3_errmsg as the report's error; returns -1. */
int kx_rdb_fail(struct kx_rdb *r);

/* Steps a one-row, one-column integer query; 0 when it yields no row or NULL. */
int kx_rdb_int64(struct kx_rdb *r, const char *sql, const struct kx_report_filter *f,
		 long long *ret);

/* The filtered legs as a common table expression named h: every handshake
 * and every hourly sessions row (see kx_legs in report_db.c: weight n,
 * is_session, app, bytes, source_id besides the handshake columns). A
 * sessions row is in the window when its first session is, as a handshake
 * is by its first ClientHello segment. NOT MATERIALIZED so SQLite can push
 * the range into the indexes that lead with ts_first_us. */
#define KX_SQL_FILTERED KX_SQL_FILTERED_OF("kx_legs")
/* The legs of the rollups: the full range, so only the sensor filters
 * them (a time condition would send SQLite through the time index instead
 * of the tail's rowid range). Without one, kx_legs_rolled_all (schema 16:
 * the rolled-up legs of all sensors together, their sensor NULL), with
 * one its rows of kx_legs_rolled; the arm whose constant condition is
 * false is not read. */
#define KX_SQL_FILTERED_ROLLED                                                       \
	"h AS NOT MATERIALIZED (SELECT * FROM kx_legs_rolled_all WHERE :sensor IS NULL" \
	" UNION ALL SELECT * FROM kx_legs_rolled"                                     \
	" WHERE :sensor IS NOT NULL AND sensor = :sensor)"
/* The same over another view of the legs. */
#define KX_SQL_FILTERED_OF(legs)                                                     \
	"h AS NOT MATERIALIZED (SELECT * FROM " legs                                 \
	" WHERE ts_first_us >= :since AND ts_first_us < :until"                      \
	" AND (:sensor IS NULL OR sensor = :sensor) AND ts_last_us >= :live)"

/* The filtered handshakes alone, every column of the handshakes view
 * (the ClientHello lists, SSH columns), as a CTE named hx. */
#define KX_SQL_FILTERED_HS                                                           \
	"hx AS NOT MATERIALIZED (SELECT * FROM handshakes"                           \
	" WHERE ts_first_us >= :since AND ts_first_us < :until"                      \
	" AND (:sensor IS NULL OR sensor = :sensor) AND ts_last_us >= :live)"

/* Per-verdict counts over the legs of one group, named as in the hops view.
 * Every count is a sum of weights n: 1 for a handshake row, the sessions of
 * an hourly sessions row, the handshakes of a rolled-up leg. handshakes and sessions
 * split the legs; n_plaintext, n_unseen (handshake-unseen) and the
 * plaintext reasons count sessions. n_decide counts the handshakes that
 * decide an endpoint's verdict: sessions do not (plaintext overrides
 * everything, a session whose handshake was not seen says nothing). */
#define KX_SQL_COUNTS KX_SQL_COUNTS_C(" count(DISTINCT client_ip) AS clients,")
/* The same with another column for the distinct clients, or none: a
 * rolled-up leg (kx_legs_rolled) stands for n handshakes of many clients,
 * so the reports that read rollups join their clients from the counters. */
#define KX_SQL_COUNTS_C(CLIENTS)                                                      \
	" " KX_SQL_TS_TEXT("min(ts_first_us)") " AS first_seen,"                      \
	" " KX_SQL_TS_TEXT("max(ts_last_us)") " AS last_seen,"                        \
	" sum(n * (NOT is_session)) AS handshakes," CLIENTS                            \
	" sum(n * (verdict = 'hybrid')) AS n_hybrid, sum(n * (verdict = 'pq')) AS n_pq," \
	" sum(n * (verdict = 'hybrid-draft')) AS n_hybrid_draft,"                     \
	" sum(n * (verdict = 'classical')) AS n_classical,"                           \
	" sum(n * (verdict = 'classical' AND reason IS 'client-no-pq')) AS n_client_no_pq," \
	" sum(n * (verdict = 'classical' AND reason IS 'server-declined')) AS n_server_declined," \
	" sum(n * (verdict = 'classical' AND reason IS 'tls12')) AS n_tls12,"         \
	" sum(n * (verdict = 'classical' AND reason IS 'tls12' AND offers_pq)) AS n_tls12_offered_pq," \
	" sum(n * (verdict = 'classical' AND reason IS 'offer-unseen')) AS n_offer_unseen," \
	" sum(n * (verdict = 'resumed')) AS n_resumed,"                               \
	" sum(n * (verdict = 'incomplete')) AS n_incomplete,"                         \
	" sum(n * (verdict = 'unknown' AND NOT is_session)) AS n_unknown,"            \
	" coalesce(sum(n) FILTER (WHERE is_session), 0) AS sessions,"                \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'), 0)"   \
	"  AS n_plaintext,"                                                          \
	" coalesce(sum(n) FILTER (WHERE is_session AND reason IS 'handshake-unseen'), 0)" \
	"  AS n_unseen,"                                                             \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'"        \
	"  AND reason IS 'no-tls'), 0) AS n_no_tls,"                                 \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'"        \
	"  AND reason IS 'starttls-not-offered'), 0) AS n_starttls_not_offered,"      \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'"        \
	"  AND reason IS 'starttls-refused'), 0) AS n_starttls_refused,"              \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'"        \
	"  AND reason IS 'ssl-refused'), 0) AS n_ssl_refused,"                        \
	" kx_set(app) FILTER (WHERE is_session) AS apps,"                             \
	" sum(n * (verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')" \
	"  AND NOT is_session)) AS n_decide,"

/* The endpoint verdict from those counts: the rules of the hops view in
 * sqlite_store.c, kept equal by test_report.c. Any plaintext session makes
 * an endpoint plaintext, the worst; one with sessions whose handshake was
 * not seen and no deciding handshake is 'no-verdict (not observed)': its
 * key exchange was not observed; one whose handshakes are all resumed or
 * incomplete is 'no-verdict'. 'unknown' is kept for endpoints whose
 * deciding handshakes all chose an unregistered code point (or made key
 * exchange claims that do not hold). Classical handshakes whose
 * ClientHello was not captured (offer-unseen) blame neither side. */
#define KX_SQL_VERDICT                                                               \
	" CASE WHEN n_plaintext > 0 THEN 'plaintext'"                                \
	" WHEN n_decide = 0 AND n_unseen > 0 THEN 'no-verdict (not observed)'"       \
	" WHEN n_decide = 0 THEN 'no-verdict'"                                       \
	" WHEN n_decide = n_unknown THEN 'unknown'"                                  \
	" WHEN n_hybrid + n_pq = n_decide THEN 'hybrid'"                             \
	" WHEN n_hybrid_draft > 0 AND n_classical = 0 THEN 'draft-kyber'"            \
	" WHEN n_classical = n_decide THEN"                                          \
	"  CASE WHEN n_server_declined + n_tls12_offered_pq > 0"                     \
	"  THEN 'classical (server-declined)'"                                       \
	"  WHEN n_offer_unseen = n_classical THEN 'classical (offer-unseen)'"        \
	"  ELSE 'classical (clients-no-pq)' END"                                     \
	" ELSE 'mixed' END"

#define KX_SQL_RISK(v)                                                               \
	" CASE " v " WHEN 'plaintext' THEN 6 WHEN 'classical (server-declined)' THEN 5" \
	" WHEN 'classical (clients-no-pq)' THEN 4 WHEN 'classical (offer-unseen)' THEN 4" \
	" WHEN 'draft-kyber' THEN 3 WHEN 'mixed' THEN 2 WHEN 'unknown' THEN 1"       \
	" WHEN 'no-verdict' THEN 1 WHEN 'no-verdict (not observed)' THEN 1 ELSE 0 END"

/* --- the reports that run in PostgreSQL (hops, clients, health) --- */

/* The legs of kx_legs (report_db.c) in the central store, filtered as
 * KX_SQL_FILTERED filters them; $1 since, $2 until, $3 sensor (NULL: all),
 * $4 live, all bound.  */
#define KX_PG_WINDOW                                                                      \
	" WHERE ts_first_us >= $1::bigint AND ts_first_us < $2::bigint"                 \
	" AND ($3::text IS NULL OR sensor = $3::text) AND ts_last_us >= $4::bigint"
/* kx_set(x): the distinct values in byte order, comma-joined, NULL for none. */
#define KX_PG_SET(x) "string_agg(DISTINCT " x " COLLATE \"C\", ',' ORDER BY " x " COLLATE \"C\")"
/* The distinct values of x in byte order as an array (NULLs left out),
 * which KX_PG_SET_FIRST turns into kx_set(x, n)'s text. */
#define KX_PG_ARRAY(x)                                                                    \
	"array_agg(DISTINCT " x " COLLATE \"C\" ORDER BY " x " COLLATE \"C\")"          \
	" FILTER (WHERE " x " IS NOT NULL)"
/* kx_set(x, n): the first n values, comma-joined, and " +N" for the rest. */
#define KX_PG_SET_FIRST(a, n)                                                              \
	"array_to_string(" a "[1:" #n "], ',') || CASE WHEN cardinality(" a ") > " #n     \
	" THEN ' +' || (cardinality(" a ") - " #n ") ELSE '' END"

#define KX_PG_COUNT(cond) "count(*) FILTER (WHERE " cond ")"
#define KX_PG_SUM_N(cond) "coalesce(sum(n) FILTER (WHERE " cond "), 0)::bigint"

/* KX_SQL_COUNTS in PostgreSQL's words: sum(bool) is count(*) FILTER, IS
 * against a literal is = inside a FILTER, the sums of weights bigint. */
#define KX_PG_COUNTS KX_PG_COUNTS_OF(KX_PG_COUNT, " count(DISTINCT client_ip) AS clients,")
/* The same with COUNT(cond) for the counts of handshakes (KX_PG_SUM_N over
 * the rollups' legs, whose weight n is their handshakes) and CLIENTS for
 * the distinct clients, or none (the rollups join them). */
#define KX_PG_COUNTS_OF(COUNT, CLIENTS)                                                   \
	" " KX_PG_TS_TEXT("min(ts_first_us)") " AS first_seen,"                            \
	" " KX_PG_TS_TEXT("max(ts_last_us)") " AS last_seen,"                              \
	" " COUNT("NOT is_session") " AS handshakes,"                                \
	CLIENTS                                                                         \
	" " COUNT("verdict = 'hybrid'") " AS n_hybrid,"                              \
	" " COUNT("verdict = 'pq'") " AS n_pq,"                                      \
	" " COUNT("verdict = 'hybrid-draft'") " AS n_hybrid_draft,"                  \
	" " COUNT("verdict = 'classical'") " AS n_classical,"                        \
	" " COUNT("verdict = 'classical' AND reason = 'client-no-pq'") " AS n_client_no_pq," \
	" " COUNT("verdict = 'classical' AND reason = 'server-declined'")            \
	" AS n_server_declined,"                                                        \
	" " COUNT("verdict = 'classical' AND reason = 'tls12'") " AS n_tls12,"       \
	" " COUNT("verdict = 'classical' AND reason = 'tls12' AND offers_pq <> 0")   \
	" AS n_tls12_offered_pq,"                                                       \
	" " COUNT("verdict = 'classical' AND reason = 'offer-unseen'") " AS n_offer_unseen," \
	" " COUNT("verdict = 'resumed'") " AS n_resumed,"                            \
	" " COUNT("verdict = 'incomplete'") " AS n_incomplete,"                      \
	" " COUNT("verdict = 'unknown' AND NOT is_session") " AS n_unknown,"         \
	" " KX_PG_SUM_N("is_session") " AS sessions,"                                      \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext'") " AS n_plaintext,"         \
	" " KX_PG_SUM_N("is_session AND reason = 'handshake-unseen'") " AS n_unseen,"      \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext' AND reason = 'no-tls'")      \
	" AS n_no_tls,"                                                                 \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext' AND reason = 'starttls-not-offered'") \
	" AS n_starttls_not_offered,"                                                   \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext' AND reason = 'starttls-refused'") \
	" AS n_starttls_refused,"                                                       \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext' AND reason = 'ssl-refused'") \
	" AS n_ssl_refused,"                                                            \
	" " KX_PG_SET("app") " FILTER (WHERE is_session) AS apps,"                         \
	" " COUNT("verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')" \
		     " AND NOT is_session") " AS n_decide,"

/* SQLite's KX_SQL_TS_TEXT: microseconds as 2026-01-02T03:04:05.123456Z. */
#define KX_PG_TS_TEXT(us)                                                                 \
	"CASE WHEN " us " BETWEEN 0 AND 253402300799999999 THEN to_char(timestamp 'epoch'" \
	" + (" us ") * interval '1 microsecond', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"   \
	" ELSE 'invalid' END"

/* The fingerprint columns a report selects from hx (ja4, kx_fp, hassh,
 * offers_mldsa): the view's (schema 7) or NULLs for an older file, which a
 * report reads as it is (fingerprints.c). */
extern const char kx_fp_cols_v7[], kx_fp_cols_none[];

/* The fingerprints report's query for r and the filter f (sqlite3_free
 * it): over the fingerprint rollups for the full range of a schema 13
 * file, else over the rows; table: with the shortened columns of the
 * table. */
char *kx_fingerprints_sql(const struct kx_rdb *r, const struct kx_report_filter *f,
			  bool table);

/* The hops query of kx_report_hops_with (sqlite3_free it): with table,
 * the extra columns n_other and last_seen_s. */
/* rolled: read kx_legs_rolled (kx_rdb.rolled, full range only). */
char *kx_hops_sql(const struct kx_hops_opts *o, bool table, bool rolled);
/* The clients query (kx_clients_sql or its rollups twin) for filter f
 * (NULL: everything), with the table's columns when table. */
char *kx_clients_sql_for(const struct kx_rdb *r, const struct kx_report_filter *f, bool table);
/* Whether a report over filter f on r may read the rollups: they are
 * all-time, so only when no --since, --until or --live narrows it. */
bool kx_rdb_full_range(const struct kx_rdb *r, const struct kx_report_filter *f);

/* The same query in PostgreSQL's dialect for a central store (schema 7):
 * parameters $1 since, $2 until, $3 sensor (NULL: all), $4 live, bound as
 * text; the same columns, values and order (hops.c). */
char *kx_hops_pg_sql(const struct kx_hops_opts *o, bool table);
/* The same over the full range from the central rollups and the rows
 * pending for them (schema 10), $1
 * the sensor; NULL for --group-by pair (raw rows only) or out of memory. */
char *kx_hops_pg_rolled_sql(const struct kx_hops_opts *o, bool table);
/* The per-report answers computed in PostgreSQL over an open session pg
 * (kx_rdb_open_answer) into in-memory tables of r->db, for a page that
 * shows several of them (html.c); each returns 0 or -1 with the message
 * in err, and leaves r and pg open. hops: o's answer in table name. */
int kx_hops_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_hops_opts *o,
		    bool table, const char *name, char *err, size_t errlen);
/* clients: tables kx_answer and kx_offers, *ret reads them as the local
 * query's rows; with into, those rows become the temporary table into
 * instead (kx_answer and kx_offers dropped). */
int kx_clients_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_report_filter *f,
		       bool table, const char *into, sqlite3_stmt **ret, char *err, size_t errlen);
/* changes: table kx_answer, *ret reads it as the local query's rows. */
int kx_changes_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_changes_opts *o,
		       sqlite3_stmt **ret, char *err, size_t errlen);
/* health: tables kx_bands, kx_hops and kx_runs; kx_health_pg_bands_sql
 * reads the bands as kx_health_bands_sql's rows, kx_health_pg_findings
 * judges the hops as kx_health_findings does. */
int kx_health_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_report_filter *f,
		      char *err, size_t errlen);
extern const char kx_health_pg_bands_sql[];
/* The fingerprints query in PostgreSQL, a format with one %s (the table's
 * extra columns, or ""); $1 .. $4 as KX_PG_WINDOW. */
extern const char kx_fingerprints_pg_sql[];
/* KEXWATCH_ROLLUPS=0: the central reports read the raw rows, to check
 * the rollups (as create_rolled does for SQLite). */
bool kx_pg_rollups_off(void);

/* Health findings of the filtered handshakes, most severe first. */
enum kx_severity { KX_SEV_ERROR, KX_SEV_WARNING, KX_SEV_INFO };

struct kx_finding {
	enum kx_severity sev;
	const char *kind;   /* "large-clienthello-unanswered", ... */
	char *server_ip;
	long long server_port, count;
	char *text;
	size_t seq;         /* order found */
};

struct kx_findings {
	struct kx_finding *v;
	size_t n, cap;
	bool oom;
};

int kx_health_findings(struct kx_rdb *r, const struct kx_report_filter *f, struct kx_findings *fs);
int kx_health_pg_findings(struct kx_rdb *r, struct kx_findings *fs);
void kx_findings_free(struct kx_findings *fs);
const char *kx_severity_name(enum kx_severity sev);

/* The clients query, a format with two %s: kx_clients_ssh_sql on schema 2
 * files (else ""), then extra result columns. */
extern const char kx_clients_sql[];
extern const char kx_clients_ssh_sql[];

/* The size-band rows of the health report. */
extern const char kx_health_bands_sql[];
/* kx_health_bands_sql, or its rollups twin when filter f (NULL: all) may
 * read them. */
const char *kx_health_bands_sql_for(const struct kx_rdb *r, const struct kx_report_filter *f);

/* One column of a table: the result column it shows (by name), its
 * heading, and whether it is right-aligned. */
struct kx_col {
	const char *name;
	const char *head;
	bool num;
};

/* Prints every row of s: as an aligned table of the columns in cols (when
 * cols is NULL, of every column, headed by its name, numbers right-aligned),
 * as a JSON array of objects or as RFC 4180 CSV with every column. Steps s
 * twice for a table (widths first). Returns SQLITE_DONE or an error code. */
int kx_rdb_print(sqlite3_stmt *s, enum kx_out_format fmt, const struct kx_col *cols,
		 size_t n_cols, FILE *out);

/* kx_rdb_print under the options of kx_table_configure (table.c): drop
 * names the result columns a terminal too narrow for the table loses
 * first, in that order (NULL-terminated; NULL: none). An unknown --columns
 * name returns SQLITE_ERROR with kx_table_error() set. */
int kx_table_print(sqlite3_stmt *s, enum kx_out_format fmt, const struct kx_col *cols,
		   size_t n_cols, const char *const *drop, FILE *out);

/* Terminal-safe text: control bytes print as \xNN. Width counts code points. */
size_t kx_cell_width(const char *s);
void kx_cell_print(FILE *out, const char *s);
void kx_cell_pad(FILE *out, size_t n);
/* v in decimal into buf (NUL-terminated, cut to len - 1 bytes), as "%lld"
 * prints it; returns the bytes written. */
size_t kx_i64_text(long long v, char *buf, size_t len);

/* RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
void kx_csv_field(FILE *out, const char *v);

/* JSON of one result column: number, string or null (blobs as hex strings). */
void kx_json_column(sqlite3_stmt *s, int col, FILE *out);

/* Text with &, <, >, " and ' as entities, for HTML text and attributes. */
void kx_html_puts(FILE *out, const char *s);

/* Ends a report: flushes out and turns a write error into a message. */
int kx_rdb_finish_output(struct kx_rdb *r, FILE *out);

/* The usual end of a report: kx_table_print, then kx_rdb_finish_output;
 * 0, or -1 with the message in r. */
int kx_rdb_output(struct kx_rdb *r, sqlite3_stmt *s, enum kx_out_format fmt,
		  const struct kx_col *cols, size_t n_cols, const char *const *drop, FILE *out);

#endif
