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
 * it, as libpcap does.
 *
 * pcapng goes through our own block reader too (pcapng.c), since libpcap
 * 1.10 refuses a file whose interfaces have different link types and does
 * not say which interface a packet came from. Both readers take their bytes
 * from a zstream (zstream.c): read(2) on a plain file, pipe or standard
 * input, or a gzip/xz/zstd decompressor, chosen by the magic number. With
 * --libpcap the capture goes through libpcap instead (a plain file opened
 * by name; anything else through a stdio stream over the zstream), with a
 * 256 KiB stdio buffer instead of the default 4 KiB; a capture it finds
 * cut short gives the same warning as ours. Format references:
 * draft-ietf-opsawg-pcap (classic pcap), draft-ietf-opsawg-pcapng.
 */
#include "kexwatch/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kexwatch/decode.h"
#include "kexwatch/rd.h"
#include "pcap_int.h"
#include "zstream.h"

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
const uint8_t *kx_src_view(struct kx_source *s, uint64_t off, size_t n, size_t *have)
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
			ssize_t r = kx_zstream_read(s->z, s->buf + s->buf_len, want - s->buf_len);
			if (r < 0) {
				snprintf(s->err, sizeof(s->err), "%s", kx_zstream_error(s->z));
				return NULL;
			}
			if (r == 0) {
				s->eof = true;
				break;
			}
			s->buf_len += (size_t)r;
			/* Enough for this request: a pipe fed slowly (a live
			 * tcpdump -w -) gives each packet as it comes, not after
			 * a whole chunk. A file's read fills the chunk at once. */
			if (s->buf_len >= n)
				break;
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
	const uint8_t *w = kx_src_view(s, bad, WINDOW_CAP, &have);
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

/* The capture ends inside a record: counted once, the same words as the
 * pcapng reader and libpcap's path give. */
static enum kx_source_rc cut(struct kx_source *s, struct kx_counters *c, size_t have)
{
	if (!s->cut)
		c->capture_truncated++;
	s->cut = true;
	s->off += have;
	snprintf(s->warn, sizeof(s->warn), "file ends in the middle of a packet");
	return KX_SRC_END;
}

static enum kx_source_rc next_file(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	for (;;) {
		size_t have;
		const uint8_t *h = kx_src_view(s, s->off, REC_HDR_LEN, &have);
		if (!h)
			return KX_SRC_ERROR;
		if (have == 0)
			return KX_SRC_END;
		if (have < REC_HDR_LEN)
			return cut(s, c, have);
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
		h = kx_src_view(s, s->off, REC_HDR_LEN + caplen, &have);
		if (!h)
			return KX_SRC_ERROR;
		if (have < REC_HDR_LEN + caplen)
			return cut(s, c, have);
		uint32_t sec = rd32(h, s->swapped);
		uint32_t frac = rd32(h + 4, s->swapped);
		f->ts_us = (uint64_t)sec * 1000000u + (s->nanos ? frac / 1000u : frac);
		f->caplen = caplen < s->snaplen ? caplen : s->snaplen;
		f->wirelen = rd32(h + 12, s->swapped);
		f->data = h + REC_HDR_LEN;
		f->link = s->link;
		f->iface = 0;
		s->off += REC_HDR_LEN + caplen;
		return KX_SRC_PACKET;
	}
}

/* libpcap's words for a file that ends inside a record or block
 * ("truncated dump file; tried to read ...", "truncated pcapng dump
 * file; ..."): the same warning as our readers give, not an error. */
static bool libpcap_truncated(const char *msg)
{
	return strncmp(msg, "truncated ", 10) == 0;
}

static enum kx_source_rc next_pcap(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int rc = pcap_next_ex(s->pcap, &hdr, &data);
	if (rc == 1) {
		f->data = data;
		f->caplen = hdr->caplen;
		f->wirelen = hdr->len;
		f->ts_us = (uint64_t)hdr->ts.tv_sec * 1000000u + (uint64_t)hdr->ts.tv_usec;
		f->link = s->link;
		f->iface = 0;
		return KX_SRC_PACKET;
	}
	if (rc == PCAP_ERROR_BREAK)
		return KX_SRC_END;
	const char *msg = pcap_geterr(s->pcap);
	if (libpcap_truncated(msg) && !(s->z && kx_zstream_error(s->z)[0])) {
		if (!s->cut)
			c->capture_truncated++;
		s->cut = true;
		snprintf(s->warn, sizeof(s->warn), "file ends in the middle of a packet");
		return KX_SRC_END;
	}
	/* An error of the stream under libpcap says more than libpcap's. */
	snprintf(s->err, sizeof(s->err), "%s", s->z && kx_zstream_error(s->z)[0] ?
		 kx_zstream_error(s->z) : msg);
	return KX_SRC_ERROR;
}

