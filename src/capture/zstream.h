/* SPDX-License-Identifier: BSD-2-Clause */
/* zstream.h: a file descriptor read as a byte stream, decompressed on the
 * fly when it starts with a gzip, xz or zstd magic number (never judged by
 * its name), in bounded memory: one 64 KiB input buffer and the
 * decompressor's own state (xz's dictionary is limited to
 * KX_ZSTREAM_MEMLIMIT, zstd's window to 2^27 bytes, libzstd's default).
 */
#ifndef KEXWATCH_ZSTREAM_H
#define KEXWATCH_ZSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KX_ZSTREAM_MEMLIMIT (256u << 20)

struct kx_zstream;

/* Takes fd (closed by kx_zstream_close) and reads its first bytes to tell
 * the format. 0, or -1 with a message in err. */
int kx_zstream_open(int fd, struct kx_zstream **ret, char *err, size_t errlen);
/* Up to n decompressed bytes into buf: their number, 0 at the end of the
 * stream (see kx_zstream_truncated), -1 on a read error or corrupt data
 * (kx_zstream_error). */
ssize_t kx_zstream_read(struct kx_zstream *z, void *buf, size_t n);
/* "gzip", "xz", "zstd", or NULL for an uncompressed stream. */
const char *kx_zstream_format(const struct kx_zstream *z);
/* True once the end of the file came inside a compressed stream. */
bool kx_zstream_truncated(const struct kx_zstream *z);
/* Bytes read from the descriptor so far. */
uint64_t kx_zstream_consumed(const struct kx_zstream *z);
const char *kx_zstream_error(const struct kx_zstream *z);
void kx_zstream_close(struct kx_zstream *z);

#endif
