/* SPDX-License-Identifier: BSD-2-Clause */
/* starttls.c: the cleartext phase of STARTTLS-style protocols, up to the
 * byte where TLS starts in each direction.
 *
 * References: SMTP RFC 3207 section 4 (STARTTLS, 220 / 454), RFC 5321
 * section 4.2 (multi-line replies "ddd-"); IMAP RFC 9051 section 6.2.1 and
 * POP3 RFC 2595 section 4 (STLS); FTP RFC 4217 section 4 (AUTH TLS, 234);
 * LDAP RFC 4511 sections 4.12 and 4.14 (ExtendedRequest [APPLICATION 23],
 * OID 1.3.6.1.4.1.1466.20037); XMPP RFC 6120 section 5.4.2 (<starttls/>,
 * <proceed/>); PostgreSQL protocol 3.0 "SSL Session Encryption" (SSLRequest
 * 80877103, answer 'S' or 'N'; GSSENCRequest 80877104); MySQL client/server
 * protocol "Protocol::HandshakeV10" and "Protocol::SSLRequest".
 *
 * Each direction is cut into units: lines for the text protocols, tags for
 * XMPP, BER messages for LDAP, length-prefixed packets for PostgreSQL and
 * MySQL. A unit's first KX_ST_UNIT_MAX bytes are copied into a fixed buffer
 * and looked at when it ends, so a piece boundary anywhere gives the same
 * result as the whole stream.
 *
 * Where TLS starts. The server's side starts after its positive answer to
 * the upgrade command; the client's side right after the command, once the
 * answer is known to be positive. The two directions are fed separately, so
 * either may run ahead. Commands and replies are therefore matched by count
 * (SMTP, FTP, POP3), tag (IMAP) or message id (LDAP), and when a positive
 * answer cannot be matched yet the unit boundary after it is marked: TLS
 * starts there when the next byte is 0x16 (a TLS handshake record, a byte no
 * text line and no BER message starts with).
 */
#include <string.h>

#include "kexwatch/rd.h"
#include "kexwatch/starttls.h"

#define CLIENT 0
#define SERVER 1

/* "220 " greets both SMTP and FTP: decided by the client's first command. */
#define P_220 (KX_ST_MAX + 1)

#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_REQ_SSL 1
#define PG_REQ_GSS 2
#define MYSQL_CLIENT_SSL 0x0800u
#define LDAP_STARTTLS_OID "1.3.6.1.4.1.1466.20037"

enum act { A_NONE, A_TLS, A_MAYBE, A_GIVE_UP };

static const char *const names[KX_ST_MAX] = {
	"unknown", "smtp", "imap", "pop3", "ftp", "ldap", "xmpp", "postgres", "mysql",
};

const char *kx_starttls_name(enum kx_starttls_proto p)
{
	if ((unsigned)p >= KX_ST_MAX)
		return "unknown";
	return names[p];
}

void kx_starttls_init(struct kx_starttls *st)
{
	memset(st, 0, sizeof(*st));
}

void kx_starttls_set_port(struct kx_starttls *st, uint16_t server_port)
{
	st->server_port = server_port;
}

enum kx_starttls_proto kx_starttls_proto(const struct kx_starttls *st)
{
	return st->proto < KX_ST_MAX ? (enum kx_starttls_proto)st->proto : KX_ST_UNKNOWN;
}

enum kx_reason kx_starttls_outcome(const struct kx_starttls *st)
{
	if (st->refused || st->server_no_ssl)
		return KX_R_SSL_REFUSED;
	if (st->upgrade_cmd && !st->answer_ok)
		return KX_R_STARTTLS_REFUSED;
	return KX_R_STARTTLS_NOT_OFFERED;
}

bool kx_starttls_gave_up(const struct kx_starttls *st)
{
	return st->gave_up;
}

bool kx_starttls_tls_started(const struct kx_starttls *st, bool from_client)
{
	return st->d[from_client ? CLIENT : SERVER].tls;
}

uint32_t kx_starttls_anomalies(const struct kx_starttls *st)
{
	return st->anomalies;
}

/* ---- small readers over a unit (a private copy of stream bytes) ---- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Consumes `lit` when the reader starts with it, ignoring case. */
static bool eat(struct kx_rd *r, const char *lit)
{
	struct kx_rd t = *r;
	for (; *lit; lit++) {
		if (!kx_rd_left(&t) || lower(kx_rd_u8(&t)) != lower((unsigned char)*lit))
			return false;
	}
	*r = t;
	return true;
}

