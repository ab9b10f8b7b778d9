/* SPDX-License-Identifier: BSD-2-Clause */
/* html.c: `kexwatch report --html`: one self-contained page.
 *
 * Nothing is fetched: styles and SVG charts are inline, a few lines of
 * inline JavaScript sort the tables, and a Content-Security-Policy of
 * default-src 'none' makes the browser refuse any fetch that slipped in.
 * Every string from the database goes through kx_html_puts. The SVG is
 * inline HTML5, which needs no namespace URL.
 */
#include "report_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kexwatch/central.h"
#include "kexwatch/emit.h"
#include "kx_config.h"

struct page {
	struct kx_rdb *r;
	const struct kx_report_filter *f;
	FILE *out;
	/* A central store: every answer is computed in PostgreSQL over this
	 * session and read back into r->db (no snapshot); NULL: r is the
	 * inventory (a file, or the snapshot of an older central store). */
	struct kx_pg_read *conn;
};

/* The central schema the page reads in PostgreSQL (hops', clients',
 * health's and changes' minimum: schema 11's verdict words); an older
 * store goes through the snapshot. */
#define PG_HTML_MIN_SCHEMA 7

/* Whether the page's query reads the central rollups: the full range of a
 * schema 10 store (what hops and health read there too). */
static bool pg_rolled(const struct page *pg)
{
	return pg->f->since_us == INT64_MIN && pg->f->until_us == INT64_MAX &&
	       pg->f->live_from_us == INT64_MIN && kx_pg_read_version(pg->conn) >= 10 &&
	       !kx_pg_rollups_off();
}

/* sql run in PostgreSQL with the page's window ($1 .. $4, KX_PG_WINDOW),
 * or with rolled its sensor alone ($1), and its answer kept as table name
 * of r->db, in its order (rowid). */
static int pg_table(struct page *pg, const char *sql, bool rolled, const char *name)
{
	struct kx_pg_window w;
	char e[512];

	kx_pg_window_params(&w, pg->f);
	if (kx_pg_read_table(pg->conn, sql, rolled ? 1 : 4, rolled ? w.v + 2 : w.v, pg->r->db,
			     name, e, sizeof(e)) < 0) {
		snprintf(pg->r->err, pg->r->errlen, "%s: %s", pg->r->target, e);
		return -1;
	}
	return 0;
}

#define P(...) fprintf(pg->out, __VA_ARGS__)
#define E(s) kx_html_puts(pg->out, s)

static const char css[] =
	":root{--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--card:#fff;"
	"--ok:#1a7f37;--pq:#0a7d6e;--draft:#8250df;--mixed:#bf8700;--nopq:#e16f24;"
	"--declined:#cf222e;--tls12:#953800;--unknown:#6e7781;--resumed:#8c959f;"
	"--incomplete:#c5ccd4;--plain:#82071e}"
	"*{box-sizing:border-box}"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,"
	"sans-serif;color:var(--fg);background:var(--bg)}"
	"main{max-width:1440px;margin:0 auto;padding:24px 28px 48px}"
	"header{background:#0d1117;color:#e6edf3;padding:22px 28px}"
	"header .in{max-width:1384px;margin:0 auto}"
	"header h1{margin:0 0 4px;font-size:22px;font-weight:600;letter-spacing:.2px}"
	"header .meta{color:#9198a1;font-size:13px}"
	"header .meta b{color:#e6edf3;font-weight:500}"
	"h2{font-size:16px;margin:0 0 12px;font-weight:600}"
	"section.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;"
	"padding:18px 20px;margin:18px 0}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:14px;"
	"margin:4px 0 18px}"
	".card{background:var(--card);border:1px solid var(--line);border-radius:10px;"
	"padding:14px 16px;border-top:4px solid var(--unknown)}"
	".card .label{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.6px}"
	".card .value{font-size:30px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}"
	".card .sub{color:var(--mute);font-size:12px}"
	".card.good{border-top-color:var(--ok)}.card.good .value{color:var(--ok)}"
	".card.bad{border-top-color:var(--declined)}.card.bad .value{color:var(--declined)}"
	".card.warn{border-top-color:var(--nopq)}.card.warn .value{color:var(--nopq)}"
	".grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}"
	".grid2 section.panel{margin:0}"
	"@media(max-width:900px){.grid2{grid-template-columns:1fr}}"
	".legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--mute);margin:0 0 8px}"
	".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;"
	"vertical-align:-1px}"
	"svg{display:block;width:100%;height:auto}"
	"svg text{font:11px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;fill:#59636e}"
	"svg .grid{stroke:#eaeef2}svg .axis{stroke:#afb8c1}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	/* Names and numbers stay on one line; lists and headings wrap, so most
	 * tables fit the window and only the widest scroll sideways in their box. */
	"th,td{padding:6px 7px;text-align:left;border-bottom:1px solid #eaeef2;white-space:nowrap}"
	"th{white-space:normal;vertical-align:bottom;font-size:12px}"
	"td.t{white-space:normal;min-width:76px}"
	"td.wrap{white-space:normal;min-width:90px;max-width:320px;overflow-wrap:anywhere}"
	"th{position:sticky;top:0;background:#f6f8fa;font-weight:600;color:#3d444d;"
	"cursor:pointer;user-select:none;border-bottom:1px solid var(--line)}"
	"th[aria-sort=ascending]::after{content:' \\25B2';font-size:9px}"
	"th[aria-sort=descending]::after{content:' \\25BC';font-size:9px}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	"tbody tr:hover{background:#f6f8fa}"
	".scroll{max-height:640px;overflow:auto;max-width:100%;border:1px solid #eaeef2;"
	"border-radius:6px}"
	"tr.v td:first-child{border-left:4px solid var(--unknown)}"
	"tr.v-hybrid td:first-child{border-left-color:var(--ok)}"
	"tr.v-mixed td:first-child{border-left-color:var(--mixed)}"
	"tr.v-draft td:first-child{border-left-color:var(--draft)}"
	"tr.v-nopq td:first-child{border-left-color:var(--nopq)}"
	"tr.v-declined td:first-child{border-left-color:var(--declined)}"
	"tr.v-plain td:first-child{border-left-color:var(--plain)}"
	"tr.v-tls12 td:first-child{border-left-color:var(--tls12)}"
	"tr.v-declined{background:#fff5f5}tr.v-nopq{background:#fff8f2}tr.v-plain{background:#ffebe9}"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:11px;"
	"font-weight:600;color:#fff;background:var(--unknown);white-space:normal}"
	".b-hybrid{background:var(--ok)}.b-mixed{background:var(--mixed)}"
	".b-draft{background:var(--draft)}.b-nopq{background:var(--nopq)}"
	".b-declined{background:var(--declined)}.b-plain{background:var(--plain)}"
	".b-tls12{background:var(--tls12)}"
	".note{color:var(--mute);font-size:12px;margin:8px 0 0}"
	"ul.findings{list-style:none;margin:0;padding:0}"
	"ul.findings li{padding:8px 10px;margin:6px 0;border-radius:6px;border-left:4px solid;"
	"background:#f6f8fa}"
	"ul.findings li.error{border-color:var(--declined);background:#fff5f5}"
	"ul.findings li.warning{border-color:var(--mixed);background:#fff8e5}"
	"ul.findings li.info{border-color:#0969da;background:#f0f7ff}"
	".sev{font-weight:650;text-transform:uppercase;font-size:11px;margin-right:8px}"
	".empty{color:var(--mute);font-style:italic}"
	"footer{color:var(--mute);font-size:12px;text-align:center;margin-top:28px}"
	/* Paper: every row of every table (no scroll boxes, headings repeated
	 * on each page), each table section on a new page, landscape. */
	"@page{size:A4 landscape;margin:10mm}"
	"@media print{"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"body{background:#fff;font-size:10px}"
	"header{background:#fff;color:#000;padding:0 0 6px;border-bottom:2px solid #000}"
	"header .meta,header .meta b{color:#000}"
	"main{max-width:none;padding:0}"
	".cards{grid-template-columns:repeat(4,1fr);gap:6px}"
	".card{padding:6px 8px;break-inside:avoid}.card .value{font-size:20px}"
	".grid2{grid-template-columns:1fr 1fr}.grid2 section.panel{margin:0}"
	"svg{max-height:85mm}"
	"section.panel{border:0;border-radius:0;padding:0;margin:0 0 10px;break-inside:avoid}"
	"section.panel:has(table){break-before:page;break-inside:auto}"
	".scroll{max-height:none;overflow:visible;border:0}"
	"table{font-size:9px;width:100%}"
	".badge{font-size:8px;padding:0 5px}"
	"th,td{padding:2px 4px}"
	"th{position:static;cursor:auto;font-size:9px}"
	"td.wrap{min-width:0;max-width:none}"
	"thead{display:table-header-group}"
	"tr{break-inside:avoid}"
	"tbody tr:hover{background:none}"
	"footer{margin-top:8px}"
	"}";

/* Sorting: a click on a heading sorts by it (numbers by data-v), again
 * reverses; "#sort=TABLE:COL:asc|desc" in the URL sorts on load. */
static const char js[] =
	"(function(){"
	"function k(c){var v=c.getAttribute('data-v');"
	"return v!==null?parseFloat(v):c.textContent.trim().toLowerCase();}"
	"function sortBy(t,col,dir){var b=t.tBodies[0],r=[].slice.call(b.rows);"
	"r.sort(function(x,y){var a=k(x.cells[col]),c=k(y.cells[col]);"
	"return a<c?-dir:a>c?dir:0;});r.forEach(function(x){b.appendChild(x);});"
	"var h=t.tHead.rows[0].cells;for(var i=0;i<h.length;i++)h[i].removeAttribute('aria-sort');"
	"h[col].setAttribute('aria-sort',dir>0?'ascending':'descending');}"
	"[].forEach.call(document.querySelectorAll('table.sortable'),function(t){"
	"[].forEach.call(t.tHead.rows[0].cells,function(th,i){th.addEventListener('click',function(){"
	"sortBy(t,i,th.getAttribute('aria-sort')==='ascending'?-1:1);});});});"
	"var m=/^#sort=([\\w-]+):(\\d+):(asc|desc)$/.exec(location.hash);"
	"if(m){var t=document.getElementById(m[1]);if(t&&t.tHead&&+m[2]<t.tHead.rows[0].cells.length)"
	"sortBy(t,+m[2],m[3]==='asc'?1:-1);}"
	"document.documentElement.setAttribute('data-sortable','ready');"
	"})();";

/* The CSS class of an endpoint verdict. */
static const char *verdict_class(const char *v)
{
	if (!v)
		return "unknown";
	if (strcmp(v, "hybrid") == 0)
		return "hybrid";
	if (strcmp(v, "mixed") == 0)
		return "mixed";
	if (strcmp(v, "draft-kyber") == 0)
		return "draft";
	if (strcmp(v, "classical (server-declined)") == 0)
		return "declined";
	if (strcmp(v, "classical (clients-no-pq)") == 0)
		return "nopq";
	if (strcmp(v, "classical (offer-unseen)") == 0)
		return "tls12";
	if (strcmp(v, "plaintext") == 0)
		return "plain";
	return "unknown";
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v ? v : "";
}

static int col_index(sqlite3_stmt *s, const char *name)
{
	for (int i = 0; i < sqlite3_column_count(s); i++)
		if (strcmp(sqlite3_column_name(s, i), name) == 0)
			return i;
	return -1;
}

/* "2026-11-22T10:00:00.123456Z" -> "2026-11-22 10:00:00". */
static void put_time(struct page *pg, const char *ts)
{
	char buf[20];

	if (!ts || strlen(ts) < 19) {
		E(ts ? ts : "-");
		return;
	}
	memcpy(buf, ts, 19);
	buf[10] = ' ';
	buf[19] = '\0';
	E(buf);
}

static void num_cell(struct page *pg, long long v)
{
	P("<td class=\"n\" data-v=\"%lld\">%lld</td>", v, v);
}

static void text_cell(struct page *pg, const char *v, bool wrap)
{
	P("<td%s>", wrap ? " class=\"wrap\"" : "");
	E(v && *v ? v : "-");
	P("</td>");
}

/* A comma-separated list that may break after each comma. */
static void list_cell(struct page *pg, const char *v)
{
	P("<td class=\"wrap\">");
	if (!v || !*v)
		E("-");
	while (v && *v) {
		size_t n = strcspn(v, ",");
		char part[256];
		snprintf(part, sizeof(part), "%.*s", (int)(n < sizeof(part) ? n : sizeof(part) - 1), v);
		E(part);
		v += n;
		if (*v == ',') {
			P(",<wbr>");
			v++;
		}
	}
	P("</td>");
}

/* --- headline --- */

struct summary {
	long long handshakes, deciding, pq, hybrid, pure, draft, classical, unknown, resumed,
		incomplete, declined, nopq, tls12, clients;
	long long first_us, last_us;
	char *first, *last, *sensors, *protocols;
	long long hops, hops_hybrid, hops_declined, hops_nopq, hops_mixed, hops_draft;
	long long hops_offer_unseen, hops_plaintext, hops_unobserved, hops_unknown, hops_noverdict;
	long long plaintext, unseen;  /* sessions without a handshake, by weight */
	char *plaintext_apps;
	long long clients_none, clients_some, clients_plaintext, clients_listed;
	struct kx_findings fs;
};

static char *dup_col(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v ? sqlite3_mprintf("%s", v) : NULL;
}

/* Handshake counts are of handshakes; the sessions without one are counted
 * apart (plaintext, handshake unseen) by their weight. */
#define SUMMARY_SQL(FILTERED, CLIENTS, NEWEST) SUMMARY_SQL_S(FILTERED, CLIENTS, NEWEST, \
						      "kx_set(sensor, 6)")
