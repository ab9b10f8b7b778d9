/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_util.c: small helpers shared by the subcommands. */
#include "cli_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kexwatch/cli.h"
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

int kx_atomic_open(struct kx_atomic_out *o, const char *cmd, const char *path)
{
	o->f = stdout;
	o->path = path;
	o->tmp = NULL;
	if (!path || strcmp(path, "-") == 0)
		return 0;
	/* Not a regular file (/dev/null, a FIFO): written as it is; renaming
	 * FILE.tmp over it would replace the device with a file. */
	struct stat sb;
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		if (!(o->f = fopen(path, "w"))) {
			fprintf(stderr, "kexwatch %s: %s: %s\n", cmd, path, strerror(errno));
			return -1;
		}
		return 0;
	}
	size_t n = strlen(path) + 5;
	if (!(o->tmp = malloc(n))) {
		fprintf(stderr, "kexwatch %s: out of memory\n", cmd);
		return -1;
	}
	snprintf(o->tmp, n, "%s.tmp", path);
	if (!(o->f = fopen(o->tmp, "w"))) {
		fprintf(stderr, "kexwatch %s: %s: %s\n", cmd, o->tmp, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	return 0;
}

int kx_atomic_finish(struct kx_atomic_out *o, const char *cmd, int rc, char *err, size_t errlen)
{
	if ((o->tmp || (o->f && o->f != stdout)) && fclose(o->f) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", o->tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && o->tmp && rename(o->tmp, o->path) < 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		rc = -1;
	}
	if (rc < 0) {
		if (o->tmp)
			unlink(o->tmp);
		fprintf(stderr, "kexwatch %s: %s\n", cmd, err);
	}
	free(o->tmp);
	o->tmp = NULL;
	return rc < 0 ? KX_EXIT_FAIL : KX_EXIT_OK;
}
