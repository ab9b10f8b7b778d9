/* SPDX-License-Identifier: BSD-2-Clause */
/* cbom.c: `kexwatch cbom`: the cryptography observed, as a CycloneDX 1.6
 * (or 1.7) JSON BOM.
 *
 * One cryptographic-asset component per algorithm seen negotiated (key
 * exchange group or SSH method, SSH host key algorithm, the bulk cipher of
 * each cipher suite, TLS 1.2 RSA key transport), one protocol component
 * per endpoint (protocol, server IP, port, SNI) and version, and a
 * dependency from each endpoint to the algorithms it used. Handshakes that
 * negotiated nothing observable (no ServerHello, no SSH method) say
 * nothing about an endpoint's cryptography and are left out.
 *
 * The output is a function of the rows in the window only: the timestamp
 * is the newest handshake's last packet, the serial number a UUID made
 * from the SHA-256 of the rest of the document, so two runs on the same
 * inventory and window give the same bytes.
 */
#include "report_int.h"

#include <gcrypt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/algos.h"
#include "kexwatch/central.h"
#include "kexwatch/emit.h"
#include "kexwatch/fingerprint.h"
#include "kexwatch/groups.h"
#include "kx_config.h"

/* One row per distinct combination, in endpoint order; COUNT: the
 * handshakes of a row of hx. */
#define CBOM_SQL(CTE, COUNT)                                                            \
	"WITH " CTE                                                                     \
	" SELECT protocol, server_ip, server_port, coalesce(sni, ''), version, cipher_suite," \
	" group_code, group_name, group_family, tls12_kx, %s, verdict,"                 \
	" " COUNT ", min(ts_first_us), max(ts_last_us)"                                 \
	" FROM hx WHERE group_name IS NOT NULL OR (version IS NOT NULL AND protocol <> 'ssh')" \
	" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"                               \
	" ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12"

static const char cbom_sql[] = CBOM_SQL(KX_SQL_FILTERED_HS, "count(*)");
/* The full range of a schema 13 file: rollup_cbom plus the rows not
 * folded yet (report_db.c's kx_cbom_rolled). */
static const char cbom_rolled_sql[] =
	CBOM_SQL("hx AS (SELECT * FROM kx_cbom_rolled WHERE :sensor IS NULL OR sensor = :sensor)",
		 "sum(n)");

/* A central store (schema 7 on, as hops): PostgreSQL groups the rows of
 * the window and only the groups come back (kx_answer); SQLite sorts them
 * as cbom_sql does (byte order, NULLs first), so the BOM is the same
 * bytes. */
#define PG_CBOM_MIN_SCHEMA 7
static const char pg_cbom_sql[] =
	"SELECT protocol, server_ip, server_port, coalesce(sni, '') AS sni, version, cipher_suite,"
	" group_code, group_name, group_family, tls12_kx, ssh_hostkey, verdict, count(*) AS n,"
	" min(ts_first_us) AS first_us, max(ts_last_us) AS last_us FROM handshakes" KX_PG_WINDOW
	" AND (group_name IS NOT NULL OR (version IS NOT NULL AND protocol <> 'ssh'))"
	" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12";
static const char answer_sql[] =
	"SELECT * FROM kx_answer ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12";

/* Opens r on the answer of a central store; 1: the store needs the
 * snapshot instead, -1: failed (message in err). */
static int cbom_central(struct kx_rdb *r, const char *url, const struct kx_report_filter *f,
			char *err, size_t errlen)
{
	return kx_rdb_pg_answer(r, url, PG_CBOM_MIN_SCHEMA, f, pg_cbom_sql, err, errlen);
}

struct seen {
	long long n;
	int64_t first, last;
};

static void seen_add(struct seen *s, long long n, int64_t first, int64_t last)
{
	if (!s->n || first < s->first)
		s->first = first;
	if (!s->n || last > s->last)
		s->last = last;
	s->n += n;
}

struct algo {
	char name[96];
	const struct kx_algo *f;
	const char *role;    /* "key-exchange", "signature", "cipher", "key-transport" */
	char family[16];     /* kexwatch's family of a key exchange, or "" */
	int code;            /* TLS group code, or -1 */
	struct seen s;
	long long endpoints;
};

