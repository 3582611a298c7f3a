/* Save, restore and the state stream migration sends: the board's whole
 * state (every device in its table, the CPU, the clock, the console, RAM)
 * as snap.h sections. docs/domains.md describes the file. */
#ifndef RINGVM_PC_SNAP_H
#define RINGVM_PC_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/snap.h"

struct pc;

/* Register the CPU, clock, console and board-state sections in the
 * device table (pc_create calls it). 0 or -1. */
int pc_snap_register(struct pc *pc);

/* Save the whole domain to path: written to a temporary file beside it
 * and renamed, so a failed save leaves neither a half file nor a changed
 * domain. 0, or -1 with a message. */
int pc_save(struct pc *pc, const struct snap_config *sc, const char *path, char *err, size_t errlen);

/* Read only the header and the config section of a snapshot. */
int pc_snap_read_config(const char *path, struct snap_config *sc, char *err, size_t errlen);
/* Load a snapshot into a board built from its config. */
int pc_restore(struct pc *pc, const char *path, char *err, size_t errlen);

/* The pieces, for migration (migrate.c). */
const char *pc_snap_unsaveable(struct pc *pc);
/* Device, CPU and board sections (the engine synced out first). */
int pc_save_devices(struct pc *pc, struct snap_w *w);
/* RAM pages whose bit is set in map (NULL: all pages; skip_zero: leave
 * out all-zero pages, for a target whose RAM starts zeroed), at most max
 * of them (-1: no limit). Clears the bits it sent. Returns the pages
 * looked at, or -1 on a write error. */
int pc_save_ram(struct pc *pc, struct snap_w *w, uint64_t *map, bool skip_zero, int max);
/* Apply one section: 0 done, 1 it was "end", -1 error (message). */
int pc_load_section(struct pc *pc, struct snap_in *in, char *err, size_t errlen);
/* After the last section: every device must have had its section (0, or
 * -1 naming the one missing); caches dropped, the engine given the CPU. */
int pc_load_finish(struct pc *pc, char *err, size_t errlen);

#endif
