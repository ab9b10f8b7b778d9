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
 * On a central store (schema 4 on: the fingerprint columns) the query over
 * the rows runs in PostgreSQL's dialect there and only its answer rows
 * come back (no snapshot).
 */
#include "report_int.h"

#include <string.h>

#include "kexwatch/central.h"

/* The fingerprint columns of hx, or NULLs for a file older than schema 7
 * (read-only: it is not upgraded by a report). */
const char kx_fp_cols_v7[] = "ja4, kx_fp, hassh, offers_mldsa";
const char kx_fp_cols_none[] =
	"NULL AS ja4, NULL AS kx_fp, NULL AS hassh, NULL AS offers_mldsa";

/* Per group of legs: protocols, handshakes (weight n: 1 for a raw row,
 * the handshakes of a rolled-up leg), whether any offered PQ or ML-DSA,
 * the verdicts, first and last time. In either engine's words: SUM_N(cond)
 * the weight of the legs where cond holds (NULL where it holds for none
 * and is unknown for one, as SQLite's n * NULL), SET kx_set, TS
 * KX_SQL_TS_TEXT. */
#define FP_COUNTS_OF(SUM_N, SET, TS)                                                   \
	" " SET("protocol") " AS protocols, sum(n) AS handshakes,"                     \
	" CASE WHEN max(offers_pq) > 0 THEN 'yes' ELSE 'no' END AS offers_pq,"          \
	" CASE WHEN max(offers_mldsa) > 0 THEN 'yes' ELSE 'no' END AS offers_mldsa,"    \
	" " SUM_N("verdict = 'hybrid'") " AS n_hybrid, " SUM_N("verdict = 'pq'") " AS n_pq," \
	" " SUM_N("verdict = 'hybrid-draft'") " AS n_hybrid_draft,"                   \
	" " SUM_N("verdict = 'classical'") " AS n_classical,"                          \
	" " SUM_N("verdict = 'resumed'") " AS n_resumed,"                              \
	" " SUM_N("verdict = 'incomplete'") " AS n_incomplete,"                        \
	" " SUM_N("verdict = 'unknown'") " AS n_unknown,"                              \
	" " SUM_N("verdict = 'unknown' AND reason IN ('share-size', 'group-not-offered'," \
		  " 'share-not-in-groups')") " AS n_suspect,"                            \
	" " TS("min(first_us)") " AS first_seen,"                                      \
	" " TS("max(last_us)") " AS last_seen"
#define FP_SQLITE_SUM_N(cond) "sum(n * (" cond "))"
#define FP_SQLITE_SET(x) "kx_set(" x ")"
#define FP_PG_SUM_N(cond) "sum(n * (" cond ")::int)"
#define FP_PG_TS(us) KX_PG_TS_TEXT(us)
#define FP_COUNTS FP_COUNTS_OF(FP_SQLITE_SUM_N, FP_SQLITE_SET, KX_SQL_TS_TEXT)

/* What a line is: SSH software by HASSH, the rest by JA4, each with its
 * key-exchange suffix; P is the row's protocol, F the fingerprints set. */
#define FP_KIND(P) "CASE WHEN " P " = 'ssh' THEN 'hassh' ELSE 'ja4' END"
#define FP_PRINT(P, F)                                                                 \
	"CASE WHEN " P " = 'ssh' THEN nullif(" F ".hassh, '') ELSE nullif(" F ".ja4, '') END"
#define FP_KEY(P, F) FP_KIND(P) " AS kind, " FP_PRINT(P, F) " AS fingerprint, " F ".kx_fp AS kx_fp"

/* The answer from g: SNIS the sample_snis column, C the collation that
 * sorts text by bytes (PostgreSQL's "C"; SQLite's default). */
#define FP_ANSWER_OF(SNIS, C)                                                          \
	" SELECT kind, fingerprint, kx_fp, protocols, clients, endpoints, handshakes, offers_pq," \
	" offers_mldsa, n_hybrid, n_pq, n_hybrid_draft, n_classical, n_resumed, n_incomplete," \
	" n_unknown, n_suspect, first_seen, last_seen, " SNIS "%s"                     \
	" FROM g ORDER BY offers_pq = 'no' DESC, clients DESC, handshakes DESC,"       \
	" fingerprint" C ", kx_fp" C
#define FP_ANSWER FP_ANSWER_OF("sample_snis", "")

/* Over the rows: FX the window's handshakes with the fingerprint columns
 * (%s in SQLite), COUNTS FP_COUNTS, SNIS the aggregate of the SNIs and
 * ANSWER FP_ANSWER, each in one engine's words. */