/* SENSORS: the sensors' list, when h's sensor column does not hold them all. */
#define SUMMARY_SQL_S(FILTERED, CLIENTS, NEWEST, SENSORS)                              \
	"WITH " FILTERED                                                                  \
	" SELECT sum(n * (NOT is_session)), sum(n * (verdict IN ('hybrid', 'pq', 'hybrid-draft'," \
	" 'classical', 'unknown') AND NOT is_session)),"                                  \
	" sum(n * (verdict = 'hybrid')), sum(n * (verdict = 'pq')),"                      \
	" sum(n * (verdict = 'hybrid-draft')), sum(n * (verdict = 'classical')),"         \
	" sum(n * (verdict = 'unknown' AND NOT is_session)), sum(n * (verdict = 'resumed')),"  \
	" sum(n * (verdict = 'incomplete')),"                                             \
	" sum(n * (verdict = 'classical' AND reason IS 'server-declined')),"              \
	" sum(n * (verdict = 'classical' AND reason IS 'client-no-pq')),"                 \
	" sum(n * (verdict = 'classical' AND reason IS 'tls12')), " CLIENTS ","           \
	" min(ts_first_us), " NEWEST ", " KX_SQL_TS_TEXT("min(ts_first_us)") ","          \
	" " KX_SQL_TS_TEXT("max(ts_last_us)") ", " SENSORS ","                             \
	" kx_set(protocol),"                                                              \
	" coalesce(sum(n) FILTER (WHERE is_session AND verdict = 'plaintext'), 0),"       \
	" coalesce(sum(n) FILTER (WHERE is_session AND reason IS 'handshake-unseen'), 0),"  \
	" kx_set(app, 6) FILTER (WHERE is_session AND verdict = 'plaintext') FROM h"

static const char summary_sql[] =
	SUMMARY_SQL(KX_SQL_FILTERED, "count(DISTINCT client_ip)", "max(ts_first_us)");
/* Over the rollups: the clients of every client rollup and of the rows not
 * folded yet; the newest first segment from each group's newest. */
#define ROLLED_SENSOR "(:sensor IS NULL OR sensor = :sensor)"
static const char summary_rolled_sql[] = SUMMARY_SQL(
	KX_SQL_FILTERED_ROLLED,
	"(SELECT count(*) FROM (SELECT client_ip FROM main.rollup_client_legs WHERE " ROLLED_SENSOR
	" UNION SELECT client_ip FROM kx_tail_pairs WHERE " ROLLED_SENSOR
	/* every sessions row: folded ones' pairs are in rollup_pairs only */
	" UNION SELECT client_ip FROM main.sessions WHERE " ROLLED_SENSOR "))",
	"(SELECT max(m) FROM (SELECT max(newest_first_us) AS m FROM main.rollup_legs WHERE "
	ROLLED_SENSOR " UNION ALL SELECT max(ts_first_us) FROM h))");

/* Schema 14: a client with folded legs or pairs has a counter row (per
 * sensor, or over all sensors), a few rows per client. The sensors of the
 * rolled-up legs from rollup_legs: without --sensor h reads
 * rollup_legs_all (schema 16), whose legs have none. */
static const char summary_v14_sql[] = SUMMARY_SQL_S(
	KX_SQL_FILTERED_ROLLED,
	"(SELECT count(*) FROM (SELECT client_ip FROM main.rollup_client_counts_all"
	" WHERE :sensor IS NULL UNION ALL SELECT client_ip FROM main.rollup_client_counts"
	" WHERE sensor = :sensor UNION SELECT client_ip FROM kx_tail_pairs WHERE " ROLLED_SENSOR
	" UNION SELECT client_ip FROM main.sessions WHERE " ROLLED_SENSOR "))",
	"(SELECT max(m) FROM (SELECT max(newest_first_us) AS m FROM main.rollup_legs WHERE "
	ROLLED_SENSOR " UNION ALL SELECT max(ts_first_us) FROM h))",
	"(SELECT kx_set(s, 6) FROM (SELECT DISTINCT sensor AS s FROM main.rollup_legs WHERE "
	ROLLED_SENSOR " UNION SELECT sensor FROM h WHERE sensor IS NOT NULL))");

/* The legs of the central store in the page's window (KX_PG_WINDOW),
 * as KX_SQL_FILTERED's kx_legs: the handshakes and the hourly sessions
 * rows, only the columns the page's own queries read. */
#define PG_LEGS                                                                        \
	"h AS (SELECT ts_first_us, ts_last_us, sensor, protocol, client_ip, verdict,"  \
	" reason, 1::bigint AS n, false AS is_session, NULL::text AS app"              \
	" FROM handshakes" KX_PG_WINDOW                                                 \
	" UNION ALL SELECT ts_first_us, ts_last_us, sensor, app, client_ip, verdict,"  \
	" nullif(reason, ''), sessions, true, app FROM sessions" KX_PG_WINDOW ")"
/* kx_set(x, 6) over the rows where cond holds. */
#define PG_SET6(x, cond)                                                               \
	"array_to_string((array_agg(DISTINCT " x " COLLATE \"C\" ORDER BY " x " COLLATE \"C\")" \
	" FILTER (WHERE " x " IS NOT NULL AND " cond "))[1:6], ',')"                     \
	" || CASE WHEN count(DISTINCT " x ") FILTER (WHERE " cond ") > 6"                \
	" THEN ' +' || (count(DISTINCT " x ") FILTER (WHERE " cond ") - 6) ELSE '' END"

/* The same over the full range from the rollups (rollup_legs, a leg
 * weighing its handshakes), the rows pending for them and the sessions;
 * the sensor is $1. newest_us: a rolled-up leg's newest first segment. */
#define PG_SENSOR "($1::text IS NULL OR sensor = $1::text)"
#define PG_ROLLED_LEGS                                                                 \
	"h AS (SELECT first_us AS ts_first_us, last_us AS ts_last_us,"                  \
	" newest_first_us AS newest_us, sensor, protocol, NULL::text AS client_ip,"     \
	" verdict, nullif(reason, '') AS reason, n, false AS is_session,"               \
	" NULL::text AS app FROM rollup_legs WHERE " PG_SENSOR                          \
	" UNION ALL SELECT ts_first_us, ts_last_us, ts_first_us, sensor, protocol,"     \
	" client_ip, verdict, reason, 1, false, NULL FROM rollup_pending WHERE " PG_SENSOR \
	" UNION ALL SELECT ts_first_us, ts_last_us, ts_first_us, sensor, app, client_ip," \
	" verdict, nullif(reason, ''), sessions, true, app FROM sessions WHERE " PG_SENSOR ")"
