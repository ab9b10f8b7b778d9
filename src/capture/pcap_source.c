/* pcap_source.c: saved captures.
 *
 * Classic pcap files are walked through mmap: no copy per packet and no 4 KiB
 * stdio reads, and a corrupt record header can be skipped by resynchronising
 * on the next plausible header instead of ending the file (libpcap cannot).
 * pcapng files and standard input go through libpcap, with a 256 KiB stdio
 * buffer instead of the default 4 KiB. Format references:
 * draft-ietf-opsawg-pcap (classic pcap), draft-ietf-opsawg-pcapng.
 */
#include "kexwatch/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kexwatch/decode.h"
#include "kexwatch/rd.h"

#define PCAP_HDR_LEN 24
#define REC_HDR_LEN 16
#define MAX_CAPLEN 262144u       /* libpcap's MAXIMUM_SNAPLEN */
#define RESYNC_WINDOW (1u << 20) /* bytes searched for the next good record */
#define STDIO_BUF (256u * 1024)
#define DROP_BEHIND (8u << 20) /* mapped bytes released behind the read cursor */

struct kx_source {
	const char *kind;
	int link;
	char err[256];
	uint64_t size;

	/* mmap path */
	const uint8_t *map;
	size_t map_len;
	size_t off;
	size_t dropped;    /* bytes before this were released from our RSS */
	bool swapped;
	bool nanos;
	uint32_t last_sec;

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

/* Reads a record header at `off`; false if it cannot be a valid record. */
static bool plausible_record(const struct kx_source *s, size_t off, uint32_t *ret_caplen)
{
	if (s->map_len - off < REC_HDR_LEN)
		return false;
	const uint8_t *h = s->map + off;
	uint32_t sec = rd32(h, s->swapped);
	uint32_t frac = rd32(h + 4, s->swapped);
	uint32_t caplen = rd32(h + 8, s->swapped);
	uint32_t wirelen = rd32(h + 12, s->swapped);
	if (caplen > MAX_CAPLEN || wirelen < caplen || wirelen > MAX_CAPLEN * 4)
		return false;
	if (frac >= (s->nanos ? 1000000000u : 1000000u))
		return false;
	if (s->last_sec && (sec + 86400u < s->last_sec || sec > s->last_sec + 86400u))
		return false;
	*ret_caplen = caplen;
	return true;
}

/* After a corrupt header at `bad`, looks for a record that is plausible and
 * followed by another plausible record (or the end of the file). */
static bool resync(struct kx_source *s, size_t bad, size_t *ret_off)
{
	size_t limit = s->map_len - bad > RESYNC_WINDOW ? bad + RESYNC_WINDOW : s->map_len;
	for (size_t off = bad + 1; off + REC_HDR_LEN <= limit; off++) {
		uint32_t caplen, next_caplen;
		if (!plausible_record(s, off, &caplen))
			continue;
		size_t next = off + REC_HDR_LEN + caplen;
		if (next > s->map_len)
			continue;
		if (next == s->map_len || plausible_record(s, next, &next_caplen)) {
			*ret_off = off;
			return true;
		}
	}
	return false;
}

/* Pages already read stay in the page cache but leave our resident set, so a
 * 1.5 GB capture does not show up as 1.5 GB of RSS. Frames handed out earlier
 * are never looked at again (the engine copies what it keeps). */
static void drop_behind(struct kx_source *s)
{
	size_t page = 4096;
	size_t upto = (s->off - DROP_BEHIND / 2) & ~(page - 1);
	if (upto > s->dropped) {
		madvise((void *)(s->map + s->dropped), upto - s->dropped, MADV_DONTNEED);
		s->dropped = upto;
	}
}

static enum kx_source_rc next_mmap(struct kx_source *s, struct kx_frame *f, struct kx_counters *c)
{
	if (s->off - s->dropped >= DROP_BEHIND)
		drop_behind(s);
	for (;;) {
		size_t left = s->map_len - s->off;
		if (left == 0)
			return KX_SRC_END;
		if (left < REC_HDR_LEN) {
			c->capture_truncated++;
			s->off = s->map_len;
			return KX_SRC_END;
		}
		uint32_t caplen;
		if (!plausible_record(s, s->off, &caplen)) {
			size_t at = s->off, good;
			c->capture_records_corrupt++;
			if (!resync(s, at, &good)) {
				snprintf(s->err, sizeof(s->err),
					 "corrupt record header at byte %zu and no valid record "
					 "within %u bytes after it",
					 at, RESYNC_WINDOW);
				s->off = s->map_len;
				return KX_SRC_ERROR;
			}
			s->off = good;
			continue;
		}
		const uint8_t *h = s->map + s->off;
		if (caplen > left - REC_HDR_LEN) {
			c->capture_truncated++;
			s->off = s->map_len;
			return KX_SRC_END;
		}
		uint32_t sec = rd32(h, s->swapped);
		uint32_t frac = rd32(h + 4, s->swapped);
		s->last_sec = sec;
		f->ts_us = (uint64_t)sec * 1000000u + (s->nanos ? frac / 1000u : frac);
		f->caplen = caplen;
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
		enum kx_source_rc rc = s->map ? next_mmap(s, f, c) : next_pcap(s, f);
		if (rc != KX_SRC_PACKET || !s->have_filter)
			return rc;
		struct pcap_pkthdr h = { .caplen = f->caplen, .len = f->wirelen };
		if (pcap_offline_filter(&s->prog, &h, f->data))
			return rc;
	}
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

static int open_mmap(struct kx_source *s, int fd, size_t len, char *err, size_t errlen,
		     const char *path)
{
	void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return -1;
	}
	madvise(m, len, MADV_SEQUENTIAL);
	s->map = m;
	s->map_len = len;
	uint32_t linktype = rd32(s->map + 20, s->swapped);
	s->link = (int)(linktype & 0xffff); /* upper bits carry FCS information */
	s->off = PCAP_HDR_LEN;
	s->kind = "pcap (mmap)";
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
	if (classic && !(opts && opts->no_mmap)) {
		if (st.st_size < PCAP_HDR_LEN) {
			snprintf(err, errlen, "%s: pcap header truncated", path);
			goto done;
		}
		s->swapped = m == 0xd4c3b2a1 || m == 0x4d3cb2a1;
		s->nanos = m == 0xa1b23c4d || m == 0x4d3cb2a1;
		rc = open_mmap(s, fileno(fp), (size_t)st.st_size, err, errlen, path);
		fclose(fp);
		fp = NULL;
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
	if (s->map)
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
	if (s->map)
		munmap((void *)s->map, s->map_len);
	if (s->pcap)
		pcap_close(s->pcap);
	if (s->have_filter)
		pcap_freecode(&s->prog);
	free(s->fpbuf);
	free(s);
}
