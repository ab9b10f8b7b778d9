/* SPDX-License-Identifier: BSD-2-Clause */
/* plain.c: naming the application of a session without a visible handshake. */
#include <string.h>

#include "kexwatch/plain.h"
#include "kexwatch/rd.h"

static const char *const app_names[KX_APP_MAX] = {
	[KX_APP_UNKNOWN] = "unknown",     [KX_APP_HTTP] = "http",
	[KX_APP_REDIS] = "redis",         [KX_APP_POSTGRESQL] = "postgresql",
	[KX_APP_MYSQL] = "mysql",         [KX_APP_SMTP] = "smtp",
	[KX_APP_IMAP] = "imap",           [KX_APP_POP3] = "pop3",
	[KX_APP_FTP] = "ftp",             [KX_APP_LDAP] = "ldap",
	[KX_APP_XMPP] = "xmpp",           [KX_APP_TELNET] = "telnet",
	[KX_APP_MEMCACHED] = "memcached", [KX_APP_MONGODB] = "mongodb",
	[KX_APP_MQTT] = "mqtt",           [KX_APP_AMQP] = "amqp",
	[KX_APP_TLS] = "tls",             [KX_APP_QUIC] = "quic",
	[KX_APP_SIP] = "sip",             [KX_APP_SNMP] = "snmp",
	[KX_APP_SYSLOG] = "syslog",       [KX_APP_RADIUS] = "radius",
	[KX_APP_COAP] = "coap",           [KX_APP_TFTP] = "tftp",
};

const char *kx_app_name(enum kx_app a)
{
	return (unsigned)a < KX_APP_MAX ? app_names[a] : "unknown";
}

static bool has_prefix(const uint8_t *d, uint32_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && memcmp(d, p, n) == 0;
}

/* RESP (Redis serialization protocol): a client command is an array of
 * bulk strings, "*<count>\r\n$<len>\r\n"; the inline form is a bare word. */
static bool looks_like_resp(const uint8_t *d, uint32_t len)
{
	struct kx_rd r = kx_rd_init(d, len);
	if (kx_rd_u8(&r) != '*')
		return false;
	unsigned digits = 0;
	while (kx_rd_left(&r) && digits < 6) {
		uint8_t c = kx_rd_u8(&r);
		if (c == '\r')
			return digits > 0 && kx_rd_left(&r) >= 2 && kx_rd_u8(&r) == '\n' &&
			       kx_rd_u8(&r) == '$';
		if (c < '0' || c > '9')
			return false;
		digits++;
	}
	return false;
}

enum kx_app kx_app_from_payload(bool from_client, const uint8_t *d, uint32_t len)
{
	static const char *const methods[] = { "GET ", "POST ", "HEAD ", "PUT ", "DELETE ",
					       "OPTIONS ", "PATCH ", "CONNECT ", "TRACE " };
	if (from_client) {
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			if (has_prefix(d, len, methods[i]))
				return KX_APP_HTTP;
		if (looks_like_resp(d, len))
			return KX_APP_REDIS;
	} else if (has_prefix(d, len, "HTTP/1.")) {
		return KX_APP_HTTP;
	} else if (has_prefix(d, len, "+PONG") || has_prefix(d, len, "-NOAUTH")) {
		return KX_APP_REDIS;
	}
	/* Telnet opens with IAC DO/DONT/WILL/WONT in either direction. */
	if (len >= 3 && d[0] == 0xff && d[1] >= 0xfb && d[1] <= 0xfe)
		return KX_APP_TELNET;
	return KX_APP_UNKNOWN;
}

