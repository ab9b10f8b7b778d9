/* SPDX-License-Identifier: BSD-2-Clause */
/* health.c: what a hybrid rollout breaks. A hybrid ClientHello carries a
 * 1,216-byte X25519MLKEM768 share and no longer fits one 1500-byte packet;
 * paths with a broken MTU, MSS clamping or a middlebox with a size limit
 * drop it, and the handshake dies without a ServerHello.
 *
 * The report groups handshakes by the size of their largest ClientHello
 * (the one after a HelloRetryRequest carries the hybrid share): under 1500
 * bytes, 1500 or more, and "not reassembled" when no ClientHello was reassembled;
 * and by hop (server IP and port: a network path, whatever the SNI). For
 * each it counts ClientHellos without a ServerHello by reason, HRR round
 * trips, ClientHellos whose first segment never reached the sensor
 * (incomplete/gap with ch_segments = 0) and slow ServerHellos.
 *
 * Retransmitted ClientHello segments are not stored per handshake. What
 * can be derived: a ServerHello 1 s or more after the ClientHello (Linux's
 * initial RTO is 1 s, its minimum 200 ms) hints at a lost and retransmitted
 * segment, and the runs' reasm_retransmits counter gives the total of
 * retransmitted segments of the runs that recorded the handshakes.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/central.h"
#include "kexwatch/emit.h"

#define SLOW_US 1000000

/* The queries are written once, in the words both engines read alike,
 * with the few that differ taken from a dialect: X is SQ (SQLite, on the
 * legs of kx_legs or kx_legs_rolled) or PG (PostgreSQL, on its handshakes,
 * sessions and rollups). Every count is weighted by n: 1 for a handshake
 * row, the handshakes of a rolled-up leg (rollup.h keeps band, first_lost
 * and slow in its key). */
#define SQ_IS "IS"
#define PG_IS "IS NOT DISTINCT FROM"
#define SQ_ISNOT "IS NOT"
#define PG_ISNOT "IS DISTINCT FROM"
#define SQ_MAX2 "max"
#define PG_MAX2 "greatest"
#define SQ_FALSE "0"
#define PG_FALSE "false"
/* sum(bool), weighted and not: NULL over no rows or only NULLs in both */
#define SQ_SUMW(cond) "sum(n * (" cond "))"
#define PG_SUMW(cond) "sum(n * (" cond ")::int)"
#define SQ_SUMB(cond) "sum(" cond ")"
#define PG_SUMB(cond) "sum((" cond ")::int)"
#define SQ_SET(x) "kx_set(" x ")"
#define PG_SET(x) KX_PG_SET(x)
#define SQ_TS(us) KX_SQL_TS_TEXT(us)
#define PG_TS(us) KX_PG_TS_TEXT(us)
/* byte order for text, SQLite's own */
#define SQ_C ""
#define PG_C " COLLATE \"C\""
/* the sample SNIs: an aggregate in the group (IN), its text outside (OUT) */
#define SQ_SNIS_IN "kx_set(sni, 3) AS sample_snis"
#define SQ_SNIS_OUT "sample_snis"
#define PG_SNIS_IN KX_PG_ARRAY("sni") " AS sni_a"
#define PG_SNIS_OUT KX_PG_SET_FIRST("sni_a", 3) " AS sample_snis"
/* The HRR groups by name; PostgreSQL gives the distinct code points,
 * which kexwatch's registry names (hops_answer_sql). */
#define SQ_HRR_IN "kx_set(CASE WHEN hrr <> 0 THEN kx_group_name(hrr_group) END) AS hrr_groups"
#define SQ_HRR_OUT "hrr_groups"
#define PG_HRR_IN "string_agg(DISTINCT hrr_group::text, ',') FILTER (WHERE hrr <> 0) AS hrr_codes"
#define PG_HRR_OUT "hrr_codes"
/* pct_no_server_hello: SQLite's arithmetic, also on PostgreSQL's answer
 * (kx_health_pg_bands_sql), so the float prints alike */
#define SQ_PCT " round(100.0 * " SQ_SUMW("unanswered") " / sum(n), 1) AS pct_no_server_hello,"
#define PG_PCT ""
/* the table's tail (%s) is added to the local query only */
#define SQ_TAIL "%s"
#define PG_TAIL ""
/* a number of the run's counters (JSON) */
#define SQ_LEDGER(c) "sum(json_extract(counters, '$." c "'))"
#define PG_LEDGER(c) "sum((counters::json ->> '" c "')::numeric)"

/* s: the legs (h) with their size band. Sessions without a handshake
 * (is_session) have no ClientHello: the bands leave them out, the hops
 * count them apart. A handshake refused a context (incomplete/capacity)
 * was never followed: neither answered nor unanswered. */
