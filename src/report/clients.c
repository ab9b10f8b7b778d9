/* SPDX-License-Identifier: BSD-2-Clause */
/* clients.c: one line per client IP: does it offer post-quantum key
 * exchange in all, some or none of its ClientHellos, which PQ groups, what
 * it talks to, and its handshakes per verdict. The clients that offer no PQ
 * come first: they are the ones to upgrade.
 *
 * Plaintext legs (sessions without any handshake) list a client too, first
 * of all: PLAINTEXT counts them, PROTO names their applications.
 *
 * Only handshakes whose ClientHello was parsed (ch_bytes > 0) say what a
 * client offers; a ClientHello whose first segment was lost (incomplete/gap)
 * counts as a handshake but not as an offer. PQ group names come from the
 * built-in registry (groups.c), not from a --groups file given to `read`;
 * SSH clients' PQ methods come from kex_offered (schema 2 files).
 */
#include "report_int.h"

#include <inttypes.h>
#include <string.h>

#include "kexwatch/central.h"

/* SSH clients offer kex methods by name (kex_offered, schema 2): the
 * comma list becomes a JSON array; RFC 4251 names hold no quote. */
const char kx_clients_ssh_sql[] =
	"   UNION ALL SELECT hx.client_ip, j.value, kx_ssh_kex_class(j.value) FROM hx,"
	"   json_each('[\"' || replace(hx.kex_offered, ',', '\",\"') || '\"]') AS j"
	"   WHERE hx.kex_offered <> ''";

#define TABLE_COLS                                                                     \
	", offers_pq || ' (' || n_offers_pq || '/' || n_hello || ')' AS offers,"          \
	" substr(last_seen, 1, 19) || 'Z' AS last_seen_s, fingerprints_s"

/* What a client offers comes from its handshakes (hx); what it talks to
 * and how from every leg (h): a client whose only legs are plaintext is
 * listed too, first, with offers_pq 'no-hello'. PREFIX defines h and hx
 * (and sv, with SV_JOIN, when the servers and SNIs come from elsewhere);
 * C_SETS are c's columns for them when they come from h. Counts are
 * weighted by n (1 for a handshake row). */
#define OFFERS_RAW                                                                    \
	" pqg AS (SELECT client_ip, kx_set(name) AS pq_groups_offered FROM"           \
	"  (SELECT hx.client_ip, kx_group_name(j.value) AS name, kx_group_family(j.value) AS fam" \
	"   FROM hx, json_each(hx.groups_offered) AS j"                               \
	"   UNION ALL SELECT hx.client_ip, kx_group_name(j.value), kx_group_family(j.value)" \
	"   FROM hx, json_each(hx.groups_offered_2) AS j%s)"                          \
	"  WHERE fam IN ('hybrid', 'pq', 'hybrid-draft') GROUP BY client_ip),"        \
	" alpns AS (SELECT hx.client_ip, kx_set(j.value, 3) AS sample_alpns"         \
	"  FROM hx, json_each(hx.alpn) AS j GROUP BY hx.client_ip),"                   \
	/* Schema 7: the client's software (JA4 or HASSH) and whether it offers   \
	 * ML-DSA signature schemes; 'not-recorded' when no row says (rows        \
	 * stored before schema 7). */                                              \
	" fps AS (SELECT client_ip, kx_set(coalesce(hassh, ja4)) AS fingerprints,"    \
	"  kx_set(coalesce(hassh, ja4), 2) AS fingerprints_s,"                        \
	"  CASE WHEN max(offers_mldsa) > 0 THEN 'yes' WHEN count(offers_mldsa) = 0 THEN 'not-recorded'" \
	"  ELSE 'no' END AS offers_mldsa"                                             \
	"  FROM (SELECT client_ip, %s FROM hx) GROUP BY client_ip),"

/* The counters of KX_SQL_COUNTS_C that clients prints, and no others:
 * SQLite 3.40 computes every aggregate of c, used or not. Each a sum of n
 * FILTERed, not of n * (condition): the aggregate step runs only for the
 * legs it counts (a fifth less CPU for c). The same numbers: n and every
 * column a condition reads but reason (read with IS) are NOT NULL, so no
 * leg was skipped as NULL, and coalesce gives the 0 of a client without
 * such legs. */
