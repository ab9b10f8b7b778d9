/* SPDX-License-Identifier: BSD-2-Clause */
/* sqlite_store.c: the SQLite inventory: schema, migrations, batched writes.
 *
 * Schema v1 (PRAGMA user_version = 1, PRAGMA application_id = 0x6b657877)
 * =======================================================================
 * The database runs in WAL mode with synchronous=NORMAL. REFERENCES clauses
 * document the links; kexwatch's writer does not enforce them per row.
 * Timestamps are stored twice: RFC 3339 UTC text with microseconds
 * ("2026-11-22T10:00:00.123456Z") for people, integer microseconds since the
 * Unix epoch (`*_us`) for sorting and arithmetic. Lists are JSON text.
 * Booleans are 0/1.
 *
 * runs: one row per kexwatch invocation that wrote to the database.
 *   id                 INTEGER PRIMARY KEY
 *   started, started_us       when the run began
 *   finished, finished_us     when it ended; NULL while running or if killed
 *   sensor             name of the observation point (dedup key of handshakes)
 *   command            the command line, for the audit trail
 *   kexwatch_version   version of the binary that wrote the run
 *   packets, bytes     packets read, bytes on the wire
 *   flows              flows created
 *   handshakes         handshakes recorded
 *   skipped_malformed  packets skipped for a reason other than truncation or
 *                      fragmentation (every skip_* counter except skip_*_short
 *                      and skip_ip_fragment)
 *   skipped_truncated  skip_*_short + payload_truncated + capture_truncated
 *   flows_evicted      flows evicted because the flow table was full
 *   db_errors          database write errors (a failed batch counts once)
 *   counters           JSON object with every counter of counters.h by name
 *   The counter columns are NULL until the run ends.
 *
 * sources: the capture files or interfaces a run read.
 *   run_id -> runs.id, source_id (index within the run), name.
 *
 * handshakes: one row per observed handshake.
 *   id                 INTEGER PRIMARY KEY
 *   run_id             -> runs.id: the run that first recorded it
 *   sensor, source     observation point; source is the file or interface
 *   ts_first(_us)      first ClientHello segment
 *   ts_last(_us)       final handshake message seen
 *   transport          'tcp' or 'udp'
 *   protocol           'tls' (later 'quic', 'ssh')
 *   client_ip, client_port, server_ip, server_port   addresses as text
 *   ip_version         4 or 6
 *   vlan               outermost VLAN id, 0 when untagged
 *   sni                server_name, NULL when absent; like ndpi, stored as
 *                      UTF-8 with stray bytes replaced by U+FFFD
 *   alpn               offered ALPN ids, JSON array of strings ('[]' if none)
 *   legacy_version     ClientHello.legacy_version (771 = 0x0303)
 *   versions_offered   supported_versions, JSON array of numbers
 *   version            negotiated 'TLS1.3', 'TLS1.2', ... NULL without ServerHello
 *   version_code       the same as a number (772 = 0x0304)
 *   cipher_suite       selected suite; NULL without ServerHello
 *   groups_offered     supported_groups of the first ClientHello, JSON array
 *                      of code points in wire order, GREASE included
 *   groups_offered_2   the same for the ClientHello after a HelloRetryRequest
 *   key_shares         key_share groups, one array per ClientHello:
 *                      [[4588,29]] or, after an HRR, [[29],[4588]]
 *   offers_pq          some group or share in some ClientHello is hybrid/PQ
 *   hrr, hrr_group     HelloRetryRequest seen, and the group it asked for
 *   group_code         selected key-exchange group; NULL when none
 *   group_name         its name, or '0x1234' when not in the registry
 *   group_family       'classical', 'hybrid', 'pq', 'hybrid-draft', 'unknown'
 *   tls12_kx           'ECDHE', 'DHE', 'RSA', 'PSK', 'other'; NULL for TLS 1.3
 *   resumed, psk       resumption; the ServerHello accepted a PSK
 *   verdict            'hybrid', 'pq', 'hybrid-draft', 'classical', 'resumed',
 *                      'unknown', 'incomplete'
 *   reason             'client-no-pq', 'server-declined', 'tls12' for classical;
 *                      'rst', 'fin', 'timeout', 'end-of-capture', 'evicted',
 *                      'gap', 'depth', 'malformed' for incomplete; else NULL
 *   ch_bytes, ch_segments     size of the first ClientHello and the segments
 *                             that carried it
 *   ch2_bytes, ch2_segments   the same after an HRR, else NULL
 *   ch_to_sh_us        first ClientHello to ServerHello; NULL without one
 *   sigalgs            signature_algorithms, JSON array
 *   ech                encrypted_client_hello offered
 *   list_overflow      some ClientHello list was longer than kexwatch keeps
 *   ndpi               nDPI protocol label, NULL when none
 *   starttls           the cleartext protocol TLS was upgraded from ("smtp",
 *                      "imap", "pop3", "ftp", "ldap", "xmpp", "postgres",
 *                      "mysql"); NULL for TLS from the first byte (schema v2)
 *   ssh_client_banner, ssh_server_banner, kex_offered (client's
 *   kex_algorithms), kex_offered_server, ssh_hostkey (added by schema v2,
 *   appended to the table by ALTER TABLE): SSH rows only; there
 *   group_name is the negotiated kex method and the KEXINITs stand in for
 *   the hellos (ch_bytes, ch_segments, pkt_first_ch, pkt_sh).
 *   pkt_first_ch, pkt_sh      packet numbers (1-based within the source);
 *                             pkt_sh NULL without ServerHello
 *   dedup_key          (schema v3) kx_dedup_key() of sensor, protocol and
 *                      both endpoints: a 64-bit hash, see store.h
 *   A handshake is the same when sensor, protocol, both endpoints and
 *   ts_first_us match: reading a capture twice adds no rows. The UNIQUE
 *   index is (ts_first_us, dedup_key): it leads with ts_first_us, so inserts
 *   land at its end and it also serves time ranges; one further index,
 *   (server_ip, server_port, sni), serves the per-endpoint reports. Each
 *   index costs insert time (tests/bench), so low-selectivity ones (verdict)
 *   are left out.
 *
 * View hops: one row per server endpoint (server_ip, server_port, sni).
 *   first_seen, last_seen, handshakes, clients (distinct client IPs),
 *   n_hybrid, n_pq, n_hybrid_draft, n_classical (= n_client_no_pq +
 *   n_server_declined + n_tls12), n_resumed, n_incomplete, n_unknown,
 *   groups_selected (distinct group names, sorted, comma-separated),
 *   verdict and risk (higher is worse), from the handshakes that decide
 *   (hybrid, pq, hybrid-draft, classical, unknown; resumed and incomplete
 *   ones do not):
 *     none decide, or all are unknown               'unknown'                      1
 *       (schema 9: none decide                     'no-verdict'                   1
 *        only sessions, handshake not seen         'no-verdict (not observed)'    1
 *        all deciding ones unknown                 'unknown'                      1)
 *     all hybrid or pq                              'hybrid'                       0
 *     some hybrid-draft, no classical               'draft-kyber'                  3
 *     all classical (TLS 1.2 included), some with
 *       reason server-declined, or TLS 1.2 chosen
 *       although the client offered PQ in TLS 1.3   'classical (server-declined)'  5
 *       otherwise                                   'classical (clients-no-pq)'    4
 *     anything else                                 'mixed'                        2
 *
 * Schema v2 (user_version = 2) adds the five SSH columns above (NULL in
 * existing rows) and these views, so a v1 file upgrades without rewriting
 * a row (the views serve `kexwatch sql` and dashboards; README "SQLite
 * inventory" documents their columns):
 *   clients               one row per client_ip: handshakes, n_hello (parsed
 *                         ClientHellos), n_offers_pq, n_no_pq, offers_pq
 *                         ('all', 'some', 'none', 'unknown'; schema 9:
 *                         'no-hello' for 'unknown'), servers, counts
 *                         per verdict
 *   hybrid_share_daily    one row per UTC day of ts_first: handshakes,
 *                         deciding, counts per verdict, hybrid_share (hybrid +
 *                         pq over deciding, 0..1; NULL when none decide)
 *   clienthello_sizes     one row per band of the largest ClientHello
 *                         ('< 1500', '>= 1500', 'unknown' (schema 9: 'not
 *                         reassembled') when none was
 *                         reassembled): answered, no_server_hello by reason,
 *                         first segment lost, HRR, slow (>= 1 s) ServerHellos
 *   classical_handshakes  the classical handshakes with their evidence
 *                         (source file, packet numbers)
 *
 * Schema v3 (user_version = 3) rebuilds handshakes with the dedup_key
 * column (computed for existing rows) and UNIQUE (ts_first_us, dedup_key)
 * in place of the seven-column key; columns, views and their meaning are
 * unchanged.
 *
 * Schema v4 drops the endpoint index (see migrate_v4). Schema v5 splits
 * the rows into handshake_rows, hellos (the ClientHello lists, once per
 * distinct set) and handshake_extras (SSH, STARTTLS), and makes
 * handshakes a view with the columns above, in the same order, insertable
 * through a trigger (see schema_v5).
 *
 * Schema v11 (migrate_session_words) rewrites the verdict of sessions rows
 * whose handshake was not seen (reason 'handshake-unseen') from 'unknown'
 * to 'no-verdict': 'unknown' is left to unregistered code points.
 *
 * Migrations: migrations[i] takes user_version i to i + 1 inside one write
 * transaction. A later version appends its migrate_vN (ALTER TABLE ... ADD
 * COLUMN, and DROP VIEW/CREATE VIEW when a view changes) and bumps
 * KX_STORE_SCHEMA_VERSION; older files then upgrade on their next open.
 */
#include "kexwatch/capture.h"
#include "kexwatch/store.h"

#include "checkpointer.h"

#include <assert.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/emit.h"
#include "kexwatch/rollup.h"
#include "kx_config.h"

/* runs and sources have not changed since v1. */
#define SCHEMA_RUNS_SOURCES                                                            \
	"CREATE TABLE runs ("                                                          \
	" id INTEGER PRIMARY KEY,"                                                     \
	" started TEXT NOT NULL, started_us INTEGER NOT NULL,"                         \
	" finished TEXT, finished_us INTEGER,"                                         \
	" sensor TEXT NOT NULL, command TEXT, kexwatch_version TEXT NOT NULL,"         \
	" packets INTEGER, bytes INTEGER, flows INTEGER, handshakes INTEGER,"          \
	" skipped_malformed INTEGER, skipped_truncated INTEGER, flows_evicted INTEGER," \
	" db_errors INTEGER, counters TEXT);\n"                                        \
	"CREATE TABLE sources ("                                                       \
	" run_id INTEGER NOT NULL REFERENCES runs(id),"                                \
	" source_id INTEGER NOT NULL, name TEXT NOT NULL,"                             \
	" PRIMARY KEY (run_id, source_id));\n"

static const char schema_v1[] =
	SCHEMA_RUNS_SOURCES
	"CREATE TABLE handshakes ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER NOT NULL REFERENCES runs(id),"
	" sensor TEXT NOT NULL, source TEXT,"
	" ts_first TEXT NOT NULL, ts_first_us INTEGER NOT NULL,"
	" ts_last TEXT NOT NULL, ts_last_us INTEGER NOT NULL,"
	" transport TEXT NOT NULL, protocol TEXT NOT NULL,"
	" client_ip TEXT NOT NULL, client_port INTEGER NOT NULL,"
	" server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"
	" ip_version INTEGER NOT NULL, vlan INTEGER NOT NULL,"
	" sni TEXT, alpn TEXT NOT NULL,"
	" legacy_version INTEGER NOT NULL, versions_offered TEXT NOT NULL,"
	" version TEXT, version_code INTEGER, cipher_suite INTEGER,"
	" groups_offered TEXT NOT NULL, groups_offered_2 TEXT, key_shares TEXT NOT NULL,"
	" offers_pq INTEGER NOT NULL, hrr INTEGER NOT NULL, hrr_group INTEGER,"
	" group_code INTEGER, group_name TEXT, group_family TEXT, tls12_kx TEXT,"
	" resumed INTEGER NOT NULL, psk INTEGER NOT NULL,"
	" verdict TEXT NOT NULL, reason TEXT,"
	" ch_bytes INTEGER NOT NULL, ch_segments INTEGER NOT NULL,"
	" ch2_bytes INTEGER, ch2_segments INTEGER, ch_to_sh_us INTEGER,"
	" sigalgs TEXT NOT NULL, ech INTEGER NOT NULL, list_overflow INTEGER NOT NULL,"
	" ndpi TEXT, pkt_first_ch INTEGER NOT NULL, pkt_sh INTEGER,"
	" UNIQUE (ts_first_us, sensor, protocol, client_ip, client_port, server_ip,"
	" server_port));\n";


/* The hops view, created by v1 and again by v3 and v5 after the table
 * changes. first_seen and last_seen are formatted once per endpoint, not
 * once per row. */
static const char view_hops[] =
	/* Three layers: counts per endpoint, then the verdict from the counts,
	 * then its risk rank. groups_selected comes from a second grouping of
	 * the distinct (endpoint, group) pairs, sorted, joined on the endpoint
	 * (sni IS matches the NULL-SNI endpoint too): unlike a correlated
	 * subquery per endpoint it needs no index on the endpoint columns, an
	 * index every insert would pay for (schema v4). */
	"CREATE VIEW hops AS SELECT"
	" server_ip, server_port, sni, first_seen, last_seen, handshakes, clients,"
	" n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq,"
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"
	" groups_selected, verdict,"
	" CASE verdict WHEN 'classical (server-declined)' THEN 5"
	"  WHEN 'classical (clients-no-pq)' THEN 4 WHEN 'draft-kyber' THEN 3"
	"  WHEN 'mixed' THEN 2 WHEN 'unknown' THEN 1 ELSE 0 END AS risk"
	" FROM (SELECT c.*, g.groups_selected,"
	"  CASE WHEN n_decide = n_unknown THEN 'unknown'"
	"  WHEN n_hybrid + n_pq = n_decide THEN 'hybrid'"
	"  WHEN n_hybrid_draft > 0 AND n_classical = 0 THEN 'draft-kyber'"
	"  WHEN n_classical = n_decide THEN"
	"   CASE WHEN n_server_declined + n_tls12_offered_pq > 0 THEN 'classical (server-declined)'"
	"   ELSE 'classical (clients-no-pq)' END"
	"  ELSE 'mixed' END AS verdict"
	" FROM (SELECT server_ip, server_port, sni,"
	"  " KX_SQL_TS_TEXT("min(ts_first_us)") " AS first_seen,"
	"  " KX_SQL_TS_TEXT("max(ts_last_us)") " AS last_seen,"
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
	"  sum(verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')) AS n_decide"
	"  FROM handshakes GROUP BY server_ip, server_port, sni) AS c"
	" LEFT JOIN (SELECT server_ip, server_port, sni,"
	"  group_concat(group_name, ',') AS groups_selected"
	"  FROM (SELECT DISTINCT server_ip, server_port, sni, group_name FROM handshakes"
	"   WHERE group_name IS NOT NULL ORDER BY 1, 2, 3, 4)"
	"  GROUP BY server_ip, server_port, sni) AS g"
	" ON g.server_ip = c.server_ip AND g.server_port = c.server_port AND g.sni IS c.sni);\n";

static int migrate_v1(sqlite3 *db)
{
	int rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, view_hops, NULL, NULL, NULL) : rc;
}

