/* Reverse execution for gdb while replaying a recording: reverse-stepi
 * ('bs') and reverse-continue ('bc'), by re-execution. The replay puts
 * the machine back where it began (gdbstub_rewind.restart) and the stub
 * runs it forward again, deterministically, to the instruction count it
 * wants (gdbstub_rewind.stop_at):
 * - bs at instruction count N: re-execute to N - 1;
 * - bc at N: re-execute to N with the breakpoints and watchpoints armed,
 *   noting each stop (and going on from it), then re-execute once more to
 *   the last stop noted and report it as that breakpoint or watchpoint.
 * With nothing before N, the stop is at the start of the replay, which
 * gdb is told ("replaylog:begin"). A replay has one CPU (docs/smp.md). */
#include <string.h>

#include "debug/gdb_int.h"

#define NO_HIT UINT64_MAX

void gdb_reverse_cancel(struct gdbstub *g)
{
	if (g->rev != REV_NONE)
		g->rw.stop_at(g->rw.opaque, UINT64_MAX);
	g->rev = REV_NONE;
}

/* Re-execute from the start to target; mode says what happens there. */
static void rerun_to(struct gdbstub *g, int mode, uint64_t target)
{
	g->rw.restart(g->rw.opaque);
	g->rev = mode;
	g->rev_target = target;
	g->rw.stop_at(g->rw.opaque, target);
	gdb_resume(g, -1);
}

/* Stopped at the start: nothing earlier to go back to. */
static void stop_at_begin(struct gdbstub *g)
{
	gdb_reverse_cancel(g);
	g->hd[0].stop = HOSTDBG_NONE;
	gdb_stop(g, 5);
	g->rev_begin = true;
	gdb_report_stop(g);
}

int gdb_reverse(struct gdbstub *g, int step, char *o, size_t n)
{
	if (!g->rw.restart) {
		o[0] = 0; /* not replaying: not supported */
		return -1;
	}
	uint64_t now = g->cpu->icount;
	g->rev_hit = NO_HIT;
	if (step) {
		if (now == 0) {
			snprintf(o, n, "T05replaylog:begin;thread:01;");
			return -1;
		}
		rerun_to(g, REV_GOTO, now - 1);
	} else {
		rerun_to(g, REV_SCAN, now);
	}
	/* The snapshot may be at N already (a replay that has not run). */
	if (g->cpu->icount >= g->rev_target && step == 0) {
		g->rev = REV_NONE;
		g->stopped = true;
		g->rev_begin = true;
		snprintf(o, n, "T05replaylog:begin;thread:01;");
		return -1;
	}
	return 0;
}

int gdb_reverse_poll(struct gdbstub *g)
{
	if (g->rev == REV_NONE)
		return 0;
	struct cpu *cpu = g->cpu;
	if (cpu->icount >= g->rev_target) {
		if (g->rev == REV_SCAN) {
			if (g->rev_hit == NO_HIT) {
				g->rw.restart(g->rw.opaque);
				stop_at_begin(g);
			} else {
				rerun_to(g, REV_GOTO, g->rev_hit);
			}
			return 1;
		}
		/* Arrived: report what stopped the scan here, or a step. */
		gdb_reverse_cancel(g);
		if (g->rev_hit != NO_HIT) {
			g->hd[0].stop = g->rev_hit_why.stop;
			g->hd[0].watch_kind = g->rev_hit_why.watch_kind;
			g->hd[0].watch_addr = g->rev_hit_why.watch_addr;
		} else {
			g->hd[0].stop = HOSTDBG_STEP;
		}
		gdb_stop(g, 5);
		gdb_report_stop(g);
		return 1;
	}
	if (g->hd[0].stop == HOSTDBG_NONE)
		return 0;
	/* A breakpoint or watchpoint on the way: a scan notes it; both go on. */
	if (g->rev == REV_SCAN) {
		g->rev_hit = cpu->icount;
		g->rev_hit_why = g->hd[0];
	}
	gdb_resume(g, -1);
	return 1;
}