#define CLIENT_COUNT(COND) " coalesce(sum(n) FILTER (WHERE " COND "), 0)"
#define CLIENT_COUNTS                                                                 \
	" coalesce(kx_ts_text(min(ts_first_us)), " KX_SQL_TS_TEXT("min(ts_first_us)") ")" \
	"  AS first_seen,"                                                            \
	" coalesce(kx_ts_text(max(ts_last_us)), " KX_SQL_TS_TEXT("max(ts_last_us)") ")"  \
	"  AS last_seen,"                                                             \
	CLIENT_COUNT("NOT is_session") " AS handshakes,"                              \
	CLIENT_COUNT("verdict = 'hybrid'") " AS n_hybrid,"                            \
	CLIENT_COUNT("verdict = 'pq'") " AS n_pq,"                                    \
	CLIENT_COUNT("verdict = 'hybrid-draft'") " AS n_hybrid_draft,"                \
	CLIENT_COUNT("verdict = 'classical'") " AS n_classical,"                      \
	CLIENT_COUNT("verdict = 'classical' AND reason IS 'client-no-pq'") " AS n_client_no_pq," \
	CLIENT_COUNT("verdict = 'classical' AND reason IS 'server-declined'")          \
	" AS n_server_declined,"                                                      \
	CLIENT_COUNT("verdict = 'classical' AND reason IS 'tls12'") " AS n_tls12,"    \
	CLIENT_COUNT("verdict = 'resumed'") " AS n_resumed,"                          \
	CLIENT_COUNT("verdict = 'incomplete'") " AS n_incomplete,"                    \
	CLIENT_COUNT("verdict = 'unknown' AND NOT is_session") " AS n_unknown,"       \
	CLIENT_COUNT("is_session") " AS sessions,"                                    \
	CLIENT_COUNT("is_session AND verdict = 'plaintext'") " AS n_plaintext,"       \
	CLIENT_COUNT("is_session AND reason IS 'handshake-unseen'") " AS n_unseen,"   \
	CLIENT_COUNT("ch_bytes > 0") " AS n_hello,"                                   \
	CLIENT_COUNT("ch_bytes > 0 AND offers_pq") " AS n_offers_pq,"

/* The sets' tables pqg, alpns and fps, one row per client. */
#define SETS_BY_CLIENT                                                                \
	" LEFT JOIN pqg USING (client_ip) LEFT JOIN alpns USING (client_ip)"          \
	" LEFT JOIN fps USING (client_ip)"

#define CLIENTS_SQL(PREFIX, OFFERS, C_SETS, SV_JOIN)                                  \
	CLIENTS_SQL_OF(PREFIX, OFFERS, C_SETS, "", SV_JOIN, SETS_BY_CLIENT)

/* AFTER_C: more common table expressions, which may read c; SETS_JOIN:
 * how the rows of o find theirs in pqg, alpns and fps. */
#define CLIENTS_SQL_OF(PREFIX, OFFERS, C_SETS, AFTER_C, SV_JOIN, SETS_JOIN)           \
	"WITH " PREFIX ","                                                            \
	OFFERS                                                                        \
	" c AS (SELECT client_ip," CLIENT_COUNTS C_SETS                               \
	"  kx_set(protocol) AS protocols,"                                            \
	"  kx_set(CASE WHEN verdict = 'plaintext' THEN app END) AS plaintext_apps"    \
	"  FROM h GROUP BY client_ip)," AFTER_C                                       \
	" o AS (SELECT *, CASE WHEN n_hello = 0 THEN 'no-hello'"                      \
	"  WHEN n_offers_pq = n_hello THEN 'all' WHEN n_offers_pq = 0 THEN 'none'"    \
	"  ELSE 'some' END AS offers_pq FROM c" SV_JOIN ")"                          \
	" SELECT client_ip, first_seen, last_seen, handshakes, n_hello, n_offers_pq," \
	" n_hello - n_offers_pq AS n_no_pq, offers_pq, pq_groups_offered, servers,"   \
	" protocols, sample_snis, sample_alpns, n_hybrid, n_pq, n_hybrid_draft, n_classical," \
	" n_client_no_pq, n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown," \
	" CASE WHEN n_plaintext > 0 THEN 3 WHEN offers_pq = 'none' THEN 2"             \
	"  WHEN offers_pq = 'some' THEN 1 ELSE 0 END AS risk,"                        \
	" sessions, n_plaintext, n_unseen, plaintext_apps,"                           \
	" coalesce(offers_mldsa, 'not-recorded') AS offers_mldsa, fingerprints"       \
	"%s"                                                                          \
	" FROM o" SETS_JOIN                                                           \
	" ORDER BY risk DESC, n_plaintext DESC, n_no_pq DESC, handshakes DESC, client_ip"

const char kx_clients_sql[] =
	CLIENTS_SQL(KX_SQL_FILTERED "," KX_SQL_FILTERED_HS, OFFERS_RAW,
		    "  count(DISTINCT server_ip) AS servers, kx_set(sni, 3) AS sample_snis,", "");

/* Over the rollups (full range): the legs per client (kx_client_legs_rolled),
 * the servers and SNIs of every pair (kx_pairs_rolled), and what each
 * client offered by ClientHello set, software and SSH offer
 * (kx_client_hellos_rolled), each with the rows not folded yet and the
 * sessions (report_db.c). A set's lists are parsed once per set (hellos
 * holds a few dozen), not once per client and set. */
#define SENSOR_ONLY " WHERE :sensor IS NULL OR sensor = :sensor"
#define OFFERS_ROLLED                                                                 \
	OFFERS_ROLLED_CH(" ch AS MATERIALIZED (SELECT DISTINCT client_ip, hello_id, fp_id,"   \
			 " kex_offered FROM kx_client_hellos_rolled" SENSOR_ONLY "),")
