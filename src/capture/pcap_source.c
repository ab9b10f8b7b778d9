/* SPDX-License-Identifier: BSD-2-Clause */
/* pcap_source.c: saved captures.
 *
 * Classic pcap files are walked by our own reader: read(2) in 256 KiB
 * chunks into one reused buffer, records handed out in place (no copy per
 * packet, no 4 KiB stdio reads), and a corrupt record header is skipped by
 * resynchronising on the next plausible header instead of ending the file
 * (libpcap cannot). A chunk that fits the CPU's L2 cache beat mapping the
 * file: on the dense benchmark a bare walk took 26 ms by read(2) and 50 to
 * 64 ms through mmap, whose page faults, page-table updates and the
 * madvise(DONTNEED) that kept RSS bounded were a quarter of the packet
 * thread (tests/bench/README.md).
 *
 * A record header is refused only when it cannot be one: a captured length
 * above libpcap's limit or above the original length, or a fractional part
 * of one second or more. Timestamps are not judged: merged and re-stamped
 * captures jump years forward and back between records, and libpcap reads
 * them. A record longer than the file's snap length is handed out cut to
 * it, as libpcap does. pcapng files and standard input go
 * through libpcap, with a 256 KiB stdio buffer instead of the default
 * 4 KiB. Format references: draft-ietf-opsawg-pcap (classic pcap),
 * draft-ietf-opsawg-pcapng.
 */
#include "kexwatch/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kexwatch/decode.h"
#include "kexwatch/rd.h"

#define PCAP_HDR_LEN 24
#define REC_HDR_LEN 16
#define MAX_CAPLEN 262144u       /* libpcap's MAXIMUM_SNAPLEN */
#define RESYNC_WINDOW (1u << 20) /* bytes searched for the next good record */
#define RESYNC_CHAIN 3           /* records in a row that a resync point must start */
#define STDIO_BUF (256u * 1024)
#define READ_CHUNK (256u * 1024)
/* Room for a resync: the whole search window plus the records of the chain
 * after the candidate's header, and the last one's header. */
#define WINDOW_CAP (RESYNC_WINDOW + (RESYNC_CHAIN - 1) * (MAX_CAPLEN + REC_HDR_LEN) + REC_HDR_LEN)

struct kx_source {
	const char *kind;
	int link;
	char err[256];
	uint64_t size;

	/* own reader: buf holds the file's bytes [buf_off, buf_off + buf_len) */
	int fd;            /* -1 on the libpcap path */
	uint8_t *buf;
	uint64_t buf_off;
	size_t buf_len;
	bool eof;
	uint64_t off;      /* next record header */
	enum kx_source_rc batch_end; /* END/ERROR met inside a batch, for the next call */
	bool batch_ended;
	uint64_t checked_off;   /* record header next_in_buffer found plausible */
	uint32_t checked_caplen;
	bool swapped;
	bool nanos;
	uint32_t snaplen;       /* from the file header; MAX_CAPLEN when 0 or above it */

	/* libpcap path */
	pcap_t *pcap;
	FILE *fp;
	char *fpbuf;

	/* BPF filter, applied in user space to both paths */
	bool have_filter;
	struct bpf_program prog;
};

static uint32_t rd32(const uint8_t *p, bool swapped)
{
	struct kx_rd r = kx_rd_init(p, 4);
	return swapped ? kx_rd_u32(&r) : kx_rd_u32le(&r);
}

/* Makes the file's bytes [off, off + n) readable at the returned pointer,
 * reading more of the file as needed; *have is how many of the n there are
 * (fewer at the end of the file). off never goes back before the buffer's
 * start: the reader only moves forward. NULL on a read error (in s->err).
 * The pointer, and every frame handed out before, is valid until the next
 * call: the engine copies what it keeps. */
static const uint8_t *view(struct kx_source *s, uint64_t off, size_t n, size_t *have)
{
	uint64_t end = s->buf_off + s->buf_len;
	if (off + n > end && !s->eof) {
		size_t keep = (size_t)(end - off);
		memmove(s->buf, s->buf + (off - s->buf_off), keep);
		s->buf_off = off;
		s->buf_len = keep;
		size_t want = n > READ_CHUNK ? n : READ_CHUNK;
		if (want > WINDOW_CAP)
			want = WINDOW_CAP;
		while (s->buf_len < want) {
			ssize_t r = read(s->fd, s->buf + s->buf_len, want - s->buf_len);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				snprintf(s->err, sizeof(s->err), "read error at byte %" PRIu64 ": %s",
					 s->buf_off + s->buf_len, strerror(errno));
				return NULL;
			}
			if (r == 0) {
				s->eof = true;
				break;
			}
			s->buf_len += (size_t)r;
		}
		end = s->buf_off + s->buf_len;
	}
	size_t left = (size_t)(end - off);
	*have = left < n ? left : n;
	return s->buf + (off - s->buf_off);
}

