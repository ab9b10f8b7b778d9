/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_util.h: small helpers shared by the subcommands. */
#ifndef KEXWATCH_CLI_UTIL_H
#define KEXWATCH_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal integer in [min, max]; prints "NAME: ..." and returns -1 when not. */
int kx_parse_uint(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* "read --db x.db a.pcap": the command line for the runs table. */
void kx_join_args(char *buf, size_t len, int argc, char **argv);

/* Wall-clock time in microseconds since the epoch. */
uint64_t kx_now_us(void);

#endif