/* The same from ch, the distinct (client, hello, fingerprint, SSH offer). */
#define OFFERS_ROLLED_CH(CH) CH OFFERS_BY("ch", "client_ip")
/* pqg, alpns and fps from CHS, the distinct (KEY, hello_id, fp_id,
 * kex_offered), one row per KEY. */
#define OFFERS_BY(CHS, KEY)                                                           \
	/* The PQ names of each ClientHello set and SSH offer, once each (a few  \
	 * dozen), then joined to the clients that sent them. */                  \
	" hs AS MATERIALIZED (SELECT * FROM main.hellos"                                \
	"  WHERE id IN (SELECT hello_id FROM " CHS ")),"                                      \
	" hp AS MATERIALIZED (SELECT hello_id, name FROM"                               \
	"  (SELECT h.id AS hello_id, kx_group_name(j.value) AS name,"                   \
	"  kx_group_family(j.value) AS fam FROM hs AS h, json_each(h.groups_offered) AS j" \
	"  UNION ALL SELECT h.id, kx_group_name(j.value), kx_group_family(j.value)"      \
	"  FROM hs AS h, json_each(nullif(h.groups_offered_2, '')) AS j)"                \
	"  WHERE fam IN ('hybrid', 'pq', 'hybrid-draft')),"                             \
	" kp AS MATERIALIZED (SELECT k.kex_offered, j.value AS name FROM"               \
	"  (SELECT DISTINCT kex_offered FROM " CHS " WHERE kex_offered <> '') AS k,"          \
	"  json_each('[\"' || replace(k.kex_offered, ',', '\",\"') || '\"]') AS j"      \
	"  WHERE kx_ssh_kex_class(j.value) IN ('hybrid', 'pq', 'hybrid-draft')),"       \
	" pqg AS (SELECT " KEY ", kx_set(name) AS pq_groups_offered FROM"               \
	"  (SELECT ch." KEY ", hp.name FROM " CHS " AS ch JOIN hp USING (hello_id)"      \
	"   UNION ALL SELECT ch." KEY ", kp.name FROM " CHS " AS ch JOIN kp USING (kex_offered))" \
	"  GROUP BY " KEY "),"                                                          \
	" ha AS MATERIALIZED (SELECT h.id AS hello_id, j.value AS v FROM hs AS h,"      \
	"  json_each(h.alpn) AS j),"                                                    \
	" alpns AS (SELECT ch." KEY ", kx_set(ha.v, 3) AS sample_alpns"                \
	"  FROM " CHS " AS ch JOIN ha USING (hello_id) GROUP BY ch." KEY "),"           \
	" fps AS (SELECT " KEY ", kx_set(coalesce(nullif(f.hassh, ''), nullif(f.ja4, '')))" \
	"  AS fingerprints,"                                                            \
	"  kx_set(coalesce(nullif(f.hassh, ''), nullif(f.ja4, '')), 2) AS fingerprints_s," \
	"  CASE WHEN max(f.offers_mldsa) > 0 THEN 'yes' WHEN count(f.offers_mldsa) = 0" \
	"  THEN 'not-recorded' ELSE 'no' END AS offers_mldsa"                          \
	"  FROM " CHS " AS ch LEFT JOIN main.fingerprints AS f ON f.id = ch.fp_id"      \
	"  GROUP BY " KEY "),"

static const char clients_rolled_sql[] =
	CLIENTS_SQL("h AS NOT MATERIALIZED (SELECT * FROM kx_client_legs_rolled" SENSOR_ONLY "),"
		    " sv AS (SELECT client_ip, count(DISTINCT server_ip) AS servers,"
		    "  kx_set(sni, 3) AS sample_snis FROM kx_pairs_rolled" SENSOR_ONLY
		    "  GROUP BY client_ip)",
		    OFFERS_ROLLED, "", " LEFT JOIN sv USING (client_ip)");

/* A window (schema 12 on): one pass over the window's legs, read from
 * handshake_rows and sessions through their time indexes (only the columns
 * clients reads), counts each client and keeps, as its key hk, the set of
 * (ClientHello set, fingerprint set, SSH offer) its handshakes sent as
 * the text of JSON arrays ([hello_id,fp_id,"kex_offered"], kx_set's
 * order). A day's 20 000 clients share a few hundred keys, built from a few
 * dozen distinct hellos: each set's lists are parsed once, as over the
 * rollups, and what a client offered is looked up once by its key. The
 * sets are all distinct-value sets (kx_set, max, count = 0), so a key's
 * answer is its clients'. Measured on a day of the 2 M-row benchmark:
 * 0.55 s CPU down to 0.35 s (a second pass over the window for the distinct
 * offers and three groupings by client made the difference). */
#define WINDOW_OF(T)                                                                   \
	" WHERE " T "ts_first_us >= :since AND " T "ts_first_us < :until"               \
	" AND (:sensor IS NULL OR " T "sensor = :sensor) AND " T "ts_last_us >= :live"
