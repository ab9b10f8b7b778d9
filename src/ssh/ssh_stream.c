/* SPDX-License-Identifier: BSD-2-Clause */
/* ssh_stream.c: the SSH transport over one direction's reassembled bytes,
 * up to NEWKEYS.
 *
 * RFC 4253 section 4.2: the version line ("SSH-2.0-...", at most 255 bytes
 * with its CR LF; a server may send other lines before it) and section 6:
 * binary packets (uint32 packet_length, byte padding_length, payload,
 * padding of at least 4 bytes; no MAC and no encryption before NEWKEYS).
 * The first packet is the KEXINIT, except that IGNORE, DEBUG and
 * UNIMPLEMENTED may precede it when strict key exchange is not in force.
 *
 * Bytes arrive in pieces of any size. A line or a KEXINIT that lies whole
 * in one piece is parsed in place; one that spans pieces is assembled in a
 * pool buffer. Every other packet is skipped without being stored, so a
 * large KEX reply costs no memory.
 */
#include <string.h>

#include "kexwatch/rd.h"
#include "kexwatch/ssh.h"

#define LINE_KEEP (KX_SSH_LINE_MAX + 1) /* one byte more than allowed shows "too long" */
#define PRE_KEXINIT_PACKETS 16          /* IGNORE/DEBUG/... tolerated before the KEXINIT */
#define KEX_PACKETS_MAX 64              /* packets walked before giving up on NEWKEYS */

void kx_ssh_stream_init(struct kx_ssh_stream *s, uint32_t max_packet)
{
	memset(s, 0, sizeof(*s));
	if (max_packet == 0)
		max_packet = KX_SSH_MAX_PACKET;
	s->max_packet = max_packet < KX_SSH_PACKET_HARD_MAX ? max_packet : KX_SSH_PACKET_HARD_MAX;
}

void kx_ssh_stream_release(struct kx_ssh_stream *s, struct kx_bufpool *pool)
{
	kx_buf_put(pool, s->buf, s->buf_cap);
	s->buf = NULL;
	s->buf_cap = 0;
}

static bool fail(struct kx_ssh_stream *s, enum kx_ssh_err e)
{
	s->state = KX_SSH_S_FAILED;
	s->err = (uint8_t)e;
	return true;
}

static bool end(struct kx_ssh_stream *s)
{
	s->state = KX_SSH_S_END;
	return true;
}

/* ---- version line ---- */

/* The current line (s->line_len bytes including its LF) is complete; `line`
 * holds its first `kept` bytes, `cr` says whether a CR preceded the LF. */
static bool line_done(struct kx_ssh_stream *s, const struct kx_ssh_env *env,
		      const uint8_t *line, size_t kept, bool cr)
{
	uint32_t total = s->line_len;
	/* cr is only set by a byte of this line, so a CR LF line has total >= 2. */
	size_t content = total - 1 - (cr ? 1 : 0);
	size_t len = content < kept ? content : kept;
	s->line_len = 0;
	s->line_cr = false;

	struct kx_rd r = kx_rd_init(line, len);
	const uint8_t *magic = kx_rd_take(&r, 4);
	if (!magic || memcmp(magic, "SSH-", 4) != 0) {
		/* RFC 4253 section 4.2: other lines may precede the version. */
		s->pre_bytes += total;
		if (++s->pre_lines > KX_SSH_PRE_LINES_MAX)
			return fail(s, KX_SSH_E_NO_BANNER);
		return false;
	}
	struct kx_ssh_banner b;
	enum kx_ssh_err rc = kx_ssh_parse_banner(line, len, &b);
	if (rc != KX_SSH_OK)
		return fail(s, rc);
	if (content > len)
		b.too_long = true;
	b.lf_only = !cr;
	b.pre_lines = s->pre_lines;
	b.start_off = s->line_start;
	b.end_off = s->off;
	s->state = KX_SSH_S_PACKETS;
	if (env->on_banner && env->on_banner(env->ctx, &b))
		return end(s);
	return false;
}