/* The distinct clients of the rolled-up pairs (of every sensor, or of
 * $1's), of the pending rows and of the sessions. */
#define PG_ROLLED_CLIENTS                                                              \
	"(SELECT count(*) FROM (SELECT client_ip FROM rollup_pairs_all WHERE $1::text IS NULL" \
	" UNION SELECT client_ip FROM rollup_pairs WHERE sensor = $1::text"              \
	" UNION SELECT client_ip FROM rollup_pending WHERE " PG_SENSOR                   \
	" UNION SELECT client_ip FROM sessions WHERE " PG_SENSOR ") AS c)"

/* summary_sql in PostgreSQL: the same columns in the same order, every
 * count a sum of weights (a handshake weighs 1). */
#define SUMMARY_PG_SQL(LEGS, CLIENTS, NEWEST)                                          \
	"WITH " LEGS " SELECT" \
	" " KX_PG_SUM_N("NOT is_session") " AS handshakes," \
	" " KX_PG_SUM_N("verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')" \
			" AND NOT is_session") " AS deciding," \
	" " KX_PG_SUM_N("verdict = 'hybrid'") " AS hybrid," \
	" " KX_PG_SUM_N("verdict = 'pq'") " AS pq," \
	" " KX_PG_SUM_N("verdict = 'hybrid-draft'") " AS draft," \
	" " KX_PG_SUM_N("verdict = 'classical'") " AS classical," \
	" " KX_PG_SUM_N("verdict = 'unknown' AND NOT is_session") " AS unknown," \
	" " KX_PG_SUM_N("verdict = 'resumed'") " AS resumed," \
	" " KX_PG_SUM_N("verdict = 'incomplete'") " AS incomplete," \
	" " KX_PG_SUM_N("verdict = 'classical' AND reason = 'server-declined'") " AS declined," \
	" " KX_PG_SUM_N("verdict = 'classical' AND reason = 'client-no-pq'") " AS nopq," \
	" " KX_PG_SUM_N("verdict = 'classical' AND reason = 'tls12'") " AS tls12," \
	" " CLIENTS " AS clients, min(ts_first_us) AS first_us," \
	" " NEWEST " AS newest_us, " KX_PG_TS_TEXT("min(ts_first_us)") " AS first," \
	" " KX_PG_TS_TEXT("max(ts_last_us)") " AS last, " PG_SET6("sensor", "true") " AS sensors," \
	" " KX_PG_SET("protocol") " AS protocols," \
	" " KX_PG_SUM_N("is_session AND verdict = 'plaintext'") " AS plaintext," \
	" " KX_PG_SUM_N("is_session AND reason = 'handshake-unseen'") " AS unseen," \
	" " PG_SET6("app", "is_session AND verdict = 'plaintext'") " AS plaintext_apps FROM h"
static const char summary_pg_sql[] =
	SUMMARY_PG_SQL(PG_LEGS, "count(DISTINCT client_ip)", "max(ts_first_us)");
static const char summary_pg_rolled_sql[] =
	SUMMARY_PG_SQL(PG_ROLLED_LEGS, PG_ROLLED_CLIENTS, "max(newest_us)");

static int load_summary(struct page *pg, struct summary *sm)
{
	sqlite3_stmt *s;
	char *sql;
	int rc;

	if (pg->conn)
		s = pg_table(pg, pg_rolled(pg) ? summary_pg_rolled_sql : summary_pg_sql,
			     pg_rolled(pg), "kx_html_summary") < 0
			    ? NULL
			    : kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_summary", NULL);
	else
		s = kx_rdb_prepare(pg->r,
				   !kx_rdb_full_range(pg->r, pg->f) ? summary_sql
				   : pg->r->version >= 14	    ? summary_v14_sql
								    : summary_rolled_sql,
				   pg->f);
	if (!s)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		long long *v[] = { &sm->handshakes, &sm->deciding, &sm->hybrid, &sm->pure,
				   &sm->draft, &sm->classical, &sm->unknown, &sm->resumed,
				   &sm->incomplete, &sm->declined, &sm->nopq, &sm->tls12,
				   &sm->clients, &sm->first_us, &sm->last_us };
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			*v[i] = sqlite3_column_int64(s, (int)i);
		sm->pq = sm->hybrid + sm->pure;
		sm->first = dup_col(s, 15);
		sm->last = dup_col(s, 16);
		sm->sensors = dup_col(s, 17);
		sm->protocols = dup_col(s, 18);
		sm->plaintext = sqlite3_column_int64(s, 19);
		sm->unseen = sqlite3_column_int64(s, 20);
		sm->plaintext_apps = dup_col(s, 21);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return kx_rdb_fail(pg->r);

	/* Endpoint verdicts: the hops query, counted. */
	sql = sqlite3_mprintf("SELECT count(*), sum(verdict = 'hybrid'),"
			      " sum(verdict = 'classical (server-declined)'),"
			      " sum(verdict = 'classical (clients-no-pq)'), sum(verdict = 'mixed'),"
			      " sum(verdict = 'draft-kyber'), sum(verdict = 'classical (offer-unseen)'),"
			      " sum(verdict = 'plaintext'), sum(verdict = 'no-verdict (not observed)'),"
			      " sum(verdict = 'unknown'), sum(verdict = 'no-verdict')"
			      " FROM kx_html_hops");
	if (!sql || !(s = kx_rdb_prepare(pg->r, sql, pg->f))) {
		sqlite3_free(sql);
		return -1;
	}
	sqlite3_free(sql);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sm->hops = sqlite3_column_int64(s, 0);
		sm->hops_hybrid = sqlite3_column_int64(s, 1);
		sm->hops_declined = sqlite3_column_int64(s, 2);
		sm->hops_nopq = sqlite3_column_int64(s, 3);
		sm->hops_mixed = sqlite3_column_int64(s, 4);
		sm->hops_draft = sqlite3_column_int64(s, 5);
		sm->hops_offer_unseen = sqlite3_column_int64(s, 6);
		sm->hops_plaintext = sqlite3_column_int64(s, 7);
		sm->hops_unobserved = sqlite3_column_int64(s, 8);
		sm->hops_unknown = sqlite3_column_int64(s, 9);
		sm->hops_noverdict = sqlite3_column_int64(s, 10);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return kx_rdb_fail(pg->r);

	/* The card counts the clients the clients section lists (its WHERE). */
	if (!(s = kx_rdb_prepare(pg->r, "SELECT sum(offers_pq = 'none'), sum(offers_pq = 'some'),"
				 " sum(n_plaintext > 0), sum(offers_pq IN ('none', 'some')"
				 " OR n_plaintext > 0) FROM kx_html_clients", pg->f)))
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sm->clients_none = sqlite3_column_int64(s, 0);
		sm->clients_some = sqlite3_column_int64(s, 1);
		sm->clients_plaintext = sqlite3_column_int64(s, 2);
		sm->clients_listed = sqlite3_column_int64(s, 3);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return kx_rdb_fail(pg->r);
	return pg->conn ? kx_health_pg_findings(pg->r, &sm->fs)
			: kx_health_findings(pg->r, pg->f, &sm->fs);
}

static void summary_free(struct summary *sm)
{
	sqlite3_free(sm->first);
	sqlite3_free(sm->last);
	sqlite3_free(sm->sensors);
	sqlite3_free(sm->protocols);
	sqlite3_free(sm->plaintext_apps);
	kx_findings_free(&sm->fs);
}

static void card(struct page *pg, const char *cls, const char *label, const char *id,
		 const char *value, const char *sub)
{
	P("<div class=\"card %s\"><div class=\"label\">%s</div>"
	  "<div class=\"value\" id=\"%s\">%s</div><div class=\"sub\">%s</div></div>\n",
	  cls, label, id, value, sub);
}

static void headline(struct page *pg, const struct summary *sm)
{
	char v[32], sub[160];
	long long errors = 0;

	for (size_t i = 0; i < sm->fs.n; i++)
		errors += sm->fs.v[i].sev == KX_SEV_ERROR;
	P("<div class=\"cards\">\n");
	if (sm->deciding)
		snprintf(v, sizeof(v), "%.1f%%", 100.0 * (double)sm->pq / (double)sm->deciding);
	else
		snprintf(v, sizeof(v), "n/a");
	snprintf(sub, sizeof(sub), "%lld of %lld deciding handshakes hybrid or pure ML-KEM",
		 sm->pq, sm->deciding);
	card(pg, sm->deciding && sm->pq == sm->deciding ? "good" : sm->pq * 2 >= sm->deciding ?
	     "warn" : "bad", "Hybrid share", "kx-share", v, sub);
	snprintf(v, sizeof(v), "%lld", sm->handshakes);
	snprintf(sub, sizeof(sub), "%lld classical, %lld resumed, %lld without ServerHello",
		 sm->classical, sm->resumed, sm->incomplete);
	card(pg, "", "Handshakes", "kx-handshakes", v, sub);
	/* Worst first: a leg with no encryption at all. */
	snprintf(v, sizeof(v), "%lld", sm->hops_plaintext);
	snprintf(sub, sizeof(sub), "%lld session%s without any encryption%s%s%s", sm->plaintext,
		 sm->plaintext == 1 ? "" : "s", sm->plaintext_apps ? " (" : "",
		 sm->plaintext_apps ? sm->plaintext_apps : "", sm->plaintext_apps ? ")" : "");
	card(pg, sm->hops_plaintext ? "bad" : "good", "Plaintext hops", "kx-plaintext-hops", v, sub);
	long long classical = sm->hops_declined + sm->hops_nopq + sm->hops_offer_unseen;
	snprintf(v, sizeof(v), "%lld", classical);
	snprintf(sub, sizeof(sub), "of %lld hops (server, port, SNI); %lld hybrid, %lld mixed",
		 sm->hops, sm->hops_hybrid, sm->hops_mixed);
	card(pg, classical ? "bad" : "good", "Classical hops", "kx-classical-hops", v, sub);
	snprintf(v, sizeof(v), "%lld", sm->hops_declined);
	snprintf(sub, sizeof(sub), "clients offered PQ, the server chose classical: upgrade "
		 "the server");
	card(pg, sm->hops_declined ? "bad" : "good", "Server-declined hops", "kx-declined-hops", v,
	     sub);
	/* Every client the clients section lists: none, some and plaintext. */
	snprintf(v, sizeof(v), "%lld", sm->clients_listed);
	snprintf(sub, sizeof(sub), "of %lld client%s: %lld never offer%s a PQ group, %lld only "
		 "sometimes, %lld talk%s in plaintext", sm->clients, sm->clients == 1 ? "" : "s",
		 sm->clients_none, sm->clients_none == 1 ? "s" : "", sm->clients_some,
		 sm->clients_plaintext, sm->clients_plaintext == 1 ? "s" : "");
	card(pg, sm->clients_listed ? "warn" : "good", "Clients without PQ or in plaintext",
	     "kx-nopq-clients", v, sub);
	snprintf(v, sizeof(v), "%lld", sm->hops_unobserved);
	snprintf(sub, sizeof(sub), "hops seen only in encrypted sessions whose handshake was not "
		 "captured: key exchange not observed (%lld such session%s in all)", sm->unseen,
		 sm->unseen == 1 ? "" : "s");
	card(pg, sm->hops_unobserved ? "warn" : "good", "Not observed", "kx-unobserved-hops", v,
	     sub);
	snprintf(v, sizeof(v), "%zu", sm->fs.n);
	snprintf(sub, sizeof(sub), "%lld error%s: plaintext legs, dropped or lost ClientHellos",
		 errors, errors == 1 ? "" : "s");
	card(pg, errors ? "bad" : sm->fs.n ? "warn" : "good", "Health findings", "kx-findings", v,
	     sub);
	P("</div>\n");
}

