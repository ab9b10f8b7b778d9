/* SPDX-License-Identifier: BSD-2-Clause */
/* fingerprints.c: one line per client software: JA4 + key-exchange suffix
 * (kx_fp) for TLS, QUIC and DTLS, HASSH + kex list for SSH. Which software
 * is classical-only, and how many clients and endpoints run it: the
 * fingerprints that offer no post-quantum group and have the most clients
 * come first.
 *
 * Only handshakes whose ClientHello (client KEXINIT) was parsed carry a
 * fingerprint; rows stored before schema 7 have none (kexwatch does not
 * re-derive them) and are left out. A suspect handshake is one judged
 * unknown because a key share's size does not fit its group or the
 * selection / listing breaks RFC 8446 section 4.2.8.
 *
 * On a central store (schema 4 on: the fingerprint columns) the same query
 * in PostgreSQL's dialect runs there and only its answer rows come back.
 */
#include "report_int.h"

#include <string.h>

#include "kexwatch/central.h"

/* The fingerprint columns of hx, or NULLs for a file older than schema 7
 * (read-only: it is not upgraded by a report). */
const char kx_fp_cols_v7[] = "ja4, kx_fp, hassh, offers_mldsa";
const char kx_fp_cols_none[] =
	"NULL AS ja4, NULL AS kx_fp, NULL AS hassh, NULL AS offers_mldsa";

/* The counts of a group of legs in either engine's words: SUM(cond) a
 * count of the handshakes where cond holds (NULL where it holds for none
 * and is unknown for one, as SQLite's sum of booleans), N the handshakes,
 * SET(x) kx_set(x), TS KX_SQL_TS_TEXT. */
#define FP_COUNTS(SUM, N, SET, TS)                                                     \
	"  " SET("protocol") " AS protocols, " N " AS handshakes,"                      \
	"  CASE WHEN max(offers_pq) > 0 THEN 'yes' ELSE 'no' END AS offers_pq,"         \
	"  CASE WHEN max(offers_mldsa) > 0 THEN 'yes' ELSE 'no' END AS offers_mldsa,"   \
	"  " SUM("verdict = 'hybrid'") " AS n_hybrid, " SUM("verdict = 'pq'") " AS n_pq," \
	"  " SUM("verdict = 'hybrid-draft'") " AS n_hybrid_draft,"                      \
	"  " SUM("verdict = 'classical'") " AS n_classical,"                            \
	"  " SUM("verdict = 'resumed'") " AS n_resumed,"                                \
	"  " SUM("verdict = 'incomplete'") " AS n_incomplete,"                          \
	"  " SUM("verdict = 'unknown'") " AS n_unknown,"                                \
	"  " SUM("verdict = 'unknown' AND reason IN ('share-size', 'group-not-offered',"  \
		 " 'share-not-in-groups')") " AS n_suspect,"                            \
	"  " TS("min(ts_first_us)") " AS first_seen,"                                   \
	"  " TS("max(ts_last_us)") " AS last_seen"

/* The answer from g (a line per kind, fingerprint, kx_fp with the counts,
 * clients, endpoints and sample_snis): SNIS_S the sample_snis text, C the
 * collation that makes text sort by bytes; then %s for the table's
 * columns. */
#define FP_ANSWER(SNIS_S, C)                                                           \
	" SELECT kind, fingerprint, kx_fp, protocols, clients, endpoints, handshakes, offers_pq," \
	" offers_mldsa, n_hybrid, n_pq, n_hybrid_draft, n_classical, n_resumed, n_incomplete," \
	" n_unknown, n_suspect, first_seen, last_seen, " SNIS_S "%s"                    \
	" FROM g ORDER BY offers_pq = 'no' DESC, clients DESC, handshakes DESC,"        \
	" fingerprint" C ", kx_fp" C

/* The query over the rows, in either engine's words: HX the filtered
 * handshakes with the fingerprint columns (%s in SQLite) as fx, SNIS the
 * aggregate of the SNIs and the rest as above. */
