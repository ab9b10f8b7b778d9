/* SPDX-License-Identifier: BSD-2-Clause */
/* report.h: read-only reports over the inventory.
 *
 * Every report opens the database with SQLITE_OPEN_READONLY and PRAGMA
 * query_only, never creates it, reads inside one transaction (one snapshot
 * while a capture keeps writing) and accepts every schema version from 1 to
 * the one this build writes. Functions return 0, or -1 with a message in
 * err, unless they say otherwise. Text from the wire (SNI, ALPN) is printed
 * with control bytes as \xNN in tables, escaped in JSON, quoted in CSV and
 * entity-escaped in HTML.
 */
#ifndef KEXWATCH_REPORT_H
#define KEXWATCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kx_out_format { KX_OUT_TABLE = 0, KX_OUT_JSON, KX_OUT_CSV };

/* How the tables of hops, clients, fingerprints and changes print (one
 * setting for the process; zero: every row and column, any width). */
struct kx_table_opts {
	size_t width;          /* fit into this many columns (a terminal); 0: no limit */
	long long limit;       /* print the first limit rows and count the rest; 0: all */
	const char *columns;   /* "a,b,c": these result columns in this order; NULL: the report's */
};

void kx_table_configure(const struct kx_table_opts *o);

/* The usage error of the last report (an unknown --columns name, with the
 * list of names), or NULL. */
const char *kx_table_error(void);

/* Which handshakes a report looks at: first ClientHello segment in
 * [since_us, until_us), from one sensor (NULL: all), last packet at or after
 * live_from_us. kx_report_filter_init sets "everything". */
struct kx_report_filter {
	int64_t since_us;
	int64_t until_us;
	int64_t live_from_us;
	const char *sensor;
};

void kx_report_filter_init(struct kx_report_filter *f);

/* "24h", "90m", "7d", "2w", "30s" (a bare number is seconds) to
 * microseconds; -1 when not a duration. */
int kx_report_parse_duration(const char *s, int64_t *ret_us);

/* A point in time: RFC 3339 ("2026-11-22T10:00:00Z", fractions and
 * "+01:00" offsets accepted, "2026-11-22" is midnight UTC), or a duration
 * meaning that long before now_us. -1 when neither. */
int kx_report_parse_time(const char *s, int64_t now_us, int64_t *ret_us);

/* --- hops: one line per server endpoint, or per SNI, server or pair --- */

enum kx_hops_group { KX_HOPS_ENDPOINT = 0, KX_HOPS_SNI, KX_HOPS_SERVER, KX_HOPS_PAIR };
enum kx_hops_sort { KX_HOPS_SORT_RISK = 0, KX_HOPS_SORT_HANDSHAKES, KX_HOPS_SORT_CLIENTS,
		    KX_HOPS_SORT_LAST_SEEN, KX_HOPS_SORT_NAME };

struct kx_hops_opts {
	struct kx_report_filter f;
	enum kx_hops_group group;
	enum kx_hops_sort sort;
	/* > 0: only handshakes whose last packet is within live_us before the
	 * newest row of the filter (or before now_us when live_from_now). */
	int64_t live_us;
	bool live_from_now;
	int64_t now_us;
};

void kx_hops_opts_init(struct kx_hops_opts *o);

/* Parse --group-by / --sort words; -1 when unknown. */
int kx_hops_parse_group(const char *s, enum kx_hops_group *ret);
int kx_hops_parse_sort(const char *s, enum kx_hops_sort *ret);

/* One line per server endpoint (server IP, port, SNI), riskiest first. */
int kx_report_hops(const char *db_path, enum kx_out_format fmt, FILE *out,
		   char *err, size_t errlen);

/* The same with grouping, sorting, filters and the live window. */
int kx_report_hops_with(const char *db_path, const struct kx_hops_opts *o,
			enum kx_out_format fmt, FILE *out, char *err, size_t errlen);

