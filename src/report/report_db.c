/* SPDX-License-Identifier: BSD-2-Clause */
/* report_db.c: the read-only connection, filters, time arguments, the SQL
 * functions the reports add, and the table/JSON/CSV printers. */
#include "report_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kexwatch/central.h"
#include "kexwatch/emit.h"
#include "kexwatch/groups.h"
#include "kexwatch/rollup.h"
#include "kexwatch/ssh.h"
#include "kexwatch/store.h"

void kx_report_filter_init(struct kx_report_filter *f)
{
	f->since_us = INT64_MIN;
	f->until_us = INT64_MAX;
	f->live_from_us = INT64_MIN;
	f->sensor = NULL;
}

/* --- time arguments --- */

int kx_report_parse_duration(const char *s, int64_t *ret_us)
{
	int64_t total = 0;
	const char *p = s;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		int64_t unit;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		unsigned long long n = strtoull(p, &end, 10);
		if (errno || n > 100ull * 365 * 86400)
			return -1;
		switch (*end) {
		case '\0':
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		total += (int64_t)n * unit;
		if (total > 100ll * 365 * 86400)
			return -1;
		p = *end ? end + 1 : end;
	}
	*ret_us = total * 1000000;
	return 0;
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

static int parse_rfc3339(const char *s, int64_t *ret_us)
{
	struct tm tm = { 0 };
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac = 0;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				int64_t scale = 100000;
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
				return -1;
		} else {
			return -1;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	/* timegm normalises 31 February to 3 March: refuse what it moved. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	t -= sign * (oh * 3600 + om * 60);
	*ret_us = (int64_t)t * 1000000 + frac;
	return 0;
}

int kx_report_parse_time(const char *s, int64_t now_us, int64_t *ret_us)
{
	int64_t d;

	if (parse_rfc3339(s, ret_us) == 0)
		return 0;
	if (kx_report_parse_duration(s, &d) == 0) {
		*ret_us = now_us - d;
		return 0;
	}
	return -1;
}

/* --- SQL functions --- */

/* kx_set(x [, max]): the distinct non-NULL values of x, sorted bytewise
 * (as ORDER BY sorts text), comma-joined; with max, the first max of them
 * and " +N" for the rest. NULL when there are none. The values are kept
 * sorted as they come, so memory grows with distinct values, not rows. */
struct strset {
	char **v;
	size_t n, cap;
	long long max;
	bool oom;
};

static void set_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct strset *s = sqlite3_aggregate_context(ctx, sizeof(*s));
	const char *x;
	size_t lo = 0, hi;

	if (!s || s->oom)
		return;
	if (argc > 1)
		s->max = sqlite3_value_int64(argv[1]);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
		return;
	x = (const char *)sqlite3_value_text(argv[0]);
	if (!x)
		return;
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x, s->v[mid]);
		if (c == 0)
			return;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		char **v = sqlite3_realloc64(s->v, cap * sizeof(*v));
		if (!v) {
			s->oom = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	char *copy = sqlite3_mprintf("%s", x);
	if (!copy) {
		s->oom = true;
		return;
	}
	memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof(*s->v));
	s->v[lo] = copy;
	s->n++;
}

static void set_final(sqlite3_context *ctx)
{
	struct strset *s = sqlite3_aggregate_context(ctx, 0);
	sqlite3_str *out;
	size_t shown;

	if (!s)
		return;
	if (s->oom) {
		sqlite3_result_error_nomem(ctx);
		goto out;
	}
	if (!s->n)
		goto out;
	shown = s->max > 0 && (size_t)s->max < s->n ? (size_t)s->max : s->n;
	out = sqlite3_str_new(NULL);
	for (size_t i = 0; i < shown; i++)
		sqlite3_str_appendf(out, "%s%s", i ? "," : "", s->v[i]);
	if (shown < s->n)
		/* SQLite's printf reads %z as a string to free: no size_t. */
		sqlite3_str_appendf(out, " +%llu", (unsigned long long)(s->n - shown));
	if (sqlite3_str_errcode(out) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(out));
		sqlite3_result_error_nomem(ctx);
		goto out;
	}
	sqlite3_result_text(ctx, sqlite3_str_finish(out), -1, sqlite3_free);
out:
	for (size_t i = 0; i < s->n; i++)
		sqlite3_free(s->v[i]);
	sqlite3_free(s->v);
}

static bool code_arg(sqlite3_value *v, uint16_t *ret)
{
	sqlite3_int64 c;

	if (sqlite3_value_numeric_type(v) != SQLITE_INTEGER)
		return false;
	c = sqlite3_value_int64(v);
	if (c < 0 || c > 0xffff)
		return false;
	*ret = (uint16_t)c;
	return true;
}