#define FINGERPRINTS_SQL(HX, SUM, SET, TS, SNIS, SNIS_S, C)                           \
	"WITH " HX ","                                                                \
	" f AS (SELECT CASE WHEN protocol = 'ssh' THEN 'hassh' ELSE 'ja4' END AS kind,"  \
	"  CASE WHEN protocol = 'ssh' THEN hassh ELSE ja4 END AS fingerprint, * FROM fx" \
	"  WHERE CASE WHEN protocol = 'ssh' THEN hassh ELSE ja4 END IS NOT NULL),"      \
	" g AS (SELECT kind, fingerprint, coalesce(kx_fp, '') AS kx_fp,"                \
	FP_COUNTS(SUM, "count(*)", SET, TS) ","                                         \
	"  count(DISTINCT client_ip) AS clients,"                                       \
	"  count(DISTINCT server_ip || ' ' || server_port || ' ' || coalesce(sni, '')) AS endpoints," \
	"  " SNIS                                                                       \
	"  FROM f GROUP BY kind, fingerprint, coalesce(kx_fp, ''))" FP_ANSWER(SNIS_S, C)

#define SQLITE_SUM(cond) "sum(" cond ")"
#define SQLITE_SET(x) "kx_set(" x ")"
#define PG_SUM(cond) "sum((" cond ")::int)"
#define PG_TS(us) KX_PG_TS_TEXT(us)

static const char fingerprints_sql[] = FINGERPRINTS_SQL(
	KX_SQL_FILTERED_HS ", fx AS (SELECT client_ip, server_ip, server_port, sni, protocol,"
	" verdict, reason, offers_pq, ts_first_us, ts_last_us, %s FROM hx)",
	SQLITE_SUM, SQLITE_SET, KX_SQL_TS_TEXT, "kx_set(sni, 3) AS sample_snis", "sample_snis", "");

/* The same in PostgreSQL (central schema 4 on: the fingerprint columns). */
#define PG_FINGERPRINTS_MIN_SCHEMA 4

const char kx_fingerprints_pg_sql[] = FINGERPRINTS_SQL(
	"fx AS (SELECT client_ip, server_ip, server_port, sni, protocol, verdict, reason,"
	" offers_pq, ts_first_us, ts_last_us, ja4, kx_fp, hassh, offers_mldsa FROM handshakes"
	KX_PG_WINDOW ")",
	PG_SUM, KX_PG_SET, PG_TS, KX_PG_ARRAY("sni") " AS sni_a",
	KX_PG_SET_FIRST("sni_a", 3) " AS sample_snis", " COLLATE \"C\"");

/* Over the SQLite rollups (schema 13, full range): the legs, clients and
 * endpoints of each fingerprint set (report_db.c's kx_fp_*_rolled, rows
 * not folded yet included), grouped by what the set's JA4 or HASSH and
 * suffix are; a rolled-up leg counts n handshakes. P is the row's
 * protocol, F the fingerprints set. */
#define FP_KIND(P) "CASE WHEN " P " = 'ssh' THEN 'hassh' ELSE 'ja4' END"
#define FP_PRINT(P, F)                                                                 \
	"CASE WHEN " P " = 'ssh' THEN nullif(" F ".hassh, '') ELSE nullif(" F ".ja4, '') END"
#define FP_KEY(P, F) FP_KIND(P) " AS kind, " FP_PRINT(P, F) " AS fingerprint, " F ".kx_fp AS kx_fp"
#define FP_SENSOR " AND (:sensor IS NULL OR x.sensor = :sensor)"
#define ROLLED_SUM(cond) "sum(n * (" cond "))"
/* A rolled view's rows: over all sensors its _all twin (schema 16, the
 * sensor dropped), else the sensor's rows (report_db.c). */
#define FP_ROWS(VIEW)                                                                  \
	"(SELECT * FROM " VIEW "_all WHERE :sensor IS NULL UNION ALL SELECT * FROM " VIEW \
	" WHERE :sensor IS NOT NULL AND sensor = :sensor)"