/* --- charts --- */

struct vseg {
	const char *name, *color;
	long long n;
};

static void verdict_mix(struct page *pg, const struct summary *sm)
{
	const struct vseg seg[] = {
		{ "hybrid", "var(--ok)", sm->hybrid },
		{ "pq", "var(--pq)", sm->pure },
		{ "hybrid-draft", "var(--draft)", sm->draft },
		{ "classical / server-declined", "var(--declined)", sm->declined },
		{ "classical / client-no-pq", "var(--nopq)", sm->nopq },
		{ "classical / tls12", "var(--tls12)", sm->tls12 },
		{ "unknown", "var(--unknown)", sm->unknown },
		{ "resumed", "var(--resumed)", sm->resumed },
		{ "incomplete", "var(--incomplete)", sm->incomplete },
	};
	const double w = 1000;
	double x = 0;

	P("<section class=\"panel\"><h2>Handshakes by verdict</h2><div class=\"legend\">");
	for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++)
		P("<span><i style=\"background:%s\"></i>%s %lld</span>", seg[i].color, seg[i].name,
		  seg[i].n);
	P("</div><svg id=\"kx-chart-verdicts\" viewBox=\"0 0 1000 34\" role=\"img\" "
	  "aria-label=\"handshakes by verdict\">");
	if (!sm->handshakes)
		P("<rect x=\"0\" y=\"4\" width=\"1000\" height=\"26\" rx=\"5\" fill=\"#eaeef2\"/>");
	for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]) && sm->handshakes; i++) {
		double bw = w * (double)seg[i].n / (double)sm->handshakes;
		if (!seg[i].n)
			continue;
		P("<rect x=\"%.2f\" y=\"4\" width=\"%.2f\" height=\"26\" fill=\"%s\">"
		  "<title>%s: %lld (%.1f%%)</title></rect>", x, bw, seg[i].color, seg[i].name,
		  seg[i].n, 100.0 * (double)seg[i].n / (double)sm->handshakes);
		x += bw;
	}
	P("</svg></section>\n");
}

/* 1, 2, 5 times a power of ten, at least v. */
static long long nice_max(long long v)
{
	long long p = 1;

	if (v <= 0)
		return 1;
	while (p * 10 <= v)
		p *= 10;
	for (int m = 1; m <= 10; m = m == 1 ? 2 : m == 2 ? 5 : 10)
		if (m * p >= v)
			return m * p;
	return 10 * p;
}

struct bucket {
	long long pq, draft, classical, unknown, other;
};

/* A bin's hybrid share is drawn only over this many deciding handshakes:
 * 1 of 2 is not "50 %". Smaller bins show their bar (counts) alone. */
#define SHARE_MIN_DECIDING 10

static void bucket_label(int64_t start_s, int64_t size_s, char *buf, size_t len, bool full)
{
	time_t t = (time_t)start_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	if (size_s >= 86400)
		strftime(buf, len, "%Y-%m-%d", &tm);
	else if (full)
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	else
		strftime(buf, len, size_s >= 3600 ? "%m-%d %H:00" : "%H:%M", &tm);
}

static int share_chart(struct page *pg, const struct summary *sm)
{
	static const int64_t sizes[] = { 300, 3600, 86400, 7 * 86400 };
	static const char *const size_names[] = { "5 minutes", "hour", "day", "week" };
	const double W = 1200, H = 320, L = 56, R = 56, T = 16, B = 44;
	int64_t size = sizes[0], first, last, n;
	size_t si = 0;
	struct bucket *b = NULL;
	long long top = 0;
	sqlite3_stmt *s;
	char *sql;
	int rc;

	P("<section class=\"panel\"><h2>Hybrid share over time</h2>");
	if (!sm->deciding) {
		P("<p class=\"empty\">No deciding handshake in this period.</p>"
		  "<svg id=\"kx-chart-share\" viewBox=\"0 0 1200 40\"></svg></section>\n");
		return 0;
	}
	/* Hours or days as the brief span needs; at most 240 bars. */
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size = sizes[si];
		if ((sm->last_us / 1000000) / size - (sm->first_us / 1000000) / size < 240)
			break;
	}
	if (si == sizeof(sizes) / sizeof(sizes[0]))
		si--;
	first = (sm->first_us / 1000000) / size;
	last = (sm->last_us / 1000000) / size;
	n = last - first + 1;
	if (n > 100000 || !(b = calloc((size_t)n, sizeof(*b)))) {
		snprintf(pg->r->err, pg->r->errlen, "out of memory");
		return -1;
	}
	/* Over the full range, buckets of an hour or more add up the hourly
	 * rollup (and the rows not folded yet); hours since 1970 fall into
	 * such buckets as their seconds do. */
	if (pg->conn)
		/* PostgreSQL: the same buckets over the handshakes there. */
		sql = sqlite3_mprintf("SELECT ts_first_us / 1000000 / %lld AS b,"
				      " " KX_PG_COUNT("verdict IN ('hybrid', 'pq')") " AS pq,"
				      " " KX_PG_COUNT("verdict = 'hybrid-draft'") " AS draft,"
				      " " KX_PG_COUNT("verdict = 'classical'") " AS classical,"
				      " " KX_PG_COUNT("verdict = 'unknown'") " AS unknown,"
				      " " KX_PG_COUNT("verdict IN ('resumed', 'incomplete')") " AS other"
				      " FROM handshakes" KX_PG_WINDOW " GROUP BY b ORDER BY b",
				      (long long)size);
	else if (size >= 3600 && sm->first_us >= 0 && kx_rdb_full_range(pg->r, pg->f))
		sql = sqlite3_mprintf(
			"WITH " KX_SQL_FILTERED_ROLLED ","
			" t AS (SELECT hour, verdict, n FROM main.rollup_hourly WHERE " ROLLED_SENSOR
			" UNION ALL SELECT ts_first_us / 3600000000, verdict, n FROM h"
			"  WHERE id IS NOT NULL AND NOT is_session)"
			" SELECT hour * 3600 / %lld AS b,"
			" sum(n * (verdict IN ('hybrid', 'pq'))), sum(n * (verdict = 'hybrid-draft')),"
			" sum(n * (verdict = 'classical')), sum(n * (verdict = 'unknown')),"
			" sum(n * (verdict IN ('resumed', 'incomplete')))"
			" FROM t GROUP BY b ORDER BY b", (long long)size);
	else
		sql = sqlite3_mprintf("WITH " KX_SQL_FILTERED
				      " SELECT ts_first_us / 1000000 / %lld AS b,"
				      " sum(verdict IN ('hybrid', 'pq')), sum(verdict = 'hybrid-draft'),"
				      " sum(verdict = 'classical'), sum(verdict = 'unknown'),"
				      " sum(verdict IN ('resumed', 'incomplete'))"
				      " FROM h WHERE NOT is_session GROUP BY b ORDER BY b",
				      (long long)size);
	if (sql && pg->conn)
		s = pg_table(pg, sql, false, "kx_html_share") < 0
			    ? NULL
			    : kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_share ORDER BY rowid", NULL);
	else
		s = sql ? kx_rdb_prepare(pg->r, sql, pg->f) : NULL;
	if (!sql)
		snprintf(pg->r->err, pg->r->errlen, "out of memory");
	sqlite3_free(sql);
	if (!s) {
		free(b);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t i = sqlite3_column_int64(s, 0) - first;
		if (i < 0 || i >= n)
			continue;
		b[i] = (struct bucket){ sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
					sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
					sqlite3_column_int64(s, 5) };
		long long d = b[i].pq + b[i].draft + b[i].classical + b[i].unknown;
		if (d > top)
			top = d;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(b);
		return kx_rdb_fail(pg->r);
	}
	top = nice_max(top);

	const double pw = W - L - R, ph = H - T - B, slot = pw / (double)n;
	const double bw = slot * 0.72 > 60 ? 60 : slot * 0.72;
	char label[48];

	P("<div class=\"legend\"><span><i style=\"background:var(--ok)\"></i>hybrid or pq</span>"
	  "<span><i style=\"background:var(--draft)\"></i>hybrid-draft</span>"
	  "<span><i style=\"background:var(--declined)\"></i>classical</span>"
	  "<span><i style=\"background:var(--unknown)\"></i>unknown</span>"
	  "<span><i style=\"background:#0969da;height:3px;vertical-align:3px\"></i>hybrid share "
	  "(right axis; only where a %s has %d or more deciding handshakes)</span>"
	  "<span>bars: deciding handshakes per %s</span></div>",
	  size_names[si], SHARE_MIN_DECIDING, size_names[si]);
	P("<svg id=\"kx-chart-share\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
	  "aria-label=\"hybrid share over time\">", W, H);
	for (int g = 0; g <= 4; g++) {
		double y = T + ph - ph * g / 4.0;
		P("<line class=\"grid\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>", L, W - R, y,
		  y);
		P("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%lld</text>", L - 8, y + 4,
		  top * g / 4);
		P("<text x=\"%.0f\" y=\"%.1f\">%d%%</text>", W - R + 8, y + 4, g * 25);
	}
	P("<line class=\"axis\" x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>", L, W - R, T + ph,
	  T + ph);
	for (int64_t i = 0; i < n; i++) {
		const struct { long long v; const char *c; const char *name; } part[] = {
			{ b[i].pq, "var(--ok)", "hybrid or pq" },
			{ b[i].draft, "var(--draft)", "hybrid-draft" },
			{ b[i].classical, "var(--declined)", "classical" },
			{ b[i].unknown, "var(--unknown)", "unknown" },
		};
		double x = L + slot * (double)i + (slot - bw) / 2, y = T + ph;
		long long d = b[i].pq + b[i].draft + b[i].classical + b[i].unknown;

		bucket_label((first + i) * size, size, label, sizeof(label), true);
		P("<g class=\"bar\"><title>%s: %lld deciding, %lld hybrid/pq, %lld classical%s</title>",
		  label, d, b[i].pq, b[i].classical, !d ? " (no deciding handshake)"
		  : d < SHARE_MIN_DECIDING ? " (too few for a share)" : "");
		for (size_t k = 0; k < sizeof(part) / sizeof(part[0]); k++) {
			double h = ph * (double)part[k].v / (double)top;
			if (!part[k].v)
				continue;
			y -= h;
			P("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", x,
			  y, bw, h, part[k].c);
		}
		P("</g>");
	}
	/* The share line joins consecutive buckets with enough deciding handshakes. */
	bool open = false;
	for (int64_t i = 0; i < n; i++) {
		long long d = b[i].pq + b[i].draft + b[i].classical + b[i].unknown;
		double x = L + slot * ((double)i + 0.5);
		if (d < SHARE_MIN_DECIDING) {
			if (open)
				P("\"/>");
			open = false;
			continue;
		}
		double y = T + ph - ph * (double)b[i].pq / (double)d;
		if (!open)
			P("<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2.5\" "
			  "stroke-linejoin=\"round\" points=\"");
		P("%.2f,%.2f ", x, y);
		open = true;
	}
	if (open)
		P("\"/>");
	for (int64_t i = 0; i < n; i++) {
		long long d = b[i].pq + b[i].draft + b[i].classical + b[i].unknown;
		if (d < SHARE_MIN_DECIDING)
			continue;
		double x = L + slot * ((double)i + 0.5);
		double y = T + ph - ph * (double)b[i].pq / (double)d;
		bucket_label((first + i) * size, size, label, sizeof(label), true);
		P("<circle cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"#fff\" stroke=\"#0969da\" "
		  "stroke-width=\"2\"><title>%s: %.1f%% hybrid</title></circle>", x, y, label,
		  100.0 * (double)b[i].pq / (double)d);
	}
	/* About twelve x labels whatever the number of bars. */
	int64_t every = n / 12 + 1;
	for (int64_t i = 0; i < n; i += every) {
		bucket_label((first + i) * size, size, label, sizeof(label), false);
		P("<text x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>",
		  L + slot * ((double)i + 0.5), T + ph + 18, label);
	}
	bucket_label(first * size, size, label, sizeof(label), true);
	P("<text x=\"%.0f\" y=\"%.0f\">from %s, one bar per %s</text>", L, H - 6, label,
	  size_names[si]);
	P("</svg></section>\n");
	free(b);
	return 0;
}

