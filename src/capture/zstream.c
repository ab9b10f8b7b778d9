/* SPDX-License-Identifier: BSD-2-Clause */
/* zstream.c: gzip (zlib), xz (liblzma) and zstd (libzstd) captures read as
 * they are decompressed: a compressed input chunk at a time into the
 * reader's own buffer, never the whole file in memory. Concatenated
 * streams (`cat a.gz b.gz`, multi-frame zstd, xz --block-list) are read
 * one after the other. An uncompressed stream is passed through with
 * read(2) straight into the caller's buffer.
 */
#include "zstream.h"

#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "kexwatch/rd.h"

#define IN_CAP (64u * 1024)

enum zkind { Z_NONE, Z_GZIP, Z_XZ, Z_ZSTD };

struct kx_zstream {
	int fd;
	enum zkind kind;
	bool in_eof;     /* the descriptor has no more bytes */
	bool done;       /* the decompressed stream has ended */
	bool truncated;
	bool mid_stream; /* inside a gzip member / xz stream / zstd frame */
	uint64_t consumed;
	char err[200];
	uint8_t *in;
	size_t in_pos, in_len; /* unconsumed input: in[in_pos, in_len) */
	z_stream gz;
	bool gz_init;
	lzma_stream xz;
	bool xz_init;
	ZSTD_DStream *zs;
};

static int fill(struct kx_zstream *z)
{
	if (z->in_pos < z->in_len || z->in_eof)
		return 0;
	z->in_pos = z->in_len = 0;
	for (;;) {
		ssize_t r = read(z->fd, z->in, IN_CAP);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(z->err, sizeof(z->err), "read error at byte %" PRIu64 ": %s",
				 z->consumed, strerror(errno));
			return -1;
		}
		if (r == 0)
			z->in_eof = true;
		z->in_len = (size_t)r;
		z->consumed += (uint64_t)r;
		return 0;
	}
}

