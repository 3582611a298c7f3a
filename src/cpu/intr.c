/* Exception and interrupt delivery (SDM Vol. 3, ch. 6; the INT n
 * pseudo-code), and the double-fault rules of Table 6-5. */
#include <setjmp.h>

#include "cpu/seg.h"
#include "cpu/xfer.h"

_Noreturn void cpu_raise(struct cpu *cpu, int vector, int has_error, uint32_t error)
{
	/* SDM Vol. 3, 6.13: EXT (bit 0) is set when the fault arose while
	 * delivering an event external to the program (an interrupt or an
	 * earlier exception), not while delivering INT n/INT3/INTO. */
	if (has_error && cpu->exc_ext &&
	    (vector == EXC_TS || vector == EXC_NP || vector == EXC_SS || vector == EXC_GP))
		error |= 1;
	cpu->exc_vector = vector;
	cpu->exc_has_error = (uint8_t)has_error;
	cpu->exc_error = (int)error;
	longjmp(*cpu->fault_jmp, 1);
}

static int contributory(int v)
{
	return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

/* Faults, as opposed to traps (#BP, #OF), aborts (#DF, #MC), #DB and
 * interrupts (SDM Vol. 3, Table 6-1). */
static int fault_class(int v)
{
	switch (v) {
	case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
	case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
		return 1;
	default:
		return 0;
	}
}

static void deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
		    uint32_t ret_eip, uint32_t fl);

