/* SPDX-License-Identifier: BSD-2-Clause */
/* pcapng.c: our own pcapng block reader (draft-ietf-opsawg-pcapng).
 *
 * libpcap 1.10 refuses a file whose interfaces have different link types
 * (what `dumpcap -i any -i eth0` and mergecap write) and does not tell
 * which interface a packet came from. Here every Interface Description
 * Block keeps its link type, snap length, timestamp resolution and offset
 * and its if_name, and each packet is handed out with its interface's
 * link type and name.
 *
 * Blocks are read from the same buffer as classic pcap records
 * (kx_src_view) and parsed through the bounds-checked reader (rd.h) only.
 * No length is trusted: a block must be at least 12 bytes, a multiple of
 * 4, fit the read window and end with the same length it started with,
 * and the fields of a packet block must fit its body. A block that fails
 * is counted (capture_records_corrupt) and the reader resynchronises on
 * the next plausible block within RESYNC_WINDOW bytes (two in a row, or
 * one that ends the file), as the classic reader does; a packet block
 * whose framing is sound but whose content is not (an interface never
 * described, a captured length beyond its body) is counted and skipped.
 * Packets of an interface whose link type kexwatch does not decode are
 * skipped and counted, and named in the source's warning. Blocks of other
 * types (name resolution, statistics, decryption secrets, custom) are
 * skipped. A file that ends inside a block is a cut capture.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kexwatch/decode.h"
#include "kexwatch/rd.h"
#include "pcap_int.h"

#define NG_SHB 0x0a0d0d0au
#define NG_IDB 1u
#define NG_PB 2u   /* obsolete Packet Block */
#define NG_SPB 3u
#define NG_NRB 4u
#define NG_ISB 5u
#define NG_EPB 6u
#define NG_DSB 10u
#define NG_BOM 0x1a2b3c4du
#define NG_MIN_BLOCK 12u
#define NG_MIN_SHB 28u

#define OPT_END 0
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

static uint32_t u32(bool be, struct kx_rd *r)
{
	return be ? kx_rd_u32(r) : kx_rd_u32le(r);
}

static uint16_t u16(bool be, struct kx_rd *r)
{
	return be ? kx_rd_u16(r) : kx_rd_u16le(r);
}

/* The byte order of a block starting at w (have bytes): a section header
 * says it with its byte-order magic, any other block is in its section's.
 * Returns the block's type and sets *len; *len is 0 when the header cannot
 * be a block (too short, bad magic, bad length). */
static uint32_t block_head(const struct kx_source *s, const uint8_t *w, size_t have, bool *be,
			   uint32_t *len)
{
	struct kx_rd r = kx_rd_init(w, have);
	uint32_t type = kx_rd_u32le(&r); /* the SHB's type reads the same both ways */
	*be = s->ng_be;
	*len = 0;
	if (type == NG_SHB) {
		struct kx_rd b = kx_rd_init(w, have);
		kx_rd_skip(&b, 8);
		uint32_t bom = kx_rd_u32le(&b);
		if (b.bad)
			return type;
		if (bom == NG_BOM)
			*be = false;
		else if (bom == 0x4d3c2b1au)
			*be = true;
		else
			return type;
	} else if (*be) {
		r = kx_rd_init(w, have);
		type = kx_rd_u32(&r);
	}
	uint32_t n = u32(*be, &r);
	if (r.bad || n < NG_MIN_BLOCK || n % 4 || n > WINDOW_CAP || (type == NG_SHB && n < NG_MIN_SHB))
		return type;
	*len = n;
	return type;
}

static bool known_type(uint32_t type)
{
	return type == NG_SHB || (type >= NG_IDB && type <= NG_EPB) || type == NG_DSB;
}

/* A whole block at w + at: a known type, a sound length and the same
 * length at its end. */
static bool plausible_block(const struct kx_source *s, const uint8_t *w, size_t have, size_t at,
			    uint32_t *ret_len)
{
	bool be;
	uint32_t len;
	if (have - at < NG_MIN_BLOCK)
		return false;
	uint32_t type = block_head(s, w + at, have - at, &be, &len);
	if (!len || !known_type(type) || len > have - at)
		return false;
	struct kx_rd t = kx_rd_init(w + at, len);
	kx_rd_skip(&t, len - 4);
	if (u32(be, &t) != len || t.bad)
		return false;
	*ret_len = len;
	return true;
}

/* After a bad block at `bad`: 1 with the next good block's offset (one
 * followed by another good one, or by the end of the file), 0 when there is
 * none within RESYNC_WINDOW, -1 on a read error. */
