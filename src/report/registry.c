/* SPDX-License-Identifier: BSD-2-Clause */
/* registry.c: `kexwatch groups`: the key-exchange group registry (built in,
 * plus a --groups FILE) as a table, JSON or CSV: code, name, family, the
 * key share sizes a client and a server send, and where the entry comes
 * from. The rows go through an in-memory SQLite table so the printers (and
 * --columns, --limit) are those of every other report. */
#include "report_int.h"

#include <stdlib.h>

#include "kexwatch/groups.h"

static const struct kx_col table_cols[] = {
	{ "hex", "CODE", false },          { "name", "NAME", false },
	{ "family", "FAMILY", false },     { "client_share", "CLIENT SHARE", true },
	{ "server_share", "SERVER SHARE", true }, { "source", "SOURCE", false },
};

int kx_report_groups(enum kx_out_format fmt, FILE *out, char *err, size_t errlen)
{
	struct kx_group_entry *v = NULL;
	sqlite3_stmt *ins = NULL, *s = NULL;
	sqlite3 *db = NULL;
	size_t n, cap = 1024;
	int rc = -1;

	if (!(v = calloc(cap, sizeof(*v)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = kx_groups_list(v, cap);
	if (n > cap)
		n = cap;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE g (code INTEGER, hex TEXT, name TEXT, family TEXT,"
			 " client_share INTEGER, server_share INTEGER, source TEXT)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO g VALUES (?, printf('0x%04x', ?1), ?, ?, ?, ?, ?)",
			       -1, &ins, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_int(ins, 1, v[i].code);
		sqlite3_bind_text(ins, 2, v[i].name ? v[i].name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, kx_family_name(v[i].fam), -1, SQLITE_STATIC);
		if (v[i].sized) {
			sqlite3_bind_int(ins, 4, v[i].c_size);
			sqlite3_bind_int(ins, 5, v[i].s_size);
		} else {
			sqlite3_bind_null(ins, 4);
			sqlite3_bind_null(ins, 5);
		}
		sqlite3_bind_text(ins, 6, v[i].from_file ? "file" : "built-in", -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto fail;
	}
	if (sqlite3_prepare_v2(db, "SELECT code, hex, name, family, client_share, server_share,"
				   " source FROM g ORDER BY code", -1, &s, NULL) != SQLITE_OK)
		goto fail;
	if (kx_table_print(s, fmt, table_cols, sizeof(table_cols) / sizeof(table_cols[0]), NULL,
			   out) != SQLITE_DONE) {
		if (kx_table_error())
			snprintf(err, errlen, "%s", kx_table_error());
		else
			snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		goto out;
	}
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing the list failed");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "%s", db ? sqlite3_errmsg(db) : "out of memory");
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(v);
	return rc;
}