#define WINDOW_LEGS                                                                    \
	"h AS NOT MATERIALIZED (SELECT r.ts_first_us, r.ts_last_us, r.protocol,"        \
	" r.client_ip, r.server_ip, r.sni, r.offers_pq, r.verdict, r.reason, r.ch_bytes," \
	" 1 AS n, 0 AS is_session, NULL AS app, '[' || r.hello_id || ','"               \
	" || coalesce(r.fp_id, -1) || ',' || json_quote(coalesce(x.kex_offered, ''))"   \
	" || ']' AS hk FROM main.handshake_rows AS r"                                   \
	" LEFT JOIN main.handshake_extras AS x ON x.id = r.id" WINDOW_OF("r.")           \
	/* the sessions as kx_legs maps them (schema 11 verdicts) */                   \
	" UNION ALL SELECT ts_first_us, ts_last_us, app, client_ip, server_ip, NULL, 0,"  \
	" verdict, nullif(reason, ''), 0, sessions, 1, app, NULL FROM main.sessions"     \
	WINDOW_OF("") ")"
#define WINDOW_KEYS                                                                    \
	" kc AS MATERIALIZED (SELECT k.hk, json_extract(j.value, '$[0]') AS hello_id,"   \
	"  json_extract(j.value, '$[1]') AS fp_id,"                                      \
	"  json_extract(j.value, '$[2]') AS kex_offered"                                 \
	"  FROM (SELECT DISTINCT hk FROM c WHERE hk IS NOT NULL) AS k,"                  \
	"  json_each('[' || k.hk || ']') AS j),"                                         \
	OFFERS_BY("kc", "hk")

static const char clients_window_sql[] =
	CLIENTS_SQL_OF(WINDOW_LEGS, "",
		       "  count(DISTINCT server_ip) AS servers, kx_set(sni, 3) AS sample_snis,"
		       "  kx_set(hk) AS hk,",
		       WINDOW_KEYS, "",
		       " LEFT JOIN pqg USING (hk) LEFT JOIN alpns USING (hk) LEFT JOIN fps USING (hk)");

/* Schema 14: the same answer from the per-client rollups (rollup.h),
 * a few rows per client. Over all sensors (:sensor NULL) the _all tables,
 * else the sensor's rows; each with the tail (rows above folded_id,
 * sessions). A client's servers and SNIs are the counters plus the tail's
 * entries that are not in rollup_client_sets; its sample SNIs are the
 * first three of its first three there and those new ones, and " +N" for
 * the rest, as kx_set(sni, 3) writes it. */
#define SENSOR_ROWS(ALL, PER_SENSOR)                                                   \
	" SELECT * FROM " ALL " WHERE :sensor IS NULL"                                  \
	" UNION ALL SELECT * FROM " PER_SENSOR " WHERE sensor = :sensor"
#define HELLOS_V14                                                                    \
	" ch AS MATERIALIZED (SELECT DISTINCT client_ip, hello_id, fp_id, kex_offered"  \
	"  FROM (SELECT client_ip, NULL AS sensor, hello_id, fp_id, kex_offered"        \
	"  FROM main.rollup_client_hellos_all WHERE :sensor IS NULL"                    \
	"  UNION ALL SELECT client_ip, sensor, hello_id, fp_id, kex_offered"            \
	"  FROM main.rollup_client_hellos WHERE sensor = :sensor"                       \
	"  UNION ALL SELECT * FROM kx_client_hellos_tail" SENSOR_ONLY ")),"
#define SV_V14                                                                        \
	" tp AS (SELECT DISTINCT client_ip, kind, value FROM (SELECT client_ip, 0 AS kind,"  \
	"  server_ip AS value, sensor FROM kx_tail_pairs UNION ALL SELECT client_ip, 1,"  \
	"  sni, sensor FROM kx_tail_pairs WHERE sni <> '')" SENSOR_ONLY "),"             \
	" tn AS MATERIALIZED (SELECT * FROM tp WHERE NOT EXISTS (SELECT 1"               \
	"  FROM main.rollup_client_sets AS s WHERE s.client_ip = tp.client_ip"           \
	"  AND s.kind = tp.kind AND s.value = tp.value"                                  \
	"  AND (:sensor IS NULL OR s.sensor = :sensor))),"                               \
	" tsn AS (SELECT client_ip, json_group_array(value) AS new_snis FROM tn"         \
	"  WHERE kind = 1 GROUP BY client_ip),"                                          \
	" cnt AS (SELECT client_ip, sum(servers) AS servers, sum(snis) AS snis FROM"     \
	"  (SELECT client_ip, servers, snis FROM main.rollup_client_counts_all"          \
	"  WHERE :sensor IS NULL UNION ALL SELECT client_ip, servers, snis"              \
	"  FROM main.rollup_client_counts WHERE sensor = :sensor"                        \
	"  UNION ALL SELECT client_ip, kind = 0, kind = 1 FROM tn) GROUP BY client_ip)," \
	" sv AS (SELECT client_ip, servers, (SELECT kx_set(v) FROM (SELECT v FROM"       \
	"  (SELECT DISTINCT value AS v FROM main.rollup_client_sets AS s"                \
	"  WHERE s.client_ip = cnt.client_ip AND s.kind = 1"                             \
	"  AND (:sensor IS NULL OR s.sensor = :sensor) ORDER BY value LIMIT 3)"          \
	"  UNION SELECT j.value FROM json_each(tsn.new_snis) AS j ORDER BY 1 LIMIT 3))"  \
	"  || CASE WHEN snis > 3 THEN ' +' || (snis - 3) ELSE '' END AS sample_snis"     \
	"  FROM cnt LEFT JOIN tsn USING (client_ip))"

