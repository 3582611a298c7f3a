/* Control-transfer events: the points where the processor changes
 * privilege level or mode, or goes through a gate (interrupts,
 * exceptions, call/task gates, task switches, SYSENTER/SYSEXIT, IRET and
 * RETF to an outer level, CR0.PE changes). The handlers in cpu/ call
 * xfer_emit() only when cpu->xfer is set, so a run without a tracer pays
 * one test of a pointer per transition and nothing per instruction. The
 * ring-transition trace (debug/ringtrace.c) is the consumer. */
#ifndef RINGVM_CPU_XFER_H
#define RINGVM_CPU_XFER_H

#include <stdint.h>

#include "cpu/cpu.h"

enum xfer_kind {
	XFER_EXC,       /* exception (fault, trap, abort) */
	XFER_INT,       /* external interrupt (INTR) */
	XFER_NMI,
	XFER_SOFTINT,   /* INT n, INT3, INTO, INT1 */
	XFER_CALL_GATE, /* far CALL through a call gate */
	XFER_JMP_GATE,  /* far JMP through a call gate */
	XFER_TASK,      /* JMP/CALL/IRET task switch */
	XFER_SYSENTER,
	XFER_SYSEXIT,
	XFER_IRET,      /* IRET to an outer level or into V86 mode */
	XFER_RETF,      /* RETF to an outer level */
	XFER_MODE,      /* CR0.PE changed (MOV CR0, LMSW) */
	XFER_SHUTDOWN,  /* triple fault */
};

enum xfer_mode { XMODE_REAL, XMODE_PROT, XMODE_V86 };

/* Where a transfer started, taken before the handler changes state. */
struct xfer_from {
	uint16_t cs;
	uint32_t eip;
	uint8_t cpl, mode;
};

struct xfer_event {
	enum xfer_kind kind;
	int vector;        /* -1: none */
	int has_error;
	uint32_t error;
	uint16_t gate;     /* call/task gate or TSS selector named by the
			    * instruction; IDT entry's vector * 8 for events */
	uint8_t gate_type; /* descriptor type of that gate (0: none, real mode) */
	uint16_t tss;      /* the TSS switched to (task switches), else 0 */
	struct xfer_from from;
};

struct xfer_hook {
	void *opaque;
	/* The CPU is in its new state: CS, CPL and mode; EIP in next_eip. */
	void (*event)(void *opaque, const struct cpu *cpu, const struct xfer_event *ev);
};

static inline enum xfer_mode xfer_mode_of(const struct cpu *cpu)
{
	if (!(cpu->cr0 & CR0_PE))
		return XMODE_REAL;
	return (cpu->eflags & FL_VM) ? XMODE_V86 : XMODE_PROT;
}

static inline void xfer_begin(const struct cpu *cpu, struct xfer_from *f)
{
	f->cs = cpu->seg[S_CS].sel;
	f->eip = cpu->eip;
	f->cpl = cpu->cpl;
	f->mode = (uint8_t)xfer_mode_of(cpu);
}

/* Report a transfer from f (only call with cpu->xfer set). */
void xfer_emit(struct cpu *cpu, const struct xfer_from *f, enum xfer_kind kind, int vector,
	       int has_error, uint32_t error, uint16_t gate, uint8_t gate_type, uint16_t tss);

#endif
