/* SPDX-License-Identifier: BSD-2-Clause */
/* rollup_retention.c: the rollups' own retention (`prune
 * --rollups-older-than`, rollup.h).
 *
 * The rollups have no time in their keys, so they cannot drop "last
 * year" and keep "this year" of one endpoint. What they can do, and what
 * an inventory needs after years on a link, is forget what is gone: an
 * endpoint (server address, port, SNI, over all sensors), a client
 * address or a fingerprint set whose newest handshake or session began
 * before the cutoff leaves every rollup keyed by it; one seen since keeps
 * all of its history. Each kind is forgotten on its own: a surviving
 * endpoint keeps the count of a client that was forgotten, as its raw
 * history would. Only the hourly tables (rollup_hourly, sessions) have a
 * time, and their hours before the cutoff go.
 *
 * The candidates are found in one read transaction (no write lock) after
 * prune's fold, with the fold marks of that moment; each write
 * transaction then drops a slice of them, minus any that rows written
 * since (above those marks) bring back, sized like prune's batches to
 * stay near half the lock budget.
 */
#include "kexwatch/rollup.h"
#include "kexwatch/store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SLICE_MIN 16
#define SLICE_START 256
#define SLICE_MAX 65536
#define HOUR_US INT64_C(3600000000)

/* One kind of forgettable key: the temp tables it uses, the query that
 * finds the candidates (?1: the cutoff), the keys rows written since the
 * marks bring back (?1, ?2: the marks), and the deletes of a slice
 * (temp.kx_rt_slice holds its keys). */
struct kind {
	const char *name;
	const char *cols;       /* the key's columns */
	const char *candidates; /* SELECT of the keys last seen before ?1 */
	const char *since;      /* SELECT of the keys rows above ?1 / sessions above ?2 show */
	const char *const *deletes;
	uint64_t *forgotten;
};

/* A sessions row counts from the start of its hour, as its pair does. */
static const char ep_candidates[] =
	"SELECT server_ip, server_port, sni FROM (SELECT server_ip, server_port, sni,"
	" max(last_us) AS m FROM main.rollup_legs GROUP BY 1, 2, 3 UNION ALL"
	" SELECT server_ip, server_port, sni, max(last_us) FROM main.rollup_pairs GROUP BY 1, 2, 3)"
	" GROUP BY 1, 2, 3 HAVING max(m) < ?1";
static const char ep_since[] =
	"SELECT server_ip, server_port, coalesce(sni, '') FROM main.handshake_rows WHERE id > ?1"
	" UNION SELECT server_ip, server_port, '' FROM main.sessions WHERE id > ?2";
/* cbom's key leads with the sensor and protocol: those of the endpoint's
 * legs, which the same rows made. Before the legs go. */
static const char *const ep_deletes[] = {
	"DELETE FROM main.rollup_cbom WHERE (sensor, protocol, server_ip, server_port, sni) IN"
	" (SELECT DISTINCT l.sensor, l.protocol, s.server_ip, s.server_port, s.sni"
	"  FROM temp.kx_rt_slice AS s JOIN main.rollup_legs AS l ON l.server_ip = s.server_ip"
	"  AND l.server_port = s.server_port AND l.sni = s.sni)",
	"DELETE FROM main.rollup_legs WHERE (server_ip, server_port, sni) IN"
	" (SELECT server_ip, server_port, sni FROM temp.kx_rt_slice)",
	"DELETE FROM main.rollup_legs_all WHERE (server_ip, server_port, sni) IN"
	" (SELECT server_ip, server_port, sni FROM temp.kx_rt_slice)",
	"DELETE FROM main.rollup_pairs WHERE (server_ip, server_port, sni) IN"
	" (SELECT server_ip, server_port, sni FROM temp.kx_rt_slice)",
	"DELETE FROM main.rollup_clients WHERE (server_ip, server_port, sni) IN"
	" (SELECT server_ip, server_port, sni FROM temp.kx_rt_slice)",
	"DELETE FROM main.rollup_clients_all WHERE (server_ip, server_port, sni) IN"
	" (SELECT server_ip, server_port, sni FROM temp.kx_rt_slice)",
	NULL,
};