#define HEALTH_CTE(X, LEGS)                                                               \
	"WITH " LEGS ","                                                                  \
	" s AS (SELECT *, CASE WHEN " X##_MAX2 "(ch_bytes, coalesce(ch2_bytes, 0)) = 0"   \
	"  THEN 'not reassembled' WHEN " X##_MAX2 "(ch_bytes, coalesce(ch2_bytes, 0)) < 1500" \
	"  THEN '< 1500' ELSE '>= 1500' END AS band,"                                     \
	"  verdict = 'incomplete' AND reason " X##_ISNOT " 'capacity' AS unanswered,"     \
	"  verdict = 'incomplete' AND reason " X##_IS " 'capacity' AS capacity,"          \
	"  verdict = 'incomplete' AND reason " X##_IS " 'gap' AND ch_segments = 0"        \
	"  AS first_lost, coalesce(ch_to_sh_us >= 1000000, " X##_FALSE ") AS slow FROM h)"

#define UNANSWERED(X, r) X##_SUMW("unanswered AND reason " X##_IS " '" r "'")

#define HEALTH_BANDS(X, LEGS)                                                             \
	HEALTH_CTE(X, LEGS)                                                               \
	" SELECT band, sum(n) AS handshakes,"                                             \
	" sum(n) - " X##_SUMW("unanswered") " - " X##_SUMW("capacity") " AS answered,"    \
	" " X##_SUMW("unanswered") " AS no_server_hello,"                                 \
	" " UNANSWERED(X, "rst") " AS n_rst, " UNANSWERED(X, "fin") " AS n_fin,"          \
	" " UNANSWERED(X, "timeout") " AS n_timeout,"                                     \
	" " UNANSWERED(X, "end-of-capture") " AS n_end_of_capture,"                       \
	" " UNANSWERED(X, "gap") " AS n_gap,"                                             \
	" " X##_SUMW("unanswered AND reason NOT IN ('rst', 'fin', 'timeout',"             \
		     " 'end-of-capture', 'gap')") " AS n_other,"                          \
	" " X##_SUMW("first_lost") " AS n_first_segment_lost, sum(n * hrr) AS n_hrr,"     \
	" " X##_SUMW("slow") " AS n_slow," X##_PCT                                        \
	" " X##_SUMW("capacity") " AS n_capacity"                                         \
	" FROM s WHERE NOT is_session GROUP BY band"                                      \
	" ORDER BY CASE band WHEN '< 1500' THEN 0 WHEN '>= 1500' THEN 1 ELSE 2 END"

/* Per hop (server IP, port). Sessions fall in no band and have no
 * unanswered, first-lost, HRR or slow handshake: only handshakes and the
 * session columns at the end tell them apart. */
#define HEALTH_HOPS(X, LEGS)                                                              \
	HEALTH_CTE(X, LEGS)                                                               \
	" SELECT server_ip, server_port, handshakes, n_small, n_small_no_sh, n_large,"    \
	" n_large_no_sh, n_first_segment_lost, no_server_hello, reasons, n_hrr,"          \
	" " X##_HRR_OUT ", n_slow, max_ch_to_sh_us, " X##_SNIS_OUT ", last_seen,"         \
	" large_reasons, other_reasons, n_capacity, n_plaintext, plaintext_apps,"         \
	" plaintext_reasons, n_unseen, unseen_apps" X##_TAIL                              \
	" FROM (SELECT server_ip, server_port, " X##_SUMW("NOT is_session") " AS handshakes," \
	" " X##_SUMW("band = '< 1500'") " AS n_small,"                                    \
	" " X##_SUMW("band = '< 1500' AND unanswered") " AS n_small_no_sh,"               \
	" " X##_SUMW("band = '>= 1500'") " AS n_large,"                                   \
	" " X##_SUMW("band = '>= 1500' AND unanswered") " AS n_large_no_sh,"              \
	" " X##_SUMW("first_lost") " AS n_first_segment_lost,"                            \
	" " X##_SUMW("unanswered") " AS no_server_hello,"                                 \
	" " X##_SET("CASE WHEN unanswered THEN reason END") " AS reasons,"                \
	" sum(n * hrr) AS n_hrr, " X##_HRR_IN ","                                         \
	" " X##_SUMW("slow") " AS n_slow, max(ch_to_sh_us) AS max_ch_to_sh_us,"           \
	" " X##_SNIS_IN ", " X##_TS("max(ts_last_us)") " AS last_seen,"                   \
	" " X##_SET("CASE WHEN unanswered AND band = '>= 1500' THEN reason END") " AS large_reasons," \
	" " X##_SET("CASE WHEN unanswered AND band <> '>= 1500' THEN reason END") " AS other_reasons," \
	" " X##_SUMW("capacity") " AS n_capacity,"                                        \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'), 0) AS n_plaintext," \
	" " X##_SET("app") " FILTER (WHERE is_session AND verdict = 'plaintext') AS plaintext_apps," \
	" " X##_SET("reason") " FILTER (WHERE is_session AND verdict = 'plaintext') AS plaintext_reasons," \
	" coalesce(sum(n) FILTER (WHERE is_session AND reason " X##_IS " 'handshake-unseen'), 0)" \
	"  AS n_unseen,"                                                                  \
	" " X##_SET("app") " FILTER (WHERE is_session AND reason " X##_IS " 'handshake-unseen')" \
	"  AS unseen_apps FROM s GROUP BY server_ip, server_port) AS g"                     \
	" WHERE no_server_hello + n_hrr + n_slow + n_capacity + n_plaintext + n_unseen > 0" \
	" ORDER BY n_large_no_sh + n_first_segment_lost DESC NULLS LAST,"                 \
	" no_server_hello DESC NULLS LAST, n_slow DESC NULLS LAST, n_hrr DESC NULLS LAST,"  \
	" n_plaintext DESC NULLS LAST, n_capacity DESC NULLS LAST, n_unseen DESC NULLS LAST," \
	" server_ip" X##_C ", server_port"