/* The deciding verdicts and the size band are spelled as in src/report/,
 * whose unit tests compare the two. ALTER TABLE ... ADD COLUMN only
 * touches the schema: existing rows read the new columns as NULL. */
static const char *const ssh_columns_v2[] = {
	"ssh_client_banner", "ssh_server_banner", "kex_offered", "kex_offered_server",
	"ssh_hostkey", "starttls",
};

#define VIEW_CLIENTS_V2 \
	"CREATE VIEW clients AS SELECT client_ip, first_seen, last_seen, handshakes," \
	" n_hello, n_offers_pq, n_hello - n_offers_pq AS n_no_pq," \
	" CASE WHEN n_hello = 0 THEN 'unknown' WHEN n_offers_pq = n_hello THEN 'all'" \
	"  WHEN n_offers_pq = 0 THEN 'none' ELSE 'some' END AS offers_pq," \
	" servers, n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq," \
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown" \
	" FROM (SELECT client_ip, " KX_SQL_TS_TEXT("min(ts_first_us)") " AS first_seen," \
	"  " KX_SQL_TS_TEXT("max(ts_last_us)") " AS last_seen," \
	"  count(*) AS handshakes, sum(ch_bytes > 0) AS n_hello," \
	"  sum(ch_bytes > 0 AND offers_pq) AS n_offers_pq," \
	"  count(DISTINCT server_ip) AS servers," \
	"  sum(verdict = 'hybrid') AS n_hybrid, sum(verdict = 'pq') AS n_pq," \
	"  sum(verdict = 'hybrid-draft') AS n_hybrid_draft," \
	"  sum(verdict = 'classical') AS n_classical," \
	"  sum(verdict = 'classical' AND reason IS 'client-no-pq') AS n_client_no_pq," \
	"  sum(verdict = 'classical' AND reason IS 'server-declined') AS n_server_declined," \
	"  sum(verdict = 'classical' AND reason IS 'tls12') AS n_tls12," \
	"  sum(verdict = 'resumed') AS n_resumed, sum(verdict = 'incomplete') AS n_incomplete," \
	"  sum(verdict = 'unknown') AS n_unknown" \
	"  FROM handshakes GROUP BY client_ip);\n"

#define VIEW_HYBRID_SHARE_DAILY \
	"CREATE VIEW hybrid_share_daily AS SELECT day, handshakes, deciding, n_hybrid, n_pq," \
	" n_hybrid_draft, n_classical, n_unknown, n_resumed, n_incomplete," \
	" CASE WHEN deciding > 0 THEN 1.0 * (n_hybrid + n_pq) / deciding END AS hybrid_share" \
	/* Grouped by the day number, each day's text made once. */ \
	" FROM (SELECT CASE WHEN d < 0 THEN 'invalid' ELSE date(d * 86400, 'unixepoch') END AS day," \
	"  count(*) AS handshakes," \
	"  sum(verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')) AS deciding," \
	"  sum(verdict = 'hybrid') AS n_hybrid, sum(verdict = 'pq') AS n_pq," \
	"  sum(verdict = 'hybrid-draft') AS n_hybrid_draft," \
	"  sum(verdict = 'classical') AS n_classical, sum(verdict = 'unknown') AS n_unknown," \
	"  sum(verdict = 'resumed') AS n_resumed, sum(verdict = 'incomplete') AS n_incomplete" \
	"  FROM (SELECT *, CASE WHEN ts_first_us BETWEEN 0 AND 253402300799999999" \
	"   THEN ts_first_us / 86400000000 ELSE -1 END AS d FROM handshakes) GROUP BY d);\n"

#define VIEW_CLIENTHELLO_SIZES_V2 \
	"CREATE VIEW clienthello_sizes AS SELECT band, count(*) AS handshakes," \
	" count(*) - sum(unanswered) AS answered, sum(unanswered) AS no_server_hello," \
	" sum(unanswered AND reason IS 'rst') AS n_rst," \
	" sum(unanswered AND reason IS 'fin') AS n_fin," \
	" sum(unanswered AND reason IS 'timeout') AS n_timeout," \
	" sum(unanswered AND reason IS 'end-of-capture') AS n_end_of_capture," \
	" sum(unanswered AND reason IS 'gap') AS n_gap," \
	" sum(unanswered AND reason NOT IN ('rst', 'fin', 'timeout', 'end-of-capture', 'gap'))" \
	"  AS n_other," \
	" sum(first_lost) AS n_first_segment_lost, sum(hrr) AS n_hrr, sum(slow) AS n_slow," \
	" round(100.0 * sum(unanswered) / count(*), 1) AS pct_no_server_hello" \
	" FROM (SELECT *, CASE WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) = 0 THEN 'unknown'" \
	"  WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) < 1500 THEN '< 1500'" \
	"  ELSE '>= 1500' END AS band," \
	"  verdict = 'incomplete' AS unanswered," \
	"  verdict = 'incomplete' AND reason IS 'gap' AND ch_segments = 0 AS first_lost," \
	"  coalesce(ch_to_sh_us >= 1000000, 0) AS slow FROM handshakes)" \
	" GROUP BY band;\n"

#define VIEW_CLASSICAL_HANDSHAKES \
	"CREATE VIEW classical_handshakes AS SELECT ts_first, ts_first_us, sensor, protocol," \
	" client_ip, client_port, server_ip, server_port, sni, version, group_name, reason," \
	" offers_pq, source, pkt_first_ch, pkt_sh" \
	" FROM handshakes WHERE verdict = 'classical';\n"

static const char schema_v2[] = VIEW_CLIENTS_V2 VIEW_HYBRID_SHARE_DAILY VIEW_CLIENTHELLO_SIZES_V2
	VIEW_CLASSICAL_HANDSHAKES;

/* A development build wrote the SSH columns into version 1 files: add
 * only the columns a file lacks, so those files upgrade too. */
