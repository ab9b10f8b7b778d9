/* SPDX-License-Identifier: BSD-2-Clause */
/* prog.h: the name messages start with ("kexwatch read"), set once by main
 * before a subcommand runs, so every stage reports errors the same way. */
#ifndef KEXWATCH_PROG_H
#define KEXWATCH_PROG_H

extern const char *kx_prog;

#endif
