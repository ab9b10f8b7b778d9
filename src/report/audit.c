/* SPDX-License-Identifier: BSD-2-Clause */
/* audit.c: judges the inventory against a policy file.
 *
 * Policy file: one rule per line, '#' starts a comment, blank lines are
 * ignored:
 *
 *	ACTION  SERVER  PORT  SNI
 *	required 10.20.0.0/16 443 *.corp.example
 *	warn     *            *   *
 *
 * ACTION is `required` or `warn`. SERVER is `*`, an IPv4 or IPv6 address, or
 * a CIDR block (host bits are ignored). PORT is `*`, a port or a range
 * `LOW-HIGH`. SNI is `*` (any, including none), `-` (handshakes without
 * SNI), or an fnmatch(3) glob compared case-insensitively (`*` also
 * matches dots).
 *
 * A handshake is judged by the first rule it matches, so exceptions go
 * before broad rules. Only deciding handshakes (hybrid, pq, hybrid-draft,
 * classical, unknown) judge a rule; resumed and incomplete ones are counted
 * and otherwise ignored. Sessions without a handshake are judged too, by
 * their weight (the sessions of an hourly row) and without SNI: plaintext
 * ones decide, as the worst leg there is; those whose handshake was not
 * seen are counted like incomplete handshakes. Per rule: PASS when every
 * deciding leg was hybrid or pq; FAIL for a required rule with a classical
 * handshake or a plaintext session; WARN for a warn rule with any other
 * deciding leg, or a required rule with hybrid-draft/unknown ones; NO
 * TRAFFIC when no deciding leg matched. NO TRAFFIC passes (a capture window
 * need not see every server) unless strict, where it fails a required rule.
 * The evidence is the newest plaintext session, else the newest classical
 * handshake, else the newest other non-PQ leg: the last in the order
 * (ts_first_us, id), sessions (no id) before handshakes of the same
 * microsecond and among themselves by sensor, client, server, application,
 * verdict, reason, packet, run and capture file.
 *
 * Over the full range the audit reads the rollups (rollup.h): one row per
 * rolled-up group of handshakes with its weight n and newest_first_us,
 * the rows not folded yet and the sessions, in no particular order. The
 * counts are sums of n. The evidence candidates of a rule are the legs of
 * its worst rank with the greatest time; a group stands for its newest
 * handshake, which one lookup on the (ts_first_us, dedup_key) index finds
 * (the greatest id of that time in the group), so the answer is the raw
 * rows' to the byte. A group whose newest handshake was pruned (`kexwatch
 * prune` keeps the rollups) is shown from what the rollup knows: time,
 * protocol, server, SNI, group, verdict and reason, the client and the
 * capture file marked as pruned.
 *
 * On a central store of schema 7 on, PostgreSQL groups the legs (by what
 * matching and counting read) and sends one row per group: its weight and
 * its last leg in rows_sql's order (pg_audit_sql). The rules match those
 * rows here as they match rows, so the answer is the snapshot's to the
 * byte, without copying the history.
 */
#include "report_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/central.h"
#include "kexwatch/emit.h"

/* One leg kept as evidence; strings are owned copies. A session's is the
 * first session of its hourly row: its time, client port and packet. */
struct evidence {
	bool set, is_session;
	bool pruned; /* a rolled-up group's newest handshake, deleted by prune */
	char *ts, *protocol, *client_ip, *server_ip, *sni, *group, *verdict, *reason, *source, *app;
	char *fingerprint, *kx_fp; /* the client's JA4 or HASSH and kex suffix (schema 7) */
	long long client_port, server_port, pkt_first_ch, pkt_sh, sessions, bytes;
	long long id, run_id, source_id; /* where the source name comes from */
	bool sourced;                    /* source and software came with the row (central) */
	int rank;                        /* 3 plaintext, 2 classical, 1 other */
	long long key_us;                /* ts_first_us: the reading order */
	char *sensor;                    /* ties between sessions */
};

/* A rolled-up group that may hold a rule's evidence: its key in
 * rollup_legs (as stored: '' and -1 for none) and its newest time. */
struct cand {
	char *ts, *server_ip, *sni, *sensor, *protocol, *group, *family, *verdict, *reason;
	long long key_us, server_port, offers_pq, hrr, hrr_group, band, ch_seg0, slow;
};

struct rule {
	int line;
	bool required;
	char *server_text, *port_text, *sni_text;
	int family; /* 0: any server */
	unsigned char addr[16];
	int prefix;
	long port_lo, port_hi;
	const char *glob; /* NULL: any SNI; "" : no SNI */
	/* Results. */
	long long matched, deciding, pq, classical, client_no_pq, server_declined, tls12, other;
	long long sessions, plaintext, unseen;
	char *last_seen;
	long long last_us;
	struct evidence ev;
	/* Rolled-up reading: the worst rank and newest time seen, and the
	 * groups there (ev holds the best raw leg there, if any). */
	int best_rank;
	long long best_us;
	struct cand *cands;
	size_t ncands, capcands;
	enum kx_audit_status status;
};

struct kx_policy {
	char *name;
	struct rule *rules;
	size_t n;
};

static void evidence_free(struct evidence *e)
{
	free(e->ts);
	free(e->protocol);
	free(e->client_ip);
	free(e->server_ip);
	free(e->sni);
	free(e->group);
	free(e->verdict);
	free(e->reason);
	free(e->source);
	free(e->app);
	free(e->fingerprint);
	free(e->kx_fp);
	free(e->sensor);
	memset(e, 0, sizeof(*e));
}

static void cands_clear(struct rule *r)
{
	for (size_t i = 0; i < r->ncands; i++) {
		struct cand *c = &r->cands[i];
		free(c->ts);
		free(c->server_ip);
		free(c->sni);
		free(c->sensor);
		free(c->protocol);
		free(c->group);
		free(c->family);
		free(c->verdict);
		free(c->reason);
	}
	r->ncands = 0;
}

void kx_policy_free(struct kx_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].server_text);
		free(p->rules[i].port_text);
		free(p->rules[i].sni_text);
		free(p->rules[i].last_seen);
		evidence_free(&p->rules[i].ev);
		cands_clear(&p->rules[i]);
		free(p->rules[i].cands);
	}
	free(p->rules);
	free(p->name);
	free(p);
}

static int parse_server(struct rule *r, const char *s)
{
	char buf[64], *slash;
	long prefix = -1;

	if (strcmp(s, "*") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/'))) {
		char *end;
		*slash = '\0';
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || prefix < 0)
			return -1;
	}
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = 4;
		r->prefix = prefix < 0 ? 32 : (int)prefix;
		return prefix > 32 ? -1 : 0;
	}
	if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = 6;
		r->prefix = prefix < 0 ? 128 : (int)prefix;
		return prefix > 128 ? -1 : 0;
	}
	return -1;
}

