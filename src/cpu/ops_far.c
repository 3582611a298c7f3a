/* Handlers: far control transfers and the protection instructions.
 * far_jmp/far_call/far_ret (called by ops_branch.c for the far forms of
 * JMP/CALL/RET), IRET, INT n/INT3/INTO/INT1, LDS/LES/LFS/LGS/LSS, ARPL,
 * LAR/LSL/VERR/VERW, LLDT/SLDT/LTR/STR. Each rule cites the SDM
 * instruction page (Vol. 2) or section (Vol. 3) it implements. */
#include "cpu/vme.h"
#include "cpu/seg.h"
#include "cpu/xfer.h"

static _Noreturn void raise_np(struct cpu *cpu, uint32_t sel) { cpu_raise(cpu, EXC_NP, 1, sel & 0xfffcu); }
static _Noreturn void raise_gp_sel(struct cpu *cpu, uint32_t sel) { raise_gp(cpu, sel & 0xfffcu); }

/* The code segment limit a real-mode or V86 far transfer checks. */
static uint32_t real_cs_limit(const struct cpu *cpu)
{
	return (cpu->eflags & FL_VM) ? 0xffffu : cpu->seg[S_CS].limit;
}

/* A direct code-segment target of JMP/CALL (SDM JMP/CALL pseudo-code,
 * CONFORMING- and NONCONFORMING-CODE-SEGMENT; Vol. 3, 5.8.1). */
static void check_direct_code(struct cpu *cpu, uint16_t sel, const struct desc *d)
{
	int cpl = cpu->cpl;
	if (desc_conforming(d)) {
		if (desc_dpl(d) > cpl) /* conforming: DPL <= CPL, RPL ignored */
			raise_gp_sel(cpu, sel);
	} else if ((sel & 3) > cpl || desc_dpl(d) != cpl) {
		raise_gp_sel(cpu, sel); /* non-conforming: RPL <= CPL, DPL = CPL */
	}
	if (!desc_present(d))
		raise_np(cpu, sel);
}

/* A gate's DPL must admit both the CPL and the selector's RPL
 * (Vol. 3, 5.8.4, Figure 5-11 and 7.2.5). */
static void check_gate(struct cpu *cpu, uint16_t sel, const struct desc *g)
{
	if (desc_dpl(g) < cpu->cpl || desc_dpl(g) < (sel & 3))
		raise_gp_sel(cpu, sel);
	if (!desc_present(g))
		raise_np(cpu, sel);
}

/* The code segment a call gate names (JMP/CALL pseudo-code, CALL-GATE). */
static void gate_code(struct cpu *cpu, const struct desc *g, int jmp, uint16_t *cs, struct desc *cd)
{
	*cs = gate_sel(g);
	if (sel_null(*cs))
		raise_gp(cpu, 0);
	if (desc_read(cpu, *cs, cd) < 0 || !desc_code(cd))
		raise_gp_sel(cpu, *cs);
	int dpl = desc_dpl(cd);
	/* CALL may go inward (DPL <= CPL); JMP through a gate never changes
	 * privilege: conforming DPL <= CPL, non-conforming DPL = CPL. */
	if (dpl > cpu->cpl || (jmp && !desc_conforming(cd) && dpl != cpu->cpl))
		raise_gp_sel(cpu, *cs);
	if (!desc_present(cd))
		raise_np(cpu, *cs);
}

/* JMP/CALL to a TSS descriptor (pseudo-code TASK-STATE-SEGMENT). */
static void check_tss(struct cpu *cpu, uint16_t sel, const struct desc *d)
{
	int type = desc_type(d);
	if (desc_dpl(d) < cpu->cpl || desc_dpl(d) < (sel & 3) ||
	    (type != DT_TSS16_AVAIL && type != DT_TSS32_AVAIL))
		raise_gp_sel(cpu, sel); /* busy: #GP too (Vol. 3, 7.3) */
	if (!desc_present(d))
		raise_np(cpu, sel);
}