static int peek(const struct kx_rd *r)
{
	struct kx_rd t = *r;
	return kx_rd_left(&t) ? kx_rd_u8(&t) : -1;
}

static void skip_space(struct kx_rd *r)
{
	while (peek(r) == ' ' || peek(r) == '\t')
		kx_rd_u8(r);
}

static void skip_xml_space(struct kx_rd *r)
{
	int c;
	while ((c = peek(r)) == ' ' || c == '\t' || c == '\r' || c == '\n')
		kx_rd_u8(r);
}

/* A whole word: `lit` followed by a space or the end of the line. */
static bool word(struct kx_rd *r, const char *lit)
{
	struct kx_rd t = *r;
	if (!eat(&t, lit))
		return false;
	int c = peek(&t);
	if (c != -1 && c != ' ' && c != '\t')
		return false;
	*r = t;
	return true;
}

static bool blank_rest(struct kx_rd r)
{
	skip_space(&r);
	return kx_rd_left(&r) == 0;
}

static bool contains(struct kx_rd r, const char *lit)
{
	while (kx_rd_left(&r)) {
		struct kx_rd t = r;
		if (eat(&t, lit))
			return true;
		kx_rd_u8(&r);
	}
	return false;
}

/* Three digits, or -1. */
static int code3(struct kx_rd *r)
{
	int v = 0;
	for (int i = 0; i < 3; i++) {
		int c = peek(r);
		if (c < '0' || c > '9')
			return -1;
		kx_rd_u8(r);
		v = v * 10 + (c - '0');
	}
	return v;
}

/* The current unit as a reader; text lines lose their CR LF. A line cut at
 * KX_ST_UNIT_MAX keeps what was stored. */
static struct kx_rd unit_reader(const struct kx_starttls_dir *d, bool line)
{
	uint32_t n = d->ulen;
	if (n > KX_ST_UNIT_MAX) {
		n = KX_ST_UNIT_MAX;
	} else if (line) {
		if (n && d->unit[n - 1] == '\n')
			n--;
		if (n && d->unit[n - 1] == '\r')
			n--;
	}
	return kx_rd_init(d->unit, n);
}

/* BER tag and definite length (X.690 section 8.1.3), lengths up to 2^32-1. */
static bool ber_header(struct kx_rd *r, uint8_t *ret_tag, uint32_t *ret_len)
{
	*ret_tag = kx_rd_u8(r);
	uint8_t l = kx_rd_u8(r);
	if (l < 0x80) {
		*ret_len = l;
		return !r->bad;
	}
	uint8_t n = l & 0x7f;
	if (n == 0 || n > 4)
		return false;
	uint32_t v = 0;
	for (uint8_t i = 0; i < n; i++)
		v = v << 8 | kx_rd_u8(r);
	*ret_len = v;
	return !r->bad;
}

/* LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE {...}, ...}
 * Reads up to the protocolOp header; *ret_op_len bounds its contents. */
static bool ldap_message(struct kx_rd *r, uint32_t *ret_id, uint8_t *ret_op, struct kx_rd *ret_body)
{
	uint8_t tag;
	uint32_t len;
	if (!ber_header(r, &tag, &len) || tag != 0x30)
		return false;
	if (!ber_header(r, &tag, &len) || tag != 0x02 || len < 1 || len > 4)
		return false;
	uint32_t id = 0;
	for (uint32_t i = 0; i < len; i++)
		id = id << 8 | kx_rd_u8(r);
	*ret_id = id;
	if (!ber_header(r, ret_op, &len))
		return false;
	/* The body may run past the stored part of a long message: clip it. */
	size_t left = kx_rd_left(r);
	*ret_body = kx_rd_sub(r, len < left ? len : left);
	return !r->bad;
}

/* ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, ...} */
static bool ldap_is_starttls_request(struct kx_rd r, uint32_t *ret_id)
{
	uint8_t op, tag;
	uint32_t len;
	struct kx_rd body;
	if (!ldap_message(&r, ret_id, &op, &body) || op != 0x77)
		return false;
	if (!ber_header(&body, &tag, &len) || tag != 0x80 || len != strlen(LDAP_STARTTLS_OID))
		return false;
	return eat(&body, LDAP_STARTTLS_OID);
}