/* The flow ledger of the runs of the legs (counters of schema 6 runs; 0
 * before); WHICH picks the runs. */
#define HEALTH_RUNS(X, LEGS, WHICH)                                                       \
	"WITH " LEGS                                                                      \
	" SELECT count(*) AS n_runs, " X##_LEDGER("reasm_retransmits") " AS reasm_retransmits," \
	" " X##_LEDGER("reasm_ooo_segments") " AS reasm_ooo_segments,"                    \
	" " X##_LEDGER("capture_dropped") " + " X##_LEDGER("capture_if_dropped")          \
	"  AS capture_dropped,"                                                           \
	" " X##_SUMB("counters IS NULL") " AS unfinished,"                                \
	" " X##_SUMB(X##_LEDGER_RAW("flow_hs_row") " IS NOT NULL") " AS with_ledger,"     \
	" " X##_LEDGER("flows_created") " AS flows_created,"                              \
	" " X##_LEDGER("flows_refused") " AS flows_refused,"                              \
	" " X##_LEDGER("flow_hs_row") " AS flow_hs_row,"                                  \
	" " X##_LEDGER("flow_capacity") " AS flow_capacity,"                              \
	" " X##_LEDGER("flow_plaintext") " AS flow_plaintext,"                            \
	" " X##_LEDGER("flow_unseen") " AS flow_unseen,"                                  \
	" " X##_LEDGER("flow_one_sided") " AS flow_one_sided,"                            \
	" " X##_LEDGER("flow_no_payload") " AS flow_no_payload,"                          \
	" " X##_LEDGER("flow_plain_off") " AS flow_plain_off,"                            \
	" " X##_LEDGER("flow_unrecognised") " AS flow_unrecognised"                       \
	" FROM runs WHERE " WHICH
#define SQ_LEDGER_RAW(c) "json_extract(counters, '$." c "')"
#define PG_LEDGER_RAW(c) "(counters::json ->> '" c "')"
#define RUNS_OF_LEGS "id IN (SELECT run_id FROM h)"

/* SQLite: the legs of the window (kx_legs) or of the rollups. */
const char kx_health_bands_sql[] = HEALTH_BANDS(SQ, KX_SQL_FILTERED);
static const char bands_rolled_sql[] = HEALTH_BANDS(SQ, KX_SQL_FILTERED_ROLLED);
static const char hops_sql[] = HEALTH_HOPS(SQ, KX_SQL_FILTERED);
static const char hops_rolled_sql[] = HEALTH_HOPS(SQ, KX_SQL_FILTERED_ROLLED);
static const char runs_sql[] = HEALTH_RUNS(SQ, KX_SQL_FILTERED, RUNS_OF_LEGS);
/* The same when h is kx_legs_rolled: the runs of the folded rows are in
 * rollup_runs. */
static const char runs_rolled_sql[] =
	HEALTH_RUNS(SQ, KX_SQL_FILTERED_ROLLED,
		    RUNS_OF_LEGS " OR (id IN (SELECT run_id FROM main.rollup_runs)"
		    " AND (:sensor IS NULL OR sensor = :sensor))");

static bool rolled(const struct kx_rdb *r, const struct kx_report_filter *f)
{
	struct kx_report_filter all;

	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	return kx_rdb_full_range(r, f);
}

const char *kx_health_bands_sql_for(const struct kx_rdb *r, const struct kx_report_filter *f)
{
	return rolled(r, f) ? bands_rolled_sql : kx_health_bands_sql;
}

/* The ledger's terms in runs_sql's order (after flows_created and
 * flows_refused), named as in `read`'s summary and in JSON. */
static const struct {
	const char *json, *text;
} ledger_terms[] = {
	{ "handshake_rows", "handshake rows" }, { "capacity_rows", "capacity rows" },
	{ "plaintext", "plaintext" },           { "handshake_unseen", "handshake unseen" },
	{ "one_sided", "one-sided" },           { "no_payload", "no payload" },
	{ "not_recorded", "not recorded (--plaintext)" },
	{ "unrecognised", "unrecognised" },
};

#define N_LEDGER (sizeof(ledger_terms) / sizeof(ledger_terms[0]))