/* JMP or CALL to a task gate or a TSS descriptor: a task switch
 * (JMP/CALL pseudo-code TASK-GATE and TASK-STATE-SEGMENT; Vol. 3, 7.3).
 * Returns 0, doing nothing, when d is neither. */
static int far_to_task(struct cpu *cpu, uint16_t sel, const struct desc *d, enum task_src src)
{
	uint16_t tsel = sel;
	struct desc td = *d;
	switch (desc_type(d)) {
	case DT_TASK:
		check_gate(cpu, sel, d);
		task_gate_target(cpu, d, &tsel, &td);
		break;
	case DT_TSS16_AVAIL:
	case DT_TSS32_AVAIL:
	case DT_TSS16_BUSY:
	case DT_TSS32_BUSY:
		check_tss(cpu, sel, d);
		break;
	default:
		return 0;
	}
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	int trap = task_switch(cpu, tsel, &td, src, cpu->next_eip);
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_TASK, -1, 0, 0, sel, (uint8_t)desc_type(d), tsel);
	if (trap)
		task_trap(cpu);
	cpu->block_break = 1;
	return 1;
}

void far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, const struct insn *in)
{
	uint32_t eip = in->osize == 2 ? (off & 0xffff) : off;
	if (!cpu->pmode) {
		/* JMP pseudo-code, real-address or virtual-8086 mode. */
		if (eip > real_cs_limit(cpu))
			raise_gp(cpu, 0);
		seg_load_real(cpu, S_CS, sel);
		cpu->next_eip = eip;
		cpu->block_break = 1;
		return;
	}
	struct desc d;
	if (sel_null(sel))
		raise_gp(cpu, 0);
	if (desc_read(cpu, sel, &d) < 0)
		raise_gp_sel(cpu, sel);
	if (desc_s(&d)) {
		if (!desc_code(&d))
			raise_gp_sel(cpu, sel);
		check_direct_code(cpu, sel, &d);
		if (eip > desc_limit(&d))
			raise_gp(cpu, 0);
		seg_load_cs(cpu, sel, &d, cpu->cpl);
		cpu->next_eip = eip;
		cpu->block_break = 1;
		return;
	}
	if (far_to_task(cpu, sel, &d, TASK_JMP))
		return;
	if (desc_type(&d) != DT_CALL16 && desc_type(&d) != DT_CALL32)
		raise_gp_sel(cpu, sel);
	uint16_t cs;
	struct desc cd;
	check_gate(cpu, sel, &d);
	gate_code(cpu, &d, 1, &cs, &cd);
	eip = gate_off(&d);
	if (desc_type(&d) == DT_CALL16)
		eip &= 0xffff;
	if (eip > desc_limit(&cd))
		raise_gp(cpu, 0);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	seg_load_cs(cpu, cs, &cd, cpu->cpl);
	cpu->next_eip = eip;
	cpu->block_break = 1;
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_JMP_GATE, -1, 0, 0, sel, (uint8_t)desc_type(&d), 0);
}

/* CALL through a call gate (CALL pseudo-code CALL-GATE, MORE-PRIVILEGE,
 * SAME-PRIVILEGE; Vol. 3, 5.8.5-5.8.6). */