/* ---- detection from the first bytes ---- */

/* Matches `lit` against the first n bytes: 1 match, 0 a prefix so far, -1 no. */
static int prefix(const uint8_t *b, uint32_t n, const char *lit)
{
	struct kx_rd r = kx_rd_init(b, n);
	for (; *lit; lit++) {
		if (!kx_rd_left(&r))
			return 0;
		if (lower(kx_rd_u8(&r)) != lower((unsigned char)*lit))
			return -1;
	}
	return 1;
}

/* MySQL HandshakeV10 header: 3-byte length, sequence 0, protocol 10. */
static int mysql_greeting_prefix(const uint8_t *b, uint32_t n)
{
	struct kx_rd r = kx_rd_init(b, n);
	if (n < 3)
		return 0;
	uint32_t plen = kx_rd_u16le(&r);
	plen |= (uint32_t)kx_rd_u8(&r) << 16;
	if (plen < 20 || plen > 1024)
		return -1;
	if (n < 4)
		return 0;
	if (kx_rd_u8(&r) != 0)
		return -1;
	if (n < 5)
		return 0;
	return kx_rd_u8(&r) == 10 ? 1 : -1;
}

static int pg_request_prefix(const uint8_t *b, uint32_t n)
{
	static const uint8_t ssl[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	struct kx_rd r = kx_rd_init(b, n);
	for (uint32_t i = 0; i < 8; i++) {
		if (!kx_rd_left(&r))
			return 0;
		uint8_t c = kx_rd_u8(&r);
		/* GSSENCRequest differs in the last byte only. */
		if (c != ssl[i] && !(i == 7 && c == 0x30))
			return -1;
	}
	return 1;
}

/* An LDAPMessage header with its messageID: enough to follow BER framing. */
static int ldap_prefix(const uint8_t *b, uint32_t n)
{
	struct kx_rd r = kx_rd_init(b, n);
	uint8_t tag;
	uint32_t len;
	if (!kx_rd_left(&r))
		return 0;
	if (peek(&r) != 0x30)
		return -1;
	if (!ber_header(&r, &tag, &len))
		return r.bad ? 0 : -1;
	if (!kx_rd_left(&r))
		return 0;
	if (kx_rd_u8(&r) != 0x02)
		return -1;
	if (!kx_rd_left(&r))
		return 0;
	uint8_t il = kx_rd_u8(&r);
	return il >= 1 && il <= 4 ? 1 : -1;
}

/* Folds several candidate results: a match wins, a live prefix keeps it open. */
static void fold(int res, int proto, int *ret_proto, bool *ret_more)
{
	if (res > 0 && !*ret_proto)
		*ret_proto = proto;
	else if (res == 0)
		*ret_more = true;
}

/* Returns the protocol, 0 while the bytes are still a prefix of some
 * opener, -1 when they match none. */
static int classify(bool from_client, const uint8_t *b, uint32_t n)
{
	int p = 0;
	bool more = false;
	fold(prefix(b, n, "<?xml"), KX_ST_XMPP, &p, &more);
	fold(prefix(b, n, "<stream:stream"), KX_ST_XMPP, &p, &more);
	if (from_client) {
		fold(pg_request_prefix(b, n), KX_ST_POSTGRES, &p, &more);
		fold(ldap_prefix(b, n), KX_ST_LDAP, &p, &more);
	} else {
		fold(prefix(b, n, "220 "), P_220, &p, &more);
		fold(prefix(b, n, "220-"), P_220, &p, &more);
		fold(prefix(b, n, "* OK"), KX_ST_IMAP, &p, &more);
		fold(prefix(b, n, "* PREAUTH"), KX_ST_IMAP, &p, &more);
		fold(prefix(b, n, "+OK"), KX_ST_POP3, &p, &more);
		fold(mysql_greeting_prefix(b, n), KX_ST_MYSQL, &p, &more);
	}
	if (p)
		return p;
	return more ? 0 : -1;
}

/* ---- answers and upgrades ---- */

/* SMTP, FTP and POP3 answer every command line with exactly one reply. */
static bool counting(const struct kx_starttls *st)
{
	return st->proto == KX_ST_SMTP || st->proto == KX_ST_FTP || st->proto == KX_ST_POP3 ||
	       st->proto == P_220;
}

/* A server reply: `matched` when it is the answer to the pending upgrade. */
static enum act answer(struct kx_starttls *st, bool ok, bool matched)
{
	if (st->pending && matched) {
		st->pending = false;
		if (!ok)
			return A_NONE; /* refused: the client may go on in cleartext */
		st->answer_ok = true;
		st->ok_reply = counting(st) ? st->upgrade_cmd : 0;
		return A_TLS;
	}
	return ok ? A_MAYBE : A_NONE;
}

/* True when the server has accepted the client's latest upgrade command. */
static bool client_go(const struct kx_starttls *st)
{
	return st->answer_ok && (st->ok_reply == 0 || st->ok_reply == st->upgrade_cmd);
}

/* The client's upgrade command is complete. */
static enum act upgrade_sent(struct kx_starttls *st)
{
	st->pending = true;
	st->upgrade_cmd = st->cmds;
	return client_go(st) ? A_TLS : A_MAYBE;
}

/* ---- SMTP and FTP ---- */

static bool port_in(uint16_t port, const uint16_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == port)
			return true;
	return false;
}