static const char clients_v14_sql[] =
	CLIENTS_SQL("h AS NOT MATERIALIZED (" SENSOR_ROWS("kx_client_legs_all",
							   "kx_client_legs_sensor")
		    " UNION ALL SELECT * FROM kx_client_legs_tail" SENSOR_ONLY "),"
		    SV_V14,
		    OFFERS_ROLLED_CH(HELLOS_V14), "", " LEFT JOIN sv USING (client_ip)");

char *kx_clients_sql_for(const struct kx_rdb *r, const struct kx_report_filter *f, bool table)
{
	struct kx_report_filter all;

	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	/* The table says "none (0/4)": how many of the parsed ClientHellos offered. */
	if (kx_rdb_full_range(r, f)) /* schema 12 on: SSH offers and fingerprints are there */
		return sqlite3_mprintf(r->version >= 14 ? clients_v14_sql : clients_rolled_sql,
				       table ? TABLE_COLS : "");
	if (r->version >= 12 && !kx_pg_rollups_off()) /* KEXWATCH_ROLLUPS=0: as before */
		return sqlite3_mprintf(clients_window_sql, table ? TABLE_COLS : "");
	return sqlite3_mprintf(kx_clients_sql, r->version >= 2 ? kx_clients_ssh_sql : "",
			       r->version >= 7 ? kx_fp_cols_v7 : kx_fp_cols_none,
			       table ? TABLE_COLS : "");
}

static const struct kx_col table_cols[] = {
	{ "client_ip", "CLIENT", false },     { "handshakes", "HANDSHAKES", true },
	{ "offers", "OFFERS PQ", false },     { "pq_groups_offered", "PQ GROUPS", false },
	{ "servers", "SERVERS", true },       { "n_classical", "CLASSICAL", true },
	{ "n_plaintext", "PLAINTEXT", true }, { "protocols", "PROTO", false },
	{ "sample_snis", "SNI (SAMPLE)", false },
	{ "sample_alpns", "ALPN", false },    { "offers_mldsa", "ML-DSA", false },
	{ "fingerprints_s", "FINGERPRINTS", false }, { "last_seen_s", "LAST SEEN", false },
};

/* What a narrow terminal loses first. */
static const char *const narrow_drop[] = {
	"last_seen_s", "fingerprints_s", "offers_mldsa", "sample_alpns", "n_plaintext", "servers",
	"protocols", NULL,
};

/* --- the same query in PostgreSQL --- */

/* The central schema the queries below read (as for hops: the verdict
 * words of SQLite schema 11, the fingerprint columns of schema 4). */
#define PG_CLIENTS_MIN_SCHEMA 7

/* The legs (h) and handshakes (hx) in the window, only the columns clients
 * reads; $1 .. $4 as KX_PG_WINDOW says. */
#define PG_CLIENTS_FILTERED                                                            \
	"h AS (SELECT ts_first_us, ts_last_us, protocol, client_ip, server_ip, sni,"   \
	" offers_pq, ch_bytes, verdict, reason, 1::bigint AS n, false AS is_session,"   \
	" NULL::text AS app FROM handshakes" KX_PG_WINDOW                               \
	" UNION ALL SELECT ts_first_us, ts_last_us, app, client_ip, server_ip, NULL, 0,"  \
	" 0, verdict, nullif(reason, ''), sessions, true, app FROM sessions" KX_PG_WINDOW ")," \
	" hx AS (SELECT client_ip, alpn, hassh, ja4, offers_mldsa, groups_offered,"       \
	" groups_offered_2, kex_offered FROM handshakes" KX_PG_WINDOW ")"

/* kx_clients_sql without pq_groups_offered, in PostgreSQL's words and in
 * SQLite's order, over PREFIX (h, hx, and what SV_JOIN joins), COUNT the
 * counts of h's rows (weighted or not), SV_C c's servers and SNIs when
 * they come from h; a format whose %s is the table's columns. */