static void fn_group_name(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char buf[48];
	uint16_t code;

	(void)argc;
	if (!code_arg(argv[0], &code))
		return;
	kx_group_label(code, buf, sizeof(buf));
	sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static void fn_group_family(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	uint16_t code;

	(void)argc;
	if (!code_arg(argv[0], &code))
		return;
	sqlite3_result_text(ctx, kx_family_name(kx_group_family(code)), -1, SQLITE_STATIC);
}

static void fn_group_rename(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *name = (const char *)sqlite3_value_text(argv[0]);
	const char *o = kx_group_override_name(name);

	(void)argc;
	if (o)
		sqlite3_result_text(ctx, o, -1, SQLITE_TRANSIENT);
	else
		sqlite3_result_value(ctx, argv[0]);
}

static void fn_ssh_kex_class(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *name = (const char *)sqlite3_value_text(argv[0]);

	(void)argc;
	if (name)
		sqlite3_result_text(ctx, kx_ssh_class_name(kx_ssh_kex_class(name)), -1,
				    SQLITE_STATIC);
}

/* kx_ts_text(us): KX_SQL_TS_TEXT's text for an integer (2026-01-02T03:04:05.123456Z,
 * 'invalid' outside years 1970 to 9999), NULL for any other value, which
 * the caller gives to KX_SQL_TS_TEXT itself. datetime(), replace() and
 * substr() per value were a tenth of the clients query over a window. */
static void fn_ts_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER)
		return; /* NULL */
	sqlite3_int64 us = sqlite3_value_int64(argv[0]);
	if (us < 0 || us > 253402300799999999LL) {
		sqlite3_result_text(ctx, "invalid", -1, SQLITE_STATIC);
		return;
	}
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return;
	char b[32];
	unsigned v[] = { (unsigned)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday,
			 (unsigned)tm.tm_hour, (unsigned)tm.tm_min, (unsigned)tm.tm_sec,
			 (unsigned)(us % 1000000) };
	static const unsigned digits[] = { 4, 2, 2, 2, 2, 2, 6 };
	static const char after[] = "--T::.Z";
	size_t k = 0;
	for (size_t i = 0; i < 7; i++) {
		for (unsigned d = digits[i], x = v[i]; d > 0; d--, x /= 10)
			b[k + d - 1] = (char)('0' + x % 10);
		k += digits[i];
		b[k++] = after[i];
	}
	sqlite3_result_text(ctx, b, (int)k, SQLITE_TRANSIENT);
}

static int register_functions(sqlite3 *db)
{
	const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
	int rc = sqlite3_create_function(db, "kx_set", 1, flags, NULL, NULL, set_step, set_final);

	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_set", 2, flags, NULL, NULL, set_step, set_final);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_group_name", 1, flags, NULL, fn_group_name,
					     NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_group_family", 1, flags, NULL,
					     fn_group_family, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_group_rename", 1, flags, NULL,
					     fn_group_rename, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_ssh_kex_class", 1, flags, NULL,
					     fn_ssh_kex_class, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "kx_ts_text", 1, flags, NULL, fn_ts_text, NULL,
					     NULL);
	return rc;
}

/* --- the connection --- */

/* The temp view kx_legs: what every report counts. A leg is one handshake
 * (weight n = 1) or, from schema 6, one hourly row of the sessions table
 * (n = its sessions: plaintext legs and encrypted sessions whose handshake
 * was not captured), mapped onto the handshake columns the reports read.
 * A union is computed column by column (SQLite 3.40 keeps unused ones), so
 * it has only the columns some report reads, all of them columns of
 * handshake_rows: read directly (schema 5 on), not through the handshakes
 * view, no row costs a join. The ClientHello lists and SSH columns are read
 * from the handshakes view (KX_SQL_FILTERED_HS) by the reports that need
 * them. */
#define LEGS_HS                                                                        \
	"SELECT id, run_id, sensor, ts_first_us, ts_last_us, protocol, client_ip,"      \
	" client_port, server_ip, server_port, sni, offers_pq, hrr, hrr_group, group_name," \
	" group_family, verdict, reason, ch_bytes, ch2_bytes, ch_segments, ch_to_sh_us,"  \
	" pkt_first_ch, pkt_sh, 1 AS n, 0 AS is_session, NULL AS app, NULL AS bytes,"   \
	" NULL AS source_id, version_code FROM main.%s"
#define LEGS_SESSIONS_OF(VERDICT)                                                      \
	" UNION ALL SELECT NULL, run_id, sensor, ts_first_us, ts_last_us, app, client_ip," \
	" client_port, server_ip, server_port, NULL, 0, 0, NULL, NULL, NULL, " VERDICT ","  \
	" nullif(reason, ''), 0, NULL, 0, NULL, pkt_first, NULL, sessions, 1, app, bytes,"  \
	" source_id, NULL FROM main.sessions"
#define LEGS_SESSIONS LEGS_SESSIONS_OF("verdict")
/* A file of schema 10 or earlier, read as it is: its sessions in the words
 * of schema 11 ('no-verdict' for a handshake not seen). */
#define LEGS_SESSIONS_V10 LEGS_SESSIONS_OF(KX_SQL_SESSION_VERDICT("verdict", "reason"))

/* The legs as hops and health read them over the full range, from schema
 * 12: the rolled-up legs (rollup.h) with weight n, the handshake rows not
 * folded yet (above folded_id, read in this same read transaction), and
 * the sessions. The columns are kx_legs' own; a rolled-up leg has no
 * client, run or packet numbers, a ClientHello size that stands for its
 * band (0, 1 or 1500 bytes), a first-segment count of 0 or 1, and the
 * slowest ServerHello of its group (which is 1 s or more exactly when the
 * group is "slow"). kx_pairs_rolled: every (sensor, endpoint, client)
 * with handshakes or sessions, for counting distinct clients. */