struct algos {
	struct algo *v;
	size_t n, cap;
};

#define MAX_REFS 64 /* algorithms one endpoint+version can use; more are counted */

struct endpoint {
	char key[512];
	const char *protocol; /* the row's text lives in ep_text */
	char protocol_buf[16], server_ip[64], sni[300], version[16];
	long long port;
	struct seen s;
	long long v_hybrid, v_pq, v_draft, v_classical, v_other;
	uint16_t suites[MAX_REFS];
	size_t n_suites;
	size_t refs[MAX_REFS]; /* indexes into algos */
	size_t n_refs;
	long long refs_dropped;
};

static struct algo *algo_get(struct algos *a, const char *name, const char *role, int code)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0 && strcmp(a->v[i].role, role) == 0)
			return &a->v[i];
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 32;
		struct algo *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	struct algo *x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->role = role;
	x->code = code;
	return x;
}

static void ep_ref(struct endpoint *e, size_t idx)
{
	for (size_t i = 0; i < e->n_refs; i++)
		if (e->refs[i] == idx)
			return;
	if (e->n_refs < MAX_REFS)
		e->refs[e->n_refs++] = idx;
	else
		e->refs_dropped++;
}

static void ep_suite(struct endpoint *e, uint16_t code)
{
	for (size_t i = 0; i < e->n_suites; i++)
		if (e->suites[i] == code)
			return;
	if (e->n_suites < MAX_REFS)
		e->suites[e->n_suites++] = code;
}

static void jstr(FILE *out, const char *s)
{
	kx_json_fputs(out, s, strlen(s));
}

static void prop(FILE *out, bool *first, const char *name, const char *value)
{
	fprintf(out, "%s{\"name\":", *first ? "" : ",");
	jstr(out, name);
	fputs(",\"value\":", out);
	jstr(out, value);
	fputc('}', out);
	*first = false;
}

static void prop_n(FILE *out, bool *first, const char *name, long long v)
{
	char b[32];
	snprintf(b, sizeof(b), "%lld", v);
	prop(out, first, name, b);
}

static void prop_seen(FILE *out, bool *first, const struct seen *s)
{
	char t[32];
	prop(out, first, "kexwatch:first_seen", kx_time_str((uint64_t)s->first, t, sizeof(t)));
	prop(out, first, "kexwatch:last_seen", kx_time_str((uint64_t)s->last, t, sizeof(t)));
	prop_n(out, first, "kexwatch:handshakes", s->n);
}

static void algo_ref(FILE *out, const struct algo *a)
{
	char b[160];
	snprintf(b, sizeof(b), "kexwatch:algorithm/%s/%s", a->role, a->name);
	jstr(out, b);
}

/* "TLS1.3" -> "1.3"; SSH is 2.0 (RFC 4253); NULL when unknown. */
static const char *proto_version(const struct endpoint *e)
{
	if (strcmp(e->protocol, "ssh") == 0)
		return "2.0";
	const char *v = e->version;
	if (strncmp(v, "DTLS", 4) == 0)
		return v + 4;
	if (strncmp(v, "TLS", 3) == 0)
		return v + 3;
	return *v ? v : NULL;
}

