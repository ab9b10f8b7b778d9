/* SPDX-License-Identifier: BSD-2-Clause */
/* changes.c: what got worse (or better) between a baseline period and the
 * window. Each change kind compares a good and a bad state of one subject
 * (a server endpoint grouped like `hops`, or a client IP): a transition is
 * worse when the window shows the bad state, the baseline did not, and the
 * baseline showed the good one; better the other way round. The new-*
 * kinds are first sightings: a subject with no leg in the baseline whose
 * window legs are bad and none good. One pass over the legs aggregates
 * every count; the evidence (capture file and packet of the first leg in
 * the changed state) is looked up only for the lines printed, by its exact
 * ts_first_us, which the time indexes serve.
 */
#include "report_int.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/central.h"
#include "kexwatch/rollup.h"

/* Leg predicates: the states of rollup.h (kx_legs' columns). */
enum pred {
	P_NONE = KX_LS_NONE, P_STRONG = KX_LS_STRONG, P_DECLINED = KX_LS_DECLINED,
	P_DRAFT = KX_LS_DRAFT, P_TLS13 = KX_LS_TLS13, P_TLS12 = KX_LS_TLS12,
	P_ENCRYPTED = KX_LS_ENCRYPTED, P_PLAIN = KX_LS_PLAIN, P_CLASSICAL = KX_LS_CLASSICAL,
	P_OFFER = KX_LS_OFFER, P_NOOFFER = KX_LS_NOOFFER, N_PRED = KX_LS_COUNT
};

static const char *const preds[N_PRED] = {
	[P_NONE] = KX_LS_NONE_SQL,
	[P_STRONG] = KX_LS_STRONG_SQL,
	[P_DECLINED] = KX_LS_DECLINED_SQL,
	[P_DRAFT] = KX_LS_DRAFT_SQL,
	[P_TLS13] = KX_LS_TLS13_SQL,
	[P_TLS12] = KX_LS_TLS12_SQL,
	[P_ENCRYPTED] = KX_LS_ENCRYPTED_SQL,
	[P_PLAIN] = KX_LS_PLAIN_SQL,
	[P_CLASSICAL] = KX_LS_CLASSICAL_SQL,
	[P_OFFER] = KX_LS_OFFER_SQL,
	[P_NOOFFER] = KX_LS_NOOFFER_SQL,
};

enum subject { S_ENDPOINT, S_CLIENT };