static const struct kx_col band_cols[] = {
	{ "band", "CLIENTHELLO", false },   { "handshakes", "HANDSHAKES", true },
	{ "answered", "ANSWERED", true },   { "no_server_hello", "NO SERVERHELLO", true },
	{ "pct_no_server_hello", "%", true },
	{ "n_rst", "RST", true },           { "n_fin", "FIN", true },
	{ "n_timeout", "TIMEOUT", true },   { "n_end_of_capture", "END-OF-CAPTURE", true },
	{ "n_gap", "GAP", true },           { "n_other", "OTHER", true },
	{ "n_first_segment_lost", "FIRST SEGMENT LOST", true },
	{ "n_hrr", "HRR", true },           { "n_slow", "SLOW SH", true },
	{ "n_capacity", "CAPACITY", true },
};

static const struct kx_col hop_cols[] = {
	{ "server_ip", "SERVER", false },   { "server_port", "PORT", true },
	{ "handshakes", "HANDSHAKES", true }, { "large", ">=1500 NO-SH", false },
	{ "small", "<1500 NO-SH", false },  { "n_first_segment_lost", "FIRST SEG LOST", true },
	{ "reasons", "REASONS", false },    { "n_hrr", "HRR", true },
	{ "n_slow", "SLOW SH", true },      { "n_capacity", "CAPACITY", true },
	{ "n_plaintext", "PLAINTEXT", true }, { "n_unseen", "HS UNSEEN", true },
	{ "sample_snis", "SNI (SAMPLE)", false },
};

/* Table-only columns of the hops query: "1/1" style ratios. */
static const char hops_table_tail[] =
	", n_large_no_sh || '/' || n_large AS large, n_small_no_sh || '/' || n_small AS small";

/* --- PostgreSQL: where the legs come from --- */

/* The central schema these read (as hops and clients: schema 11's words). */
#define PG_HEALTH_MIN_SCHEMA 7

/* The legs in the window ($1 .. $4, KX_PG_WINDOW), only the columns
 * health reads. */
#define PG_HEALTH_RAW                                                                  \
	"h AS (SELECT run_id, ts_first_us, ts_last_us, server_ip, server_port, sni,"  \
	" verdict, reason, ch_bytes, ch2_bytes, ch_segments, ch_to_sh_us, hrr, hrr_group,"  \
	" 1::bigint AS n, false AS is_session, NULL::text AS app FROM handshakes" KX_PG_WINDOW \
	" UNION ALL SELECT run_id, ts_first_us, ts_last_us, server_ip, server_port, NULL,"  \
	" verdict, nullif(reason, ''), 0, NULL, 0, NULL, 0, NULL, sessions, true, app"      \
	" FROM sessions" KX_PG_WINDOW ")"
/* The same over the full range from the rollups (schema 9): a rolled-up
 * leg as SQLite's kx_legs_rolled maps one (its band as a ClientHello size,
 * its first-segment flag as a count, the slowest ServerHello of the leg),
 * weighted by its handshakes, plus the rows not folded yet (schema 10's
 * rollup_pending) as raw legs; only the sensor ($1) filters. */
#define PG_HEALTH_ROLLED                                                               \
	"h AS (SELECT NULL::bigint AS run_id, first_us AS ts_first_us, last_us AS ts_last_us," \
	" server_ip, server_port, nullif(sni, '') AS sni, verdict, nullif(reason, '') AS reason," \
	" CASE band WHEN 0 THEN 0 WHEN 1 THEN 1 ELSE 1500 END AS ch_bytes,"              \
	" NULL::integer AS ch2_bytes, CASE WHEN ch_seg0 <> 0 THEN 0 ELSE 1 END AS ch_segments," \
	" max_ch_to_sh_us AS ch_to_sh_us, hrr, nullif(hrr_group, -1) AS hrr_group, n,"   \
	" false AS is_session, NULL::text AS app FROM rollup_legs"                      \
	" WHERE $1::text IS NULL OR sensor = $1::text"                                   \
	" UNION ALL SELECT run_id, ts_first_us, ts_last_us, server_ip, server_port, sni," \
	" verdict, reason, ch_bytes, ch2_bytes, ch_segments, ch_to_sh_us, hrr, hrr_group," \
	" 1, false, NULL FROM rollup_pending WHERE $1::text IS NULL OR sensor = $1::text"  \
	" UNION ALL SELECT run_id, ts_first_us, ts_last_us, server_ip, server_port, NULL,"  \
	" verdict, nullif(reason, ''), 0, NULL, 0, NULL, 0, NULL, sessions, true, app"      \
	" FROM sessions WHERE $1::text IS NULL OR sensor = $1::text)"

static const char pg_bands_sql[] = HEALTH_BANDS(PG, PG_HEALTH_RAW);
static const char pg_bands_rolled_sql[] = HEALTH_BANDS(PG, PG_HEALTH_ROLLED);
static const char pg_hops_sql[] = HEALTH_HOPS(PG, PG_HEALTH_RAW);
static const char pg_hops_rolled_sql[] = HEALTH_HOPS(PG, PG_HEALTH_ROLLED);
static const char pg_runs_sql[] = HEALTH_RUNS(PG, PG_HEALTH_RAW, RUNS_OF_LEGS);
/* The runs of the rolled-up handshakes are in rollup_runs. */
static const char pg_runs_rolled_sql[] =
	HEALTH_RUNS(PG, PG_HEALTH_ROLLED,
		    RUNS_OF_LEGS " OR (id IN (SELECT run_id FROM rollup_runs)"
		    " AND ($1::text IS NULL OR sensor = $1::text))");

