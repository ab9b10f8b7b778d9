/* SPDX-License-Identifier: BSD-2-Clause */
/* sql.c: `kexwatch sql`: one statement, read-only, in three formats.
 *
 * Four locks, each enough on its own for what it covers: the file is opened
 * SQLITE_OPEN_READONLY (no write reaches it, whatever the statement);
 * PRAGMA query_only (no change to any database); an authorizer that allows
 * only SELECT, reading columns, calling functions other than those that
 * touch files or extensions, and pragmas that read (no value, from a short
 * list), refusing everything else (ATTACH, DETACH, writes, temp tables,
 * transactions, pragma writes); and sqlite3_stmt_readonly after prepare.
 * A statement refused by the authorizer fails to prepare, so it never runs.
 */
#include "report_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Pragmas that only read: a value (PRAGMA x = v, PRAGMA x(v)) is refused
 * except for the table-valued ones, whose argument names a table. */
static const char *const read_pragmas[] = {
	"application_id", "collation_list", "compile_options", "database_list",
	"encoding", "foreign_key_list", "freelist_count", "function_list",
	"index_info", "index_list", "index_xinfo", "page_count",
	"page_size", "pragma_list", "schema_version", "table_info", "table_list",
	"table_xinfo", "user_version",
};

static const char *const pragmas_with_arg[] = {
	"foreign_key_list", "index_info", "index_list", "index_xinfo", "table_info",
	"table_xinfo", "table_list",
};

static const char *const denied_functions[] = {
	"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
};

struct auth {
	char why[256];
};

static bool in(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s && strcasecmp(list[i], s) == 0)
			return true;
	return false;
}

#define IN(list, s) in(list, sizeof(list) / sizeof(list[0]), s)

static const char *action_name(int code)
{
	switch (code) {
	case SQLITE_INSERT: return "INSERT";
	case SQLITE_UPDATE: return "UPDATE";
	case SQLITE_DELETE: return "DELETE";
	case SQLITE_ATTACH: return "ATTACH";
	case SQLITE_DETACH: return "DETACH";
	case SQLITE_TRANSACTION: return "a transaction statement";
	case SQLITE_SAVEPOINT: return "SAVEPOINT";
	case SQLITE_ANALYZE: return "ANALYZE";
	case SQLITE_REINDEX: return "REINDEX";
	case SQLITE_ALTER_TABLE: return "ALTER TABLE";
	case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TEMP_TABLE: case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_VIEW: case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_VTABLE:
		return "CREATE";
	case SQLITE_DROP_INDEX: case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TEMP_TABLE: case SQLITE_DROP_TEMP_TRIGGER: case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER: case SQLITE_DROP_VIEW: case SQLITE_DROP_VTABLE:
		return "DROP";
	default: return "this statement";
	}
}

/* The schema tables: writing them is how CREATE, DROP and ALTER show. */
static bool schema_table(const char *t)
{
	return t && (strcmp(t, "sqlite_master") == 0 || strcmp(t, "sqlite_schema") == 0 ||
		     strcmp(t, "sqlite_temp_master") == 0 || strcmp(t, "sqlite_temp_schema") == 0);
}

static int deny(struct auth *au, int code, const char *a, const char *b)
{
	/* The first refusal names the statement; later ones follow from it. */
	if (au->why[0])
		return SQLITE_DENY;
	if (code == SQLITE_FUNCTION)
		snprintf(au->why, sizeof(au->why), "function %s() is not allowed", b);
	else if (code == SQLITE_PRAGMA)
		snprintf(au->why, sizeof(au->why), "PRAGMA %s%s%s is not allowed: only pragmas "
			 "that read, without a value", a ? a : "", b ? " = " : "", b ? b : "");
	else if ((code == SQLITE_INSERT || code == SQLITE_UPDATE || code == SQLITE_DELETE) &&
		 schema_table(a))
		snprintf(au->why, sizeof(au->why), "changing the schema (CREATE, DROP, ALTER) is "
			 "not allowed: the database is read-only");
	else
		snprintf(au->why, sizeof(au->why), "%s is not allowed: the database is read-only "
			 "(only SELECT and pragmas that read)", action_name(code));
	return SQLITE_DENY;
}

