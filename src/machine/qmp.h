/* The domain's control socket: QMP, QEMU's JSON protocol (greeting,
 * qmp_capabilities, then {"execute": ...} commands and asynchronous
 * events), on a Unix socket. The board services it between runs of the
 * guest (pc->ctl) and waits on it while idle or paused. docs/domains.md
 * lists the commands. */
#ifndef RINGVM_QMP_H
#define RINGVM_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include "machine/pc_snap.h"

struct pc;
struct qmp;

/* Listen on "unix:PATH[,server][,server=on][,wait=off]" (or a bare PATH),
 * mode 0600. NULL with a message. */
struct qmp *qmp_open(const char *spec, char *err, size_t errlen);
/* Attach to the board (sets pc->ctl); sc says how the domain was made
 * (for ringvm-save and ringvm-migrate). paused: the guest waits for a
 * "cont" before its first instruction. */
void qmp_attach(struct qmp *q, struct pc *pc, const struct snap_config *sc, bool paused);
void qmp_close(struct qmp *q);

#endif
