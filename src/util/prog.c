/* SPDX-License-Identifier: BSD-2-Clause */
/* prog.c: the message prefix (see prog.h). */
#include "kexwatch/prog.h"

const char *kx_prog = "kexwatch";