static void call_gate(struct cpu *cpu, uint16_t sel, const struct desc *g)
{
	uint16_t cs;
	struct desc cd;
	check_gate(cpu, sel, g);
	gate_code(cpu, g, 0, &cs, &cd);
	int sz = desc_type(g) == DT_CALL32 ? 4 : 2; /* the gate's size, not the CALL's */
	uint32_t eip = gate_off(g);
	if (sz == 2)
		eip &= 0xffff;
	int dpl = desc_dpl(&cd);
	struct frame f;
	if (!desc_conforming(&cd) && dpl < cpu->cpl) {
		/* MORE-PRIVILEGE: the new stack from the TSS (Vol. 3, 5.8.5). */
		uint16_t nss;
		uint32_t nesp;
		struct desc ssd;
		tss_ring_stack(cpu, dpl, &nss, &nesp);
		stack_check_new(cpu, nss, dpl, &ssd);
		/* Figure 5-13: old SS:ESP, the parameters (gate.count words or
		 * dwords, in their order), then the return CS:EIP. */
		int n = gate_count(g);
		uint32_t par[32];
		for (int i = 0; i < n; i++)
			par[i] = stack_peek(cpu, sz, (uint32_t)(i * sz));
		frame_new(&f, &ssd, nss, nesp, dpl);
		frame_push(&f, sz, cpu->seg[S_SS].sel);
		frame_push(&f, sz, cpu->r[R_ESP]);
		for (int i = n - 1; i >= 0; i--)
			frame_push(&f, sz, par[i]);
		frame_push(&f, sz, cpu->seg[S_CS].sel);
		frame_push(&f, sz, cpu->next_eip);
		frame_check(cpu, &f); /* #SS(new SS) */
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		uint32_t esp = frame_write(cpu, &f);
		seg_load_desc(cpu, &cpu->seg[S_SS], nss, &ssd);
		cpu->r[R_ESP] = esp;
		seg_load_cs(cpu, cs, &cd, dpl);
	} else {
		/* SAME-PRIVILEGE */
		frame_cur(cpu, &f);
		frame_push(&f, sz, cpu->seg[S_CS].sel);
		frame_push(&f, sz, cpu->next_eip);
		frame_check(cpu, &f); /* #SS(0) */
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		cpu->r[R_ESP] = frame_write(cpu, &f);
		seg_load_cs(cpu, cs, &cd, cpu->cpl);
	}
	cpu->next_eip = eip;
}

void far_call(struct cpu *cpu, uint16_t sel, uint32_t off, const struct insn *in)
{
	int sz = in->osize;
	uint32_t eip = sz == 2 ? (off & 0xffff) : off;
	struct frame f;
	if (!cpu->pmode) {
		/* CALL pseudo-code, real-address or virtual-8086 mode: #SS
		 * (stack) before #GP (target). */
		frame_cur(cpu, &f);
		frame_push(&f, sz, cpu->seg[S_CS].sel);
		frame_push(&f, sz, cpu->next_eip);
		frame_check(cpu, &f);
		if (eip > real_cs_limit(cpu))
			raise_gp(cpu, 0);
		cpu->r[R_ESP] = frame_write(cpu, &f);
		seg_load_real(cpu, S_CS, sel);
		cpu->next_eip = eip;
		cpu->block_break = 1;
		return;
	}
	struct desc d;
	if (sel_null(sel))
		raise_gp(cpu, 0);
	if (desc_read(cpu, sel, &d) < 0)
		raise_gp_sel(cpu, sel);
	if (desc_s(&d)) {
		if (!desc_code(&d))
			raise_gp_sel(cpu, sel);
		check_direct_code(cpu, sel, &d);
		frame_cur(cpu, &f);
		frame_push(&f, sz, cpu->seg[S_CS].sel); /* zero-extended to 32 bits */
		frame_push(&f, sz, cpu->next_eip);
		frame_check(cpu, &f);
		if (eip > desc_limit(&d))
			raise_gp(cpu, 0);
		cpu->r[R_ESP] = frame_write(cpu, &f);
		seg_load_cs(cpu, sel, &d, cpu->cpl);
		cpu->next_eip = eip;
		cpu->block_break = 1;
		return;
	}
	if (far_to_task(cpu, sel, &d, TASK_CALL))
		return;
	if (desc_type(&d) != DT_CALL16 && desc_type(&d) != DT_CALL32)
		raise_gp_sel(cpu, sel);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	call_gate(cpu, sel, &d);
	cpu->block_break = 1;
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_CALL_GATE, -1, 0, 0, sel, (uint8_t)desc_type(&d), 0);
}

