/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_util.c: small helpers shared by the subcommands. */
#include "cli_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kexwatch/prog.h"

int kx_parse_uint(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "%s: %s: expected a number from %" PRIu64 " to %" PRIu64
				", got '%s'\n", kx_prog, name, min, max, s);
		return -1;
	}
	*ret = v;
	return 0;
}

void kx_join_args(char *buf, size_t len, int argc, char **argv)
{
	size_t pos = 0;
	buf[0] = '\0';
	for (int i = 0; i < argc && pos + 1 < len; i++) {
		/* main names argv[0] "kexwatch read" for getopt's messages; the
		 * runs table keeps the subcommand as typed. */
		const char *a = argv[i];
		if (i == 0 && strncmp(a, "kexwatch ", 9) == 0)
			a += 9;
		int n = snprintf(buf + pos, len - pos, "%s%s", i ? " " : "", a);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

uint64_t kx_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
