/* The ring-transition trace (--trace-rings FILE, docs/debugging.md): one
 * JSON object per line for each privilege-level or mode change and each
 * interrupt, exception, gate, task switch and SYSENTER/SYSEXIT, from the
 * CPU's control-transfer events (cpu/xfer.h). A "start" record opens the
 * trace with the state at attach time and an "end" record closes it, so
 * that a reader knows the whole span (scripts/ringvm-trace). With several
 * CPUs each record says whose it is ("cpu") and each CPU has its start
 * and end; "icount" is the machine's (all CPUs') instruction count. */
#ifndef RINGVM_RINGTRACE_H
#define RINGVM_RINGTRACE_H

#include <stddef.h>

#include "cpu/cpu.h"

struct ringtrace;

/* Open path for writing. NULL with a message in err. */
struct ringtrace *ringtrace_open(const char *path, char *err, size_t errlen);
#define RINGTRACE_MAX_CPUS 8
/* Start tracing the n CPUs: writes their "start" records and sets each
 * one's cpu->xfer. */
void ringtrace_attach(struct ringtrace *t, int n, struct cpu *const cpus[]);
/* Write the "end" record (exit status), detach and close. 0, or -1 when
 * the file could not be written completely (a message in err). */
int ringtrace_close(struct ringtrace *t, int status, char *err, size_t errlen);

#endif