/* Clients in the client rollups (sessions alone make set entries): a
 * surviving endpoint's pairs keep clients that are gone. */
static const char client_candidates[] =
	"SELECT client_ip FROM (SELECT client_ip, max(last_us) AS m FROM main.rollup_client_legs_all"
	" GROUP BY 1 UNION ALL SELECT client_ip, max(last_us) FROM main.rollup_pairs GROUP BY 1)"
	" GROUP BY 1 HAVING max(m) < ?1 AND client_ip IN (SELECT client_ip FROM"
	" main.rollup_client_counts_all)";
static const char client_since[] =
	"SELECT client_ip FROM main.handshake_rows WHERE id > ?1"
	" UNION SELECT client_ip FROM main.sessions WHERE id > ?2";
static const char *const client_deletes[] = {
	"DELETE FROM main.rollup_client_legs WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_hellos WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_sets WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_counts WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_counts_all WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_legs_all WHERE client_ip IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_client_hellos_all WHERE client_ip IN temp.kx_rt_slice",
	NULL,
};

static const char fp_candidates[] =
	"SELECT fp_id FROM main.rollup_fp_legs GROUP BY 1 HAVING max(last_us) < ?1";
static const char fp_since[] =
	"SELECT fp_id FROM main.handshake_rows WHERE id > ?1 AND fp_id IS NOT NULL";
static const char *const fp_deletes[] = {
	"DELETE FROM main.rollup_fp_legs WHERE fp_id IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_fp_clients WHERE fp_id IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_fp_endpoints WHERE fp_id IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_fp_clients_all WHERE fp_id IN temp.kx_rt_slice",
	"DELETE FROM main.rollup_fp_endpoints_all WHERE fp_id IN temp.kx_rt_slice",
	NULL,
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "rollup retention: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* Runs sql with ?1..?n bound to v[0..n-1]; returns the rows it changed or -1. */
static int64_t run(sqlite3 *db, const char *sql, const int64_t *v, int nv)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < nv && i < sqlite3_bind_parameter_count(s); i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? (int64_t)sqlite3_changes(db) : -1;
}

static int64_t one_i64(sqlite3 *db, const char *sql, const int64_t *v, int nv)
{
	sqlite3_stmt *s;
	int64_t r = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < nv && i < sqlite3_bind_parameter_count(s); i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	if (sqlite3_step(s) == SQLITE_ROW)
		r = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return r;
}

struct budget {
	const struct kx_prune_opts *o;
	struct kx_prune_stats *st;
};

/* Ends a write transaction that held the lock since locked and sizes the
 * next one: kept near half the budget. */
static int commit(sqlite3 *db, struct budget *b, int64_t locked, int64_t *size, int64_t lo,
		  int64_t hi, char *err, size_t errlen)
{
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(db, "commit", err, errlen);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	int64_t held = mono_us() - locked, budget = (int64_t)b->o->max_lock_ms * 1000;
	if (held > b->st->longest_lock_us)
		b->st->longest_lock_us = held;
	b->st->rollup_transactions++;
	if (held * 4 < budget && *size < hi)
		*size *= 2;
	else if (held * 2 > budget && *size > lo)
		*size /= 2;
	if (b->o->pause_ms) /* let a waiting writer in */
		nanosleep(&(struct timespec){ .tv_nsec = (long)b->o->pause_ms * 1000000 }, NULL);
	return 0;
}

static int begin(sqlite3 *db, struct budget *b, int64_t *locked, char *err, size_t errlen)
{
	int64_t t0 = mono_us();
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "begin", err, errlen);
	*locked = mono_us();
	b->st->waited_us += *locked - t0;
	return 0;
}

/* Drops one kind's candidates (temp.kx_rt_<name>, rowids 1..n) slice by
 * slice. marks: folded_id and folded_session_id when they were found. */