static const char *family_color(const char *fam)
{
	if (!fam)
		return "var(--unknown)";
	if (strcmp(fam, "hybrid") == 0)
		return "var(--ok)";
	if (strcmp(fam, "pq") == 0)
		return "var(--pq)";
	if (strcmp(fam, "hybrid-draft") == 0)
		return "var(--draft)";
	if (strcmp(fam, "classical") == 0)
		return "var(--declined)";
	return "var(--unknown)";
}

static int groups_chart(struct page *pg)
{
#define GROUPS_SQL(FILTERED)                                                          \
	"WITH " FILTERED " SELECT group_name, group_family, sum(n) AS n FROM h"        \
	" WHERE group_name IS NOT NULL GROUP BY group_name, group_family"             \
	" ORDER BY n DESC, group_name LIMIT 24"
	/* PostgreSQL: the handshakes there (a session selects no group). */
	static const char groups_pg_sql[] =
		"SELECT group_name, group_family, count(*) AS n FROM handshakes" KX_PG_WINDOW
		" AND group_name IS NOT NULL GROUP BY group_name, group_family"
		" ORDER BY n DESC, group_name COLLATE \"C\" LIMIT 24";
	/* Over the full range: the rollups' legs and the rows pending. */
	static const char groups_pg_rolled_sql[] =
		"SELECT group_name, group_family, sum(n)::bigint AS n FROM ("
		"SELECT nullif(group_name, '') AS group_name, nullif(group_family, '') AS group_family,"
		" n FROM rollup_legs WHERE " PG_SENSOR
		" UNION ALL SELECT group_name, group_family, 1 FROM rollup_pending WHERE " PG_SENSOR
		") AS g WHERE group_name IS NOT NULL GROUP BY group_name, group_family"
		" ORDER BY n DESC, group_name COLLATE \"C\" LIMIT 24";
	sqlite3_stmt *s;
	long long top = 0, rows = 0;
	int rc;

	if (pg->conn)
		s = pg_table(pg, pg_rolled(pg) ? groups_pg_rolled_sql : groups_pg_sql, pg_rolled(pg),
			     "kx_html_groups") < 0
			    ? NULL
			    : kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_groups ORDER BY rowid", NULL);
	else /* read twice (the top bar's length, then the bars): kept once */
		s = kx_rdb_materialize(pg->r, "kx_html_groups",
				       kx_rdb_full_range(pg->r, pg->f)
					       ? GROUPS_SQL(KX_SQL_FILTERED_ROLLED)
					       : GROUPS_SQL(KX_SQL_FILTERED),
				       pg->f) < 0
			    ? NULL
			    : kx_rdb_prepare(pg->r, "SELECT * FROM temp.kx_html_groups ORDER BY rowid",
					     NULL);

	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!rows)
			top = sqlite3_column_int64(s, 2);
		rows++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	P("<section class=\"panel\"><h2>Groups selected by servers</h2>"
	  "<div class=\"legend\"><span><i style=\"background:var(--ok)\"></i>hybrid</span>"
	  "<span><i style=\"background:var(--pq)\"></i>pure ML-KEM</span>"
	  "<span><i style=\"background:var(--draft)\"></i>Kyber draft</span>"
	  "<span><i style=\"background:var(--declined)\"></i>classical</span></div>");
	if (!rows)
		P("<p class=\"empty\">No handshake selected a group.</p>");
	P("<svg id=\"kx-chart-groups\" viewBox=\"0 0 600 %lld\" role=\"img\" "
	  "aria-label=\"selected groups\">", rows * 30 + 4);
	for (long long i = 0; (rc = sqlite3_step(s)) == SQLITE_ROW; i++) {
		const char *name = col_text(s, 0), *fam = (const char *)sqlite3_column_text(s, 1);
		long long v = sqlite3_column_int64(s, 2);
		double w = 250.0 * (double)v / (double)(top ? top : 1);
		double y = 4 + (double)i * 30;
		char shown[40];

		/* SSH method names run long: the bar label keeps 36 characters,
		 * the tooltip all of it. */
		if (strlen(name) > 36)
			snprintf(shown, sizeof(shown), "%.35s\u2026", name);
		else
			snprintf(shown, sizeof(shown), "%s", name);
		if (w < 2)
			w = 2;
		P("<g><title>");
		E(name);
		P(" (");
		E(fam ? fam : "-");
		P("): %lld</title><text x=\"262\" y=\"%.0f\" text-anchor=\"end\">", v, y + 16);
		E(shown);
		P("</text><rect x=\"270\" y=\"%.0f\" width=\"%.2f\" height=\"20\" rx=\"3\" "
		  "fill=\"%s\"/><text x=\"%.2f\" y=\"%.0f\">%lld</text></g>",
		  y + 2, w, family_color(fam), 276 + w, y + 16, v);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return kx_rdb_fail(pg->r);
	P("</svg></section>\n");
	return 0;
}

/* --- tables --- */

#define MAX_ROWS 5000