static void ep_write(FILE *comps, FILE *deps, struct endpoint *e, struct algos *a,
		     int spec_minor, bool *first_comp, bool *first_dep)
{
	const char *ver = proto_version(e);
	const char *type = strcmp(e->protocol, "ssh") == 0 ? "ssh" : "tls";
	char name[512];
	bool first = true;

	if (spec_minor >= 7 && (strcmp(e->protocol, "dtls") == 0 || strcmp(e->protocol, "quic") == 0))
		type = e->protocol;
	else if (strcmp(type, "tls") == 0 && strcmp(e->protocol, "tls") != 0 &&
		 strcmp(e->protocol, "dtls") != 0 && strcmp(e->protocol, "quic") != 0)
		type = "other";
	snprintf(name, sizeof(name), "%s%s%s %s:%lld%s%s", e->protocol, ver ? " " : "",
		 ver ? ver : "", e->server_ip, e->port, *e->sni ? " " : "", e->sni);
	fprintf(comps, "%s{\"type\":\"cryptographic-asset\",\"bom-ref\":", *first_comp ? "" : ",");
	jstr(comps, e->key);
	fputs(",\"name\":", comps);
	jstr(comps, name);
	fputs(",\"cryptoProperties\":{\"assetType\":\"protocol\",\"protocolProperties\":{\"type\":",
	      comps);
	jstr(comps, type);
	if (ver) {
		fputs(",\"version\":", comps);
		jstr(comps, ver);
	}
	if (e->n_suites) {
		fputs(",\"cipherSuites\":[", comps);
		for (size_t i = 0; i < e->n_suites; i++) {
			const struct kx_suite *s = kx_suite_find(e->suites[i]);
			fprintf(comps, "%s{", i ? "," : "");
			if (s) {
				fputs("\"name\":", comps);
				jstr(comps, s->name);
				fputs(",", comps);
			}
			/* The suite's algorithms: its cipher, and RSA key transport. */
			fputs("\"algorithms\":[", comps);
			bool fa = true;
			for (size_t k = 0; s && k < a->n; k++) {
				const struct algo *x = &a->v[k];
				if ((strcmp(x->role, "cipher") == 0 && strcmp(x->name, s->cipher) == 0) ||
				    (strcmp(x->role, "key-transport") == 0 && s->kx &&
				     strcmp(s->kx, "RSA") == 0)) {
					if (!fa)
						fputc(',', comps);
					algo_ref(comps, x);
					fa = false;
				}
			}
			fprintf(comps, "],\"identifiers\":[\"0x%02X\",\"0x%02X\"]}",
				e->suites[i] >> 8, e->suites[i] & 0xff);
		}
		fputc(']', comps);
	}
	fputs("}},\"properties\":[", comps);
	prop(comps, &first, "kexwatch:protocol", e->protocol);
	prop(comps, &first, "kexwatch:server_ip", e->server_ip);
	prop_n(comps, &first, "kexwatch:server_port", e->port);
	if (*e->sni)
		prop(comps, &first, "kexwatch:sni", e->sni);
	prop_seen(comps, &first, &e->s);
	prop_n(comps, &first, "kexwatch:handshakes:hybrid", e->v_hybrid);
	prop_n(comps, &first, "kexwatch:handshakes:pq", e->v_pq);
	prop_n(comps, &first, "kexwatch:handshakes:hybrid-draft", e->v_draft);
	prop_n(comps, &first, "kexwatch:handshakes:classical", e->v_classical);
	prop_n(comps, &first, "kexwatch:handshakes:other", e->v_other);
	if (e->refs_dropped)
		prop_n(comps, &first, "kexwatch:algorithms_not_listed", e->refs_dropped);
	fputs("]}", comps);
	*first_comp = false;

	fprintf(deps, "%s{\"ref\":", *first_dep ? "" : ",");
	jstr(deps, e->key);
	fputs(",\"dependsOn\":[", deps);
	/* Sorted by reference so the output does not depend on row order. */
	for (size_t i = 1; i < e->n_refs; i++)
		for (size_t j = i; j > 0; j--) {
			const struct algo *p = &a->v[e->refs[j - 1]], *q = &a->v[e->refs[j]];
			int c = strcmp(p->role, q->role);
			if (c < 0 || (c == 0 && strcmp(p->name, q->name) <= 0))
				break;
			size_t t = e->refs[j];
			e->refs[j] = e->refs[j - 1];
			e->refs[j - 1] = t;
		}
	for (size_t i = 0; i < e->n_refs; i++) {
		a->v[e->refs[i]].endpoints++;
		if (i)
			fputc(',', deps);
		algo_ref(deps, &a->v[e->refs[i]]);
	}
	fputs("]}", deps);
	*first_dep = false;
}

static int algo_cmp(const void *x, const void *y)
{
	const struct algo *p = x, *q = y;
	int c = strcmp(p->role, q->role);
	return c ? c : strcmp(p->name, q->name);
}

static void functions(FILE *out, const char *list)
{
	fputs("\"cryptoFunctions\":[", out);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		fprintf(out, "%s\"%.*s\"", p == list ? "" : ",", (int)n, p);
		p += n + (c ? 1 : 0);
	}
	fputc(']', out);
}