/* Checks a record header (16 bytes at h); false if it cannot be a valid
 * record: caplen above what libpcap accepts (it gives up on the file there),
 * above the original length (no writer of the link types we decode does
 * that), or a fraction of a second that is not one. The timestamp itself
 * may be anything. */
static bool plausible_record(const struct kx_source *s, const uint8_t *h, uint32_t *ret_caplen)
{
	uint32_t frac = rd32(h + 4, s->swapped);
	uint32_t caplen = rd32(h + 8, s->swapped);
	uint32_t wirelen = rd32(h + 12, s->swapped);
	if (caplen > MAX_CAPLEN || wirelen < caplen || wirelen > MAX_CAPLEN * 4)
		return false;
	if (frac >= (s->nanos ? 1000000000u : 1000000u))
		return false;
	*ret_caplen = caplen;
	return true;
}

/* A resync point needs more than a plausible header, since timestamps no
 * longer tell a record from packet bytes: it must hold at least one byte
 * within the file's snap length (a run of zeros in a payload would
 * otherwise pass), and start RESYNC_CHAIN such records in a row, or a
 * shorter run that ends exactly at the end of the file. */
static bool resync_point(const struct kx_source *s, const uint8_t *w, size_t have, bool to_eof,
			 size_t at)
{
	for (int k = 0; k < RESYNC_CHAIN; k++) {
		uint32_t caplen;
		if (at == have && to_eof && k > 0)
			return true;
		if (have - at < REC_HDR_LEN || !plausible_record(s, w + at, &caplen) ||
		    caplen == 0 || caplen > s->snaplen)
			return false;
		at += REC_HDR_LEN + caplen;
		if (at > have)
			return false;
	}
	return true;
}

/* After a corrupt header at `bad`, looks for a resync point. Returns 1 with
 * its offset, 0 if there is none within RESYNC_WINDOW, -1 on a read error. */
static int resync(struct kx_source *s, uint64_t bad, uint64_t *ret_off)
{
	size_t have;
	const uint8_t *w = view(s, bad, WINDOW_CAP, &have);
	if (!w)
		return -1;
	bool to_eof = have < WINDOW_CAP; /* the window ends where the file does */
	size_t limit = have < RESYNC_WINDOW ? have : RESYNC_WINDOW;
	for (size_t i = 1; i + REC_HDR_LEN <= limit; i++) {
		if (resync_point(s, w, have, to_eof, i)) {
			*ret_off = bad + i;
			return 1;
		}
	}
	return 0;
}

static enum kx_source_rc next_file(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	for (;;) {
		size_t have;
		const uint8_t *h = view(s, s->off, REC_HDR_LEN, &have);
		if (!h)
			return KX_SRC_ERROR;
		if (have == 0)
			return KX_SRC_END;
		if (have < REC_HDR_LEN) {
			c->capture_truncated++;
			s->off += have;
			return KX_SRC_END;
		}
		uint32_t caplen = s->checked_caplen;
		if (s->off != s->checked_off && !plausible_record(s, h, &caplen)) {
			uint64_t at = s->off, good;
			c->capture_records_corrupt++;
			int found = resync(s, at, &good);
			if (found < 0)
				return KX_SRC_ERROR;
			if (!found) {
				snprintf(s->err, sizeof(s->err),
					 "corrupt record header at byte %" PRIu64 " and no valid record "
					 "within %u bytes after it",
					 at, RESYNC_WINDOW);
				s->eof = true;
				s->off = s->buf_off + s->buf_len;
				c->capture_corrupt_bytes += s->off - at;
				return KX_SRC_ERROR;
			}
			c->capture_corrupt_bytes += good - at;
			s->off = good;
			continue;
		}
		h = view(s, s->off, REC_HDR_LEN + caplen, &have);
		if (!h)
			return KX_SRC_ERROR;
		if (have < REC_HDR_LEN + caplen) {
			c->capture_truncated++;
			s->off += have;
			return KX_SRC_END;
		}
		uint32_t sec = rd32(h, s->swapped);
		uint32_t frac = rd32(h + 4, s->swapped);
		f->ts_us = (uint64_t)sec * 1000000u + (s->nanos ? frac / 1000u : frac);
		f->caplen = caplen < s->snaplen ? caplen : s->snaplen;
		f->wirelen = rd32(h + 12, s->swapped);
		f->data = h + REC_HDR_LEN;
		s->off += REC_HDR_LEN + caplen;
		return KX_SRC_PACKET;
	}
}