static int migrate_v2(sqlite3 *db)
{
	sqlite3_stmt *s;
	char sql[96];
	int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('handshakes')"
				    " WHERE name = ?", -1, &s, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < sizeof(ssh_columns_v2) / sizeof(ssh_columns_v2[0]);
	     i++) {
		sqlite3_bind_text(s, 1, ssh_columns_v2[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
		bool have = rc == SQLITE_OK && sqlite3_column_int(s, 0) > 0;
		sqlite3_reset(s);
		if (rc == SQLITE_OK && !have) {
			snprintf(sql, sizeof(sql), "ALTER TABLE handshakes ADD COLUMN %s TEXT",
				 ssh_columns_v2[i]);
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? sqlite3_exec(db, schema_v2, NULL, NULL, NULL) : rc;
}

/* Every handshakes column of v2, in table order: the copy in migrate_v3. */
#define HS_COLUMNS_V2                                                                  \
	"id, run_id, sensor, source, ts_first, ts_first_us, ts_last, ts_last_us,"      \
	" transport, protocol, client_ip, client_port, server_ip, server_port,"        \
	" ip_version, vlan, sni, alpn, legacy_version, versions_offered, version,"     \
	" version_code, cipher_suite, groups_offered, groups_offered_2, key_shares,"   \
	" offers_pq, hrr, hrr_group, group_code, group_name, group_family, tls12_kx,"  \
	" resumed, psk, verdict, reason, ch_bytes, ch_segments, ch2_bytes,"            \
	" ch2_segments, ch_to_sh_us, sigalgs, ech, list_overflow, ndpi, pkt_first_ch," \
	" pkt_sh, ssh_client_banner, ssh_server_banner, kex_offered,"                  \
	" kex_offered_server, ssh_hostkey, starttls"

/* The handshakes table of v3 and v4 (after the column list: name and a ";"). */
#define HANDSHAKES_V3_COLUMNS HANDSHAKES_V3_FIELDS " UNIQUE (ts_first_us, dedup_key));\n"
#define HANDSHAKES_V3_FIELDS \
	" id INTEGER PRIMARY KEY,"                                                        \
	" run_id INTEGER NOT NULL REFERENCES runs(id),"                                   \
	" sensor TEXT NOT NULL, source TEXT,"                                             \
	" ts_first TEXT NOT NULL, ts_first_us INTEGER NOT NULL,"                          \
	" ts_last TEXT NOT NULL, ts_last_us INTEGER NOT NULL,"                            \
	" transport TEXT NOT NULL, protocol TEXT NOT NULL,"                               \
	" client_ip TEXT NOT NULL, client_port INTEGER NOT NULL,"                         \
	" server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"                         \
	" ip_version INTEGER NOT NULL, vlan INTEGER NOT NULL,"                            \
	" sni TEXT, alpn TEXT NOT NULL,"                                                  \
	" legacy_version INTEGER NOT NULL, versions_offered TEXT NOT NULL,"               \
	" version TEXT, version_code INTEGER, cipher_suite INTEGER,"                      \
	" groups_offered TEXT NOT NULL, groups_offered_2 TEXT, key_shares TEXT NOT NULL," \
	" offers_pq INTEGER NOT NULL, hrr INTEGER NOT NULL, hrr_group INTEGER,"           \
	" group_code INTEGER, group_name TEXT, group_family TEXT, tls12_kx TEXT,"         \
	" resumed INTEGER NOT NULL, psk INTEGER NOT NULL,"                                \
	" verdict TEXT NOT NULL, reason TEXT,"                                            \
	" ch_bytes INTEGER NOT NULL, ch_segments INTEGER NOT NULL,"                       \
	" ch2_bytes INTEGER, ch2_segments INTEGER, ch_to_sh_us INTEGER,"                  \
	" sigalgs TEXT NOT NULL, ech INTEGER NOT NULL, list_overflow INTEGER NOT NULL,"   \
	" ndpi TEXT, pkt_first_ch INTEGER NOT NULL, pkt_sh INTEGER,"                      \
	" ssh_client_banner TEXT, ssh_server_banner TEXT, kex_offered TEXT,"              \
	" kex_offered_server TEXT, ssh_hostkey TEXT, starttls TEXT,"                      \
	" dedup_key INTEGER NOT NULL,"

/* v3 replaces the seven-column UNIQUE key (three of them text) by
 * (ts_first_us, dedup_key): the same identity, but an index entry of two
 * integers. Measured on the dense benchmark, the old key was a quarter of
 * the writer thread's time. SQLite cannot change a table constraint in
 * place, so the table is rebuilt (the documented create-copy-drop-rename
 * procedure); the views go first because a rename checks them. */
static const char schema_v3_table[] =
	"DROP VIEW hops; DROP VIEW clients; DROP VIEW hybrid_share_daily;"
	" DROP VIEW clienthello_sizes; DROP VIEW classical_handshakes;\n"
	"CREATE TABLE handshakes_v3 (" HANDSHAKES_V3_COLUMNS
	"INSERT INTO handshakes_v3 (" HS_COLUMNS_V2 ", dedup_key)"
	" SELECT " HS_COLUMNS_V2 ", kx_dedup_key(sensor, protocol, client_ip, client_port,"
	" server_ip, server_port) FROM handshakes WHERE true"
	" ON CONFLICT (ts_first_us, dedup_key) DO NOTHING;\n"
	"DROP TABLE handshakes;\n"
	"ALTER TABLE handshakes_v3 RENAME TO handshakes;\n";

static int migrate_v3(sqlite3 *db)
{
	int rc = kx_store_register_functions(db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_v3_table, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, view_hops, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, schema_v2, NULL, NULL, NULL) : rc;
}

/* v4 drops the index on (server_ip, server_port, sni). It served one
 * query, the hops view's correlated subquery, and cost every insert: 18 %
 * of the writer thread's instructions on the dense benchmark. The view now
 * joins a grouping instead, which on 462 000 rows without the index runs in
 * a third of the old view's time with it (tests/bench/README.md). */
static const char schema_v4[] =
	"DROP INDEX IF EXISTS handshakes_server;\n"
	"DROP VIEW hops;\n";

static int migrate_v4(sqlite3 *db)
{
	int rc = sqlite3_exec(db, schema_v4, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, view_hops, NULL, NULL, NULL) : rc;
}

/* v5 keeps a row to what varies from handshake to handshake. A link sees
 * the same few client stacks again and again, and their lists (sigalgs
 * alone is ~130 bytes) were most of a row; so were the capture file's name
 * and the text twins of the timestamps; and every one of the 55 columns
 * cost the writer a bind, a copy and a record field, SSH's five and
 * starttls too, NULL in nearly every row. Now:
 *   handshake_rows    the columns below except the lists, source, the
 *                     timestamp text and the SSH/starttls columns; it
 *                     points at hellos (hello_id) and sources (source_id)
 *   hellos            each distinct set of the six ClientHello lists once
 *                     (groups_offered_2 '' for none)
 *   handshake_extras  the SSH and starttls columns, and `source` when no
 *                     sources row names the file: only rows that have one
 * and `handshakes` is a view that gives back every column by the same name
 * and in the same order, so queries, the other views and dashboards read
 * it as before. An INSTEAD OF trigger makes it insertable with the same
 * meaning as the v4 table (ON CONFLICT DO NOTHING on the identity):
 * `kexwatch merge` and the central snapshot insert through it. Measured on
 * the dense benchmark: the database shrinks from 11.9 to 5.2 MB and the
 * CPU time of a run by a sixth (tests/bench/README.md). */
#define HELLOS_TABLE                                                                  \
	"CREATE TABLE hellos ("                                                        \
	" id INTEGER PRIMARY KEY, alpn TEXT NOT NULL, versions_offered TEXT NOT NULL,"  \
	" groups_offered TEXT NOT NULL, groups_offered_2 TEXT NOT NULL,"               \
	" key_shares TEXT NOT NULL, sigalgs TEXT NOT NULL,"                            \
	" UNIQUE (alpn, versions_offered, groups_offered, groups_offered_2, key_shares,"\
	" sigalgs));\n"

#define HANDSHAKE_ROWS_TABLE                                                           \
	"CREATE TABLE handshake_rows ("                                                \
	" id INTEGER PRIMARY KEY,"                                                     \
	" run_id INTEGER NOT NULL REFERENCES runs(id),"                                \
	" sensor TEXT NOT NULL, source_id INTEGER,"                                    \
	" ts_first_us INTEGER NOT NULL, ts_last_us INTEGER NOT NULL,"                  \
	" transport TEXT NOT NULL, protocol TEXT NOT NULL,"                            \
	" client_ip TEXT NOT NULL, client_port INTEGER NOT NULL,"                      \
	" server_ip TEXT NOT NULL, server_port INTEGER NOT NULL,"                      \
	" ip_version INTEGER NOT NULL, vlan INTEGER NOT NULL, sni TEXT,"               \
	" hello_id INTEGER NOT NULL REFERENCES hellos(id), legacy_version INTEGER NOT NULL," \
	" version TEXT, version_code INTEGER, cipher_suite INTEGER,"                   \
	" offers_pq INTEGER NOT NULL, hrr INTEGER NOT NULL, hrr_group INTEGER,"        \
	" group_code INTEGER, group_name TEXT, group_family TEXT, tls12_kx TEXT,"      \
	" resumed INTEGER NOT NULL, psk INTEGER NOT NULL,"                             \
	" verdict TEXT NOT NULL, reason TEXT,"                                         \
	" ch_bytes INTEGER NOT NULL, ch_segments INTEGER NOT NULL,"                    \
	" ch2_bytes INTEGER, ch2_segments INTEGER, ch_to_sh_us INTEGER,"               \
	" ech INTEGER NOT NULL, list_overflow INTEGER NOT NULL,"                       \
	" ndpi TEXT, pkt_first_ch INTEGER NOT NULL, pkt_sh INTEGER,"                   \
	" dedup_key INTEGER NOT NULL,"                                                 \
	" UNIQUE (ts_first_us, dedup_key));\n"                                         \
	"CREATE TABLE handshake_extras ("                                              \
	" id INTEGER PRIMARY KEY REFERENCES handshake_rows(id), source TEXT,"          \
	" ssh_client_banner TEXT, ssh_server_banner TEXT, kex_offered TEXT,"           \
	" kex_offered_server TEXT, ssh_hostkey TEXT, starttls TEXT,"                  \
	" tunnel TEXT, ch_unseen INTEGER, regression INTEGER, interface TEXT);\n"

/* handshake_rows' columns that the view passes through unchanged. */
#define ROWS_PLAIN_1                                                                   \
	"transport, protocol, client_ip, client_port, server_ip, server_port,"        \
	" ip_version, vlan, sni"
#define ROWS_PLAIN_2                                                                   \
	"offers_pq, hrr, hrr_group, group_code, group_name, group_family, tls12_kx,"  \
	" resumed, psk, verdict, reason, ch_bytes, ch_segments, ch2_bytes,"           \
	" ch2_segments, ch_to_sh_us"
#define ROWS_PLAIN_3 "ech, list_overflow, ndpi, pkt_first_ch, pkt_sh"
#define EXTRAS_COLS                                                                    \
	"ssh_client_banner, ssh_server_banner, kex_offered, kex_offered_server,"      \
	" ssh_hostkey, starttls, tunnel, ch_unseen, regression"

#define VIEW_HANDSHAKES_HEAD                                                           \
	"CREATE VIEW handshakes AS SELECT r.id, r.run_id, r.sensor," \
	" coalesce(s.name, x.source) AS source," \
	" " KX_SQL_TS_TEXT("r.ts_first_us") " AS ts_first, r.ts_first_us," \
	" " KX_SQL_TS_TEXT("r.ts_last_us") " AS ts_last, r.ts_last_us," \
	" r.transport, r.protocol, r.client_ip, r.client_port, r.server_ip, r.server_port," \
	" r.ip_version, r.vlan, r.sni, h.alpn, r.legacy_version, h.versions_offered," \
	" r.version, r.version_code, r.cipher_suite, h.groups_offered," \
	" nullif(h.groups_offered_2, '') AS groups_offered_2, h.key_shares," \
	" r.offers_pq, r.hrr, r.hrr_group, r.group_code, r.group_name, r.group_family," \
	" r.tls12_kx, r.resumed, r.psk, r.verdict, r.reason, r.ch_bytes, r.ch_segments," \
	" r.ch2_bytes, r.ch2_segments, r.ch_to_sh_us, h.sigalgs," \
	" r.ech, r.list_overflow, r.ndpi, r.pkt_first_ch, r.pkt_sh, x.ssh_client_banner," \
	" x.ssh_server_banner, x.kex_offered, x.kex_offered_server, x.ssh_hostkey, x.starttls," \
	" r.dedup_key, x.tunnel, x.ch_unseen IS NOT 1 AS client_hello_seen"
/* LEFT JOINs on unique keys: a query that uses none of a table's columns
 * does not read it. */
#define VIEW_HANDSHAKES_FROM \
	" FROM handshake_rows AS r" \
	" LEFT JOIN sources AS s ON s.run_id = r.run_id AND s.source_id = r.source_id" \
	" LEFT JOIN hellos AS h ON h.id = r.hello_id" \
	" LEFT JOIN handshake_extras AS x ON x.id = r.id"

static const char view_handshakes[] = VIEW_HANDSHAKES_HEAD VIEW_HANDSHAKES_FROM ";\n";


/* Inserting into the view: the lists into hellos, the row (unless the same
 * handshake is there already), then its extras. Inside a trigger changes()
 * and last_insert_rowid() are the trigger's own statements'. */
#define NEW_HELLO_MATCHES                                                              \
	"alpn = NEW.alpn AND versions_offered = NEW.versions_offered AND"              \
	" groups_offered = NEW.groups_offered AND"                                     \
	" groups_offered_2 = coalesce(NEW.groups_offered_2, '') AND"                   \
	" key_shares = NEW.key_shares AND sigalgs = NEW.sigalgs"
#define NEW_SOURCE_KNOWN "run_id = NEW.run_id AND name = NEW.source"
#define TRIGGER_HANDSHAKES(FP_INSERT, FP_COL, FP_VAL, REG, IFC_COL, IFC_VAL) \
	"CREATE TRIGGER handshakes_insert INSTEAD OF INSERT ON handshakes BEGIN" \
	" INSERT INTO hellos (alpn, versions_offered, groups_offered, groups_offered_2," \
	"  key_shares, sigalgs) VALUES (NEW.alpn, NEW.versions_offered, NEW.groups_offered," \
	"  coalesce(NEW.groups_offered_2, ''), NEW.key_shares, NEW.sigalgs)" \
	"  ON CONFLICT DO NOTHING;" \
	FP_INSERT \
	" INSERT INTO handshake_rows (id, run_id, sensor, source_id, ts_first_us, ts_last_us," \
	"  " ROWS_PLAIN_1 ", hello_id, legacy_version, version, version_code, cipher_suite," \
	"  " ROWS_PLAIN_2 ", " ROWS_PLAIN_3 ", dedup_key" FP_COL ")" \
	"  VALUES (NEW.id, NEW.run_id, NEW.sensor," \
	"  (SELECT min(source_id) FROM sources WHERE " NEW_SOURCE_KNOWN ")," \
	"  NEW.ts_first_us, NEW.ts_last_us, NEW.transport, NEW.protocol, NEW.client_ip," \
	"  NEW.client_port, NEW.server_ip, NEW.server_port, NEW.ip_version, NEW.vlan, NEW.sni," \
	"  (SELECT id FROM hellos WHERE " NEW_HELLO_MATCHES ")," \
	"  NEW.legacy_version, NEW.version, NEW.version_code, NEW.cipher_suite, NEW.offers_pq," \
	"  NEW.hrr, NEW.hrr_group, NEW.group_code, NEW.group_name, NEW.group_family," \
	"  NEW.tls12_kx, NEW.resumed, NEW.psk, NEW.verdict, NEW.reason, NEW.ch_bytes," \
	"  NEW.ch_segments, NEW.ch2_bytes, NEW.ch2_segments, NEW.ch_to_sh_us, NEW.ech," \
	"  NEW.list_overflow, NEW.ndpi, NEW.pkt_first_ch, NEW.pkt_sh, NEW.dedup_key" FP_VAL ")" \
	"  ON CONFLICT (ts_first_us, dedup_key) DO NOTHING;" \
	" INSERT INTO handshake_extras (id, source, " EXTRAS_COLS IFC_COL ")" \
	"  SELECT last_insert_rowid(), src, NEW.ssh_client_banner, NEW.ssh_server_banner," \
	"  NEW.kex_offered, NEW.kex_offered_server, NEW.ssh_hostkey, NEW.starttls," \
	"  NEW.tunnel, unseen, reg" IFC_VAL \
	"  FROM (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM sources WHERE " NEW_SOURCE_KNOWN ")" \
	"   THEN NEW.source END AS src, nullif(NEW.client_hello_seen IS 0, 0) AS unseen," \
	"   " REG " AS reg)" \
	"  WHERE changes() > 0 AND coalesce(src, NEW.ssh_client_banner, NEW.ssh_server_banner," \
	"  NEW.kex_offered, NEW.kex_offered_server, NEW.ssh_hostkey, NEW.starttls," \
	"  NEW.tunnel, unseen, reg" IFC_VAL ") IS NOT NULL;" \
	" END;\n"

/* Before schema 8 the view has no regression column: the extras get NULL. */
static const char trigger_handshakes[] = TRIGGER_HANDSHAKES("", "", "", "NULL", "", "");

/* Schema 7 (migrate_fingerprints): the fingerprint and signature-readiness
 * fields of a handshake (emit.h kx_hs_fp), once per distinct set in
 * fingerprints, like the hello lists in hellos: a link's rows share a
 * handful of client and server stacks. '' and -1 stand for NULL in the
 * table (UNIQUE treats NULLs as distinct); the view turns them back. A row
 * stored before schema 7 has no fp_id: its fields are NULL. */
#define FP_COLS                                                                        \
	"ja4, ja4_2, ja4s, ja4s_hrr, kx_fp, kx_fp_2, hassh, hassh_server, offers_mldsa,"  \
	" key_share_sizes, server_share_size, kx_anomalies, cert_status, cert_key,"    \
	" cert_key_bits, cert_curve, cert_sig, ske_sigalg"
#define SCHEMA_V7_ADDITIONS                                                            \
	"CREATE TABLE fingerprints (id INTEGER PRIMARY KEY,"                           \
	" ja4 TEXT NOT NULL, ja4_2 TEXT NOT NULL, ja4s TEXT NOT NULL, ja4s_hrr TEXT NOT NULL," \
	" kx_fp TEXT NOT NULL, kx_fp_2 TEXT NOT NULL, hassh TEXT NOT NULL,"            \
	" hassh_server TEXT NOT NULL, offers_mldsa INTEGER NOT NULL,"                  \
	" key_share_sizes TEXT NOT NULL, server_share_size INTEGER NOT NULL,"          \
	" kx_anomalies TEXT NOT NULL, cert_status TEXT NOT NULL, cert_key TEXT NOT NULL," \
	" cert_key_bits INTEGER NOT NULL, cert_curve TEXT NOT NULL, cert_sig TEXT NOT NULL," \
	" ske_sigalg INTEGER NOT NULL, UNIQUE (" FP_COLS "));\n"                       \
	"ALTER TABLE handshake_rows ADD COLUMN fp_id INTEGER REFERENCES fingerprints(id);\n"

/* The view's fingerprint columns, at its end (positions before them do
 * not move). */
#define VIEW_FP_COLS                                                                   \
	", nullif(f.ja4, '') AS ja4, nullif(f.ja4_2, '') AS ja4_2,"                    \
	" nullif(f.ja4s, '') AS ja4s, nullif(f.ja4s_hrr, '') AS ja4s_hrr,"             \
	" nullif(f.kx_fp, '') AS kx_fp, nullif(f.kx_fp_2, '') AS kx_fp_2,"             \
	" nullif(f.hassh, '') AS hassh, nullif(f.hassh_server, '') AS hassh_server,"   \
	" f.offers_mldsa, nullif(f.key_share_sizes, '') AS key_share_sizes,"           \
	" nullif(f.server_share_size, -1) AS server_share_size,"                       \
	" nullif(f.kx_anomalies, '') AS kx_anomalies, nullif(f.cert_status, '') AS cert_status," \
	" nullif(f.cert_key, '') AS cert_key, nullif(f.cert_key_bits, -1) AS cert_key_bits," \
	" nullif(f.cert_curve, '') AS cert_curve, nullif(f.cert_sig, '') AS cert_sig,"  \
	" nullif(f.ske_sigalg, -1) AS ske_sigalg"

static const char view_handshakes_v7[] = VIEW_HANDSHAKES_HEAD VIEW_FP_COLS VIEW_HANDSHAKES_FROM
	" LEFT JOIN fingerprints AS f ON f.id = r.fp_id;\n";

/* NEW's fingerprint values as the table keeps them. A row without
 * offers_mldsa (copied from a file older than schema 7) gets no fp_id. */
#define NEW_FP_VALUES                                                                  \
	"coalesce(NEW.ja4, ''), coalesce(NEW.ja4_2, ''), coalesce(NEW.ja4s, ''),"      \
	" coalesce(NEW.ja4s_hrr, ''), coalesce(NEW.kx_fp, ''), coalesce(NEW.kx_fp_2, '')," \
	" coalesce(NEW.hassh, ''), coalesce(NEW.hassh_server, ''), NEW.offers_mldsa,"  \
	" coalesce(NEW.key_share_sizes, ''), coalesce(NEW.server_share_size, -1),"     \
	" coalesce(NEW.kx_anomalies, ''), coalesce(NEW.cert_status, ''),"              \
	" coalesce(NEW.cert_key, ''), coalesce(NEW.cert_key_bits, -1),"                \
	" coalesce(NEW.cert_curve, ''), coalesce(NEW.cert_sig, ''), coalesce(NEW.ske_sigalg, -1)"
#define TRIGGER_HANDSHAKES_FP(REG, IFC_COL, IFC_VAL) TRIGGER_HANDSHAKES(            \
	" INSERT INTO fingerprints (" FP_COLS ") SELECT " NEW_FP_VALUES                \
	"  WHERE NEW.offers_mldsa IS NOT NULL ON CONFLICT DO NOTHING;",                \
	", fp_id",                                                                     \
	", CASE WHEN NEW.offers_mldsa IS NOT NULL THEN (SELECT id FROM fingerprints"   \
	"  WHERE (" FP_COLS ") = (" NEW_FP_VALUES ")) END", REG, IFC_COL, IFC_VAL)
static const char trigger_handshakes_v7[] = TRIGGER_HANDSHAKES_FP("NULL", "", "");

/* Schema 8 (migrate_regressions): the regression flag of `live`/`read`
 * (src/regress), rare, so in handshake_extras; the view gains
 * `regression` (0/1) after the fingerprint columns. */
static const char view_handshakes_v8[] = VIEW_HANDSHAKES_HEAD VIEW_FP_COLS
	", x.regression IS 1 AS regression" VIEW_HANDSHAKES_FROM
	" LEFT JOIN fingerprints AS f ON f.id = r.fp_id;\n";
#define NEW_REGRESSION "nullif(NEW.regression IS 1, 0)"
static const char trigger_handshakes_v8[] = TRIGGER_HANDSHAKES_FP(NEW_REGRESSION, "", "");

/* Schema 10 (migrate_interface): the capture interface of a row (a pcapng
 * interface's if_name, the -i of `live`), NULL when the capture names
 * none: in handshake_extras, as a plain pcap file (the common case of
 * `read`) has none; the view gains `interface` at its end. */
static const char view_handshakes_v10[] = VIEW_HANDSHAKES_HEAD VIEW_FP_COLS
	", x.regression IS 1 AS regression, x.interface AS interface" VIEW_HANDSHAKES_FROM
	" LEFT JOIN fingerprints AS f ON f.id = r.fp_id;\n";
static const char trigger_handshakes_v10[] =
	TRIGGER_HANDSHAKES_FP(NEW_REGRESSION, ", interface", ", NEW.interface");


/* The views go first (the table they read changes); the rows are copied
 * through the new view's trigger, which does the splitting. Their
 * timestamp text is not kept: the view formats the integers exactly as
 * kexwatch always has (test_store compares the two). */
static const char schema_v5[] =
	"DROP VIEW hops; DROP VIEW clients; DROP VIEW hybrid_share_daily;"
	" DROP VIEW clienthello_sizes; DROP VIEW classical_handshakes;\n"
	"ALTER TABLE handshakes RENAME TO handshakes_v4;\n"
	HELLOS_TABLE HANDSHAKE_ROWS_TABLE;

static const char schema_v5_copy[] =
	"INSERT INTO handshakes (" HS_COLUMNS_V2 ", dedup_key)"
	" SELECT " HS_COLUMNS_V2 ", dedup_key FROM handshakes_v4 ORDER BY id;\n"
	"DROP TABLE handshakes_v4;\n";

/* The views of schema 6 count the legs: every handshake (weight 1) and
 * every hourly sessions row (weight: its sessions), with the rules of
 * src/report/report_int.h (KX_SQL_COUNTS, KX_SQL_VERDICT), which
 * test_report.c holds equal. A sessions row has no SNI: its endpoint is
 * (server IP, port, NULL). Sessions do not decide an endpoint's verdict
 * unless plaintext, which overrides it. */
#define VIEW_LEGS                                                                      \
	"(SELECT server_ip, server_port, sni, client_ip, ts_first_us, ts_last_us,"      \
	" verdict, reason, offers_pq, ch_bytes, 1 AS n, 0 AS is_session FROM handshakes" \
	" UNION ALL SELECT server_ip, server_port, NULL, client_ip, ts_first_us,"       \
	" ts_last_us, verdict, nullif(reason, ''), 0, 0, sessions, 1 FROM sessions)"

#define VIEW_SESSION_COUNTS                                                            \
	"  sum(n * is_session) AS sessions,"                                           \
	"  sum(n * (verdict = 'plaintext')) AS n_plaintext,"                           \
	"  sum(n * (reason IS 'handshake-unseen')) AS n_unseen,"

#define VIEW_HOPS(UNKNOWN_RISK, UNOBSERVED)                                            \
	"CREATE VIEW hops AS SELECT" \
	" server_ip, server_port, sni, first_seen, last_seen, handshakes, clients," \
	" n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq," \
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown," \
	" groups_selected, verdict," \
	" CASE verdict WHEN 'plaintext' THEN 6 WHEN 'classical (server-declined)' THEN 5" \
	"  WHEN 'classical (clients-no-pq)' THEN 4 WHEN 'classical (offer-unseen)' THEN 4" \
	"  WHEN 'draft-kyber' THEN 3 WHEN 'mixed' THEN 2 " UNKNOWN_RISK " ELSE 0 END AS risk," \
	" sessions, n_plaintext, n_unseen, n_offer_unseen, n_no_tls, n_starttls_not_offered," \
	" n_starttls_refused, n_ssl_refused, apps" \
	" FROM (SELECT c.*, g.groups_selected, a.apps," \
	"  CASE WHEN n_plaintext > 0 THEN 'plaintext'" \
	"  WHEN n_decide = 0 AND n_unseen > 0 THEN " UNOBSERVED \
	"  WHEN n_hybrid + n_pq = n_decide THEN 'hybrid'" \
	"  WHEN n_hybrid_draft > 0 AND n_classical = 0 THEN 'draft-kyber'" \
	"  WHEN n_classical = n_decide THEN" \
	"   CASE WHEN n_server_declined + n_tls12_offered_pq > 0 THEN 'classical (server-declined)'" \
	"   WHEN n_offer_unseen = n_classical THEN 'classical (offer-unseen)'" \
	"   ELSE 'classical (clients-no-pq)' END" \
	"  ELSE 'mixed' END AS verdict" \
	" FROM (SELECT server_ip, server_port, sni," \
	"  " KX_SQL_TS_TEXT("min(ts_first_us)") " AS first_seen," \
	"  " KX_SQL_TS_TEXT("max(ts_last_us)") " AS last_seen," \
	"  sum(NOT is_session) AS handshakes, count(DISTINCT client_ip) AS clients," \
	"  sum(verdict = 'hybrid') AS n_hybrid," \
	"  sum(verdict = 'pq') AS n_pq," \
	"  sum(verdict = 'hybrid-draft') AS n_hybrid_draft," \
	"  sum(verdict = 'classical') AS n_classical," \
	"  sum(verdict = 'classical' AND reason IS 'client-no-pq') AS n_client_no_pq," \
	"  sum(verdict = 'classical' AND reason IS 'server-declined') AS n_server_declined," \
	"  sum(verdict = 'classical' AND reason IS 'tls12' AND offers_pq) AS n_tls12_offered_pq," \
	"  sum(verdict = 'classical' AND reason IS 'tls12') AS n_tls12," \
	"  sum(verdict = 'classical' AND reason IS 'offer-unseen') AS n_offer_unseen," \
	"  sum(verdict = 'resumed') AS n_resumed," \
	"  sum(verdict = 'incomplete') AS n_incomplete," \
	"  sum(verdict = 'unknown' AND NOT is_session) AS n_unknown," \
	VIEW_SESSION_COUNTS \
	"  sum(n * (verdict = 'plaintext' AND reason IS 'no-tls')) AS n_no_tls," \
	"  sum(n * (verdict = 'plaintext' AND reason IS 'starttls-not-offered'))" \
	"   AS n_starttls_not_offered," \
	"  sum(n * (verdict = 'plaintext' AND reason IS 'starttls-refused')) AS n_starttls_refused," \
	"  sum(n * (verdict = 'plaintext' AND reason IS 'ssl-refused')) AS n_ssl_refused," \
	"  sum(verdict IN ('hybrid', 'pq', 'hybrid-draft', 'classical', 'unknown')" \
	"   AND NOT is_session) AS n_decide" \
	"  FROM " VIEW_LEGS " GROUP BY server_ip, server_port, sni) AS c" \
	" LEFT JOIN (SELECT server_ip, server_port, sni," \
	"  group_concat(group_name, ',') AS groups_selected" \
	"  FROM (SELECT DISTINCT server_ip, server_port, sni, group_name FROM handshakes" \
	"   WHERE group_name IS NOT NULL ORDER BY 1, 2, 3, 4)" \
	"  GROUP BY server_ip, server_port, sni) AS g" \
	" ON g.server_ip = c.server_ip AND g.server_port = c.server_port AND g.sni IS c.sni" \
	" LEFT JOIN (SELECT server_ip, server_port, group_concat(app, ',') AS apps" \
	"  FROM (SELECT DISTINCT server_ip, server_port, app FROM sessions ORDER BY 1, 2, 3)" \
	"  GROUP BY server_ip, server_port) AS a" \
	" ON a.server_ip = c.server_ip AND a.server_port = c.server_port AND c.sni IS NULL);\n"

static const char view_hops_v6[] = VIEW_HOPS(
	"WHEN 'unknown' THEN 1 WHEN 'unknown (not observed)' THEN 1",
	"'unknown (not observed)' WHEN n_decide = n_unknown THEN 'unknown'");

/* Schema 9 (migrate_words): 'unknown' only for an unregistered code point
 * (or key exchange claims that do not hold); an endpoint none of whose
 * handshakes decides (all resumed or incomplete) is 'no-verdict', one seen
 * only in sessions whose handshake was not captured 'no-verdict (not
 * observed)'. */
static const char view_hops_v9[] = VIEW_HOPS(
	"WHEN 'unknown' THEN 1 WHEN 'no-verdict' THEN 1 WHEN 'no-verdict (not observed)' THEN 1",
	"'no-verdict (not observed)' WHEN n_decide = 0 THEN 'no-verdict'"
	" WHEN n_decide = n_unknown THEN 'unknown'");

#define VIEW_CLIENTS_V6 VIEW_CLIENTS("'unknown'")
/* Schema 9: a client without a parsed ClientHello offers 'no-hello'. */
#define VIEW_CLIENTS_V9 VIEW_CLIENTS("'no-hello'")
#define VIEW_CLIENTS(NO_HELLO)                                                         \
	"CREATE VIEW clients AS SELECT client_ip, first_seen, last_seen, handshakes,"  \
	" n_hello, n_offers_pq, n_hello - n_offers_pq AS n_no_pq,"                     \
	" CASE WHEN n_hello = 0 THEN " NO_HELLO " WHEN n_offers_pq = n_hello THEN 'all'" \
	"  WHEN n_offers_pq = 0 THEN 'none' ELSE 'some' END AS offers_pq,"             \
	" servers, n_hybrid, n_pq, n_hybrid_draft, n_classical, n_client_no_pq,"       \
	" n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"             \
	" sessions, n_plaintext, n_unseen"                                             \
	" FROM (SELECT client_ip, " KX_SQL_TS_TEXT("min(ts_first_us)") " AS first_seen," \
	"  " KX_SQL_TS_TEXT("max(ts_last_us)") " AS last_seen,"                        \
	"  sum(NOT is_session) AS handshakes, sum(ch_bytes > 0) AS n_hello,"           \
	"  sum(ch_bytes > 0 AND offers_pq) AS n_offers_pq,"                            \
	"  count(DISTINCT server_ip) AS servers,"                                      \
	"  sum(verdict = 'hybrid') AS n_hybrid, sum(verdict = 'pq') AS n_pq,"          \
	"  sum(verdict = 'hybrid-draft') AS n_hybrid_draft,"                           \
	"  sum(verdict = 'classical') AS n_classical,"                                 \
	"  sum(verdict = 'classical' AND reason IS 'client-no-pq') AS n_client_no_pq,"  \
	"  sum(verdict = 'classical' AND reason IS 'server-declined') AS n_server_declined," \
	"  sum(verdict = 'classical' AND reason IS 'tls12') AS n_tls12,"               \
	"  sum(verdict = 'resumed') AS n_resumed, sum(verdict = 'incomplete') AS n_incomplete," \
	VIEW_SESSION_COUNTS                                                            \
	"  sum(verdict = 'unknown' AND NOT is_session) AS n_unknown"                   \
	"  FROM " VIEW_LEGS " GROUP BY client_ip);\n"

/* Schema 6: a handshake refused a context (incomplete/capacity) was never
 * followed, so it is neither answered nor unanswered: n_capacity. */
#define VIEW_CLIENTHELLO_SIZES_V6 VIEW_CLIENTHELLO_SIZES("'unknown'")
/* Schema 9: the band of a handshake without a reassembled ClientHello is
 * 'not reassembled'. */
#define VIEW_CLIENTHELLO_SIZES_V9 VIEW_CLIENTHELLO_SIZES("'not reassembled'")
#define VIEW_CLIENTHELLO_SIZES(NOT_REASSEMBLED)                                        \
	"CREATE VIEW clienthello_sizes AS SELECT band, count(*) AS handshakes,"        \
	" count(*) - sum(unanswered) - sum(capacity) AS answered,"                     \
	" sum(unanswered) AS no_server_hello,"                                         \
	" sum(unanswered AND reason IS 'rst') AS n_rst,"                               \
	" sum(unanswered AND reason IS 'fin') AS n_fin,"                               \
	" sum(unanswered AND reason IS 'timeout') AS n_timeout,"                       \
	" sum(unanswered AND reason IS 'end-of-capture') AS n_end_of_capture,"         \
	" sum(unanswered AND reason IS 'gap') AS n_gap,"                               \
	" sum(unanswered AND reason NOT IN ('rst', 'fin', 'timeout', 'end-of-capture', 'gap'))" \
	"  AS n_other,"                                                                \
	" sum(first_lost) AS n_first_segment_lost, sum(hrr) AS n_hrr, sum(slow) AS n_slow," \
	" round(100.0 * sum(unanswered) / count(*), 1) AS pct_no_server_hello,"        \
	" sum(capacity) AS n_capacity"                                                 \
	" FROM (SELECT *, CASE WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) = 0"         \
	"  THEN " NOT_REASSEMBLED                                                      \
	"  WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) < 1500 THEN '< 1500'"            \
	"  ELSE '>= 1500' END AS band,"                                                \
	"  verdict = 'incomplete' AND reason IS NOT 'capacity' AS unanswered,"         \
	"  verdict = 'incomplete' AND reason IS 'capacity' AS capacity,"               \
	"  verdict = 'incomplete' AND reason IS 'gap' AND ch_segments = 0 AS first_lost," \
	"  coalesce(ch_to_sh_us >= 1000000, 0) AS slow FROM handshakes)"               \
	" GROUP BY band;\n"

static const char views_v9[] = VIEW_CLIENTS_V9 VIEW_HYBRID_SHARE_DAILY VIEW_CLIENTHELLO_SIZES_V9
	VIEW_CLASSICAL_HANDSHAKES;

static const char views_v6[] = VIEW_CLIENTS_V6 VIEW_HYBRID_SHARE_DAILY VIEW_CLIENTHELLO_SIZES_V6
	VIEW_CLASSICAL_HANDSHAKES;

/* The views over handshakes; those of schema 6 (v6) read the sessions
 * table too, so migrate_v5, which runs before it exists, makes the v5 ones
 * (migrate_v6 drops them again). */
static int create_views(sqlite3 *db, int level)
{
	bool v6 = level >= 6, v7 = level >= 7, v8 = level >= 8, v9 = level >= 9, v10 = level >= 10;
	int rc = sqlite3_exec(db, v10 ? view_handshakes_v10 : v8 ? view_handshakes_v8
				  : v7 ? view_handshakes_v7 : view_handshakes,
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, v10 ? trigger_handshakes_v10 : v8 ? trigger_handshakes_v8
					 : v7 ? trigger_handshakes_v7 : trigger_handshakes,
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, v9 ? view_hops_v9 : v6 ? view_hops_v6 : view_hops, NULL, NULL,
				  NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, v9 ? views_v9 : v6 ? views_v6 : schema_v2, NULL,
					      NULL, NULL) : rc;
}

static int migrate_v5(sqlite3 *db)
{
	int rc = sqlite3_exec(db, schema_v5, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = create_views(db, 5);
	return rc == SQLITE_OK ? sqlite3_exec(db, schema_v5_copy, NULL, NULL, NULL) : rc;
}

/* Schema v6: sessions without a handshake (plaintext legs, encrypted
 * sessions whose handshake was not captured) aggregated per hour; a row's
 * tunnel and whether its ClientHello was seen (handshake_extras, rare);
 * the capture time each run covered. The views gain the two columns at
 * their end, so column positions before them do not move. */
#define SCHEMA_V6_ADDITIONS                                                            \
	"ALTER TABLE runs ADD COLUMN capture_first_us INTEGER;\n"                       \
	"ALTER TABLE runs ADD COLUMN capture_last_us INTEGER;\n"                        \
	"CREATE TABLE sessions ("                                                      \
	" id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, hour INTEGER NOT NULL,"        \
	" transport TEXT NOT NULL, app TEXT NOT NULL,"                                 \
	" client_ip TEXT NOT NULL, server_ip TEXT NOT NULL, server_port INTEGER NOT NULL," \
	" ip_version INTEGER NOT NULL, vlan INTEGER NOT NULL, tunnel TEXT NOT NULL,"   \
	" verdict TEXT NOT NULL, reason TEXT NOT NULL, ndpi TEXT,"                     \
	" sessions INTEGER NOT NULL, bytes INTEGER NOT NULL,"                          \
	" ts_first_us INTEGER NOT NULL, ts_last_us INTEGER NOT NULL,"                  \
	" run_id INTEGER NOT NULL REFERENCES runs(id), source_id INTEGER,"             \
	" client_port INTEGER NOT NULL, pkt_first INTEGER NOT NULL,"                   \
	" UNIQUE (sensor, hour, client_ip, server_ip, server_port, transport, app,"    \
	" verdict, reason, vlan, tunnel));\n"                                          \
	"CREATE INDEX sessions_time ON sessions (ts_first_us);\n"

static const char schema_v6_drop[] =
	"DROP VIEW hops; DROP VIEW clients; DROP VIEW hybrid_share_daily;"
	" DROP VIEW clienthello_sizes; DROP VIEW classical_handshakes; DROP VIEW handshakes;\n";

static int has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *s;
	int found = 0;
	char *sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info(%Q) WHERE name = %Q", table,
				    column);
	if (!sql)
		return SQLITE_NOMEM;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		found = sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
	}
	sqlite3_free(sql);
	return found;
}

