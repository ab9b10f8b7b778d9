/* SPDX-License-Identifier: BSD-2-Clause */
/* httpd.c: the /metrics listener. One thread, non-blocking sockets, poll().
 *
 * Reference: RFC 9112 (HTTP/1.1 message syntax: request-line, tchar, the
 * blank line ending the header section), RFC 9110 §15 (status codes).
 *
 * It answers exactly one request per connection and then closes it, so the
 * whole server is a fixed array of client slots, each with a request buffer
 * of KX_METRICS_MAX_REQUEST bytes and one deadline. Nothing it does can block
 * the capture thread: the only lock it takes is the metrics mutex, held for a
 * reference-count change. Hostile clients are bounded by construction:
 * - slow senders and non-readers hit the deadline;
 * - oversized requests are answered 431 after KX_METRICS_MAX_REQUEST bytes;
 * - floods leave the listen socket unpolled while every slot is busy (the
 *   kernel backlog absorbs them), except that a slot older than
 *   KX_METRICS_EVICT_AGE_MS is given up for a new connection;
 * - SIGPIPE cannot happen: every send uses MSG_NOSIGNAL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kexwatch/metrics.h"
#include "metrics_int.h"

/* Pending connections the kernel keeps while every slot is busy. */
#define BACKLOG 128
/* Pause before polling the listen socket again after accept() ran out of
 * descriptors; otherwise poll() would report it readable in a tight loop. */
#define ACCEPT_PAUSE_MS 100

enum cstate { C_FREE = 0, C_READ, C_WRITE, C_DRAIN };

struct client {
	int fd;
	enum cstate st;
	uint64_t born_ms;
	size_t req_len;
	char req[KX_METRICS_MAX_REQUEST];
	char head[256];
	size_t head_len;
	struct kx_snap *snap; /* body of a 200 to a GET, else NULL */
	const char *body;
	size_t body_len;
	size_t sent; /* over head then body */
};

struct kx_httpd {
	struct kx_metrics *m;
	struct kx_http_stats *st;
	int lfd;
	int wake[2];
	uint16_t port;
	pthread_t thread;
	uint64_t accept_pause_until;
	struct client c[KX_METRICS_MAX_CLIENTS];
};

static const struct {
	int code;
	const char *reason, *body;
} statuses[KX_HTTP_MAX] = {
	[KX_HTTP_200] = { 200, "OK", NULL },
	[KX_HTTP_400] = { 400, "Bad Request", "bad request\n" },
	[KX_HTTP_404] = { 404, "Not Found", "not found: metrics are at /metrics\n" },
	[KX_HTTP_405] = { 405, "Method Not Allowed", "method not allowed: use GET\n" },
	[KX_HTTP_431] = { 431, "Request Header Fields Too Large", "request too large\n" },
	[KX_HTTP_505] = { 505, "HTTP Version Not Supported", "use HTTP/1.0 or HTTP/1.1\n" },
};

int kx_http_status_code(enum kx_http_status s)
{
	return (unsigned)s < KX_HTTP_MAX ? statuses[s].code : 500;
}

const char *kx_http_drop_name(enum kx_http_drop d)
{
	static const char *const names[KX_DROP_MAX] = {
		[KX_DROP_TIMEOUT] = "timeout",
		[KX_DROP_EVICTED] = "evicted",
		[KX_DROP_ERROR] = "error",
	};
	return (unsigned)d < KX_DROP_MAX ? names[d] : "error";
}

/* ---- request classification ---- */

/* RFC 9110 §5.6.2 token characters. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_target_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f;
}

/* Judges a complete request line (without its line ending). */
static enum kx_http_status request_line(const char *s, size_t n, bool *ret_head)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	size_t mlen = i;
	if (!mlen || i == n || s[i] != ' ')
		return KX_HTTP_400;
	size_t t0 = ++i;
	while (i < n && is_target_char((unsigned char)s[i]))
		i++;
	size_t tlen = i - t0;
	if (!tlen || i == n || s[i] != ' ')
		return KX_HTTP_400;
	const char *ver = s + i + 1;
	size_t vlen = n - i - 1;
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
	    ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
		return KX_HTTP_400;
	if (ver[5] != '1')
		return KX_HTTP_505;

	bool get = mlen == 3 && memcmp(s, "GET", 3) == 0;
	bool head = mlen == 4 && memcmp(s, "HEAD", 4) == 0;
	if (!get && !head)
		return KX_HTTP_405;
	*ret_head = head;

	/* absolute-form (RFC 9112 §3.2.2): keep the path after the authority */
	const char *t = s + t0;
	size_t skip = 0;
	if (tlen > 7 && (memcmp(t, "http://", 7) == 0 || memcmp(t, "https://", 8) == 0)) {
		skip = t[4] == 's' ? 8 : 7;
		while (skip < tlen && t[skip] != '/')
			skip++;
	}
	t += skip;
	tlen -= skip;
	size_t plen = 0;
	while (plen < tlen && t[plen] != '?')
		plen++;
	if (plen == 8 && memcmp(t, "/metrics", 8) == 0)
		return KX_HTTP_200;
	return KX_HTTP_404;
}