/* The return code segment of RETF/IRET (RET/IRET pseudo-code). */
static void check_return_cs(struct cpu *cpu, uint16_t cs, struct desc *cd)
{
	if (sel_null(cs))
		raise_gp(cpu, 0);
	if (desc_read(cpu, cs, cd) < 0 || !desc_code(cd))
		raise_gp_sel(cpu, cs);
	int rpl = cs & 3, dpl = desc_dpl(cd);
	/* A return never goes inward (RPL >= CPL); conforming DPL <= RPL,
	 * non-conforming DPL = RPL. */
	if (rpl < cpu->cpl || (desc_conforming(cd) ? dpl > rpl : dpl != rpl))
		raise_gp_sel(cpu, cs);
	if (!desc_present(cd))
		raise_np(cpu, cs);
}

/* The outer stack of RETF/IRET (RETURN-TO-OUTER-PRIVILEGE-LEVEL). */
static void check_return_ss(struct cpu *cpu, uint16_t ss, int rpl, struct desc *sd)
{
	if (sel_null(ss))
		raise_gp(cpu, 0);
	if (desc_read(cpu, ss, sd) < 0)
		raise_gp_sel(cpu, ss);
	if ((ss & 3) != rpl || !desc_writable_data(sd) || desc_dpl(sd) != rpl)
		raise_gp_sel(cpu, ss);
	if (!desc_present(sd))
		raise_ss(cpu, ss & 0xfffcu);
}

/* Load SS:ESP for an outer level; ESP by the new stack's B bit. */
static void load_outer_stack(struct cpu *cpu, uint16_t ss, struct desc *sd, uint32_t esp)
{
	seg_load_desc(cpu, &cpu->seg[S_SS], ss, sd);
	if (cpu->seg[S_SS].attr & SEGA_DB)
		cpu->r[R_ESP] = esp;
	else
		cpu->r[R_ESP] = (cpu->r[R_ESP] & 0xffff0000u) | (esp & 0xffff);
	cpu_update_mode(cpu);
}

void far_ret(struct cpu *cpu, uint32_t pop_bytes, const struct insn *in)
{
	int sz = in->osize;
	uint32_t eip = stack_peek(cpu, sz, 0); /* #SS(0) beyond the stack limit */
	uint16_t cs = (uint16_t)stack_peek(cpu, sz, (uint32_t)sz);
	if (sz == 2)
		eip &= 0xffff;
	cpu->block_break = 1;
	if (!cpu->pmode) {
		/* RET pseudo-code, real-address or virtual-8086 mode. */
		if (eip > real_cs_limit(cpu))
			raise_gp(cpu, 0);
		set_sp(cpu, stack_ptr(cpu) + (uint32_t)(2 * sz) + pop_bytes);
		seg_load_real(cpu, S_CS, cs);
		cpu->next_eip = eip;
		return;
	}
	struct desc cd;
	check_return_cs(cpu, cs, &cd);
	int rpl = cs & 3;
	if (rpl > cpu->cpl) {
		/* RETURN-TO-OUTER-PRIVILEGE-LEVEL: SS:ESP sit above the
		 * parameters the immediate releases. */
		uint32_t esp = stack_peek(cpu, sz, (uint32_t)(2 * sz) + pop_bytes);
		uint16_t ss = (uint16_t)stack_peek(cpu, sz, (uint32_t)(3 * sz) + pop_bytes);
		struct desc sd;
		check_return_ss(cpu, ss, rpl, &sd);
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		struct xfer_from from;
		if (cpu->xfer)
			xfer_begin(cpu, &from);
		seg_load_cs(cpu, cs, &cd, rpl);
		load_outer_stack(cpu, ss, &sd, esp);
		set_sp(cpu, stack_ptr(cpu) + pop_bytes); /* release on the outer stack too */
		seg_null_inner(cpu);
		cpu->next_eip = eip;
		if (cpu->xfer)
			xfer_emit(cpu, &from, XFER_RETF, -1, 0, 0, 0, 0, 0);
	} else {
		/* RETURN-TO-SAME-PRIVILEGE-LEVEL */
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		set_sp(cpu, stack_ptr(cpu) + (uint32_t)(2 * sz) + pop_bytes);
		seg_load_cs(cpu, cs, &cd, cpu->cpl);
	}
	cpu->next_eip = eip;
}