static int hops_table(struct page *pg, long long total)
{
	sqlite3_stmt *s = kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_hops ORDER BY rowid",
					 pg->f);
	long long rows = 0;
	int rc;

	if (!s)
		return -1;
	int c_ip = col_index(s, "server_ip"), c_port = col_index(s, "server_port");
	int c_sni = col_index(s, "sni"), c_proto = col_index(s, "protocols");
	int c_hs = col_index(s, "handshakes"), c_cl = col_index(s, "clients");
	int c_hy = col_index(s, "n_hybrid"), c_pq = col_index(s, "n_pq");
	int c_cls = col_index(s, "n_classical"), c_dec = col_index(s, "n_server_declined");
	int c_oth = col_index(s, "n_other"), c_grp = col_index(s, "groups_selected");
	int c_last = col_index(s, "last_seen"), c_v = col_index(s, "verdict");
	int c_risk = col_index(s, "risk"), c_plain = col_index(s, "n_plaintext");
	int c_sus = col_index(s, "n_suspect");

	P("<section class=\"panel\"><h2>Hops</h2><p class=\"note\" style=\"margin:0 0 10px\">One "
	  "row per server endpoint (IP, port, SNI; sessions without a handshake have no SNI), "
	  "riskiest first; click a heading to sort. Plaintext = sessions without any "
	  "encryption. Other = resumed, incomplete, unknown and Kyber-draft handshakes and "
	  "sessions whose handshake was not seen.</p>"
	  "<div class=\"scroll\"><table id=\"kx-hops\" class=\"sortable\"><thead><tr>"
	  "<th>Server</th><th class=\"n\">Port</th><th>SNI</th><th>Verdict</th><th>Protocols</th>"
	  /* Soft hyphens: the headings of one-digit columns may break. */
	  "<th class=\"n\">Hand&shy;shakes</th><th class=\"n\">Clients</th><th class=\"n\">Hybrid</th>"
	  "<th class=\"n\">PQ</th><th class=\"n\">Class&shy;ical</th><th class=\"n\">De&shy;clined</th>"
	  "<th class=\"n\">Plain&shy;text</th><th class=\"n\">Other</th><th>Groups</th>"
	  "<th>Last seen (UTC)</th>"
	  "</tr></thead><tbody>\n");
	while (rows < MAX_ROWS && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *v = col_text(s, c_v), *cls = verdict_class(v);
		rows++;
		P("<tr class=\"v v-%s\">", cls);
		text_cell(pg, col_text(s, c_ip), false);
		num_cell(pg, sqlite3_column_int64(s, c_port));
		text_cell(pg, col_text(s, c_sni), false);
		P("<td data-v=\"%lld\"><span class=\"badge b-%s\"%s>",
		  (long long)sqlite3_column_int64(s, c_risk), cls,
		  strcmp(v, "no-verdict (not observed)") == 0 ? " title=\"key exchange not observed\""
		  : strcmp(v, "no-verdict") == 0 ? " title=\"only resumed or incomplete handshakes\""
		  : strcmp(v, "unknown") == 0 ? " title=\"the server chose an unregistered code point\""
		  : "");
		E(v);
		P("</span>");
		/* Key-exchange claims that do not hold (share sizes, RFC 8446 4.2.8). */
		long long sus = sqlite3_column_int64(s, c_sus);
		if (sus > 0)
			P("<br><span class=\"badge b-unknown\" title=\"handshakes whose key shares or group "
			  "selection break the rules\">suspect: %lld</span>", sus);
		P("</td>");
		list_cell(pg, col_text(s, c_proto));
		num_cell(pg, sqlite3_column_int64(s, c_hs));
		num_cell(pg, sqlite3_column_int64(s, c_cl));
		num_cell(pg, sqlite3_column_int64(s, c_hy));
		num_cell(pg, sqlite3_column_int64(s, c_pq));
		num_cell(pg, sqlite3_column_int64(s, c_cls));
		num_cell(pg, sqlite3_column_int64(s, c_dec));
		num_cell(pg, sqlite3_column_int64(s, c_plain));
		num_cell(pg, sqlite3_column_int64(s, c_oth));
		list_cell(pg, col_text(s, c_grp));
		P("<td class=\"t\">");
		put_time(pg, col_text(s, c_last));
		P("</td></tr>\n");
	}
	if (rows < MAX_ROWS && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	sqlite3_finalize(s);
	P("</tbody></table></div>");
	if (!rows)
		P("<p class=\"empty\">No handshakes in this period.</p>");
	if (total > rows)
		P("<p class=\"note\">Showing the %lld riskiest of %lld hops; `kexwatch hops` lists "
		  "all.</p>", rows, total);
	P("</section>\n");
	return 0;
}

/* "no-tls 2, ssl-refused 1": the plaintext reasons of a hops row. */
static void reasons_cell(struct page *pg, sqlite3_stmt *s)
{
	static const char *const cols[] = { "n_no_tls", "n_starttls_not_offered",
					    "n_starttls_refused", "n_ssl_refused" };
	bool any = false;

	P("<td class=\"wrap\">");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		long long n = sqlite3_column_int64(s, col_index(s, cols[i]));
		if (!n)
			continue;
		/* The column name without "n_", with dashes: the reason's name. */
		char name[32];
		snprintf(name, sizeof(name), "%s", cols[i] + 2);
		for (char *c = name; *c; c++)
			if (*c == '_')
				*c = '-';
		P("%s%s %lld", any ? ", " : "", name, n);
		any = true;
	}
	P("%s</td>", any ? "" : "-");
}

/* The hops without a visible key exchange: plaintext legs (worst first,
 * as the hops query orders them) and those seen only encrypted. */
