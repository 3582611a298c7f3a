/* A gdb remote serial protocol stub (docs/gdb.md): gdb connects over
 * TCP and reads and writes registers and memory (linear addresses,
 * through the guest's page tables), sets breakpoints and watchpoints the
 * guest cannot see, steps, continues, interrupts with Ctrl-C, detaches
 * and kills. Each CPU is a gdb thread (all-stop: one stopping stops the
 * machine). The board calls gdbstub_service() between runs of the CPUs
 * (machine/pc.h, struct pc_debugger); the stub holds the guest stopped by
 * not returning until gdb resumes it. */
#ifndef RINGVM_GDBSTUB_H
#define RINGVM_GDBSTUB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"

struct gdbstub;
struct engine;

/* Listen on spec: "tcp:HOST:PORT", "tcp::PORT" (QEMU's spellings; the
 * host defaults to 127.0.0.1), PORT 0 for any free port. wait: hold the
 * guest until gdb connects and resumes it (-S). Messages go to log.
 * NULL with a message in err. */
struct gdbstub *gdbstub_open(const char *spec, int wait, FILE *log, char *err, size_t errlen);
/* The port it listens on (the chosen one for port 0). */
int gdbstub_port(const struct gdbstub *g);
#define GDBSTUB_MAX_CPUS 8
/* The n CPUs it debugs (gdb's threads 1..n) and the engines that run
 * them (synced around stops); *cur is the board's CPU that runs or ran
 * last (the one a Ctrl-C or a connecting gdb finds stopped). */
void gdbstub_attach(struct gdbstub *g, int n, struct cpu *const cpus[], struct engine *const engs[],
		    const int *cur);
/* While gdb steps one CPU the others stay stopped: the one CPU the board
 * may run, or -1 for any. */
int gdbstub_only_cpu(const struct gdbstub *g);

enum gdbstub_next {
	GDBSTUB_RUN,   /* run the guest */
	GDBSTUB_AGAIN, /* still stopped, a signal came: look at it, call again */
	GDBSTUB_KILL,  /* gdb killed the machine */
};
/* Between runs: notice stops, Ctrl-C and connections; serve gdb for as
 * long as it holds the guest stopped. */
enum gdbstub_next gdbstub_service(struct gdbstub *g);
/* The fd to watch while the guest idles (HLT), so Ctrl-C and a
 * connecting gdb are noticed; -1 if none. */
int gdbstub_wait_fd(const struct gdbstub *g);
/* Reverse execution (gdb's reverse-stepi and reverse-continue, packets
 * bs and bc), offered while replaying a recording (debug/replay.h):
 * restart() puts the machine back where the replay began, stop_at()
 * makes the run stop when the instruction count reaches icount
 * (UINT64_MAX: no such stop). The stub re-executes forward to the
 * instruction count it wants. */
struct gdbstub_rewind {
	void *opaque;
	void (*restart)(void *opaque);
	void (*stop_at)(void *opaque, uint64_t icount);
};
void gdbstub_set_rewind(struct gdbstub *g, const struct gdbstub_rewind *rw);
/* The machine ended with this exit status: tell gdb. */
void gdbstub_ended(struct gdbstub *g, int status);
void gdbstub_close(struct gdbstub *g);

#endif