int kx_zstream_open(int fd, struct kx_zstream **ret, char *err, size_t errlen)
{
	struct kx_zstream *z = calloc(1, sizeof(*z));
	if (z)
		z->in = malloc(IN_CAP);
	if (!z || !z->in) {
		snprintf(err, errlen, "out of memory");
		free(z);
		close(fd);
		return -1;
	}
	z->fd = fd;
	/* At least 6 bytes to tell the format, unless the file is shorter. */
	while (z->in_len < 6 && !z->in_eof) {
		ssize_t r = read(fd, z->in + z->in_len, IN_CAP - z->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			kx_zstream_close(z);
			return -1;
		}
		if (r == 0)
			z->in_eof = true;
		z->in_len += (size_t)r;
		z->consumed += (uint64_t)r;
	}
	struct kx_rd r = kx_rd_init(z->in, z->in_len);
	uint32_t m4 = kx_rd_u32(&r);
	uint16_t m6 = kx_rd_u16(&r);
	bool have6 = !r.bad;
	if (z->in_len >= 3 && (m4 >> 8) == 0x1f8b08) {
		z->kind = Z_GZIP;
		/* 15 + 16: gzip only; members in a row are handled below. */
		if (inflateInit2(&z->gz, 15 + 16) != Z_OK) {
			snprintf(err, errlen, "cannot start the gzip decoder");
			kx_zstream_close(z);
			return -1;
		}
		z->gz_init = true;
	} else if (have6 && m4 == 0xfd377a58 && m6 == 0x5a00) {
		z->kind = Z_XZ;
		z->xz = (lzma_stream)LZMA_STREAM_INIT;
		if (lzma_stream_decoder(&z->xz, KX_ZSTREAM_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
			snprintf(err, errlen, "cannot start the xz decoder");
			kx_zstream_close(z);
			return -1;
		}
		z->xz_init = true;
	} else if (z->in_len >= 4 && m4 == 0x28b52ffd) {
		z->kind = Z_ZSTD;
		z->zs = ZSTD_createDStream();
		if (!z->zs || ZSTD_isError(ZSTD_initDStream(z->zs))) {
			snprintf(err, errlen, "cannot start the zstd decoder");
			kx_zstream_close(z);
			return -1;
		}
	}
	*ret = z;
	return 0;
}

static ssize_t fail(struct kx_zstream *z, const char *what)
{
	snprintf(z->err, sizeof(z->err), "%s data corrupt near compressed byte %" PRIu64 " (%s)",
		 kx_zstream_format(z), z->consumed - (z->in_len - z->in_pos), what);
	z->done = true;
	return -1;
}

static ssize_t end_of_input(struct kx_zstream *z)
{
	z->done = true;
	if (z->mid_stream) {
		z->truncated = true;
		snprintf(z->err, sizeof(z->err), "%s stream ends early: the file is truncated",
			 kx_zstream_format(z));
	}
	return 0;
}

static ssize_t read_gzip(struct kx_zstream *z, uint8_t *buf, size_t n)
{
	z->gz.next_out = buf;
	z->gz.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
	while (z->gz.avail_out == (uInt)(n > UINT32_MAX ? UINT32_MAX : n)) {
		if (fill(z) < 0)
			return -1;
		if (z->in_pos == z->in_len)
			return end_of_input(z);
		if (!z->mid_stream) {
			/* A new member must start with the magic; anything else after a
			 * member (tape padding, zeros) ends the stream. */
			struct kx_rd r = kx_rd_init(z->in + z->in_pos, z->in_len - z->in_pos);
			uint8_t b0 = kx_rd_u8(&r);
			if (b0 != 0x1f) {
				z->done = true;
				return 0;
			}
			z->mid_stream = true;
		}
		z->gz.next_in = z->in + z->in_pos;
		z->gz.avail_in = (uInt)(z->in_len - z->in_pos);
		int rc = inflate(&z->gz, Z_NO_FLUSH);
		z->in_pos = z->in_len - z->gz.avail_in;
		if (rc == Z_STREAM_END) {
			z->mid_stream = false;
			inflateReset(&z->gz);
		} else if (rc == Z_BUF_ERROR) {
			continue; /* needs more input */
		} else if (rc != Z_OK) {
			return fail(z, z->gz.msg ? z->gz.msg : "inflate error");
		}
	}
	return (ssize_t)((n > UINT32_MAX ? UINT32_MAX : n) - z->gz.avail_out);
}

static ssize_t read_xz(struct kx_zstream *z, uint8_t *buf, size_t n)
{
	z->xz.next_out = buf;
	z->xz.avail_out = n;
	while (z->xz.avail_out == n) {
		if (fill(z) < 0)
			return -1;
		z->xz.next_in = z->in + z->in_pos;
		z->xz.avail_in = z->in_len - z->in_pos;
		lzma_ret rc = lzma_code(&z->xz, z->in_eof && z->xz.avail_in == 0 ? LZMA_FINISH
										  : LZMA_RUN);
		z->in_pos = z->in_len - z->xz.avail_in;
		if (rc == LZMA_STREAM_END) {
			z->done = true;
			break;
		}
		if (rc == LZMA_BUF_ERROR && z->in_eof) {
			z->mid_stream = true;
			if (z->xz.avail_out != n)
				break;
			return end_of_input(z);
		}
		if (rc == LZMA_MEMLIMIT_ERROR)
			return fail(z, "needs more than the memory limit");
		if (rc != LZMA_OK && rc != LZMA_BUF_ERROR)
			return fail(z, rc == LZMA_FORMAT_ERROR ? "format error" : "data error");
	}
	return (ssize_t)(n - z->xz.avail_out);
}

static ssize_t read_zstd(struct kx_zstream *z, uint8_t *buf, size_t n)
{
	ZSTD_outBuffer out = { buf, n, 0 };
	while (out.pos == 0) {
		if (fill(z) < 0)
			return -1;
		if (z->in_pos == z->in_len)
			return end_of_input(z);
		ZSTD_inBuffer in = { z->in, z->in_len, z->in_pos };
		size_t rc = ZSTD_decompressStream(z->zs, &out, &in);
		z->in_pos = in.pos;
		if (ZSTD_isError(rc))
			return fail(z, ZSTD_getErrorName(rc));
		/* 0: a frame is complete (the next may follow). */
		z->mid_stream = rc != 0;
	}
	return (ssize_t)out.pos;
}

ssize_t kx_zstream_read(struct kx_zstream *z, void *buf, size_t n)
{
	if (n == 0)
		return 0;
	if (z->kind == Z_NONE) {
		if (z->in_pos < z->in_len) {
			size_t k = z->in_len - z->in_pos;
			if (k > n)
				k = n;
			memcpy(buf, z->in + z->in_pos, k);
			z->in_pos += k;
			return (ssize_t)k;
		}
		if (z->in_eof)
			return 0;
		for (;;) {
			ssize_t r = read(z->fd, buf, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				snprintf(z->err, sizeof(z->err), "read error at byte %" PRIu64 ": %s",
					 z->consumed, strerror(errno));
			else
				z->consumed += (uint64_t)r;
			if (r == 0)
				z->in_eof = true;
			return r;
		}
	}
	if (z->done)
		return 0;
	switch (z->kind) {
	case Z_GZIP: return read_gzip(z, buf, n);
	case Z_XZ: return read_xz(z, buf, n);
	default: return read_zstd(z, buf, n);
	}
}

const char *kx_zstream_format(const struct kx_zstream *z)
{
	switch (z->kind) {
	case Z_GZIP: return "gzip";
	case Z_XZ: return "xz";
	case Z_ZSTD: return "zstd";
	default: return NULL;
	}
}

bool kx_zstream_truncated(const struct kx_zstream *z)
{
	return z->truncated;
}

uint64_t kx_zstream_consumed(const struct kx_zstream *z)
{
	return z->consumed;
}

const char *kx_zstream_error(const struct kx_zstream *z)
{
	return z->err;
}

void kx_zstream_close(struct kx_zstream *z)
{
	if (!z)
		return;
	if (z->gz_init)
		inflateEnd(&z->gz);
	if (z->xz_init)
		lzma_end(&z->xz);
	if (z->zs)
		ZSTD_freeDStream(z->zs);
	if (z->fd >= 0)
		close(z->fd);
	free(z->in);
	free(z);
}
