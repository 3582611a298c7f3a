/* The run core shared by the software engines (interp and bt): the loop
 * around the blocks. It owns the rules that do not depend on how a block
 * runs — the fault landing (exception delivery, double fault, shutdown),
 * NMI and maskable interrupt delivery, the STI / MOV SS interrupt shadow,
 * debug traps and single-step, tracing, and the stop, budget and deadline
 * checks — and asks the engine only to run a block.
 */
#ifndef RINGVM_RUN_H
#define RINGVM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

struct block;

/* How an engine runs a block found at CS:EIP. It may go on to later
 * blocks itself (chaining) as long as cpu_run_may_chain() allows, at most
 * max_blocks in all, and returns how many it ran (at least 1). Faults
 * unwind through cpu_raise() as in the interpreter. */
struct run_engine {
	unsigned (*run_block)(struct cpu *cpu, struct block *b, unsigned max_blocks, void *opaque);
	void *opaque;
};

/* Run until host CLOCK_MONOTONIC passes deadline_ns, cpu->icount reaches
 * icount_limit (checked between blocks), or something stops the CPU. */
enum cpu_stop cpu_run(struct cpu *cpu, uint64_t deadline_ns, uint64_t icount_limit, const struct run_engine *re);

/* The interpreter's way to run a block: its handlers one by one, the
 * first n instructions at most, stopping early when a handler sets
 * block_break. */
void run_interp_block(struct cpu *cpu, const struct block *b, int n);

/* May an engine go from one block to the next without returning to
 * cpu_run()? Not when anything the loop must look at is pending: a stop
 * request, an interrupt the CPU would take, HLT, a debug trap or
 * single-step, tracing, the gdb stub's breakpoints, or an interrupt
 * shadow. */
static inline bool cpu_run_may_chain(const struct cpu *cpu)
{
	return !cpu->stop_request && !cpu->halted && !cpu->shutdown && !cpu_nmi_ready(cpu) &&
	       !(cpu->intr_line && (cpu->eflags & FL_IF)) && !cpu->inhibit_irq && !cpu->trace &&
	       !cpu->debug_active && !cpu->hostdbg_insn && !(cpu->eflags & (FL_TF | FL_RF));
}

#endif
