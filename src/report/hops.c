/* hops.c: the per-endpoint report over the `hops` view (see sqlite_store.c).
 *
 * The database is opened read-only and never created; all output is read in
 * one read transaction, so the two passes of the table (widths, then rows)
 * see the same snapshot while a capture keeps writing. CSV follows RFC 4180.
 */
#include "kexwatch/report.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "kexwatch/emit.h"
#include "kexwatch/store.h"

#define ORDER " FROM hops ORDER BY risk DESC, handshakes DESC, server_ip, server_port, sni"

static const char table_sql[] =
	"SELECT server_ip, server_port, sni, handshakes, n_hybrid, n_pq, n_classical,"
	" n_resumed + n_incomplete + n_unknown + n_hybrid_draft, groups_selected, verdict" ORDER;

static const char all_sql[] = "SELECT *" ORDER;

static const struct {
	const char *head;
	bool num;
} table_cols[] = {
	{ "SERVER", false },  { "PORT", true },  { "SNI", false }, { "HANDSHAKES", true },
	{ "HYBRID", true },   { "PQ", true },    { "CLASSICAL", true }, { "OTHER", true },
	{ "GROUPS", false },  { "VERDICT", false },
};

#define N_TABLE_COLS (sizeof(table_cols) / sizeof(table_cols[0]))

/* SNI comes from the wire: a table cell never passes control bytes to the
 * terminal, they print as \xNN. Width counts code points, not bytes. */
static size_t cell_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			w += 4;
		else if ((*p & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static void cell_print(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			putc(*p, out);
	}
}

static const char *cell_text(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return "-";
	if (table_cols[col].num) {
		snprintf(buf, len, "%lld", (long long)sqlite3_column_int64(s, col));
		return buf;
	}
	return (const char *)sqlite3_column_text(s, col);
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		putc(' ', out);
}

static int print_table(sqlite3_stmt *s, FILE *out)
{
	size_t width[N_TABLE_COLS];
	char num[24];
	int rc;

	for (size_t i = 0; i < N_TABLE_COLS; i++)
		width[i] = strlen(table_cols[i].head);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < (int)N_TABLE_COLS; i++) {
			size_t w = cell_width(cell_text(s, i, num, sizeof(num)));
			if (w > width[i])
				width[i] = w;
		}
	}
	if (rc != SQLITE_DONE)
		return rc;
	sqlite3_reset(s);

	/* Numbers right-aligned, text left-aligned, no trailing blanks. */
	for (size_t i = 0; i < N_TABLE_COLS; i++) {
		size_t gap = width[i] - strlen(table_cols[i].head);
		if (i)
			fputs("  ", out);
		if (table_cols[i].num)
			pad(out, gap);
		fputs(table_cols[i].head, out);
		if (!table_cols[i].num && i + 1 < N_TABLE_COLS)
			pad(out, gap);
	}
	putc('\n', out);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < (int)N_TABLE_COLS; i++) {
			const char *v = cell_text(s, i, num, sizeof(num));
			size_t gap = width[i] - cell_width(v);
			if (i)
				fputs("  ", out);
			if (table_cols[i].num)
				pad(out, gap);
			cell_print(out, v);
			if (!table_cols[i].num && i + 1 < (int)N_TABLE_COLS)
				pad(out, gap);
		}
		putc('\n', out);
	}
	return rc;
}

static void json_value(sqlite3_stmt *s, int col, FILE *out)
{
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		fputs("null", out);
		break;
	case SQLITE_INTEGER:
		fprintf(out, "%lld", (long long)sqlite3_column_int64(s, col));
		break;
	case SQLITE_FLOAT:
		fprintf(out, "%.17g", sqlite3_column_double(s, col));
		break;
	default:
		kx_json_fputs(out, (const char *)sqlite3_column_text(s, col),
			      (size_t)sqlite3_column_bytes(s, col));
		break;
	}
}

static int print_json(sqlite3_stmt *s, FILE *out)
{
	int rc, rows = 0;

	fputs("[", out);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		fputs(rows++ ? ",\n  {" : "\n  {", out);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			fprintf(out, "%s\"%s\":", i ? "," : "", sqlite3_column_name(s, i));
			json_value(s, i, out);
		}
		putc('}', out);
	}
	fputs(rows ? "\n]\n" : "]\n", out);
	return rc;
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double quotes. */
static void csv_field(FILE *out, const char *v)
{
	if (!strpbrk(v, ",\"\r\n")) {
		fputs(v, out);
		return;
	}
	putc('"', out);
	for (; *v; v++) {
		if (*v == '"')
			putc('"', out);
		putc(*v, out);
	}
	putc('"', out);
}

static int print_csv(sqlite3_stmt *s, FILE *out)
{
	int n = sqlite3_column_count(s), rc;

	for (int i = 0; i < n; i++) {
		if (i)
			putc(',', out);
		csv_field(out, sqlite3_column_name(s, i));
	}
	fputs("\r\n", out);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++) {
			const char *v = (const char *)sqlite3_column_text(s, i);
			if (i)
				putc(',', out);
			csv_field(out, v ? v : "");
		}
		fputs("\r\n", out);
	}
	return rc;
}

int kx_report_hops(const char *db_path, enum kx_out_format fmt, FILE *out,
		   char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct stat sb;
	int version, rc;

	/* SQLite would report a missing file as "unable to open database file";
	 * say which file and why. */
	if (stat(db_path, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", db_path, strerror(errno));
		return -1;
	}
	rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", db_path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "PRAGMA query_only = 1; BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
		goto fail;
	}
	version = kx_store_schema_version(db, db_path, err, errlen);
	if (version < 0)
		goto fail;
	if (version == 0) {
		snprintf(err, errlen, "%s: empty file, not a kexwatch database", db_path);
		goto fail;
	}
	if (version < KX_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: database schema version %d is older than this "
			 "kexwatch reads (%d); any kexwatch command that writes to it upgrades it",
			 db_path, version, KX_STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (sqlite3_prepare_v2(db, fmt == KX_OUT_TABLE ? table_sql : all_sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
		goto fail;
	}
	if (fmt == KX_OUT_TABLE)
		rc = print_table(s, out);
	else if (fmt == KX_OUT_JSON)
		rc = print_json(s, out);
	else
		rc = print_csv(s, out);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", db_path, sqlite3_errmsg(db));
		goto fail;
	}
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing the report: %s", strerror(errno));
		goto fail;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return 0;
fail:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return -1;
}