#define PG_CLIENTS_ANSWER(PREFIX, COUNT, CLIENTS, SV_C, SV_JOIN, SNIS)                    \
	"WITH " PREFIX ","                                                                 \
	" alpns AS (SELECT client_ip, " KX_PG_ARRAY("v") " AS alpn_a"                        \
	"  FROM (SELECT DISTINCT client_ip, alpn FROM hx) AS d,"                            \
	"  json_array_elements_text(d.alpn::json) AS j(v) GROUP BY client_ip),"             \
	" fps AS (SELECT client_ip, " KX_PG_ARRAY("f") " AS fp_a,"                           \
	"  CASE WHEN max(offers_mldsa) > 0 THEN 'yes' WHEN count(offers_mldsa) = 0 THEN 'not-recorded'" \
	"  ELSE 'no' END AS offers_mldsa"                                                   \
	"  FROM (SELECT client_ip, coalesce(hassh, ja4) AS f, offers_mldsa FROM hx) AS x"   \
	"  GROUP BY client_ip),"                                                            \
	" c AS (SELECT client_ip," KX_PG_COUNTS_OF(COUNT, CLIENTS)                          \
	"  " COUNT("ch_bytes > 0") " AS n_hello,"                                            \
	"  " COUNT("ch_bytes > 0 AND offers_pq <> 0") " AS n_offers_pq,"                     \
	SV_C " " KX_PG_SET("protocol") " AS protocols,"                                     \
	"  " KX_PG_SET("CASE WHEN verdict = 'plaintext' THEN app END") " AS plaintext_apps" \
	"  FROM h GROUP BY client_ip),"                                                     \
	" o AS (SELECT *, CASE WHEN n_hello = 0 THEN 'no-hello'"                            \
	"  WHEN n_offers_pq = n_hello THEN 'all' WHEN n_offers_pq = 0 THEN 'none'"          \
	"  ELSE 'some' END AS offers_pq FROM c" SV_JOIN "),"                                \
	" a AS (SELECT client_ip, first_seen, last_seen, handshakes, n_hello, n_offers_pq," \
	" n_hello - n_offers_pq AS n_no_pq, offers_pq, servers,"                            \
	" protocols, " SNIS " AS sample_snis,"                                              \
	" " KX_PG_SET_FIRST("alpn_a", 3) " AS sample_alpns, n_hybrid, n_pq, n_hybrid_draft, n_classical," \
	" n_client_no_pq, n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"  \
	" CASE WHEN n_plaintext > 0 THEN 3 WHEN offers_pq = 'none' THEN 2"                  \
	"  WHEN offers_pq = 'some' THEN 1 ELSE 0 END AS risk,"                              \
	" sessions, n_plaintext, n_unseen, plaintext_apps,"                                 \
	" coalesce(offers_mldsa, 'not-recorded') AS offers_mldsa,"                          \
	" array_to_string(fp_a, ',') AS fingerprints, " KX_PG_SET_FIRST("fp_a", 2) " AS fingerprints_s" \
	" FROM o LEFT JOIN alpns USING (client_ip) LEFT JOIN fps USING (client_ip))"       \
	" SELECT *%s FROM a"                                                                \
	" ORDER BY risk DESC, n_plaintext DESC, n_no_pq DESC, handshakes DESC, client_ip COLLATE \"C\""

static const char pg_clients_sql[] =
	PG_CLIENTS_ANSWER(PG_CLIENTS_FILTERED, KX_PG_COUNT, " count(DISTINCT client_ip) AS clients,",
			  "  count(DISTINCT server_ip) AS servers, " KX_PG_ARRAY("sni") " AS sni_a,", "",
			  KX_PG_SET_FIRST("sni_a", 3));

/* What each client offers, distinct (each distinct list parsed once): TLS
 * group code points as the JSON text
 * of each element of groups_offered and groups_offered_2 (ssh 0), SSH kex
 * method names of kex_offered (ssh 1). Few rows (clients times offers);
 * their names and families come from the built-in registry in kexwatch,
 * below, as in kx_clients_sql. */
#define PG_OFFERS(PREFIX)                                                                 \
	"WITH " PREFIX ","                                                                 \
	" g AS (SELECT client_ip, groups_offered AS l FROM hx"                              \
	"  UNION SELECT client_ip, groups_offered_2 FROM hx WHERE groups_offered_2 IS NOT NULL)," \
	" k AS (SELECT DISTINCT client_ip, kex_offered FROM hx WHERE kex_offered <> '')"    \
	" SELECT client_ip, 0 AS ssh, j.v::text AS v FROM g, json_array_elements(g.l::json) AS j(v)" \
	" UNION SELECT client_ip, 1, x FROM k, unnest(string_to_array(k.kex_offered, ',')) AS x"

static const char pg_offers_sql[] = PG_OFFERS(PG_CLIENTS_FILTERED);

/* Over the full range (central schema 12): the client rollups
 * (pg_rollup.c) plus the rows pending for them and the sessions, as
 * hops.c reads the endpoints' (the same answer before and after a fold);
 * $1 the sensor (NULL: all, the rollups' sn 0). A leg's n weighs its
 * handshakes; offers are distinct, as the raw answer reads them. A
 * client's servers and SNIs are its counters plus the pending rows' and
 * sessions' values its sets lack; its sample SNIs the first three of its
 * sets' first three and those new ones (an index range each), " +N" for
 * the rest, as KX_PG_SET_FIRST writes them. */