/* Both greet with "220": the client's first command tells them apart. */
static void decide_220(struct kx_starttls *st, struct kx_rd r)
{
	static const uint16_t smtp_ports[] = { 24, 25, 465, 587, 2525 };
	static const uint16_t ftp_ports[] = { 21, 990 };
	static const char *const ftp_verbs[] = { "USER", "PASS", "ACCT", "FEAT", "SYST", "PBSZ",
						 "PROT", "CLNT", "OPTS", "PWD",  "TYPE" };
	if (word(&r, "EHLO") || word(&r, "HELO") || word(&r, "LHLO")) {
		st->proto = KX_ST_SMTP;
		return;
	}
	for (size_t i = 0; i < sizeof(ftp_verbs) / sizeof(ftp_verbs[0]); i++) {
		struct kx_rd t = r;
		if (word(&t, ftp_verbs[i])) {
			st->proto = KX_ST_FTP;
			return;
		}
	}
	if (st->greet_smtp != st->greet_ftp) {
		st->proto = st->greet_smtp ? KX_ST_SMTP : KX_ST_FTP;
		return;
	}
	if (port_in(st->server_port, smtp_ports, sizeof(smtp_ports) / sizeof(smtp_ports[0]))) {
		st->proto = KX_ST_SMTP;
		return;
	}
	if (port_in(st->server_port, ftp_ports, sizeof(ftp_ports) / sizeof(ftp_ports[0]))) {
		st->proto = KX_ST_FTP;
		return;
	}
	/* SMTP requires EHLO first, so a leading AUTH is FTP's RFC 4217 opener. */
	st->proto = word(&r, "AUTH") ? KX_ST_FTP : KX_ST_SMTP;
}

static enum act line220_client(struct kx_starttls *st, struct kx_rd r)
{
	if (st->in_data) {
		/* The body ends with a lone dot, which gets the one reply. */
		if (eat(&r, ".") && !kx_rd_left(&r)) {
			st->in_data = false;
			st->cmds++;
		}
		return A_NONE;
	}
	st->cmds++;
	if (st->proto == P_220)
		decide_220(st, r);
	if (st->proto == KX_ST_SMTP) {
		if (word(&r, "STARTTLS") && blank_rest(r))
			return upgrade_sent(st);
		if (word(&r, "DATA") && blank_rest(r))
			st->in_data = true;
		return A_NONE;
	}
	if (word(&r, "AUTH")) {
		skip_space(&r);
		if (word(&r, "TLS") || word(&r, "SSL") || word(&r, "TLS-C") || word(&r, "TLS-P"))
			return upgrade_sent(st);
	}
	return A_NONE;
}

