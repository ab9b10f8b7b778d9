/* SPDX-License-Identifier: BSD-2-Clause */
/* test_report_sql.c: `kexwatch sql` refuses everything but reads, one
 * statement at a time, and leaves the file byte for byte as it was; the
 * views answer; the HTML report escapes every database string and names no
 * URL. */
#include <sys/stat.h>

#include "report_test.h"

static int sql_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		  char *err, size_t errlen)
{
	return kx_report_sql(path, arg, fmt, out, err, errlen);
}

static int html_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		   char *err, size_t errlen)
{
	(void)fmt;
	(void)arg;
	return kx_report_html(path, NULL, (int64_t)T0 + 7200000000ll, out, err, errlen);
}

/* The file's bytes, for "unchanged" checks (FNV-1a over the whole file;
 * the -wal file must not appear either). */
static unsigned long long file_hash(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned long long h = 1469598103934665603ull;
	int c;

	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		h = (h ^ (unsigned char)c) * 1099511628211ull;
	fclose(f);
	return h;
}

static const struct {
	const char *sql;
	const char *why;
} refused[] = {
	{ "INSERT INTO runs (started, started_us, sensor, kexwatch_version) VALUES ('a', 1, 's', 'v')",
	  "refused: INSERT is not allowed: the database is read-only (only SELECT and pragmas that read)" },
	{ "UPDATE handshake_rows SET sni = 'x'",
	  "refused: UPDATE is not allowed: the database is read-only (only SELECT and pragmas that read)" },
	{ "DELETE FROM handshake_rows",
	  "refused: DELETE is not allowed: the database is read-only (only SELECT and pragmas that read)" },
	{ "CREATE TABLE t (x)", "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "CREATE TEMP TABLE t (x)", "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "CREATE VIEW v AS SELECT 1", "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "DROP VIEW hops", "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "ALTER TABLE runs ADD COLUMN x", "refused: ALTER TABLE is not allowed" },
	{ "ATTACH 'other.db' AS o", "refused: ATTACH is not allowed" },
	{ "DETACH main", "refused: DETACH is not allowed" },
	{ "PRAGMA user_version = 7",
	  "refused: PRAGMA user_version = 7 is not allowed: only pragmas that read, without a value" },
	{ "PRAGMA query_only = 0", "refused: PRAGMA query_only = 0 is not allowed" },
	{ "PRAGMA writable_schema = 1", "refused: PRAGMA writable_schema = 1 is not allowed" },
	{ "PRAGMA journal_mode = DELETE", "refused: PRAGMA journal_mode = DELETE is not allowed" },
	{ "PRAGMA wal_checkpoint", "refused: PRAGMA wal_checkpoint is not allowed" },
	{ "BEGIN", "refused: a transaction statement is not allowed" },
	{ "SAVEPOINT a", "refused: SAVEPOINT is not allowed" },
	{ "VACUUM", "refused: the statement would write" },
	{ "VACUUM INTO 'copy.db'", "refused: the statement would write" },
	{ "REINDEX", "refused: REINDEX is not allowed" },
	{ "ANALYZE", "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "UPDATE sqlite_master SET sql = ''", "table sqlite_master may not be modified" },
	{ "INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, '')",
	  "refused: changing the schema (CREATE, DROP, ALTER) is not allowed" },
	{ "SELECT load_extension('x')", "refused: function load_extension() is not allowed" },
	{ "SELECT 1; DELETE FROM handshakes",
	  "refused: one statement at a time (more text follows the first ';')" },
	{ "SELECT 1; SELECT 2", "refused: one statement at a time" },
	{ "", "no statement given" },
	{ " ; -- nothing", "no statement given" },
};

static void test_sql(const char *path)
{
	unsigned long long before = file_hash(path);
	char wal[600];
	struct stat sb;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *text = run(sql_fn, path, refused[i].sql, KX_OUT_TABLE);
		CHECK(strncmp(text, "ERROR: ", 7) == 0 &&
			      strncmp(text + 7, refused[i].why, strlen(refused[i].why)) == 0,
		      "refused '%s': %s", refused[i].sql, text);
		free(text);
	}
	CHECK(file_hash(path) == before, "the database file is byte for byte unchanged");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	CHECK(stat(wal, &sb) < 0 || sb.st_size == 0, "and no write-ahead log appeared");

	char *text = run(sql_fn, path, "SELECT verdict, count(*) AS n FROM handshakes"
				       " GROUP BY verdict ORDER BY verdict;  -- trailing comment",
			 KX_OUT_TABLE);
	check_str(text,
		  "verdict       n\n"
		  "classical     4\n"
		  "hybrid        5\n"
		  "hybrid-draft  1\n"
		  "incomplete    2\n"
		  "resumed       1\n"
		  "unknown       1\n",
		  "a SELECT with a trailing comment: numbers right-aligned");
	free(text);
	text = run(sql_fn, path, "PRAGMA table_info(sources)", KX_OUT_CSV);
	check_str(text,
		  "cid,name,type,notnull,dflt_value,pk\r\n"
		  "0,run_id,INTEGER,1,,1\r\n"
		  "1,source_id,INTEGER,1,,2\r\n"
		  "2,name,TEXT,1,,0\r\n",
		  "PRAGMA table_info(...) reads");
	free(text);
	text = run(sql_fn, path, "SELECT day, handshakes, deciding, hybrid_share FROM"
				 " hybrid_share_daily", KX_OUT_JSON);
	check_str(text, "[\n  {\"day\":\"2025-11-22\",\"handshakes\":14,\"deciding\":11,"
			"\"hybrid_share\":0.45454545454545453}\n]\n",
		  "hybrid_share_daily view, JSON with a real number");
	free(text);
	text = run(sql_fn, path, "SELECT client_ip, offers_pq, n_no_pq FROM clients"
				 " WHERE offers_pq = 'none' ORDER BY client_ip", KX_OUT_CSV);
	check_str(text, "client_ip,offers_pq,n_no_pq\r\n192.0.2.11,none,2\r\n192.0.2.12,none,1\r\n",
		  "clients view: the clients to upgrade");
	free(text);
	text = run(sql_fn, path, "SELECT sni, reason, pkt_first_ch FROM classical_handshakes"
				 " ORDER BY ts_first_us", KX_OUT_CSV);
	check_str(text, "sni,reason,pkt_first_ch\r\n,tls12,12\r\ndeclined.example,server-declined,4\r\n"
			"declined.example,client-no-pq,4\r\nmixed.example,client-no-pq,4\r\n",
		  "classical_handshakes view with evidence");
	free(text);
	text = run(sql_fn, path, "SELECT kx_group_name(value) AS g, count(*) AS n FROM handshakes,"
				 " json_each(groups_offered) GROUP BY g ORDER BY n DESC, g LIMIT 2",
			 KX_OUT_CSV);
	check_str(text, "g,n\r\nx25519,14\r\nsecp256r1,13\r\n", "json_each and kx_group_name() in sql");
	free(text);
	text = run(sql_fn, path, "SELECT name FROM pragma_table_info('sources') ORDER BY cid",
		   KX_OUT_CSV);
	check_str(text, "name\r\nrun_id\r\nsource_id\r\nname\r\n", "pragma_table_info() reads");
	free(text);
	text = run(sql_fn, path, "SELECT nonsense FROM handshakes", KX_OUT_TABLE);
	check_str(text, "ERROR: no such column: nonsense", "an SQL error is reported as such");
	free(text);
	CHECK(file_hash(path) == before, "still unchanged after the reads");
}