#define ROLLED_LEGS ROLLED_LEGS_OF("sensor", "rollup_legs")
/* The same from another table of legs (rollup_legs_all, SENSOR "NULL"). */
#define ROLLED_LEGS_OF(SENSOR, TABLE)                                                  \
	"SELECT NULL AS id, NULL AS run_id, " SENSOR " AS sensor, first_us AS ts_first_us," \
	" last_us AS ts_last_us, protocol, NULL AS client_ip, NULL AS client_port,"      \
	" server_ip, server_port, nullif(sni, '') AS sni, offers_pq, hrr,"              \
	" nullif(hrr_group, -1) AS hrr_group, nullif(group_name, '') AS group_name,"     \
	" nullif(group_family, '') AS group_family, verdict, nullif(reason, '') AS reason," \
	" CASE band WHEN 0 THEN 0 WHEN 1 THEN 1 ELSE 1500 END AS ch_bytes,"             \
	" NULL AS ch2_bytes, CASE WHEN ch_seg0 THEN 0 ELSE 1 END AS ch_segments,"        \
	" max_ch_to_sh_us AS ch_to_sh_us, NULL AS pkt_first_ch, NULL AS pkt_sh, n,"      \
	" 0 AS is_session, NULL AS app, NULL AS bytes, NULL AS source_id,"               \
	" NULL AS version_code FROM main." TABLE " UNION ALL "

/* A rolled-up client leg as a leg (kx_legs' columns): its ClientHello
 * size says only whether one was parsed (1) or not (0). */
#define CLIENT_LEGS(SENSOR)                                                            \
	"SELECT NULL AS id, NULL AS run_id, " SENSOR " AS sensor, first_us AS ts_first_us," \
	" last_us AS ts_last_us, protocol, client_ip,"                                  \
	" NULL AS client_port, NULL AS server_ip, NULL AS server_port, NULL AS sni,"     \
	" offers_pq, NULL AS hrr, NULL AS hrr_group, NULL AS group_name,"               \
	" NULL AS group_family, verdict, nullif(reason, '') AS reason, hello AS ch_bytes," \
	" NULL AS ch2_bytes, NULL AS ch_segments, NULL AS ch_to_sh_us, NULL AS pkt_first_ch," \
	" NULL AS pkt_sh, n, 0 AS is_session, NULL AS app, NULL AS bytes, NULL AS source_id," \
	" NULL AS version_code"

bool kx_pg_rollups_off(void)
{
	const char *env = getenv("KEXWATCH_ROLLUPS");
	return env && strcmp(env, "0") == 0;
}

