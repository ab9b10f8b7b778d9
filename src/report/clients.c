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

#include <string.h>

/* SSH clients offer kex methods by name (kex_offered, schema 2): the
 * comma list becomes a JSON array; RFC 4251 names hold no quote. */
const char kx_clients_ssh_sql[] =
	"   UNION ALL SELECT hx.client_ip, j.value, kx_ssh_kex_class(j.value) FROM hx,"
	"   json_each('[\"' || replace(hx.kex_offered, ',', '\",\"') || '\"]') AS j"
	"   WHERE hx.kex_offered <> ''";

/* What a client offers comes from its handshakes (hx); what it talks to
 * and how from every leg (h): a client whose only legs are plaintext is
 * listed too, first, with offers_pq 'no-hello'. */
const char kx_clients_sql[] =
	"WITH " KX_SQL_FILTERED "," KX_SQL_FILTERED_HS ","
	" pqg AS (SELECT client_ip, kx_set(name) AS pq_groups_offered FROM"
	"  (SELECT hx.client_ip, kx_group_name(j.value) AS name, kx_group_family(j.value) AS fam"
	"   FROM hx, json_each(hx.groups_offered) AS j"
	"   UNION ALL SELECT hx.client_ip, kx_group_name(j.value), kx_group_family(j.value)"
	"   FROM hx, json_each(hx.groups_offered_2) AS j%s)"
	"  WHERE fam IN ('hybrid', 'pq', 'hybrid-draft') GROUP BY client_ip),"
	" alpns AS (SELECT hx.client_ip, kx_set(j.value, 3) AS sample_alpns"
	"  FROM hx, json_each(hx.alpn) AS j GROUP BY hx.client_ip),"
	/* Schema 7: the client's software (JA4 or HASSH) and whether it offers
	 * ML-DSA signature schemes; 'not-recorded' when no row says (rows
	 * stored before schema 7). */
	" fps AS (SELECT client_ip, kx_set(coalesce(hassh, ja4)) AS fingerprints,"
	"  kx_set(coalesce(hassh, ja4), 2) AS fingerprints_s,"
	"  CASE WHEN max(offers_mldsa) > 0 THEN 'yes' WHEN count(offers_mldsa) = 0 THEN 'not-recorded'"
	"  ELSE 'no' END AS offers_mldsa"
	"  FROM (SELECT client_ip, %s FROM hx) GROUP BY client_ip),"
	" c AS (SELECT client_ip," KX_SQL_COUNTS
	"  sum(ch_bytes > 0) AS n_hello, sum(ch_bytes > 0 AND offers_pq) AS n_offers_pq,"
	"  count(DISTINCT server_ip) AS servers, kx_set(protocol) AS protocols,"
	"  kx_set(sni, 3) AS sample_snis,"
	"  kx_set(CASE WHEN verdict = 'plaintext' THEN app END) AS plaintext_apps"
	"  FROM h GROUP BY client_ip),"
	" o AS (SELECT *, CASE WHEN n_hello = 0 THEN 'no-hello'"
	"  WHEN n_offers_pq = n_hello THEN 'all' WHEN n_offers_pq = 0 THEN 'none'"
	"  ELSE 'some' END AS offers_pq FROM c)"
	" SELECT client_ip, first_seen, last_seen, handshakes, n_hello, n_offers_pq,"
	" n_hello - n_offers_pq AS n_no_pq, offers_pq, pq_groups_offered, servers,"
	" protocols, sample_snis, sample_alpns, n_hybrid, n_pq, n_hybrid_draft, n_classical,"
	" n_client_no_pq, n_server_declined, n_tls12, n_resumed, n_incomplete, n_unknown,"
	" CASE WHEN n_plaintext > 0 THEN 3 WHEN offers_pq = 'none' THEN 2"
	"  WHEN offers_pq = 'some' THEN 1 ELSE 0 END AS risk,"
	" sessions, n_plaintext, n_unseen, plaintext_apps,"
	" coalesce(offers_mldsa, 'not-recorded') AS offers_mldsa, fingerprints"
	"%s"
	" FROM o LEFT JOIN pqg USING (client_ip) LEFT JOIN alpns USING (client_ip)"
	" LEFT JOIN fps USING (client_ip)"
	" ORDER BY risk DESC, n_plaintext DESC, n_no_pq DESC, handshakes DESC, client_ip";

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

int kx_report_clients(const char *db_path, const struct kx_report_filter *f,
		      enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_rdb r;
	sqlite3_stmt *s = NULL;
	char *sql;
	int rc = -1;

	if (kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	/* The table says "none (0/4)": how many of the parsed ClientHellos offered. */
	sql = sqlite3_mprintf(kx_clients_sql, r.version >= 2 ? kx_clients_ssh_sql : "",
			      r.version >= 7 ? kx_fp_cols_v7 : kx_fp_cols_none,
			      fmt == KX_OUT_TABLE ?
			      ", offers_pq || ' (' || n_offers_pq || '/' || n_hello || ')' AS offers,"
			      " substr(last_seen, 1, 19) || 'Z' AS last_seen_s, fingerprints_s" : "");
	if (!sql) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!(s = kx_rdb_prepare(&r, sql, f)))
		goto out;
	if (kx_table_print(s, fmt, table_cols, sizeof(table_cols) / sizeof(table_cols[0]),
			   narrow_drop, out) !=
	    SQLITE_DONE) {
		kx_rdb_fail(&r);
		goto out;
	}
	rc = kx_rdb_finish_output(&r, out);
out:
	sqlite3_free(sql);
	sqlite3_finalize(s);
	kx_rdb_close(&r);
	return rc;
}