/* ---- IRET (SDM IRET/IRETD pseudo-code) ---- */

static void iret_task_return(struct cpu *cpu)
{
	/* TASK-RETURN: back to the task named by the back link, which must
	 * be a busy TSS in the GDT (Vol. 3, 7.3, 7.4). */
	uint16_t link = (uint16_t)lin_read(cpu, cpu->tr.base, 2, ACC_R | ACC_SYS);
	struct desc d;
	if ((link & SEL_TI) || desc_read(cpu, link, &d) < 0 || desc_s(&d) ||
	    (desc_type(&d) != DT_TSS16_BUSY && desc_type(&d) != DT_TSS32_BUSY))
		cpu_raise(cpu, EXC_TS, 1, link & 0xfffcu);
	if (!desc_present(&d))
		raise_np(cpu, link);
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	int trap = task_switch(cpu, link, &d, TASK_IRET, cpu->next_eip);
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_TASK, -1, 0, 0, 0, 0, link);
	if (trap)
		task_trap(cpu);
}

static void iret_to_v86(struct cpu *cpu, uint32_t eip, uint16_t cs, uint32_t fl)
{
	/* RETURN-TO-VIRTUAL-8086-MODE: 24 more bytes (ESP, SS, ES, DS, FS,
	 * GS), all read before anything changes. */
	uint32_t esp = stack_peek(cpu, 4, 12);
	uint16_t v[5];
	for (int i = 0; i < 5; i++)
		v[i] = (uint16_t)stack_peek(cpu, 4, 16 + 4 * (uint32_t)i);
	if (eip > 0xffff)
		raise_gp(cpu, 0); /* beyond the V86 code segment's 64 KiB */
	struct xfer_from from;
	if (cpu->xfer)
		xfer_begin(cpu, &from);
	cpu_set_eflags(cpu, fl, 0xffffffffu); /* VM = 1: CPL becomes 3 */
	seg_load_real(cpu, S_CS, cs);
	seg_load_real(cpu, S_SS, v[0]);
	seg_load_real(cpu, S_ES, v[1]);
	seg_load_real(cpu, S_DS, v[2]);
	seg_load_real(cpu, S_FS, v[3]);
	seg_load_real(cpu, S_GS, v[4]);
	cpu->r[R_ESP] = esp;
	cpu_update_mode(cpu);
	cpu->next_eip = eip;
	if (cpu->xfer)
		xfer_emit(cpu, &from, XFER_IRET, -1, 0, 0, 0, 0, 0);
}

