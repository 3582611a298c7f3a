/* Hardware task switching (SDM Vol. 3, 7.3): JMP/CALL to a TSS or task
 * gate, an interrupt or exception through a task gate, and IRET with
 * NT = 1. 32-bit TSSs (Figure 7-2) and 16-bit TSSs (Figure 7-11). */
#include "cpu/debug.h"
#include "cpu/seg.h"

/* 32-bit TSS field offsets (SDM Vol. 3, Figure 7-2). */
enum {
	T32_LINK = 0x00, T32_CR3 = 0x1c, T32_EIP = 0x20, T32_EFLAGS = 0x24, T32_GPR = 0x28,
	T32_SEG = 0x48, T32_LDT = 0x60, T32_MIN_LIMIT = 0x67,
};
/* 16-bit TSS field offsets (SDM Vol. 3, Figure 7-11). */
enum {
	T16_LINK = 0x00, T16_IP = 0x0e, T16_FLAGS = 0x10, T16_GPR = 0x12, T16_SEG = 0x22,
	T16_LDT = 0x2a, T16_MIN_LIMIT = 0x2b,
};

static int tss_is32(int type) { return (type & 8) != 0; }

void task_gate_target(struct cpu *cpu, const struct desc *gate, uint16_t *tss_sel, struct desc *tss)
{
	/* JMP/CALL/INT pseudo-code, TASK-GATE: the TSS selector must name
	 * an available TSS in the GDT. */
	uint16_t sel = gate_sel(gate);
	uint32_t err = sel & 0xfffcu;
	if ((sel & SEL_TI) || desc_read(cpu, sel, tss) < 0)
		raise_gp(cpu, err);
	int type = desc_type(tss);
	if (desc_s(tss) || (type != DT_TSS16_AVAIL && type != DT_TSS32_AVAIL))
		raise_gp(cpu, err); /* not a TSS, or busy */
	if (!desc_present(tss))
		cpu_raise(cpu, EXC_NP, 1, err);
	*tss_sel = sel;
}

/* Check that [lin, lin+len) can be accessed (SDM Vol. 3, 7.3 step 5:
 * the TSSs are paged in before the switch commits). */
static void probe(struct cpu *cpu, uint32_t lin, uint32_t len, int acc)
{
	mmu_translate(cpu, lin, acc | ACC_SYS);
	if (((lin & 0xfff) + len) > 0x1000)
		mmu_translate(cpu, (lin | 0xfff) + 1, acc | ACC_SYS);
}

static uint32_t rd(struct cpu *cpu, uint32_t lin, int size)
{
	return lin_read(cpu, lin, size, ACC_R | ACC_SYS);
}

static void wr(struct cpu *cpu, uint32_t lin, int size, uint32_t v)
{
	lin_write(cpu, lin, size, v, ACC_SYS);
}

static void set_busy(struct cpu *cpu, uint16_t sel, int busy)
{
	struct desc d;
	if (desc_read(cpu, sel, &d) < 0)
		return;
	/* Type bit 1 is the busy bit of a TSS descriptor (SDM Vol. 3, 7.2.2). */
	d.hi = busy ? (d.hi | 0x200u) : (d.hi & ~0x200u);
	desc_write_hi(cpu, sel, d.hi);
}

/* The segment registers of the new task, qualified in its context
 * (7.3 step 13; Table 7-1): faults are #TS(sel), #NP, #SS(sel). */
