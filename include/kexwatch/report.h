/* report.h: read-only reports over the inventory. */
#ifndef KEXWATCH_REPORT_H
#define KEXWATCH_REPORT_H

#include <stdio.h>

enum kx_out_format { KX_OUT_TABLE = 0, KX_OUT_JSON, KX_OUT_CSV };

/* One line per server endpoint (server IP, port, SNI). Returns 0, or -1 with
 * a message in err. Opens the database read-only. */
int kx_report_hops(const char *db_path, enum kx_out_format fmt, FILE *out,
		   char *err, size_t errlen);

#endif
