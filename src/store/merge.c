/* SPDX-License-Identifier: BSD-2-Clause */
/* merge.c: combine sensor databases into one inventory (`kexwatch merge`).
 *
 * Each input is attached read-only to the output connection and copied in
 * one transaction: its runs (a run already present, same start time, sensor,
 * command and version, is reused, not copied again), its sources, and its
 * handshakes through the same de-duplication key as live inserts, so merging
 * a file twice, or two sensors' overlapping files, adds nothing twice.
 * Column lists come from the schemas themselves: a version 1 input simply
 * has no SSH/starttls columns, which stay NULL; the handshake columns of
 * schema 6 (tunnel, client_hello_seen) travel the same way.
 *
 * Sessions (schema 6) are hourly aggregates, so a row already in the
 * output cannot be told apart by identity alone; merge counts a session
 * once the way the store does for a capture read twice:
 *   - a row whose time [ts_first_us, ts_last_us] lies within the capture
 *     span of a run of the same sensor that the output had before this
 *     input (an identical run is reused, so merging a file twice is
 *     covered) is already counted: skipped;
 *   - a row whose key (sensor, hour, client, server endpoint, app, verdict,
 *     reason, VLAN, tunnel) the output has with the same first session
 *     (ts_first_us, client port, packet) is another snapshot of the same
 *     sessions (a copy of a sensor's file taken later): the larger counts
 *     are kept, nothing is added;
 *   - otherwise the sessions are other ones of that hour (another capture
 *     of the sensor): counts and bytes add up, the first session and its
 *     evidence win.
 * Different sensors never share a key. Two files of one sensor whose
 * captures overlap only partly can still count a session twice; give
 * distinct observation points distinct --sensor names.
 */
#include "kexwatch/merge.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/store.h"

#define COLS_MAX 4096

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *m = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &m) != SQLITE_OK) {
		snprintf(err, errlen, "%s", m ? m : sqlite3_errmsg(db));
		sqlite3_free(m);
		return -1;
	}
	return 0;
}

/* Columns of `table` present in both main and src, except those in skip,
 * as a quoted comma-separated list. Names come from the schemas, never from
 * user input. */
static int common_columns(sqlite3 *db, const char *table, const char *const *skip, char *out,
			  size_t outlen)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT m.name FROM pragma_table_info('%s', 'main') AS m"
		 " JOIN pragma_table_info('%s', 'src') AS s ON s.name = m.name ORDER BY m.cid",
		 table, table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	size_t pos = 0;
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		bool skipped = false;
		for (const char *const *k = skip; *k; k++)
			skipped |= strcmp(name, *k) == 0;
		if (skipped)
			continue;
		int n = snprintf(out + pos, outlen - pos, "%s\"%s\"", pos ? "," : "", name);
		if (n < 0 || (size_t)n >= outlen - pos) {
			sqlite3_finalize(st);
			return -1;
		}
		pos += (size_t)n;
	}
	sqlite3_finalize(st);
	return 0;
}