/* --- changes: what got worse (or better) since a baseline --- */

struct kx_changes_opts {
	struct kx_report_filter f;  /* the window (and sensor) */
	int64_t baseline_since_us;  /* the baseline: [since, until), before the window */
	int64_t baseline_until_us;
	enum kx_hops_group group;   /* how endpoints are grouped, as in hops */
};

void kx_changes_opts_init(struct kx_changes_opts *o);

/* Prints one line per change, worse ones first; *ret_worse counts them. */
int kx_report_changes(const char *db_path, const struct kx_changes_opts *o,
		      enum kx_out_format fmt, FILE *out, int *ret_worse, char *err,
		      size_t errlen);

/* --- clients: one line per client IP, the ones offering no PQ first --- */

int kx_report_clients(const char *db_path, const struct kx_report_filter *f,
		      enum kx_out_format fmt, FILE *out, char *err, size_t errlen);

/* --- fingerprints: one line per JA4 + kx_fp (HASSH + kex), classical-only first --- */

int kx_report_fingerprints(const char *db_path, const struct kx_report_filter *f,
			   enum kx_out_format fmt, FILE *out, char *err, size_t errlen);

/* --- audit: a policy file judged against the handshakes --- */

enum kx_audit_status { KX_AUDIT_PASS = 0, KX_AUDIT_WARN, KX_AUDIT_FAIL, KX_AUDIT_NO_TRAFFIC };

struct kx_policy;

/* Parses a policy file. Returns NULL with "FILE:LINE: what" in err. */
struct kx_policy *kx_policy_load(const char *path, char *err, size_t errlen);

/* The same from text; name stands for the file in messages. */
struct kx_policy *kx_policy_parse(const char *text, const char *name, char *err, size_t errlen);

void kx_policy_free(struct kx_policy *p);

/* Judges every filtered handshake by the first rule it matches and prints
 * the verdict of each rule with its evidence. strict: a required rule that
 * matched no deciding handshake fails. *ret_failed is set to true when a
 * required rule failed. */
int kx_report_audit(const char *db_path, struct kx_policy *p,
		    const struct kx_report_filter *f, bool strict, enum kx_out_format fmt,
		    FILE *out, bool *ret_failed, char *err, size_t errlen);

/* --- health: what a hybrid rollout breaks --- */

/* The size from which a ClientHello is "large": one Ethernet MTU. */
#define KX_HEALTH_LARGE_CH 1500

int kx_report_health(const char *db_path, const struct kx_report_filter *f,
		     enum kx_out_format fmt, FILE *out, char *err, size_t errlen);

/* --- groups: the registry --- */

/* `kexwatch groups`: the group registry (built in and --groups overrides,
 * loaded before) as a table, JSON or CSV. */
int kx_report_groups(enum kx_out_format fmt, FILE *out, char *err, size_t errlen);

/* --- sql: one read-only statement --- */

/* Runs one statement on a read-only connection whose authorizer allows
 * only reads (SELECT, reading pragmas without a value) and refuses
 * ATTACH/DETACH, writes, transactions and pragma writes; more than one
 * statement is an error. Returns 0, -1 on a database error, -2 when the
 * statement is refused (err says why). */
int kx_report_sql(const char *db_path, const char *sql, enum kx_out_format fmt, FILE *out,
		  char *err, size_t errlen);

/* --- report --html: one self-contained HTML page --- */

int kx_report_html(const char *db_path, const struct kx_report_filter *f, int64_t now_us,
		   FILE *out, char *err, size_t errlen);

/* --- cbom: CycloneDX JSON BOM of the cryptography observed --- */

/* spec_minor: 6 (CycloneDX 1.6) or 7 (1.7). The same inventory and filter
 * give the same bytes (serial number and timestamp derive from the rows). */
int kx_report_cbom(const char *db_path, const struct kx_report_filter *f, int spec_minor,
		   FILE *out, char *err, size_t errlen);

#endif