bool kx_http_classify(const char *req, size_t len, enum kx_http_status *ret_status,
		      bool *ret_head)
{
	*ret_head = false;
	const char *nl = memchr(req, '\n', len);
	if (!nl) {
		/* Fail fast on bytes no request line can start with (a TLS
		 * ClientHello, binary junk): no need to wait for a line end. */
		for (size_t i = 0; i < len && req[i] != ' '; i++)
			if (!is_tchar((unsigned char)req[i]) && !(req[i] == '\r' && i + 1 == len)) {
				*ret_status = KX_HTTP_400;
				return true;
			}
		return false;
	}
	size_t ll = (size_t)(nl - req);
	if (ll && req[ll - 1] == '\r')
		ll--;
	enum kx_http_status s = request_line(req, ll, ret_head);
	if (s != KX_HTTP_200) {
		*ret_status = s;
		return true;
	}
	/* The header section ends with an empty line; bare LF is tolerated
	 * (RFC 9112 §2.2). Control bytes other than CR and HTAB make it bad. */
	size_t i = (size_t)(nl - req) + 1;
	size_t line_start = i;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)req[i];
		if (ch == '\n') {
			size_t l = i - line_start;
			if (l == 0 || (l == 1 && req[line_start] == '\r')) {
				*ret_status = KX_HTTP_200;
				return true;
			}
			line_start = i + 1;
		} else if ((ch < 0x20 && ch != '\r' && ch != '\t') || ch == 0x7f) {
			*ret_status = KX_HTTP_400;
			return true;
		}
	}
	return false;
}

/* ---- connections ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void count(atomic_uint_fast64_t *v)
{
	atomic_fetch_add_explicit(v, 1, memory_order_relaxed);
}

static void client_close(struct kx_httpd *h, struct client *cl)
{
	if (cl->st == C_FREE)
		return;
	close(cl->fd);
	kx_metrics_release(h->m, cl->snap);
	cl->snap = NULL;
	cl->fd = -1;
	cl->st = C_FREE;
}

/* Closes a connection that has not had its full answer. */
static void client_drop(struct kx_httpd *h, struct client *cl, enum kx_http_drop why)
{
	if (cl->st == C_READ || cl->st == C_WRITE)
		count(&h->st->dropped[why]);
	client_close(h, cl);
}

static void client_write(struct kx_httpd *h, struct client *cl)
{
	while (cl->st == C_WRITE) {
		struct iovec iov[2];
		int n = 0;
		if (cl->sent < cl->head_len) {
			iov[n].iov_base = cl->head + cl->sent;
			iov[n++].iov_len = cl->head_len - cl->sent;
			iov[n].iov_base = (void *)cl->body;
			iov[n++].iov_len = cl->body_len;
		} else {
			size_t off = cl->sent - cl->head_len;
			iov[n].iov_base = (void *)(cl->body + off);
			iov[n++].iov_len = cl->body_len - off;
		}
		struct msghdr msg;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		ssize_t w = sendmsg(cl->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			client_drop(h, cl, KX_DROP_ERROR);
			return;
		}
		cl->sent += (size_t)w;
		if (cl->sent < cl->head_len + cl->body_len)
			continue;
		/* Done. Half-close and read until the peer closes, so request
		 * bytes we never read cannot turn our close into a reset that
		 * destroys the answer in flight. */
		kx_metrics_release(h->m, cl->snap);
		cl->snap = NULL;
		shutdown(cl->fd, SHUT_WR);
		cl->st = C_DRAIN;
	}
}

static void client_answer(struct kx_httpd *h, struct client *cl, enum kx_http_status s, bool head)
{
	count(&h->st->responses[s]);
	const char *type;
	if (s == KX_HTTP_200) {
		cl->snap = kx_metrics_acquire(h->m);
		cl->body = cl->snap->text;
		cl->body_len = cl->snap->len;
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		cl->body = statuses[s].body;
		cl->body_len = strlen(cl->body);
		type = "text/plain; charset=utf-8";
	}
	int n = snprintf(cl->head, sizeof(cl->head),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "%s"
			 "Cache-Control: no-store\r\n"
			 "Connection: close\r\n\r\n",
			 statuses[s].code, statuses[s].reason, type, cl->body_len,
			 s == KX_HTTP_405 ? "Allow: GET, HEAD\r\n" : "");
	cl->head_len = n > 0 && (size_t)n < sizeof(cl->head) ? (size_t)n : 0;
	if (head) {
		kx_metrics_release(h->m, cl->snap);
		cl->snap = NULL;
		cl->body_len = 0;
	}
	cl->sent = 0;
	cl->st = C_WRITE;
	client_write(h, cl);
}