static void op_iret(struct cpu *cpu, const struct insn *in)
{
	int sz = in->osize;
	cpu->block_break = 1;
	/* IRET unblocks NMIs, even one that then faults (SDM Vol. 3, 6.7.1) */
	cpu->nmi_blocked = 0;
	if ((cpu->cr0 & CR0_PE) && !(cpu->eflags & FL_VM) && (cpu->eflags & FL_NT)) {
		iret_task_return(cpu);
		return;
	}
	uint32_t eip = stack_peek(cpu, sz, 0);
	uint16_t cs = (uint16_t)stack_peek(cpu, sz, (uint32_t)sz);
	uint32_t fl = stack_peek(cpu, sz, (uint32_t)(2 * sz));
	if (!(cpu->cr0 & CR0_PE)) {
		/* REAL-ADDRESS-MODE */
		if ((sz == 4 && (eip >> 16)) || eip > real_cs_limit(cpu))
			raise_gp(cpu, 0);
		set_sp(cpu, stack_ptr(cpu) + (uint32_t)(3 * sz));
		seg_load_real(cpu, S_CS, cs);
		/* IRETD keeps VM, VIF, VIP: EFLAGS <- (temp & 257FD5H) | (EFLAGS & 1A0000H) */
		cpu_set_eflags(cpu, fl, sz == 4 ? 0x257fd5u : 0xffffu);
		cpu->next_eip = eip;
		return;
	}
	if (cpu->eflags & FL_VM) {
		/* RETURN-FROM-VIRTUAL-8086-MODE: with IOPL = 3; with IOPL < 3
		 * a 16-bit IRET on VIF under CR4.VME, else #GP(0) to the
		 * virtual-8086 monitor (Vol. 3, 20.2.7, 20.3). */
		if (vme_iret(cpu, sz))
			return;
		if (eip > 0xffff)
			raise_gp(cpu, 0);
		set_sp(cpu, stack_ptr(cpu) + (uint32_t)(3 * sz));
		seg_load_real(cpu, S_CS, cs);
		/* The pop leaves VM, IOPL, VIP and VIF alone. */
		cpu_set_eflags(cpu, fl, sz == 4 ? ~(FL_VM | FL_IOPL | FL_VIP | FL_VIF) : (0xffffu & ~FL_IOPL));
		cpu->next_eip = eip;
		return;
	}
	/* PROTECTED-MODE */
	if (sz == 4 && (fl & FL_VM) && cpu->cpl == 0) {
		iret_to_v86(cpu, eip, cs, fl);
		return;
	}
	if (sz == 2)
		eip &= 0xffff;
	struct desc cd;
	check_return_cs(cpu, cs, &cd);
	int rpl = cs & 3;
	/* What the popped image may change at the current CPL. */
	uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT;
	if (sz == 4)
		mask |= FL_RF | FL_AC | FL_ID;
	if (cpu->cpl <= (int)((cpu->eflags & FL_IOPL) >> FL_IOPL_SHIFT))
		mask |= FL_IF;
	if (cpu->cpl == 0) {
		mask |= FL_IOPL;
		if (sz == 4)
			mask |= FL_VIF | FL_VIP;
	}
	if (sz == 2)
		mask &= 0xffff;
	if (rpl > cpu->cpl) {
		/* RETURN-TO-OUTER-PRIVILEGE-LEVEL */
		uint32_t esp = stack_peek(cpu, sz, (uint32_t)(3 * sz));
		uint16_t ss = (uint16_t)stack_peek(cpu, sz, (uint32_t)(4 * sz));
		struct desc sd;
		check_return_ss(cpu, ss, rpl, &sd);
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		struct xfer_from from;
		if (cpu->xfer)
			xfer_begin(cpu, &from);
		cpu_set_eflags(cpu, fl, mask);
		seg_load_cs(cpu, cs, &cd, rpl);
		load_outer_stack(cpu, ss, &sd, esp);
		seg_null_inner(cpu);
		cpu->next_eip = eip;
		if (cpu->xfer)
			xfer_emit(cpu, &from, XFER_IRET, -1, 0, 0, 0, 0, 0);
	} else {
		/* RETURN-TO-SAME-PRIVILEGE-LEVEL */
		if (eip > desc_limit(&cd))
			raise_gp(cpu, 0);
		set_sp(cpu, stack_ptr(cpu) + (uint32_t)(3 * sz));
		cpu_set_eflags(cpu, fl, mask);
		seg_load_cs(cpu, cs, &cd, cpu->cpl);
	}
	cpu->next_eip = eip;
}

/* ---- INT n / INT3 / INTO / INT1 (SDM INT n pseudo-code) ---- */

static void op_int(struct cpu *cpu, const struct insn *in)
{
	/* V86: INT n is IOPL-sensitive (#GP(0) to the monitor) or, under
	 * CR4.VME, redirected to the 8086 program's vector table (vme.c;
	 * Vol. 3, 20.3.3, Table 20-2). INT3 and INTO are neither. */
	if ((cpu->eflags & FL_VM) && vme_int(cpu, (int)(in->imm & 0xff), cpu->next_eip))
		return;
	cpu_deliver(cpu, (int)(in->imm & 0xff), INTR_SOFT, 0, 0, cpu->next_eip);
}

static void op_int3(struct cpu *cpu, const struct insn *in)
{
	cpu_deliver(cpu, EXC_BP, INTR_SOFT, 0, 0, cpu->next_eip);
}