static int migrate_v6(sqlite3 *db)
{
	int rc = sqlite3_exec(db, schema_v6_drop, NULL, NULL, NULL);
	/* A v4 file upgraded by migrate_v5 has them already. */
	if (rc == SQLITE_OK && !has_column(db, "handshake_extras", "tunnel"))
		rc = sqlite3_exec(db,
				  "ALTER TABLE handshake_extras ADD COLUMN tunnel TEXT;"
				  " ALTER TABLE handshake_extras ADD COLUMN ch_unseen INTEGER;",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, SCHEMA_V6_ADDITIONS, NULL, NULL, NULL);
	return rc == SQLITE_OK ? create_views(db, 6) : rc;
}

/* Schema 7: the fingerprints table and handshake_rows.fp_id; the
 * handshakes view and its trigger again, with the fingerprint columns at
 * the view's end. The other views read handshakes by name and stay. */
static int migrate_fingerprints(sqlite3 *db)
{
	int rc = sqlite3_exec(db, "DROP VIEW handshakes;\n" SCHEMA_V7_ADDITIONS, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, view_handshakes_v7, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, trigger_handshakes_v7, NULL, NULL, NULL) : rc;
}

/* A handshake_extras column at the end of the handshakes view: the column
 * (unless a file created by this build has it already), then the view and
 * its INSTEAD OF trigger again. */