static enum act line220_server(struct kx_starttls *st, struct kx_rd r)
{
	if (!st->greeted) {
		if (contains(r, "SMTP"))
			st->greet_smtp = true;
		if (contains(r, "FTP"))
			st->greet_ftp = true;
	}
	int code = code3(&r);
	int sep = peek(&r);
	if (st->multi) {
		/* Inside a multi-line reply only "<same code> " ends it; FTP
		 * allows free text lines in between. */
		if (code + 1 != st->multi || (sep != ' ' && sep != -1))
			return A_NONE;
		st->multi = 0;
	} else if (code < 0) {
		st->anomalies++;
		return A_NONE;
	} else if (sep == '-') {
		st->multi = (uint16_t)(code + 1);
		return A_NONE;
	}
	if (!st->greeted) {
		st->greeted = true;
		return A_NONE;
	}
	st->replies++;
	bool ok;
	if (st->proto == KX_ST_SMTP)
		ok = code == 220;
	else if (st->proto == KX_ST_FTP)
		ok = code == 234;
	else
		ok = code == 220 || code == 234;
	return answer(st, ok, st->replies >= st->upgrade_cmd);
}

/* ---- IMAP and POP3 ---- */

static uint8_t read_tag(struct kx_rd *r, char *tag, size_t cap)
{
	uint8_t n = 0;
	while (kx_rd_left(r) && peek(r) != ' ') {
		uint8_t c = kx_rd_u8(r);
		if (n + 1u < cap)
			tag[n++] = (char)c;
	}
	tag[n] = 0;
	return n;
}

static enum act imap_client(struct kx_starttls *st, struct kx_rd r)
{
	char tag[sizeof(st->tag)];
	uint8_t n = read_tag(&r, tag, sizeof(tag));
	skip_space(&r);
	st->cmds++;
	if (n && word(&r, "STARTTLS") && blank_rest(r)) {
		memcpy(st->tag, tag, sizeof(tag));
		st->tag_len = n;
		return upgrade_sent(st);
	}
	return A_NONE;
}

static enum act imap_server(struct kx_starttls *st, struct kx_rd r)
{
	if (!st->greeted) {
		st->greeted = true;
		return A_NONE;
	}
	char tag[sizeof(st->tag)];
	uint8_t n = read_tag(&r, tag, sizeof(tag));
	skip_space(&r);
	/* Untagged data and continuation requests answer nothing. */
	if (n == 0 || strcmp(tag, "*") == 0 || strcmp(tag, "+") == 0)
		return A_NONE;
	st->replies++;
	bool matched = n == st->tag_len && strcmp(tag, st->tag) == 0;
	return answer(st, word(&r, "OK"), matched);
}

static enum act pop3_client(struct kx_starttls *st, struct kx_rd r)
{
	st->cmds++;
	if (word(&r, "STLS") && blank_rest(r))
		return upgrade_sent(st);
	return A_NONE;
}

static enum act pop3_server(struct kx_starttls *st, struct kx_rd r)
{
	if (!st->greeted) {
		st->greeted = true;
		return A_NONE;
	}
	/* Status lines and SASL "+ " continuations each answer one command
	 * line; the lines of a multi-line body answer nothing. */
	bool ok = word(&r, "+OK");
	if (!ok && !word(&r, "-ERR") && !word(&r, "+"))
		return A_NONE;
	st->replies++;
	return answer(st, ok, st->replies >= st->upgrade_cmd);
}

/* ---- XMPP ---- */

/* The current tag ends in "/>" (an empty element). */
static bool xml_empty(struct kx_rd r)
{
	size_t n = kx_rd_left(&r);
	if (n < 2)
		return false;
	kx_rd_skip(&r, n - 2);
	return kx_rd_u8(&r) == '/';
}

/* "<name" followed by a space, '/' or '>'. */
static bool xml_open(struct kx_rd *r, const char *name)
{
	struct kx_rd t = *r;
	if (!eat(&t, "<") || !eat(&t, name))
		return false;
	int c = peek(&t);
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>';
}

static bool xml_close(struct kx_rd *r, const char *name)
{
	struct kx_rd t = *r;
	return eat(&t, "</") && eat(&t, name);
}

static enum act xmpp_unit(struct kx_starttls *st, int dir, struct kx_rd r)
{
	struct kx_starttls_dir *d = &st->d[dir];
	struct kx_rd whole = r;
	skip_xml_space(&r);
	if (dir == CLIENT) {
		bool done = false;
		if (xml_open(&r, "starttls")) {
			st->cmds++;
			if (xml_empty(whole))
				done = true;
			else
				d->open = true;
		} else if (d->open && xml_close(&r, "starttls")) {
			d->open = false;
			done = true;
		}
		return done ? upgrade_sent(st) : A_NONE;
	}
	/* <proceed/> only ever answers <starttls/>: no matching needed. */
	bool proceed = false;
	if (xml_open(&r, "proceed")) {
		if (xml_empty(whole))
			proceed = true;
		else
			d->open = true;
	} else if (d->open && xml_close(&r, "proceed")) {
		d->open = false;
		proceed = true;
	} else if (xml_open(&r, "failure") && contains(r, "xmpp-tls")) {
		st->pending = false;
	}
	if (!proceed)
		return A_NONE;
	st->pending = false;
	st->answer_ok = true;
	st->ok_reply = 0;
	return A_TLS;
}