static void algo_write(FILE *out, const struct algo *x, int spec_minor, bool first_comp)
{
	const struct kx_algo *f = x->f;
	bool first = true;

	fprintf(out, "%s{\"type\":\"cryptographic-asset\",\"bom-ref\":", first_comp ? "" : ",");
	algo_ref(out, x);
	fputs(",\"name\":", out);
	jstr(out, x->name);
	fputs(",\"cryptoProperties\":{\"assetType\":\"algorithm\",\"algorithmProperties\":{", out);
	fputs("\"primitive\":", out);
	jstr(out, f ? f->primitive : "unknown");
	if (f && f->param_set) {
		fputs(",\"parameterSetIdentifier\":", out);
		jstr(out, f->param_set);
	}
	/* 1.7 deprecates curve for an enumerated ellipticCurve: left out there. */
	if (f && f->curve && spec_minor < 7) {
		fputs(",\"curve\":", out);
		jstr(out, f->curve);
	}
	if (f && f->mode) {
		fputs(",\"mode\":", out);
		jstr(out, f->mode);
	}
	if (f) {
		fputc(',', out);
		functions(out, f->functions);
		if (f->classical_bits)
			fprintf(out, ",\"classicalSecurityLevel\":%d", f->classical_bits);
		fprintf(out, ",\"nistQuantumSecurityLevel\":%d", f->nist_level);
	}
	fputc('}', out);
	if (f && f->oid) {
		fputs(",\"oid\":", out);
		jstr(out, f->oid);
	}
	fputs("},\"properties\":[", out);
	prop(out, &first, "kexwatch:role", x->role);
	if (*x->family)
		prop(out, &first, "kexwatch:family", x->family);
	if (x->code >= 0) {
		char b[16];
		snprintf(b, sizeof(b), "0x%04x", (unsigned)x->code & 0xffff);
		prop(out, &first, "kexwatch:tls_group", b);
	}
	prop_seen(out, &first, &x->s);
	prop_n(out, &first, "kexwatch:endpoints", x->endpoints);
	fputs("]}", out);
}

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : NULL;
}

/* Adds one row's algorithms to the endpoint and the algorithm list. */
static int row_algos(sqlite3_stmt *s, struct endpoint *e, struct algos *a, long long n,
		     int64_t first, int64_t last)
{
	bool ssh = strcmp(e->protocol, "ssh") == 0;
	const char *gname = col(s, 7), *gfam = col(s, 8), *kx = col(s, 9), *hostkey = col(s, 10);
	struct algo *x;

	if (gname) {
		int code = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 6);
		const struct kx_algo *f = ssh ? kx_algo_ssh(gname)
				      : code >= 0 ? kx_algo_group((uint16_t)code) : NULL;
		/* The registry's name, not a --groups file's, when the code is known. */
		if (!(x = algo_get(a, f ? f->name : gname, "key-exchange", ssh ? -1 : code)))
			return -1;
		x->f = f;
		if (!ssh && code >= 0)
			snprintf(x->family, sizeof(x->family), "%s",
				 kx_family_name(kx_group_family((uint16_t)code)));
		else if (gfam && !*x->family)
			snprintf(x->family, sizeof(x->family), "%s", gfam);
		seen_add(&x->s, n, first, last);
		ep_ref(e, (size_t)(x - a->v));
	}
	if (ssh && hostkey && *hostkey) {
		if (!(x = algo_get(a, hostkey, "signature", -1)))
			return -1;
		x->f = kx_algo_ssh(hostkey);
		seen_add(&x->s, n, first, last);
		ep_ref(e, (size_t)(x - a->v));
	}
	if (!ssh && sqlite3_column_type(s, 5) != SQLITE_NULL) {
		uint16_t code = (uint16_t)sqlite3_column_int(s, 5);
		const struct kx_suite *su = kx_suite_find(code);
		ep_suite(e, code);
		if (su) {
			if (!(x = algo_get(a, su->cipher, "cipher", -1)))
				return -1;
			x->f = kx_algo_by_name(su->cipher);
			seen_add(&x->s, n, first, last);
			ep_ref(e, (size_t)(x - a->v));
		}
		if ((su && su->kx && strcmp(su->kx, "RSA") == 0) || (kx && strcmp(kx, "RSA") == 0)) {
			if (!(x = algo_get(a, "RSA", "key-transport", -1)))
				return -1;
			x->f = kx_algo_by_name("RSA");
			seen_add(&x->s, n, first, last);
			ep_ref(e, (size_t)(x - a->v));
		}
	}
	return 0;
}