static void test_html(const char *path)
{
	char *html = run(html_fn, path, NULL, KX_OUT_TABLE);
	static const char *const forbidden[] = {
		"http:", "https:", "//", "src=", "href=", "url(", "@import", "<b>x", "<link",
		"<img", "<iframe", "\x1b",
	};
	static const char *const needed[] = {
		"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';",
		"id=\"kx-share\">53.3%</div>",
		"id=\"kx-handshakes\">22</div>",
		"id=\"kx-classical-hops\">2</div>",
		"id=\"kx-declined-hops\">1</div>",
		"id=\"kx-nopq-clients\">2</div><div class=\"sub\">of 7 clients: 1 never offers a PQ group, 1 only sometimes, 0 talk in plaintext</div>",
		"id=\"kx-findings\">6</div>",
		"<svg id=\"kx-chart-share\"", "<svg id=\"kx-chart-groups\"",
		"<svg id=\"kx-chart-verdicts\"", "<table id=\"kx-hops\" class=\"sortable\">",
		"<table id=\"kx-clients\" class=\"sortable\">", "id=\"kx-findings-list\"",
		"&lt;b&gt;x&lt;/b&gt;&#39;&amp;.example",
		"evil\\x1b[2J,&quot;x&quot;.example",
		"data-kind=\"first-segment-lost\"",
		"<span class=\"badge b-declined\">classical (server-declined)</span>",
	};

	CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0, "an HTML document");
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		CHECK(!strstr(html, forbidden[i]), "no '%s' in the page", forbidden[i]);
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		CHECK(strstr(html, needed[i]) != NULL, "the page has %s", needed[i]);
	free(html);
}

int main(void)
{
	const char *dir = test_dir();
	char path[512], more[512];

	snprintf(path, sizeof(path), "%s/sql.db", dir);
	fill(path);
	test_sql(path);
	snprintf(more, sizeof(more), "%s/more.db", dir);
	fill(more);
	fill_more(more);
	test_html(more);
	rm_dir(dir);
	return tap_done();
}
