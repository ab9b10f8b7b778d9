/* SPDX-License-Identifier: BSD-2-Clause */
/* test_rd.c: the byte reader's edge cases. */
#include "kexwatch/rd.h"
#include "tap.h"

int main(void)
{
	const uint8_t b[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

	struct kx_rd r = kx_rd_init(b, sizeof(b));
	CHECK_EQ(kx_rd_u8(&r), 0x01, "u8");
	CHECK_EQ(kx_rd_u16(&r), 0x0203, "u16 big-endian");
	CHECK_EQ(kx_rd_u24(&r), 0x040506, "u24");
	CHECK_EQ(kx_rd_left(&r), 2, "left after 6 bytes");
	CHECK_EQ(kx_rd_u32(&r), 0, "u32 past the end reads 0");
	CHECK(r.bad, "short read sets bad");
	CHECK_EQ(kx_rd_left(&r), 0, "short read exhausts the reader");
	CHECK_EQ(kx_rd_u8(&r), 0, "reads after failure return 0");

	r = kx_rd_init(b, sizeof(b));
	CHECK_EQ(kx_rd_u32le(&r), 0x04030201, "u32 little-endian");
	CHECK_EQ(kx_rd_u16le(&r), 0x0605, "u16 little-endian");

	/* Vector whose length is exactly the remainder. */
	const uint8_t v1[] = { 0x00, 0x03, 0xaa, 0xbb, 0xcc };
	r = kx_rd_init(v1, sizeof(v1));
	struct kx_rd c = kx_rd_vec(&r, 2);
	CHECK(!r.bad && kx_rd_left(&c) == 3 && kx_rd_left(&r) == 0, "vector = remainder");
	CHECK_EQ(kx_rd_u8(&c), 0xaa, "child reads its bytes");
	kx_rd_skip(&c, 2);
	CHECK(kx_rd_done(&c), "child fully consumed");

	/* Remainder + 1: both parent and child fail. */
	const uint8_t v2[] = { 0x00, 0x04, 0xaa, 0xbb, 0xcc };
	r = kx_rd_init(v2, sizeof(v2));
	c = kx_rd_vec(&r, 2);
	CHECK(r.bad && c.bad && kx_rd_left(&c) == 0, "vector longer than remainder fails both");

	/* Zero-length vector. */
	const uint8_t v3[] = { 0x00, 0x01 };
	r = kx_rd_init(v3, sizeof(v3));
	c = kx_rd_vec(&r, 1);
	CHECK(!r.bad && kx_rd_left(&c) == 0 && kx_rd_done(&c), "empty vector");
	CHECK_EQ(kx_rd_u8(&r), 0x01, "parent continues after the empty vector");

	/* 3-byte length prefix claiming 2^24-1 bytes. */
	const uint8_t v4[] = { 0xff, 0xff, 0xff, 0x00 };
	r = kx_rd_init(v4, sizeof(v4));
	c = kx_rd_vec(&r, 3);
	CHECK(r.bad && c.bad, "absurd 24-bit length rejected");

	/* QUIC varints, RFC 9000 appendix A.1 examples. */
	const uint8_t q8[] = { 0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c };
	r = kx_rd_init(q8, sizeof(q8));
	CHECK_EQ(kx_rd_varint(&r), 151288809941952652ull, "8-byte varint");
	const uint8_t q4[] = { 0x9d, 0x7f, 0x3e, 0x7d };
	r = kx_rd_init(q4, sizeof(q4));
	CHECK_EQ(kx_rd_varint(&r), 494878333, "4-byte varint");
	const uint8_t q2[] = { 0x7b, 0xbd };
	r = kx_rd_init(q2, sizeof(q2));
	CHECK_EQ(kx_rd_varint(&r), 15293, "2-byte varint");
	const uint8_t q1[] = { 0x25 };
	r = kx_rd_init(q1, sizeof(q1));
	CHECK_EQ(kx_rd_varint(&r), 37, "1-byte varint");
	const uint8_t qmax[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	r = kx_rd_init(qmax, sizeof(qmax));
	CHECK_EQ(kx_rd_varint(&r), (1ull << 62) - 1, "largest varint 2^62-1");
	r = kx_rd_init(q8, 5);
	CHECK(kx_rd_varint(&r) == 0 && r.bad, "truncated varint fails");

	/* take/sub. */
	r = kx_rd_init(b, sizeof(b));
	const uint8_t *t = kx_rd_take(&r, 8);
	CHECK(t == b && kx_rd_left(&r) == 0, "take borrows the whole input");
	CHECK(kx_rd_take(&r, 1) == NULL && r.bad, "take past the end is NULL");
	r = kx_rd_init(b, sizeof(b));
	c = kx_rd_sub(&r, SIZE_MAX);
	CHECK(r.bad && c.bad, "sub of SIZE_MAX fails without overflow");

	/* NULL input of length 0 is a valid empty reader. */
	r = kx_rd_init(NULL, 0);
	CHECK(kx_rd_left(&r) == 0 && !r.bad, "empty reader");
	return tap_done();
}