static int add_extras_column(sqlite3 *db, const char *col, const char *type, const char *view,
			     const char *trigger)
{
	int rc = sqlite3_exec(db, "DROP VIEW handshakes;\n", NULL, NULL, NULL);
	if (rc == SQLITE_OK && !has_column(db, "handshake_extras", col)) {
		char *sql = sqlite3_mprintf("ALTER TABLE handshake_extras ADD COLUMN %s %s;", col, type);
		rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, view, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, trigger, NULL, NULL, NULL) : rc;
}

/* Schema 8: handshake_extras.regression. */
static int migrate_regressions(sqlite3 *db)
{
	return add_extras_column(db, "regression", "INTEGER", view_handshakes_v8,
				 trigger_handshakes_v8);
}

/* Schema 9: the views whose words change, again: hops ('no-verdict' and
 * 'no-verdict (not observed)' where schema 6 said 'unknown'), clients
 * (offers_pq 'no-hello') and clienthello_sizes (band 'not reassembled').
 * Self-contained: drops and recreates only those three views. */
static int migrate_words(sqlite3 *db)
{
	int rc = sqlite3_exec(db, "DROP VIEW hops; DROP VIEW clients; DROP VIEW clienthello_sizes;\n",
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, view_hops_v9, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, VIEW_CLIENTS_V9, NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, VIEW_CLIENTHELLO_SIZES_V9, NULL, NULL, NULL) : rc;
}

/* Schema 10: handshake_extras.interface. */
static int migrate_interface(sqlite3 *db)
{
	return add_extras_column(db, "interface", "TEXT", view_handshakes_v10,
				 trigger_handshakes_v10);
}

/* Schema 11: a session whose handshake was not seen (TLS records or a QUIC
 * short header first, reason 'handshake-unseen') is 'no-verdict', no longer
 * 'unknown', which is left to unregistered code points. No view tests a
 * session's verdict word (they count sessions by reason, and 'unknown' only
 * AND NOT is_session), so none changes; the rows do. */
static int migrate_session_words(sqlite3 *db)
{
	return sqlite3_exec(db,
			    "UPDATE sessions SET verdict = 'no-verdict'"
			    " WHERE verdict = 'unknown' AND reason = 'handshake-unseen';",
			    NULL, NULL, NULL);
}

/* Schema 12: the rollups, empty with folded_id 0; the first fold (a
 * capture's writer, prune, `kexwatch rollup`, or a report that finds a
 * large tail) fills them. */
static int migrate_rollups(sqlite3 *db)
{
	/* A file that says it is older has no rollups it could vouch for. */
	int rc = sqlite3_exec(db,
			      "DROP TABLE IF EXISTS rollup_state; DROP TABLE IF EXISTS rollup_legs;"
			      " DROP TABLE IF EXISTS rollup_pairs; DROP TABLE IF EXISTS rollup_clients;"
			      " DROP TABLE IF EXISTS rollup_clients_all; DROP TABLE IF EXISTS rollup_runs;"
			      " DROP TABLE IF EXISTS rollup_client_legs;"
			      " DROP TABLE IF EXISTS rollup_client_hellos;"
			      " DROP TABLE IF EXISTS rollup_hourly;",
			      NULL, NULL, NULL);
	return rc == SQLITE_OK ? sqlite3_exec(db, kx_rollup_schema, NULL, NULL, NULL) : rc;
}

/* Schema 13: the fingerprint rollups, filled from the rows folded so far
 * (pruned rows are in neither). */
static int migrate_fp_rollups(sqlite3 *db)
{
	char err[256];
	return kx_rollup_fp_upgrade(db, err, sizeof(err)) < 0 ? SQLITE_ERROR : SQLITE_OK;
}

/* Schema 14: the per-client rollups, filled from the rollups so far. */
static int migrate_client_rollups(sqlite3 *db)
{
	char err[256];
	return kx_rollup_client_upgrade(db, err, sizeof(err)) < 0 ? SQLITE_ERROR : SQLITE_OK;
}

/* Schema 15: the daily rollups of `changes`, filled from the rows folded
 * so far. */
static int migrate_daily_rollups(sqlite3 *db)
{
	char err[256];
	return kx_rollup_daily_upgrade(db, err, sizeof(err)) < 0 ? SQLITE_ERROR : SQLITE_OK;
}

/* Schema 16: the weekly rollups of `changes`, the daily ones regrouped. */
static int migrate_weekly_rollups(sqlite3 *db)
{
	char err[256];
	return kx_rollup_weekly_upgrade(db, err, sizeof(err)) < 0 ? SQLITE_ERROR : SQLITE_OK;
}

static int (*const migrations[])(sqlite3 *db) = {
	migrate_v1,
	migrate_v2,
	migrate_v3,
	migrate_v4,
	migrate_v5,
	migrate_v6,
	migrate_fingerprints,
	migrate_regressions,
	migrate_words,
	migrate_interface,
	migrate_session_words,
	migrate_rollups,
	migrate_fp_rollups,
	migrate_client_rollups,
	migrate_daily_rollups,
	migrate_weekly_rollups,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == KX_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* A new file is created at the latest version in one go. Replaying every
 * migration re-parses the whole schema after each change and was most of
 * the ~10 ms a new database took to open, time nothing else overlaps.
 * test_report checks that both ways give the same tables, keys and views. */
static const char schema_latest[] =
	SCHEMA_RUNS_SOURCES HELLOS_TABLE HANDSHAKE_ROWS_TABLE SCHEMA_V6_ADDITIONS
	SCHEMA_V7_ADDITIONS;

static int create_latest(sqlite3 *db)
{
	int rc = sqlite3_exec(db, schema_latest, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, kx_rollup_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, kx_rollup_fp_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, kx_rollup_client_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, kx_rollup_daily_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, kx_rollup_weekly_schema, NULL, NULL, NULL);
	return rc == SQLITE_OK ? create_views(db, KX_STORE_SCHEMA_VERSION) : rc;
}

static const char insert_hs_sql[] =
	"INSERT INTO handshake_rows (run_id, sensor, source_id, ts_first_us, ts_last_us,"
	" " ROWS_PLAIN_1 ", hello_id, legacy_version, version, version_code, cipher_suite,"
	" " ROWS_PLAIN_2 ", " ROWS_PLAIN_3 ", dedup_key, fp_id)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	/* Not OR IGNORE: that would also swallow NOT NULL violations as duplicates. */
	" ON CONFLICT (ts_first_us, dedup_key) DO NOTHING";

/* Only rows that have one of these (SSH, STARTTLS). */
static const char insert_extras_sql[] =
	"INSERT INTO handshake_extras (id, " EXTRAS_COLS ", interface)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Sessions without a handshake, one row per hour and (sensor, client,
 * server endpoint, application, verdict, reason, VLAN, tunnel): a busy
 * plaintext link grows the table with its endpoints and hours, not with
 * its connections. The evidence (run, source, packet, client port) is that
 * of the earliest session of the row. */
static const char upsert_session_sql[] =
	"INSERT INTO sessions (sensor, hour, transport, app, client_ip, server_ip,"
	" server_port, ip_version, vlan, tunnel, verdict, reason, ndpi, sessions, bytes,"
	" ts_first_us, ts_last_us, run_id, source_id, client_port, pkt_first)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)"
	" ON CONFLICT (sensor, hour, client_ip, server_ip, server_port, transport, app,"
	" verdict, reason, vlan, tunnel) DO UPDATE SET"
	" sessions = sessions + 1, bytes = bytes + excluded.bytes,"
	" ndpi = coalesce(ndpi, excluded.ndpi),"
	" ts_last_us = max(ts_last_us, excluded.ts_last_us),"
	" ts_first_us = min(ts_first_us, excluded.ts_first_us),"
	" run_id = iif(excluded.ts_first_us < ts_first_us, excluded.run_id, run_id),"
	" source_id = iif(excluded.ts_first_us < ts_first_us, excluded.source_id, source_id),"
	" client_port = iif(excluded.ts_first_us < ts_first_us, excluded.client_port, client_port),"
	" pkt_first = iif(excluded.ts_first_us < ts_first_us, excluded.pkt_first, pkt_first)";

/* Capture time a run has covered, kept up to date at each commit: a
 * session inside a span an earlier run of the same sensor covered was
 * counted then (the same capture read again). */
static const char update_span_sql[] =
	"UPDATE runs SET capture_first_us = ?, capture_last_us = ? WHERE id = ?";
static const char load_spans_sql[] =
	"SELECT capture_first_us, capture_last_us FROM runs WHERE sensor = ? AND id <> ?"
	" AND capture_first_us IS NOT NULL ORDER BY capture_first_us";

static const char insert_hello_sql[] =
	"INSERT INTO hellos (alpn, versions_offered, groups_offered, groups_offered_2,"
	" key_shares, sigalgs) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

static const char insert_fp_sql[] =
	"INSERT INTO fingerprints (" FP_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	" ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

static const char find_fp_sql[] =
	"SELECT id FROM fingerprints WHERE (" FP_COLS ") ="
	" (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char find_hello_sql[] =
	"SELECT id FROM hellos WHERE alpn = ? AND versions_offered = ? AND groups_offered = ?"
	" AND groups_offered_2 = ? AND key_shares = ? AND sigalgs = ?";

static const char insert_run_sql[] =
	"INSERT INTO runs (started, started_us, sensor, command, kexwatch_version)"
	" VALUES (?, ?, ?, ?, ?)";

static const char insert_source_sql[] =
	"INSERT OR REPLACE INTO sources (run_id, source_id, name) VALUES (?, ?, ?)";

static const char end_run_sql[] =
	"UPDATE runs SET finished = ?, finished_us = ?, packets = ?, bytes = ?,"
	" flows = ?, handshakes = ?, skipped_malformed = ?, skipped_truncated = ?,"
	" flows_evicted = ?, db_errors = ?, counters = ? WHERE id = ?";

/* The text columns of one row. Worst-case sizes: a code point is at most
 * "65535,"; an ALPN byte at most "\u00XX" (a ',' becomes "\",\"", shorter).
 * t points into itself: format in place, do not copy. */
#define CODES_JSON_MAX(n) (6 * (n) + 3)
#define SHARES_JSON_MAX (2 * CODES_JSON_MAX(KX_MAX_SHARES) + 3)
#define ALPN_JSON_MAX (6 * KX_ALPN_MAX + 5)
struct row_text {
	struct kx_hs_text t;
	size_t sni_n;
	char sni[3 * KX_SNI_MAX + 1];
	char alpn[ALPN_JSON_MAX], shares[SHARES_JSON_MAX];
	char versions[CODES_JSON_MAX(KX_MAX_VERSIONS)];
	char sigalgs[CODES_JSON_MAX(KX_MAX_SIGALGS)];
	char groups[CODES_JSON_MAX(KX_MAX_GROUPS)], groups2[CODES_JSON_MAX(KX_MAX_GROUPS)];
};

struct source {
	uint32_t id;
	char *name;
};

/* hellos ids by their lists, direct-mapped: a link's rows share a handful
 * of client stacks, so nearly every row is a hit and costs a hash and a
 * memcmp instead of formatting six JSON lists and two statements. Keys are
 * the lists in binary (hello_key). */
#define HELLO_CACHE_SLOTS 4096 /* Chrome's GREASE alone makes ~256 sets per stack */
#define FP_CACHE_SLOTS 1024    /* JA4 sorts and drops GREASE: fewer sets than hellos */
#define CODES_KEY_MAX(n) (1 + 2 * (n))
#define HELLO_KEY_MAX                                                                  \
	(2 + KX_ALPN_MAX + 1 + CODES_KEY_MAX(KX_MAX_VERSIONS) + 2 * CODES_KEY_MAX(KX_MAX_GROUPS) + \
	 2 * CODES_KEY_MAX(KX_MAX_SHARES) + CODES_KEY_MAX(KX_MAX_SIGALGS))
struct hello_slot {
	uint64_t hash;
	int64_t id;     /* 0: empty */
	size_t len;
	char *key;
};

struct kx_store {
	sqlite3 *db;
	bool last_dup;                /* kx_store_add's row was already stored */
	bool fold_warned;             /* a failed fold was reported once */
	struct kx_checkpointer *ckpt; /* NULL: SQLite's automatic checkpoints */
	sqlite3_stmt *ins_hs, *ins_extras, *ins_hello, *find_hello, *ins_fp, *find_fp, *ins_run, *ins_src, *end_run, *begin,
		*commit, *rollback, *ins_session, *upd_span, *load_spans;
	struct hello_slot *hellos;  /* HELLO_CACHE_SLOTS */
	struct hello_slot *fps;     /* FP_CACHE_SLOTS: fingerprints ids, keyed like hellos */
	struct kx_store_opts opts;
	char *path;
	char *sensor;           /* of the current run */
	int64_t run_id;         /* 0 outside a run */
	struct source *sources;
	unsigned n_sources, cap_sources;
	uint64_t pend_new, pend_dup;  /* rows in the open transaction */
	uint64_t since_fold;          /* rows committed since the last fold */
	/* Settled but not yet added to the caller's counters: calls without
	 * counters (begin_run, set_source) may commit a batch too. */
	uint64_t done_new, done_dup, done_errors;
	uint64_t last_ms;
	bool clock_set;
	/* Capture time this run's rows cover, and the spans earlier runs of
	 * the sensor covered (sorted, merged): sessions re-read are not
	 * counted twice. */
	uint64_t span_first, span_last;
	bool span_dirty;
	struct span { uint64_t first, last; } *spans;
	unsigned n_spans;
	char err[512];
};

struct binder {
	sqlite3_stmt *stmt;
	int i;
	int rc;
};

/* FNV-1a over the fields, each followed by a 0 byte (ports as two bytes,
 * big-endian), then the murmur3 finaliser so nearby inputs spread over all
 * 64 bits. Not keyed: the value must be the same on every sensor. */