static const struct bpf_program *filter_for(struct kx_source *s, const struct kx_frame *f)
{
	if (!s->ng)
		return &s->prog;
	/* pcapng: one program per link type, compiled when an interface of
	 * that type is described (pcapng.c); the frame's interface names it. */
	for (int i = 0; i < s->n_filters; i++)
		if (s->filters[i].link == f->link)
			return &s->filters[i].prog;
	return NULL;
}

/* A stream that ended early: one warning, counted once as a cut capture. */
static void end_checks(struct kx_source *s, struct kx_counters *c)
{
	if (s->z && kx_zstream_truncated(s->z)) {
		if (!s->cut)
			c->capture_truncated++;
		s->cut = true;
		snprintf(s->warn, sizeof(s->warn), "%s", kx_zstream_error(s->z));
	}
}

enum kx_source_rc kx_source_next(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	for (;;) {
		enum kx_source_rc rc = s->fd < 0 ? next_pcap(s, f, c)
				       : s->ng ? kx_ng_next(s, f, c) : next_file(s, f, c);
		if (rc == KX_SRC_END)
			end_checks(s, c);
		if (rc != KX_SRC_PACKET)
			return rc;
		s->records++;
		if (!s->have_filter)
			return rc;
		struct pcap_pkthdr h = { .caplen = f->caplen, .len = f->wirelen };
		const struct bpf_program *prog = filter_for(s, f);
		if (prog && pcap_offline_filter(prog, &h, f->data))
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
	/* libpcap's frames, pcapng's (interfaces may differ in link type) and
	 * filtered reads stay one at a time. */
	if (s->fd < 0 || s->have_filter || s->ng)
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

static int compile_for(int link, const char *expr, struct bpf_program *prog, char *err,
		       size_t errlen)
{
	/* Files carry LINKTYPE_ values, libpcap compiles for DLT_ ones; they
	 * differ for raw IP (101 in files, DLT_RAW 12 or 14 here). */
	if (link == KX_LINK_RAW)
		link = DLT_RAW;
	pcap_t *dead = pcap_open_dead(link, (int)MAX_CAPLEN);
	if (!dead) {
		snprintf(err, errlen, "cannot compile filter: out of memory");
		return -1;
	}
	if (pcap_compile(dead, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "bad filter '%s': %s", expr, pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	pcap_close(dead);
	return 0;
}

int kx_filter_check(const char *expr, char *err, size_t errlen)
{
	/* Valid for one of the link types a capture is likely to have (a
	 * filter naming 802.11 or SLL fields does not compile for Ethernet);
	 * the error said is Ethernet's. Each capture compiles it again for its
	 * own link types. */
	static const int links[] = { KX_LINK_ETHERNET, DLT_RAW, KX_LINK_SLL, KX_LINK_SLL2,
				     DLT_IEEE802_11_RADIO };
	char e[8];
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct bpf_program prog;
		if (compile_for(links[i], expr, &prog, i ? e : err, i ? sizeof(e) : errlen) == 0) {
			pcap_freecode(&prog);
			return 0;
		}
	}
	return -1;
}

/* pcapng: the program for an interface's link type (compiled once per
 * type). -1 with a message when the filter cannot apply to that type. */
int kx_ng_filter(struct kx_source *s, int link)
{
	for (int i = 0; i < s->n_filters; i++)
		if (s->filters[i].link == link)
			return i;
	if (s->n_filters == NG_MAX_FILTERS) {
		snprintf(s->err, sizeof(s->err), "more than %d link types to filter", NG_MAX_FILTERS);
		return -1;
	}
	char e[200];
	if (compile_for(link, s->filter_expr, &s->filters[s->n_filters].prog, e, sizeof(e)) < 0) {
		snprintf(s->err, sizeof(s->err), "link type %d: %s", link, e);
		return -1;
	}
	s->filters[s->n_filters].link = link;
	return s->n_filters++;
}

static int compile_filter(struct kx_source *s, const char *expr, char *err, size_t errlen)
{
	if (s->ng) {
		/* Per interface, as they are described; the syntax is checked now. */
		s->filter_expr = expr;
		s->have_filter = true;
		return kx_filter_check(expr, err, errlen);
	}
	if (compile_for(s->link, expr, &s->prog, err, errlen) < 0)
		return -1;
	s->have_filter = true;
	return 0;
}

static int open_direct(struct kx_source *s, char *err, size_t errlen, const char *path)
{
	size_t have;
	const uint8_t *h = kx_src_view(s, 0, PCAP_HDR_LEN, &have);
	if (!h || have < PCAP_HDR_LEN) {
		snprintf(err, errlen, "%s: %s", path, h ? "pcap header truncated" : s->err);
		return -1;
	}
	uint32_t m = rd32(h, false);
	s->swapped = m == 0xd4c3b2a1 || m == 0x4d3cb2a1;
	s->nanos = m == 0xa1b23c4d || m == 0x4d3cb2a1;
	uint32_t linktype = rd32(h + 20, s->swapped);
	s->link = (int)(linktype & 0xffff); /* upper bits carry FCS information */
	/* libpcap's reading of the field: 0 or above its limit means the limit. */
	s->snaplen = rd32(h + 16, s->swapped);
	if (s->snaplen == 0 || s->snaplen > MAX_CAPLEN)
		s->snaplen = MAX_CAPLEN;
	s->off = PCAP_HDR_LEN;
	snprintf(s->kind, sizeof(s->kind), "pcap (direct)");
	return 0;
}

/* libpcap reads a compressed capture or a stream through stdio over the
 * zstream. */
static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
	return kx_zstream_read(cookie, buf, n);
}

static int open_libpcap(struct kx_source *s, FILE *fp, const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	s->fpbuf = malloc(STDIO_BUF);
	if (s->fpbuf)
		setvbuf(fp, s->fpbuf, _IOFBF, STDIO_BUF);
	s->fp = fp;
	s->pcap = pcap_fopen_offline(fp, ebuf);
	if (!s->pcap) {
		if (s->z && kx_zstream_error(s->z)[0])
			snprintf(ebuf, sizeof(ebuf), "%s", kx_zstream_error(s->z));
		snprintf(err, errlen, "%s: not a readable pcap/pcapng capture (%s)", path, ebuf);
		return -1;
	}
	s->fp = NULL; /* owned by libpcap now */
	s->link = pcap_datalink(s->pcap);
	snprintf(s->kind, sizeof(s->kind), "%s", pcap_major_version(s->pcap) == 1 ? "pcap" : "pcapng");
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
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;
	int rc = -1;
	/* A descriptor of our own: closing the source never closes fd 0. */
	int fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto done;
	}
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (regular) {
		s->size = (uint64_t)st.st_size;
		/* Twice the kernel's default read-ahead for a file read from end to end. */
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	char zerr[200];
	if (kx_zstream_open(fd, &s->z, zerr, sizeof(zerr)) < 0) {
		snprintf(err, errlen, "%s: %s", name, zerr);
		goto done;
	}
	const char *zfmt = kx_zstream_format(s->z);
	if (opts && opts->libpcap) {
		FILE *fp;
		if (regular && !zfmt && !is_stdin) {
			/* As before: libpcap reads the file by name. */
			kx_zstream_close(s->z);
			s->z = NULL;
			fp = fopen(path, "rb");
		} else {
			cookie_io_functions_t io = { .read = cookie_read };
			fp = fopencookie(s->z, "rb", io);
		}
		if (!fp) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			goto done;
		}
		rc = open_libpcap(s, fp, name, err, errlen);
		if (rc < 0 && !s->pcap)
			fclose(fp);
		goto done;
	}
	s->buf = malloc(WINDOW_CAP);
	if (!s->buf) {
		snprintf(err, errlen, "%s: out of memory for the read buffer", name);
		goto done;
	}
	s->fd = 0; /* the own readers; the bytes come from s->z */
	size_t have;
	const uint8_t *h = kx_src_view(s, 0, 4, &have);
	if (!h) {
		snprintf(err, errlen, "%s: %s", name, s->err);
		goto done;
	}
	if (have < 4) {
		snprintf(err, errlen, "%s: too short to be a capture file (%zu bytes%s%s)", name, have,
			 zfmt ? " after " : "", zfmt ? zfmt : "");
		goto done;
	}
	uint32_t m = rd32(h, false);
	bool classic = m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1;
	if (classic)
		rc = open_direct(s, err, errlen, name);
	else if (m == 0x0a0d0d0a)
		rc = kx_ng_open(s, err, errlen, name);
	else
		snprintf(err, errlen, "%s: not a pcap or pcapng file%s%s (magic 0x%08x)", name,
			 zfmt ? " inside the " : "", zfmt ? zfmt : "", m);
done:
	if (rc == 0 && zfmt) {
		size_t k = strlen(s->kind);
		snprintf(s->kind + k, sizeof(s->kind) - k, " %s", zfmt);
	}
	if (rc == 0 && !s->ng && !kx_decode_link_supported(s->link)) {
		snprintf(err, errlen, "%s: unsupported link type %d (%s)", name, s->link,
			 pcap_datalink_val_to_name(s->link) ? pcap_datalink_val_to_name(s->link)
							    : "unknown");
		rc = -1;
	}
	if (rc == 0 && opts && opts->filter && compile_filter(s, opts->filter, err, errlen) < 0)
		rc = -1;
	if (rc < 0) {
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
	/* A compressed stream's progress is in its file's bytes. */
	if (s->z && (kx_zstream_format(s->z) || s->fd < 0))
		return s->size ? kx_zstream_consumed(s->z) : 0;
	if (s->fd >= 0)
		return s->off;
	if (s->pcap && s->size) {
		off_t o = ftello(pcap_file(s->pcap));
		return o > 0 ? (uint64_t)o : 0;
	}
	return 0;
}

uint64_t kx_source_records(const struct kx_source *s)
{
	return s->records;
}

const char *kx_source_error(const struct kx_source *s)
{
	return s->err;
}

const char *kx_source_warning(struct kx_source *s)
{
	if (s->unsupported_pkts || s->ifaces_dropped)
		snprintf(s->ifwarn + strlen(s->ifwarn), sizeof(s->ifwarn) - strlen(s->ifwarn),
			 "%s%llu packets skipped", s->ifwarn[0] ? ": " : "",
			 (unsigned long long)s->unsupported_pkts);
	if (s->ifaces_dropped)
		snprintf(s->ifwarn + strlen(s->ifwarn), sizeof(s->ifwarn) - strlen(s->ifwarn),
			 "; %llu interfaces beyond the first %d not read",
			 (unsigned long long)s->ifaces_dropped, NG_MAX_IFACES);
	s->unsupported_pkts = s->ifaces_dropped = 0;
	snprintf(s->warn_all, sizeof(s->warn_all), "%s%s%s", s->warn,
		 s->warn[0] && s->ifwarn[0] ? "; " : "", s->ifwarn);
	return s->warn_all;
}

const char *kx_source_kind(const struct kx_source *s)
{
	return s->kind[0] ? s->kind : "pcap";
}

void kx_source_close(struct kx_source *s)
{
	if (!s)
		return;
	free(s->buf);
	/* libpcap closes its stdio stream; the zstream under it goes after. */
	if (s->pcap)
		pcap_close(s->pcap);
	kx_zstream_close(s->z);
	if (s->have_filter && !s->ng)
		pcap_freecode(&s->prog);
	for (int i = 0; i < s->n_filters; i++)
		pcap_freecode(&s->filters[i].prog);
	free(s->fpbuf);
	free(s);
}

/* Interface names: written by the packet thread before any frame names
 * them, read by the sink's thread for rows queued after that frame (the
 * queue's lock orders the two). */
static char iface_names[KX_IFACE_MAX][KX_IFACE_NAME_MAX];
static _Atomic unsigned iface_count = 1; /* 0 is "none" */

uint8_t kx_iface_intern(const char *name, size_t len)
{
	char clean[KX_IFACE_NAME_MAX];
	size_t n = 0;
	for (size_t i = 0; i < len && name[i] && n + 1 < sizeof(clean); i++) {
		unsigned char ch = (unsigned char)name[i];
		clean[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	clean[n] = '\0';
	if (n == 0)
		return 0;
	unsigned count = atomic_load_explicit(&iface_count, memory_order_relaxed);
	for (unsigned i = 1; i < count; i++)
		if (strcmp(iface_names[i], clean) == 0)
			return (uint8_t)i;
	if (count >= KX_IFACE_MAX)
		return 0;
	memcpy(iface_names[count], clean, n + 1);
	atomic_store_explicit(&iface_count, count + 1, memory_order_release);
	return (uint8_t)count;
}

const char *kx_iface_name(uint8_t idx)
{
	return idx && idx < atomic_load_explicit(&iface_count, memory_order_acquire) ?
		       iface_names[idx] : NULL;
}