static bool banner_bytes(struct kx_ssh_stream *s, const struct kx_ssh_env *env, struct kx_rd *r)
{
	/* Everything before the end of the version line stays within one
	 * budget, and each line within OpenSSH's, so a peer that never sends
	 * a line end costs 8 KiB of scanning and one that never sends a
	 * version line 64 KiB, and no memory beyond one line. */
	size_t budget = KX_SSH_PRE_BYTES_MAX - s->pre_bytes - s->line_len;
	if (budget > KX_SSH_LINE_BYTES_MAX - s->line_len)
		budget = KX_SSH_LINE_BYTES_MAX - s->line_len;
	struct kx_rd scan = *r;
	size_t n = 0;
	bool lf = false;
	bool cr = s->line_cr;
	while (kx_rd_left(&scan) && n < budget) {
		uint8_t c = kx_rd_u8(&scan);
		n++;
		if (c == '\n') {
			lf = true;
			break;
		}
		cr = c == '\r';
	}
	const uint8_t *chunk = kx_rd_take(r, n);
	if (s->line_len == 0)
		s->line_start = s->off;
	if (lf && s->line_len == 0) {
		s->line_len = (uint32_t)n;
		s->off += (uint32_t)n;
		return line_done(s, env, chunk, n, cr);
	}
	size_t have = s->line_len < LINE_KEEP ? s->line_len : LINE_KEEP;
	size_t k = n < LINE_KEEP - have ? n : LINE_KEEP - have;
	if (k) {
		if (kx_buf_grow(env->pool, &s->buf, &s->buf_cap, LINE_KEEP, have) < 0)
			return fail(s, KX_SSH_E_MEMCAP);
		memcpy(s->buf + have, chunk, k);
	}
	s->line_len += (uint32_t)n;
	s->off += (uint32_t)n;
	s->line_cr = cr;
	if (lf)
		return line_done(s, env, s->buf, have + k, cr);
	if (n == budget) {
		bool ssh = have + k >= 4 && memcmp(s->buf, "SSH-", 4) == 0;
		return fail(s, ssh ? KX_SSH_E_BANNER_LONG : KX_SSH_E_NO_BANNER);
	}
	return false;
}

/* ---- binary packets ---- */

/* Checks a packet header before any of its body is looked at, so a bogus
 * length is refused at once instead of after waiting for its bytes. */
static enum kx_ssh_err check_header(const struct kx_ssh_stream *s, uint32_t plen, uint8_t padlen,
				    uint8_t msg)
{
	if (plen > KX_SSH_PACKET_HARD_MAX)
		return KX_SSH_E_PACKET_BIG;
	/* padding_length byte + message number + at least 4 bytes of padding */
	if (padlen < 4 || (uint64_t)padlen + 2 > plen)
		return KX_SSH_E_PACKET_BAD;
	if (!s->seen_kexinit) {
		switch (msg) {
		case KX_SSH_MSG_KEXINIT:
			/* The same cap with and without in-place parsing, so both
			 * modes give the same rows. */
			if (plen > s->max_packet)
				return KX_SSH_E_PACKET_BIG;
			break;
		case KX_SSH_MSG_DISCONNECT:
		case KX_SSH_MSG_IGNORE:
		case KX_SSH_MSG_UNIMPLEMENTED:
		case KX_SSH_MSG_DEBUG:
			break;
		default:
			return KX_SSH_E_UNEXPECTED;
		}
	}
	return KX_SSH_OK;
}

/* The first KEX_ECDH_INIT / REPLY after the KEXINIT is kept, within the
 * same cap as the KEXINIT in both parsing modes. */
static bool ecdh_msg(const struct kx_ssh_stream *s, uint8_t msg, uint32_t plen)
{
	return s->seen_kexinit && !s->seen_ecdh && plen <= s->max_packet &&
	       (msg == KX_SSH_MSG_KEX_ECDH_INIT || msg == KX_SSH_MSG_KEX_ECDH_REPLY);
}

/* A whole packet has been consumed: `body` is the plen bytes after the
 * length field when the packet was kept (the KEXINIT), else NULL. */
static bool packet_done(struct kx_ssh_stream *s, const struct kx_ssh_env *env,
			const uint8_t *body, uint32_t plen, uint8_t padlen, uint8_t msg,
			uint32_t start)
{
	uint32_t payload_len = plen - 1 - padlen;
	if (s->n_packets < UINT16_MAX)
		s->n_packets++;
	if (msg == KX_SSH_MSG_KEXINIT && !s->seen_kexinit) {
		struct kx_rd r = kx_rd_init(body, plen);
		kx_rd_skip(&r, 1);
		const uint8_t *payload = kx_rd_take(&r, payload_len);
		struct kx_ssh_kexinit k;
		if (!payload || kx_ssh_parse_kexinit(payload, payload_len, &k) != KX_SSH_OK)
			return fail(s, KX_SSH_E_KEXINIT_BAD);
		k.packet_len = plen + 4;
		k.payload_len = payload_len;
		k.start_off = start;
		k.end_off = s->off;
		s->seen_kexinit = true;
		s->n_packets = 0;
		if (env->on_kexinit && env->on_kexinit(env->ctx, &k))
			return end(s);
		return false;
	}
	const uint8_t *payload = NULL;
	if (body && ecdh_msg(s, msg, plen)) {
		struct kx_rd r = kx_rd_init(body, plen);
		kx_rd_skip(&r, 1);
		payload = kx_rd_take(&r, payload_len);
		s->seen_ecdh = true;
	}
	struct kx_ssh_packet p = {
		.msg = msg,
		.payload = payload,
		.packet_len = plen + 4,
		.payload_len = payload_len,
		.start_off = start,
		.end_off = s->off,
	};
	bool stop = env->on_packet && env->on_packet(env->ctx, &p);
	if (msg == KX_SSH_MSG_DISCONNECT) {
		s->disconnected = true;
		return end(s);
	}
	/* After NEWKEYS the bytes are encrypted: nothing more to read. */
	if (msg == KX_SSH_MSG_NEWKEYS && s->seen_kexinit)
		return end(s);
	if (!s->seen_kexinit && s->n_packets > PRE_KEXINIT_PACKETS)
		return fail(s, KX_SSH_E_UNEXPECTED);
	if (stop || s->n_packets > KEX_PACKETS_MAX)
		return end(s);
	return false;
}