static uint64_t fnv_str(uint64_t h, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (h ^ 0) * 0x100000001b3ull;
}

static uint64_t fnv_port(uint64_t h, unsigned port)
{
	h = (h ^ (port >> 8 & 0xff)) * 0x100000001b3ull;
	return (h ^ (port & 0xff)) * 0x100000001b3ull;
}

int64_t kx_dedup_key(const char *sensor, const char *protocol, const char *client_ip,
		     unsigned client_port, const char *server_ip, unsigned server_port)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv_str(h, sensor);
	h = fnv_str(h, protocol);
	h = fnv_str(h, client_ip);
	h = fnv_port(h, client_port);
	h = fnv_str(h, server_ip);
	h = fnv_port(h, server_port);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	int64_t v;
	memcpy(&v, &h, sizeof(v)); /* SQLite integers are signed */
	return v;
}

static void sql_dedup_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int64(ctx, kx_dedup_key((const char *)sqlite3_value_text(argv[0]),
					       (const char *)sqlite3_value_text(argv[1]),
					       (const char *)sqlite3_value_text(argv[2]),
					       (unsigned)sqlite3_value_int(argv[3]),
					       (const char *)sqlite3_value_text(argv[4]),
					       (unsigned)sqlite3_value_int(argv[5])));
}

int kx_store_register_functions(sqlite3 *db)
{
	return sqlite3_create_function(db, "kx_dedup_key", 6,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				       sql_dedup_key, NULL, NULL);
}

static void bind_rc(struct binder *b, int rc)
{
	if (rc != SQLITE_OK && b->rc == SQLITE_OK)
		b->rc = rc;
}

/* Text bound SQLITE_STATIC: every buffer outlives the sqlite3_step. */
static void bind_textn(struct binder *b, const char *v, size_t n)
{
	b->i++;
	bind_rc(b, v ? sqlite3_bind_text(b->stmt, b->i, v, (int)n, SQLITE_STATIC)
		     : sqlite3_bind_null(b->stmt, b->i));
}

static void bind_text(struct binder *b, const char *v)
{
	bind_textn(b, v, v ? strlen(v) : 0);
}

static void bind_int(struct binder *b, bool present, int64_t v)
{
	b->i++;
	bind_rc(b, present ? sqlite3_bind_int64(b->stmt, b->i, v)
			   : sqlite3_bind_null(b->stmt, b->i));
}

static void drain(struct kx_store *st, struct kx_counters *c)
{
	if (!c)
		return;
	c->db_rows_written += st->done_new;
	c->db_rows_duplicate += st->done_dup;
	c->db_errors += st->done_errors;
	st->done_new = st->done_dup = st->done_errors = 0;
}

static void forget_hellos(struct kx_store *st)
{
	for (unsigned i = 0; st->hellos && i < HELLO_CACHE_SLOTS; i++) {
		free(st->hellos[i].key);
		st->hellos[i] = (struct hello_slot){ 0 };
	}
	for (unsigned i = 0; st->fps && i < FP_CACHE_SLOTS; i++) {
		free(st->fps[i].key);
		st->fps[i] = (struct hello_slot){ 0 };
	}
}

/* Records why statement s failed, then rolls back the open batch as a whole
 * so no partial batch is ever committed. this_row is 1 when the failure also
 * loses the handshake being added. Always returns -1. */
static int fail(struct kx_store *st, sqlite3_stmt *s, const char *what, int rc,
		unsigned this_row)
{
	uint64_t lost = st->pend_new + this_row;
	size_t n = (size_t)snprintf(st->err, sizeof(st->err), "%s: %s: %s", st->path, what,
				    sqlite3_errmsg(st->db));

	if ((rc & 0xff) == SQLITE_BUSY && n < sizeof(st->err))
		n += (size_t)snprintf(st->err + n, sizeof(st->err) - n,
				      " (another process held the write lock for more than %u ms)",
				      st->opts.busy_ms);
	if (lost && n < sizeof(st->err))
		snprintf(st->err + n, sizeof(st->err) - n, "; %" PRIu64 " handshake row%s not stored%s",
			 lost, lost == 1 ? "" : "s",
			 st->pend_new ? " (the batch was rolled back as a whole)" : "");
	if (s)
		sqlite3_reset(s);
	if (!sqlite3_get_autocommit(st->db)) {
		sqlite3_step(st->rollback);
		sqlite3_reset(st->rollback);
	}
	/* Ids the rolled-back batch inserted are gone. */
	forget_hellos(st);
	st->pend_new = st->pend_dup = 0;
	st->done_errors++;
	return -1;
}

/* Runs a prepared statement that returns no rows. */
static int step(struct kx_store *st, sqlite3_stmt *s, const char *what, unsigned this_row)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return fail(st, s, what, rc, this_row);
	sqlite3_reset(s);
	return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front (waiting up to busy_ms),
 * so no statement inside the batch can hit SQLITE_BUSY halfway. */
static int begin(struct kx_store *st, unsigned this_row)
{
	if (!sqlite3_get_autocommit(st->db))
		return 0;
	return step(st, st->begin, "cannot start a transaction", this_row);
}

static int save_span(struct kx_store *st)
{
	if (!st->span_dirty || !st->run_id)
		return 0;
	sqlite3_bind_int64(st->upd_span, 1, (int64_t)st->span_first);
	sqlite3_bind_int64(st->upd_span, 2, (int64_t)st->span_last);
	sqlite3_bind_int64(st->upd_span, 3, st->run_id);
	if (step(st, st->upd_span, "cannot record the run's capture time", 0) < 0)
		return -1;
	st->span_dirty = false;
	return 0;
}

static int commit(struct kx_store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return 0;
	if (save_span(st) < 0)
		return -1;
	if (step(st, st->commit, "commit failed", 0) < 0)
		return -1;
	st->done_new += st->pend_new;
	st->done_dup += st->pend_dup;
	st->since_fold += st->pend_new;
	st->pend_new = st->pend_dup = 0;
	/* After the rows are safe, in transactions of its own: on the
	 * checkpoint thread when there is one (the writer goes on), else
	 * here. A failed fold leaves them in the tail, where the reports
	 * still count them. */
	if (st->since_fold >= st->opts.rollup_every) {
		char e[256];
		st->since_fold = 0;
		if (st->ckpt) {
			kx_checkpointer_fold(st->ckpt);
			return 0;
		}
		/* The rows are committed: a fold that cannot get the lock
		 * (a long prune or rollup beside us) is left for later, said
		 * once, and the capture goes on. */
		if (kx_rollup_fold(st->db, st->opts.rollup_every, 0, NULL, e, sizeof(e)) < 0 &&
		    !st->fold_warned) {
			st->fold_warned = true;
			fprintf(stderr,
				"kexwatch: %s: folding rows into the rollups failed: %s (reports read"
				" them from the raw rows meanwhile)\n",
				st->path, e);
		}
	}
	if (st->ckpt)
		kx_checkpointer_poke(st->ckpt);
	return 0;
}

static int no_run(struct kx_store *st)
{
	snprintf(st->err, sizeof(st->err), "%s: no run started", st->path);
	return -1;
}

static int query_int(sqlite3 *db, const char *sql, int *ret)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

int kx_store_schema_version(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int version = 0, app = 0, tables = 0;

	if (query_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
	    query_int(db, "PRAGMA application_id", &app) != SQLITE_OK ||
	    query_int(db, "SELECT count(*) FROM sqlite_master", &tables) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (version == 0 && app == 0 && tables == 0)
		return 0;
	if (app != KX_STORE_APP_ID || version <= 0) {
		snprintf(err, errlen, "%s: not a kexwatch database (an SQLite file with "
			 "application_id 0x%08x, user_version %d)", path, (unsigned)app, version);
		return -1;
	}
	if (version > KX_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: database schema version %d is newer than this "
			 "kexwatch %s supports (%d); use a newer kexwatch", path, version,
			 KX_VERSION, KX_STORE_SCHEMA_VERSION);
		return -1;
	}
	return version;
}

/* Creates the schema of a new file, or applies the migrations an older one
 * lacks, all in one write transaction. The version is read again under the
 * lock: another process may have created the schema since we looked. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char sql[96];
	int version, rc;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot lock for the schema upgrade: %s", path,
			 sqlite3_errmsg(db));
		return -1;
	}
	version = kx_store_schema_version(db, path, err, errlen);
	if (version < 0)
		goto out;
	if (version == 0 && (rc = create_latest(db)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot create the schema: %s", path, sqlite3_errmsg(db));
		version = -1;
		goto out;
	}
	for (int v = version ? version : KX_STORE_SCHEMA_VERSION; v < KX_STORE_SCHEMA_VERSION;
	     v++) {
		rc = migrations[v](db);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "%s: schema upgrade to version %d failed: %s", path,
				 v + 1, sqlite3_errmsg(db));
			version = -1;
			goto out;
		}
	}
	/* Integers we own: PRAGMA values cannot be bound. */
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
		 KX_STORE_APP_ID, KX_STORE_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: schema upgrade failed: %s", path, sqlite3_errmsg(db));
		version = -1;
	}
out:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return version < 0 ? -1 : 0;
}

