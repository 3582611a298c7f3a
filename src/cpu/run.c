/* The run core shared by interp and bt (see run.h). */
#include <stdio.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "cpu/block.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/hostdbg.h"
#include "cpu/run.h"

/* Blocks between two looks at the host clock. */
#define CLOCK_EVERY 256u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void trace_insn(struct cpu *cpu, const struct insn *in)
{
	fprintf(stderr, "%04x:%08x %-10s eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x ebp=%08x esi=%08x edi=%08x fl=%08x\n",
		cpu->seg[S_CS].sel, cpu->eip, ZydisMnemonicGetString((ZydisMnemonic)in->mnem), cpu->r[0],
		cpu->r[1], cpu->r[2], cpu->r[3], cpu->r[4], cpu->r[5], cpu->r[6], cpu->r[7], cpu->eflags);
}

/* Take a pending NMI or maskable interrupt if the CPU can. Returns 1 if
 * one was delivered. */
static int take_interrupt(struct cpu *cpu)
{
	if (cpu_nmi_ready(cpu)) {
		cpu->nmi_pending = 0;
		cpu->nmi_blocked = 1; /* until the handler's IRET (ops_far.c) */
		cpu->halted = 0;
		cpu_deliver(cpu, EXC_NMI, INTR_NMI, 0, 0, cpu->eip);
		return 1;
	}
	if (cpu->intr_line && (cpu->eflags & FL_IF) && cpu->bus && cpu->bus->intr_ack) {
		int vec = cpu->bus->intr_ack(cpu->bus->opaque);
		cpu->halted = 0;
		cpu_deliver(cpu, vec & 0xff, INTR_EXT, 0, 0, cpu->eip);
		return 1;
	}
	return 0;
}

void run_interp_block(struct cpu *cpu, const struct block *b, int n)
{
	cpu->block_break = 0;
	/* The block was found for the current code size, and a handler
	 * that changes it sets block_break: the mask holds for the run. */
	const uint32_t mask = cpu->code32 ? 0xffffffffu : 0xffffu;
	const struct insn *in = b->insn, *end = b->insn + n;
	uint32_t eip = cpu->eip;
	do {
		cpu->next_eip = (eip + in->len) & mask;
		in->fn(cpu, in);
		eip = cpu->next_eip;
		cpu->eip = eip;
		cpu->icount++;
	} while (!cpu->block_break && ++in < end);
}

/* How many blocks an engine may chain before the loop looks again: the
 * clock is read every CLOCK_EVERY blocks, and no block holds more than
 * BLOCK_MAX_INSNS instructions, so the budget is overrun by less than
 * one block, as under the interpreter. */
static unsigned chain_allowance(const struct cpu *cpu, uint64_t icount_limit, unsigned until_clock)
{
	uint64_t left = (icount_limit - cpu->icount) / BLOCK_MAX_INSNS;
	unsigned n = left < until_clock ? (unsigned)left : until_clock;
	return n ? n : 1;
}

enum cpu_stop cpu_run(struct cpu *cpu, uint64_t deadline_ns, uint64_t icount_limit, const struct run_engine *re)
{
	jmp_buf jb;
	jmp_buf *volatile saved = cpu->fault_jmp;
	volatile unsigned until_clock = CLOCK_EVERY;
	enum cpu_stop why;

	cpu->fault_jmp = &jb;
	cpu->run_deadline_ns = deadline_ns;
	if (setjmp(jb) != 0) {
		/* A fault unwound to here: eip is still the faulting
		 * instruction's. Delivery may fault again and land here again;
		 * cpu_handle_exception() keeps the double-fault bookkeeping. */
		cpu->block_break = 0;
		cpu_handle_exception(cpu);
		if (cpu->shutdown) {
			why = CPU_STOP_SHUTDOWN;
			goto out;
		}
	}
	for (;;) {
		if (cpu->stop_request) {
			why = CPU_STOP_REQUEST;
			goto out;
		}
		if (cpu->icount >= icount_limit) {
			why = CPU_STOP_BUDGET;
			goto out;
		}
		if (until_clock == 0) {
			until_clock = CLOCK_EVERY;
			if (now_ns() >= deadline_ns) {
				why = CPU_STOP_BUDGET;
				goto out;
			}
		}
		int shadow = cpu->inhibit_irq;
		cpu->inhibit_irq = 0;
		if (!shadow && (cpu->intr_line || cpu_nmi_ready(cpu)) && !hostdbg_masks_irq(cpu) && take_interrupt(cpu))
			continue;
		if (cpu->halted) {
			why = CPU_STOP_HALT;
			goto out;
		}
		/* hostdbg.c hook (the gdb stub): stop before an instruction at
		 * one of its breakpoints, or once its step has run. */
		if (cpu->hostdbg_insn && hostdbg_before(cpu)) {
			why = CPU_STOP_DEBUG;
			goto out;
		}
		/* debug.c hook (system): with a breakpoint armed, TF or RF set,
		 * run one instruction, checking code breakpoints before it and
		 * single-step/data-breakpoint traps after it. */
		int dbg = cpu->debug_active || (cpu->eflags & (FL_TF | FL_RF));
		uint32_t dbg_before = dbg ? debug_before(cpu) : 0;
		struct block *b = block_lookup(cpu);
		/* The gdb stub's breakpoints and steps need single instructions
		 * only where a breakpoint lies inside this block, or to step. */
		int host_one = cpu->hostdbg_insn && hostdbg_single(cpu, b);
		if (shadow || cpu->trace || dbg || host_one) {
			/* One instruction, by the interpreter, whatever the
			 * engine: the shadow, the trace and the debug traps are
			 * per instruction. */
			if (cpu->trace)
				trace_insn(cpu, &b->insn[0]);
			run_interp_block(cpu, b, 1);
			until_clock--;
			if (dbg) /* traps after that instruction (may raise #DB) */
				debug_after(cpu, &b->insn[0], dbg_before);
			if (host_one && hostdbg_after(cpu)) {
				why = CPU_STOP_DEBUG;
				goto out;
			}
		} else if (icount_limit - cpu->icount < b->n) {
			/* The budget ends inside this block: run exactly up to it,
			 * so that a deterministic run stops (and so takes its timer
			 * interrupts and logged input, debug/replay.c) at the same
			 * instruction whatever the engine and its block boundaries. */
			run_interp_block(cpu, b, (int)(icount_limit - cpu->icount));
			until_clock--;
		} else {
			/* With gdb breakpoints set, one block per look (no chaining):
			 * hostdbg_before() must see every block's first instruction. */
			unsigned allow = cpu->hostdbg_insn ? 1 : chain_allowance(cpu, icount_limit, until_clock);
			unsigned ran = re->run_block(cpu, b, allow, re->opaque);
			until_clock = ran >= until_clock ? 0 : until_clock - ran;
		}
		if (cpu->shutdown) {
			why = CPU_STOP_SHUTDOWN;
			goto out;
		}
	}
out:
	cpu->fault_jmp = saved;
	return why;
}