static const struct kind {
	const char *name;
	enum subject subject;
	enum pred good, bad;
	bool first_sighting;
} kinds[] = {
	{ "hybrid-to-classical", S_ENDPOINT, P_STRONG, P_DECLINED, false },
	{ "hybrid-to-draft", S_ENDPOINT, P_STRONG, P_DRAFT, false },
	{ "tls13-to-tls12", S_ENDPOINT, P_TLS13, P_TLS12, false },
	{ "tls-to-plaintext", S_ENDPOINT, P_ENCRYPTED, P_PLAIN, false },
	{ "new-classical", S_ENDPOINT, P_STRONG, P_CLASSICAL, true },
	{ "new-plaintext", S_ENDPOINT, P_NONE, P_PLAIN, true },
	{ "pq-offer-dropped", S_CLIENT, P_OFFER, P_NOOFFER, false },
	{ "new-classical", S_CLIENT, P_OFFER, P_NOOFFER, true },
	{ "new-plaintext", S_CLIENT, P_NONE, P_PLAIN, true },
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The subject keys of each --group-by, and how they fill the four output
 * key columns (NULL where the grouping has none). */
static const struct {
	const char *keys;
	const char *out;  /* server_ip, server_port, sni, client_ip */
	const char *match[4];
} ep_groups[] = {
	[KX_HOPS_ENDPOINT] = { "server_ip, server_port, sni",
			       "server_ip, server_port, sni, NULL AS client_ip",
			       { "server_ip", "server_port", "sni", NULL } },
	[KX_HOPS_SNI] = { "sni", "NULL AS server_ip, NULL AS server_port, sni, NULL AS client_ip", { NULL, NULL, "sni", NULL } },
	[KX_HOPS_SERVER] = { "server_ip", "server_ip, NULL AS server_port, NULL AS sni,"
				  " NULL AS client_ip",
			     { "server_ip", NULL, NULL, NULL } },
	[KX_HOPS_PAIR] = { "client_ip, server_ip", "server_ip, NULL AS server_port, NULL AS sni,"
				  " client_ip",
			   { "server_ip", NULL, NULL, "client_ip" } },
};

static const char *const out_keys[4] = { "server_ip", "server_port", "sni", "client_ip" };

static const struct kx_col table_cols[] = {
	{ "direction", "", false },        { "change", "CHANGE", false },
	{ "subject", "SUBJECT", false },   { "server_ip", "SERVER", false },
	{ "server_port", "PORT", true },   { "sni", "SNI", false },
	{ "client_ip", "CLIENT", false },  { "before_good", "OK BEFORE", true },
	{ "before_bad", "BAD BEFORE", true }, { "after_good", "OK AFTER", true },
	{ "after_bad", "BAD AFTER", true }, { "first_seen_s", "FIRST SEEN", false },
	{ "evidence", "EVIDENCE", false },
};

/* What a narrow terminal loses first. */
static const char *const narrow_drop[] = {
	"first_seen_s", "before_good", "after_good", "evidence", NULL,
};

void kx_changes_opts_init(struct kx_changes_opts *o)
{
	memset(o, 0, sizeof(*o));
	kx_report_filter_init(&o->f);
	o->baseline_since_us = INT64_MIN;
	o->baseline_until_us = INT64_MIN;
}

/* The counts of state p in both periods and when it was first seen in the
 * window. With the daily rollups, a rolled-up row (subj not 0, always in
 * the baseline) holds its count of the state in pN. */
static void counts(sqlite3_str *q, const char *name, enum pred p, bool daily)
{
	char is[16];
	snprintf(is, sizeof(is), "%s = 1", name);
	const char *c = p == P_NONE ? preds[P_NONE] : is;
	if (daily && p != P_NONE)
		sqlite3_str_appendf(q,
				    ", coalesce(sum(CASE WHEN subj = 0 THEN n * %s ELSE %s END)"
				    " FILTER (WHERE win = 0), 0) AS b_%s",
				    name, name, name);
	else
		sqlite3_str_appendf(q, ", coalesce(sum(n) FILTER (WHERE win = 0 AND %s), 0) AS b_%s",
				    c, name);
	sqlite3_str_appendf(q,
			    ", coalesce(sum(n) FILTER (WHERE win = 1 AND %s), 0) AS w_%s"
			    ", min(ts_first_us) FILTER (WHERE win = 1 AND %s) AS f_%s",
			    c, name, c, name);
}

/* The whole days of the baseline that the daily rollups (schema 15) count,
 * [from, to) in days, the whole weeks of it the weekly ones count (schema
 * 16; wfrom == wto: none, or a file of schema 15), and the rows they do
 * not hold yet (id > folded). */
struct daily {
	int64_t from, to, wfrom, wto, folded;
};

/* One arm of a subject's rolled-up rows as lp rows (subj): the four key
 * columns (out), the handshakes, and per state its count (cols[p], 0
 * where the table has none), summed over the buckets in where, of the
 * subjects the window shows (k: DISTINCT keys of kx_changes_wl, joined on
 * on). */
static void rolled_arm(sqlite3_str *q, const char *out, int subj, const char *const *cols,
		       const char *keys, const char *table, const char *on, const char *group,
		       const char *where)
{
	sqlite3_str_appendf(q, " UNION ALL SELECT %s, sum(d.n), 0, NULL, %d", out, subj);
	for (int p = P_NONE + 1; p < N_PRED; p++)
		sqlite3_str_appendf(q, cols[p] ? ", sum(d.%s)" : ", 0", cols[p]);
	sqlite3_str_appendf(q,
			    " FROM (SELECT DISTINCT %s FROM temp.kx_changes_wl) AS k"
			    " JOIN main.%s AS d ON %s WHERE %s%s GROUP BY %s",
			    keys, table, on, where,
			    strncmp(table, "rollup_weekly_", 14) == 0
				    ? "" /* all sensors' rows, read only without --sensor */
				    : " AND (:sensor IS NULL OR d.sensor = :sensor)",
			    group);
}

/* A subject's baseline days from the rollups (what): its whole weeks from
 * rollup_weekly_<what> and the days before and after them from
 * rollup_daily_<what>, or every day from the daily table. */
static void daily_arm(sqlite3_str *q, const char *out, int subj, const char *const *cols,
		      const char *keys, const char *what, const char *on, const char *group,
		      const struct daily *dl)
{
	char table[48], where[200];
	const int64_t W = KX_ROLLUP_WEEK_DAYS;

	snprintf(table, sizeof(table), "rollup_daily_%s", what);
	if (dl->wfrom >= dl->wto) {
		snprintf(where, sizeof(where), "d.day >= %" PRId64 " AND d.day < %" PRId64, dl->from,
			 dl->to);
		rolled_arm(q, out, subj, cols, keys, table, on, group, where);
		return;
	}
	/* The days before the first whole week and after the last, where
	 * there are any. */
	const int64_t lo = dl->wfrom * W, hi = dl->wto * W;
	if (dl->from < lo || hi < dl->to) {
		char head[80] = "", tail[80] = "";
		if (dl->from < lo)
			snprintf(head, sizeof(head), "(d.day >= %" PRId64 " AND d.day < %" PRId64 ")",
				 dl->from, lo);
		if (hi < dl->to)
			snprintf(tail, sizeof(tail), "(d.day >= %" PRId64 " AND d.day < %" PRId64 ")",
				 hi, dl->to);
		snprintf(where, sizeof(where), "(%s%s%s)", head, *head && *tail ? " OR " : "", tail);
		rolled_arm(q, out, subj, cols, keys, table, on, group, where);
	}
	snprintf(table, sizeof(table), "rollup_weekly_%s", what);
	snprintf(where, sizeof(where), "d.week >= %" PRId64 " AND d.week < %" PRId64, dl->wfrom,
		 dl->wto);
	rolled_arm(q, out, subj, cols, keys, table, on, group, where);
}

/* The legs of both periods with every predicate evaluated once per leg
 * (0 or 1 in both engines), narrow: the aggregates below read each many
 * times (two GROUP BYs, three filters per predicate), and over a month of
 * a busy link re-evaluating the text predicates cost most of the query.
 * subj says which aggregate a row is for: 0 both (a leg), 1 endpoints and
 * 2 clients (the daily rollups' rows, summed over their days). */
static void legs_preds(sqlite3_str *q, enum kx_hops_group g, const struct daily *dl)
{
	sqlite3_str_appendf(q, ", lp AS MATERIALIZED (SELECT server_ip, server_port, sni,"
			    " client_ip, n, win, ts_first_us, 0 AS subj");
	for (int p = P_NONE + 1; p < N_PRED; p++)
		sqlite3_str_appendf(q, ", CASE WHEN %s THEN 1 ELSE 0 END AS p%d", preds[p], p);
	sqlite3_str_appendf(q, " FROM legs");
	if (dl) {
		/* The baseline's days of the subjects the window shows: a line
		 * needs legs in the window, and with them both periods' counts.
		 * Endpoints are matched on their grouping's keys (a prefix of
		 * the rollup's key); sni '' is none (a key holds no NULL). Here
		 * pN is a count of handshakes, not a 0 or 1 (counts() knows). */
		static const char *const ep_cols[N_PRED] = {
			[P_STRONG] = "strong",	 [P_DECLINED] = "declined", [P_DRAFT] = "draft",
			[P_TLS13] = "tls13",	 [P_TLS12] = "tls12",	    [P_ENCRYPTED] = "encrypted",
			[P_CLASSICAL] = "classical",
		};
		static const char *const client_cols[N_PRED] = {
			[P_OFFER] = "offer",
			[P_NOOFFER] = "nooffer",
		};
		const char *on = g == KX_HOPS_SERVER
					 ? "d.server_ip = k.server_ip"
					 : "d.server_ip = k.server_ip AND d.server_port = k.server_port"
					   " AND d.sni = k.sni";
		const char *keys = g == KX_HOPS_SERVER ? "server_ip"
						       : "server_ip, server_port, coalesce(sni, '') AS sni";
		daily_arm(q, "d.server_ip, d.server_port, nullif(d.sni, ''), NULL", 1, ep_cols, keys,
			  "endpoints", on, "d.server_ip, d.server_port, d.sni", dl);
		daily_arm(q, "NULL, NULL, NULL, d.client_ip", 2, client_cols, "client_ip",
			  "clients", "d.client_ip = k.client_ip", "d.client_ip", dl);
	}
	sqlite3_str_appendf(q, ")");
}

/* One aggregate per subject: the legs of both periods in one pass. */
static void aggregate(sqlite3_str *q, const char *cte, const char *keys, enum subject subj,
		      bool daily)
{
	bool used[N_PRED] = { false };
	sqlite3_str_appendf(q, ", %s AS (SELECT %s, coalesce(sum(n) FILTER (WHERE win = 0), 0)"
			    " AS b_legs", cte, keys);
	for (size_t i = 0; i < N_KINDS; i++) {
		if (kinds[i].subject != subj)
			continue;
		enum pred ps[2] = { kinds[i].good, kinds[i].bad };
		for (int j = 0; j < 2; j++) {
			if (used[ps[j]])
				continue;
			used[ps[j]] = true;
			char name[8];
			snprintf(name, sizeof(name), "p%d", (int)ps[j]);
			counts(q, name, ps[j], daily);
		}
	}
	sqlite3_str_appendf(q, " FROM lp%s GROUP BY %s)",
			    !daily ? "" : subj == S_CLIENT ? " WHERE subj <> 1" : " WHERE subj <> 2", keys);
}

/* What differs between the engines: where the legs come from (a CTE named
 * legs with kx_legs' columns and win), how a key is compared when it may be
 * NULL, the evidence's capture file name, and the parameter names. */
struct dialect {
	const char *legs;
	/* ", wl AS ..." the window's legs the evidence is looked up in, or "" */
	const char *win_legs;
	const char *win_from; /* wl or legs */
	const char *is;
	const char *source; /* the capture file of leg g */
	const char *ties;   /* legs g of one microsecond, in this order */
};

/* The evidence of the line's first leg in the changed state: the same
 * subject, the same ts_first_us, the state's predicate. Of legs at the
 * same microsecond, a handshake before a session, then the engine's row
 * order (the merge's, the pushes'), then sensor, packet and capture file
 * (sessions rows have no id). */
static void evidence(sqlite3_str *q, const struct dialect *d, enum kx_hops_group g,
		     const char *what)
{
	sqlite3_str_appendf(q, ", CASE");
	for (size_t i = 0; i < N_KINDS; i++) {
		const struct kind *k = &kinds[i];
		for (int worse = 1; worse >= 0; worse--) {
			enum pred p = worse ? k->bad : k->good;
			if (p == P_NONE || (k->first_sighting && !worse))
				continue;
			sqlite3_str_appendf(q, " WHEN l.kind = %d AND l.direction = '%s' THEN"
					    " (SELECT %s FROM %s AS g WHERE g.win = 1 AND"
					    " g.ts_first_us = l.first_us AND %s",
					    (int)i, worse ? "worse" : "better", what, d->win_from,
					    preds[p]);
			for (int c = 0; c < 4; c++) {
				const char *m = k->subject == S_CLIENT ? (c == 3 ? "client_ip" : NULL)
								       : ep_groups[g].match[c];
				if (m)
					sqlite3_str_appendf(q, " AND g.%s %s l.%s", m, d->is,
							    out_keys[c]);
			}
			sqlite3_str_appendf(q, " ORDER BY %s LIMIT 1)", d->ties);
		}
	}
	sqlite3_str_appendf(q, " END");
}

/* The legs the daily rollups do not count: the window, the baseline's
 * partial days at both ends, its sessions (they grow in place within
 * their hour, so they are never rolled up), and its handshake rows not
 * folded yet (a rowid range: the unary + keeps SQLite off the time index
 * for them). */
static void daily_legs(sqlite3_str *q, const struct daily *dl)
{
	const int64_t r0 = dl->from * KX_ROLLUP_DAY_US, r1 = dl->to * KX_ROLLUP_DAY_US;

	sqlite3_str_appendf(q,
			    "WITH legs AS NOT MATERIALIZED (SELECT *, ts_first_us >= :since AS win"
			    " FROM kx_legs WHERE ((ts_first_us >= :since AND ts_first_us < :until)"
			    " OR (ts_first_us >= :bsince AND ts_first_us < %" PRId64 ")"
			    " OR (ts_first_us >= %" PRId64 " AND ts_first_us < :buntil))"
			    " AND (:sensor IS NULL OR sensor = :sensor)"
			    " UNION ALL SELECT *, 0 FROM kx_legs WHERE is_session = 1"
			    " AND ts_first_us >= %" PRId64 " AND ts_first_us < %" PRId64
			    " AND (:sensor IS NULL OR sensor = :sensor)"
			    " UNION ALL SELECT *, 0 FROM kx_legs WHERE is_session = 0 AND id > %" PRId64
			    " AND +ts_first_us >= %" PRId64 " AND +ts_first_us < %" PRId64
			    " AND (:sensor IS NULL OR sensor = :sensor))",
			    r0, r1, r0, r1, dl->folded, r0, r1);
}

/* The lines with their evidence, unsorted and unformatted: direction,
 * change, subject, the four keys, the counts, first_us (when the changed
 * state was first seen in the window), evidence_source, evidence_packet. */
static void lines_sql(sqlite3_str *q, const struct dialect *d, enum kx_hops_group g,
		      const struct daily *dl)
{
	if (dl)
		daily_legs(q, dl);
	else
		sqlite3_str_appendf(q, "WITH %s", d->legs);
	sqlite3_str_appendf(q, "%s", d->win_legs);
	legs_preds(q, g, dl);
	aggregate(q, "ea", ep_groups[g].keys, S_ENDPOINT, dl != NULL);
	aggregate(q, "ca", "client_ip", S_CLIENT, dl != NULL);
	sqlite3_str_appendf(q, ", lines AS (");
	for (size_t i = 0; i < N_KINDS; i++) {
		const struct kind *k = &kinds[i];
		int good = (int)k->good, bad = (int)k->bad;
		sqlite3_str_appendf(q,
				    "%sSELECT %d AS kind, '%s' AS subject, %s, '%s' AS change,"
				    " b_p%d AS before_good, b_p%d AS before_bad, w_p%d AS after_good,"
				    " w_p%d AS after_bad, f_p%d AS worse_us, f_p%d AS better_us,",
				    i ? " UNION ALL " : "", (int)i,
				    k->subject == S_CLIENT ? "client" : "endpoint",
				    k->subject == S_CLIENT ? "NULL, NULL, NULL, client_ip"
							   : ep_groups[g].out,
				    k->name, good, bad, good, bad, bad, good);
		if (k->first_sighting)
			sqlite3_str_appendf(q, " CASE WHEN b_legs = 0 AND w_p%d > 0 AND w_p%d = 0"
					    " THEN 'worse' END", bad, good);
		else
			sqlite3_str_appendf(q,
					    " CASE WHEN w_p%d > 0 AND b_p%d = 0 AND b_p%d > 0 THEN 'worse'"
					    " WHEN b_p%d > 0 AND w_p%d = 0 AND w_p%d > 0 THEN 'better' END",
					    bad, bad, good, bad, bad, good);
		sqlite3_str_appendf(q, " AS direction FROM %s", k->subject == S_CLIENT ? "ca" : "ea");
	}
	sqlite3_str_appendf(q, ")");

	sqlite3_str_appendf(q, " SELECT direction, change, subject, server_ip, server_port, sni,"
			    " client_ip, before_good, before_bad, after_good, after_bad, first_us");
	evidence(q, d, g, d->source);
	sqlite3_str_appendf(q, " AS evidence_source");
	evidence(q, d, g, "g.pkt_first_ch");
	sqlite3_str_appendf(q, " AS evidence_packet FROM (SELECT *, CASE WHEN direction = 'worse'"
			    " THEN worse_us ELSE better_us END AS first_us FROM lines"
			    " WHERE direction IS NOT NULL) AS l");
}

/* The printed columns and order, over the lines (a subquery or the central
 * store's answer table, between the two). */
#define CHANGES_OUT_HEAD                                                               \
	"SELECT direction, change, subject, server_ip, server_port, sni, client_ip,"   \
	" before_good, before_bad, after_good, after_bad,"                              \
	" " KX_SQL_TS_TEXT("first_us") " AS first_seen,"                               \
	" substr(" KX_SQL_TS_TEXT("first_us") ", 1, 19) || 'Z' AS first_seen_s,"       \
	" evidence_source, evidence_packet,"                                            \
	" evidence_source || ':' || evidence_packet AS evidence FROM "
#define CHANGES_OUT_ORDER                                                              \
	" ORDER BY direction DESC, first_us, change, subject, server_ip, server_port, sni," \
	" client_ip"

#define SQLITE_SOURCE                                                                  \
	"coalesce(CASE WHEN g.is_session THEN (SELECT name FROM sources AS s"           \
	" WHERE s.run_id = g.run_id AND s.source_id = g.source_id)"                      \
	" ELSE (SELECT source FROM handshakes AS x WHERE x.id = g.id) END, '?')"

static const struct dialect sqlite_dialect = {
	"legs AS NOT MATERIALIZED (SELECT *, ts_first_us >= :since AS win"
	" FROM kx_legs WHERE ((ts_first_us >= :since AND ts_first_us < :until)"
	" OR (ts_first_us >= :bsince AND ts_first_us < :buntil))"
	" AND (:sensor IS NULL OR sensor = :sensor))",
	/* SQLite cannot push a correlated term into the legs' union: each
	 * evidence lookup in legs would build an index over both periods
	 * (34 of them over a month's legs took most of the query). They read
	 * the window's legs, kept with a time index (kx_changes_keep_window). */
	"",
	"temp.kx_changes_wl",
	"IS",
	SQLITE_SOURCE,
	"g.is_session, g.id, g.sensor, g.pkt_first_ch, " SQLITE_SOURCE,
};

int kx_changes_keep_window(struct kx_rdb *r, const struct kx_report_filter *w)
{
	if (sqlite3_exec(r->db, "PRAGMA query_only = 0; DROP TABLE IF EXISTS temp.kx_changes_wl;"
				" PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK ||
	    kx_rdb_materialize(r, "kx_changes_wl",
			       "SELECT *, 1 AS win FROM kx_legs WHERE ts_first_us >= :since"
			       " AND ts_first_us < :until AND (:sensor IS NULL OR sensor = :sensor)",
			       w) < 0 ||
	    sqlite3_exec(r->db, "PRAGMA query_only = 0;"
				" CREATE INDEX temp.kx_changes_wl_ts ON kx_changes_wl (ts_first_us);"
				" PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK)
		return kx_rdb_fail(r);
	return 0;
}

/* Whether the kinds compare only the states the daily rollups keep. */
static bool kinds_rolled(void)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		unsigned mask = kinds[i].subject == S_CLIENT ? KX_LS_CLIENT_MASK : KX_LS_ENDPOINT_MASK;
		if ((kinds[i].good != P_NONE && !(mask & (1u << kinds[i].good))) ||
		    !(mask & (1u << kinds[i].bad)))
			return false;
	}
	return true;
}

/* The whole days of [bsince, buntil) from day 1 on, when the daily
 * rollups can count them (and its whole weeks, schema 16): schema 15, rollups on, a baseline before the
 * window (so no leg is in both), an endpoint grouping whose keys lead the
 * rollup's (endpoint, server), and at least one whole day. */
static bool daily_range(const struct kx_rdb *r, enum kx_hops_group g,
			const struct kx_report_filter *w, int64_t bsince, int64_t buntil,
			struct daily *dl)
{
	const int64_t D = KX_ROLLUP_DAY_US;

	if (r->version < 15 || !r->rolled || kx_pg_rollups_off() ||
	    (g != KX_HOPS_ENDPOINT && g != KX_HOPS_SERVER) ||
	    buntil > w->since_us || buntil <= D || !kinds_rolled())
		return false;
	dl->from = bsince <= D ? 1 : bsince / D + (bsince % D != 0);
	dl->to = buntil / D;
	dl->folded = r->folded_id;
	/* Weeks are day / 7, as the fold makes them (days >= 1 here). */
	dl->wfrom = dl->wto = 0;
	if (r->version >= 16 && !w->sensor) { /* the weekly rows are all sensors' */
		dl->wfrom = (dl->from + KX_ROLLUP_WEEK_DAYS - 1) / KX_ROLLUP_WEEK_DAYS;
		dl->wto = dl->to / KX_ROLLUP_WEEK_DAYS;
	}
	return dl->from < dl->to;
}

char *kx_changes_sql(const struct kx_rdb *r, enum kx_hops_group g,
		     const struct kx_report_filter *w, int64_t bsince, int64_t buntil)
{
	sqlite3_str *q = sqlite3_str_new(NULL);
	struct daily dl;
	bool daily = daily_range(r, g, w, bsince, buntil, &dl);

	sqlite3_str_appendall(q, CHANGES_OUT_HEAD "(");
	lines_sql(q, &sqlite_dialect, g, daily ? &dl : NULL);
	sqlite3_str_appendall(q, ")" CHANGES_OUT_ORDER);
	return sqlite3_str_finish(q);
}

/* --- the same query in PostgreSQL --- */

/* The central schema the query reads: schema 11's verdict words (as hops). */
#define PG_CHANGES_MIN_SCHEMA 7

/* The legs of both periods in the central store: $1 since, $2 until,
 * $3 sensor, $4 baseline since, $5 baseline until;
 * the columns the predicates, keys and evidence read. A session's capture
 * file is its run's source; a handshake row carries its own. */
#define PG_LEGS_WHERE                                                                  \
	" WHERE ((ts_first_us >= $1::bigint AND ts_first_us < $2::bigint)"             \
	" OR (ts_first_us >= $4::bigint AND ts_first_us < $5::bigint))"                \
	" AND ($3::text IS NULL OR sensor = $3::text)"

static const struct dialect pg_dialect = {
	"legs AS NOT MATERIALIZED (SELECT id, run_id, sensor, ts_first_us, protocol, client_ip,"
	" server_ip, server_port, sni, offers_pq, verdict, reason, ch_bytes, version_code,"
	" pkt_first_ch, 1::bigint AS n, 0 AS is_session, source AS src,"
	" (ts_first_us >= $1::bigint)::int AS win FROM handshakes" PG_LEGS_WHERE
	" UNION ALL SELECT NULL, run_id, sensor, ts_first_us, app, client_ip, server_ip, server_port,"
	" NULL, 0, verdict, nullif(reason, ''), 0, NULL, pkt_first, sessions, 1,"
	" (SELECT name FROM sources AS s WHERE s.run_id = t.run_id"
	"  AND s.source_id = t.source_id), (ts_first_us >= $1::bigint)::int"
	" FROM sessions AS t" PG_LEGS_WHERE ")",
	"",
	"legs",
	"IS NOT DISTINCT FROM",
	"coalesce(g.src, '?')",
	"g.is_session, g.id, g.sensor COLLATE \"C\", g.pkt_first_ch, g.src COLLATE \"C\"",
};

static char *changes_pg_sql(enum kx_hops_group g)
{
	sqlite3_str *q = sqlite3_str_new(NULL);
	lines_sql(q, &pg_dialect, g, NULL);
	return sqlite3_str_finish(q);
}

/* The changes answer of o computed in PostgreSQL (session pg) into the
 * in-memory table kx_answer of r->db, *ret the statement that reads it as
 * the local query's rows. Returns 0 or -1 with the message in err (r and
 * pg left open). */
int kx_changes_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_changes_opts *o,
		       sqlite3_stmt **ret, char *err, size_t errlen)
{
	struct kx_pg_window w;
	char bsince[24], buntil[24], e[512];
	const char *params[5];
	char *sql;
	int rc = -1;

	kx_pg_window_params(&w, &o->f);
	snprintf(bsince, sizeof(bsince), "%" PRId64, o->baseline_since_us);
	snprintf(buntil, sizeof(buntil), "%" PRId64, o->baseline_until_us);
	memcpy(params, w.v, 3 * sizeof(w.v[0])); /* live does not apply */
	params[3] = bsince;
	params[4] = buntil;
	if (!(sql = changes_pg_sql(o->group))) {
		snprintf(err, errlen, "out of memory");
	} else if (kx_pg_read_table(pg, sql, 5, params, r->db, "kx_answer", e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s: %s", r->target, e);
	} else if ((*ret = kx_rdb_prepare(r, CHANGES_OUT_HEAD "kx_answer" CHANGES_OUT_ORDER, NULL))) {
		rc = 0;
	}
	sqlite3_free(sql);
	return rc;
}

/* changes on a central store: the lines and their evidence are found in
 * PostgreSQL (kx_answer), SQLite formats and sorts them as the local query
 * does. Returns 0 (*ret prepared), 1 for the snapshot (an older store, a
 * --groups file), or -1 with the message in err. */
static int changes_central(struct kx_rdb *r, const char *url, const struct kx_changes_opts *o,
			   sqlite3_stmt **ret, char *err, size_t errlen)
{
	struct kx_pg_read *pg = NULL;
	int rc = kx_rdb_open_answer(r, url, PG_CHANGES_MIN_SCHEMA, &pg, err, errlen);

	if (rc != 0)
		return rc;
	rc = kx_changes_pg_load(r, pg, o, ret, err, errlen);
	kx_pg_read_close(pg);
	if (rc < 0)
		kx_rdb_close(r);
	return rc;
}

int kx_report_changes(const char *db_path, const struct kx_changes_opts *o,
		      enum kx_out_format fmt, FILE *out, int *ret_worse, char *err,
		      size_t errlen)
{
	struct kx_report_filter scope = o->f;
	struct kx_rdb r;
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	int rc = -1;

	*ret_worse = 0;
	if (kx_pg_is_url(db_path)) {
		int c = changes_central(&r, db_path, o, &s, err, errlen);
		if (c < 0)
			return -1;
		if (c == 0)
			goto count;
	}
	scope.since_us = o->baseline_since_us;
	if (kx_rdb_open_scoped(&r, db_path, &scope, err, errlen) < 0)
		return -1;
	/* Without the daily rollups, the legs of both periods are read twice
	 * (endpoints, clients) and the evidence looked up in them: kept once
	 * when they are few enough. */
	struct daily dl;
	if (!daily_range(&r, o->group, &o->f, o->baseline_since_us, o->baseline_until_us, &dl) &&
	    kx_rdb_keep_window(&r, &scope) < 0)
		goto out;
	if (!(sql = kx_changes_sql(&r, o->group, &o->f, o->baseline_since_us,
				   o->baseline_until_us))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (kx_changes_keep_window(&r, &o->f) < 0)
		goto out;
	/* Run once, read twice (the count of worse lines, then the output). */
	static const char *const names[] = { ":bsince", ":buntil" };
	const int64_t values[] = { o->baseline_since_us, o->baseline_until_us };
	if (kx_rdb_materialize_with(&r, "kx_changes_out", sql, &o->f, names, values, 2) < 0 ||
	    !(s = kx_rdb_prepare(&r, "SELECT * FROM temp.kx_changes_out ORDER BY rowid", NULL)))
		goto out;
count:
	/* Counted before printing, from the answer kept (or kx_answer). */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(s, 0), "worse") == 0)
			(*ret_worse)++;
	if (rc != SQLITE_DONE || sqlite3_reset(s) != SQLITE_OK) {
		rc = -1;
		kx_rdb_fail(&r);
		goto out;
	}
	rc = kx_rdb_output(&r, s, fmt, table_cols, sizeof(table_cols) / sizeof(table_cols[0]),
			   narrow_drop, out);
out:
	sqlite3_free(sql);
	sqlite3_finalize(s);
	kx_rdb_close(&r);
	return rc;
}