static int configure(sqlite3 *db, const char *path, bool fresh, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	/* Only takes effect on a new file: fewer, larger pages cut B-tree overhead. */
	sqlite3_exec(db, "PRAGMA page_size = 16384", NULL, NULL, NULL);
	/* Turning a new, empty file to WAL is a rollback-journal transaction
	 * whose four fsyncs took 2 to 18 ms here, before any packet is read;
	 * writing its schema syncs the new WAL's header and the directory
	 * (8 ms more). Unsynced, a power cut in those milliseconds can at
	 * worst lose a schema that holds nothing yet (the next open writes it
	 * again); NORMAL applies once the schema is there (kx_store_open). */
	if (fresh)
		sqlite3_exec(db, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	bool wal = false;

	if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(s, 0);
		wal = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
	}
	sqlite3_finalize(s);
	if (!wal) {
		snprintf(err, errlen, "%s: cannot switch to WAL journal mode: %s", path,
			 rc == SQLITE_OK ? "not supported here (network file system?)"
					 : sqlite3_errmsg(db));
		return -1;
	}
	/* Foreign keys stay unenforced (SQLite's default): this connection only
	 * writes run_ids of runs it inserted itself, and the check was a B-tree
	 * lookup in runs per row, 4 % of the writer thread on the dense bench. */
	if (sqlite3_exec(db, fresh ? "PRAGMA cache_size = -16384"
				   : "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

int kx_store_open(const char *path, const struct kx_store_opts *opts,
		  struct kx_store **ret, char *err, size_t errlen)
{
	struct kx_store *st = calloc(1, sizeof(*st));
	int rc, version;

	*ret = NULL;
	if (!st || !(st->path = strdup(path)) ||
	    !(st->hellos = calloc(HELLO_CACHE_SLOTS, sizeof(*st->hellos))) ||
	    !(st->fps = calloc(FP_CACHE_SLOTS, sizeof(*st->fps)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		if (st) {
			free(st->path);
			free(st->hellos);
		}
		free(st);
		return -1;
	}
	const struct {
		sqlite3_stmt **stmt;
		const char *sql;
	} stmts[] = {
		{ &st->ins_hs, insert_hs_sql },     { &st->ins_run, insert_run_sql },
		{ &st->ins_hello, insert_hello_sql }, { &st->find_hello, find_hello_sql },
		{ &st->ins_extras, insert_extras_sql },
		{ &st->ins_fp, insert_fp_sql },     { &st->find_fp, find_fp_sql },
		{ &st->ins_src, insert_source_sql }, { &st->end_run, end_run_sql },
		{ &st->begin, "BEGIN IMMEDIATE" },  { &st->commit, "COMMIT" },
		{ &st->rollback, "ROLLBACK" },
		{ &st->ins_session, upsert_session_sql }, { &st->upd_span, update_span_sql },
		{ &st->load_spans, load_spans_sql },
	};
	if (opts)
		st->opts = *opts;
	if (!st->opts.batch_rows)
		st->opts.batch_rows = 5000;
	if (!st->opts.flush_ms)
		st->opts.flush_ms = 1000;
	if (!st->opts.busy_ms)
		st->opts.busy_ms = 5000;
	if (!st->opts.rollup_every)
		st->opts.rollup_every = 50000;

	/* One thread at a time uses a store (the writer thread once started),
	 * so SQLite's per-call connection mutex is pure cost. */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		snprintf(err, errlen, "%s: cannot open database: %s%s%s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc),
			 sys ? ": " : "", sys ? strerror(sys) : "");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, (int)st->opts.busy_ms);
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		snprintf(err, errlen, "%s: database is read-only", path);
		goto fail;
	}
	/* Look before touching anything: journal_mode=WAL would rewrite the
	 * header of some other application's database. */
	version = kx_store_schema_version(st->db, path, err, errlen);
	if (version < 0 || configure(st->db, path, version == 0, err, errlen) < 0 ||
	    (version < KX_STORE_SCHEMA_VERSION && migrate(st->db, path, err, errlen) < 0))
		goto fail;
	if (version == 0 && sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) !=
				    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		if (sqlite3_prepare_v3(st->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT,
				       stmts[i].stmt, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	/* Checkpoints move to their own thread; without one (no thread or
	 * connection to spare), SQLite's automatic checkpoint stays as it is.
	 * With one, the writer still checkpoints itself once the WAL passes
	 * 4096 pages (64 MiB): only the writer can restart the WAL from its
	 * start, and only after a checkpoint that caught up with its last
	 * commit, which a background one racing a busy writer never does. */
	char why[256];
	st->ckpt = st->opts.no_background ? NULL : kx_checkpointer_start(st->path, why, sizeof(why));
	/* Said, because the writer thread then folds the rollups itself,
	 * which pauses the capture's stores for the length of a fold. */
	if (!st->ckpt && !st->opts.no_background)
		fprintf(stderr,
			"kexwatch: note: %s: no background checkpoint thread (%s); the writer"
			" checkpoints and folds the rollups itself\n",
			path, why);
	if (st->ckpt && sqlite3_exec(st->db, "PRAGMA wal_autocheckpoint = 4096", NULL, NULL, NULL) !=
				SQLITE_OK) {
		kx_checkpointer_stop(st->ckpt);
		st->ckpt = NULL;
	}
	*ret = st;
	return 0;
fail:
	kx_store_close(st);
	return -1;
}

/* The capture spans earlier runs of this sensor covered, merged. */
static int load_spans(struct kx_store *st)
{
	unsigned cap = 0;
	int rc;
	st->n_spans = 0;
	sqlite3_bind_text(st->load_spans, 1, st->sensor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->load_spans, 2, st->run_id);
	while ((rc = sqlite3_step(st->load_spans)) == SQLITE_ROW) {
		struct span sp = { (uint64_t)sqlite3_column_int64(st->load_spans, 0),
				   (uint64_t)sqlite3_column_int64(st->load_spans, 1) };
		if (st->n_spans && sp.first <= st->spans[st->n_spans - 1].last) {
			if (sp.last > st->spans[st->n_spans - 1].last)
				st->spans[st->n_spans - 1].last = sp.last;
			continue;
		}
		if (st->n_spans == cap) {
			cap = cap ? 2 * cap : 16;
			struct span *n = realloc(st->spans, cap * sizeof(*n));
			if (!n) {
				sqlite3_reset(st->load_spans);
				snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
				return -1;
			}
			st->spans = n;
		}
		st->spans[st->n_spans++] = sp;
	}
	sqlite3_reset(st->load_spans);
	if (rc != SQLITE_DONE)
		return fail(st, st->load_spans, "cannot read earlier runs", rc, 0);
	return 0;
}

static bool span_covered(const struct kx_store *st, uint64_t first, uint64_t last)
{
	unsigned lo = 0, hi = st->n_spans;
	while (lo < hi) { /* the last span starting at or before `first` */
		unsigned mid = (lo + hi) / 2;
		if (st->spans[mid].first <= first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && last <= st->spans[lo - 1].last;
}

static void span_add(struct kx_store *st, uint64_t first, uint64_t last)
{
	if (first < st->span_first)
		st->span_first = first, st->span_dirty = true;
	if (last > st->span_last)
		st->span_last = last, st->span_dirty = true;
}

int kx_store_begin_run(struct kx_store *st, const char *sensor, const char *command,
		       uint64_t started_us)
{
	struct binder b = { st->ins_run, 0, SQLITE_OK };
	char ts[32];

	if (commit(st) < 0)
		return -1;
	for (unsigned i = 0; i < st->n_sources; i++)
		free(st->sources[i].name);
	st->n_sources = 0;
	st->run_id = 0;
	free(st->sensor);
	st->sensor = strdup(sensor ? sensor : "");
	if (!st->sensor) {
		snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
		return -1;
	}
	bind_text(&b, kx_time_str(started_us, ts, sizeof(ts)));
	bind_int(&b, true, (int64_t)started_us);
	bind_text(&b, st->sensor);
	bind_text(&b, command);
	bind_text(&b, KX_VERSION);
	if (b.rc != SQLITE_OK)
		return fail(st, st->ins_run, "cannot record the run", b.rc, 0);
	if (begin(st, 0) < 0 || step(st, st->ins_run, "cannot record the run", 0) < 0)
		return -1;
	st->run_id = sqlite3_last_insert_rowid(st->db);
	st->span_first = UINT64_MAX;
	st->span_last = 0;
	st->span_dirty = false;
	return load_spans(st) < 0 ? -1 : commit(st);
}

static struct source *find_source(const struct kx_store *st, uint32_t id)
{
	for (unsigned i = 0; i < st->n_sources; i++)
		if (st->sources[i].id == id)
			return &st->sources[i];
	return NULL;
}

int kx_store_set_source(struct kx_store *st, uint32_t id, const char *name)
{
	struct binder b = { st->ins_src, 0, SQLITE_OK };
	struct source *src = find_source(st, id);
	char *copy;

	if (!st->run_id)
		return no_run(st);
	copy = strdup(name);
	if (copy && !src && st->n_sources == st->cap_sources) {
		unsigned cap = st->cap_sources ? 2 * st->cap_sources : 4;
		struct source *v = realloc(st->sources, cap * sizeof(*v));
		if (!v) {
			free(copy);
			copy = NULL;
		} else {
			st->sources = v;
			st->cap_sources = cap;
		}
	}
	if (!copy) {
		snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
		return -1;
	}
	if (!src) {
		src = &st->sources[st->n_sources++];
		src->id = id;
		src->name = NULL;
	}
	free(src->name);
	src->name = copy;

	bind_int(&b, true, st->run_id);
	bind_int(&b, true, id);
	bind_text(&b, src->name);
	if (b.rc != SQLITE_OK)
		return fail(st, st->ins_src, "cannot record the source", b.rc, 0);
	/* Committed at once, so a later failed batch cannot take it along. */
	if (begin(st, 0) < 0 || step(st, st->ins_src, "cannot record the source", 0) < 0)
		return -1;
	return commit(st);
}

static void format_row(struct row_text *r, const struct kx_hs *hs)
{
	kx_hs_text(hs, &r->t);
	/* Wire strings are cleaned to UTF-8: SQLite would store stray bytes
	 * as they are, and readers such as Python's sqlite3 then fail. */
	r->sni_n = kx_utf8_clean(hs->sni, strnlen(hs->sni, sizeof(hs->sni)), r->sni, sizeof(r->sni));
}

/* The hellos columns of a row, as JSON. */
static void format_lists(struct row_text *r, const struct kx_hs *hs)
{
	const struct kx_client_hello *ch = &hs->ch[0], *ch2 = &hs->ch[1];

	kx_alpn_json(hs->alpn, strnlen(hs->alpn, sizeof(hs->alpn)), r->alpn, sizeof(r->alpn));
	kx_groups_json(ch->versions, ch->n_versions, r->versions, sizeof(r->versions));
	kx_groups_json(ch->groups, ch->n_groups, r->groups, sizeof(r->groups));
	if (r->t.n_ch == 2)
		kx_groups_json(ch2->groups, ch2->n_groups, r->groups2, sizeof(r->groups2));
	kx_shares_json(hs, r->shares, sizeof(r->shares));
	kx_groups_json(ch->sigalgs, ch->n_sigalgs, r->sigalgs, sizeof(r->sigalgs));
}

/* The SSH and STARTTLS columns of a row just inserted (handshake_extras). */
static int add_extras(struct kx_store *st, const struct kx_hs *hs, int64_t id)
{
	struct binder b = { st->ins_extras, 0, SQLITE_OK };
	/* SSH: banners are sanitised ASCII and names are RFC 4251 names already. */
	bool ssh = hs->preclassified && strcmp(hs->protocol, "ssh") == 0;

	bind_int(&b, true, id);
	bind_text(&b, ssh && hs->ssh.client_banner[0] ? hs->ssh.client_banner : NULL);
	bind_text(&b, ssh && hs->ssh.server_banner[0] ? hs->ssh.server_banner : NULL);
	bind_text(&b, ssh ? hs->ssh.kex_client : NULL);
	bind_text(&b, ssh && hs->have_sh ? hs->ssh.kex_server : NULL);
	bind_text(&b, ssh && hs->ssh.hostkey[0] ? hs->ssh.hostkey : NULL);
	bind_textn(&b, hs->starttls[0] ? hs->starttls : NULL, strnlen(hs->starttls, sizeof(hs->starttls)));
	bind_textn(&b, hs->tunnel[0] ? hs->tunnel : NULL, strnlen(hs->tunnel, sizeof(hs->tunnel)));
	bind_int(&b, hs->ch_unseen, 1);
	bind_int(&b, hs->regression, 1);
	bind_text(&b, kx_iface_name(hs->iface));
	if (b.rc != SQLITE_OK)
		return fail(st, st->ins_extras, "cannot store a handshake", b.rc, 1);
	return step(st, st->ins_extras, "cannot store a handshake", 1);
}

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	while (n--)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ull;
	return h ^ h >> 29;
}

/* The hellos id of the row's lists, inserting them if new; 0 on failure,
 * with the failed statement in *bad for fail() to report and reset. */
/* n is at most max by hs.h's contract; clamped anyway, as the key's size
 * is computed from the maxima. */
static size_t put_key_codes(char *p, const uint16_t *v, unsigned n, unsigned max)
{
	if (n > max)
		n = max;
	p[0] = (char)n;
	memcpy(p + 1, v, 2 * (size_t)n);
	return 1 + 2 * (size_t)n;
}

/* Everything format_lists reads, in binary: equal keys, equal lists. */
static size_t hello_key(const struct kx_hs *hs, unsigned n_ch, char *key)
{
	const struct kx_client_hello *ch = &hs->ch[0];
	size_t alpn = strnlen(hs->alpn, KX_ALPN_MAX), len = 0;

	key[len++] = (char)(alpn & 0xff);
	key[len++] = (char)(alpn >> 8);
	memcpy(key + len, hs->alpn, alpn);
	len += alpn;
	key[len++] = (char)n_ch;
	len += put_key_codes(key + len, ch->versions, ch->n_versions, KX_MAX_VERSIONS);
	len += put_key_codes(key + len, ch->groups, ch->n_groups, KX_MAX_GROUPS);
	if (n_ch == 2)
		len += put_key_codes(key + len, hs->ch[1].groups, hs->ch[1].n_groups, KX_MAX_GROUPS);
	for (unsigned c = 0; c < n_ch && c < 2; c++)
		len += put_key_codes(key + len, hs->ch[c].shares, hs->ch[c].n_shares, KX_MAX_SHARES);
	len += put_key_codes(key + len, ch->sigalgs, ch->n_sigalgs, KX_MAX_SIGALGS);
	return len;
}

static int64_t hello_id(struct kx_store *st, const struct kx_hs *hs, struct row_text *r,
			sqlite3_stmt **bad)
{
	char key[HELLO_KEY_MAX];
	size_t len = hello_key(hs, r->t.n_ch, key);
	uint64_t h = hash_bytes(key, len);
	struct hello_slot *slot = &st->hellos[h % HELLO_CACHE_SLOTS];
	if (slot->id && slot->hash == h && slot->len == len && memcmp(slot->key, key, len) == 0)
		return slot->id;

	format_lists(r, hs);
	const char *lists[6] = { r->alpn, r->versions, r->groups,
				 r->t.n_ch == 2 ? r->groups2 : "", r->shares, r->sigalgs };
	/* Most misses are sets the table has (the cache forgot them, or another
	 * run stored them): look first, insert only what is new. */
	struct binder b = { st->find_hello, 0, SQLITE_OK };
	*bad = st->find_hello;
	for (int i = 0; i < 6; i++)
		bind_text(&b, lists[i]);
	if (b.rc != SQLITE_OK)
		return 0;
	int rc = sqlite3_step(st->find_hello);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return 0;
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st->find_hello, 0) : 0;
	sqlite3_reset(st->find_hello);
	if (!id) {
		b = (struct binder){ st->ins_hello, 0, SQLITE_OK };
		*bad = st->ins_hello;
		for (int i = 0; i < 6; i++)
			bind_text(&b, lists[i]);
		if (b.rc != SQLITE_OK || sqlite3_step(st->ins_hello) != SQLITE_DONE ||
		    !sqlite3_changes(st->db))
			return 0;
		id = sqlite3_last_insert_rowid(st->db);
		sqlite3_reset(st->ins_hello);
	}
	char *copy = malloc(len);
	if (copy) {
		memcpy(copy, key, len);
		free(slot->key);
		*slot = (struct hello_slot){ .hash = h, .id = id, .len = len, .key = copy };
	}
	return id;
}

/* Everything kx_hs_fp reads, in binary (equal keys, equal text), so a
 * cache hit formats nothing: the text (snprintf of the suffix and sizes)
 * was a tenth of the writer's instructions on the dense bench. GREASE
 * code points are left out as kx_fp_kx leaves them out (Chrome varies
 * them per connection). */
#define FP_STR_KEY(n) (1 + (n))
#define FP_KEY_MAX                                                                     \
	(8 + 2 * FP_STR_KEY(37) + 2 * FP_STR_KEY(26) + FP_STR_KEY(KX_KEX_LIST_MAX) +     \
	 2 * FP_STR_KEY(33) + 2 * (CODES_KEY_MAX(KX_MAX_GROUPS) + 2 * CODES_KEY_MAX(KX_MAX_SHARES)) + \
	 32)
static size_t put_key_str(char *p, const char *v, size_t size)
{
	size_t n = strnlen(v, size);
	if (n == size)
		n = 0; /* no NUL: kx_hs_fp treats it as absent */
	memcpy(p, v, n);
	p[n] = '\0';
	return n + 1;
}

static size_t put_key_nogrease(char *p, const uint16_t *v, unsigned n, unsigned max)
{
	size_t k = 1;
	if (n > max)
		n = max;
	for (unsigned i = 0; i < n; i++) {
		if ((v[i] & 0x0f0f) == 0x0a0a && (v[i] >> 8) == (v[i] & 0xff))
			continue;
		memcpy(p + k, &v[i], 2);
		k += 2;
	}
	p[0] = (char)((k - 1) / 2);
	return k;
}

static size_t fp_key(const struct kx_hs *hs, char *key)
{
	bool ssh = hs->preclassified && !hs->is_session && strcmp(hs->protocol, "ssh") == 0;
	unsigned n_ch = hs->n_ch < 2 ? hs->n_ch : 2;
	const struct kx_hs_cert *c = &hs->cert;
	size_t len = 0;

	key[len++] = (char)(ssh ? 1 : hs->is_session ? 2 : 0);
	key[len++] = (char)n_ch;
	key[len++] = (char)(hs->ch[0].from_wire | hs->have_sh << 1 | hs->server_share_seen << 2 |
			    hs->ch[0].offers_mldsa << 3 | hs->ch[1].offers_mldsa << 4 |
			    c->have_ske_sig << 5);
	key[len++] = (char)hs->anomalies;
	memcpy(key + len, &hs->server_share_len, 2);
	len += 2;
	len += put_key_str(key + len, hs->ch[0].ja4, sizeof(hs->ch[0].ja4));
	len += put_key_str(key + len, hs->ch[1].ja4, sizeof(hs->ch[1].ja4));
	len += put_key_str(key + len, hs->ja4s, sizeof(hs->ja4s));
	len += put_key_str(key + len, hs->ja4s_hrr, sizeof(hs->ja4s_hrr));
	if (ssh) {
		len += put_key_str(key + len, hs->ssh.kex_client, sizeof(hs->ssh.kex_client));
		len += put_key_str(key + len, hs->ssh.hassh, sizeof(hs->ssh.hassh));
		len += put_key_str(key + len, hs->ssh.hassh_server, sizeof(hs->ssh.hassh_server));
		memcpy(key + len, &hs->ssh.q_c_len, 4);
		memcpy(key + len + 4, &hs->ssh.q_s_len, 4);
		len += 8;
	} else {
		for (unsigned i = 0; i < n_ch; i++) {
			const struct kx_client_hello *ch = &hs->ch[i];
			len += put_key_nogrease(key + len, ch->groups, ch->n_groups, KX_MAX_GROUPS);
			len += put_key_nogrease(key + len, ch->shares, ch->n_shares, KX_MAX_SHARES);
			len += put_key_codes(key + len, ch->share_len, ch->n_shares, KX_MAX_SHARES);
		}
	}
	key[len++] = (char)c->status;
	key[len++] = (char)c->key;
	key[len++] = (char)c->curve;
	key[len++] = (char)c->sig;
	memcpy(key + len, &c->key_bits, 2);
	memcpy(key + len + 2, &c->ske_sig, 2);
	len += 4;
	return len;
}

/* The fingerprints id of the row's fingerprint fields (emit.h kx_hs_fp),
 * inserting them if new; 0 on failure (the failed statement in *bad), as
 * hello_id. */
static int64_t fp_id(struct kx_store *st, const struct kx_hs *hs, sqlite3_stmt **bad)
{
	char key[FP_KEY_MAX];
	size_t len = fp_key(hs, key);
	uint64_t h = hash_bytes(key, len);
	struct hello_slot *slot = &st->fps[h % FP_CACHE_SLOTS];
	if (slot->id && slot->hash == h && slot->len == len && memcmp(slot->key, key, len) == 0)
		return slot->id;

	struct kx_hs_fp fp, *f = &fp;
	kx_hs_fp(hs, f);
	const char *text[8] = { f->ja4, f->ja4_2, f->ja4s, f->ja4s_hrr, f->kx_fp, f->kx_fp_2,
				f->hassh, f->hassh_server };
	const char *sig = f->cert_sig;

	sqlite3_stmt *stmts[2] = { st->find_fp, st->ins_fp };
	int64_t id = 0;
	for (int k = 0; k < 2 && !id; k++) {
		struct binder b = { stmts[k], 0, SQLITE_OK };
		*bad = stmts[k];
		/* In FP_COLS order; NULL is kept as '' / -1 (see SCHEMA_V7_ADDITIONS). */
		for (int i = 0; i < 8; i++)
			bind_text(&b, text[i] ? text[i] : "");
		bind_int(&b, true, f->offers_mldsa);
		bind_text(&b, f->key_share_sizes ? f->key_share_sizes : "");
		bind_int(&b, true, f->server_share_size);
		bind_text(&b, f->kx_anomalies ? f->kx_anomalies : "");
		bind_text(&b, f->cert_status ? f->cert_status : "");
		bind_text(&b, f->cert_key ? f->cert_key : "");
		bind_int(&b, true, f->cert_key_bits);
		bind_text(&b, f->cert_curve ? f->cert_curve : "");
		bind_text(&b, sig ? sig : "");
		bind_int(&b, true, f->ske_sigalg);
		if (b.rc != SQLITE_OK)
			return 0;
		int rc = sqlite3_step(stmts[k]);
		if (k == 0) {
			if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				return 0;
			id = rc == SQLITE_ROW ? sqlite3_column_int64(stmts[k], 0) : 0;
		} else {
			if (rc != SQLITE_DONE || !sqlite3_changes(st->db))
				return 0;
			id = sqlite3_last_insert_rowid(st->db);
		}
		sqlite3_reset(stmts[k]);
	}
	char *copy = malloc(len);
	if (copy) {
		memcpy(copy, key, len);
		free(slot->key);
		*slot = (struct hello_slot){ .hash = h, .id = id, .len = len, .key = copy };
	}
	return id;
}

static int add_session(struct kx_store *st, const struct kx_hs *hs)
{
	struct binder b = { st->ins_session, 0, SQLITE_OK };
	const struct source *src = find_source(st, hs->source_id);
	struct kx_hs_text t;
	char ndpi[3 * KX_LABEL_MAX + 1];
	size_t ndpi_n = kx_utf8_clean(hs->ndpi_label, strnlen(hs->ndpi_label, sizeof(hs->ndpi_label)),
				      ndpi, sizeof(ndpi));

	if (span_covered(st, hs->ts_first_us, hs->ts_last_us)) {
		st->pend_dup++, st->last_dup = true;
		return 0;
	}
	span_add(st, hs->ts_first_us, hs->ts_last_us);
	kx_hs_text(hs, &t);
	if (begin(st, 1) < 0)
		return -1;
	bind_text(&b, st->sensor);
	bind_int(&b, true, (int64_t)(hs->ts_first_us / 3600000000u));
	bind_text(&b, t.transport);
	bind_textn(&b, hs->app, strnlen(hs->app, sizeof(hs->app)));
	bind_text(&b, t.client_ip);
	bind_text(&b, t.server_ip);
	bind_int(&b, true, hs->server_port);
	bind_int(&b, true, hs->client_ip.family);
	bind_int(&b, true, hs->vlan);
	bind_textn(&b, hs->tunnel, strnlen(hs->tunnel, sizeof(hs->tunnel)));
	bind_text(&b, t.verdict);
	bind_text(&b, t.reason ? t.reason : "");
	bind_textn(&b, ndpi_n ? ndpi : NULL, ndpi_n);
	bind_int(&b, true, (int64_t)(hs->bytes > INT64_MAX ? INT64_MAX : hs->bytes));
	bind_int(&b, true, (int64_t)hs->ts_first_us);
	bind_int(&b, true, (int64_t)hs->ts_last_us);
	bind_int(&b, true, st->run_id);
	bind_int(&b, src != NULL, src ? src->id : 0);
	bind_int(&b, true, hs->client_port);
	bind_int(&b, true, (int64_t)hs->pkt_first_ch);
	assert(b.i == sqlite3_bind_parameter_count(st->ins_session));
	if (b.rc != SQLITE_OK)
		return fail(st, st->ins_session, "cannot store a session", b.rc, 1);
	if (step(st, st->ins_session, "cannot store a session", 1) < 0)
		return -1;
	st->pend_new++;
	return st->pend_new + st->pend_dup >= st->opts.batch_rows ? commit(st) : 0;
}

int kx_store_add(struct kx_store *st, const struct kx_hs *hs, struct kx_counters *c)
{
	struct row_text text, *r = &text;
	const struct kx_client_hello *ch = &hs->ch[0], *ch2 = &hs->ch[1];
	const struct kx_hs_text *t = &r->t;
	char ndpi[3 * KX_LABEL_MAX + 1];
	struct binder b = { st->ins_hs, 0, SQLITE_OK };
	const struct source *src = find_source(st, hs->source_id);
	size_t ndpi_n;
	int rc = 0;

	st->last_dup = false;
	if (!st->run_id) {
		rc = no_run(st);
		goto out;
	}
	if (hs->is_session) {
		rc = add_session(st, hs);
		goto out;
	}
	span_add(st, hs->ts_first_us, hs->ts_last_us);
	format_row(r, hs);
	/* Inside the batch: a hellos row it adds commits or rolls back with it. */
	sqlite3_stmt *bad = NULL;
	int64_t hello = begin(st, 1) < 0 ? -1 : hello_id(st, hs, r, &bad);
	if (hello <= 0) {
		rc = hello ? -1
			   : fail(st, bad, "cannot store a ClientHello's lists",
				  sqlite3_errcode(st->db), 1);
		goto out;
	}
	int64_t fpid = fp_id(st, hs, &bad);
	if (!fpid) {
		rc = fail(st, bad, "cannot store a handshake's fingerprints", sqlite3_errcode(st->db), 1);
		goto out;
	}
	ndpi_n = kx_utf8_clean(hs->ndpi_label, strnlen(hs->ndpi_label, sizeof(hs->ndpi_label)),
			       ndpi, sizeof(ndpi));

	/* In handshake_rows' column order (insert_hs_sql). */
	bind_int(&b, true, st->run_id);
	bind_text(&b, st->sensor);
	bind_int(&b, src != NULL, src ? src->id : 0);
	bind_int(&b, true, (int64_t)hs->ts_first_us);
	bind_int(&b, true, (int64_t)hs->ts_last_us);
	bind_text(&b, t->transport);
	bind_textn(&b, hs->protocol, strnlen(hs->protocol, sizeof(hs->protocol)));
	bind_text(&b, t->client_ip);
	bind_int(&b, true, hs->client_port);
	bind_text(&b, t->server_ip);
	bind_int(&b, true, hs->server_port);
	bind_int(&b, true, hs->client_ip.family);
	bind_int(&b, true, hs->vlan);
	bind_textn(&b, r->sni_n ? r->sni : NULL, r->sni_n);
	bind_int(&b, true, hello);
	bind_int(&b, true, ch->legacy_version);
	bind_text(&b, t->version);
	bind_int(&b, hs->have_sh, hs->version);
	bind_int(&b, hs->have_sh, hs->cipher_suite);
	bind_int(&b, true, t->offers_pq);
	bind_int(&b, true, hs->hrr);
	bind_int(&b, hs->hrr && hs->hrr_group, hs->hrr_group);
	bind_int(&b, hs->have_group, hs->group);
	bind_text(&b, t->group_name);
	bind_text(&b, t->group_family);
	bind_text(&b, t->tls12_kx);
	bind_int(&b, true, hs->resumed);
	bind_int(&b, true, hs->psk_selected);
	bind_text(&b, t->verdict);
	bind_text(&b, t->reason);
	bind_int(&b, true, ch->bytes);
	bind_int(&b, true, ch->segments);
	bind_int(&b, t->n_ch == 2, ch2->bytes);
	bind_int(&b, t->n_ch == 2, ch2->segments);
	bind_int(&b, hs->ch_to_sh_us >= 0, hs->ch_to_sh_us);
	bind_int(&b, true, ch->has_ech);
	bind_int(&b, true, t->list_overflow);
	bind_textn(&b, ndpi_n ? ndpi : NULL, ndpi_n);
	bind_int(&b, true, (int64_t)hs->pkt_first_ch);
	bind_int(&b, hs->pkt_sh != 0, (int64_t)hs->pkt_sh);
	bind_int(&b, true, kx_dedup_key(st->sensor, hs->protocol, t->client_ip, hs->client_port,
					t->server_ip, hs->server_port));
	bind_int(&b, true, fpid);
	assert(b.i == sqlite3_bind_parameter_count(st->ins_hs));
	if (b.rc != SQLITE_OK) {
		rc = fail(st, st->ins_hs, "cannot store a handshake", b.rc, 1);
		goto out;
	}
	if (step(st, st->ins_hs, "cannot store a handshake", 1) < 0) {
		rc = -1;
		goto out;
	}
	if (sqlite3_changes(st->db) &&
	    (hs->preclassified || hs->starttls[0] || hs->tunnel[0] || hs->ch_unseen ||
	     hs->regression || hs->iface) &&
	    add_extras(st, hs, sqlite3_last_insert_rowid(st->db)) < 0) {
		rc = -1;
		goto out;
	}
	if (sqlite3_changes(st->db))
		st->pend_new++;
	else
		st->pend_dup++, st->last_dup = true;
	if (st->pend_new + st->pend_dup >= st->opts.batch_rows)
		rc = commit(st);
out:
	drain(st, c);
	return rc;
}

bool kx_store_last_dup(const struct kx_store *st)
{
	return st->last_dup;
}

int64_t kx_store_run_id(const struct kx_store *st)
{
	return st->run_id;
}

int kx_store_tick(struct kx_store *st, uint64_t now_ms, struct kx_counters *c)
{
	int rc = 0;

	/* The clock starts at the first tick and restarts if it goes back. */
	if (!st->clock_set || now_ms < st->last_ms) {
		st->last_ms = now_ms;
		st->clock_set = true;
	} else if (now_ms - st->last_ms >= st->opts.flush_ms) {
		st->last_ms = now_ms;
		rc = commit(st);
	}
	drain(st, c);
	return rc;
}

int kx_store_flush(struct kx_store *st, struct kx_counters *c)
{
	int rc = commit(st);
	drain(st, c);
	return rc;
}

/* The run's summary columns, grouped by counter name so counters added to
 * counters.h later are summed in without touching this file. */
static void summarize(const struct kx_counters *c, uint64_t *malformed, uint64_t *truncated)
{
	*malformed = 0;
	*truncated = c->payload_truncated + c->capture_truncated;
	for (unsigned i = 0; i < kx_counter_count; i++) {
		const char *name = kx_counter_descs[i].name;
		size_t len = strlen(name);

		if (strncmp(name, "skip_", 5) != 0 || strcmp(name, "skip_ip_fragment") == 0)
			continue;
		if (len > 6 && strcmp(name + len - 6, "_short") == 0)
			*truncated += kx_counter_get(c, i);
		else
			*malformed += kx_counter_get(c, i);
	}
}

static char *counters_json(sqlite3 *db, const struct kx_counters *c)
{
	sqlite3_str *s = sqlite3_str_new(db);

	for (unsigned i = 0; i < kx_counter_count; i++)
		sqlite3_str_appendf(s, "%s\"%s\":%llu", i ? "," : "{", kx_counter_descs[i].name,
				    (unsigned long long)kx_counter_get(c, i));
	sqlite3_str_appendall(s, "}");
	return sqlite3_str_finish(s);
}

int kx_store_discard_run(struct kx_store *st, struct kx_counters *c)
{
	int rc = commit(st);
	drain(st, c);
	if (!st->run_id)
		return no_run(st);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "BEGIN; DELETE FROM sources WHERE run_id = %lld AND NOT EXISTS (SELECT 1 FROM"
		 " handshake_rows WHERE run_id = %lld) AND NOT EXISTS (SELECT 1 FROM sessions"
		 " WHERE run_id = %lld); DELETE FROM runs WHERE id = %lld AND NOT EXISTS"
		 " (SELECT 1 FROM sources WHERE run_id = %lld); COMMIT;",
		 (long long)st->run_id, (long long)st->run_id, (long long)st->run_id,
		 (long long)st->run_id, (long long)st->run_id);
	char *e = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &e) != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%s: cannot remove the empty run: %s", st->path,
			 e ? e : "?");
		sqlite3_free(e);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	st->run_id = 0;
	return rc;
}

int kx_store_end_run(struct kx_store *st, struct kx_counters *c, uint64_t finished_us)
{
	struct binder b = { st->end_run, 0, SQLITE_OK };
	uint64_t malformed, truncated;
	char ts[32], *json;
	int rc = commit(st);

	drain(st, c);
	if (!st->run_id)
		return no_run(st);
	json = counters_json(st->db, c);
	if (!json) {
		snprintf(st->err, sizeof(st->err), "%s: out of memory", st->path);
		return -1;
	}
	summarize(c, &malformed, &truncated);
	bind_text(&b, kx_time_str(finished_us, ts, sizeof(ts)));
	bind_int(&b, true, (int64_t)finished_us);
	bind_int(&b, true, (int64_t)c->packets);
	bind_int(&b, true, (int64_t)c->bytes);
	bind_int(&b, true, (int64_t)c->flows_created);
	bind_int(&b, true, (int64_t)c->hs_total);
	bind_int(&b, true, (int64_t)malformed);
	bind_int(&b, true, (int64_t)truncated);
	bind_int(&b, true, (int64_t)c->flows_evicted_full);
	bind_int(&b, true, (int64_t)c->db_errors);
	bind_text(&b, json);
	bind_int(&b, true, st->run_id);
	if (b.rc != SQLITE_OK)
		fail(st, st->end_run, "cannot record the end of the run", b.rc, 0);
	else if (begin(st, 0) == 0 &&
		 step(st, st->end_run, "cannot record the end of the run", 0) == 0)
		commit(st);
	sqlite3_clear_bindings(st->end_run);
	sqlite3_free(json);
	if (st->done_errors)
		rc = -1;
	drain(st, c);
	st->run_id = 0;
	return rc;
}

const char *kx_store_error(const struct kx_store *st)
{
	return st->err;
}

void kx_store_close(struct kx_store *st)
{
	if (!st)
		return;
	if (st->db) {
		commit(st);
		/* First: the checkpoint at the last close then sees every frame. */
		kx_checkpointer_stop(st->ckpt);
		sqlite3_finalize(st->ins_hs);
		sqlite3_finalize(st->ins_hello);
		sqlite3_finalize(st->ins_extras);
		sqlite3_finalize(st->find_hello);
		sqlite3_finalize(st->ins_fp);
		sqlite3_finalize(st->find_fp);
		sqlite3_finalize(st->ins_run);
		sqlite3_finalize(st->ins_src);
		sqlite3_finalize(st->end_run);
		sqlite3_finalize(st->begin);
		sqlite3_finalize(st->commit);
		sqlite3_finalize(st->rollback);
		sqlite3_finalize(st->ins_session);
		sqlite3_finalize(st->upd_span);
		sqlite3_finalize(st->load_spans);
		sqlite3_close(st->db);
	}
	for (unsigned i = 0; i < st->n_sources; i++)
		free(st->sources[i].name);
	free(st->sources);
	free(st->spans);
	forget_hellos(st);
	free(st->hellos);
	free(st->fps);
	free(st->sensor);
	free(st->path);
	free(st);
}
