/* Virtual-8086 mode extensions and protected-mode virtual interrupts
 * (CR4.VME, CR4.PVI; SDM Vol. 3, 20.3 and 20.4): the IOPL-sensitive
 * instructions work on the virtual interrupt flag VIF instead of
 * faulting, and INT n in V86 mode is redirected to the 8086 program's
 * own vector table where the TSS's interrupt redirection bitmap says so.
 * The handlers in ops_flags.c, ops_stack.c and ops_far.c ask these. */
#ifndef RINGVM_CPU_VME_H
#define RINGVM_CPU_VME_H

#include "cpu/exec.h"

/* CLI/STI: 1 if they act on IF, 0 if on VIF (VME in V86 mode with
 * IOPL < 3, or PVI at CPL 3 with IOPL < 3); #GP(0) where neither may
 * (SDM CLI/STI "Operation"). */
int vme_if_is_real(struct cpu *cpu);

/* V86 mode with IOPL < 3: PUSHF, POPF and IRET are IOPL-sensitive. 1 if
 * this one is, with VME, carried out here on VIF (16-bit forms only);
 * #GP(0) without VME or for a 32-bit form; 0 elsewhere (the caller's
 * usual path). */
int vme_pushf(struct cpu *cpu, int osize);
int vme_popf(struct cpu *cpu, int osize);
int vme_iret(struct cpu *cpu, int osize);

/* INT n in V86 mode (SDM Vol. 3, Table 20-2): 1 if redirected to the
 * V86 program's vector table (done here), 0 if it goes through the IDT;
 * #GP(0) when IOPL < 3 forbids that. Call only with EFLAGS.VM set. */
int vme_int(struct cpu *cpu, int vector, uint32_t ret_ip);

#endif