static void op_into(struct cpu *cpu, const struct insn *in)
{
	if (cpu->eflags & FL_OF)
		cpu_deliver(cpu, EXC_OF, INTR_SOFT, 0, 0, cpu->next_eip);
}

static void op_int1(struct cpu *cpu, const struct insn *in)
{
	/* ICEBP: a #DB trap without the gate DPL check. */
	cpu_deliver(cpu, EXC_DB, INTR_ICEBP, 0, 0, cpu->next_eip);
}

/* ---- LDS/LES/LFS/LGS/LSS (SDM "LDS/LES/LFS/LGS/LSS") ---- */

static void load_far_pointer(struct cpu *cpu, const struct insn *in, int s)
{
	if (in->op[1].kind != OPK_MEM)
		raise_ud(cpu);
	uint32_t ea = insn_ea(cpu, in);
	uint32_t off = mem_read(cpu, in->seg, ea, in->osize);
	uint16_t sel = (uint16_t)mem_read(cpu, in->seg, ea + in->osize, 2);
	/* All checks (the segment load's included) before the register is
	 * written. The SDM gives LSS no interrupt shadow (only MOV/POP SS
	 * need one, having no way to load ESP at once). */
	seg_load(cpu, s, sel);
	reg_write(cpu, in->op[0].reg, in->osize, off);
	cpu->block_break = 1;
}

static void op_lds(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, S_DS); }
static void op_les(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, S_ES); }
static void op_lfs(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, S_FS); }
static void op_lgs(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, S_GS); }
static void op_lss(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, S_SS); }

/* ---- ARPL, LAR, LSL, VERR, VERW ---- */

static void set_zf(struct cpu *cpu, int z)
{
	cpu->eflags = z ? (cpu->eflags | FL_ZF) : (cpu->eflags & ~FL_ZF);
}

static void op_arpl(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu); /* not recognised in real or V86 mode */
	uint32_t dst = op_read(cpu, in, 0) & 0xffff, src = op_read(cpu, in, 1) & 0xffff;
	if ((dst & 3) < (src & 3)) {
		op_write(cpu, in, 0, (dst & ~3u) | (src & 3));
		set_zf(cpu, 1);
	} else {
		set_zf(cpu, 0);
	}
}

/* The descriptor LAR/LSL/VERR/VERW may report: visible at CPL and RPL
 * (conforming code always), and of an allowed type. Returns 0 if not. */
static int visible_desc(struct cpu *cpu, uint16_t sel, struct desc *d)
{
	if (sel_null(sel) || desc_read(cpu, sel, d) < 0)
		return 0;
	if (desc_conforming(d))
		return 1;
	int dpl = desc_dpl(d);
	return dpl >= cpu->cpl && dpl >= (sel & 3);
}

static void op_lar(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	uint16_t sel = (uint16_t)op_read(cpu, in, 1);
	struct desc d;
	/* LAR: system types 1,2,3,4,5,9,B,C are valid (gates and TSS/LDT). */
	static const uint16_t sys_ok = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
				       (1u << 9) | (1u << 11) | (1u << 12);
	if (!visible_desc(cpu, sel, &d) || (!desc_s(&d) && !(sys_ok >> desc_type(&d) & 1))) {
		set_zf(cpu, 0);
		return;
	}
	op_write(cpu, in, 0, in->osize == 2 ? (d.hi & 0xff00u) : (d.hi & 0x00f0ff00u));
	set_zf(cpu, 1);
}

static void op_lsl(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	uint16_t sel = (uint16_t)op_read(cpu, in, 1);
	struct desc d;
	/* LSL: only segments with a limit (TSS and LDT among system types). */
	static const uint16_t sys_ok = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | (1u << 11);
	if (!visible_desc(cpu, sel, &d) || (!desc_s(&d) && !(sys_ok >> desc_type(&d) & 1))) {
		set_zf(cpu, 0);
		return;
	}
	op_write(cpu, in, 0, desc_limit(&d));
	set_zf(cpu, 1);
}