static int forget_kind(sqlite3 *db, const struct kind *k, int64_t n, const int64_t marks[2],
		       struct budget *b, char *err, size_t errlen)
{
	char sql[1024];
	int64_t size = SLICE_START;
	for (int64_t lo = 0; lo < n;) {
		int64_t locked;
		if (begin(db, b, &locked, err, errlen) < 0)
			return -1;
		/* The slice's keys, minus those that rows written since the
		 * search show again (they are not gone). */
		snprintf(sql, sizeof(sql),
			 "INSERT INTO temp.kx_rt_slice SELECT %s FROM temp.kx_rt_%s"
			 " WHERE rowid > %" PRId64 " AND rowid <= %" PRId64 " EXCEPT SELECT * FROM (%s)",
			 k->cols, k->name, lo, lo + size, k->since);
		int64_t got = run(db, "DELETE FROM temp.kx_rt_slice", NULL, 0);
		if (got >= 0)
			got = run(db, sql, marks, 2);
		if (got < 0) {
			fail(db, k->name, err, errlen);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		*k->forgotten += (uint64_t)got;
		for (const char *const *d = k->deletes; *d; d++) {
			int64_t c = run(db, *d, NULL, 0);
			if (c < 0) {
				fail(db, k->name, err, errlen);
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
				return -1;
			}
			b->st->rollup_rows_deleted += (uint64_t)c;
		}
		lo += size;
		if (commit(db, b, locked, &size, SLICE_MIN, SLICE_MAX, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Daily rows (schema 15): the days that ended by the cutoff. The day it
 * falls in stays whole: `changes` counts a whole day from the rollups, and
 * that day's raw rows after the cutoff may still be there. Weekly rows
 * (schema 16, all sensors) lose the same days in the same transaction:
 * each stays the sum of its week's daily rows (a week across the cutoff keeps only its
 * later days; one left with no handshake goes). */
static int drop_days(sqlite3 *db, int64_t day_end, struct budget *b, char *err, size_t errlen)
{
	/* Per table: the key, the counts summed, the weekly row's update. */
#define SUMS_EP                                                                         \
	"sum(n) AS n, sum(strong) AS strong, sum(declined) AS declined, sum(draft) AS draft," \
	" sum(tls13) AS tls13, sum(tls12) AS tls12, sum(encrypted) AS encrypted,"         \
	" sum(classical) AS classical"
#define LESS_EP                                                                         \
	"n = w.n - s.n, strong = w.strong - s.strong, declined = w.declined - s.declined," \
	" draft = w.draft - s.draft, tls13 = w.tls13 - s.tls13, tls12 = w.tls12 - s.tls12," \
	" encrypted = w.encrypted - s.encrypted, classical = w.classical - s.classical"
	static const struct {
		const char *daily, *weekly, *key, *sums, *less, *match;
	} tables[] = {
		{ "rollup_daily_endpoints", "rollup_weekly_endpoints", "server_ip, server_port, sni",
		  SUMS_EP, LESS_EP,
		  "w.server_ip = s.server_ip AND w.server_port = s.server_port AND w.sni = s.sni" },
		{ "rollup_daily_clients", "rollup_weekly_clients", "client_ip",
		  "sum(n) AS n, sum(offer) AS offer, sum(nooffer) AS nooffer",
		  "n = w.n - s.n, offer = w.offer - s.offer, nooffer = w.nooffer - s.nooffer",
		  "w.client_ip = s.client_ip" },
	};
	char sql[1024];

	if (one_i64(db, "SELECT count(*) FROM main.sqlite_master WHERE type = 'table'"
			" AND name = 'rollup_daily_clients'", NULL, 0) != 1)
		return 0; /* schema 14, read as it is */
	bool weekly = one_i64(db, "SELECT count(*) FROM main.sqlite_master WHERE type = 'table'"
				  " AND name = 'rollup_weekly_clients'", NULL, 0) == 1;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		snprintf(sql, sizeof(sql), "SELECT coalesce(min(day), 0) FROM main.%s", tables[t].daily);
		int64_t size = 7, first = one_i64(db, sql, NULL, 0);
		for (int64_t d = first; d < day_end;) {
			int64_t locked, to = d + size < day_end ? d + size : day_end, c = 0;
			if (begin(db, b, &locked, err, errlen) < 0)
				return -1;
			if (weekly) {
				snprintf(sql, sizeof(sql),
					 "UPDATE main.%s AS w SET %s FROM (SELECT %s, day / 7 AS week,"
					 " %s FROM main.%s WHERE day >= ?1 AND day < ?2"
					 " GROUP BY %s, week) AS s WHERE %s AND w.week = s.week",
					 tables[t].weekly, tables[t].less, tables[t].key, tables[t].sums,
					 tables[t].daily, tables[t].key, tables[t].match);
				c = run(db, sql, (int64_t[]){ d, to }, 2);
				snprintf(sql, sizeof(sql),
					 "DELETE FROM main.%s WHERE week >= ?1 / 7 AND week <= (?2 - 1) / 7"
					 " AND n = 0", tables[t].weekly);
				int64_t gone = c < 0 ? -1 : run(db, sql, (int64_t[]){ d, to }, 2);
				c = gone < 0 ? -1 : 0;
				b->st->rollup_rows_deleted += gone > 0 ? (uint64_t)gone : 0;
			}
			snprintf(sql, sizeof(sql), "DELETE FROM main.%s WHERE day >= ?1 AND day < ?2",
				 tables[t].daily);
			if (c >= 0)
				c = run(db, sql, (int64_t[]){ d, to }, 2);
			if (c < 0) {
				fail(db, "daily", err, errlen); /* before the rollback resets it */
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
				return -1;
			}
			b->st->rollup_rows_deleted += (uint64_t)c;
			d = to;
			if (commit(db, b, locked, &size, 1, 366, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

/* Hourly rows: rollup_hourly by hour ranges, sessions by id batches (the
 * rows not yet sent to a central store stay, as prune keeps their raw
 * handshakes). hour_end: the first hour that stays. */
static int drop_hours(sqlite3 *db, int64_t hour_end, int64_t session_mark, struct budget *b,
		      char *err, size_t errlen)
{
	int64_t first = one_i64(db, "SELECT coalesce(min(hour), 0) FROM main.rollup_hourly", NULL, 0);
	int64_t size = 24;
	for (int64_t h = first; h < hour_end;) {
		int64_t locked, to = h + size < hour_end ? h + size : hour_end;
		if (begin(db, b, &locked, err, errlen) < 0)
			return -1;
		int64_t c = run(db, "DELETE FROM main.rollup_hourly WHERE hour >= ?1 AND hour < ?2",
				(int64_t[]){ h, to }, 2);
		if (c < 0) {
			fail(db, "hourly", err, errlen); /* before the rollback resets the message */
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		b->st->rollup_rows_deleted += (uint64_t)c;
		h = to;
		if (commit(db, b, locked, &size, 1, 24 * 366, err, errlen) < 0)
			return -1;
	}

	bool notes = one_i64(db, "SELECT count(*) FROM main.sqlite_master WHERE type = 'table'"
				 " AND name = 'central_sessions'", NULL, 0) == 1;
	char pick[512];
	/* Oldest first through sessions_time; a row's hour began before the
	 * cutoff when its first session did less than an hour after it. */
	snprintf(pick, sizeof(pick),
		 "INSERT INTO temp.kx_rt_ids SELECT id FROM main.sessions"
		 " WHERE ts_first_us < ?1 * %" PRId64 " AND hour < ?1 AND id <= ?2%s"
		 " ORDER BY ts_first_us LIMIT ?3",
		 HOUR_US, notes ? " AND id NOT IN (SELECT id FROM main.central_sessions)" : "");
	size = 256;
	for (;;) {
		int64_t locked;
		if (begin(db, b, &locked, err, errlen) < 0)
			return -1;
		int64_t got = run(db, "DELETE FROM temp.kx_rt_ids", NULL, 0) < 0
				      ? -1
				      : run(db, pick, (int64_t[]){ hour_end, session_mark, size }, 3);
		int64_t c = got <= 0 ? got
				     : run(db, "DELETE FROM main.sessions WHERE id IN temp.kx_rt_ids",
					   NULL, 0);
		if (got < 0 || c < 0) {
			fail(db, "sessions", err, errlen);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		b->st->sessions_deleted += (uint64_t)c;
		int64_t want = size;
		if (commit(db, b, locked, &size, 64, 65536, err, errlen) < 0)
			return -1;
		if (got < want)
			break;
	}
	if (notes) {
		int64_t kept = one_i64(db, "SELECT count(*) FROM main.sessions WHERE hour < ?1 AND id IN"
					   " (SELECT id FROM main.central_sessions)",
				       (int64_t[]){ hour_end }, 1);
		b->st->sessions_kept_unsent = kept > 0 ? (uint64_t)kept : 0;
	}
	return 0;
}

int kx_rollup_forget(sqlite3 *db, int64_t cutoff_us, const struct kx_prune_opts *o,
		     struct kx_prune_stats *st, char *err, size_t errlen)
{
	struct kind kinds[] = {
		{ "ep", "server_ip, server_port, sni", ep_candidates, ep_since, ep_deletes,
		  &st->endpoints_forgotten },
		{ "client", "client_ip", client_candidates, client_since, client_deletes,
		  &st->clients_forgotten },
		{ "fp", "fp_id", fp_candidates, fp_since, fp_deletes, &st->fingerprints_forgotten },
	};
	enum { NKINDS = sizeof(kinds) / sizeof(kinds[0]) };
	int64_t found[NKINDS], marks[2];
	char sql[1024];
	struct budget b = { o, st };

	if (sqlite3_exec(db,
			 "CREATE TEMP TABLE IF NOT EXISTS kx_rt_ep (server_ip, server_port, sni);"
			 "CREATE TEMP TABLE IF NOT EXISTS kx_rt_client (client_ip);"
			 "CREATE TEMP TABLE IF NOT EXISTS kx_rt_fp (fp_id);"
			 "CREATE TEMP TABLE IF NOT EXISTS kx_rt_ids (id INTEGER PRIMARY KEY);"
			 "DELETE FROM temp.kx_rt_ep; DELETE FROM temp.kx_rt_client;"
			 "DELETE FROM temp.kx_rt_fp; DELETE FROM temp.kx_rt_ids;"
			 "DROP TABLE IF EXISTS temp.kx_rt_slice",
			 NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "prepare", err, errlen);

	/* Every candidate and the marks from one snapshot, found before
	 * anything goes (a client's last pair may be a forgotten endpoint's). */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "begin", err, errlen);
	marks[0] = one_i64(db, "SELECT folded_id FROM main.rollup_state", NULL, 0);
	marks[1] = one_i64(db, "SELECT folded_session_id FROM main.rollup_state", NULL, 0);
	bool ok = marks[0] >= 0 && marks[1] >= 0;
	for (int i = 0; ok && i < NKINDS; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO temp.kx_rt_%s %s", kinds[i].name,
			 kinds[i].candidates);
		found[i] = run(db, sql, &cutoff_us, 1);
		ok = found[i] >= 0;
	}
	if (!ok) {
		fail(db, "search", err, errlen);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(db, "search", err, errlen);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}

	for (int i = 0; i < NKINDS; i++) {
		snprintf(sql, sizeof(sql), "CREATE TEMP TABLE kx_rt_slice AS SELECT %s FROM temp.kx_rt_%s"
			 " WHERE false", kinds[i].cols, kinds[i].name);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return fail(db, "prepare", err, errlen);
		if (forget_kind(db, &kinds[i], found[i], marks, &b, err, errlen) < 0)
			return -1;
		if (sqlite3_exec(db, "DROP TABLE temp.kx_rt_slice", NULL, NULL, NULL) != SQLITE_OK)
			return fail(db, "prepare", err, errlen);
	}
	/* The first hour that stays: the one the cutoff falls in stays only
	 * when it begins at the cutoff. */
	int64_t hour_end = cutoff_us <= 0 ? cutoff_us / HOUR_US
					  : (cutoff_us + HOUR_US - 1) / HOUR_US;
	/* Days: floor division, as the fold's day (times before 1970 are in
	 * day 0 or below, never counted whole). */
	if (drop_days(db, cutoff_us / KX_ROLLUP_DAY_US - (cutoff_us < 0), &b, err, errlen) < 0)
		return -1;
	return drop_hours(db, hour_end, marks[1], &b, err, errlen);
}