#define FP_ROWS_SQL(FX, COUNTS, SNIS, ANSWER)                                          \
	"WITH " FX ","                                                                 \
	" f AS (SELECT " FP_KIND("protocol") " AS kind,"                               \
	"  CASE WHEN protocol = 'ssh' THEN hassh ELSE ja4 END AS fingerprint, * FROM fx" \
	"  WHERE CASE WHEN protocol = 'ssh' THEN hassh ELSE ja4 END IS NOT NULL),"     \
	" g AS (SELECT kind, fingerprint, coalesce(kx_fp, '') AS kx_fp," COUNTS ","     \
	"  count(DISTINCT client_ip) AS clients,"                                      \
	"  count(DISTINCT server_ip || ' ' || server_port || ' ' || coalesce(sni, '')) AS endpoints," \
	"  " SNIS                                                                      \
	"  FROM f GROUP BY kind, fingerprint, coalesce(kx_fp, ''))" ANSWER
#define FP_FX_COLS                                                                     \
	"client_ip, server_ip, server_port, sni, protocol, verdict, reason, offers_pq,"  \
	" ts_first_us AS first_us, ts_last_us AS last_us, 1 AS n"

static const char fingerprints_sql[] = FP_ROWS_SQL(
	KX_SQL_FILTERED_HS ", fx AS (SELECT " FP_FX_COLS ", %s FROM hx)", FP_COUNTS,
	"kx_set(sni, 3) AS sample_snis", FP_ANSWER);

/* The same in PostgreSQL, over the central store's rows (schema 4 on: the
 * fingerprint columns; the window as KX_PG_WINDOW binds it). */
#define PG_FINGERPRINTS_MIN_SCHEMA 4

static const char pg_fingerprints_sql[] = FP_ROWS_SQL(
	"fx AS (SELECT " FP_FX_COLS ", ja4, kx_fp, hassh, offers_mldsa FROM handshakes"
	KX_PG_WINDOW ")",
	FP_COUNTS_OF(FP_PG_SUM_N, KX_PG_SET, FP_PG_TS), KX_PG_ARRAY("sni") " AS sni_a",
	FP_ANSWER_OF(KX_PG_SET_FIRST("sni_a", 3) " AS sample_snis", " COLLATE \"C\""));

/* Over the rollups (schema 13, full range): the legs, clients and
 * endpoints of each fingerprint set (report_db.c's kx_fp_*_rolled, rows
 * not folded yet included), grouped by what the set's JA4 or HASSH and
 * suffix are. */
#define FP_SENSOR " AND (:sensor IS NULL OR x.sensor = :sensor)"
static const char fingerprints_rolled_sql[] =
	"WITH l AS (SELECT " FP_KEY("x.protocol", "fp") ", x.protocol, x.verdict,"
	"  nullif(x.reason, '') AS reason, x.offers_pq, fp.offers_mldsa, x.n, x.first_us,"
	"  x.last_us FROM kx_fp_legs_rolled AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR "),"
	" gl AS (SELECT kind, fingerprint, kx_fp," FP_COUNTS " FROM l GROUP BY 1, 2, 3),"
	" gc AS (SELECT " FP_KEY("x.protocol", "fp") ", count(DISTINCT x.client_ip) AS clients"
	"  FROM kx_fp_clients_rolled AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR " GROUP BY 1, 2, 3),"
	" ge AS (SELECT " FP_KEY("x.protocol", "fp") ","
	"  count(DISTINCT x.server_ip || ' ' || x.server_port || ' ' || x.sni) AS endpoints,"
	"  kx_set(nullif(x.sni, ''), 3) AS sample_snis"
	"  FROM kx_fp_endpoints_rolled AS x JOIN main.fingerprints AS fp ON fp.id = x.fp_id"
	"  WHERE " FP_PRINT("x.protocol", "fp") " IS NOT NULL" FP_SENSOR " GROUP BY 1, 2, 3),"
	" g AS (SELECT * FROM gl JOIN gc USING (kind, fingerprint, kx_fp)"
	"  JOIN ge USING (kind, fingerprint, kx_fp))" FP_ANSWER;

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

/* The table's columns: SSH kex lists run to 400 characters, the JSON and
 * CSV carry them whole. */
static const char table_extra[] =
	", CASE WHEN length(kx_fp) > 60 THEN substr(kx_fp, 1, 57) || '...'"
	" ELSE kx_fp END AS kx_fp_s,"
	" substr(first_seen, 1, 19) || 'Z' AS first_seen_s,"
	" substr(last_seen, 1, 19) || 'Z' AS last_seen_s";

char *kx_fingerprints_sql(const struct kx_rdb *r, const struct kx_report_filter *f,
			  bool table)
{
	const char *cols = table ? table_extra : "";
	struct kx_report_filter all;

	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	if (r->rolled_fp && kx_rdb_full_range(r, f))
		return sqlite3_mprintf(fingerprints_rolled_sql, cols);
	return sqlite3_mprintf(fingerprints_sql, r->version >= 7 ? kx_fp_cols_v7 : kx_fp_cols_none,
			       cols);
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
		sql = sqlite3_mprintf(pg_fingerprints_sql, fmt == KX_OUT_TABLE ? table_extra : "");
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