static int64_t count_rows(sqlite3 *db)
{
	sqlite3_stmt *s;
	int64_t n = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM main.handshake_rows", -1, &s, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int64_t query_int64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* The first session of the two rows is the same one. */
#define SAME_FIRST                                                                     \
	"(ts_first_us = excluded.ts_first_us AND client_port = excluded.client_port"  \
	" AND pkt_first = excluded.pkt_first)"

/* ?1: the highest runs.id the output had before this input. An input of
 * schema 10 or earlier says 'unknown' for a session whose handshake was not
 * seen: it arrives with the word of schema 11, 'no-verdict'. */
static const char merge_sessions_sql[] =
	"INSERT INTO main.sessions (sensor, hour, transport, app, client_ip, server_ip,"
	" server_port, ip_version, vlan, tunnel, verdict, reason, ndpi, sessions, bytes,"
	" ts_first_us, ts_last_us, run_id, source_id, client_port, pkt_first)"
	" SELECT s.sensor, s.hour, s.transport, s.app, s.client_ip, s.server_ip, s.server_port,"
	" s.ip_version, s.vlan, s.tunnel," KX_SQL_SESSION_VERDICT("s.verdict", "s.reason") ","
	" s.reason, s.ndpi, s.sessions, s.bytes,"
	" s.ts_first_us, s.ts_last_us, r.new, s.source_id, s.client_port, s.pkt_first"
	" FROM src.sessions AS s JOIN run_map AS r ON r.old = s.run_id"
	" WHERE NOT EXISTS (SELECT 1 FROM main.runs AS m WHERE m.id <= ?1"
	"  AND m.sensor = s.sensor AND m.capture_first_us <= s.ts_first_us"
	"  AND m.capture_last_us >= s.ts_last_us)"
	" ORDER BY s.id"
	" ON CONFLICT (sensor, hour, client_ip, server_ip, server_port, transport, app,"
	" verdict, reason, vlan, tunnel) DO UPDATE SET"
	" sessions = iif(" SAME_FIRST ", max(sessions, excluded.sessions),"
	"  sessions + excluded.sessions),"
	" bytes = iif(" SAME_FIRST ", max(bytes, excluded.bytes), bytes + excluded.bytes),"
	" ndpi = coalesce(ndpi, excluded.ndpi),"
	" ts_last_us = max(ts_last_us, excluded.ts_last_us),"
	" run_id = iif(excluded.ts_first_us < ts_first_us, excluded.run_id, run_id),"
	" source_id = iif(excluded.ts_first_us < ts_first_us, excluded.source_id, source_id),"
	" client_port = iif(excluded.ts_first_us < ts_first_us, excluded.client_port, client_port),"
	" pkt_first = iif(excluded.ts_first_us < ts_first_us, excluded.pkt_first, pkt_first),"
	" ts_first_us = min(ts_first_us, excluded.ts_first_us)"
	/* A snapshot no larger than what is there changes nothing. */
	" WHERE NOT (" SAME_FIRST " AND excluded.sessions <= sessions"
	"  AND excluded.bytes <= bytes AND excluded.ts_last_us <= ts_last_us)";

/* Copies the sessions of src (schema 6 inputs); counts what it did. */
static int merge_sessions(sqlite3 *db, int64_t runs_before, struct kx_merge_stats *ms, char *err,
			  size_t errlen)
{
	sqlite3_stmt *st;
	int64_t before = query_int64(db, "SELECT count(*) FROM main.sessions");
	int64_t total = query_int64(db, "SELECT count(*) FROM src.sessions");
	if (before < 0 || total < 0 ||
	    sqlite3_prepare_v2(db, merge_sessions_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sessions: %s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, runs_before);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	int64_t after = query_int64(db, "SELECT count(*) FROM main.sessions");
	if (rc != SQLITE_DONE || after < before) {
		snprintf(err, errlen, "sessions: %s", sqlite3_errmsg(db));
		return -1;
	}
	/* changes() counts the rows inserted and those updated. */
	int64_t changed = sqlite3_changes(db);
	ms->sessions_added += (uint64_t)(after - before);
	ms->sessions_updated += (uint64_t)(changed - (after - before));
	ms->sessions_present += (uint64_t)(total - changed);
	return 0;
}

static int pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *v;
	int x = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &v, NULL) == SQLITE_OK && sqlite3_step(v) == SQLITE_ROW)
		x = sqlite3_column_int(v, 0);
	sqlite3_finalize(v);
	return x;
}