static int legs_table(struct page *pg, bool plaintext)
{
	sqlite3_stmt *s = kx_rdb_prepare(pg->r, plaintext ?
		"SELECT * FROM kx_html_hops WHERE verdict = 'plaintext' ORDER BY rowid" :
		"SELECT * FROM kx_html_hops WHERE verdict = 'no-verdict (not observed)'"
		" ORDER BY rowid", pg->f);
	long long rows = 0;
	int rc = SQLITE_DONE;

	if (!s)
		return -1;
	int c_ip = col_index(s, "server_ip"), c_port = col_index(s, "server_port");
	int c_apps = col_index(s, "apps"), c_cl = col_index(s, "clients");
	int c_n = col_index(s, plaintext ? "n_plaintext" : "n_unseen");
	int c_hs = col_index(s, "handshakes"), c_last = col_index(s, "last_seen");

	if (plaintext)
		P("<section class=\"panel\"><h2>Plaintext legs</h2><p class=\"note\" "
		  "style=\"margin:0 0 10px\">Sessions that carried application data with no "
		  "encryption at all: worse than any classical key exchange. Reasons: no-tls (the "
		  "protocol has no in-band upgrade), starttls-not-offered (the client never asked), "
		  "starttls-refused (the server said no), ssl-refused (PostgreSQL or MySQL refused "
		  "TLS). Handshakes: TLS sessions to the same endpoint.</p>"
		  "<div class=\"scroll\"><table id=\"kx-plaintext\" class=\"sortable\"><thead><tr>"
		  "<th>Server</th><th class=\"n\">Port</th><th>Applications</th>"
		  "<th class=\"n\">Sessions</th><th>Reasons</th><th class=\"n\">Clients</th>"
		  "<th class=\"n\">Handshakes</th><th>Last seen (UTC)</th></tr></thead><tbody>\n");
	else
		P("<section class=\"panel\"><h2>Key exchange not observed</h2><p class=\"note\" "
		  "style=\"margin:0 0 10px\">Hops seen only through encrypted sessions whose "
		  "handshake the capture did not contain (they began before it did): encrypted, "
		  "with a key exchange nobody saw. A capture that includes their start tells.</p>"
		  "<div class=\"scroll\"><table id=\"kx-unobserved\" class=\"sortable\"><thead><tr>"
		  "<th>Server</th><th class=\"n\">Port</th><th>Applications</th>"
		  "<th class=\"n\">Sessions</th><th class=\"n\">Clients</th>"
		  "<th>Last seen (UTC)</th></tr></thead><tbody>\n");
	while (rows < MAX_ROWS && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows++;
		P("<tr class=\"v v-%s\">", plaintext ? "plain" : "unknown");
		text_cell(pg, col_text(s, c_ip), false);
		num_cell(pg, sqlite3_column_int64(s, c_port));
		list_cell(pg, col_text(s, c_apps));
		num_cell(pg, sqlite3_column_int64(s, c_n));
		if (plaintext)
			reasons_cell(pg, s);
		num_cell(pg, sqlite3_column_int64(s, c_cl));
		if (plaintext)
			num_cell(pg, sqlite3_column_int64(s, c_hs));
		P("<td class=\"t\">");
		put_time(pg, col_text(s, c_last));
		P("</td></tr>\n");
	}
	if (rows < MAX_ROWS && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	sqlite3_finalize(s);
	P("</tbody></table></div>");
	if (!rows)
		P("<p class=\"empty\">%s</p>", plaintext ? "No session without encryption." :
		  "Every encrypted hop's key exchange was observed.");
	P("</section>\n");
	return 0;
}

static int clients_table(struct page *pg)
{
	sqlite3_stmt *s = kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_clients"
					 " WHERE offers_pq IN ('none', 'some') OR n_plaintext > 0"
					 " ORDER BY rowid", pg->f);
	long long rows = 0;
	int rc = SQLITE_DONE;

	if (!s)
		return -1;
	int c_ip = col_index(s, "client_ip"), c_hs = col_index(s, "handshakes");
	int c_hello = col_index(s, "n_hello"), c_nopq = col_index(s, "n_no_pq");
	int c_off = col_index(s, "offers_pq"), c_srv = col_index(s, "servers");
	int c_snis = col_index(s, "sample_snis"), c_alpn = col_index(s, "sample_alpns");
	int c_proto = col_index(s, "protocols"), c_last = col_index(s, "last_seen");
	int c_plain = col_index(s, "n_plaintext");
	int c_fps = col_index(s, "fingerprints"), c_mldsa = col_index(s, "offers_mldsa");

	P("<section class=\"panel\"><h2>Clients that offer no post-quantum group, or talk "
	  "in plaintext</h2>"
	  "<p class=\"note\" style=\"margin:0 0 10px\">These clients sent ClientHellos without "
	  "any hybrid or ML-KEM group: no server can protect their traffic until they are "
	  "upgraded. \"some\": only part of their ClientHellos offered one (several programs "
	  "on one host, or a fallback). Plaintext: sessions without any encryption (clients "
	  "with those come first; \"no-hello\" when they sent no ClientHello at all).</p>"
	  "<div class=\"scroll\"><table id=\"kx-clients\" class=\"sortable\"><thead><tr>"
	  "<th>Client</th><th>Offers PQ</th><th class=\"n\">ClientHellos without PQ</th>"
	  "<th class=\"n\">Handshakes</th><th class=\"n\">Plaintext</th>"
	  "<th class=\"n\">Servers</th><th>Protocols</th>"
	  "<th>SNI (sample)</th><th>ALPN</th><th>ML-DSA</th><th>Fingerprints (JA4, HASSH)</th>"
	  "<th>Last seen (UTC)</th></tr></thead><tbody>\n");
	while (rows < MAX_ROWS && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *off = col_text(s, c_off);
		bool none = strcmp(off, "none") == 0;
		long long plain = sqlite3_column_int64(s, c_plain);
		const char *cls = plain ? "plain" : none ? "declined" : "mixed";
		rows++;
		P("<tr class=\"v v-%s\">", cls);
		text_cell(pg, col_text(s, c_ip), false);
		P("<td data-v=\"%d\"><span class=\"badge b-%s\">",
		  none ? 2 : strcmp(off, "some") == 0 ? 1 : 0,
		  none ? "declined" : strcmp(off, "some") == 0 ? "mixed" : "unknown");
		E(off);
		P("</span></td>");
		P("<td class=\"n\" data-v=\"%lld\">%lld of %lld</td>",
		  (long long)sqlite3_column_int64(s, c_nopq), (long long)sqlite3_column_int64(s, c_nopq),
		  (long long)sqlite3_column_int64(s, c_hello));
		num_cell(pg, sqlite3_column_int64(s, c_hs));
		num_cell(pg, plain);
		num_cell(pg, sqlite3_column_int64(s, c_srv));
		list_cell(pg, col_text(s, c_proto));
		list_cell(pg, col_text(s, c_snis));
		text_cell(pg, col_text(s, c_alpn), false);
		text_cell(pg, col_text(s, c_mldsa), false);
		list_cell(pg, col_text(s, c_fps));
		P("<td class=\"t\">");
		put_time(pg, col_text(s, c_last));
		P("</td></tr>\n");
	}
	if (rows < MAX_ROWS && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	sqlite3_finalize(s);
	P("</tbody></table></div>");
	if (!rows)
		P("<p class=\"empty\">Every client offered a post-quantum group, none talked in "
		  "plaintext.</p>");
	P("</section>\n");
	return 0;
}

/* One line per client software (fingerprints.c), classical-only first. */
static int fingerprints_table(struct page *pg)
{
	char *sql = pg->conn ? sqlite3_mprintf(kx_fingerprints_pg_sql, "")
			     : kx_fingerprints_sql(pg->r, pg->f, false);
	sqlite3_stmt *s;
	long long rows = 0;
	int rc = SQLITE_DONE;

	if (!sql) {
		snprintf(pg->r->err, pg->r->errlen, "out of memory");
		return -1;
	}
	if (pg->conn)
		s = pg_table(pg, sql, false, "kx_html_fingerprints") < 0
			    ? NULL
			    : kx_rdb_prepare(pg->r, "SELECT * FROM kx_html_fingerprints ORDER BY rowid",
					     NULL);
	else
		s = kx_rdb_prepare(pg->r, sql, pg->f);
	sqlite3_free(sql);
	if (!s)
		return -1;
	int c_fp = col_index(s, "fingerprint"), c_kx = col_index(s, "kx_fp");
	int c_proto = col_index(s, "protocols"), c_cl = col_index(s, "clients");
	int c_ep = col_index(s, "endpoints"), c_hs = col_index(s, "handshakes");
	int c_pq = col_index(s, "offers_pq"), c_mldsa = col_index(s, "offers_mldsa");
	int c_cls = col_index(s, "n_classical"), c_sus = col_index(s, "n_suspect");
	int c_snis = col_index(s, "sample_snis"), c_last = col_index(s, "last_seen");

	P("<section class=\"panel\"><h2>Client software: fingerprints</h2>"
	  "<p class=\"note\" style=\"margin:0 0 10px\">One line per JA4 and its key-exchange "
	  "suffix (offered groups _ key shares, GREASE removed) for TLS, QUIC and DTLS, per "
	  "HASSH and kex list for SSH. Software that offers no post-quantum group comes first, "
	  "the most widespread first among it. Suspect: judged unknown because a key share's "
	  "size or the group selection breaks the rules. ML-DSA: offers ML-DSA signatures.</p>"
	  "<div class=\"scroll\"><table id=\"kx-fingerprints\" class=\"sortable\"><thead><tr>"
	  "<th>Fingerprint</th><th>Key exchange</th><th>Protocols</th><th class=\"n\">Clients</th>"
	  "<th class=\"n\">Endpoints</th><th class=\"n\">Handshakes</th><th>Offers PQ</th>"
	  "<th>ML-DSA</th><th class=\"n\">Classical</th><th class=\"n\">Suspect</th>"
	  "<th>SNI (sample)</th><th>Last seen (UTC)</th></tr></thead><tbody>\n");
	while (rows < MAX_ROWS && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		bool nopq = strcmp(col_text(s, c_pq), "no") == 0;
		rows++;
		P("<tr class=\"v v-%s\">", nopq ? "declined" : "hybrid");
		text_cell(pg, col_text(s, c_fp), false);
		list_cell(pg, col_text(s, c_kx));
		list_cell(pg, col_text(s, c_proto));
		num_cell(pg, sqlite3_column_int64(s, c_cl));
		num_cell(pg, sqlite3_column_int64(s, c_ep));
		num_cell(pg, sqlite3_column_int64(s, c_hs));
		text_cell(pg, col_text(s, c_pq), false);
		text_cell(pg, col_text(s, c_mldsa), false);
		num_cell(pg, sqlite3_column_int64(s, c_cls));
		num_cell(pg, sqlite3_column_int64(s, c_sus));
		list_cell(pg, col_text(s, c_snis));
		P("<td class=\"t\">");
		put_time(pg, col_text(s, c_last));
		P("</td></tr>\n");
	}
	if (rows < MAX_ROWS && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	sqlite3_finalize(s);
	P("</tbody></table></div>");
	if (!rows)
		P("<p class=\"empty\">No fingerprint recorded (no parsed ClientHello or KEXINIT, or "
		  "a database older than schema 7).</p>");
	P("</section>\n");
	return 0;
}

/* What changed: the report's last day against the 30 days before it
 * (both inside the report's range), the rules of `kexwatch changes`. */
#define CHANGES_DAY_US (86400LL * 1000000LL)

static int changes_section(struct page *pg, const struct summary *sm)
{
	struct kx_report_filter w = *pg->f;
	char *sql = NULL;
	sqlite3_stmt *s = NULL;
	long long rows = 0;
	int rc = SQLITE_DONE;

	if (sm->last_us <= 0 && sm->first_us <= 0)
		return 0;
	w.until_us = sm->last_us + 1 < w.until_us ? sm->last_us + 1 : w.until_us;
	w.since_us = w.until_us - CHANGES_DAY_US;
	/* Both periods inside the report's range: a report shorter than a day
	 * compares its whole range against nothing (first sightings only), and
	 * reads no leg it does not show (a central store's scoped snapshot has
	 * none outside the range either). */
	if (w.since_us < pg->f->since_us)
		w.since_us = pg->f->since_us;
	int64_t bsince = w.since_us - 30 * CHANGES_DAY_US;
	if (bsince < pg->f->since_us)
		bsince = pg->f->since_us;
	if (pg->conn) {
		/* `kexwatch changes` on PostgreSQL, over the same two periods. */
		struct kx_changes_opts o;
		kx_changes_opts_init(&o);
		o.f = w;
		o.group = KX_HOPS_ENDPOINT;
		o.baseline_since_us = bsince;
		o.baseline_until_us = w.since_us;
		if (kx_changes_pg_load(pg->r, pg->conn, &o, &s, pg->r->err, pg->r->errlen) < 0)
			return -1;
	} else {
		if (kx_changes_keep_window(pg->r, &w) < 0)
			return -1;
		if (!(sql = kx_changes_sql(pg->r, KX_HOPS_ENDPOINT, &w, bsince, w.since_us)) ||
		    !(s = kx_rdb_prepare(pg->r, sql, &w))) {
			sqlite3_free(sql);
			return sql ? -1 : (snprintf(pg->r->err, pg->r->errlen, "out of memory"), -1);
		}
		sqlite3_free(sql);
		sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":bsince"), bsince);
		sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":buntil"), w.since_us);
	}
	int c_dir = col_index(s, "direction"), c_chg = col_index(s, "change");
	int c_subj = col_index(s, "subject"), c_sip = col_index(s, "server_ip");
	int c_port = col_index(s, "server_port"), c_sni = col_index(s, "sni");
	int c_cip = col_index(s, "client_ip"), c_bg = col_index(s, "before_good");
	int c_bb = col_index(s, "before_bad"), c_ag = col_index(s, "after_good");
	int c_ab = col_index(s, "after_bad"), c_first = col_index(s, "first_seen");
	int c_ev = col_index(s, "evidence");

	P("<section class=\"panel\" id=\"kx-changes\"><h2>What changed</h2>"
	  "<p class=\"note\" style=\"margin:0 0 10px\">The last day of this report against the "
	  "30 days before it: endpoints that stopped choosing a hybrid group although clients "
	  "offered one, fell back to TLS 1.2, a Kyber draft or plaintext; clients that stopped "
	  "offering post-quantum groups; endpoints and clients first seen classical or in "
	  "plaintext; and what got better. The same as <code>kexwatch changes</code>.</p>"
	  "<div class=\"scroll\"><table id=\"kx-changes-table\" class=\"sortable\"><thead><tr><th></th><th>Change</th>"
	  "<th>Endpoint or client</th><th class=\"n\">Good before</th><th class=\"n\">Bad "
	  "before</th><th class=\"n\">Good now</th><th class=\"n\">Bad now</th>"
	  "<th>First seen (UTC)</th><th>Evidence (capture:packet)</th></tr></thead><tbody>\n");
	while (rows < MAX_ROWS && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		bool worse = strcmp(col_text(s, c_dir), "worse") == 0;
		char who[512];
		rows++;
		if (strcmp(col_text(s, c_subj), "client") == 0)
			snprintf(who, sizeof(who), "client %s", col_text(s, c_cip));
		else
			snprintf(who, sizeof(who), "%s:%s%s%s", col_text(s, c_sip), col_text(s, c_port),
				 *col_text(s, c_sni) ? " " : "", col_text(s, c_sni));
		P("<tr class=\"v v-%s\"><td><span class=\"badge b-%s\">%s</span></td>",
		  worse ? "declined" : "hybrid", worse ? "declined" : "hybrid",
		  worse ? "worse" : "better");
		text_cell(pg, col_text(s, c_chg), false);
		text_cell(pg, who, true);
		num_cell(pg, sqlite3_column_int64(s, c_bg));
		num_cell(pg, sqlite3_column_int64(s, c_bb));
		num_cell(pg, sqlite3_column_int64(s, c_ag));
		num_cell(pg, sqlite3_column_int64(s, c_ab));
		P("<td class=\"t\">");
		put_time(pg, col_text(s, c_first));
		P("</td>");
		text_cell(pg, col_text(s, c_ev), true);
		P("</tr>\n");
	}
	if (rows < MAX_ROWS && rc != SQLITE_DONE) {
		sqlite3_finalize(s);
		return kx_rdb_fail(pg->r);
	}
	sqlite3_finalize(s);
	P("</tbody></table></div>");
	if (!rows)
		P("<p class=\"empty\">Nothing got worse or better in the last day.</p>");
	P("</section>\n");
	return 0;
}

