/* SPDX-License-Identifier: BSD-2-Clause */
/* rd.h: the bounds-checked byte reader, the only way parsers touch packet bytes.
 *
 * A reader is a cursor over [p, end) with a sticky failure flag. Any read that
 * would cross `end` returns 0, sets `bad` and moves the cursor to `end`, so
 * loops written as `while (kx_rd_left(&r))` stop by themselves and callers
 * check `bad` once per logical unit instead of after every field.
 *
 * Lengths are always compared with the bytes remaining (`n > end - p`), never
 * by forming `p + n` first, and all size arithmetic is done in size_t.
 */
#ifndef KEXWATCH_RD_H
#define KEXWATCH_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kx_rd {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static inline struct kx_rd kx_rd_init(const void *data, size_t len)
{
	const uint8_t *b = (const uint8_t *)data;
	struct kx_rd r = { b, b ? b + len : b, false };
	return r;
}

static inline size_t kx_rd_left(const struct kx_rd *r)
{
	return (size_t)(r->end - r->p);
}

/* Marks the reader failed and exhausted. */
static inline void kx_rd_fail(struct kx_rd *r)
{
	r->bad = true;
	r->p = r->end;
}

static inline bool kx_rd_has(struct kx_rd *r, size_t n)
{
	if (n > kx_rd_left(r)) {
		kx_rd_fail(r);
		return false;
	}
	return true;
}

static inline uint8_t kx_rd_u8(struct kx_rd *r)
{
	if (!kx_rd_has(r, 1))
		return 0;
	return *r->p++;
}

static inline uint16_t kx_rd_u16(struct kx_rd *r)
{
	if (!kx_rd_has(r, 2))
		return 0;
	uint16_t v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return v;
}

static inline uint32_t kx_rd_u24(struct kx_rd *r)
{
	if (!kx_rd_has(r, 3))
		return 0;
	uint32_t v = (uint32_t)r->p[0] << 16 | (uint32_t)r->p[1] << 8 | r->p[2];
	r->p += 3;
	return v;
}

static inline uint32_t kx_rd_u32(struct kx_rd *r)
{
	if (!kx_rd_has(r, 4))
		return 0;
	uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
		     (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return v;
}

/* Little-endian 16/32-bit reads, for capture-file headers of either byte order. */
static inline uint32_t kx_rd_u32le(struct kx_rd *r)
{
	if (!kx_rd_has(r, 4))
		return 0;
	uint32_t v = (uint32_t)r->p[3] << 24 | (uint32_t)r->p[2] << 16 |
		     (uint32_t)r->p[1] << 8 | r->p[0];
	r->p += 4;
	return v;
}

static inline uint16_t kx_rd_u16le(struct kx_rd *r)
{
	if (!kx_rd_has(r, 2))
		return 0;
	uint16_t v = (uint16_t)((uint16_t)r->p[1] << 8 | r->p[0]);
	r->p += 2;
	return v;
}

/* QUIC variable-length integer (RFC 9000 section 16): 1, 2, 4 or 8 bytes. */
static inline uint64_t kx_rd_varint(struct kx_rd *r)
{
	if (!kx_rd_has(r, 1))
		return 0;
	size_t n = (size_t)1 << (r->p[0] >> 6);
	if (!kx_rd_has(r, n))
		return 0;
	uint64_t v = r->p[0] & 0x3f;
	for (size_t i = 1; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	return v;
}

static inline void kx_rd_skip(struct kx_rd *r, size_t n)
{
	if (kx_rd_has(r, n))
		r->p += n;
}

/* Borrows n bytes: returns a pointer into the input, or NULL when short. */
static inline const uint8_t *kx_rd_take(struct kx_rd *r, size_t n)
{
	if (!kx_rd_has(r, n))
		return NULL;
	const uint8_t *v = r->p;
	r->p += n;
	return v;
}

/* A child reader confined to the next n bytes; the parent moves past them.
 * When n exceeds what is left, parent and child both fail. */
static inline struct kx_rd kx_rd_sub(struct kx_rd *r, size_t n)
{
	struct kx_rd c = { r->end, r->end, true };
	if (!kx_rd_has(r, n))
		return c;
	c.p = r->p;
	c.end = r->p + n;
	c.bad = false;
	r->p += n;
	return c;
}

/* A child reader over a TLS-style vector with a 1, 2 or 3 byte length prefix. */
static inline struct kx_rd kx_rd_vec(struct kx_rd *r, int prefix_bytes)
{
	size_t n;
	switch (prefix_bytes) {
	case 1: n = kx_rd_u8(r); break;
	case 2: n = kx_rd_u16(r); break;
	default: n = kx_rd_u24(r); break;
	}
	if (r->bad) {
		struct kx_rd c = { r->end, r->end, true };
		return c;
	}
	return kx_rd_sub(r, n);
}

/* True when the reader never failed and consumed everything. */
static inline bool kx_rd_done(const struct kx_rd *r)
{
	return !r->bad && r->p == r->end;
}

#endif