static int merge_one(sqlite3 *db, const char *path, struct kx_merge_stats *ms, char *err,
		     size_t errlen)
{
	sqlite3_stmt *st;
	/* The file name is bound, never pasted; mode=ro keeps the input untouched. */
	char uri[4200];
	snprintf(uri, sizeof(uri), "file:%s?mode=ro", path);
	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS src", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	int ret = -1;
	char cols[COLS_MAX], sql[2 * COLS_MAX + 512];
	int version = pragma_int(db, "PRAGMA src.user_version");
	int app = pragma_int(db, "PRAGMA src.application_id");
	if (app != KX_STORE_APP_ID || version < 1 || version > KX_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: not a kexwatch database of a known version", path);
		goto detach;
	}
	if (exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
		goto detach;
	/* Runs of the output before this input: their capture spans say which
	 * sessions it has counted already. */
	int64_t runs_before = query_int64(db, "SELECT coalesce(max(id), 0) FROM main.runs");
	if (runs_before < 0) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		goto rollback;
	}
	/* Runs: reuse an identical run, copy the others; remember the mapping. */
	static const char *const no_id[] = { "id", NULL };
	if (common_columns(db, "runs", no_id, cols, sizeof(cols)) < 0 ||
	    exec(db, "CREATE TEMP TABLE IF NOT EXISTS run_map (old INTEGER PRIMARY KEY, new INTEGER);"
		     " DELETE FROM run_map", err, errlen) < 0)
		goto rollback;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO main.runs (%s) SELECT %s FROM src.runs AS s WHERE NOT EXISTS"
		 " (SELECT 1 FROM main.runs AS m WHERE m.started_us = s.started_us AND"
		 " m.sensor = s.sensor AND m.command IS s.command AND"
		 " m.kexwatch_version = s.kexwatch_version)",
		 cols, cols);
	if (exec(db, sql, err, errlen) < 0)
		goto rollback;
	ms->runs += (uint64_t)sqlite3_changes(db);
	if (exec(db, "INSERT INTO run_map SELECT s.id, (SELECT m.id FROM main.runs AS m WHERE"
		     " m.started_us = s.started_us AND m.sensor = s.sensor AND m.command IS s.command"
		     " AND m.kexwatch_version = s.kexwatch_version ORDER BY m.id LIMIT 1)"
		     " FROM src.runs AS s",
		 err, errlen) < 0)
		goto rollback;
	if (exec(db, "INSERT OR IGNORE INTO main.sources (run_id, source_id, name)"
		     " SELECT r.new, s.source_id, s.name FROM src.sources AS s"
		     " JOIN run_map AS r ON r.old = s.run_id",
		 err, errlen) < 0)
		goto rollback;
	/* dedup_key is computed, not copied: inputs before schema v3 lack it.
	 * The view's trigger splits each row into handshake_rows, hellos and
	 * handshake_extras and skips handshakes already present (schema v5);
	 * changes() does not count what a trigger does, so count the rows. */
	static const char *const no_ids[] = { "id", "run_id", "dedup_key", NULL };
	if (common_columns(db, "handshakes", no_ids, cols, sizeof(cols)) < 0)
		goto rollback;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO main.handshakes (run_id, dedup_key, %s) SELECT r.new,"
		 " kx_dedup_key(h.sensor, h.protocol, h.client_ip, h.client_port, h.server_ip,"
		 " h.server_port), %s FROM src.handshakes AS h"
		 " JOIN run_map AS r ON r.old = h.run_id ORDER BY h.id",
		 cols, cols);
	int64_t before = count_rows(db);
	if (before < 0 || exec(db, sql, err, errlen) < 0)
		goto rollback;
	int64_t after = count_rows(db);
	if (after < before)
		goto rollback;
	uint64_t added = (uint64_t)(after - before);
	sqlite3_stmt *n;
	uint64_t total = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM src.handshakes", -1, &n, NULL) == SQLITE_OK &&
	    sqlite3_step(n) == SQLITE_ROW)
		total = (uint64_t)sqlite3_column_int64(n, 0);
	sqlite3_finalize(n);
	ms->rows_added += added;
	ms->rows_present += total - added;
	if (version >= 6 && merge_sessions(db, runs_before, ms, err, errlen) < 0)
		goto rollback;
	if (exec(db, "COMMIT", err, errlen) < 0)
		goto rollback;
	ret = 0;
	goto detach;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
detach:
	sqlite3_exec(db, "DETACH DATABASE src", NULL, NULL, NULL);
	return ret;
}

int kx_merge(const char *out, const char *const *inputs, unsigned n, struct kx_merge_stats *ms,
	     char *err, size_t errlen)
{
	memset(ms, 0, sizeof(*ms));
	/* Create or migrate the output through the store, then copy with plain SQL. */
	struct kx_store *st;
	if (kx_store_open(out, NULL, &st, err, errlen) < 0)
		return -1;
	kx_store_close(st);
	sqlite3 *db;
	if (sqlite3_open_v2(out, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", out, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	int rc = kx_store_register_functions(db) == SQLITE_OK ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", out, sqlite3_errmsg(db));
	for (unsigned i = 0; i < n && rc == 0; i++) {
		rc = merge_one(db, inputs[i], ms, err, errlen);
		if (rc == 0)
			ms->inputs++;
	}
	sqlite3_close(db);
	return rc;
}