#define PG_SN "(SELECT CASE WHEN $1::text IS NULL THEN 0 ELSE (SELECT id FROM rollup_sensors WHERE sensor = $1::text) END)"
#define PG_SET_SN(t) " AND ($1::text IS NULL OR " t ".sn = " PG_SN ")"
#define PG_SENSOR_ONLY " WHERE $1::text IS NULL OR sensor = $1::text"
#define PG_CLIENTS_ROLLED                                                                  \
	"h AS (SELECT l.first_us AS ts_first_us, l.last_us AS ts_last_us, l.protocol, c.client_ip," \
	" l.offers_pq, l.hello AS ch_bytes, l.verdict, nullif(l.reason, '') AS reason, l.n,"  \
	" false AS is_session, NULL::text AS app FROM rollup_client_legs AS l"              \
	" JOIN rollup_client_ips AS c ON c.id = l.cl WHERE l.sn = " PG_SN                    \
	" UNION ALL SELECT ts_first_us, ts_last_us, protocol, client_ip, offers_pq, ch_bytes," \
	" verdict, reason, 1::bigint, false, NULL FROM rollup_pending" PG_SENSOR_ONLY        \
	" UNION ALL SELECT ts_first_us, ts_last_us, app, client_ip, 0, 0, verdict,"         \
	" nullif(reason, ''), sessions, true, app FROM sessions" PG_SENSOR_ONLY "),"         \
	" hx AS (SELECT c.client_ip, o.alpn, NULL::text AS hassh, o.fp AS ja4, o.offers_mldsa," \
	" o.groups_offered, o.groups_offered_2, o.kex_offered FROM rollup_client_offers AS o" \
	" JOIN rollup_client_ips AS c ON c.id = o.cl WHERE o.sn = " PG_SN                    \
	" UNION ALL SELECT client_ip, alpn, hassh, ja4, offers_mldsa, groups_offered,"      \
	" groups_offered_2, kex_offered FROM rollup_pending" PG_SENSOR_ONLY "),"             \
	" tp AS (SELECT DISTINCT client_ip, kind, v FROM (SELECT client_ip, 0::smallint AS kind," \
	"  server_ip AS v, sensor FROM rollup_pending UNION ALL SELECT client_ip, 1, sni, sensor" \
	"  FROM rollup_pending WHERE sni IS NOT NULL UNION ALL SELECT client_ip, 0, server_ip,"   \
	"  sensor FROM sessions) AS u" PG_SENSOR_ONLY "),"                                   \
	" tk AS (SELECT client_ip, count(*) FILTER (WHERE kind = 0) AS servers,"             \
	"  count(*) FILTER (WHERE kind = 1) AS snis,"                                        \
	"  array_agg(v COLLATE \"C\") FILTER (WHERE kind = 1) AS new_snis FROM tp"          \
	"  WHERE NOT EXISTS (SELECT 1 FROM rollup_client_sets AS r JOIN rollup_client_ips AS c" \
	"  ON c.id = r.cl WHERE c.client_ip = tp.client_ip AND r.kind = tp.kind"             \
	"  AND r.value = tp.v COLLATE \"C\"" PG_SET_SN("r") ") GROUP BY client_ip),"        \
	" rk AS (SELECT c.client_ip, k.cl, k.servers, k.snis FROM rollup_client_counts AS k" \
	"  JOIN rollup_client_ips AS c ON c.id = k.cl WHERE k.sn = " PG_SN "),"              \
	" sv AS (SELECT client_ip, coalesce(rk.servers, 0) + coalesce(tk.servers, 0) AS servers," \
	"  coalesce(rk.snis, 0) + coalesce(tk.snis, 0) AS snis,"                             \
	"  (SELECT array_agg(x ORDER BY x) FROM (SELECT x FROM (SELECT DISTINCT r.value AS x" \
	"  FROM rollup_client_sets AS r WHERE r.cl = rk.cl AND r.kind = 1" PG_SET_SN("r")    \
	"  ORDER BY 1 LIMIT 3) AS f UNION SELECT y COLLATE \"C\" FROM unnest(tk.new_snis) AS y" \
	"  ORDER BY 1 LIMIT 3) AS z) AS sni_a FROM rk FULL JOIN tk USING (client_ip))"

static const char pg_clients_rolled_sql[] =
	PG_CLIENTS_ANSWER(PG_CLIENTS_ROLLED, KX_PG_SUM_N, "", "", " LEFT JOIN sv USING (client_ip)",
			  "array_to_string(sni_a, ',') || CASE WHEN snis > 3"
			  " THEN ' +' || (snis - 3) ELSE '' END");
static const char pg_offers_rolled_sql[] = PG_OFFERS(PG_CLIENTS_ROLLED);

/* The central schema of the client rollups. */
#define PG_CLIENTS_ROLLED_SCHEMA 12

/* The answer rows with pq_groups_offered, in PostgreSQL's order; %s: the
 * table's columns. */
static const char answer_sql[] =
	"WITH pqg AS (SELECT client_ip, kx_set(name) AS pq_groups_offered FROM"
	"  (SELECT o.client_ip, kx_group_name(j.value) AS name, kx_group_family(j.value) AS fam"
	"   FROM kx_offers AS o, json_each('[' || o.v || ']') AS j WHERE o.ssh = 0"
	"   UNION ALL SELECT client_ip, v, kx_ssh_kex_class(v) FROM kx_offers WHERE ssh = 1)"
	"  WHERE fam IN ('hybrid', 'pq', 'hybrid-draft') GROUP BY client_ip)"
	" SELECT client_ip, first_seen, last_seen, handshakes, n_hello, n_offers_pq, n_no_pq,"
	" offers_pq, pq_groups_offered, servers, protocols, sample_snis, sample_alpns, n_hybrid,"
	" n_pq, n_hybrid_draft, n_classical, n_client_no_pq, n_server_declined, n_tls12,"
	" n_resumed, n_incomplete, n_unknown, risk, sessions, n_plaintext, n_unseen,"
	" plaintext_apps, offers_mldsa, fingerprints%s"
	" FROM kx_answer LEFT JOIN pqg USING (client_ip) ORDER BY kx_answer.rowid";

