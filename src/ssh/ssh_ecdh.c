/* SPDX-License-Identifier: BSD-2-Clause */
/* ssh_ecdh.c: the public values of an ECDH-style SSH key exchange.
 *
 * RFC 5656 section 7.1:
 *   SSH_MSG_KEX_ECDH_INIT (30)   string Q_C
 *   SSH_MSG_KEX_ECDH_REPLY (31)  string K_S, string Q_S, string signature
 * RFC 8731 keeps the layout for curve25519/448; sntrup761x25519-sha512 and
 * draft-ietf-sshm-mlkem-hybrid-kex (mlkem768x25519-sha256, ...) keep it
 * too, with Q_C / Q_S the concatenated post-quantum and ECDH values. Only
 * the sizes are wanted: whether a value labelled hybrid can be one.
 */
#include "kexwatch/rd.h"
#include "kexwatch/ssh.h"

enum kx_ssh_err kx_ssh_parse_ecdh(const uint8_t *payload, size_t len, uint32_t *ret_q_len)
{
	struct kx_rd r = kx_rd_init(payload, len);
	uint8_t msg = kx_rd_u8(&r);
	struct kx_rd q;
	if (msg == KX_SSH_MSG_KEX_ECDH_INIT) {
		q = kx_rd_sub(&r, kx_rd_u32(&r));
	} else if (msg == KX_SSH_MSG_KEX_ECDH_REPLY) {
		kx_rd_sub(&r, kx_rd_u32(&r));         /* K_S, the host key blob */
		q = kx_rd_sub(&r, kx_rd_u32(&r));
		kx_rd_sub(&r, kx_rd_u32(&r));         /* the exchange hash's signature */
	} else {
		return KX_SSH_E_ECDH_BAD;
	}
	if (r.bad || q.bad)
		return KX_SSH_E_ECDH_BAD;
	*ret_q_len = (uint32_t)kx_rd_left(&q);
	return KX_SSH_OK;
}