static int resync(struct kx_source *s, uint64_t bad, uint64_t *ret_off)
{
	size_t have;
	const uint8_t *w = kx_src_view(s, bad, WINDOW_CAP, &have);
	if (!w)
		return -1;
	bool to_eof = have < WINDOW_CAP;
	size_t limit = have < RESYNC_WINDOW ? have : RESYNC_WINDOW;
	for (size_t i = 1; i + NG_MIN_BLOCK <= limit; i++) {
		uint32_t len, len2;
		if (!plausible_block(s, w, have, i, &len))
			continue;
		if ((i + len == have && to_eof) || plausible_block(s, w, have, i + len, &len2)) {
			*ret_off = bad + i;
			return 1;
		}
	}
	return 0;
}

static enum kx_source_rc cut(struct kx_source *s, struct kx_counters *c, size_t have)
{
	if (!s->cut)
		c->capture_truncated++;
	s->cut = true;
	s->off += have;
	snprintf(s->warn, sizeof(s->warn), "file ends in the middle of a packet");
	return KX_SRC_END;
}

static uint64_t pow10u(unsigned e)
{
	uint64_t v = 1;
	while (e--)
		v *= 10;
	return v;
}

static uint64_t ts_to_us(const struct ng_iface *i, uint64_t t)
{
	uint64_t us;
	if (i->decimal) {
		if (i->exp == 6)
			us = t;
		else if (i->exp > 6)
			us = t / pow10u(i->exp - 6u);
		else
			us = t * pow10u(6u - i->exp);
	} else {
		uint64_t frac = t & ((i->exp ? (uint64_t)1 << i->exp : 1) - 1);
		us = (t >> i->exp) * 1000000u + (uint64_t)ldexp((double)frac * 1e6, -(int)i->exp);
	}
	return us + (uint64_t)(i->offset_s * 1000000);
}

/* An Interface Description Block's body. -1 when a filter cannot be
 * compiled for its link type (s->err). */
static int add_iface(struct kx_source *s, struct kx_rd *b, struct kx_counters *c)
{
	bool be = s->ng_be;
	uint16_t link = u16(be, b);
	kx_rd_skip(b, 2);
	uint32_t snaplen = u32(be, b);
	if (b->bad) {
		c->capture_records_corrupt++;
		return 0;
	}
	uint32_t id = s->n_ifaces++;
	if (id >= NG_MAX_IFACES) {
		s->ifaces_dropped++;
		return 0;
	}
	struct ng_iface *i = &s->ifaces[id];
	memset(i, 0, sizeof(*i));
	i->link = link;
	i->snaplen = snaplen == 0 || snaplen > MAX_CAPLEN ? MAX_CAPLEN : snaplen;
	i->decimal = true;
	i->exp = 6;
	i->filter = -1;
	while (kx_rd_left(b) >= 4) {
		uint16_t code = u16(be, b);
		uint16_t olen = u16(be, b);
		const uint8_t *val = kx_rd_take(b, olen);
		if (!val || code == OPT_END)
			break;
		size_t pad = (4u - olen % 4u) % 4u;
		kx_rd_skip(b, pad < kx_rd_left(b) ? pad : kx_rd_left(b));
		struct kx_rd v = kx_rd_init(val, olen);
		if (code == OPT_IF_NAME) {
			i->name = kx_iface_intern((const char *)val, olen);
		} else if (code == OPT_IF_TSRESOL && olen >= 1) {
			uint8_t r = kx_rd_u8(&v);
			bool dec = !(r & 0x80);
			uint8_t e = r & 0x7f;
			/* 10^-20 and 2^-64 do not fit the arithmetic: kept at microseconds. */
			if ((dec && e <= 19) || (!dec && e <= 63)) {
				i->decimal = dec;
				i->exp = e;
			}
		} else if (code == OPT_IF_TSOFFSET && olen == 8) {
			uint32_t a = u32(be, &v), z = u32(be, &v);
			uint64_t off = be ? (uint64_t)a << 32 | z : (uint64_t)z << 32 | a;
			i->offset_s = (int64_t)off;
			if (i->offset_s > 100000000000 || i->offset_s < -100000000000)
				i->offset_s = 0; /* beyond year 5000: not an offset */
		}
	}
	if (!kx_decode_link_supported(link)) {
		i->unsupported = true;
		const char *n = kx_iface_name(i->name);
		const char *dlt = pcap_datalink_val_to_name(link);
		snprintf(s->ifwarn, sizeof(s->ifwarn),
			 "interface %u%s%s%s has link type %u (%s), which kexwatch does not decode",
			 id, n ? " (" : "", n ? n : "", n ? ")" : "",
			 link, dlt ? dlt : "unknown");
		return 0;
	}
	if (s->link < 0)
		s->link = link;
	if (s->have_filter && (i->filter = kx_ng_filter(s, link)) < 0)
		return -1;
	return 0;
}