static void op_verr(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	uint16_t sel = (uint16_t)op_read(cpu, in, 0);
	struct desc d;
	set_zf(cpu, visible_desc(cpu, sel, &d) && desc_s(&d) && desc_readable(&d));
}

static void op_verw(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	uint16_t sel = (uint16_t)op_read(cpu, in, 0);
	struct desc d;
	set_zf(cpu, visible_desc(cpu, sel, &d) && desc_writable_data(&d));
}

/* ---- LLDT, SLDT, LTR, STR ---- */

static void op_lldt(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	if (cpu->cpl != 0)
		raise_gp(cpu, 0);
	uint16_t sel = (uint16_t)op_read(cpu, in, 0);
	struct desc d;
	if (sel_null(sel)) {
		/* A null LDTR: later LDT references are #GP (LLDT page). */
		seg_set_cache(&cpu->ldtr, sel, 0, 0, 0);
		return;
	}
	if ((sel & SEL_TI) || desc_read(cpu, sel, &d) < 0 || desc_s(&d) || desc_type(&d) != DT_LDT)
		raise_gp_sel(cpu, sel);
	if (!desc_present(&d))
		raise_np(cpu, sel);
	seg_set_cache(&cpu->ldtr, sel, desc_base(&d), desc_limit(&d), desc_attr(&d));
}

static void op_ltr(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	if (cpu->cpl != 0)
		raise_gp(cpu, 0);
	uint16_t sel = (uint16_t)op_read(cpu, in, 0);
	struct desc d;
	if (sel_null(sel))
		raise_gp(cpu, 0);
	if ((sel & SEL_TI) || desc_read(cpu, sel, &d) < 0 || desc_s(&d) ||
	    (desc_type(&d) != DT_TSS16_AVAIL && desc_type(&d) != DT_TSS32_AVAIL))
		raise_gp_sel(cpu, sel);
	if (!desc_present(&d))
		raise_np(cpu, sel);
	/* LTR marks the TSS busy (Vol. 3, 7.2.4). */
	d.hi |= 0x200u;
	desc_write_hi(cpu, sel, d.hi);
	seg_set_cache(&cpu->tr, sel, desc_base(&d), desc_limit(&d), desc_attr(&d));
}

static void op_sldt(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	op_write(cpu, in, 0, cpu->ldtr.sel); /* a 32-bit register gets it zero-extended */
}

static void op_str(struct cpu *cpu, const struct insn *in)
{
	if (!cpu->pmode)
		raise_ud(cpu);
	op_write(cpu, in, 0, cpu->tr.sel);
}

const struct op_entry ops_far_table[] = {
	{ZYDIS_MNEMONIC_IRET, op_iret, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_IRETD, op_iret, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_INT, op_int, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_INT3, op_int3, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_INTO, op_into, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_INT1, op_int1, INSN_ENDS_BLOCK, 0},
	{ZYDIS_MNEMONIC_LDS, op_lds, 0, 0},
	{ZYDIS_MNEMONIC_LES, op_les, 0, 0},
	{ZYDIS_MNEMONIC_LFS, op_lfs, 0, 0},
	{ZYDIS_MNEMONIC_LGS, op_lgs, 0, 0},
	{ZYDIS_MNEMONIC_LSS, op_lss, 0, 0},
	{ZYDIS_MNEMONIC_ARPL, op_arpl, 0, 0},
	{ZYDIS_MNEMONIC_LAR, op_lar, 0, 0},
	{ZYDIS_MNEMONIC_LSL, op_lsl, 0, 0},
	{ZYDIS_MNEMONIC_VERR, op_verr, 0, 0},
	{ZYDIS_MNEMONIC_VERW, op_verw, 0, 0},
	{ZYDIS_MNEMONIC_LLDT, op_lldt, 0, 0},
	{ZYDIS_MNEMONIC_SLDT, op_sldt, 0, 0},
	{ZYDIS_MNEMONIC_LTR, op_ltr, 0, 0},
	{ZYDIS_MNEMONIC_STR, op_str, 0, 0},
	{0, 0, 0, 0},
};