/* ---- LDAP ---- */

static enum act ldap_unit(struct kx_starttls *st, int dir, struct kx_rd r)
{
	uint32_t id;
	uint8_t op;
	struct kx_rd body;
	if (dir == CLIENT) {
		if (ldap_is_starttls_request(r, &id)) {
			st->cmds++;
			st->ldap_id = id;
			return upgrade_sent(st);
		}
		return ldap_message(&r, &id, &op, &body) ? A_NONE : A_GIVE_UP;
	}
	if (!ldap_message(&r, &id, &op, &body))
		return A_GIVE_UP;
	/* ExtendedResponse ::= [APPLICATION 24] { LDAPResult: resultCode ENUMERATED, ... } */
	if (op != 0x78)
		return A_NONE;
	uint8_t tag;
	uint32_t len;
	if (!ber_header(&body, &tag, &len) || tag != 0x0a || len != 1)
		return A_NONE;
	uint8_t rc = kx_rd_u8(&body);
	st->replies++;
	return answer(st, rc == 0 && !body.bad, id == st->ldap_id);
}

/* ---- PostgreSQL ---- */

static enum act pg_unit(struct kx_starttls *st, int dir, struct kx_rd r)
{
	if (dir == CLIENT) {
		uint32_t len = kx_rd_u32(&r);
		uint32_t code = kx_rd_u32(&r);
		if (len == 8 && (code == PG_SSL_REQUEST || code == PG_GSSENC_REQUEST)) {
			bool ssl = code == PG_SSL_REQUEST;
			if (st->pg_nreq < sizeof(st->pg_req))
				st->pg_req[st->pg_nreq++] = ssl ? PG_REQ_SSL : PG_REQ_GSS;
			st->cmds++;
			return ssl ? upgrade_sent(st) : A_NONE;
		}
		/* A StartupMessage or CancelRequest: this session stays in
		 * cleartext. */
		return A_GIVE_UP;
	}
	uint8_t c = kx_rd_u8(&r);
	st->replies++;
	uint8_t kind = st->replies <= st->pg_nreq ? st->pg_req[st->replies - 1] : 0;
	if (c == 'S' && kind != PG_REQ_GSS) {
		st->pending = false;
		st->answer_ok = true;
		st->ok_reply = 0;
		return A_TLS;
	}
	/* 'N' to a GSSENCRequest: the client may still ask for TLS. */
	if (c == 'N' && kind == PG_REQ_GSS)
		return A_NONE;
	if (c == 'N')
		st->refused = true;
	return A_GIVE_UP;
}

/* ---- MySQL / MariaDB ---- */

static enum act mysql_unit(struct kx_starttls *st, int dir, struct kx_rd r)
{
	uint32_t plen = kx_rd_u16le(&r);
	plen |= (uint32_t)kx_rd_u8(&r) << 16;
	kx_rd_u8(&r); /* sequence id */
	if (dir == CLIENT) {
		/* SSLRequest: capability flags, max packet size, charset and
		 * filler, i.e. a HandshakeResponse cut short with CLIENT_SSL. */
		uint32_t caps = kx_rd_u32le(&r);
		if (r.bad || plen < 4 || plen > 64 || !(caps & MYSQL_CLIENT_SSL))
			return A_GIVE_UP;
		st->client_ssl = true;
		return A_TLS;
	}
	if (st->greeted)
		return A_GIVE_UP; /* more cleartext packets: the client did not ask for TLS */
	if (kx_rd_u8(&r) != 10)
		return A_GIVE_UP;
	/* The server version string, NUL-terminated printable ASCII. */
	uint32_t i = 0;
	for (;; i++) {
		if (!kx_rd_left(&r) || i > 64)
			return A_GIVE_UP;
		uint8_t c = kx_rd_u8(&r);
		if (c == 0)
			break;
		if (c < 0x20 || c > 0x7e)
			return A_GIVE_UP;
	}
	/* connection id, auth-plugin-data part 1, filler, capability flags (low). */
	kx_rd_skip(&r, 4 + 8 + 1);
	uint16_t caps = kx_rd_u16le(&r);
	if (!r.bad && !(caps & MYSQL_CLIENT_SSL))
		st->server_no_ssl = true;
	st->greeted = true;
	return st->client_ssl ? A_TLS : A_MAYBE;
}