static int create_rolled(struct kx_rdb *r, bool sessions)
{
	sqlite3_stmt *s;
	long long folded = -1;
	const char *env = getenv("KEXWATCH_ROLLUPS");

	if (env && strcmp(env, "0") == 0) /* raw rows only, to check the rollups */
		return 0;
	long long folded_s = -1;
	if (sqlite3_prepare_v2(r->db, "SELECT folded_id, folded_session_id FROM main.rollup_state",
			       -1, &s, NULL) != SQLITE_OK)
		return 0; /* a snapshot of a central store: no rollups */
	if (sqlite3_step(s) == SQLITE_ROW) {
		folded = sqlite3_column_int64(s, 0);
		folded_s = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (folded < 0 || folded_s < 0)
		return 0;
	char *sql = sqlite3_mprintf(
		"CREATE TEMP VIEW kx_legs_rolled AS " ROLLED_LEGS LEGS_HS " WHERE id > %lld%s;"
		"CREATE TEMP VIEW kx_tail_pairs AS SELECT sensor, server_ip, server_port, sni,"
		" client_ip FROM main.handshake_rows WHERE id > %lld"
		" UNION ALL SELECT sensor, server_ip, server_port, NULL, client_ip FROM main.sessions"
		" WHERE id > %lld;"
		"CREATE TEMP VIEW kx_pairs_rolled AS SELECT sensor, server_ip, server_port,"
		" nullif(sni, '') AS sni, client_ip FROM main.rollup_pairs"
		" UNION ALL SELECT * FROM kx_tail_pairs;"
		/* Per client: a rolled-up leg's ClientHello size says only
		 * whether one was parsed (1) or not (0). */
		"CREATE TEMP VIEW kx_client_legs_rolled AS " CLIENT_LEGS("sensor")
		" FROM main.rollup_client_legs UNION ALL " LEGS_HS " WHERE id > %lld%s;"
		/* The client legs not in the rollups: the tail and the sessions. */
		"CREATE TEMP VIEW kx_client_legs_tail AS " LEGS_HS " WHERE id > %lld%s;"
		"CREATE TEMP VIEW kx_client_hellos_tail AS SELECT r.client_ip, r.sensor,"
		" r.hello_id, coalesce(r.fp_id, -1) AS fp_id, coalesce(x.kex_offered, '')"
		" AS kex_offered FROM main.handshake_rows AS r"
		" LEFT JOIN main.handshake_extras AS x ON x.id = r.id WHERE r.id > %lld;"
		"CREATE TEMP VIEW kx_client_hellos_rolled AS SELECT client_ip, sensor, hello_id,"
		" fp_id, kex_offered FROM main.rollup_client_hellos"
		" UNION ALL SELECT * FROM kx_client_hellos_tail;",
		"handshake_rows", folded, sessions ? LEGS_SESSIONS : "", folded, folded_s,
		"handshake_rows",
		folded, sessions ? LEGS_SESSIONS : "", "handshake_rows", folded,
		sessions ? LEGS_SESSIONS : "", folded);
	int rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc == SQLITE_OK && r->version >= 13) {
		/* The fingerprint and cbom rollups (schema 13) and the rows above
		 * folded_id that have a fingerprint set; reason and SNI '' for
		 * none, as in the rollups. */
		sql = sqlite3_mprintf(
			"CREATE TEMP VIEW kx_fp_legs_rolled AS SELECT fp_id, sensor, protocol,"
			" verdict, reason, offers_pq, n, first_us, last_us FROM main.rollup_fp_legs"
			" UNION ALL SELECT fp_id, sensor, protocol, verdict, coalesce(reason, ''),"
			" offers_pq <> 0, 1, ts_first_us, ts_last_us FROM main.handshake_rows"
			" WHERE id > %lld AND fp_id IS NOT NULL;"
			"CREATE TEMP VIEW kx_fp_clients_rolled AS SELECT fp_id, sensor, protocol,"
			" client_ip FROM main.rollup_fp_clients UNION ALL SELECT fp_id, sensor,"
			" protocol, client_ip FROM main.handshake_rows"
			" WHERE id > %lld AND fp_id IS NOT NULL;"
			"CREATE TEMP VIEW kx_fp_endpoints_rolled AS SELECT fp_id, sensor, protocol,"
			" server_ip, server_port, sni FROM main.rollup_fp_endpoints UNION ALL"
			" SELECT fp_id, sensor, protocol, server_ip, server_port, coalesce(sni, '')"
			" FROM main.handshake_rows WHERE id > %lld AND fp_id IS NOT NULL;"
			/* cbom's columns, NULL for none as in the handshakes view */
			"CREATE TEMP VIEW kx_cbom_rolled AS SELECT sensor, protocol, server_ip,"
			" server_port, nullif(sni, '') AS sni, nullif(version, '') AS version,"
			" nullif(cipher_suite, -1) AS cipher_suite, nullif(group_code, -1) AS group_code,"
			" nullif(group_name, '') AS group_name, nullif(group_family, '') AS group_family,"
			" nullif(tls12_kx, '') AS tls12_kx, nullif(ssh_hostkey, '') AS ssh_hostkey,"
			" verdict, n, first_us AS ts_first_us, last_us AS ts_last_us FROM main.rollup_cbom"
			" UNION ALL SELECT sensor, protocol, server_ip, server_port, sni, version,"
			" cipher_suite, group_code, group_name, group_family, tls12_kx, ssh_hostkey,"
			" verdict, 1, ts_first_us, ts_last_us FROM main.handshakes WHERE id > %lld;",
			folded, folded, folded, folded);
		rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
		r->rolled_fp = rc == SQLITE_OK;
	}
	if (rc == SQLITE_OK && r->version >= 14)
		/* Schema 14: a client's legs over all sensors (no sensor), and
		 * per sensor, each without the tail. */
		rc = sqlite3_exec(r->db,
				  "CREATE TEMP VIEW kx_client_legs_all AS " CLIENT_LEGS("NULL")
				  " FROM main.rollup_client_legs_all;"
				  "CREATE TEMP VIEW kx_client_legs_sensor AS " CLIENT_LEGS("sensor")
				  " FROM main.rollup_client_legs;",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		/* Over all sensors (KX_SQL_FILTERED_ROLLED without --sensor):
		 * schema 16's rollup_legs_all, a third of rollup_legs' rows; an
		 * older file's rollup_legs. */
		sql = r->version >= 16
			      ? sqlite3_mprintf("CREATE TEMP VIEW kx_legs_rolled_all AS "
						ROLLED_LEGS_OF("NULL", "rollup_legs_all") LEGS_HS
						" WHERE id > %lld%s;",
						"handshake_rows", folded, sessions ? LEGS_SESSIONS : "")
			      : sqlite3_mprintf("CREATE TEMP VIEW kx_legs_rolled_all AS"
						" SELECT * FROM kx_legs_rolled");
		rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
	}
	if (rc == SQLITE_OK && r->rolled_fp) {
		/* The same for the fingerprint sets' clients and endpoints. */
		sql = r->version >= 16
			      ? sqlite3_mprintf(
					"CREATE TEMP VIEW kx_fp_clients_rolled_all AS SELECT fp_id,"
					" NULL AS sensor, protocol, client_ip FROM main.rollup_fp_clients_all"
					" UNION ALL SELECT fp_id, sensor, protocol, client_ip"
					" FROM main.handshake_rows WHERE id > %lld AND fp_id IS NOT NULL;"
					"CREATE TEMP VIEW kx_fp_endpoints_rolled_all AS SELECT fp_id,"
					" NULL AS sensor, protocol, server_ip, server_port, sni"
					" FROM main.rollup_fp_endpoints_all UNION ALL SELECT fp_id, sensor,"
					" protocol, server_ip, server_port, coalesce(sni, '')"
					" FROM main.handshake_rows WHERE id > %lld AND fp_id IS NOT NULL;",
					folded, folded)
			      : sqlite3_mprintf("CREATE TEMP VIEW kx_fp_clients_rolled_all AS"
						" SELECT * FROM kx_fp_clients_rolled;"
						"CREATE TEMP VIEW kx_fp_endpoints_rolled_all AS"
						" SELECT * FROM kx_fp_endpoints_rolled;");
		rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
		sqlite3_free(sql);
	}
	r->rolled = rc == SQLITE_OK;
	r->folded_id = folded;
	return rc == SQLITE_OK ? 0 : -1;
}

