/* What a debugger on the host (the gdb stub, debug/gdbstub.c) asks of the
 * CPU: breakpoints, watchpoints and single-step that the guest cannot
 * see — nothing is written to guest memory, DR0-DR7 stay the guest's
 * (cpu/debug.c), no #DB is raised — and a side-effect-free view of guest
 * memory through its page tables.
 *
 * How the pieces meet:
 * - cpu->hostdbg points at the debugger's set (NULL: no debugger).
 *   cpu->hostdbg_insn is set while breakpoints or a step are armed: the
 *   run core (cpu/run.c) then stops chaining blocks, asks
 *   hostdbg_before() at each block boundary whether to stop before the
 *   instruction at CS:EIP, runs one instruction at a time through the
 *   interpreter when hostdbg_single() says a breakpoint lies inside the
 *   block (or a step is asked for), and hostdbg_after() ends a step.
 * - Watchpoints keep their pages out of the TLB (hostdbg_page_watched),
 *   as DR7 data breakpoints do, so every access reaches mem.c's slow
 *   path, which calls hostdbg_access(). A hit ends the block after the
 *   accessing instruction (a trap, as x86 data breakpoints are) and
 *   stops the run through cpu->stop_request.
 * Breakpoint addresses are linear: CS.base + EIP, in every mode.
 */
#ifndef RINGVM_CPU_HOSTDBG_H
#define RINGVM_CPU_HOSTDBG_H

#include <stdint.h>

#include "cpu/cpu.h"

#define HOSTDBG_MAX_BP 64
#define HOSTDBG_MAX_WP 16

enum hostdbg_watch { HOSTDBG_WRITE = 1, HOSTDBG_READ = 2, HOSTDBG_ACCESS = 3 };
enum hostdbg_stop { HOSTDBG_NONE, HOSTDBG_BREAK, HOSTDBG_STEP, HOSTDBG_WATCH };

struct hostdbg_wp {
	uint32_t addr, len;
	uint8_t kind; /* enum hostdbg_watch */
};

struct hostdbg {
	uint32_t bp[HOSTDBG_MAX_BP];
	unsigned nbp;
	struct hostdbg_wp wp[HOSTDBG_MAX_WP];
	unsigned nwp;
	uint8_t step;   /* stop after one instruction */
	uint8_t resume; /* the first instruction runs even at a breakpoint */
	uint32_t resume_lin; /* ... if it is still the one at this address */
	uint8_t ran;    /* a step's instruction has started */
	/* Why the CPU stopped, set by the hooks (hostdbg_resume clears it). */
	uint8_t stop;   /* enum hostdbg_stop */
	uint8_t watch_kind;
	uint32_t watch_addr;
};

/* Attach (hd) or detach (NULL) a debugger; the set starts empty. */
void hostdbg_attach(struct cpu *cpu, struct hostdbg *hd);
/* Insert and remove. 0, or -1 when the set is full (insert) or holds no
 * such entry (remove). */
int hostdbg_bp_insert(struct cpu *cpu, uint32_t lin);
int hostdbg_bp_remove(struct cpu *cpu, uint32_t lin);
int hostdbg_wp_insert(struct cpu *cpu, uint32_t lin, uint32_t len, enum hostdbg_watch kind);
int hostdbg_wp_remove(struct cpu *cpu, uint32_t lin, uint32_t len, enum hostdbg_watch kind);
void hostdbg_clear(struct cpu *cpu);
/* Before the CPU runs again: step (1) or continue (0). A breakpoint at
 * the current instruction does not stop it at once. */
void hostdbg_resume(struct cpu *cpu, int step);
/* Before the CPU runs again, continuing, when it was stopped only because
 * another CPU was (several CPUs): a breakpoint at the current instruction
 * stops it. */
void hostdbg_rearm(struct cpu *cpu);

/* The debugger wrote registers: recompute the derived state and drop
 * the translations that may depend on them. */
void hostdbg_state_changed(struct cpu *cpu);

/* Run core hooks (see above); 1 means stop (hostdbg->stop says why). */
int hostdbg_before(struct cpu *cpu);
struct block;
int hostdbg_single(const struct cpu *cpu, const struct block *b);
int hostdbg_after(struct cpu *cpu);
/* While a step runs, interrupts wait (as QEMU's gdb stub does), unless
 * the CPU is halted and only an interrupt can move it. */
static inline int hostdbg_masks_irq(const struct cpu *cpu)
{
	return cpu->hostdbg && cpu->hostdbg->step && !cpu->halted;
}

/* mem.c hooks. */
int hostdbg_page_watched(const struct cpu *cpu, uint32_t lpage);
void hostdbg_access(struct cpu *cpu, uint32_t lin, int size, int write);

/* The debugger's view of memory: no fault, no accessed/dirty bit set,
 * no permission check. */
struct hostdbg_xlate {
	uint64_t pa;
	uint64_t pde, pte; /* the entries used (pte = pde for a 4 MiB or 2 MiB page) */
	uint8_t paging, big, pae;
};
/* Linear -> physical through the guest's page tables (A20 applied).
 * 0, or -1 when a level is not present or not in RAM. */
int hostdbg_translate(struct cpu *cpu, uint32_t lin, struct hostdbg_xlate *x);
/* Read or write len bytes at a linear (or physical) address. Returns
 * the bytes done: fewer than len where translation fails or the memory
 * is not RAM (writes to ROM and any MMIO access are refused). Writes
 * drop the decoded blocks of the pages they touch. */
uint32_t hostdbg_read(struct cpu *cpu, uint32_t addr, void *buf, uint32_t len, int phys);
uint32_t hostdbg_write(struct cpu *cpu, uint32_t addr, const void *buf, uint32_t len, int phys);

#endif
