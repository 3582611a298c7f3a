/* Exception and interrupt delivery (SDM Vol. 3, ch. 6), and the
 * double-fault rules of Table 6-5. */
#include <setjmp.h>

#include "cpu/exec.h"

_Noreturn void cpu_raise(struct cpu *cpu, int vector, int has_error, uint32_t error)
{
	cpu->exc_vector = vector;
	cpu->exc_has_error = (uint8_t)has_error;
	cpu->exc_error = (int)error;
	longjmp(*cpu->fault_jmp, 1);
}

static int contributory(int v)
{
	return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

void cpu_handle_exception(struct cpu *cpu)
{
	int vec = cpu->exc_vector;
	int has_err = cpu->exc_has_error;
	uint32_t err = (uint32_t)cpu->exc_error;
	int first = cpu->first_exc;
	if (first >= 0) {
		/* A fault while delivering an earlier one (Table 6-5). */
		if (first == EXC_DF && (contributory(vec) || vec == EXC_PF)) {
			cpu->shutdown = 1;
			cpu->first_exc = -1;
			return;
		}
		if ((contributory(first) && contributory(vec)) ||
		    (first == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
			vec = EXC_DF;
			has_err = 1;
			err = 0;
		}
	}
	cpu->first_exc = (int8_t)vec;
	cpu_deliver(cpu, vec, INTR_EXC, has_err, err, cpu->eip);
	cpu->first_exc = -1;
}

/* Real-address mode: the vector table of 4-byte CS:IP pointers at IDTR
 * (SDM Vol. 3, 20.1.4). */
static void deliver_real(struct cpu *cpu, int vector, uint32_t ret_eip)
{
	uint32_t off = (uint32_t)vector * 4;
	if (off + 3 > cpu->idtr.limit)
		raise_gp(cpu, 0);
	uint32_t ip = lin_read(cpu, cpu->idtr.base + off, 2, ACC_R | ACC_SYS);
	uint32_t cs = lin_read(cpu, cpu->idtr.base + off + 2, 2, ACC_R | ACC_SYS);
	/* Check all three pushes first so a stack fault leaves state intact. */
	uint32_t sp = stack_ptr(cpu);
	mem_probe_write(cpu, S_SS, (sp - 6) & sp_mask(cpu), 6);
	push(cpu, 2, cpu->eflags);
	push(cpu, 2, cpu->seg[S_CS].sel);
	push(cpu, 2, ret_eip);
	cpu->eflags &= ~(FL_IF | FL_TF | FL_AC | FL_RF);
	seg_load_real(cpu, S_CS, (uint16_t)cs);
	cpu->eip = ip;
	cpu->next_eip = ip;
	cpu->block_break = 1;
}

void cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
		 uint32_t ret_eip)
{
	(void)kind;
	(void)has_error;
	(void)error;
	if (!(cpu->cr0 & CR0_PE)) {
		deliver_real(cpu, vector, ret_eip);
		return;
	}
	/* protected mode and V86: not yet */
	cpu->shutdown = 1;
	cpu->block_break = 1;
}