static int parse_port(const char *s, long *ret)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*ret = strtol(s, &end, 10);
	return errno || *end || *ret < 1 || *ret > 65535 ? -1 : 0;
}

static int parse_ports(struct rule *r, const char *s)
{
	char buf[16], *dash;

	r->port_lo = 0;
	r->port_hi = 65535;
	if (strcmp(s, "*") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((dash = strchr(buf, '-'))) {
		*dash = '\0';
		return parse_port(buf, &r->port_lo) < 0 || parse_port(dash + 1, &r->port_hi) < 0 ||
		       r->port_lo > r->port_hi ? -1 : 0;
	}
	if (parse_port(buf, &r->port_lo) < 0)
		return -1;
	r->port_hi = r->port_lo;
	return 0;
}

static char *dupstr(const char *s)
{
	char *d = malloc(strlen(s) + 1);
	if (d)
		strcpy(d, s);
	return d;
}

/* Splits a line into at most 5 whitespace-separated fields (5 = too many). */
static int split(char *line, char **f)
{
	int n = 0;
	char *p = line;

	while (n < 5) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

struct kx_policy *kx_policy_parse(const char *text, const char *name, char *err, size_t errlen)
{
	struct kx_policy *p = calloc(1, sizeof(*p));
	size_t cap = 0;
	int line_no = 0;
	const char *t = text;

	if (!p || !(p->name = dupstr(name)))
		goto oom;
	while (*t) {
		char line[1024], *f[5];
		size_t len = strcspn(t, "\n");
		int n;

		line_no++;
		if (len >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line longer than %zu bytes", name, line_no,
				 sizeof(line) - 1);
			goto fail;
		}
		memcpy(line, t, len);
		line[len] = '\0';
		t += len + (t[len] == '\n');
		if (strchr(line, '#'))
			*strchr(line, '#') = '\0';
		n = split(line, f);
		if (n == 0)
			continue;
		if (n != 4) {
			snprintf(err, errlen, "%s:%d: expected 4 fields (ACTION SERVER PORT SNI), "
				 "got %s%d", name, line_no, n > 4 ? "more than " : "", n > 4 ? 4 : n);
			goto fail;
		}
		if (p->n == cap) {
			size_t c = cap ? 2 * cap : 8;
			struct rule *v = realloc(p->rules, c * sizeof(*v));
			if (!v)
				goto oom;
			p->rules = v;
			cap = c;
		}
		struct rule *r = &p->rules[p->n];
		memset(r, 0, sizeof(*r));
		r->line = line_no;
		if (strcmp(f[0], "required") == 0) {
			r->required = true;
		} else if (strcmp(f[0], "warn") != 0) {
			snprintf(err, errlen, "%s:%d: unknown action '%s': expected required or warn",
				 name, line_no, f[0]);
			goto fail;
		}
		if (parse_server(r, f[1]) < 0) {
			snprintf(err, errlen, "%s:%d: bad server '%s': expected *, an IPv4 or IPv6 "
				 "address, or a CIDR block such as 10.0.0.0/8 or 2001:db8::/32",
				 name, line_no, f[1]);
			goto fail;
		}
		if (parse_ports(r, f[2]) < 0) {
			snprintf(err, errlen, "%s:%d: bad port '%s': expected *, a port from 1 to "
				 "65535, or a range such as 8000-8999", name, line_no, f[2]);
			goto fail;
		}
		r->server_text = dupstr(f[1]);
		r->port_text = dupstr(f[2]);
		r->sni_text = dupstr(f[3]);
		p->n++;
		if (!r->server_text || !r->port_text || !r->sni_text)
			goto oom;
		r->glob = strcmp(f[3], "*") == 0 ? NULL : strcmp(f[3], "-") == 0 ? "" : r->sni_text;
	}
	if (p->n == 0) {
		snprintf(err, errlen, "%s: no rules (expected lines such as "
			 "'required 10.0.0.0/8 443 *.example.com')", name);
		goto fail;
	}
	return p;
oom:
	snprintf(err, errlen, "%s: out of memory", name);
fail:
	kx_policy_free(p);
	return NULL;
}

struct kx_policy *kx_policy_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	char buf[4096];
	struct kx_policy *p = NULL;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n + 1 > cap) {
			size_t c = 2 * (len + n + 1);
			char *v = realloc(text, c);
			if (!v) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			text = v;
			cap = c;
		}
		memcpy(text + len, buf, n);
		len += n;
		/* A policy is a few lines: refuse what is clearly not one. */
		if (len > (1u << 20)) {
			snprintf(err, errlen, "%s: larger than 1 MiB, not a policy file", path);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (memchr(text ? text : "", '\0', len)) {
		snprintf(err, errlen, "%s: binary file, not a policy file", path);
		goto out;
	}
	if (text)
		text[len] = '\0';
	p = kx_policy_parse(text ? text : "", path, err, errlen);
out:
	free(text);
	fclose(f);
	return p;
}

/* --- matching --- */

struct addr {
	int family;
	unsigned char a[16];
};

