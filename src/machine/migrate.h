/* Live migration (docs/domains.md): the source pre-copies RAM while the
 * guest runs, logging the pages it writes (cpu_memmap.dirty), resends
 * them round after round, then stops the guest for a short final copy of
 * the last dirty pages and every device. The target, started with
 * --incoming, loads the stream and answers one byte when it has it all.
 * A failure on either side leaves the source running. */
#ifndef RINGVM_MIGRATE_H
#define RINGVM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/pc_snap.h"

struct pc;

struct migrate {
	int fd;
	struct snap_w w;
	uint64_t *todo;      /* pages left to send this round */
	int round;
	uint64_t t0;         /* host ns at the start */
	uint64_t downtime_ns, total_ns;
	uint32_t last_dirty; /* pages the last round left dirty */
	int min_rounds;      /* $RINGVM_MIGRATE_MIN_ROUNDS (tests) */
	bool verify;         /* $RINGVM_MIGRATE_VERIFY: send a whole-RAM
			      * checksum the target must match (tests) */
	bool active;
};

/* Connect to host:port and send the config: 0, or -1 with a message. */
int migrate_start(struct migrate *m, struct pc *pc, const struct snap_config *sc, const char *dest, char *err,
		  size_t errlen);
/* Send the next piece (called between runs of the guest): 0 more to do,
 * 1 done (the target runs the guest now), -1 failed (message; the
 * source goes on). */
int migrate_step(struct migrate *m, struct pc *pc, char *err, size_t errlen);
/* Give up (source keeps running). */
void migrate_cancel(struct migrate *m, struct pc *pc);

/* Target: wait for a source on "tcp:HOST:PORT" (or "HOST:PORT"); the
 * connected fd, or -1 with a message. */
int migrate_accept(const char *uri, char *err, size_t errlen);
/* Target: after the config section, load the rest and acknowledge. */
int migrate_receive(struct pc *pc, struct snap_in *in, char *err, size_t errlen);

/* "HOST:PORT" or "tcp:HOST:PORT" to a connected (dest) or listening
 * socket: fd or -1 with a message. */
int net_connect(const char *dest, char *err, size_t errlen);

#endif