static void count_verdict(struct endpoint *e, const char *v, long long n)
{
	if (!v)
		e->v_other += n;
	else if (strcmp(v, "hybrid") == 0)
		e->v_hybrid += n;
	else if (strcmp(v, "pq") == 0)
		e->v_pq += n;
	else if (strcmp(v, "hybrid-draft") == 0)
		e->v_draft += n;
	else if (strcmp(v, "classical") == 0)
		e->v_classical += n;
	else
		e->v_other += n;
}

/* The body (everything after the serial number) into a memory stream;
 * central: r holds a central store's answer (cbom_central). */
static int build(struct kx_rdb *r, const struct kx_report_filter *f, int spec_minor,
		 bool central, char **body, size_t *body_n)
{
	struct algos a = { 0 };
	struct endpoint *e = calloc(1, sizeof(*e));
	char *comps_buf = NULL, *deps_buf = NULL;
	size_t comps_n = 0, deps_n = 0;
	FILE *comps = open_memstream(&comps_buf, &comps_n);
	FILE *deps = open_memstream(&deps_buf, &deps_n);
	FILE *out = open_memstream(body, body_n);
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	bool first_comp = true, first_dep = true, have_ep = false;
	int64_t newest = 0;
	long long total = 0;
	int rc = -1, step;

	if (!e || !comps || !deps || !out) {
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	struct kx_report_filter all;
	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	sql = central ? sqlite3_mprintf("%s", answer_sql)
	      : r->rolled_fp && kx_rdb_full_range(r, f)
		      ? sqlite3_mprintf(cbom_rolled_sql, "ssh_hostkey")
		      : sqlite3_mprintf(cbom_sql, r->version >= 2 ? "ssh_hostkey" : "NULL");
	if (!sql) {
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	if (!(s = kx_rdb_prepare(r, sql, f)))
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *proto = col(s, 0), *ip = col(s, 1), *sni = col(s, 3), *ver = col(s, 4);
		long long port = sqlite3_column_int64(s, 2), n = sqlite3_column_int64(s, 12);
		int64_t first = sqlite3_column_int64(s, 13), last = sqlite3_column_int64(s, 14);
		char key[512];
		bool ssh = proto && strcmp(proto, "ssh") == 0;

		snprintf(key, sizeof(key), "kexwatch:endpoint/%s/%s/%lld/%s/%s", proto ? proto : "",
			 ip ? ip : "", port, sni ? sni : "", ssh ? "2.0" : ver ? ver : "");
		if (!have_ep || strcmp(key, e->key) != 0) {
			if (have_ep)
				ep_write(comps, deps, e, &a, spec_minor, &first_comp, &first_dep);
			memset(e, 0, sizeof(*e));
			snprintf(e->key, sizeof(e->key), "%s", key);
			snprintf(e->protocol_buf, sizeof(e->protocol_buf), "%s", proto ? proto : "");
			e->protocol = e->protocol_buf;
			snprintf(e->server_ip, sizeof(e->server_ip), "%s", ip ? ip : "");
			snprintf(e->sni, sizeof(e->sni), "%s", sni ? sni : "");
			snprintf(e->version, sizeof(e->version), "%s", ssh || !ver ? "" : ver);
			e->port = port;
			have_ep = true;
		}
		seen_add(&e->s, n, first, last);
		count_verdict(e, col(s, 11), n);
		if (row_algos(s, e, &a, n, first, last) < 0) {
			snprintf(r->err, r->errlen, "out of memory");
			goto out;
		}
		total += n;
		if (last > newest)
			newest = last;
	}
	if (step != SQLITE_DONE) {
		kx_rdb_fail(r);
		goto out;
	}
	if (have_ep)
		ep_write(comps, deps, e, &a, spec_minor, &first_comp, &first_dep);
	fclose(comps);
	fclose(deps);
	comps = deps = NULL;

	if (a.n) /* qsort(NULL, 0) is undefined */
		qsort(a.v, a.n, sizeof(*a.v), algo_cmp);

	char t[32];
	fprintf(out, ",\"version\":1,\"metadata\":{\"timestamp\":");
	jstr(out, kx_time_str((uint64_t)newest, t, sizeof(t)));
	fputs(",\"tools\":{\"components\":[{\"type\":\"application\",\"name\":\"kexwatch\","
	      "\"version\":", out);
	jstr(out, KX_VERSION);
	fputs("}]},\"properties\":[", out);
	bool first = true;
	if (f->since_us != INT64_MIN)
		prop(out, &first, "kexwatch:window_since", kx_time_str((uint64_t)f->since_us, t, sizeof(t)));
	if (f->until_us != INT64_MAX)
		prop(out, &first, "kexwatch:window_until", kx_time_str((uint64_t)f->until_us, t, sizeof(t)));
	if (f->sensor)
		prop(out, &first, "kexwatch:sensor", f->sensor);
	prop_n(out, &first, "kexwatch:handshakes", total);
	fputs("]},\"components\":[", out);
	for (size_t i = 0; i < a.n; i++)
		algo_write(out, &a.v[i], spec_minor, i == 0);
	if (comps_n)
		fprintf(out, "%s%.*s", a.n ? "," : "", (int)comps_n, comps_buf);
	fprintf(out, "],\"dependencies\":[%.*s]}\n", (int)deps_n, deps_buf ? deps_buf : "");
	if (fclose(out) != 0) {
		out = NULL;
		snprintf(r->err, r->errlen, "out of memory");
		goto out;
	}
	out = NULL;
	rc = 0;
out:
	if (comps)
		fclose(comps);
	if (deps)
		fclose(deps);
	if (out)
		fclose(out);
	free(comps_buf);
	free(deps_buf);
	sqlite3_finalize(s);
	sqlite3_free(sql);
	free(a.v);
	free(e);
	return rc;
}

int kx_report_cbom(const char *db_path, const struct kx_report_filter *f, int spec_minor,
		   FILE *out, char *err, size_t errlen)
{
	struct kx_rdb r;
	char *body = NULL;
	size_t body_n = 0;
	int rc = -1;

	if (spec_minor != 6 && spec_minor != 7) {
		snprintf(err, errlen, "CycloneDX 1.%d is not supported (1.6 or 1.7)", spec_minor);
		return -1;
	}
	if (kx_fp_init() < 0) {
		snprintf(err, errlen, "cannot initialise libgcrypt");
		return -1;
	}
	int c = 1;
	struct kx_report_filter all;
	if (!f) {
		kx_report_filter_init(&all);
		f = &all;
	}
	if (kx_pg_is_url(db_path) && (c = cbom_central(&r, db_path, f, err, errlen)) < 0)
		return -1;
	if (c == 1 && kx_rdb_open_scoped(&r, db_path, f, err, errlen) < 0)
		return -1;
	if (build(&r, f, spec_minor, c == 0, &body, &body_n) < 0)
		goto out;
	/* Serial number: SHA-256 of the body, as a UUID of version 8 (RFC 9562:
	 * custom), so it names this content and nothing else. */
	unsigned char d[32];
	gcry_md_hash_buffer(GCRY_MD_SHA256, d, body, body_n);
	d[6] = (unsigned char)((d[6] & 0x0f) | 0x80);
	d[8] = (unsigned char)((d[8] & 0x3f) | 0x80);
	fprintf(out, "{\"$schema\":\"http://cyclonedx.org/schema/bom-1.%d.schema.json\","
		"\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.%d\",\"serialNumber\":\"urn:uuid:",
		spec_minor, spec_minor);
	for (int i = 0; i < 16; i++)
		fprintf(out, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", d[i]);
	fputc('"', out);
	fwrite(body, 1, body_n, out);
	rc = kx_rdb_finish_output(&r, out);
out:
	free(body);
	kx_rdb_close(&r);
	return rc;
}