static int health_section(struct page *pg, const struct summary *sm)
{
	sqlite3_stmt *s = pg->conn ? kx_rdb_prepare(pg->r, kx_health_pg_bands_sql, NULL)
				   : kx_rdb_prepare(pg->r, kx_health_bands_sql_for(pg->r, pg->f), pg->f);
	int rc;

	if (!s)
		return -1;
	P("<section class=\"panel\"><h2>Health: ClientHellos left unanswered</h2>"
	  "<p class=\"note\" style=\"margin:0 0 10px\">A hybrid ClientHello no longer fits one "
	  "1500-byte packet. If large ClientHellos go unanswered more often than small ones on a "
	  "path, something on it (MTU, MSS clamping, a middlebox) drops them.</p>"
	  "<div class=\"scroll\"><table id=\"kx-health-bands\" class=\"sortable\"><thead><tr><th>ClientHello size</th>"
	  "<th class=\"n\">Handshakes</th><th class=\"n\">Answered</th>"
	  "<th class=\"n\">No ServerHello</th><th class=\"n\">%%</th><th class=\"n\">RST</th>"
	  "<th class=\"n\">FIN</th><th class=\"n\">Timeout</th><th class=\"n\">End of capture</th>"
	  "<th class=\"n\">Gap</th><th class=\"n\">First segment lost</th>"
	  "<th class=\"n\">HRR</th><th class=\"n\">Slow (&ge;1 s)</th>"
	  "<th class=\"n\">Not followed (capacity)</th></tr></thead><tbody>\n");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *band = col_text(s, 0);
		P("<tr class=\"v v-%s\">", sqlite3_column_int64(s, 3) ? "declined" : "hybrid");
		P("<td>");
		E(band);
		P("%s</td>", strcmp(band, "not reassembled") == 0 ? "" : " bytes");
		for (int i = 1; i <= 3; i++)
			num_cell(pg, sqlite3_column_int64(s, i));
		P("<td class=\"n\" data-v=\"%.1f\">%.1f</td>", sqlite3_column_double(s, 13),
		  sqlite3_column_double(s, 13));
		for (int i = 4; i <= 12; i++)
			if (i != 9)
				num_cell(pg, sqlite3_column_int64(s, i));
		num_cell(pg, sqlite3_column_int64(s, 14));
		P("</tr>\n");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return kx_rdb_fail(pg->r);
	P("</tbody></table></div><h2 style=\"margin-top:18px\">Findings</h2>"
	  "<ul class=\"findings\" id=\"kx-findings-list\">\n");
	if (!sm->fs.n)
		P("<li class=\"info\">None: every ClientHello got a ServerHello, none late, no "
		  "HelloRetryRequest, no plaintext session.</li>\n");
	for (size_t i = 0; i < sm->fs.n; i++) {
		const char *sev = kx_severity_name(sm->fs.v[i].sev);
		P("<li class=\"%s\" data-kind=\"%s\"><span class=\"sev\">%s</span>", sev,
		  sm->fs.v[i].kind, sev);
		E(sm->fs.v[i].text);
		P("</li>\n");
	}
	P("</ul></section>\n");
	return 0;
}

static void page_header(struct page *pg, const struct summary *sm, int64_t now_us)
{
	char now[32];

	kx_time_str((uint64_t)now_us, now, sizeof(now));
	P("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	  "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	  "<title>kexwatch: post-quantum key exchange report</title>\n<style>%s</style>\n"
	  "</head><body>\n<header><div class=\"in\"><h1>Post-quantum key exchange report</h1>"
	  "<div class=\"meta\">", css);
	P("Inventory <b>");
	E(pg->r->path);
	P("</b> &middot; handshakes from <b id=\"kx-period-first\">");
	put_time(pg, sm->first ? sm->first : "-");
	P("</b> to <b id=\"kx-period-last\">");
	put_time(pg, sm->last ? sm->last : "-");
	P("</b> UTC &middot; sensors <b>");
	E(sm->sensors ? sm->sensors : "-");
	P("</b> &middot; protocols <b>");
	E(sm->protocols ? sm->protocols : "-");
	P("</b>");
	if (pg->f->sensor) {
		P(" &middot; filtered to sensor <b>");
		E(pg->f->sensor);
		P("</b>");
	}
	P(" &middot; generated ");
	put_time(pg, now);
	P(" UTC</div></div></header>\n<main>\n");
}

int kx_report_html(const char *db_path, const struct kx_report_filter *f, int64_t now_us,
		   FILE *out, char *err, size_t errlen)
{
	struct kx_report_filter all;
	struct summary sm = { 0 };
	struct kx_hops_opts ho;
	struct kx_rdb r;
	struct page pg = { &r, f, out, NULL };
	char *hops_sql = NULL, *clients_sql = NULL;
	int rc = -1;

	if (!f) {
		kx_report_filter_init(&all);
		pg.f = f = &all;
	}
	kx_hops_opts_init(&ho);
	ho.f = *f;
	if (kx_pg_is_url(db_path)) {
		/* Every answer computed in PostgreSQL; an older store or a
		 * --groups file (1) takes the snapshot below. */
		int c = kx_rdb_open_answer(&r, db_path, PG_HTML_MIN_SCHEMA, &pg.conn, err, errlen);
		if (c < 0)
			return -1;
		if (c == 0) {
			if (kx_hops_pg_load(&r, pg.conn, &ho, true, "kx_html_hops", err, errlen) < 0 ||
			    kx_clients_pg_load(&r, pg.conn, f, false, "kx_html_clients", NULL, err,
					       errlen) < 0 ||
			    kx_health_pg_load(&r, pg.conn, f, err, errlen) < 0 ||
			    load_summary(&pg, &sm) < 0)
				goto out;
			goto page;
		}
	}
	if (kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	if (!(hops_sql = kx_hops_sql(&ho, true, kx_rdb_full_range(&r, f)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The hops and the clients answers each feed a summary card and a
	 * table or two: computed once. */
	if (!(clients_sql = kx_clients_sql_for(&r, f, false))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* A dozen passes over a window: its legs read once. */
	if (kx_rdb_keep_window(&r, f) < 0 ||
	    kx_rdb_materialize(&r, "kx_html_hops", hops_sql, f) < 0 ||
	    kx_rdb_materialize(&r, "kx_html_clients", clients_sql, f) < 0 ||
	    load_summary(&pg, &sm) < 0)
		goto out;
page:
	page_header(&pg, &sm, now_us);
	headline(&pg, &sm);
	verdict_mix(&pg, &sm);
	if (share_chart(&pg, &sm) < 0)
		goto out;
	fputs("<div class=\"grid2\">", out);
	if (groups_chart(&pg) < 0)
		goto out;
	fputs("<section class=\"panel\"><h2>Hops by verdict</h2>", out);
	{
		const struct { const char *name, *cls; long long n; } hv[] = {
			{ "hybrid", "hybrid", sm.hops_hybrid },
			{ "mixed", "mixed", sm.hops_mixed },
			{ "draft-kyber", "draft", sm.hops_draft },
			{ "classical (offer-unseen)", "tls12", sm.hops_offer_unseen },
			{ "classical (clients-no-pq)", "nopq", sm.hops_nopq },
			{ "classical (server-declined)", "declined", sm.hops_declined },
			{ "plaintext", "plain", sm.hops_plaintext },
			{ "unknown", "unknown", sm.hops_unknown },
			{ "no-verdict", "resumed", sm.hops_noverdict },
			{ "no-verdict (not observed)", "resumed", sm.hops_unobserved },
		};
		long long top = 1;
		for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++)
			if (hv[i].n > top)
				top = hv[i].n;
		fprintf(out, "<svg id=\"kx-chart-hops\" viewBox=\"0 0 600 304\" role=\"img\" "
			     "aria-label=\"hops by verdict\">");
		for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
			double w = 330.0 * (double)hv[i].n / (double)top, y = 4 + 30.0 * (double)i;
			if (w < 2)
				w = 2;
			fprintf(out, "<g><title>%s: %lld</title><text x=\"190\" y=\"%.0f\" "
				     "text-anchor=\"end\">%s</text><rect x=\"200\" y=\"%.0f\" "
				     "width=\"%.2f\" height=\"20\" rx=\"3\" fill=\"var(--%s)\"/>"
				     "<text x=\"%.2f\" y=\"%.0f\">%lld</text></g>",
				hv[i].name, hv[i].n, y + 16, hv[i].name, y + 2, w,
				strcmp(hv[i].cls, "hybrid") == 0 ? "ok" : hv[i].cls, 206 + w, y + 16,
				hv[i].n);
		}
		fputs("</svg></section>", out);
	}
	fputs("</div>\n", out);
	if (changes_section(&pg, &sm) < 0 || legs_table(&pg, true) < 0 ||
	    hops_table(&pg, sm.hops) < 0 ||
	    legs_table(&pg, false) < 0 || clients_table(&pg) < 0 ||
	    fingerprints_table(&pg) < 0 ||
	    health_section(&pg, &sm) < 0)
		goto out;
	fprintf(out, "<footer>kexwatch %s &middot; verdicts and columns: README \"Verdicts\" and "
		     "\"SQLite inventory\" &middot; the same data: <code>kexwatch hops</code>, "
		     "<code>clients</code>, <code>health</code></footer>\n</main>\n<script>%s</script>\n"
		     "</body></html>\n", KX_VERSION, js);
	rc = kx_rdb_finish_output(&r, out);
out:
	sqlite3_free(hops_sql);
	sqlite3_free(clients_sql);
	summary_free(&sm);
	kx_pg_read_close(pg.conn);
	kx_rdb_close(&r);
	return rc;
}