static void load_task_segments(struct cpu *cpu, const uint16_t sel[S_NSEG], uint16_t ldt)
{
	struct desc d;
	/* LDT first: the other selectors may refer to it. */
	if (!sel_null(ldt)) {
		if ((ldt & SEL_TI) || desc_read(cpu, ldt, &d) < 0 || desc_s(&d) ||
		    desc_type(&d) != DT_LDT || !desc_present(&d))
			cpu_raise(cpu, EXC_TS, 1, ldt & 0xfffcu);
		seg_set_cache(&cpu->ldtr, ldt, desc_base(&d), desc_limit(&d), desc_attr(&d));
	}
	if (cpu->eflags & FL_VM) {
		/* 7.3 step 12/20.2.5: a TSS with EFLAGS.VM = 1 enters V86 mode;
		 * its selectors are plain paragraph numbers. */
		for (int s = 0; s < S_NSEG; s++)
			seg_load_real(cpu, s, sel[s]);
		cpu_update_mode(cpu);
		return;
	}
	/* CS: a present code segment; its RPL is the new CPL. */
	uint16_t cs = sel[S_CS];
	uint32_t err = cs & 0xfffcu;
	int rpl = cs & 3;
	if (sel_null(cs) || desc_read(cpu, cs, &d) < 0 || !desc_code(&d))
		cpu_raise(cpu, EXC_TS, 1, err);
	if (desc_conforming(&d) ? desc_dpl(&d) > rpl : desc_dpl(&d) != rpl)
		cpu_raise(cpu, EXC_TS, 1, err);
	if (!desc_present(&d))
		cpu_raise(cpu, EXC_NP, 1, err);
	seg_load_desc(cpu, &cpu->seg[S_CS], cs, &d);
	cpu_update_mode(cpu);
	seg_load_checked(cpu, S_SS, sel[S_SS], rpl, EXC_TS);
	static const int data[4] = {S_DS, S_ES, S_FS, S_GS};
	for (int i = 0; i < 4; i++)
		seg_load_checked(cpu, data[i], sel[data[i]], rpl, EXC_TS);
}