static bool packet_bytes(struct kx_ssh_stream *s, const struct kx_ssh_env *env, struct kx_rd *r)
{
	if (s->hdr_have == 0 && !s->copy_always && kx_rd_left(r) >= sizeof(s->hdr)) {
		/* Fast path: the whole packet is in this piece, parse in place. */
		struct kx_rd peek = *r;
		uint32_t plen = kx_rd_u32(&peek);
		if (plen <= kx_rd_left(&peek)) {
			uint8_t padlen = kx_rd_u8(&peek);
			uint8_t msg = kx_rd_u8(&peek);
			enum kx_ssh_err e = check_header(s, plen, padlen, msg);
			if (e != KX_SSH_OK) {
				/* Consumed as far as the slow path gets, so both
				 * paths stop at the same offset. */
				s->off += sizeof(s->hdr);
				return fail(s, e);
			}
			uint32_t start = s->off;
			kx_rd_skip(r, 4);
			const uint8_t *body = kx_rd_take(r, plen);
			s->off += 4 + plen;
			return packet_done(s, env, body, plen, padlen, msg, start);
		}
	}
	if (s->hdr_have < sizeof(s->hdr)) {
		if (s->hdr_have == 0)
			s->pkt_start = s->off;
		size_t k = sizeof(s->hdr) - s->hdr_have;
		if (k > kx_rd_left(r))
			k = kx_rd_left(r);
		memcpy(s->hdr + s->hdr_have, kx_rd_take(r, k), k);
		s->hdr_have = (uint8_t)(s->hdr_have + k);
		s->off += (uint32_t)k;
		if (s->hdr_have < sizeof(s->hdr))
			return false;
		struct kx_rd h = kx_rd_init(s->hdr, sizeof(s->hdr));
		uint32_t plen = kx_rd_u32(&h);
		uint8_t padlen = kx_rd_u8(&h);
		uint8_t msg = kx_rd_u8(&h);
		enum kx_ssh_err e = check_header(s, plen, padlen, msg);
		if (e != KX_SSH_OK)
			return fail(s, e);
		s->pkt_len = plen;
		s->pkt_have = 2;
		s->msg = msg;
		s->keep = msg == KX_SSH_MSG_KEXINIT && !s->seen_kexinit;
		bool ecdh = ecdh_msg(s, msg, plen);
		if (s->keep || ecdh) {
			if (kx_buf_grow(env->pool, &s->buf, &s->buf_cap, plen, 0) < 0) {
				if (s->keep)
					return fail(s, KX_SSH_E_MEMCAP);
				ecdh = false; /* its size goes unchecked; the stream goes on */
			} else {
				memcpy(s->buf, s->hdr + 4, 2);
			}
			s->keep |= ecdh;
		}
		/* check_header guarantees body bytes follow (plen >= 6). */
		return false;
	}
	size_t k = s->pkt_len - s->pkt_have;
	if (k > kx_rd_left(r))
		k = kx_rd_left(r);
	const uint8_t *chunk = kx_rd_take(r, k);
	if (s->keep)
		memcpy(s->buf + s->pkt_have, chunk, k);
	s->pkt_have += (uint32_t)k;
	s->off += (uint32_t)k;
	if (s->pkt_have < s->pkt_len)
		return false;
	s->hdr_have = 0;
	return packet_done(s, env, s->keep ? s->buf : NULL, s->pkt_len, s->hdr[4], s->msg,
			   s->pkt_start);
}

bool kx_ssh_stream_feed(struct kx_ssh_stream *s, const struct kx_ssh_env *env,
			const uint8_t *data, uint32_t len)
{
	if (s->state == KX_SSH_S_END || s->state == KX_SSH_S_FAILED)
		return true;
	struct kx_rd r = kx_rd_init(data, len);
	while (kx_rd_left(&r)) {
		bool stop = s->state == KX_SSH_S_BANNER ? banner_bytes(s, env, &r)
							 : packet_bytes(s, env, &r);
		if (stop)
			return true;
	}
	return false;
}