static void client_read(struct kx_httpd *h, struct client *cl)
{
	for (;;) {
		if (cl->st == C_DRAIN) {
			char sink[4096];
			ssize_t r = recv(cl->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (r > 0)
				continue;
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			client_close(h, cl);
			return;
		}
		if (cl->st != C_READ)
			return;
		size_t room = sizeof(cl->req) - cl->req_len;
		ssize_t r = recv(cl->fd, cl->req + cl->req_len, room, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			client_drop(h, cl, KX_DROP_ERROR);
			return;
		}
		cl->req_len += (size_t)r;
		enum kx_http_status s;
		bool head;
		if (kx_http_classify(cl->req, cl->req_len, &s, &head))
			client_answer(h, cl, s, head);
		else if (cl->req_len == sizeof(cl->req))
			client_answer(h, cl, KX_HTTP_431, false);
	}
}

static struct client *free_slot(struct kx_httpd *h)
{
	for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++)
		if (h->c[i].st == C_FREE)
			return &h->c[i];
	return NULL;
}

/* The oldest connection past the eviction age, or NULL. */
static struct client *evictable(struct kx_httpd *h, uint64_t now)
{
	struct client *best = NULL;
	for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++) {
		struct client *cl = &h->c[i];
		if (cl->st == C_FREE || now - cl->born_ms < KX_METRICS_EVICT_AGE_MS)
			continue;
		if (!best || cl->born_ms < best->born_ms)
			best = cl;
	}
	return best;
}

static void accept_some(struct kx_httpd *h)
{
	for (;;) {
		uint64_t now = mono_ms();
		struct client *cl = free_slot(h);
		struct client *victim = cl ? NULL : evictable(h, now);
		if (!cl && !victim)
			return;
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM: back off, keep serving. */
			count(&h->st->accept_errors);
			h->accept_pause_until = now + ACCEPT_PAUSE_MS;
			return;
		}
		if (victim) {
			client_drop(h, victim, KX_DROP_EVICTED);
			cl = victim;
		}
		memset(cl, 0, offsetof(struct client, req));
		cl->fd = fd;
		cl->st = C_READ;
		cl->born_ms = now;
		cl->head_len = 0;
		cl->snap = NULL;
		/* A scraper sends its request right after connecting: usually it
		 * is already here, which saves a poll round. */
		client_read(h, cl);
	}
}

static void *serve(void *arg)
{
	struct kx_httpd *h = arg;
	struct pollfd pfd[2 + KX_METRICS_MAX_CLIENTS];
	struct client *owner[2 + KX_METRICS_MAX_CLIENTS];

	for (;;) {
		uint64_t now = mono_ms();
		int timeout = -1;
		bool full = true;
		nfds_t n = 0;

		pfd[n].fd = h->wake[0];
		pfd[n].events = POLLIN;
		owner[n++] = NULL;

		for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++) {
			struct client *cl = &h->c[i];
			if (cl->st == C_FREE) {
				full = false;
				continue;
			}
			uint64_t deadline = cl->born_ms + KX_METRICS_DEADLINE_MS;
			if (now >= deadline) {
				client_drop(h, cl, KX_DROP_TIMEOUT);
				full = false;
				continue;
			}
			uint64_t left = deadline - now;
			if (timeout < 0 || left < (uint64_t)timeout)
				timeout = (int)left;
			pfd[n].fd = cl->fd;
			pfd[n].events = cl->st == C_WRITE ? POLLOUT : POLLIN;
			owner[n++] = cl;
		}

		bool can_accept = !full || evictable(h, now);
		if (now < h->accept_pause_until) {
			uint64_t left = h->accept_pause_until - now;
			if (timeout < 0 || left < (uint64_t)timeout)
				timeout = (int)left;
		} else if (can_accept) {
			pfd[n].fd = h->lfd;
			pfd[n].events = POLLIN;
			owner[n++] = NULL;
		} else {
			/* Full: wake when the oldest becomes evictable. */
			uint64_t oldest = UINT64_MAX;
			for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++)
				if (h->c[i].st != C_FREE && h->c[i].born_ms < oldest)
					oldest = h->c[i].born_ms;
			uint64_t at = oldest + KX_METRICS_EVICT_AGE_MS;
			uint64_t left = at > now ? at - now : 0;
			if (timeout < 0 || left < (uint64_t)timeout)
				timeout = (int)left;
		}

		int rc = poll(pfd, n, timeout);
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break; /* EFAULT/EINVAL cannot happen; do not spin if they do */
		}
		if (pfd[0].revents)
			break;
		bool listen_ready = false;
		for (nfds_t i = 1; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			struct client *cl = owner[i];
			if (!cl) {
				listen_ready = true;
				continue;
			}
			if (cl->st == C_WRITE)
				client_write(h, cl);
			else
				client_read(h, cl);
		}
		if (listen_ready)
			accept_some(h);
	}
	for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++)
		client_close(h, &h->c[i]);
	return NULL;
}

