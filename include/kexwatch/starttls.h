/* SPDX-License-Identifier: BSD-2-Clause */
/* starttls.h: following the cleartext phase of a connection up to an in-band
 * upgrade to TLS, so the engine knows where TLS starts in each direction.
 *
 * SMTP (RFC 3207), IMAP and POP3 (RFC 2595), FTP (RFC 4217), LDAP (RFC 4511
 * section 4.14), XMPP (RFC 6120 section 5.4), PostgreSQL (SSLRequest,
 * protocol 3.0 "Message Flow: SSL Session Encryption") and MySQL/MariaDB
 * (Protocol::SSLRequest after a protocol-10 greeting).
 *
 * The protocol is decided from the first bytes (server greeting or client
 * opener), never from the port alone. Each direction is cut into units
 * (lines, XML tags, BER or length-framed packets) held in a small fixed
 * buffer; only the first KX_ST_UNIT_MAX bytes of a unit are kept, which is
 * enough to read a verb, a reply code or a packet header. Nothing is
 * allocated. A flow that never upgrades is given up after a bounded number
 * of units and bytes per direction.
 */
#ifndef KEXWATCH_STARTTLS_H
#define KEXWATCH_STARTTLS_H

#include <stdbool.h>
#include <stdint.h>

#include "kexwatch/hs.h"

enum kx_starttls_proto {
	KX_ST_UNKNOWN = 0,
	KX_ST_SMTP,
	KX_ST_IMAP,
	KX_ST_POP3,
	KX_ST_FTP,
	KX_ST_LDAP,
	KX_ST_XMPP,
	KX_ST_POSTGRES,
	KX_ST_MYSQL,
	KX_ST_MAX
};

#define KX_ST_UNIT_MAX 512          /* bytes of one unit kept for inspection */
#define KX_ST_LINE_CAP 4096         /* longer lines are skipped and counted */
#define KX_ST_MAX_UNITS 64          /* lines / packets per direction */
#define KX_ST_MAX_BYTES (32 * 1024) /* cleartext bytes per direction */

struct kx_starttls_dir {
	uint8_t unit[KX_ST_UNIT_MAX];
	uint32_t ulen;          /* bytes of the current unit seen (may exceed the buffer) */
	uint32_t utotal;        /* framed protocols: unit length once its header is in */
	uint32_t units;
	uint32_t bytes;
	uint8_t head[16];       /* first bytes, while the protocol is not known */
	uint8_t head_len;
	bool head_done;
	bool long_line;         /* current line passed KX_ST_LINE_CAP */
	bool maybe;             /* TLS may start at the next unit boundary */
	bool open;              /* XMPP: inside <starttls> or <proceed> */
	bool tls;
};

struct kx_starttls {
	struct kx_starttls_dir d[2]; /* [0] client, [1] server */
	uint8_t proto;          /* enum kx_starttls_proto, or the SMTP/FTP "220" family */
	bool gave_up;
	bool greeted;           /* the server greeting is complete */
	bool greet_smtp;        /* greeting text names SMTP / FTP: a tie-breaker */
	bool greet_ftp;
	bool in_data;           /* SMTP: client inside a DATA body */
	bool pending;           /* an upgrade command waits for its answer */
	bool answer_ok;         /* the server accepted an upgrade */
	bool client_ssl;        /* MySQL: the client asked for TLS */
	bool server_no_ssl;     /* MySQL: the greeting lacks CLIENT_SSL */
	bool refused;           /* PostgreSQL: an SSLRequest was answered 'N' */
	uint16_t multi;         /* reply code of a multi-line reply in progress */
	uint16_t server_port;
	uint32_t cmds;          /* client commands completed */
	uint32_t replies;       /* server replies completed, greeting excluded */
	uint32_t upgrade_cmd;   /* 1-based index of the latest upgrade command */
	uint32_t ok_reply;      /* counted protocols: the command index accepted, else 0 */
	uint32_t ldap_id;
	uint8_t pg_req[4];      /* PostgreSQL: kinds of the first requests */
	uint8_t pg_nreq;
	uint8_t tag_len;
	char tag[32];           /* IMAP: tag of the STARTTLS command */
	uint32_t anomalies;     /* overlong lines, unparsable replies */
};

/* "smtp", "imap", ... ; "unknown" for anything else. */
const char *kx_starttls_name(enum kx_starttls_proto p);

void kx_starttls_init(struct kx_starttls *st);

/* Optional: the server port, used only to tell SMTP from FTP when neither the
 * greeting nor the client's first command does. */
void kx_starttls_set_port(struct kx_starttls *st, uint16_t server_port);

/* Feeds the next bytes of one direction. Returns how many of them belong to
 * the cleartext phase (<= len). When TLS begins in this direction at or
 * inside this piece, sets *ret_tls: the bytes after the returned count are
 * the first TLS bytes of the direction (there may be none of them yet).
 * After that the direction must not be fed again (it would return 0 with
 * *ret_tls set). After giving up every byte is reported as cleartext. The
 * bytes are only read during the call. */
uint32_t kx_starttls_feed(struct kx_starttls *st, bool from_client, const uint8_t *data,
			  uint32_t len, bool *ret_tls);

/* Why a session that was followed stayed in cleartext (call once it gave up
 * or ended without TLS): KX_R_STARTTLS_REFUSED when the client asked and
 * the server said no, KX_R_SSL_REFUSED for a PostgreSQL 'N' or a MySQL
 * server greeting without SSL, else KX_R_STARTTLS_NOT_OFFERED. */
enum kx_reason kx_starttls_outcome(const struct kx_starttls *st);

/* The protocol once decided, else KX_ST_UNKNOWN. */
enum kx_starttls_proto kx_starttls_proto(const struct kx_starttls *st);

/* Not a known protocol, the upgrade was refused for good, or no upgrade came
 * within the bounds: stop feeding. */
bool kx_starttls_gave_up(const struct kx_starttls *st);

bool kx_starttls_tls_started(const struct kx_starttls *st, bool from_client);

uint32_t kx_starttls_anomalies(const struct kx_starttls *st);

/* Cheap test on the first bytes of a direction, to decide whether to follow
 * a flow at all: a server greeting ("220 ", "* OK", "+OK", "<?xml",
 * "<stream:stream", a MySQL protocol-10 greeting) or a client opener
 * (PostgreSQL SSLRequest, an LDAP StartTLS ExtendedRequest, an XMPP stream
 * header). */
bool kx_starttls_looks_like(bool from_client, const uint8_t *data, uint32_t len);

#endif