static bool match_server(const struct rule *r, const struct addr *a)
{
	int full, rest;

	if (!r->family)
		return true;
	if (r->family != a->family)
		return false;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	if (memcmp(r->addr, a->a, (size_t)full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		return (r->addr[full] & mask) == (a->a[full] & mask);
	}
	return true;
}

static bool match_sni(const struct rule *r, const char *sni)
{
	if (!r->glob)
		return true;
	if (!*r->glob)
		return !sni;
	return sni && fnmatch(r->glob, sni, FNM_CASEFOLD) == 0;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v ? dupstr(v) : NULL;
}

enum {
	C_TS, C_PROTOCOL, C_CLIENT, C_CPORT, C_SERVER, C_SPORT, C_SNI, C_VERDICT, C_REASON,
	C_GROUP, C_ID, C_PKT, C_PKT_SH, C_N, C_SESSION, C_APP, C_BYTES, C_RUN, C_SOURCE_ID,
	C_KEY, C_SENSOR,
	/* The rolled-up reading only: 1 for a group of rollup_legs, its key. */
	C_ROLLED, K_SNI, K_GROUP, K_FAMILY, K_REASON, K_OFFERS, K_HRR, K_HRR_GROUP, K_BAND,
	K_SEG0, K_SLOW,
	/* The central reading only: the weight of the row's group, and the
	 * capture file and client software of the row itself. */
	C_TOTAL, C_X_SOURCE, C_X_FP, C_X_KXFP,
};

#define ROW_COLS                                                                      \
	" protocol, client_ip, client_port, server_ip, server_port, sni, verdict, reason," \
	" group_name, id, pkt_first_ch, pkt_sh, n, is_session, app, bytes, run_id, source_id," \
	" ts_first_us, sensor"

/* The legs in the reading order; the columns after id make it total for
 * sessions (they have none), so the evidence never depends on the plan. */
static const char rows_sql[] =
	"WITH " KX_SQL_FILTERED
	" SELECT " KX_SQL_TS_TEXT("ts_first_us") "," ROW_COLS " FROM h"
	" ORDER BY ts_first_us, id, sensor, client_ip, client_port, server_ip, server_port,"
	" protocol, verdict, reason, pkt_first_ch, run_id, source_id";

/* Over the full range: the rows not folded yet and the sessions as they
 * are, then one row per rolled-up group, in no order (evaluate() keeps
 * what the order decides). */
static const char rolled_sql[] =
	"WITH " KX_SQL_FILTERED_ROLLED
	" SELECT " KX_SQL_TS_TEXT("ts_first_us") "," ROW_COLS ", 0, NULL, NULL, NULL, NULL,"
	" NULL, NULL, NULL, NULL, NULL, NULL FROM h WHERE id IS NOT NULL OR is_session"
	" UNION ALL SELECT " KX_SQL_TS_TEXT("newest_first_us") ", protocol, NULL, NULL,"
	" server_ip, server_port, nullif(sni, ''), verdict, nullif(reason, ''),"
	" nullif(group_name, ''), NULL, NULL, NULL, n, 0, NULL, NULL, NULL, NULL,"
	" newest_first_us, sensor, 1, sni, group_name, group_family, reason, offers_pq, hrr,"
	" hrr_group, band, ch_seg0, slow FROM main.rollup_legs"
	" WHERE :sensor IS NULL OR sensor = :sensor";

/* The newest handshake of a rolled-up group (rollup.c's fold_legs names
 * the group of a row): ts_first_us leads the UNIQUE (ts_first_us,
 * dedup_key) index, so this reads the few rows of that microsecond. */
static const char newest_sql[] =
	"SELECT max(id) FROM main.handshake_rows WHERE ts_first_us = ?1 AND server_ip = ?2"
	" AND server_port = ?3 AND coalesce(sni, '') = ?4 AND sensor = ?5 AND protocol = ?6"
	" AND coalesce(group_name, '') = ?7 AND coalesce(group_family, '') = ?8"
	" AND verdict = ?9 AND coalesce(reason, '') = ?10 AND (offers_pq <> 0) = ?11"
	" AND (hrr <> 0) = ?12 AND coalesce(hrr_group, -1) = ?13"
	" AND CASE WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) = 0 THEN 0"
	" WHEN max(ch_bytes, coalesce(ch2_bytes, 0)) < 1500 THEN 1 ELSE 2 END = ?14"
	" AND (ch_segments = 0) = ?15 AND coalesce(ch_to_sh_us >= 1000000, 0) = ?16";

/* That handshake as rows_sql reads it. */
static const char row_sql[] =
	"SELECT " KX_SQL_TS_TEXT("ts_first_us") ", protocol, client_ip, client_port, server_ip,"
	" server_port, sni, verdict, reason, group_name, id, pkt_first_ch, pkt_sh, 1, 0, NULL,"
	" NULL, run_id, NULL, ts_first_us, sensor FROM main.handshake_rows WHERE id = ?1";

/* --- over a central store --- */

/* The central schema read below: the verdict words of SQLite schema 11
 * (older stores go through the snapshot, which rewrites them). */
#define PG_AUDIT_MIN_SCHEMA 7

/* The legs of the window grouped by what rule matching (endpoint) and
 * counting (leg kind, verdict, reason) read, in PostgreSQL: legs equal
 * there count and match alike. Per group its last leg in rows_sql's order
 * (the only one that can be evidence) in rows_sql's columns, the group's
 * weight (C_TOTAL), and that leg's capture file and client software as
 * evidence_source would look them up. A few rows per endpoint come back,
 * whatever the history's length; evaluate() matches them to the rules as
 * it matches rows. A handshake group's last leg is the greatest id among
 * its legs of its newest microsecond: a hash aggregate finds that time
 * without sorting the history (max(ARRAY[ts, id]) cost twice as much),
 * then the primary key's leading ts_first_us finds the few rows of that
 * microsecond (LIMIT 1 keeps it a lookup per group: as a join the planner
 * sorted every row). The hourly sessions rows are few and sort in
 * rows_sql's order, reversed. */
#define PG_AUDIT_SESSION_KEYS "server_ip, server_port, verdict, reason"
#define PG_AUDIT_SESSION_LAST                                                          \
	"ts_first_us DESC, sensor COLLATE \"C\" DESC, client_ip COLLATE \"C\" DESC,"       \
	" client_port DESC, app COLLATE \"C\" DESC, pkt_first DESC, run_id DESC,"        \
	" source_id DESC NULLS LAST"

static const char pg_audit_sql[] =
	"WITH hg AS (SELECT server_ip, server_port, sni, verdict, reason, count(*) AS total,"
	"  max(ts_first_us) AS newest FROM handshakes" KX_PG_WINDOW
	"  GROUP BY server_ip, server_port, sni, verdict, reason),"
	" s AS (SELECT run_id, sensor, ts_first_us, app, client_ip, client_port, server_ip,"
	"  server_port, verdict, nullif(reason, '') AS reason, pkt_first, sessions, bytes,"
	"  source_id FROM sessions" KX_PG_WINDOW "),"
	" sg AS (SELECT DISTINCT ON (" PG_AUDIT_SESSION_KEYS ") *, sum(sessions) OVER w AS total"
	"  FROM s WINDOW w AS (PARTITION BY " PG_AUDIT_SESSION_KEYS
	"  ORDER BY " PG_AUDIT_SESSION_LAST
	"  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)"
	"  ORDER BY " PG_AUDIT_SESSION_KEYS ", " PG_AUDIT_SESSION_LAST "),"
	" l AS (SELECT hg.newest AS ts_first_us, x.protocol, x.client_ip, x.client_port,"
	"  hg.server_ip, hg.server_port, hg.sni, hg.verdict, hg.reason, x.group_name, x.id,"
	"  x.pkt_first_ch, x.pkt_sh, 1::bigint AS n, false AS is_session, NULL::text AS app,"
	"  NULL::bigint AS bytes, x.run_id, NULL::integer AS source_id, x.sensor, hg.total,"
	"  x.source, CASE WHEN x.protocol = 'ssh' THEN x.hassh ELSE x.ja4 END AS fingerprint,"
	"  x.kx_fp FROM hg LEFT JOIN LATERAL (SELECT * FROM handshakes AS y"
	/* Only the verdicts that can be evidence (consider()'s ranks). */
	"  WHERE hg.verdict IN ('classical', 'hybrid-draft', 'unknown')"
	"  AND y.ts_first_us = hg.newest AND y.server_ip = hg.server_ip"
	"  AND y.server_port = hg.server_port AND y.sni IS NOT DISTINCT FROM hg.sni"
	"  AND y.verdict = hg.verdict AND y.reason IS NOT DISTINCT FROM hg.reason"
	"  AND (y.ts_last_us >= $4::bigint) AND ($3::text IS NULL OR y.sensor = $3::text)"
	"  ORDER BY y.id DESC LIMIT 1) AS x ON true"
	"  UNION ALL SELECT sg.ts_first_us, app, client_ip, client_port, server_ip,"
	"  server_port, NULL, verdict, reason, NULL, NULL, pkt_first, NULL, sessions, true,"
	"  app, bytes, sg.run_id, sg.source_id, sensor, total, src.name, NULL, NULL"
	"  FROM sg LEFT JOIN sources AS src ON src.run_id = sg.run_id"
	"  AND src.source_id = sg.source_id)"
	" SELECT " KX_PG_TS_TEXT("ts_first_us") " AS ts, protocol, client_ip, client_port,"
	" server_ip, server_port, sni, verdict, reason, group_name, id, pkt_first_ch, pkt_sh,"
	" n, is_session, app, bytes, run_id, source_id, ts_first_us, sensor, 0 AS rolled,"
	" NULL AS k_sni, NULL AS k_group, NULL AS k_family, NULL AS k_reason,"
	" NULL AS k_offers, NULL AS k_hrr, NULL AS k_hrr_group, NULL AS k_band,"
	" NULL AS k_seg0, NULL AS k_slow, total::bigint AS total, source, fingerprint, kx_fp"
	" FROM l";

static int keep(struct evidence *e, sqlite3_stmt *s, int rank)
{
	evidence_free(e);
	e->set = true;
	e->rank = rank;
	e->is_session = sqlite3_column_int(s, C_SESSION) != 0;
	e->ts = col_dup(s, C_TS);
	e->protocol = col_dup(s, C_PROTOCOL);
	e->client_ip = col_dup(s, C_CLIENT);
	e->server_ip = col_dup(s, C_SERVER);
	e->sni = col_dup(s, C_SNI);
	e->group = col_dup(s, C_GROUP);
	e->verdict = col_dup(s, C_VERDICT);
	e->reason = col_dup(s, C_REASON);
	e->app = col_dup(s, C_APP);
	e->sensor = col_dup(s, C_SENSOR);
	e->client_port = sqlite3_column_int64(s, C_CPORT);
	e->server_port = sqlite3_column_int64(s, C_SPORT);
	e->pkt_first_ch = sqlite3_column_int64(s, C_PKT);
	e->pkt_sh = sqlite3_column_type(s, C_PKT_SH) == SQLITE_NULL ? 0 :
		    sqlite3_column_int64(s, C_PKT_SH);
	e->sessions = sqlite3_column_int64(s, C_N);
	e->bytes = sqlite3_column_int64(s, C_BYTES);
	e->id = sqlite3_column_int64(s, C_ID);
	e->run_id = sqlite3_column_int64(s, C_RUN);
	e->source_id = sqlite3_column_type(s, C_SOURCE_ID) == SQLITE_NULL ? -1 :
		       sqlite3_column_int64(s, C_SOURCE_ID);
	e->key_us = sqlite3_column_int64(s, C_KEY);
	if (sqlite3_column_count(s) > C_X_KXFP) {
		/* As evidence_source looks them up: the software only when there is one. */
		e->sourced = true;
		e->source = col_dup(s, C_X_SOURCE);
		if (sqlite3_column_type(s, C_X_FP) != SQLITE_NULL) {
			e->fingerprint = col_dup(s, C_X_FP);
			e->kx_fp = col_dup(s, C_X_KXFP);
		}
	}
	return e->ts && e->protocol && e->client_ip && e->server_ip && e->verdict ? 0 : -1;
}

/* SQLite's order of two values (NULL first, text by bytes). */
static int cmp_text(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_int(long long a, long long b)
{
	return (a > b) - (a < b);
}

static int cmp_col_text(sqlite3_stmt *s, int col, const char *b)
{
	return cmp_text((const char *)sqlite3_column_text(s, col), b);
}

/* Whether the raw leg at row s comes after evidence e of the same
 * ts_first_us in rows_sql's order. */
static bool after(sqlite3_stmt *s, const struct evidence *e)
{
	bool session = sqlite3_column_int(s, C_SESSION) != 0;
	int c;

	if (session != e->is_session)
		return !session; /* a handshake's id sorts after a session's NULL */
	if (!session)
		return sqlite3_column_int64(s, C_ID) > e->id;
	if ((c = cmp_col_text(s, C_SENSOR, e->sensor)) ||
	    (c = cmp_col_text(s, C_CLIENT, e->client_ip)) ||
	    (c = cmp_int(sqlite3_column_int64(s, C_CPORT), e->client_port)) ||
	    (c = cmp_col_text(s, C_SERVER, e->server_ip)) ||
	    (c = cmp_int(sqlite3_column_int64(s, C_SPORT), e->server_port)) ||
	    (c = cmp_col_text(s, C_PROTOCOL, e->protocol)) ||
	    (c = cmp_col_text(s, C_VERDICT, e->verdict)) ||
	    (c = cmp_col_text(s, C_REASON, e->reason)) ||
	    (c = cmp_int(sqlite3_column_int64(s, C_PKT), e->pkt_first_ch)) ||
	    (c = cmp_int(sqlite3_column_int64(s, C_RUN), e->run_id)) ||
	    (c = cmp_int(sqlite3_column_type(s, C_SOURCE_ID) == SQLITE_NULL ? -1 :
			 sqlite3_column_int64(s, C_SOURCE_ID), e->source_id)))
		return c > 0;
	return false; /* the same leg twice cannot happen: keep the first */
}

static int add_cand(struct rule *r, sqlite3_stmt *s)
{
	if (r->ncands == r->capcands) {
		size_t c = r->capcands ? 2 * r->capcands : 4;
		struct cand *v;
		if (c > SIZE_MAX / sizeof(*v) || !(v = realloc(r->cands, c * sizeof(*v))))
			return -1;
		r->cands = v;
		r->capcands = c;
	}
	struct cand *c = &r->cands[r->ncands++];
	memset(c, 0, sizeof(*c));
	c->ts = col_dup(s, C_TS);
	c->server_ip = col_dup(s, C_SERVER);
	c->sni = col_dup(s, K_SNI);
	c->sensor = col_dup(s, C_SENSOR);
	c->protocol = col_dup(s, C_PROTOCOL);
	c->group = col_dup(s, K_GROUP);
	c->family = col_dup(s, K_FAMILY);
	c->verdict = col_dup(s, C_VERDICT);
	c->reason = col_dup(s, K_REASON);
	c->key_us = sqlite3_column_int64(s, C_KEY);
	c->server_port = sqlite3_column_int64(s, C_SPORT);
	c->offers_pq = sqlite3_column_int64(s, K_OFFERS);
	c->hrr = sqlite3_column_int64(s, K_HRR);
	c->hrr_group = sqlite3_column_int64(s, K_HRR_GROUP);
	c->band = sqlite3_column_int64(s, K_BAND);
	c->ch_seg0 = sqlite3_column_int64(s, K_SEG0);
	c->slow = sqlite3_column_int64(s, K_SLOW);
	return c->ts && c->server_ip && c->sni && c->sensor && c->protocol && c->group &&
	       c->family && c->verdict && c->reason ? 0 : -1;
}

/* A leg of rank 1..3 at row s that may be the rule's evidence. ordered:
 * rows_sql's order, where the last of the worst rank wins; otherwise the
 * order is rebuilt from ts_first_us and the ties (rolled-up groups wait
 * in cands for resolve()). */
static int consider(struct rule *r, sqlite3_stmt *s, int rank, bool ordered)
{
	long long key = sqlite3_column_int64(s, C_KEY);

	if (ordered)
		return rank >= r->ev.rank ? keep(&r->ev, s, rank) : 0;
	if (rank < r->best_rank || (rank == r->best_rank && key < r->best_us))
		return 0;
	if (rank > r->best_rank || key > r->best_us) {
		evidence_free(&r->ev);
		cands_clear(r);
		r->best_rank = rank;
		r->best_us = key;
	}
	if (sqlite3_column_int(s, C_ROLLED))
		return add_cand(r, s);
	if (!r->ev.set || after(s, &r->ev))
		return keep(&r->ev, s, rank);
	return 0;
}

/* The evidence from a rolled-up group whose newest handshake is gone. */
static int keep_pruned(struct evidence *e, const struct cand *c, int rank)
{
	evidence_free(e);
	e->set = e->pruned = true;
	e->rank = rank;
	e->key_us = c->key_us;
	e->ts = dupstr(c->ts);
	e->protocol = dupstr(c->protocol);
	e->server_ip = dupstr(c->server_ip);
	e->server_port = c->server_port;
	e->sni = *c->sni ? dupstr(c->sni) : NULL;
	e->group = *c->group ? dupstr(c->group) : NULL;
	e->verdict = dupstr(c->verdict);
	e->reason = *c->reason ? dupstr(c->reason) : NULL;
	e->sensor = dupstr(c->sensor);
	e->id = e->run_id = e->source_id = -1;
	return e->ts && e->protocol && e->server_ip && e->verdict && e->sensor &&
	       (e->sni || !*c->sni) && (e->group || !*c->group) && (e->reason || !*c->reason)
	       ? 0 : -1;
}

/* Picks a rule's evidence among its raw leg (ev) and rolled-up groups
 * (cands) at the worst rank and newest time: the greatest id wins, as it
 * is last in rows_sql's order. */
static int resolve(struct kx_rdb *db, struct rule *r)
{
	sqlite3_stmt *q = NULL, *row = NULL;
	long long best = -1;
	int rc = SQLITE_OK;

	if (!r->ncands)
		return 0;
	if (sqlite3_prepare_v2(db->db, newest_sql, -1, &q, NULL) != SQLITE_OK)
		return kx_rdb_fail(db);
	for (size_t i = 0; i < r->ncands; i++) {
		const struct cand *c = &r->cands[i];
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, c->key_us);
		sqlite3_bind_text(q, 2, c->server_ip, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, c->server_port);
		sqlite3_bind_text(q, 4, c->sni, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, c->sensor, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, c->protocol, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, c->group, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 8, c->family, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 9, c->verdict, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 10, c->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 11, c->offers_pq);
		sqlite3_bind_int64(q, 12, c->hrr);
		sqlite3_bind_int64(q, 13, c->hrr_group);
		sqlite3_bind_int64(q, 14, c->band);
		sqlite3_bind_int64(q, 15, c->ch_seg0);
		sqlite3_bind_int64(q, 16, c->slow);
		if ((rc = sqlite3_step(q)) != SQLITE_ROW)
			goto out;
		rc = SQLITE_OK;
		if (sqlite3_column_type(q, 0) != SQLITE_NULL && sqlite3_column_int64(q, 0) > best)
			best = sqlite3_column_int64(q, 0);
	}
	if (best < 0) {
		/* Every group's newest handshake was pruned: a raw leg of that
		 * time wins, else the first group speaks for itself. */
		if (!r->ev.set && keep_pruned(&r->ev, &r->cands[0], r->best_rank) < 0)
			goto oom;
		goto out;
	}
	if (r->ev.set && !r->ev.is_session && r->ev.id > best)
		goto out;
	if (sqlite3_prepare_v2(db->db, row_sql, -1, &row, NULL) != SQLITE_OK) {
		rc = SQLITE_ERROR;
		goto out;
	}
	sqlite3_bind_int64(row, 1, best);
	if ((rc = sqlite3_step(row)) != SQLITE_ROW)
		goto out;
	rc = SQLITE_OK;
	if (keep(&r->ev, row, r->best_rank) < 0)
		goto oom;
out:
	sqlite3_finalize(q);
	sqlite3_finalize(row);
	cands_clear(r);
	if (rc == SQLITE_DONE) { /* the row vanished inside our read transaction */
		snprintf(db->err, db->errlen, "%s: handshake row %lld not found", db->path, best);
		return -1;
	}
	return rc == SQLITE_OK ? 0 : kx_rdb_fail(db);
oom:
	sqlite3_finalize(q);
	sqlite3_finalize(row);
	cands_clear(r);
	snprintf(db->err, db->errlen, "out of memory");
	return -1;
}

/* The capture file of an evidence leg: looked up once per rule, not for
 * every row the audit reads. NULL when unknown. */
static int evidence_source(struct kx_rdb *db, struct evidence *e)
{
	sqlite3_stmt *s;
	/* A handshake's: its client software too (schema 7). */
	const char *sql = e->is_session ?
		"SELECT name FROM sources WHERE run_id = ?1 AND source_id = ?2" :
		db->version >= 7 ?
		"SELECT source, CASE WHEN protocol = 'ssh' THEN hassh ELSE ja4 END, kx_fp"
		" FROM handshakes WHERE id = ?1" :
		"SELECT source FROM handshakes WHERE id = ?1";

	if (!e->set || e->pruned || e->sourced || (e->is_session && e->source_id < 0))
		return 0;
	if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) != SQLITE_OK)
		return kx_rdb_fail(db);
	sqlite3_bind_int64(s, 1, e->is_session ? e->run_id : e->id);
	if (e->is_session)
		sqlite3_bind_int64(s, 2, e->source_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		e->source = col_dup(s, 0);
		if (sqlite3_column_count(s) == 3 && sqlite3_column_type(s, 1) != SQLITE_NULL) {
			e->fingerprint = col_dup(s, 1);
			e->kx_fp = col_dup(s, 2);
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : kx_rdb_fail(db);
}

struct totals {
	long long handshakes, sessions, deciding, unmatched, unmatched_deciding;
	int failed, warned, no_traffic, required;
};

/* Reads sql: rows_sql (ordered), rolled_sql (the full range of an
 * inventory with rollups) or a central store's answer, whose rows weigh
 * their group's C_TOTAL. Every count is a sum of weights. */
static int evaluate(struct kx_rdb *db, const struct kx_policy *p,
		    const struct kx_report_filter *f, const char *sql, bool ordered,
		    struct totals *t)
{
	sqlite3_stmt *s = kx_rdb_prepare(db, sql, f);
	char last_ip[64] = "";
	struct addr a = { 0 };
	int rc, weight;

	if (!s)
		return -1;
	weight = sqlite3_column_count(s) > C_TOTAL ? C_TOTAL : C_N;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *ip = (const char *)sqlite3_column_text(s, C_SERVER);
		const char *sni = (const char *)sqlite3_column_text(s, C_SNI);
		const char *verdict = (const char *)sqlite3_column_text(s, C_VERDICT);
		const char *reason = (const char *)sqlite3_column_text(s, C_REASON);
		long long port = sqlite3_column_int64(s, C_SPORT);
		long long n = sqlite3_column_int64(s, weight);
		long long key = sqlite3_column_int64(s, C_KEY);
		bool session = sqlite3_column_int(s, C_SESSION) != 0;
		bool decides, pq, classical, plaintext;
		struct rule *r = NULL;

		if (!ip || !verdict)
			continue;
		/* Rows come in time order, often many for one server. */
		if (strcmp(ip, last_ip) != 0) {
			snprintf(last_ip, sizeof(last_ip), "%s", ip);
			a.family = inet_pton(AF_INET, ip, a.a) == 1 ? 4 :
				   inet_pton(AF_INET6, ip, a.a) == 1 ? 6 : 0;
		}
		pq = strcmp(verdict, "hybrid") == 0 || strcmp(verdict, "pq") == 0;
		classical = strcmp(verdict, "classical") == 0;
		plaintext = strcmp(verdict, "plaintext") == 0;
		/* A session whose handshake was not seen (no-verdict) says nothing;
		 * 'unknown' decides only for a handshake. */
		decides = pq || classical || plaintext || strcmp(verdict, "hybrid-draft") == 0 ||
			  (strcmp(verdict, "unknown") == 0 && !session);
		if (session)
			t->sessions += n;
		else
			t->handshakes += n;
		t->deciding += decides ? n : 0;
		for (size_t i = 0; i < p->n && !r; i++) {
			struct rule *c = &p->rules[i];
			if (port >= c->port_lo && port <= c->port_hi && match_server(c, &a) &&
			    match_sni(c, sni))
				r = c;
		}
		if (!r) {
			t->unmatched += n;
			t->unmatched_deciding += decides ? n : 0;
			continue;
		}
		if (session) {
			r->sessions += n;
			r->unseen += decides ? 0 : n;
		} else {
			r->matched += n;
		}
		/* The newest leg's time (equal times print the same). */
		if (!r->last_seen || key > r->last_us) {
			free(r->last_seen);
			r->last_seen = col_dup(s, C_TS);
			r->last_us = key;
		}
		if (!decides)
			continue;
		r->deciding += n;
		if (pq) {
			r->pq += n;
			continue;
		}
		int rank = plaintext ? 3 : classical ? 2 : 1;
		if (plaintext) {
			r->plaintext += n;
		} else if (classical) {
			r->classical += n;
			r->client_no_pq += reason && strcmp(reason, "client-no-pq") == 0 ? n : 0;
			r->server_declined += reason && strcmp(reason, "server-declined") == 0 ? n : 0;
			r->tls12 += reason && strcmp(reason, "tls12") == 0 ? n : 0;
		} else {
			r->other += n;
		}
		/* The newest leg of the worst kind seen so far. */
		if (consider(r, s, rank, ordered) < 0) {
			sqlite3_finalize(s);
			snprintf(db->err, db->errlen, "out of memory");
			return -1;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return kx_rdb_fail(db);
	for (size_t i = 0; !ordered && i < p->n; i++)
		if (resolve(db, &p->rules[i]) < 0)
			return -1;
	return 0;
}

static void judge(const struct kx_policy *p, bool strict, struct totals *t)
{
	for (size_t i = 0; i < p->n; i++) {
		struct rule *r = &p->rules[i];

		t->required += r->required;
		if (!r->deciding) {
			r->status = KX_AUDIT_NO_TRAFFIC;
			t->no_traffic++;
			t->failed += strict && r->required;
		} else if (r->required && (r->classical || r->plaintext)) {
			r->status = KX_AUDIT_FAIL;
			t->failed++;
		} else if (r->classical || r->other || r->plaintext) {
			r->status = KX_AUDIT_WARN;
			t->warned++;
		} else {
			r->status = KX_AUDIT_PASS;
		}
	}
}

static const char *status_word(enum kx_audit_status st, bool upper)
{
	static const char *const w[][2] = {
		[KX_AUDIT_PASS] = { "pass", "PASS" },
		[KX_AUDIT_WARN] = { "warn", "WARN" },
		[KX_AUDIT_FAIL] = { "fail", "FAIL" },
		[KX_AUDIT_NO_TRAFFIC] = { "no-traffic", "NO TRAFFIC" },
	};
	return w[st][upper];
}

static void endpoint(FILE *out, const char *ip, long long port)
{
	if (strchr(ip, ':'))
		fprintf(out, "[%s]:%lld", ip, port);
	else
		fprintf(out, "%s:%lld", ip, port);
}

static void print_text(const struct kx_policy *p, const struct totals *t, bool strict, FILE *out)
{
	fprintf(out, "policy %s: %zu rule%s; %lld handshakes", p->name, p->n, p->n == 1 ? "" : "s",
		t->handshakes);
	if (t->sessions)
		fprintf(out, " and %lld session%s without one", t->sessions,
			t->sessions == 1 ? "" : "s");
	fprintf(out, ", %lld deciding, %lld matched no rule\n", t->deciding, t->unmatched);
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		const struct evidence *e = &r->ev;

		fprintf(out, "\n%-10s line %d: %s %s port %s sni ", status_word(r->status, true),
			r->line, r->required ? "required" : "warn", r->server_text, r->port_text);
		kx_cell_print(out, r->sni_text);
		fprintf(out, "\n           %lld handshakes, %lld deciding: %lld hybrid/pq, "
			     "%lld classical", r->matched, r->deciding, r->pq, r->classical);
		if (r->classical)
			fprintf(out, " (client-no-pq %lld, server-declined %lld, tls12 %lld)",
				r->client_no_pq, r->server_declined, r->tls12);
		fprintf(out, ", %lld other\n", r->other);
		if (r->sessions)
			fprintf(out, "           %lld session%s without a handshake: %lld plaintext, %lld "
				     "handshake unseen\n", r->sessions, r->sessions == 1 ? "" : "s",
				r->plaintext, r->unseen);
		if (r->status == KX_AUDIT_NO_TRAFFIC)
			fprintf(out, "           no deciding handshake matched this rule%s\n",
				strict && r->required ? ": fails with --strict" : "");
		if (!e->set)
			continue;
		if (e->is_session) {
			fprintf(out, "           last %s: %s %s ", e->verdict, e->ts, e->protocol);
			endpoint(out, e->client_ip, e->client_port);
			fputs(" -> ", out);
			endpoint(out, e->server_ip, e->server_port);
			fprintf(out, " reason %s (%lld session%s that hour, %lld bytes)\n",
				e->reason ? e->reason : "-", e->sessions, e->sessions == 1 ? "" : "s",
				e->bytes);
			fputs("           evidence: ", out);
			kx_cell_print(out, e->source ? e->source : "(unknown source)");
			fprintf(out, " packet %lld (the first session of that hour)\n", e->pkt_first_ch);
			continue;
		}
		fprintf(out, "           last %s: %s %s ", strcmp(e->verdict, "classical") == 0 ?
			"classical" : e->verdict, e->ts, e->protocol);
		if (e->pruned)
			fputs("(client pruned)", out);
		else
			endpoint(out, e->client_ip, e->client_port);
		fputs(" -> ", out);
		endpoint(out, e->server_ip, e->server_port);
		fputs(" sni ", out);
		kx_cell_print(out, e->sni ? e->sni : "-");
		fprintf(out, " group %s reason %s\n", e->group ? e->group : "-",
			e->reason ? e->reason : "-");
		if (e->pruned) {
			/* `kexwatch prune` deleted the row; the rollups keep its group. */
			fputs("           evidence: pruned (the handshake row was deleted; its rolled-up"
			      " group remains, sensor ", out);
			kx_cell_print(out, e->sensor);
			fputs(")\n", out);
			continue;
		}
		fputs("           evidence: ", out);
		kx_cell_print(out, e->source ? e->source : "(unknown source)");
		fprintf(out, " packet %lld", e->pkt_first_ch);
		if (e->pkt_sh)
			fprintf(out, " (ServerHello packet %lld)", e->pkt_sh);
		putc('\n', out);
		if (e->fingerprint) {
			fprintf(out, "           client software: %s ",
				strcmp(e->protocol, "ssh") == 0 ? "HASSH" : "JA4");
			kx_cell_print(out, e->fingerprint);
			fputs(" kx ", out);
			kx_cell_print(out, e->kx_fp ? e->kx_fp : "-");
			putc('\n', out);
		}
	}
	fprintf(out, "\naudit: %s: %d of %d required rule%s failed, %d warning%s, %d without "
		     "traffic\n", t->failed ? "FAIL" : t->warned ? "PASS with warnings" : "PASS",
		t->failed, t->required, t->required == 1 ? "" : "s", t->warned,
		t->warned == 1 ? "" : "s", t->no_traffic);
}

static void json_str(FILE *out, const char *s)
{
	if (s)
		kx_json_fputs(out, s, strlen(s));
	else
		fputs("null", out);
}

static void print_json(const struct kx_policy *p, const struct totals *t, bool strict, FILE *out)
{
	fputs("{\"policy\":", out);
	json_str(out, p->name);
	fprintf(out, ",\"status\":\"%s\",\"strict\":%s,\"handshakes\":%lld,\"sessions\":%lld,"
		     "\"deciding\":%lld,\"unmatched\":%lld,\"unmatched_deciding\":%lld,"
		     "\"required_rules\":%d,\"failed\":%d,\"warnings\":%d,\"no_traffic\":%d,"
		     "\"rules\":[",
		t->failed ? "fail" : t->warned ? "warn" : "pass", strict ? "true" : "false",
		t->handshakes, t->sessions, t->deciding, t->unmatched, t->unmatched_deciding,
		t->required, t->failed, t->warned, t->no_traffic);
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		const struct evidence *e = &r->ev;

		fprintf(out, "%s\n {\"line\":%d,\"action\":\"%s\",\"server\":", i ? "," : "",
			r->line, r->required ? "required" : "warn");
		json_str(out, r->server_text);
		fputs(",\"port\":", out);
		json_str(out, r->port_text);
		fputs(",\"sni\":", out);
		json_str(out, r->sni_text);
		fprintf(out, ",\"status\":\"%s\",\"handshakes\":%lld,\"deciding\":%lld,\"pq\":%lld,"
			     "\"classical\":%lld,\"client_no_pq\":%lld,\"server_declined\":%lld,"
			     "\"tls12\":%lld,\"other\":%lld,\"sessions\":%lld,\"plaintext\":%lld,"
			     "\"unseen\":%lld,\"last_handshake\":",
			status_word(r->status, false), r->matched, r->deciding, r->pq, r->classical,
			r->client_no_pq, r->server_declined, r->tls12, r->other, r->sessions,
			r->plaintext, r->unseen);
		json_str(out, r->last_seen);
		fputs(",\"evidence\":", out);
		if (!e->set) {
			fputs("null}", out);
			continue;
		}
		fputs("{\"ts\":", out);
		json_str(out, e->ts);
		fputs(",\"protocol\":", out);
		json_str(out, e->protocol);
		fputs(",\"client_ip\":", out);
		json_str(out, e->client_ip);
		if (e->pruned)
			fputs(",\"client_port\":null,\"server_ip\":", out);
		else
			fprintf(out, ",\"client_port\":%lld,\"server_ip\":", e->client_port);
		json_str(out, e->server_ip);
		fprintf(out, ",\"server_port\":%lld,\"sni\":", e->server_port);
		json_str(out, e->sni);
		fputs(",\"group\":", out);
		json_str(out, e->group);
		fputs(",\"verdict\":", out);
		json_str(out, e->verdict);
		fputs(",\"reason\":", out);
		json_str(out, e->reason);
		fputs(",\"source\":", out);
		json_str(out, e->source);
		if (e->pruned)
			fputs(",\"pkt_first_ch\":null,\"pkt_sh\":", out);
		else
			fprintf(out, ",\"pkt_first_ch\":%lld,\"pkt_sh\":", e->pkt_first_ch);
		if (e->pkt_sh)
			fprintf(out, "%lld", e->pkt_sh);
		else
			fputs("null", out);
		/* A session's app, and the sessions and bytes of its hourly row. */
		fputs(",\"app\":", out);
		json_str(out, e->app);
		if (e->is_session)
			fprintf(out, ",\"sessions\":%lld,\"bytes\":%lld", e->sessions, e->bytes);
		else
			fputs(",\"sessions\":null,\"bytes\":null", out);
		fputs(",\"fingerprint\":", out);
		json_str(out, e->fingerprint);
		fputs(",\"kx_fp\":", out);
		json_str(out, e->kx_fp);
		/* Only a full-range audit after `kexwatch prune` has this key. */
		if (e->pruned)
			fputs(",\"pruned\":true", out);
		fputs("}}", out);
	}
	fputs("\n]}\n", out);
}

