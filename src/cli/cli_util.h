/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_util.h: small helpers shared by the subcommands. */
#ifndef KEXWATCH_CLI_UTIL_H
#define KEXWATCH_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses a decimal integer in [min, max]; prints "NAME: ..." and returns -1 when not. */
int kx_parse_uint(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* "read --db x.db a.pcap": the command line for the runs table. */
void kx_join_args(char *buf, size_t len, int argc, char **argv);

/* Wall-clock time in microseconds since the epoch. */
uint64_t kx_now_us(void);

/* A report written whole or not at all: PATH.tmp, renamed on success, so a
 * reader never sees half a file. PATH "-" or NULL: standard output; a path
 * that is not a regular file (/dev/null, a FIFO) is written directly. */
struct kx_atomic_out {
	FILE *f;
	const char *path;
	char *tmp;
};

/* Opens o->f; prints "kexwatch CMD: ..." and returns -1 on failure. */
int kx_atomic_open(struct kx_atomic_out *o, const char *cmd, const char *path);

/* Closes o->f; with rc 0 renames the file into place, otherwise (or when
 * that fails) removes it and prints err. Returns the exit status. */
int kx_atomic_finish(struct kx_atomic_out *o, const char *cmd, int rc, char *err, size_t errlen);

#endif
