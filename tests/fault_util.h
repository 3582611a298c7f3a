/* Was an exception delivered, exactly? For C tests whose IDT sends vector
 * v to a HLT at handlers + 16 * v, run on a flat stack (base 0) inside
 * the harness's RAM. A delivered fault is a halt in that handler with the
 * frame the processor pushes: the error code (for the vectors that have
 * one, SDM Vol. 3, 6.13) and the EIP of the faulting instruction. A
 * shutdown is not a delivered fault, and a wrong error code is a wrong
 * fault. */
#ifndef RINGVM_TEST_FAULT_UTIL_H
#define RINGVM_TEST_FAULT_UTIL_H

#include "harness.h"

static inline int h_exc_has_err(int vec) { return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17; }

static inline uint32_t h_stack32(const struct harness *h, uint32_t off)
{
	uint32_t v = 0, sp = h->cpu.r[R_ESP] + off;
	if (sp <= h->ram_size - 4)
		memcpy(&v, h->ram + sp, 4);
	return v;
}

/* 1 if vector vec with error code err (ignored for a vector without one)
 * raised at eip was delivered; else 0, saying on stderr what was seen. */
static inline int h_delivered(const struct harness *h, enum cpu_stop st, uint32_t handlers, int vec, uint32_t err,
			      uint32_t eip)
{
	int e = h_exc_has_err(vec);
	if (st != CPU_STOP_HALT || h->cpu.eip != handlers + (uint32_t)vec * 16 + 1) {
		fprintf(stderr, "  vector %d not delivered: stop %d, eip %#x, last exception %d\n", vec, st,
			h->cpu.eip, h->cpu.exc_vector);
		return 0;
	}
	uint32_t got_err = e ? h_stack32(h, 0) : 0, got_eip = h_stack32(h, e ? 4 : 0);
	if ((e && got_err != err) || got_eip != eip) {
		fprintf(stderr, "  vector %d delivered with error code %#x at %#x, want %#x at %#x\n", vec,
			got_err, got_eip, e ? err : 0, eip);
		return 0;
	}
	return 1;
}

/* EFLAGS in the frame of a delivered fault (as the instruction left them). */
static inline uint32_t h_fault_eflags(const struct harness *h, int vec)
{
	return h_stack32(h, h_exc_has_err(vec) ? 12 : 8);
}

#endif