/* %s: the table's tail. */
static const char hops_answer_sql[] =
	"SELECT server_ip, server_port, handshakes, n_small, n_small_no_sh, n_large, n_large_no_sh,"
	" n_first_segment_lost, no_server_hello, reasons, n_hrr,"
	" (SELECT kx_set(kx_group_name(j.value)) FROM json_each('[' || hrr_codes || ']') AS j)"
	"  AS hrr_groups, n_slow, max_ch_to_sh_us, sample_snis, last_seen, large_reasons,"
	" other_reasons, n_capacity, n_plaintext, plaintext_apps, plaintext_reasons, n_unseen,"
	" unseen_apps%s FROM kx_hops ORDER BY rowid";

/* health's three queries for filter f run in PostgreSQL (session pg),
 * their rows in the in-memory tables kx_bands, kx_hops and kx_runs of
 * r->db. Returns 0 or -1 with the message in err (r and pg left open). */
int kx_health_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_report_filter *f,
		      char *err, size_t errlen)
{
	char since[24], until[24], live[24], e[512];
	const char *params[4] = { since, until, f->sensor, live };

	snprintf(since, sizeof(since), "%" PRId64, f->since_us);
	snprintf(until, sizeof(until), "%" PRId64, f->until_us);
	snprintf(live, sizeof(live), "%" PRId64, f->live_from_us);
	/* The full range over the rollups and the pending rows (schema 10;
	 * the sensor is $1 there): what prune dropped stays counted. */
	bool roll = f->since_us == INT64_MIN && f->until_us == INT64_MAX &&
		    f->live_from_us == INT64_MIN && kx_pg_read_version(pg) >= 10 &&
		    !kx_pg_rollups_off();
	int np = roll ? 1 : 4;
	const char *const *pp = roll ? params + 2 : params;
	if (kx_pg_read_table(pg, roll ? pg_bands_rolled_sql : pg_bands_sql, np, pp, r->db,
			     "kx_bands", e, sizeof(e)) < 0 ||
	    kx_pg_read_table(pg, roll ? pg_hops_rolled_sql : pg_hops_sql, np, pp, r->db, "kx_hops",
			     e, sizeof(e)) < 0 ||
	    kx_pg_read_table(pg, roll ? pg_runs_rolled_sql : pg_runs_sql, np, pp, r->db, "kx_runs",
			     e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s: %s", r->target, e);
		return -1;
	}
	return 0;
}

const char kx_health_pg_bands_sql[] =
	"SELECT band, handshakes, answered, no_server_hello, n_rst, n_fin, n_timeout,"
	" n_end_of_capture, n_gap, n_other, n_first_segment_lost, n_hrr, n_slow,"
	" round(100.0 * no_server_hello / handshakes, 1) AS pct_no_server_hello, n_capacity"
	" FROM kx_bands ORDER BY rowid";

/* health on a central store: its three queries run in PostgreSQL, their
 * rows come back into in-memory tables of r->db, and *bands, *hops and
 * *runs read them as the local queries would. Returns 0, 1 when the store
 * needs the snapshot instead, or -1 with the message in err. */
static int health_central(struct kx_rdb *r, const char *url, const struct kx_report_filter *f,
			  bool table, sqlite3_stmt **bands, sqlite3_stmt **hops,
			  sqlite3_stmt **runs, char *err, size_t errlen)
{
	struct kx_pg_read *pg = NULL;
	char *sql = NULL;
	int rc = kx_rdb_open_answer(r, url, PG_HEALTH_MIN_SCHEMA, &pg, err, errlen);

	if (rc != 0)
		return rc;
	rc = -1;
	if (kx_health_pg_load(r, pg, f, err, errlen) < 0)
		goto out;
	if (!(sql = sqlite3_mprintf(hops_answer_sql, table ? hops_table_tail : ""))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!(*bands = kx_rdb_prepare(r, kx_health_pg_bands_sql, NULL)) ||
	    !(*hops = kx_rdb_prepare(r, sql, NULL)) ||
	    !(*runs = kx_rdb_prepare(r, "SELECT * FROM kx_runs", NULL)))
		goto out;
	rc = 0;
out:
	sqlite3_free(sql);
	kx_pg_read_close(pg);
	if (rc < 0) {
		sqlite3_finalize(*bands);
		sqlite3_finalize(*hops);
		sqlite3_finalize(*runs);
		*bands = *hops = *runs = NULL;
		kx_rdb_close(r);
	}
	return rc;
}

static const char *const sev_name[] = { "error", "warning", "info" };

const char *kx_severity_name(enum kx_severity sev)
{
	return sev_name[sev];
}

static void add(struct kx_findings *fs, enum kx_severity sev, const char *kind, const char *ip,
		long long port, long long count, char *text)
{
	if (!text || fs->oom) {
		fs->oom = true;
		sqlite3_free(text);
		return;
	}
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 8;
		struct kx_finding *v = realloc(fs->v, cap * sizeof(*v));
		if (!v) {
			fs->oom = true;
			sqlite3_free(text);
			return;
		}
		fs->v = v;
		fs->cap = cap;
	}
	fs->v[fs->n] = (struct kx_finding){ sev, kind, sqlite3_mprintf("%s", ip), port, count,
					    text, fs->n };
	fs->n++;
	if (!fs->v[fs->n - 1].server_ip)
		fs->oom = true;
}