/* The packet of an EPB, SPB or PB body. 1 with the frame, 0 to skip it. */
static int packet(struct kx_source *s, uint32_t type, struct kx_rd *b, struct kx_frame *f,
		  struct kx_counters *c)
{
	bool be = s->ng_be;
	uint32_t id = 0, caplen, wirelen;
	uint64_t ts = 0;
	if (type == NG_EPB) {
		id = u32(be, b);
		uint32_t hi = u32(be, b), lo = u32(be, b);
		ts = (uint64_t)hi << 32 | lo;
		caplen = u32(be, b);
		wirelen = u32(be, b);
	} else if (type == NG_PB) {
		id = u16(be, b);
		kx_rd_skip(b, 2); /* drops count */
		uint32_t hi = u32(be, b), lo = u32(be, b);
		ts = (uint64_t)hi << 32 | lo;
		caplen = u32(be, b);
		wirelen = u32(be, b);
	} else { /* SPB: interface 0, no timestamp; the data is the rest of the body */
		wirelen = u32(be, b);
		caplen = wirelen;
		if (caplen > kx_rd_left(b))
			caplen = (uint32_t)kx_rd_left(b);
	}
	if (b->bad || caplen > MAX_CAPLEN || id >= s->n_ifaces) {
		c->capture_records_corrupt++;
		return 0;
	}
	const uint8_t *data = kx_rd_take(b, caplen);
	if (!data) {
		c->capture_records_corrupt++;
		return 0;
	}
	if (id >= NG_MAX_IFACES || s->ifaces[id].unsupported) {
		s->unsupported_pkts++;
		return 0;
	}
	const struct ng_iface *i = &s->ifaces[id];
	f->data = data;
	f->caplen = caplen < i->snaplen ? caplen : i->snaplen;
	f->wirelen = wirelen;
	f->ts_us = ts_to_us(i, ts);
	f->link = i->link;
	f->iface = i->name;
	return 1;
}

enum kx_source_rc kx_ng_next(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	for (;;) {
		size_t have;
		const uint8_t *h = kx_src_view(s, s->off, NG_MIN_BLOCK, &have);
		if (!h)
			return KX_SRC_ERROR;
		if (have == 0)
			return KX_SRC_END;
		if (have < NG_MIN_BLOCK)
			return cut(s, c, have);
		bool be;
		uint32_t len;
		uint32_t type = block_head(s, h, have, &be, &len);
		bool ok = len && (s->ng_section || type == NG_SHB);
		if (ok) {
			h = kx_src_view(s, s->off, len, &have);
			if (!h)
				return KX_SRC_ERROR;
			if (have < len)
				return cut(s, c, have);
			struct kx_rd t = kx_rd_init(h, len);
			kx_rd_skip(&t, len - 4);
			ok = u32(be, &t) == len && !t.bad;
		}
		if (!ok) {
			uint64_t at = s->off, good;
			c->capture_records_corrupt++;
			int found = resync(s, at, &good);
			if (found < 0)
				return KX_SRC_ERROR;
			if (!found) {
				snprintf(s->err, sizeof(s->err),
					 "corrupt pcapng block at byte %llu and no valid block within "
					 "%u bytes after it", (unsigned long long)at, RESYNC_WINDOW);
				s->eof = true;
				s->off = s->buf_off + s->buf_len;
				c->capture_corrupt_bytes += s->off - at;
				return KX_SRC_ERROR;
			}
			c->capture_corrupt_bytes += good - at;
			s->off = good;
			continue;
		}
		struct kx_rd body = kx_rd_init(h, len - 4);
		kx_rd_skip(&body, 8);
		s->off += len;
		if (type == NG_SHB) {
			kx_rd_skip(&body, 4); /* byte-order magic */
			uint16_t major = u16(be, &body);
			if (major != 1) {
				snprintf(s->err, sizeof(s->err), "pcapng section of version %u, not 1",
					 major);
				return KX_SRC_ERROR;
			}
			/* A new section: its own byte order and interfaces. */
			s->ng_be = be;
			s->ng_section = true;
			s->n_ifaces = 0;
			continue;
		}
		if (type == NG_IDB) {
			if (add_iface(s, &body, c) < 0)
				return KX_SRC_ERROR;
			continue;
		}
		if ((type == NG_EPB || type == NG_SPB || type == NG_PB) &&
		    packet(s, type, &body, f, c))
			return KX_SRC_PACKET;
	}
}

int kx_ng_open(struct kx_source *s, char *err, size_t errlen, const char *path)
{
	(void)err;
	(void)errlen;
	(void)path;
	s->ng = true;
	s->off = 0;
	s->link = -1; /* the first interface's, once described */
	snprintf(s->kind, sizeof(s->kind), "pcapng (direct)");
	return 0;
}