/* ---- framing ---- */

enum framing { F_LINE, F_XML, F_BER, F_PG, F_MYSQL };

static enum framing framing_of(const struct kx_starttls *st)
{
	switch (st->proto) {
	case KX_ST_XMPP: return F_XML;
	case KX_ST_LDAP: return F_BER;
	case KX_ST_POSTGRES: return F_PG;
	case KX_ST_MYSQL: return F_MYSQL;
	default: return F_LINE;
	}
}

/* The length of a framed unit once its header is in: 0 while not yet,
 * UINT32_MAX when impossible. */
static uint32_t frame_total(const struct kx_starttls *st, int dir, const struct kx_starttls_dir *d)
{
	uint32_t have = d->ulen < KX_ST_UNIT_MAX ? d->ulen : KX_ST_UNIT_MAX;
	struct kx_rd r = kx_rd_init(d->unit, have);
	switch (framing_of(st)) {
	case F_BER: {
		uint8_t tag;
		uint32_t len;
		if (!ber_header(&r, &tag, &len))
			return r.bad ? 0 : UINT32_MAX;
		if (tag != 0x30 || len > KX_ST_MAX_BYTES)
			return UINT32_MAX;
		return (uint32_t)(have - kx_rd_left(&r)) + len;
	}
	case F_PG:
		if (dir == SERVER)
			return 1;
		if (have < 4)
			return 0;
		{
			uint32_t len = kx_rd_u32(&r);
			return len < 8 || len > 10000 ? UINT32_MAX : len;
		}
	case F_MYSQL:
		if (have < 4)
			return 0;
		{
			uint32_t len = kx_rd_u16le(&r);
			len |= (uint32_t)kx_rd_u8(&r) << 16;
			return len > 16384 ? UINT32_MAX : 4 + len;
		}
	default:
		return 0;
	}
}

/* True when byte c ended the current unit. */
static bool unit_complete(struct kx_starttls *st, int dir, uint8_t c)
{
	struct kx_starttls_dir *d = &st->d[dir];
	switch (framing_of(st)) {
	case F_LINE:
		if (d->ulen > KX_ST_LINE_CAP && !d->long_line) {
			d->long_line = true;
			st->anomalies++;
		}
		return c == '\n';
	case F_XML:
		return c == '>';
	default:
		if (!d->utotal) {
			uint32_t t = frame_total(st, dir, d);
			if (t == UINT32_MAX) {
				st->gave_up = true;
				return false;
			}
			d->utotal = t;
		}
		return d->utotal && d->ulen >= d->utotal;
	}
}

static enum act on_unit(struct kx_starttls *st, int dir)
{
	const struct kx_starttls_dir *d = &st->d[dir];
	struct kx_rd r = unit_reader(d, framing_of(st) == F_LINE);
	switch (st->proto) {
	case P_220:
	case KX_ST_SMTP:
	case KX_ST_FTP:
		return dir == CLIENT ? line220_client(st, r) : line220_server(st, r);
	case KX_ST_IMAP:
		return dir == CLIENT ? imap_client(st, r) : imap_server(st, r);
	case KX_ST_POP3:
		return dir == CLIENT ? pop3_client(st, r) : pop3_server(st, r);
	case KX_ST_XMPP:
		return xmpp_unit(st, dir, r);
	case KX_ST_LDAP:
		return ldap_unit(st, dir, r);
	case KX_ST_POSTGRES:
		return pg_unit(st, dir, r);
	case KX_ST_MYSQL:
		return mysql_unit(st, dir, r);
	default:
		return A_GIVE_UP;
	}
}

static void start_tls(struct kx_starttls *st, int dir)
{
	st->d[dir].tls = true;
	if (dir == SERVER && !st->answer_ok) {
		/* Seen through the 0x16 test: the last reply was the answer. */
		st->answer_ok = true;
		st->ok_reply = counting(st) ? st->replies : 0;
	}
}