int task_switch(struct cpu *cpu, uint16_t tss_sel, struct desc *tss, enum task_src src, uint32_t ret_eip)
{
	int ntype = desc_type(tss);
	int new32 = tss_is32(ntype);
	uint32_t nbase = desc_base(tss), nlimit = desc_limit(tss);
	uint32_t obase = cpu->tr.base;
	int old32 = tss_is32(cpu->tr.attr & 0xf);
	uint16_t old_sel = cpu->tr.sel;

	/* 7.3 step 3 / Table 7-1: the new TSS must be large enough. */
	if (nlimit < (uint32_t)(new32 ? T32_MIN_LIMIT : T16_MIN_LIMIT))
		cpu_raise(cpu, EXC_TS, 1, tss_sel & 0xfffcu);

	/* Step 5: both TSSs are accessible before anything changes. Read
	 * the whole new state now. */
	if (old32)
		probe(cpu, obase + T32_EIP, T32_LDT - T32_EIP, ACC_W);
	else
		probe(cpu, obase + T16_IP, T16_LDT - T16_IP, ACC_W);
	if (src == TASK_CALL || src == TASK_INT)
		probe(cpu, nbase, 2, ACC_W);
	uint32_t ncr3 = 0, neip, nfl, ngpr[8];
	uint16_t nsel[S_NSEG], nldt;
	int trap = 0;
	if (new32) {
		trap = rd(cpu, nbase + 0x64, 2) & 1; /* T: debug trap on entry */
		ncr3 = rd(cpu, nbase + T32_CR3, 4);
		neip = rd(cpu, nbase + T32_EIP, 4);
		nfl = rd(cpu, nbase + T32_EFLAGS, 4);
		for (int i = 0; i < 8; i++)
			ngpr[i] = rd(cpu, nbase + T32_GPR + 4 * (uint32_t)i, 4);
		for (int s = 0; s < S_NSEG; s++)
			nsel[s] = (uint16_t)rd(cpu, nbase + T32_SEG + 4 * (uint32_t)s, 2);
		nldt = (uint16_t)rd(cpu, nbase + T32_LDT, 2);
	} else {
		neip = rd(cpu, nbase + T16_IP, 2);
		nfl = rd(cpu, nbase + T16_FLAGS, 2);
		for (int i = 0; i < 8; i++)
			ngpr[i] = (cpu->r[i] & 0xffff0000u) | rd(cpu, nbase + T16_GPR + 2 * (uint32_t)i, 2);
		for (int s = 0; s < 4; s++) /* ES CS SS DS; no FS/GS */
			nsel[s] = (uint16_t)rd(cpu, nbase + T16_SEG + 2 * (uint32_t)s, 2);
		nsel[S_FS] = nsel[S_GS] = 0;
		nldt = (uint16_t)rd(cpu, nbase + T16_LDT, 2);
	}

	/* Step 6: JMP and IRET leave the old task: not busy any more. */
	if (src == TASK_JMP || src == TASK_IRET)
		set_busy(cpu, old_sel, 0);
	/* Step 7-8: save the dynamic state in the old TSS; IRET saves the
	 * image with NT cleared. */
	uint32_t ofl = cpu->eflags;
	if (src == TASK_IRET)
		ofl &= ~FL_NT;
	if (old32) {
		wr(cpu, obase + T32_EIP, 4, ret_eip);
		wr(cpu, obase + T32_EFLAGS, 4, ofl);
		for (int i = 0; i < 8; i++)
			wr(cpu, obase + T32_GPR + 4 * (uint32_t)i, 4, cpu->r[i]);
		for (int s = 0; s < S_NSEG; s++)
			wr(cpu, obase + T32_SEG + 4 * (uint32_t)s, 2, cpu->seg[s].sel);
	} else {
		wr(cpu, obase + T16_IP, 2, ret_eip);
		wr(cpu, obase + T16_FLAGS, 2, ofl);
		for (int i = 0; i < 8; i++)
			wr(cpu, obase + T16_GPR + 2 * (uint32_t)i, 2, cpu->r[i]);
		for (int s = 0; s < 4; s++)
			wr(cpu, obase + T16_SEG + 2 * (uint32_t)s, 2, cpu->seg[s].sel);
	}
	/* Step 9: CALL and interrupts nest: back link and NT. */
	if (src == TASK_CALL || src == TASK_INT) {
		wr(cpu, nbase + T32_LINK, 2, old_sel);
		nfl |= FL_NT;
	}
	/* Step 10: the new task is busy (IRET returns to a busy one). */
	if (src != TASK_IRET) {
		set_busy(cpu, tss_sel, 1);
		tss->hi |= 0x200u;
	}
	/* Step 11: TR; 7.3: CR0.TS is set on every task switch. */
	seg_set_cache(&cpu->tr, tss_sel, nbase, nlimit, desc_attr(tss));
	cpu->cr0 |= CR0_TS;

	/* Step 12: the new task's registers. From here on, faults belong to
	 * the new task. */
	if (new32 && (cpu->cr0 & CR0_PG)) {
		cpu->cr3 = ncr3;
		tlb_flush_all(cpu, 1);
		/* PAE: the new CR3's PDPTEs load too (SDM 7.3 step 12) */
		if ((cpu->cr4 & CR4_PAE) && !mmu_pdptes_load(cpu, ncr3))
			raise_gp(cpu, 0);
	}
	if (!new32)
		nfl &= 0xffffu;
	cpu_set_eflags(cpu, nfl, 0xffffffffu);
	for (int i = 0; i < 8; i++)
		cpu->r[i] = ngpr[i];
	cpu->eip = cpu->next_eip = new32 ? neip : (neip & 0xffffu);
	/* Selectors first, descriptors unusable until qualified below. */
	for (int s = 0; s < S_NSEG; s++)
		seg_set_cache(&cpu->seg[s], nsel[s], 0, 0, 0);
	seg_set_cache(&cpu->ldtr, nldt, 0, 0, 0);
	cpu_update_mode(cpu);
	cpu->block_break = 1;

	/* Step 13: qualify the segments (in the new task's context). */
	load_task_segments(cpu, nsel, nldt);
	/* JMP/CALL/INT/IRET pseudo-code: the new EIP within CS's limit. */
	if (cpu->eip > cpu->seg[S_CS].hi)
		raise_gp(cpu, 0);
	return trap;
}

void task_trap(struct cpu *cpu)
{
	/* 7.2.1, 17.2.3: the new TSS's T flag raises a debug trap before the
	 * task's first instruction, DR6.BT set. */
	cpu->dr[6] |= DR6_BT;
	cpu_raise(cpu, EXC_DB, 0, 0);
}