enum kx_app kx_app_from_tcp_port(uint16_t port)
{
	switch (port) {
	case 80: case 8080: case 8000: case 8008: return KX_APP_HTTP;
	case 6379: return KX_APP_REDIS;
	case 5432: return KX_APP_POSTGRESQL;
	case 3306: return KX_APP_MYSQL;
	case 25: case 587: return KX_APP_SMTP;
	case 143: return KX_APP_IMAP;
	case 110: return KX_APP_POP3;
	case 21: return KX_APP_FTP;
	case 389: return KX_APP_LDAP;
	case 5222: case 5269: return KX_APP_XMPP;
	case 23: return KX_APP_TELNET;
	case 11211: return KX_APP_MEMCACHED;
	case 27017: return KX_APP_MONGODB;
	case 1883: return KX_APP_MQTT;
	case 5672: return KX_APP_AMQP;
	default: return KX_APP_UNKNOWN;
	}
}

bool kx_app_can_upgrade(enum kx_app a)
{
	switch (a) {
	case KX_APP_SMTP: case KX_APP_IMAP: case KX_APP_POP3: case KX_APP_FTP:
	case KX_APP_LDAP: case KX_APP_XMPP: case KX_APP_POSTGRESQL: case KX_APP_MYSQL:
		return true;
	default:
		return false;
	}
}

enum kx_app kx_app_from_starttls(enum kx_starttls_proto p)
{
	switch (p) {
	case KX_ST_SMTP: return KX_APP_SMTP;
	case KX_ST_IMAP: return KX_APP_IMAP;
	case KX_ST_POP3: return KX_APP_POP3;
	case KX_ST_FTP: return KX_APP_FTP;
	case KX_ST_LDAP: return KX_APP_LDAP;
	case KX_ST_XMPP: return KX_APP_XMPP;
	case KX_ST_POSTGRES: return KX_APP_POSTGRESQL;
	case KX_ST_MYSQL: return KX_APP_MYSQL;
	default: return KX_APP_UNKNOWN;
	}
}

static enum kx_app udp_port(uint16_t port)
{
	switch (port) {
	case 5060: return KX_APP_SIP;
	case 161: case 162: return KX_APP_SNMP;
	case 514: return KX_APP_SYSLOG;
	case 1812: case 1813: return KX_APP_RADIUS;
	case 5683: return KX_APP_COAP;
	case 69: return KX_APP_TFTP;
	default: return KX_APP_UNKNOWN;
	}
}

enum kx_app kx_app_udp_listed(uint16_t sport, uint16_t dport, int *ret_server)
{
	enum kx_app a = udp_port(dport);
	if (a != KX_APP_UNKNOWN) {
		*ret_server = 1;
		return a;
	}
	a = udp_port(sport);
	*ret_server = 0;
	return a;
}

bool kx_plain_looks_like_tls_data(const uint8_t *d, uint32_t len)
{
	struct kx_rd r = kx_rd_init(d, len);
	uint8_t type = kx_rd_u8(&r);
	uint8_t major = kx_rd_u8(&r);
	uint8_t minor = kx_rd_u8(&r);
	uint16_t rlen = kx_rd_u16(&r);
	if (r.bad || major != 3 || minor > 4 || rlen == 0 || rlen > 16384 + 2048)
		return false;
	return type == 23 || type == 21 || type == 20;
}

bool kx_plain_looks_like_quic_later(const uint8_t *d, uint32_t len)
{
	struct kx_rd r = kx_rd_init(d, len);
	uint8_t b = kx_rd_u8(&r);
	if (r.bad || !(b & 0x40))
		return false; /* the fixed bit is 1 in every QUIC v1/v2 packet */
	if (!(b & 0x80))
		return len >= 1 + 8 + 16 + 1; /* short header: DCID (8 here), tag, payload */
	uint32_t version = kx_rd_u32(&r);
	if (r.bad || (version != 0x00000001 && version != 0x6b3343cf))
		return false;
	/* Long header types: v1 Initial 0, 0-RTT 1, Handshake 2; v2 rotates them
	 * (Initial 1, 0-RTT 2, Handshake 3). Not an Initial, not a Retry. */
	unsigned type = (b >> 4) & 3;
	unsigned initial = version == 1 ? 0 : 1, retry = version == 1 ? 3 : 0;
	return type != initial && type != retry && len >= 1 + 4 + 1 + 1 + 16;
}