static enum kx_source_rc next_pcap(struct kx_source *s, struct kx_frame *f)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc = pcap_next_ex(s->pcap, &hdr, &data);
	if (rc == 1) {
		f->data = data;
		f->caplen = hdr->caplen;
		f->wirelen = hdr->len;
		f->ts_us = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
		return KX_SRC_PACKET;
	}
	if (rc == PCAP_ERROR_BREAK)
		return KX_SRC_END;
	snprintf(s->err, sizeof(s->err), "%s", pcap_geterr(s->pcap));
	return KX_SRC_ERROR;
}

enum kx_source_rc kx_source_next(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	for (;;) {
		enum kx_source_rc rc = s->fd >= 0 ? next_file(s, f, c) : next_pcap(s, f);
		if (rc != KX_SRC_PACKET || !s->have_filter)
			return rc;
		struct pcap_pkthdr h = { .caplen = f->caplen, .len = f->wirelen };
		if (pcap_offline_filter(&s->prog, &h, f->data))
			return rc;
	}
}

/* True when the next record is whole in the buffer and plausible: reading
 * it moves nothing (a refill would move the bytes earlier frames point at,
 * and a corrupt header is the next batch's to resynchronise). */
static bool next_in_buffer(struct kx_source *s)
{
	uint64_t end = s->buf_off + s->buf_len;
	uint32_t caplen;
	if (s->off + REC_HDR_LEN > end)
		return false;
	if (!plausible_record(s, s->buf + (s->off - s->buf_off), &caplen))
		return false;
	/* next_file need not check this header again. */
	s->checked_off = s->off;
	s->checked_caplen = caplen;
	return s->off + REC_HDR_LEN + caplen <= end;
}

int kx_source_next_batch(struct kx_source *s, struct kx_frame *f, int max, struct kx_counters *c,
			 enum kx_source_rc *ret_rc)
{
	int n = 0;
	if (s->batch_ended) {
		*ret_rc = s->batch_end;
		return 0;
	}
	/* libpcap's frames and filtered reads stay one at a time. */
	if (s->fd < 0 || s->have_filter)
		max = 1;
	while (n < max && (n == 0 || next_in_buffer(s))) {
		enum kx_source_rc rc = kx_source_next(s, &f[n], c);
		if (rc != KX_SRC_PACKET) {
			if (n == 0) {
				*ret_rc = rc;
				return 0;
			}
			s->batch_end = rc;
			s->batch_ended = true;
			break;
		}
		n++;
	}
	*ret_rc = KX_SRC_PACKET;
	return n;
}