static void csv_num(FILE *out, long long v)
{
	fprintf(out, ",%lld", v);
}

static void csv_str(FILE *out, const char *s)
{
	putc(',', out);
	kx_csv_field(out, s ? s : "");
}

static void print_csv(const struct kx_policy *p, FILE *out)
{
	fputs("line,action,server,port,sni,status,handshakes,deciding,pq,classical,"
	      "client_no_pq,server_declined,tls12,other,last_handshake,evidence_ts,"
	      "evidence_protocol,evidence_client_ip,evidence_client_port,evidence_server_ip,"
	      "evidence_server_port,evidence_sni,evidence_group,evidence_verdict,"
	      "evidence_reason,evidence_source,evidence_pkt_first_ch,evidence_pkt_sh,sessions,"
	      "plaintext,unseen,evidence_app,evidence_sessions,evidence_bytes,"
	      "evidence_fingerprint,evidence_kx_fp\r\n", out);
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		const struct evidence *e = &r->ev;

		fprintf(out, "%d", r->line);
		csv_str(out, r->required ? "required" : "warn");
		csv_str(out, r->server_text);
		csv_str(out, r->port_text);
		csv_str(out, r->sni_text);
		csv_str(out, status_word(r->status, false));
		csv_num(out, r->matched);
		csv_num(out, r->deciding);
		csv_num(out, r->pq);
		csv_num(out, r->classical);
		csv_num(out, r->client_no_pq);
		csv_num(out, r->server_declined);
		csv_num(out, r->tls12);
		csv_num(out, r->other);
		csv_str(out, r->last_seen);
		if (e->set) {
			csv_str(out, e->ts);
			csv_str(out, e->protocol);
			csv_str(out, e->client_ip);
			if (e->pruned)
				fputs(",", out);
			else
				csv_num(out, e->client_port);
			csv_str(out, e->server_ip);
			csv_num(out, e->server_port);
			csv_str(out, e->sni);
			csv_str(out, e->group);
			csv_str(out, e->verdict);
			csv_str(out, e->reason);
			csv_str(out, e->source);
			if (e->pruned)
				fputs(",", out);
			else
				csv_num(out, e->pkt_first_ch);
			if (e->pkt_sh)
				csv_num(out, e->pkt_sh);
			else
				fputs(",", out);
		} else {
			fputs(",,,,,,,,,,,,,", out);
		}
		csv_num(out, r->sessions);
		csv_num(out, r->plaintext);
		csv_num(out, r->unseen);
		csv_str(out, e->set ? e->app : NULL);
		if (e->set && e->is_session) {
			csv_num(out, e->sessions);
			csv_num(out, e->bytes);
		} else {
			fputs(",,", out);
		}
		csv_str(out, e->set ? e->fingerprint : NULL);
		csv_str(out, e->set ? e->kx_fp : NULL);
		fputs("\r\n", out);
	}
}