/* Consumes cleartext units from r; true when TLS starts at r's position. */
static bool run(struct kx_starttls *st, int dir, struct kx_rd *r)
{
	struct kx_starttls_dir *d = &st->d[dir];
	uint32_t max_units = framing_of(st) == F_XML ? 4 * KX_ST_MAX_UNITS : KX_ST_MAX_UNITS;
	for (;;) {
		if (d->ulen == 0 && d->maybe) {
			bool tls = dir == CLIENT ? client_go(st) : st->client_ssl;
			if (!tls) {
				if (!kx_rd_left(r))
					return false;
				tls = peek(r) == 0x16;
			}
			if (tls) {
				start_tls(st, dir);
				return true;
			}
			d->maybe = false;
		}
		if (!kx_rd_left(r))
			return false;
		uint8_t c = kx_rd_u8(r);
		if (++d->bytes > KX_ST_MAX_BYTES) {
			st->gave_up = true;
			return false;
		}
		if (d->ulen < KX_ST_UNIT_MAX)
			d->unit[d->ulen] = c;
		d->ulen++;
		if (!unit_complete(st, dir, c)) {
			if (st->gave_up)
				return false;
			continue;
		}
		if (d->units >= max_units) {
			st->gave_up = true;
			return false;
		}
		d->units++;
		enum act a = on_unit(st, dir);
		d->ulen = 0;
		d->utotal = 0;
		d->long_line = false;
		switch (a) {
		case A_TLS:
			start_tls(st, dir);
			return true;
		case A_MAYBE:
			d->maybe = true;
			break;
		case A_GIVE_UP:
			st->gave_up = true;
			return false;
		case A_NONE:
			break;
		}
	}
}

uint32_t kx_starttls_feed(struct kx_starttls *st, bool from_client, const uint8_t *data,
			  uint32_t len, bool *ret_tls)
{
	int dir = from_client ? CLIENT : SERVER;
	struct kx_starttls_dir *d = &st->d[dir];
	*ret_tls = false;
	if (d->tls) {
		*ret_tls = true;
		return 0;
	}
	if (st->gave_up)
		return len;
	struct kx_rd r = kx_rd_init(data, len);
	if (!d->head_done) {
		/* Until the protocol is known the first bytes wait in head[];
		 * they are then run through the protocol's units like the rest. */
		while (st->proto == KX_ST_UNKNOWN && kx_rd_left(&r)) {
			if (d->head_len == sizeof(d->head)) {
				st->gave_up = true;
				return len;
			}
			d->head[d->head_len++] = kx_rd_u8(&r);
			int p = classify(from_client, d->head, d->head_len);
			if (p < 0) {
				st->gave_up = true;
				return len;
			}
			st->proto = (uint8_t)p;
		}
		if (st->proto == KX_ST_UNKNOWN)
			return len;
		d->head_done = true;
		uint32_t fresh = len - (uint32_t)kx_rd_left(&r);
		struct kx_rd h = kx_rd_init(d->head, d->head_len);
		if (run(st, dir, &h)) {
			/* Only head bytes from this piece can precede TLS here. */
			uint32_t used = d->head_len - (uint32_t)kx_rd_left(&h);
			uint32_t before = d->head_len - fresh;
			*ret_tls = true;
			return used > before ? used - before : 0;
		}
		if (st->gave_up)
			return len;
	}
	if (run(st, dir, &r)) {
		*ret_tls = true;
		return len - (uint32_t)kx_rd_left(&r);
	}
	return len;
}

bool kx_starttls_looks_like(bool from_client, const uint8_t *data, uint32_t len)
{
	uint32_t n = len < 16 ? len : 16;
	int p = classify(from_client, data, n);
	if (p <= 0)
		return false;
	if (p == KX_ST_MYSQL) {
		/* Five header bytes are weak evidence: check the version string. */
		struct kx_starttls st;
		kx_starttls_init(&st);
		st.proto = KX_ST_MYSQL;
		struct kx_rd r = kx_rd_init(data, len);
		return len > 5 && mysql_unit(&st, SERVER, r) == A_MAYBE;
	}
	if (p == KX_ST_LDAP) {
		uint32_t id;
		return ldap_is_starttls_request(kx_rd_init(data, len), &id);
	}
	return true;
}