static int create_legs(struct kx_rdb *r)
{
	/* A file without sessions reads its handshakes straight (a union costs
	 * a third more per row even when one side is empty). */
	bool sessions = false;
	sqlite3_stmt *s;
	if (r->version >= 6) {
		if (sqlite3_prepare_v2(r->db, "SELECT EXISTS (SELECT 1 FROM main.sessions)", -1, &s,
				       NULL) != SQLITE_OK)
			return -1;
		sessions = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	char *sql = sqlite3_mprintf(!sessions ? "CREATE TEMP VIEW kx_legs AS " LEGS_HS
				    : r->version >= 11 ? "CREATE TEMP VIEW kx_legs AS " LEGS_HS LEGS_SESSIONS
				    : "CREATE TEMP VIEW kx_legs AS " LEGS_HS LEGS_SESSIONS_V10,
				    r->version >= 5 ? "handshake_rows" : "handshakes");
	int rc = sql ? sqlite3_exec(r->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return -1;
	return r->version >= 12 ? create_rolled(r, sessions) : 0;
}

bool kx_rdb_full_range(const struct kx_rdb *r, const struct kx_report_filter *f)
{
	return r->rolled && f->since_us == INT64_MIN && f->until_us == INT64_MAX &&
	       f->live_from_us == INT64_MIN;
}

int kx_rdb_fail(struct kx_rdb *r)
{
	if (kx_table_error()) {
		snprintf(r->err, r->errlen, "%s", kx_table_error());
		return -1;
	}
	snprintf(r->err, r->errlen, "%s: %s", r->path, r->db ? sqlite3_errmsg(r->db) : "no database");
	return -1;
}

static void remove_snapshot(struct kx_rdb *r)
{
	static const char *const files[] = { "/snap.db", "/snap.db-wal", "/snap.db-shm" };
	char p[96];
	if (!r->snap_dir[0])
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", r->snap_dir, files[i]);
		unlink(p);
	}
	rmdir(r->snap_dir);
	r->snap_dir[0] = '\0';
}

static int open_file(struct kx_rdb *r, const char *path, bool fold_lag, char *err, size_t errlen);

/* A central store: snapshot it into a private temporary folder, then read
 * the copy like any inventory. */
static int open_central(struct kx_rdb *r, const char *url, const struct kx_report_filter *scope)
{
	char snap[96], err[512];
	const char *tmp = getenv("TMPDIR");
	kx_pg_redact(url, r->target, sizeof(r->target));
	r->path = r->target;
	if (!tmp || !tmp[0] || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(r->snap_dir, sizeof(r->snap_dir), "%s/kexwatch-snap.XXXXXX", tmp);
	if (!mkdtemp(r->snap_dir)) {
		snprintf(r->err, r->errlen, "cannot create a temporary folder in %s: %s", tmp,
			 strerror(errno));
		r->snap_dir[0] = '\0';
		return -1;
	}
	snprintf(snap, sizeof(snap), "%s/snap.db", r->snap_dir);
	struct kx_pg_scope sc;
	if (scope)
		sc = (struct kx_pg_scope){ scope->since_us, scope->until_us, scope->live_from_us,
					   scope->sensor };
	if (kx_pg_snapshot(url, snap, scope ? &sc : NULL, err, sizeof(err)) < 0) {
		snprintf(r->err, r->errlen, "%s: %s", r->target, err);
		remove_snapshot(r);
		return -1;
	}
	char dir[64];
	snprintf(dir, sizeof(dir), "%s", r->snap_dir);
	int rc = open_file(r, snap, false, r->err, r->errlen);
	/* kx_rdb_open reset r: the folder and the name for messages again. */
	snprintf(r->snap_dir, sizeof(r->snap_dir), "%s", dir);
	kx_pg_redact(url, r->target, sizeof(r->target));
	r->path = r->target;
	if (rc < 0)
		remove_snapshot(r);
	return rc;
}

int kx_rdb_open(struct kx_rdb *r, const char *path, char *err, size_t errlen)
{
	return kx_rdb_open_scoped(r, path, NULL, err, errlen);
}

int kx_rdb_open_answer(struct kx_rdb *r, const char *url, int min_version,
		       struct kx_pg_read **pg, char *err, size_t errlen)
{
	char e[512];
	int rc;

	*pg = NULL;
	if (kx_groups_overridden())
		return 1;
	memset(r, 0, sizeof(*r));
	r->err = err;
	r->errlen = errlen;
	kx_pg_redact(url, r->target, sizeof(r->target));
	r->path = r->target;
	rc = kx_pg_read_open(url, min_version, pg, e, sizeof(e));
	if (rc != 0) {
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", r->target, e);
		return rc;
	}
	if (sqlite3_open_v2(":memory:", &r->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    register_functions(r->db) != SQLITE_OK) {
		snprintf(err, errlen, "%s: in-memory answer table: %s", r->target,
			 r->db ? sqlite3_errmsg(r->db) : "out of memory");
		kx_pg_read_close(*pg);
		*pg = NULL;
		kx_rdb_close(r);
		return -1;
	}
	return 0;
}

void kx_pg_window_params(struct kx_pg_window *w, const struct kx_report_filter *f)
{
	struct kx_report_filter all;

	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	snprintf(w->since, sizeof(w->since), "%" PRId64, f->since_us);
	snprintf(w->until, sizeof(w->until), "%" PRId64, f->until_us);
	snprintf(w->live, sizeof(w->live), "%" PRId64, f->live_from_us);
	w->v[0] = w->since;
	w->v[1] = w->until;
	w->v[2] = f->sensor;
	w->v[3] = w->live;
}

int kx_rdb_pg_answer(struct kx_rdb *r, const char *url, int min_version,
		     const struct kx_report_filter *f, const char *sql, char *err, size_t errlen)
{
	struct kx_pg_read *pg = NULL;
	struct kx_pg_window w;
	char e[512];
	int rc = kx_rdb_open_answer(r, url, min_version, &pg, err, errlen);

	if (rc != 0)
		return rc;
	kx_pg_window_params(&w, f);
	if (kx_pg_read_table(pg, sql, 4, w.v, r->db, "kx_answer", e, sizeof(e)) < 0) {
		snprintf(err, errlen, "%s: %s", r->target, e);
		rc = -1;
	}
	kx_pg_read_close(pg);
	if (rc < 0)
		kx_rdb_close(r);
	return rc;
}

/* A report on an inventory whose rollups lag far behind (upgraded from
 * before schema 12, filled by merge, written with a large --rollup-every)
 * would read the lag row by row every time: fold it once, with progress
 * lines, when the file may be written; otherwise say what to run. */
#define CATCH_UP_ROWS 100000

static void catch_up(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long version = -1, lag = -1;
	const char *env = getenv("KEXWATCH_ROLLUPS");
	char e[256];

	if (env && strcmp(env, "0") == 0) /* raw rows only: the rollups stay as they are */
		return;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	/* The lag from the ids alone: no row is read. */
	const char *q = version >= 12 ? "SELECT coalesce(max(id), 0) - (SELECT folded_id FROM"
					" rollup_state) FROM handshake_rows"
		      : version >= 5 ? "SELECT coalesce(max(id), 0) FROM handshake_rows"
				     : NULL;
	if (!q || sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto out;
	lag = sqlite3_column_int64(s, 0);
	if (lag < CATCH_UP_ROWS)
		goto out;
	if (version < 12) {
		fprintf(stderr, "kexwatch: note: %s predates rollups (schema %lld); `kexwatch rollup"
				" --db %s` upgrades it and makes full-range reports fast\n",
			path, version, path);
		goto out;
	}
	if (access(path, W_OK) != 0) {
		fprintf(stderr, "kexwatch: note: %lld handshake rows of %s are not in the rollups;"
				" `kexwatch rollup --db %s` folds them (read one by one meanwhile)\n",
			lag, path, path);
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	sqlite3_close(db);
	db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	fprintf(stderr, "kexwatch: folding %lld handshake rows into the rollups (once)\n", lag);
	if (kx_rollup_fold(db, 0, 0, stderr, e, sizeof(e)) < 0)
		fprintf(stderr, "kexwatch: %s: %s; the report reads the rows one by one\n", path, e);
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* A local file (or a central store's snapshot, whose rollups are empty
 * and which is read once: no catching up). */
/* KEXWATCH_SQL_PROFILE=1: each statement's time and its first and last
 * words on stderr, to find which part of a report costs (tests/bench/);
 * =full: the whole text. */
static bool profile_full;

static int profile_cb(unsigned type, void *ctx, void *stmt, void *ns)
{
	(void)ctx;
	if (type == SQLITE_TRACE_PROFILE) {
		const char *sql = sqlite3_sql((sqlite3_stmt *)stmt);
		size_t n = sql ? strlen(sql) : 0;
		if (profile_full) {
			fprintf(stderr, "sql-profile: %9.3f ms  %s\n",
				(double)*(const sqlite3_int64 *)ns / 1e6, sql ? sql : "?");
			return 0;
		}
		/* The head and the tail: reports share their first lines. */
		fprintf(stderr, "sql-profile: %9.3f ms  %.100s ... %s\n",
			(double)*(const sqlite3_int64 *)ns / 1e6, sql ? sql : "?",
			n > 200 ? sql + n - 100 : "");
	}
	return 0;
}

static void profile(sqlite3 *db)
{
	const char *env = getenv("KEXWATCH_SQL_PROFILE");
	if (env && *env && strcmp(env, "0") != 0) {
		profile_full = strcmp(env, "full") == 0;
		sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, profile_cb, NULL);
	}
}

static int open_file(struct kx_rdb *r, const char *path, bool fold_lag, char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->err = err;
	r->errlen = errlen;
	/* SQLite would report a missing file as "unable to open database file";
	 * say which file and why. */
	if (stat(path, &sb) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fold_lag && S_ISREG(sb.st_mode))
		catch_up(path);
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
			 r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(r->db, 5000);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	profile(r->db);
	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		kx_rdb_fail(r);
		goto fail;
	}
	r->version = kx_store_schema_version(r->db, path, err, errlen);
	if (r->version < 0)
		goto fail;
	if (r->version == 0) {
		snprintf(err, errlen, "%s: empty file, not a kexwatch database", path);
		goto fail;
	}
	/* The temp view is written to the connection's own temp schema, before
	 * query_only forbids any write; the file is read-only throughout. */
	if (create_legs(r) < 0 ||
	    sqlite3_exec(r->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK) {
		kx_rdb_fail(r);
		goto fail;
	}
	if (register_functions(r->db) != SQLITE_OK) {
		kx_rdb_fail(r);
		goto fail;
	}
	return 0;
fail:
	kx_rdb_close(r);
	return -1;
}

int kx_rdb_open_scoped(struct kx_rdb *r, const char *path, const struct kx_report_filter *scope,
		       char *err, size_t errlen)
{
	if (kx_pg_is_url(path)) {
		memset(r, 0, sizeof(*r));
		r->path = path;
		r->err = err;
		r->errlen = errlen;
		return open_central(r, path, scope);
	}
	return open_file(r, path, true, err, errlen);
}

void kx_rdb_close(struct kx_rdb *r)
{
	if (r->db) {
		if (!sqlite3_get_autocommit(r->db))
			sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(r->db);
		r->db = NULL;
	}
	remove_snapshot(r);
}

static void bind_named(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);
	if (i)
		sqlite3_bind_int64(s, i, v);
}

sqlite3_stmt *kx_rdb_prepare(struct kx_rdb *r, const char *sql, const struct kx_report_filter *f)
{
	struct kx_report_filter all;
	sqlite3_stmt *s;
	int i;

	if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK) {
		kx_rdb_fail(r);
		return NULL;
	}
	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	bind_named(s, ":since", f->since_us);
	bind_named(s, ":until", f->until_us);
	bind_named(s, ":live", f->live_from_us);
	if ((i = sqlite3_bind_parameter_index(s, ":sensor")))
		sqlite3_bind_text(s, i, f->sensor, -1, SQLITE_STATIC);
	return s;
}

int kx_rdb_int64(struct kx_rdb *r, const char *sql, const struct kx_report_filter *f,
		 long long *ret)
{
	sqlite3_stmt *s = kx_rdb_prepare(r, sql, f);
	int rc;

	*ret = 0;
	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		kx_rdb_fail(r);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int kx_rdb_keep_window(struct kx_rdb *r, const struct kx_report_filter *scope)
{
	long long legs = 0, sessions = 0;
	char sql[256];

	const char *env = getenv("KEXWATCH_WINDOW_COPY");

	if (!scope || r->version < 5 ||
	    (scope->since_us == INT64_MIN && scope->until_us == INT64_MAX) ||
	    (env && strcmp(env, "0") == 0)) /* each pass reads the file, to check */
		return 0;
	/* Counted from the time indexes alone, and no further than the cap. */
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM (SELECT 1 FROM main.%s WHERE ts_first_us >= :since"
		 " AND ts_first_us < :until LIMIT %d)",
		 "handshake_rows", KX_RDB_WINDOW_MAX + 1);
	if (kx_rdb_int64(r, sql, scope, &legs) < 0)
		return -1;
	if (r->version >= 6) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM (SELECT 1 FROM main.%s WHERE ts_first_us >= :since"
			 " AND ts_first_us < :until LIMIT %d)",
			 "sessions", KX_RDB_WINDOW_MAX + 1);
		if (kx_rdb_int64(r, sql, scope, &sessions) < 0)
			return -1;
	}
	if (legs + sessions > KX_RDB_WINDOW_MAX)
		return 0;
	if (kx_rdb_materialize(r, "kx_legs_window",
			       "SELECT * FROM temp.kx_legs WHERE ts_first_us >= :since"
			       " AND ts_first_us < :until AND (:sensor IS NULL OR sensor = :sensor)",
			       scope) < 0)
		return -1;
	/* The evidence lookups (changes) find a leg by its exact time. */
	if (sqlite3_exec(r->db,
			 "PRAGMA query_only = 0;"
			 " CREATE INDEX temp.kx_legs_window_ts ON kx_legs_window (ts_first_us);"
			 " DROP VIEW temp.kx_legs;"
			 " CREATE TEMP VIEW kx_legs AS SELECT * FROM temp.kx_legs_window;"
			 " PRAGMA query_only = 1",
			 NULL, NULL, NULL) != SQLITE_OK)
		return kx_rdb_fail(r);
	return 0;
}

int kx_rdb_materialize(struct kx_rdb *r, const char *table, const char *sql,
		       const struct kx_report_filter *f)
{
	return kx_rdb_materialize_with(r, table, sql, f, NULL, NULL, 0);
}

int kx_rdb_materialize_with(struct kx_rdb *r, const char *table, const char *sql,
			    const struct kx_report_filter *f, const char *const *names,
			    const int64_t *values, int n)
{
	/* CREATE TABLE ... AS inserts in the query's order: rowid keeps it. */
	char *q = sqlite3_mprintf("CREATE TEMP TABLE %w AS %s", table, sql);
	sqlite3_stmt *s;
	long long query_only = 0;
	int rc;

	if (!q) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	/* query_only covers the temp schema too; the file is opened read-only
	 * whatever this says. Set back as it was (an answer database of a
	 * central store has it off: its tables are written). */
	if (kx_rdb_int64(r, "PRAGMA query_only", NULL, &query_only) < 0) {
		sqlite3_free(q);
		return -1;
	}
	if (sqlite3_exec(r->db, "PRAGMA query_only = 0", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_free(q);
		return kx_rdb_fail(r);
	}
	s = kx_rdb_prepare(r, q, f);
	sqlite3_free(q);
	for (int i = 0; s && i < n; i++)
		bind_named(s, names[i], values[i]);
	rc = s ? sqlite3_step(s) : SQLITE_ERROR;
	if (s && rc != SQLITE_DONE)
		kx_rdb_fail(r);
	sqlite3_finalize(s);
	if (query_only &&
	    sqlite3_exec(r->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK)
		return kx_rdb_fail(r);
	return rc == SQLITE_DONE ? 0 : -1;
}

int kx_rdb_finish_output(struct kx_rdb *r, FILE *out)
{
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(r->err, r->errlen, "writing the report: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kx_rdb_output(struct kx_rdb *r, sqlite3_stmt *s, enum kx_out_format fmt,
		  const struct kx_col *cols, size_t n_cols, const char *const *drop, FILE *out)
{
	if (kx_table_print(s, fmt, cols, n_cols, drop, out) != SQLITE_DONE)
		return kx_rdb_fail(r);
	return kx_rdb_finish_output(r, out);
}

/* --- printers --- */

size_t kx_cell_width(const char *s)
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

/* Wire text never passes control bytes to the terminal. */
void kx_cell_print(FILE *out, const char *s)
{
	/* The bytes between control bytes in one write each, not a putc per
	 * byte: a 20 000-line table prints millions. */
	const unsigned char *p = (const unsigned char *)s, *run = p;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fwrite(run, 1, (size_t)(p - run), out);
			fprintf(out, "\\x%02x", *p);
			run = p + 1;
		}
	}
	fwrite(run, 1, (size_t)(p - run), out);
}

void kx_cell_pad(FILE *out, size_t n)
{
	static const char blanks[65] = "                                                                ";

	while (n) {
		size_t k = n < 64 ? n : 64;
		fwrite(blanks, 1, k, out);
		n -= k;
	}
}

size_t kx_i64_text(long long v, char *buf, size_t len)
{
	/* By hand: snprintf's format parsing costs more than the digits. */
	char b[24];
	size_t i = sizeof(b);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		b[--i] = '-';
	if (len == 0)
		return sizeof(b) - i;
	size_t n = sizeof(b) - i < len ? sizeof(b) - i : len - 1;
	memcpy(buf, b + i, n);
	buf[n] = '\0';
	return n;
}

void kx_csv_field(FILE *out, const char *v)
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

void kx_html_puts(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			/* Control bytes would be invalid in HTML text. */
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				fprintf(out, "\\x%02x", (unsigned char)*s);
			else
				putc(*s, out);
		}
	}
}

static void hex_blob(FILE *out, const unsigned char *b, int n)
{
	for (int i = 0; i < n; i++)
		fprintf(out, "%02x", b[i]);
}

void kx_json_column(sqlite3_stmt *s, int col, FILE *out)
{
	switch (sqlite3_column_type(s, col)) {
	case SQLITE_NULL:
		fputs("null", out);
		break;
	case SQLITE_INTEGER: {
		char num[24];
		fwrite(num, 1, kx_i64_text((long long)sqlite3_column_int64(s, col), num, sizeof(num)),
		       out);
		break;
	}
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(s, col);
		/* JSON has no NaN or infinity. */
		if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
			fputs("null", out);
		else
			fprintf(out, "%.17g", d);
		break;
	}
	case SQLITE_BLOB:
		putc('"', out);
		hex_blob(out, sqlite3_column_blob(s, col), sqlite3_column_bytes(s, col));
		putc('"', out);
		break;
	default:
		kx_json_fputs(out, (const char *)sqlite3_column_text(s, col),
			      (size_t)sqlite3_column_bytes(s, col));
		break;
	}
}
