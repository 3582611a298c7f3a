/* The reference interpreter: runs decoded blocks instruction by
 * instruction, takes interrupts between blocks, and turns unwound faults
 * into exception delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "cpu/block.h"
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "engine/engine.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct engine *interp_create(struct cpu *cpu, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ops = &interp_engine_ops;
	e->cpu = cpu;
	return e;
}

static void interp_destroy(struct engine *e)
{
	free(e);
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
	if (cpu->nmi_pending) {
		cpu->nmi_pending = 0;
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

static enum cpu_stop interp_run(struct engine *e, uint64_t deadline_ns, uint64_t icount_limit)
{
	struct cpu *cpu = e->cpu;
	jmp_buf jb;
	jmp_buf *volatile saved = cpu->fault_jmp;
	volatile unsigned blocks = 0;
	enum cpu_stop why;

	cpu->fault_jmp = &jb;
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
		if ((++blocks & 255) == 0 && now_ns() >= deadline_ns) {
			why = CPU_STOP_BUDGET;
			goto out;
		}
		int shadow = cpu->inhibit_irq;
		cpu->inhibit_irq = 0;
		if (!shadow && (cpu->intr_line || cpu->nmi_pending) && take_interrupt(cpu))
			continue;
		if (cpu->halted) {
			why = CPU_STOP_HALT;
			goto out;
		}
		/* debug.c hook (system): with a breakpoint armed, TF or RF set,
		 * run one instruction, checking code breakpoints before it and
		 * single-step/data-breakpoint traps after it. */
		int dbg = cpu->debug_active || (cpu->eflags & (FL_TF | FL_RF));
		uint32_t dbg_before = dbg ? debug_before(cpu) : 0;
		struct block *b = block_lookup(cpu);
		int n = b->n;
		if (shadow || cpu->trace || dbg) {
			n = 1;
			if (cpu->trace)
				trace_insn(cpu, &b->insn[0]);
		}
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
		if (dbg) /* n was 1: traps after that instruction (may raise #DB) */
			debug_after(cpu, &b->insn[0], dbg_before);
		if (cpu->shutdown) {
			why = CPU_STOP_SHUTDOWN;
			goto out;
		}
	}
out:
	cpu->fault_jmp = saved;
	return why;
}

static void interp_sync(struct engine *e)
{
	(void)e; /* interp works on struct cpu directly */
}

const struct engine_ops interp_engine_ops = {
	.name = "interp",
	.create = interp_create,
	.destroy = interp_destroy,
	.run = interp_run,
	.sync_out = interp_sync,
	.sync_in = interp_sync,
};