void cpu_handle_exception(struct cpu *cpu)
{
	int vec = cpu->exc_vector;
	int has_err = cpu->exc_has_error;
	uint32_t err = (uint32_t)cpu->exc_error;
	int first = cpu->first_exc;
	if (first >= 0) {
		/* A fault while delivering an earlier one (Table 6-5): a
		 * contributory or page fault during #DF delivery shuts the
		 * processor down (triple fault, 6.15 "Interrupt 8"). */
		if (first == EXC_DF && (contributory(vec) || vec == EXC_PF)) {
			if (cpu->xfer) {
				struct xfer_from f;
				xfer_begin(cpu, &f);
				xfer_emit(cpu, &f, XFER_SHUTDOWN, vec, has_err, err, 0, 0, 0);
			}
			cpu->shutdown = 1;
			cpu->first_exc = -1;
			cpu->exc_ext = 0;
			cpu->block_break = 1;
			return;
		}
		if ((contributory(first) && contributory(vec)) ||
		    (first == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
			vec = EXC_DF;
			has_err = 1;
			err = 0; /* #DF's error code is always zero */
		}
	}
	cpu->first_exc = (int8_t)vec;
	/* SDM 17.3.1.1: every fault-class exception but #DB pushes (or saves
	 * in the TSS) EFLAGS with RF = 1, so that IRET restarts the faulting
	 * instruction without re-triggering its code breakpoint. */
	uint32_t fl = cpu->eflags;
	if (fault_class(vec))
		fl |= FL_RF;
	deliver(cpu, vec, INTR_EXC, has_err, err, cpu->eip, fl);
	cpu->first_exc = -1;
}

/* Real-address mode: the vector table of 4-byte CS:IP pointers at IDTR
 * (SDM Vol. 3, 20.1.4). */
static void deliver_real(struct cpu *cpu, int vector, uint32_t ret_eip, uint32_t fl)
{
	uint32_t off = (uint32_t)vector * 4;
	if (off + 3 > cpu->idtr.limit)
		raise_gp(cpu, 0);
	uint32_t ip = lin_read(cpu, cpu->idtr.base + off, 2, ACC_R | ACC_SYS);
	uint32_t cs = lin_read(cpu, cpu->idtr.base + off + 2, 2, ACC_R | ACC_SYS);
	/* Check all three pushes first so a stack fault leaves state intact. */
	uint32_t sp = stack_ptr(cpu);
	mem_probe_write(cpu, S_SS, (sp - 6) & sp_mask(cpu), 6);
	push(cpu, 2, fl);
	push(cpu, 2, cpu->seg[S_CS].sel);
	push(cpu, 2, ret_eip);
	cpu->eflags &= ~(FL_IF | FL_TF | FL_AC | FL_RF);
	seg_load_real(cpu, S_CS, (uint16_t)cs);
	cpu->eip = ip;
	cpu->next_eip = ip;
	cpu->block_break = 1;
}

/* Through a task gate (INT pseudo-code, TASK-GATE; SDM Vol. 3, 7.3):
 * switch tasks, then push the error code on the new task's stack. */
static void deliver_task(struct cpu *cpu, const struct desc *gate, int has_error, uint32_t error,
			 uint32_t ret_eip, uint32_t fl)
{
	uint16_t tsel;
	struct desc tss;
	task_gate_target(cpu, gate, &tsel, &tss);
	cpu->eflags |= fl & FL_RF; /* the image the old TSS keeps */
	int trap = task_switch(cpu, tsel, &tss, TASK_INT, ret_eip);
	if (has_error) {
		struct frame f;
		frame_cur(cpu, &f);
		frame_push(&f, (cpu->tr.attr & 0x8) ? 4 : 2, error);
		cpu->r[R_ESP] = frame_commit(cpu, &f); /* #SS(EXT) when no room */
	}
	if (trap) {
		cpu->exc_ext = 0;
		task_trap(cpu);
	}
}

/* Protected mode and virtual-8086 mode: through the IDT (SDM Vol. 3,
 * 6.10-6.12 and the INT n pseudo-code). */
static int deliver_prot(struct cpu *cpu, int vector, enum intr_kind kind, int has_error,
			uint32_t error, uint32_t ret_eip, uint32_t fl)
{
	/* Error code naming the IDT entry: index << 3 | IDT (bit 1); EXT is
	 * or'ed in by cpu_raise (SDM Vol. 3, 6.13). */
	uint32_t idt_err = (uint32_t)vector * 8 + 2;
	int cpl = cpu->cpl;
	int vm = (cpu->eflags & FL_VM) != 0;
	struct desc g;

	/* 6.10: the 8-byte gate must lie within the IDT limit. */
	if ((uint32_t)vector * 8 + 7 > cpu->idtr.limit)
		raise_gp(cpu, idt_err);
	g.lo = lin_read(cpu, cpu->idtr.base + (uint32_t)vector * 8, 4, ACC_R | ACC_SYS);
	g.hi = lin_read(cpu, cpu->idtr.base + (uint32_t)vector * 8 + 4, 4, ACC_R | ACC_SYS);
	int type = desc_type(&g);
	/* 6.11: only interrupt, trap and task gates may be in the IDT. */
	if (desc_s(&g) || !(type == DT_TASK || type == DT_INT16 || type == DT_TRAP16 ||
			     type == DT_INT32 || type == DT_TRAP32))
		raise_gp(cpu, idt_err);
	/* 6.12.1.1: INT n/INT3/INTO need gate DPL >= CPL (not INT1, not
	 * hardware events), so applications reach only the gates meant
	 * for them. */
	if (kind == INTR_SOFT && desc_dpl(&g) < cpl)
		raise_gp(cpu, idt_err);
	if (!desc_present(&g))
		cpu_raise(cpu, EXC_NP, 1, idt_err);
	if (type == DT_TASK) {
		deliver_task(cpu, &g, has_error, error, ret_eip, fl);
		return type;
	}

	/* The handler's code segment (INT pseudo-code,
	 * TRAP-OR-INTERRUPT-GATE). */
	uint16_t cs = gate_sel(&g);
	struct desc cd;
	if (sel_null(cs))
		raise_gp(cpu, 0);
	if (desc_read(cpu, cs, &cd) < 0)
		raise_gp(cpu, cs & 0xfffcu);
	int dpl = desc_dpl(&cd);
	/* 6.12.1.1: an interrupt never moves to a less privileged level. */
	if (!desc_code(&cd) || dpl > cpl)
		raise_gp(cpu, cs & 0xfffcu);
	if (!desc_present(&cd))
		cpu_raise(cpu, EXC_NP, 1, cs & 0xfffcu);
	int inner = !desc_conforming(&cd) && dpl < cpl;
	/* 20.3.1.1: from V86 mode only to a ring 0 non-conforming handler. */
	if (vm && (!inner || dpl != 0))
		raise_gp(cpu, cs & 0xfffcu);

	int sz = (type & 8) ? 4 : 2; /* 32-bit gate pushes dwords */
	uint32_t eip = gate_off(&g);
	if (sz == 2)
		eip &= 0xffff;
	struct frame f;
	struct desc ssd;
	uint16_t nss = 0;
	if (inner) {
		/* 6.12.1: the stack of the handler's level comes from the TSS. */
		uint32_t nesp;
		tss_ring_stack(cpu, dpl, &nss, &nesp);
		stack_check_new(cpu, nss, dpl, &ssd);
		frame_new(&f, &ssd, nss, nesp, dpl);
		if (vm) {
			/* 20.3.1.1, Figure 20-2: the V86 segment registers too. */
			frame_push(&f, sz, cpu->seg[S_GS].sel);
			frame_push(&f, sz, cpu->seg[S_FS].sel);
			frame_push(&f, sz, cpu->seg[S_DS].sel);
			frame_push(&f, sz, cpu->seg[S_ES].sel);
		}
		frame_push(&f, sz, cpu->seg[S_SS].sel);
		frame_push(&f, sz, cpu->r[R_ESP]);
	} else {
		frame_cur(cpu, &f);
	}
	/* 6.12.1, Figure 6-4: EFLAGS, CS, EIP, then the error code. */
	frame_push(&f, sz, fl);
	frame_push(&f, sz, cpu->seg[S_CS].sel);
	frame_push(&f, sz, ret_eip);
	if (has_error)
		frame_push(&f, sz, error);
	frame_check(cpu, &f);
	if (eip > desc_limit(&cd))
		raise_gp(cpu, 0);

	/* Commit: nothing below can fault. */
	uint32_t esp = frame_write(cpu, &f);
	/* 6.12.1.2: TF, VM, RF and NT cleared; IF too for interrupt gates. */
	uint32_t clear = FL_TF | FL_VM | FL_RF | FL_NT;
	if (!(type & 1))
		clear |= FL_IF;
	cpu->eflags &= ~clear;
	if (inner) {
		if (vm) {
			/* 20.3.1.1: the handler starts with null data segments. */
			seg_load_null(cpu, S_ES, 0);
			seg_load_null(cpu, S_DS, 0);
			seg_load_null(cpu, S_FS, 0);
			seg_load_null(cpu, S_GS, 0);
		}
		seg_load_desc(cpu, &cpu->seg[S_SS], nss, &ssd);
	}
	cpu->r[R_ESP] = esp;
	seg_load_cs(cpu, cs, &cd, inner ? dpl : cpl);
	cpu->eip = eip;
	cpu->next_eip = eip;
	cpu->block_break = 1;
	return type;
}

static const enum xfer_kind xfer_of_intr[] = {
	[INTR_EXC] = XFER_EXC, [INTR_SOFT] = XFER_SOFTINT, [INTR_EXT] = XFER_INT,
	[INTR_NMI] = XFER_NMI, [INTR_ICEBP] = XFER_SOFTINT,
};

static void deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
		    uint32_t ret_eip, uint32_t fl)
{
	/* INT1 (ICEBP) is delivered like a hardware event: no gate DPL
	 * check, EXT set in nested error codes (INT n pseudo-code). */
	cpu->exc_ext = kind != INTR_SOFT;
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	int gate_type = 0;
	if (!(cpu->cr0 & CR0_PE))
		deliver_real(cpu, vector, ret_eip, fl);
	else
		gate_type = deliver_prot(cpu, vector, kind, has_error, error, ret_eip, fl);
	cpu->exc_ext = 0;
	if (cpu->xfer)
		xfer_emit(cpu, &from, xfer_of_intr[kind], vector, has_error, error, (uint16_t)(vector * 8),
			  (uint8_t)gate_type, gate_type == DT_TASK ? cpu->tr.sel : 0);
}

void cpu_deliver(struct cpu *cpu, int vector, enum intr_kind kind, int has_error, uint32_t error,
		 uint32_t ret_eip)
{
	deliver(cpu, vector, kind, has_error, error, ret_eip, cpu->eflags);
}