static int compile_filter(struct kx_source *s, const char *expr, char *err, size_t errlen)
{
	pcap_t *dead = pcap_open_dead(s->link, (int)MAX_CAPLEN);
	if (!dead) {
		snprintf(err, errlen, "cannot compile filter: out of memory");
		return -1;
	}
	if (pcap_compile(dead, &s->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "bad filter '%s': %s", expr, pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	pcap_close(dead);
	s->have_filter = true;
	return 0;
}

static int open_direct(struct kx_source *s, int fd, char *err, size_t errlen, const char *path)
{
	size_t have;
	s->buf = malloc(WINDOW_CAP);
	if (!s->buf) {
		snprintf(err, errlen, "%s: out of memory for the read buffer", path);
		return -1;
	}
	s->fd = fd;
	/* Twice the kernel's default read-ahead for a file read from end to end. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	const uint8_t *h = view(s, 0, PCAP_HDR_LEN, &have);
	if (!h || have < PCAP_HDR_LEN) {
		snprintf(err, errlen, "%s: %s", path, h ? "pcap header truncated" : s->err);
		return -1;
	}
	uint32_t linktype = rd32(h + 20, s->swapped);
	s->link = (int)(linktype & 0xffff); /* upper bits carry FCS information */
	/* libpcap's reading of the field: 0 or above its limit means the limit. */
	s->snaplen = rd32(h + 16, s->swapped);
	if (s->snaplen == 0 || s->snaplen > MAX_CAPLEN)
		s->snaplen = MAX_CAPLEN;
	s->off = PCAP_HDR_LEN;
	s->kind = "pcap (direct)";
	return 0;
}

static int open_libpcap(struct kx_source *s, FILE *fp, const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	/* stdin outlives this source, so it gets a buffer that does too. */
	static char stdin_buf[STDIO_BUF];
	if (fp == stdin) {
		setvbuf(fp, stdin_buf, _IOFBF, STDIO_BUF);
	} else {
		s->fpbuf = malloc(STDIO_BUF);
		if (s->fpbuf)
			setvbuf(fp, s->fpbuf, _IOFBF, STDIO_BUF);
	}
	s->fp = fp;
	s->pcap = pcap_fopen_offline(fp, ebuf);
	if (!s->pcap) {
		snprintf(err, errlen, "%s: not a readable pcap/pcapng capture (%s)", path, ebuf);
		return -1;
	}
	s->fp = NULL; /* owned by libpcap now */
	s->link = pcap_datalink(s->pcap);
	s->kind = pcap_major_version(s->pcap) == 1 ? "pcap" : "pcapng";
	return 0;
}

int kx_source_open_file(const char *path, const struct kx_source_opts *opts,
			struct kx_source **ret, char *err, size_t errlen)
{
	struct kx_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->fd = -1;
	s->checked_off = UINT64_MAX;
	FILE *fp = NULL;
	int rc = -1;
	if (strcmp(path, "-") == 0) {
		fp = stdin;
		rc = open_libpcap(s, fp, "standard input", err, errlen);
		goto done;
	}
	fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	struct stat st;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		/* A FIFO or device: libpcap reads it as a stream. */
		rc = open_libpcap(s, fp, path, err, errlen);
		goto done;
	}
	s->size = (uint64_t)st.st_size;
	uint8_t magic[4] = { 0 };
	size_t got = fread(magic, 1, 4, fp);
	rewind(fp);
	if (got < 4) {
		snprintf(err, errlen, "%s: too short to be a capture file (%zu bytes)", path,
			 (size_t)st.st_size);
		goto done;
	}
	uint32_t m = rd32(magic, false);
	bool classic = m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1;
	if (classic && !(opts && opts->libpcap)) {
		if (st.st_size < PCAP_HDR_LEN) {
			snprintf(err, errlen, "%s: pcap header truncated", path);
			goto done;
		}
		s->swapped = m == 0xd4c3b2a1 || m == 0x4d3cb2a1;
		s->nanos = m == 0xa1b23c4d || m == 0x4d3cb2a1;
		/* A descriptor of our own at offset 0; the stdio stream (which
		 * read the magic) goes. */
		int fd = dup(fileno(fp));
		fclose(fp);
		fp = NULL;
		if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto done;
		}
		rc = open_direct(s, fd, err, errlen, path);
		goto done;
	}
	if (!classic && m != 0x0a0d0d0a) {
		snprintf(err, errlen,
			 "%s: not a pcap or pcapng file (magic 0x%08x)", path, m);
		goto done;
	}
	rc = open_libpcap(s, fp, path, err, errlen);
done:
	if (rc == 0 && !kx_decode_link_supported(s->link)) {
		snprintf(err, errlen, "%s: unsupported link type %d (%s)", path, s->link,
			 pcap_datalink_val_to_name(s->link) ? pcap_datalink_val_to_name(s->link)
							    : "unknown");
		rc = -1;
	}
	if (rc == 0 && opts && opts->filter && compile_filter(s, opts->filter, err, errlen) < 0)
		rc = -1;
	if (rc < 0) {
		if (fp && !s->pcap && fp != stdin)
			fclose(fp);
		kx_source_close(s);
		return -1;
	}
	*ret = s;
	return 0;
}

int kx_source_link(const struct kx_source *s)
{
	return s->link;
}

uint64_t kx_source_size(const struct kx_source *s)
{
	return s->size;
}

uint64_t kx_source_pos(const struct kx_source *s)
{
	if (s->fd >= 0)
		return s->off;
	if (s->pcap && s->size) {
		off_t o = ftello(pcap_file(s->pcap));
		return o > 0 ? (uint64_t)o : 0;
	}
	return 0;
}

const char *kx_source_error(const struct kx_source *s)
{
	return s->err;
}

const char *kx_source_kind(const struct kx_source *s)
{
	return s->kind ? s->kind : "pcap";
}

void kx_source_close(struct kx_source *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	if (s->pcap)
		pcap_close(s->pcap);
	if (s->have_filter)
		pcap_freecode(&s->prog);
	free(s->fpbuf);
	free(s);
}