static const char fingerprints_rolled_sql[] =
	"WITH l AS (SELECT " FP_KEY("x.protocol", "fp") ", x.protocol, x.verdict,"
	"  nullif(x.reason, '') AS reason, x.offers_pq, fp.offers_mldsa, x.n,"
	"  x.first_us AS ts_first_us, x.last_us AS ts_last_us"
	"  FROM kx_fp_legs_rolled AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR "),"
	" gl AS (SELECT kind, fingerprint, kx_fp,"
	FP_COUNTS(ROLLED_SUM, "sum(n)", SQLITE_SET, KX_SQL_TS_TEXT) " FROM l GROUP BY 1, 2, 3),"
	" gc AS (SELECT " FP_KEY("x.protocol", "fp") ", count(DISTINCT x.client_ip) AS clients"
	"  FROM " FP_ROWS("kx_fp_clients_rolled") " AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR " GROUP BY 1, 2, 3),"
	" ge AS (SELECT " FP_KEY("x.protocol", "fp") ","
	"  count(DISTINCT x.server_ip || ' ' || x.server_port || ' ' || x.sni) AS endpoints,"
	"  kx_set(nullif(x.sni, ''), 3) AS sample_snis"
	"  FROM " FP_ROWS("kx_fp_endpoints_rolled") " AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR " GROUP BY 1, 2, 3),"
	" g AS (SELECT * FROM gl JOIN gc USING (kind, fingerprint, kx_fp)"
	"  JOIN ge USING (kind, fingerprint, kx_fp))" FP_ANSWER("sample_snis", "");

/* The table's columns: SSH kex lists run to 400 characters, the JSON and
 * CSV carry them whole. */
static const char table_extra[] =
	", CASE WHEN length(kx_fp) > 60 THEN substr(kx_fp, 1, 57) || '...'"
	" ELSE kx_fp END AS kx_fp_s,"
	" substr(first_seen, 1, 19) || 'Z' AS first_seen_s,"
	" substr(last_seen, 1, 19) || 'Z' AS last_seen_s";

static const struct kx_col table_cols[] = {
	{ "fingerprint", "FINGERPRINT", false }, { "kx_fp_s", "KEY EXCHANGE", false },
	{ "protocols", "PROTO", false },         { "clients", "CLIENTS", true },
	{ "endpoints", "ENDPOINTS", true },      { "handshakes", "HANDSHAKES", true },
	{ "offers_pq", "PQ", false },            { "offers_mldsa", "ML-DSA", false },
	{ "n_classical", "CLASSICAL", true },    { "n_hybrid", "HYBRID", true },
	{ "n_unknown", "UNKNOWN", true },        { "n_suspect", "SUSPECT", true },
	{ "first_seen_s", "FIRST SEEN", false }, { "last_seen_s", "LAST SEEN", false },
	{ "sample_snis", "SNI (SAMPLE)", false },
};

/* What a narrow terminal loses first. */
static const char *const narrow_drop[] = {
	"first_seen_s", "last_seen_s", "offers_mldsa", "n_suspect", "n_unknown", "endpoints",
	"protocols", "sample_snis", NULL,
};

char *kx_fingerprints_sql(const struct kx_rdb *r, const struct kx_report_filter *f,
			  bool table)
{
	struct kx_report_filter all;

	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	if (r->rolled_fp && kx_rdb_full_range(r, f))
		return sqlite3_mprintf(fingerprints_rolled_sql, table ? table_extra : "");
	return sqlite3_mprintf(fingerprints_sql, r->version >= 7 ? kx_fp_cols_v7 : kx_fp_cols_none,
			       table ? table_extra : "");
}

int kx_report_fingerprints(const char *db_path, const struct kx_report_filter *f,
			   enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_rdb r;
	sqlite3_stmt *s = NULL;
	char *sql;
	int rc = -1;

	if (kx_pg_is_url(db_path)) {
		/* The aggregation in PostgreSQL, only its answer back; an older
		 * store, or a --groups file, goes through the snapshot. */
		sql = sqlite3_mprintf(kx_fingerprints_pg_sql, fmt == KX_OUT_TABLE ? table_extra : "");
		if (!sql) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		int c = kx_rdb_pg_answer(&r, db_path, PG_FINGERPRINTS_MIN_SCHEMA, f, sql, err, errlen);
		sqlite3_free(sql);
		sql = NULL;
		if (c < 0)
			return -1;
		if (c == 0) {
			if (!(s = kx_rdb_prepare(&r, "SELECT * FROM kx_answer ORDER BY rowid", NULL)))
				goto out;
			goto print;
		}
	}
	if (kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	sql = kx_fingerprints_sql(&r, f, fmt == KX_OUT_TABLE);
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!(s = kx_rdb_prepare(&r, sql, f)))
		goto out;
print:
	rc = kx_rdb_output(&r, s, fmt, table_cols, sizeof(table_cols) / sizeof(table_cols[0]),
			   narrow_drop, out);
out:
	sqlite3_free(sql);
	sqlite3_finalize(s);
	kx_rdb_close(&r);
	return rc;
}