int kx_report_audit(const char *db_path, struct kx_policy *p,
		    const struct kx_report_filter *f, bool strict, enum kx_out_format fmt,
		    FILE *out, bool *ret_failed, char *err, size_t errlen)
{
	struct totals t = { 0 };
	struct kx_rdb db;
	int rc = -1;

	*ret_failed = false;
	/* The policy's results live in it: a second audit starts from zero. */
	for (size_t i = 0; i < p->n; i++) {
		struct rule *r = &p->rules[i];
		r->matched = r->deciding = r->pq = r->classical = 0;
		r->client_no_pq = r->server_declined = r->tls12 = r->other = 0;
		r->sessions = r->plaintext = r->unseen = 0;
		free(r->last_seen);
		r->last_seen = NULL;
		r->last_us = 0;
		evidence_free(&r->ev);
		cands_clear(r);
		r->best_rank = 0;
		r->best_us = 0;
	}
	/* A central store of schema 7 on answers in PostgreSQL (pg_audit_sql);
	 * an older one, or a --groups file, goes through the snapshot. */
	int c = kx_pg_is_url(db_path) ?
		kx_rdb_pg_answer(&db, db_path, PG_AUDIT_MIN_SCHEMA, f, pg_audit_sql, err, errlen) : 1;
	if (c < 0)
		return -1;
	if (c == 0) {
		if (evaluate(&db, p, f, "SELECT * FROM kx_answer", false, &t) < 0)
			goto out;
	} else {
		if (kx_rdb_open_scoped(&db, db_path, f, err, errlen) < 0)
			return -1;
		/* The rollups are all-time: a window reads the raw rows. */
		bool rolled = f && kx_rdb_full_range(&db, f);
		if (evaluate(&db, p, f, rolled ? rolled_sql : rows_sql, !rolled, &t) < 0)
			goto out;
	}
	for (size_t i = 0; i < p->n; i++)
		if (evidence_source(&db, &p->rules[i].ev) < 0)
			goto out;
	judge(p, strict, &t);
	if (fmt == KX_OUT_JSON)
		print_json(p, &t, strict, out);
	else if (fmt == KX_OUT_CSV)
		print_csv(p, out);
	else
		print_text(p, &t, strict, out);
	*ret_failed = t.failed > 0;
	rc = kx_rdb_finish_output(&db, out);
out:
	kx_rdb_close(&db);
	return rc;
}
