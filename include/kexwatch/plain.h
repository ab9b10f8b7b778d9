/* SPDX-License-Identifier: BSD-2-Clause */
/* plain.h: connections that carry application data without a key exchange
 * kexwatch can see: plaintext legs (HTTP, Redis, a database without TLS)
 * and encrypted sessions whose handshake was not captured.
 *
 * These are the hops an inventory must not lose: a leg with no TLS at all
 * is worse than a classical one. The recognisers look at the first payload
 * bytes of a direction (never the port alone, except to name a UDP
 * service on the documented list below); the port table only names what
 * the payload did not.
 */
#ifndef KEXWATCH_PLAIN_H
#define KEXWATCH_PLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "kexwatch/hs.h"
#include "kexwatch/starttls.h"

enum kx_app {
	KX_APP_UNKNOWN = 0,
	KX_APP_HTTP,
	KX_APP_REDIS,
	KX_APP_POSTGRESQL,
	KX_APP_MYSQL,
	KX_APP_SMTP,
	KX_APP_IMAP,
	KX_APP_POP3,
	KX_APP_FTP,
	KX_APP_LDAP,
	KX_APP_XMPP,
	KX_APP_TELNET,
	KX_APP_MEMCACHED,
	KX_APP_MONGODB,
	KX_APP_MQTT,
	KX_APP_AMQP,
	KX_APP_TLS,        /* handshake-unseen: TLS records */
	KX_APP_QUIC,       /* handshake-unseen: QUIC short header */
	KX_APP_SIP,        /* UDP services on the documented list */
	KX_APP_SNMP,
	KX_APP_SYSLOG,
	KX_APP_RADIUS,
	KX_APP_COAP,
	KX_APP_TFTP,
	KX_APP_MAX
};

/* "http", "postgresql", ...; "unknown" for KX_APP_UNKNOWN. */
const char *kx_app_name(enum kx_app a);

/* Application by the first payload bytes of one direction (HTTP request or
 * status line, Redis RESP array, Telnet option negotiation). */
enum kx_app kx_app_from_payload(bool from_client, const uint8_t *data, uint32_t len);

/* Application by a TCP server port (the well-known ports of the enum). */
enum kx_app kx_app_from_tcp_port(uint16_t port);

/* True for the protocols that can upgrade to TLS in-band (SMTP, IMAP, POP3,
 * FTP, LDAP, XMPP, PostgreSQL, MySQL). */
bool kx_app_can_upgrade(enum kx_app a);

/* The application of a STARTTLS-capable protocol. */
enum kx_app kx_app_from_starttls(enum kx_starttls_proto p);

/* UDP services recorded as plaintext legs (SIP 5060, SNMP 161/162, syslog
 * 514, RADIUS 1812/1813, CoAP 5683, TFTP 69): the app and which of the two
 * ports is the server's (0 for sport, 1 for dport); KX_APP_UNKNOWN when
 * neither port is listed. DNS and NTP are deliberately absent: they have
 * their own encryption stories (DoT, DoH, NTS) and would swamp the table. */
enum kx_app kx_app_udp_listed(uint16_t sport, uint16_t dport, int *ret_server);

/* A TLS record header that is not a hello: application data (23), alert
 * (21) or change_cipher_spec (20), version 3.x, length <= 2^14 + 2048.
 * The first payload of a connection whose handshake was not captured. */
bool kx_plain_looks_like_tls_data(const uint8_t *data, uint32_t len);

/* A QUIC short-header packet (RFC 9000 section 17.3: header form 0, fixed
 * bit 1) long enough for a connection ID and an AEAD tag, or a long-header
 * packet of a known version that is not an Initial (Handshake, 0-RTT). */
bool kx_plain_looks_like_quic_later(const uint8_t *data, uint32_t len);

#endif
