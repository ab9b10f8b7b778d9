/* SPDX-License-Identifier: BSD-2-Clause */
/* emit.h: turning a struct kx_hs into text: addresses, timestamps, JSON
 * fragments and the JSON-lines event. Shared by store/ (SQLite), report/ and
 * the JSON lines writer.
 *
 * Strings that come from the wire (SNI, ALPN, nDPI labels) are arbitrary
 * bytes. Everything written here is well-formed UTF-8: bytes that are not
 * part of a well-formed sequence become U+FFFD, and JSON text additionally
 * escapes '"', '\\', and control characters (as \u00XX), so output always
 * parses whatever the peer sent.
 *
 * Buffer functions follow snprintf: they return the length the full text
 * needs, store what fits, and always NUL-terminate when len > 0, so a short
 * buffer shows as a return value >= len.
 */
#ifndef KEXWATCH_EMIT_H
#define KEXWATCH_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kexwatch/hs.h"

/* "192.0.2.1" or "2001:db8::1"; "" for an unset family; buf >= 46 bytes. */
const char *kx_addr_str(const struct kx_addr *a, char *buf, size_t len);

/* RFC 3339 UTC with microseconds: "2026-11-22T10:00:00.123456Z"; buf >= 32. */
const char *kx_time_str(uint64_t ts_us, char *buf, size_t len);

/* "tcp" for 6, "udp" for 17, "other" otherwise. */
const char *kx_transport_name(uint8_t transport);

/* JSON array of code points: "[4588,29]". Also used for versions and
 * signature algorithms, which are code points too. */
size_t kx_groups_json(const uint16_t *v, unsigned n, char *buf, size_t len);

/* JSON array of strings from a ','-joined ALPN list of n bytes: "h2,http/1.1"
 * gives "[\"h2\",\"http/1.1\"]", "" gives "[]". */
size_t kx_alpn_json(const char *alpn, size_t n, char *buf, size_t len);

/* Key-share groups, one array per ClientHello: "[[4588,29]]", "[[29],[4588]]". */
size_t kx_shares_json(const struct kx_hs *hs, char *buf, size_t len);

/* Copies n bytes as well-formed UTF-8, each stray byte replaced by U+FFFD
 * (3 bytes), so buf needs at most 3 * n + 1 bytes. */
size_t kx_utf8_clean(const char *s, size_t n, char *buf, size_t len);

/* Writes n bytes as one quoted, escaped JSON string. */
void kx_json_fputs(FILE *f, const char *s, size_t n);

/* The derived fields of a handshake, computed in one place so the database
 * row and the JSON event never disagree. A NULL pointer means "does not
 * apply" (SQL NULL, JSON null). */
struct kx_hs_text {
	char ts_first[32], ts_last[32];
	char client_ip[46], server_ip[46];
	const char *transport;
	const char *version;      /* "TLS1.3"; NULL without a ServerHello */
	const char *group_name;   /* name or "0x1234"; NULL without a group */
	const char *group_family; /* kx_family_name; NULL without a group */
	const char *tls12_kx;     /* "ECDHE"...; NULL for TLS 1.3 or no ServerHello */
	const char *verdict;
	const char *reason;       /* NULL for KX_R_NONE */
	unsigned n_ch;            /* ClientHellos kept: hs->n_ch clamped to 2 */
	bool offers_pq;           /* any group or share in any ClientHello is PQ */
	bool list_overflow;       /* some ClientHello list was longer than kept */
	char version_buf[8], group_buf[72];
};

void kx_hs_text(const struct kx_hs *hs, struct kx_hs_text *t);

struct kx_json;

/* The version of the event contract (contrib/schema/kexwatch-event.schema.json):
 * 2 added event_type, id, community_id and the database's column names. */
#define KX_EVENT_SCHEMA_VERSION 2

/* Community ID v1 of the handshake's flow ("1:" + base64 of SHA-1); returns
 * its length, 0 (buf "") when the addresses are not both IPv4 or IPv6.
 * buf >= 31 bytes. */
size_t kx_community_id(const struct kx_hs *hs, uint16_t seed, char *buf, size_t len);

/* The Community ID seed of every following event (default 0). */
void kx_json_set_seed(struct kx_json *j, uint16_t seed);

/* A "run" event: phase "start" or "end", the run's start and this event's
 * time, the database's run id (<= 0: none) and, at the end, the handshake
 * and session events written since the start. Flushed at once. */
int kx_json_write_run(struct kx_json *j, const char *phase, const char *sensor,
		      uint64_t start_us, uint64_t now_us, long long run_id);

/* Opens a JSON-lines output: a path, opened for appending so restarts keep
 * earlier events, or "-" for stdout. Returns NULL with a message in err. */
struct kx_json *kx_json_open(const char *path, char *err, size_t errlen);

/* Writes one event, one line; sensor and source name the observation point
 * and may be NULL (written as null). Output is buffered by stdio until
 * kx_json_flush. Returns 0, or -1 once the stream has failed. */
int kx_json_write(struct kx_json *j, const struct kx_hs *hs, const char *sensor,
		  const char *source);

/* One fflush; returns 0, or -1 when the stream reported a write error. */
int kx_json_flush(struct kx_json *j);

/* Closes and reopens the output file (SIGHUP after log rotation); stdout is
 * left alone. Returns 0, or -1 (still writing to the old file). */
int kx_json_reopen(struct kx_json *j, char *err, size_t errlen);

/* Flushes and closes (stdout is flushed, not closed); accepts NULL. */
void kx_json_close(struct kx_json *j);

/* The fingerprint and signature-readiness fields of a handshake (issue
 * 18), as the database stores them; the JSON event carries the same values
 * (json_out.c). NULL / -1 mean "does not apply" (SQL NULL). */
#define KX_FP_KX_MAX ((KX_MAX_GROUPS + KX_MAX_SHARES) * 5 + 2)
struct kx_hs_fp {
	const char *ja4, *ja4_2, *ja4s, *ja4s_hrr; /* JA4 of each ClientHello, JA4S */
	const char *kx_fp, *kx_fp_2;  /* key-exchange suffix; SSH: the client's kex list */
	const char *hassh, *hassh_server;
	bool offers_mldsa;            /* some ClientHello's signature_algorithms lists ML-DSA */
	const char *key_share_sizes;  /* JSON: [[1216,32]]; SSH [[Q_C]]; NULL when not read */
	int64_t server_share_size;    /* -1 when not read */
	const char *kx_anomalies;     /* "client-share-size,group-not-offered"; NULL when none */
	const char *cert_status;      /* TLS with a ServerHello: "seen", "encrypted", ... */
	const char *cert_key, *cert_curve, *cert_sig; /* leaf certificate (cert_status seen) */
	int64_t cert_key_bits, ske_sigalg; /* -1 when none */
	char kx_fp_buf[KX_FP_KX_MAX], kx_fp2_buf[KX_FP_KX_MAX];
	char sizes_buf[2 * 6 * (KX_MAX_SHARES + 1) + 8];
	char anom_buf[80];
};

void kx_hs_fp(const struct kx_hs *hs, struct kx_hs_fp *f);

#endif