/* TABLE_COLS but fingerprints_s, which a selects always. */
#define PG_TABLE_COLS                                                                  \
	", offers_pq || ' (' || n_offers_pq || '/' || n_hello || ')' AS offers,"          \
	" substr(last_seen, 1, 19) || 'Z' AS last_seen_s"

/* The clients answer for filter f computed in PostgreSQL (session pg):
 * its rows and the distinct offers in the in-memory tables kx_answer and
 * kx_offers of r->db, and *ret the statement that reads them as the local
 * query's rows (with the table's columns when table), or with into those
 * rows kept as the temporary table into (and the two tables dropped
 * again). Returns 0 or -1
 * with the message in err (r and pg left open). */
int kx_clients_pg_load(struct kx_rdb *r, struct kx_pg_read *pg, const struct kx_report_filter *f,
		       bool table, const char *into, sqlite3_stmt **ret, char *err, size_t errlen)
{
	char since[24], until[24], live[24], e[512];
	const char *params[4] = { since, until, f->sensor, live };
	char *sql = NULL;
	int rc = -1;

	snprintf(since, sizeof(since), "%" PRId64, f->since_us);
	snprintf(until, sizeof(until), "%" PRId64, f->until_us);
	snprintf(live, sizeof(live), "%" PRId64, f->live_from_us);
	/* The full range over the client rollups and the rows pending for
	 * them: its size grows with the clients and their offers, not the
	 * handshakes; only the sensor ($1) filters. */
	bool roll = f->since_us == INT64_MIN && f->until_us == INT64_MAX &&
		    f->live_from_us == INT64_MIN &&
		    kx_pg_read_version(pg) >= PG_CLIENTS_ROLLED_SCHEMA && !kx_pg_rollups_off();
	int np = roll ? 1 : 4;
	const char *const *pp = roll ? params + 2 : params;
	if (!(sql = sqlite3_mprintf(roll ? pg_clients_rolled_sql : pg_clients_sql,
				    table ? PG_TABLE_COLS : ""))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (kx_pg_read_table(pg, sql, np, pp, r->db, "kx_answer", e, sizeof(e)) < 0 ||
	    kx_pg_read_table(pg, roll ? pg_offers_rolled_sql : pg_offers_sql, np, pp, r->db,
			     "kx_offers", e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s: %s", r->target, e);
		goto out;
	}
	sqlite3_free(sql);
	if (!(sql = sqlite3_mprintf(answer_sql, table ? ", offers, last_seen_s, fingerprints_s" : ""))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (into) {
		/* Kept as the temporary table into; the PostgreSQL rows go. */
		if (kx_rdb_materialize(r, into, sql, NULL) < 0)
			goto out;
		if (sqlite3_exec(r->db, "DROP TABLE kx_answer; DROP TABLE kx_offers", NULL, NULL,
				 NULL) != SQLITE_OK) {
			kx_rdb_fail(r);
			goto out;
		}
	} else if (!(*ret = kx_rdb_prepare(r, sql, NULL))) {
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(sql);
	return rc;
}

/* clients on a central store: the aggregation runs in PostgreSQL; the
 * answer rows and the distinct offers come back into in-memory tables of
 * r->db, and *ret is the statement that prints them. Returns 0, 1 when the
 * store needs the snapshot instead, or -1 with the message in err. */
static int clients_central(struct kx_rdb *r, const char *url, const struct kx_report_filter *f,
			   bool table, sqlite3_stmt **ret, char *err, size_t errlen)
{
	struct kx_pg_read *pg = NULL;
	int rc = kx_rdb_open_answer(r, url, PG_CLIENTS_MIN_SCHEMA, &pg, err, errlen);

	if (rc != 0)
		return rc;
	rc = kx_clients_pg_load(r, pg, f, table, NULL, ret, err, errlen);
	kx_pg_read_close(pg);
	if (rc < 0)
		kx_rdb_close(r);
	return rc;
}

int kx_report_clients(const char *db_path, const struct kx_report_filter *f,
		      enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_rdb r;
	sqlite3_stmt *s = NULL;
	char *sql;
	int rc = -1;

	if (kx_pg_is_url(db_path)) {
		int c = clients_central(&r, db_path, f, fmt == KX_OUT_TABLE, &s, err, errlen);
		if (c < 0)
			return -1;
		if (c == 0) {
			sql = NULL;
			goto print;
		}
	}
	if (kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	sql = kx_clients_sql_for(&r, f, fmt == KX_OUT_TABLE);
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