/* ---- start and stop ---- */

static int parse_port(const char *s, uint16_t *ret)
{
	if (!*s)
		return -1;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -1;
	}
	*ret = (uint16_t)v;
	return 0;
}

/* "1.2.3.4:P", "[v6]:P" or ":P". any is set for ":P". */
static int parse_addr(const char *ap, struct sockaddr_storage *ss, socklen_t *ret_len,
		      bool *ret_any, char *err, size_t errlen)
{
	char host[64];
	const char *port;
	memset(ss, 0, sizeof(*ss));
	*ret_any = false;
	if (ap[0] == '[') {
		const char *close = strchr(ap, ']');
		if (!close || close[1] != ':' || (size_t)(close - ap - 1) >= sizeof(host)) {
			snprintf(err, errlen, "'%s': expected [IPv6]:PORT", ap);
			return -1;
		}
		memcpy(host, ap + 1, (size_t)(close - ap - 1));
		host[close - ap - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(ap, ':');
		if (!colon || (size_t)(colon - ap) >= sizeof(host)) {
			snprintf(err, errlen, "'%s': expected ADDR:PORT, [IPv6]:PORT or :PORT", ap);
			return -1;
		}
		memcpy(host, ap, (size_t)(colon - ap));
		host[colon - ap] = '\0';
		port = colon + 1;
		if (!host[0])
			*ret_any = true;
	}
	uint16_t p;
	if (parse_port(port, &p) < 0) {
		snprintf(err, errlen, "'%s': bad port '%s'", ap, port);
		return -1;
	}
	if (*ret_any || ap[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		s6->sin6_addr = in6addr_any;
		if (!*ret_any && inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			snprintf(err, errlen, "'%s': '%s' is not a numeric IPv6 address", ap, host);
			return -1;
		}
		*ret_len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			snprintf(err, errlen,
				 "'%s': '%s' is not a numeric IPv4 address (IPv6: [ADDR]:PORT)", ap,
				 host);
			return -1;
		}
		*ret_len = sizeof(*s4);
	}
	return 0;
}

static int open_listener(const struct sockaddr_storage *ss, socklen_t len, bool any)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof(int));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, BACKLOG) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* Idle connections (a flood of bare handshakes) then wait in the
	 * kernel until they send something, not in our slots. Best effort. */
	int defer = KX_METRICS_DEADLINE_MS / 1000;
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
	return fd;
}

struct kx_httpd *kx_httpd_start(struct kx_metrics *m, struct kx_http_stats *st,
				const char *addr_port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool any;
	if (parse_addr(addr_port, &ss, &len, &any, err, errlen) < 0)
		return NULL;

	struct kx_httpd *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->m = m;
	h->st = st;
	h->wake[0] = h->wake[1] = -1;
	for (unsigned i = 0; i < KX_METRICS_MAX_CLIENTS; i++)
		h->c[i].fd = -1;

	h->lfd = open_listener(&ss, len, any);
	if (h->lfd < 0 && any && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
		/* A host without IPv6: all IPv4 addresses instead. */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;
		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_port = port;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		h->lfd = open_listener(&ss, sizeof(*s4), any);
	}
	if (h->lfd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr_port, strerror(errno));
		free(h);
		return NULL;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (getsockname(h->lfd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6
					? ((struct sockaddr_in6 *)&bound)->sin6_port
					: ((struct sockaddr_in *)&bound)->sin_port);

	if (pipe2(h->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(h->lfd);
		free(h);
		return NULL;
	}
	/* The thread starts with every signal blocked, so SIGINT/SIGTERM/SIGHUP
	 * are delivered to the capture thread, whose poll() they must wake. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&h->thread, NULL, serve, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(rc));
		close(h->wake[0]);
		close(h->wake[1]);
		close(h->lfd);
		free(h);
		return NULL;
	}
	return h;
}

uint16_t kx_httpd_port(const struct kx_httpd *h)
{
	return h->port;
}

void kx_httpd_stop(struct kx_httpd *h)
{
	if (!h)
		return;
	ssize_t w;
	do
		w = write(h->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(h->thread, NULL);
	close(h->wake[0]);
	close(h->wake[1]);
	close(h->lfd);
	free(h);
}