void kx_findings_free(struct kx_findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		sqlite3_free(fs->v[i].server_ip);
		sqlite3_free(fs->v[i].text);
	}
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

/* Most severe first; qsort is not stable, so ties compare by seq (hop order). */
static int cmp_finding(const void *a, const void *b)
{
	const struct kx_finding *x = a, *y = b;
	if (x->sev != y->sev)
		return (int)x->sev - (int)y->sev;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define S(n) ((n) == 1 ? "" : "s")

/* The findings of one hop row of hops_sql. */
static void judge_hop(struct kx_findings *fs, sqlite3_stmt *s)
{
	const char *ip = (const char *)sqlite3_column_text(s, 0);
	long long port = sqlite3_column_int64(s, 1);
	long long small = sqlite3_column_int64(s, 3), small_no = sqlite3_column_int64(s, 4);
	long long large = sqlite3_column_int64(s, 5), large_no = sqlite3_column_int64(s, 6);
	long long first_lost = sqlite3_column_int64(s, 7);
	const char *large_reasons = (const char *)sqlite3_column_text(s, 16);
	const char *other_reasons = (const char *)sqlite3_column_text(s, 17);
	long long hrr = sqlite3_column_int64(s, 10);
	const char *hrr_groups = (const char *)sqlite3_column_text(s, 11);
	long long slow = sqlite3_column_int64(s, 12);
	double max_ms = sqlite3_column_int64(s, 13) / 1000.0;
	long long capacity = sqlite3_column_int64(s, 18), plaintext = sqlite3_column_int64(s, 19);
	const char *plain_apps = (const char *)sqlite3_column_text(s, 20);
	const char *plain_reasons = (const char *)sqlite3_column_text(s, 21);
	long long unseen = sqlite3_column_int64(s, 22);
	const char *unseen_apps = (const char *)sqlite3_column_text(s, 23);
	char where[80];

	if (!ip)
		return;
	if (strchr(ip, ':'))
		snprintf(where, sizeof(where), "[%s]:%lld", ip, port);
	else
		snprintf(where, sizeof(where), "%s:%lld", ip, port);
	/* Large ClientHellos dying more often than small ones on the same path. */
	if (large_no > 0 && (small == 0 || small_no * large < large_no * small)) {
		add(fs, large_no == large ? KX_SEV_ERROR : KX_SEV_WARNING, "large-clienthello-unanswered",
		    ip, port, large_no,
		    sqlite3_mprintf("%s: %lld of %lld ClientHello%s of 1500 bytes or more got no "
				    "ServerHello (%s), against %lld of %lld smaller one%s: large "
				    "(hybrid) ClientHellos are likely dropped on this path (MTU, MSS "
				    "clamping or a middlebox size limit)", where, large_no, large,
				    S(large), large_reasons ? large_reasons : "-", small_no, small,
				    S(small)));
	} else if (small_no + large_no > 0) {
		add(fs, KX_SEV_WARNING, "clienthello-unanswered", ip, port, small_no + large_no,
		    sqlite3_mprintf("%s: %lld ClientHello%s got no ServerHello (%s%s%s), large "
				    "ones no more often than small ones: not a size problem, look at "
				    "the server or the path",
				    where, small_no + large_no, S(small_no + large_no),
				    large_reasons ? large_reasons : "",
				    large_reasons && other_reasons ? "," : "",
				    other_reasons ? other_reasons : ""));
	}
	if (first_lost > 0)
		add(fs, KX_SEV_ERROR, "first-segment-lost", ip, port, first_lost,
		    sqlite3_mprintf("%s: %lld ClientHello%s whose first segment never reached the "
				    "sensor (incomplete/gap, only later segments seen): the first, "
				    "full-size segment was dropped before the capture point, likely "
				    "an MTU or middlebox drop", where, first_lost, S(first_lost)));
	if (slow > 0)
		add(fs, KX_SEV_WARNING, "slow-server-hello", ip, port, slow,
		    sqlite3_mprintf("%s: %lld ServerHello%s came 1 s or more after the ClientHello "
				    "(slowest %.0f ms): a lost and retransmitted ClientHello segment "
				    "(initial RTO 1 s) or a slow server", where, slow, S(slow), max_ms));
	if (plaintext > 0)
		add(fs, KX_SEV_ERROR, "plaintext", ip, port, plaintext,
		    sqlite3_mprintf("%s: %lld session%s carried application data without any "
				    "encryption (%s; %s): no key exchange protects them, classical or "
				    "post-quantum; enable TLS on this service and require it",
				    where, plaintext, S(plaintext), plain_apps ? plain_apps : "-",
				    plain_reasons ? plain_reasons : "-"));
	if (capacity > 0)
		add(fs, KX_SEV_WARNING, "capacity", ip, port, capacity,
		    sqlite3_mprintf("%s: %lld handshake%s not followed because --max-handshakes or "
				    "--memcap was reached (incomplete/capacity): their key exchange "
				    "is not known; raise the limit", where, capacity, S(capacity)));
	if (unseen > 0)
		add(fs, KX_SEV_INFO, "handshake-unseen", ip, port, unseen,
		    sqlite3_mprintf("%s: %lld encrypted session%s (%s) whose handshake was not "
				    "captured (it began before the capture did): key exchange not "
				    "observed", where, unseen, S(unseen), unseen_apps ? unseen_apps : "-"));
	if (hrr > 0)
		add(fs, KX_SEV_INFO, "hello-retry-request", ip, port, hrr,
		    sqlite3_mprintf("%s: %lld handshake%s needed a HelloRetryRequest (one more round "
				    "trip): the server asked for %s, which the client supported "
				    "without sending a key share for it", where, hrr, S(hrr),
				    hrr_groups ? hrr_groups : "a group"));
}

static int collect(struct kx_rdb *r, sqlite3_stmt *hops, struct kx_findings *fs)
{
	int rc;

	while ((rc = sqlite3_step(hops)) == SQLITE_ROW)
		judge_hop(fs, hops);
	sqlite3_reset(hops);
	if (rc != SQLITE_DONE)
		return kx_rdb_fail(r);
	if (fs->oom) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	if (fs->n) /* v is NULL when nothing was found: qsort wants an array */
		qsort(fs->v, fs->n, sizeof(*fs->v), cmp_finding);
	return 0;
}

/* The findings of the hops answer tmpl (a format taking the table's
 * columns, "" here) over filter f. */
static int findings_of(struct kx_rdb *r, const char *tmpl, const struct kx_report_filter *f,
		       struct kx_findings *fs)
{
	char *sql = sqlite3_mprintf(tmpl, "");
	sqlite3_stmt *s;
	int rc;

	if (!sql) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	s = kx_rdb_prepare(r, sql, f);
	sqlite3_free(sql);
	if (!s)
		return -1;
	rc = collect(r, s, fs);
	sqlite3_finalize(s);
	return rc;
}

int kx_health_pg_findings(struct kx_rdb *r, struct kx_findings *fs)
{
	return findings_of(r, hops_answer_sql, NULL, fs);
}

int kx_health_findings(struct kx_rdb *r, const struct kx_report_filter *f, struct kx_findings *fs)
{
	return findings_of(r, rolled(r, f) ? hops_rolled_sql : hops_sql, f, fs);
}

static void print_findings_text(const struct kx_findings *fs, FILE *out)
{
	fputs("\nFindings:\n", out);
	if (!fs->n)
		fputs("  none: every ClientHello got a ServerHello, none late, no HelloRetryRequest\n",
		      out);
	for (size_t i = 0; i < fs->n; i++) {
		fprintf(out, "  %-8s ", kx_severity_name(fs->v[i].sev));
		kx_cell_print(out, fs->v[i].text);
		putc('\n', out);
	}
}

static void print_findings_json(const struct kx_findings *fs, FILE *out)
{
	fputs("[", out);
	for (size_t i = 0; i < fs->n; i++) {
		const struct kx_finding *f = &fs->v[i];
		fprintf(out, "%s\n  {\"severity\":\"%s\",\"kind\":\"%s\",\"server_ip\":",
			i ? "," : "", kx_severity_name(f->sev), f->kind);
		kx_json_fputs(out, f->server_ip, strlen(f->server_ip));
		fprintf(out, ",\"server_port\":%lld,\"count\":%lld,\"text\":", f->server_port,
			f->count);
		kx_json_fputs(out, f->text, strlen(f->text));
		putc('}', out);
	}
	fputs(fs->n ? "\n]" : "]", out);
}

int kx_report_health(const char *db_path, const struct kx_report_filter *f,
		     enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_findings fs = { 0 };
	sqlite3_stmt *bands = NULL, *hops = NULL, *runs = NULL;
	long long n_runs = 0, retrans = 0, ooo = 0, drops = 0, unfinished = 0, with_ledger = 0;
	long long created = 0, refused = 0, ledger[N_LEDGER] = { 0 }, ended = 0;
	char *sql = NULL;
	struct kx_rdb r;
	int rc = -1;

	if (kx_pg_is_url(db_path)) {
		int c = health_central(&r, db_path, f, fmt == KX_OUT_TABLE, &bands, &hops, &runs,
				       err, errlen);
		if (c < 0)
			return -1;
		if (c == 0)
			goto run;
	}
	if (kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	if (kx_rdb_keep_window(&r, f) < 0) /* three passes over a window */
		goto out;
	bool roll = rolled(&r, f);
	sql = sqlite3_mprintf(roll ? hops_rolled_sql : hops_sql,
			      fmt == KX_OUT_TABLE ? hops_table_tail : "");
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The hops are read twice (findings, then the table): their query
	 * runs once, into a temporary table. */
	if (!(bands = kx_rdb_prepare(&r, roll ? bands_rolled_sql : kx_health_bands_sql, f)) ||
	    kx_rdb_materialize(&r, "kx_health_hops", sql, f) < 0 ||
	    !(hops = kx_rdb_prepare(&r, "SELECT * FROM temp.kx_health_hops ORDER BY rowid",
				    NULL)) ||
	    !(runs = kx_rdb_prepare(&r, roll ? runs_rolled_sql : runs_sql, f)))
		goto out;

run:
	/* Findings first: the table prints them last, JSON in its own member. */
	if (collect(&r, hops, &fs) < 0)
		goto out;
	if (sqlite3_step(runs) == SQLITE_ROW) {
		n_runs = sqlite3_column_int64(runs, 0);
		retrans = sqlite3_column_int64(runs, 1);
		ooo = sqlite3_column_int64(runs, 2);
		drops = sqlite3_column_int64(runs, 3);
		unfinished = sqlite3_column_int64(runs, 4);
		with_ledger = sqlite3_column_int64(runs, 5);
		created = sqlite3_column_int64(runs, 6);
		refused = sqlite3_column_int64(runs, 7);
		for (size_t i = 0; i < N_LEDGER; i++)
			ended += ledger[i] = sqlite3_column_int64(runs, 8 + (int)i);
	}

	if (fmt == KX_OUT_CSV) {
		/* CSV holds one table: the hops. */
		if (kx_rdb_print(hops, fmt, NULL, 0, out) != SQLITE_DONE) {
			kx_rdb_fail(&r);
			goto out;
		}
	} else if (fmt == KX_OUT_JSON) {
		fputs("{\"bands\":", out);
		if (kx_rdb_print(bands, fmt, NULL, 0, out) != SQLITE_DONE) {
			kx_rdb_fail(&r);
			goto out;
		}
		fputs(",\"hops\":", out);
		if (kx_rdb_print(hops, fmt, NULL, 0, out) != SQLITE_DONE) {
			kx_rdb_fail(&r);
			goto out;
		}
		fputs(",\"findings\":", out);
		print_findings_json(&fs, out);
		fprintf(out, ",\n\"runs\":{\"runs\":%lld,\"reasm_retransmits\":%lld,"
			     "\"reasm_ooo_segments\":%lld,\"capture_dropped\":%lld,"
			     "\"unfinished\":%lld,\"flows\":", n_runs, retrans, ooo, drops, unfinished);
		/* The ledger of runs that kept one (null when none did). */
		if (!with_ledger) {
			fputs("null}}\n", out);
		} else {
			fprintf(out, "{\"runs\":%lld,\"seen\":%lld", with_ledger, created + refused);
			for (size_t i = 0; i < N_LEDGER; i++)
				fprintf(out, ",\"%s\":%lld", ledger_terms[i].json, ledger[i]);
			fprintf(out, ",\"still_open\":%lld,\"refused\":%lld}}}\n",
				created > ended ? created - ended : 0, refused);
		}
	} else {
		fputs("ClientHellos by size (the largest of a handshake; a hybrid one is 1500 bytes "
		      "or more):\n", out);
		if (kx_rdb_print(bands, fmt, band_cols, sizeof(band_cols) / sizeof(band_cols[0]),
				 out) != SQLITE_DONE) {
			kx_rdb_fail(&r);
			goto out;
		}
		fputs("\nHops with ClientHellos left unanswered, answered late, or retried, handshakes "
		      "not followed, or sessions without a handshake (server IP, port):\n", out);
		if (kx_rdb_print(hops, fmt, hop_cols, sizeof(hop_cols) / sizeof(hop_cols[0]), out) !=
		    SQLITE_DONE) {
			kx_rdb_fail(&r);
			goto out;
		}
		print_findings_text(&fs, out);
		fprintf(out, "\nCapture runs behind these handshakes: %lld; segments entirely "
			     "retransmitted %lld, out-of-order segments %lld, packets dropped by the "
			     "capture %lld (all flows: per-handshake retransmissions are not "
			     "recorded)%s\n", n_runs, retrans, ooo, drops,
			unfinished ? "; some runs are still running or were killed" : "");
		if (with_ledger) {
			fprintf(out, "Flows of %s: %lld seen =", with_ledger == n_runs ? "these runs" :
				"the runs that counted them", created + refused);
			for (size_t i = 0; i < N_LEDGER; i++)
				fprintf(out, "%s %lld %s", i ? " +" : "", ledger[i], ledger_terms[i].text);
			fprintf(out, " + %lld still open + %lld refused (table full)\n",
				created > ended ? created - ended : 0, refused);
		}
	}
	rc = kx_rdb_finish_output(&r, out);
out:
	sqlite3_free(sql);
	kx_findings_free(&fs);
	sqlite3_finalize(bands);
	sqlite3_finalize(hops);
	sqlite3_finalize(runs);
	kx_rdb_close(&r);
	return rc;
}
