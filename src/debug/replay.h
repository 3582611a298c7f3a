/* Record and replay (--record FILE, --replay FILE; docs/debugging.md).
 *
 * A recorded run uses the deterministic clock (time is a function of the
 * instruction count, machine/clock.h), so the only inputs from outside are
 * the bytes that reach the guest's serial console. The log holds each of
 * them with the instruction count, virtual time and place (run loop or
 * UART read) at which the UART took it, then the end of the run: its
 * instruction count, exit status, a digest of the CPU state and RAM, and
 * a hash of everything the guest wrote to the console. A replay feeds the
 * same bytes at the same points instead of reading the console, stops
 * where the recording stopped, and compares the end. */
#ifndef RINGVM_REPLAY_H
#define RINGVM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "machine/pc.h"

struct replay;

/* What a log was recorded with; a replay needs the same. */
struct replay_config {
	const char *engine; /* "interp" or "bt" */
	const char *cpu;    /* -cpu model name */
	uint64_t ram;
	uint64_t kernel, initrd; /* replay_hash() of the images (0: none) */
	const char *cmdline;
	int ncpus;          /* -smp (0 means 1) */
};

uint64_t replay_hash(const void *p, size_t n);

/* Recording: create path. NULL with a message in err. */
struct replay *replay_record(const char *path, const struct replay_config *cfg, char *err, size_t errlen);
/* Replaying: read path whole. NULL with a message (malformed log). */
struct replay *replay_load(const char *path, char *err, size_t errlen);
/* The engine the log was recorded with. */
const char *replay_engine(const struct replay *r);
/* A replay: 0 if cfg is what the log was recorded with, else -1 and what
 * differs in err. */
int replay_check_config(const struct replay *r, const struct replay_config *cfg, char *err, size_t errlen);
/* Plug into the board (sets pc->rr). */
void replay_attach(struct replay *r, struct pc *pc);
/* The machine ended with status. Recording: writes the end record;
 * replaying: compares with it and prints the verdict on log. Returns
 * the exit status to use (a divergence: 1). Frees r. */
int replay_finish(struct replay *r, int status, FILE *log);
/* Replaying: reverse execution for the gdb stub. restart() puts the
 * machine back in the state it had at replay_attach() (a copy of the
 * board and RAM taken then) with the log rewound; console output is
 * muted until the run passes the furthest point it reached before.
 * stop_at() ends runs at that instruction count. */
void replay_restart(struct replay *r);
void replay_stop_at(struct replay *r, uint64_t icount);
/* The digest of the machine's state: registers and RAM. */
uint64_t replay_digest(struct pc *pc);

#endif
