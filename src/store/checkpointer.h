/* SPDX-License-Identifier: BSD-2-Clause */
/* checkpointer.h: WAL checkpoints on their own thread and connection.
 *
 * In WAL mode a commit only appends to the -wal file; a checkpoint later
 * copies those pages into the database file, and with synchronous=NORMAL it
 * is the step that waits for the disk (fdatasync of the WAL, then of the
 * database). Left to SQLite's automatic checkpoint, that wait lands on the
 * writer thread after the commit that crosses the threshold, and at close it
 * covers every page the run wrote. Here a separate connection checkpoints
 * (PASSIVE: never blocks the writer) after each commit, so the waits overlap
 * with capture and the -wal file is recycled instead of growing. The same
 * thread folds new rows into the rollups when the writer asks, so a fold
 * never stalls the writer for more than one short transaction.
 * Internal to src/store.
 */
#ifndef KEXWATCH_STORE_CHECKPOINTER_H
#define KEXWATCH_STORE_CHECKPOINTER_H

#include <stddef.h>
#include <stdint.h>

struct kx_checkpointer;

/* Opens its own connection to path (already in WAL mode) and starts the
 * thread. Returns NULL with a message in err when either fails. */
struct kx_checkpointer *kx_checkpointer_start(const char *path, char *err, size_t errlen);

/* A commit happened: checkpoint soon. Cheap; never blocks on the disk. */
void kx_checkpointer_poke(struct kx_checkpointer *k);

/* Also fold the rows not yet in the rollups (rollup.h), in short
 * transactions, after the next checkpoint. */
void kx_checkpointer_fold(struct kx_checkpointer *k);

/* Stops the thread (finishing a checkpoint in progress) and closes its
 * connection. Returns the number of checkpoints that failed other than by
 * being busy. Accepts NULL. */
uint64_t kx_checkpointer_stop(struct kx_checkpointer *k);

#endif