static int authorize(void *ctx, int code, const char *a, const char *b, const char *db,
		     const char *trigger)
{
	struct auth *au = ctx;

	(void)db;
	(void)trigger;
	switch (code) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/* The first use of a table-valued function (json_each, pragma_*)
		 * declares its table, which SQLite reports as an update of the
		 * schema's columns. A real UPDATE of sqlite_master still fails:
		 * defensive mode forbids it and sqlite3_stmt_readonly says so. */
		if (schema_table(a) && b)
			return SQLITE_OK;
		return deny(au, code, a, b);
	case SQLITE_FUNCTION:
		/* a: NULL, b: the function name. */
		if (!IN(denied_functions, b))
			return SQLITE_OK;
		return deny(au, code, a, b);
	case SQLITE_PRAGMA:
		/* a: the pragma, b: its value or argument, or NULL. */
		if (IN(read_pragmas, a) && (!b || IN(pragmas_with_arg, a)))
			return SQLITE_OK;
		return deny(au, code, a, b);
	default:
		return deny(au, code, a, b);
	}
}

/* True when s holds only blanks, semicolons and SQL comments. */
static bool only_trailer(const char *s)
{
	while (*s) {
		if (isspace((unsigned char)*s) || *s == ';') {
			s++;
		} else if (s[0] == '-' && s[1] == '-') {
			s += strcspn(s, "\n");
		} else if (s[0] == '/' && s[1] == '*') {
			const char *end = strstr(s + 2, "*/");
			if (!end)
				return true;
			s = end + 2;
		} else {
			return false;
		}
	}
	return true;
}

int kx_report_sql(const char *db_path, const char *sql, enum kx_out_format fmt, FILE *out,
		  char *err, size_t errlen)
{
	struct auth au = { "" };
	sqlite3_stmt *s = NULL;
	const char *tail = NULL;
	struct kx_rdb r;
	int rc = -1;

	if (kx_rdb_open(&r, db_path, err, errlen) < 0)
		return -1;
	sqlite3_set_authorizer(r.db, authorize, &au);
	if (sqlite3_prepare_v2(r.db, sql, -1, &s, &tail) != SQLITE_OK) {
		if (au.why[0]) {
			snprintf(err, errlen, "refused: %s", au.why);
			rc = -2;
		} else {
			snprintf(err, errlen, "%s", sqlite3_errmsg(r.db));
			/* The views of schema 2 do not exist in a version 1 file. */
			if (r.version < 2 && (strstr(err, "no such table: clients") ||
					       strstr(err, "no such table: hybrid_share_daily") ||
					       strstr(err, "no such table: clienthello_sizes") ||
					       strstr(err, "no such table: classical_handshakes")))
				snprintf(err + strlen(err), errlen - strlen(err),
					 " (this database has schema version %d: the views "
					 "clients, hybrid_share_daily, clienthello_sizes and "
					 "classical_handshakes come with version 2; any kexwatch "
					 "command that writes to it upgrades it)", r.version);
		}
		goto out;
	}
	if (!s) {
		snprintf(err, errlen, "no statement given");
		rc = -2;
		goto out;
	}
	if (tail && !only_trailer(tail)) {
		snprintf(err, errlen, "refused: one statement at a time (more text follows the "
			 "first ';')");
		rc = -2;
		goto out;
	}
	if (!sqlite3_stmt_readonly(s)) {
		snprintf(err, errlen, "refused: the statement would write");
		rc = -2;
		goto out;
	}
	if (kx_rdb_print(s, fmt, NULL, 0, out) != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(r.db));
		goto out;
	}
	rc = kx_rdb_finish_output(&r, out);
out:
	sqlite3_finalize(s);
	/* The ROLLBACK that ends the read transaction must get through. */
	sqlite3_set_authorizer(r.db, NULL, NULL);
	kx_rdb_close(&r);
	return rc;
}
