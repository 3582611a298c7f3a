/* Descriptors and segment loads: the checks of SDM Vol. 3, ch. 3 and 5
 * and of the MOV/POP Sreg pseudo-code; the TSS ring stacks and the
 * all-or-nothing stack frames that far calls and interrupts push. */
#include "cpu/seg.h"

_Noreturn void seg_fault(struct cpu *cpu, int s)
{
	/* SDM Vol. 3, 5.3: a limit violation is #SS(0) for SS, #GP(0) else. */
	if (s == S_SS)
		raise_ss(cpu, 0);
	raise_gp(cpu, 0);
}

/* The linear address of the descriptor sel names, or 0 with *ok = 0. */
static uint32_t desc_addr(struct cpu *cpu, uint16_t sel, int *ok)
{
	uint32_t base, limit;
	*ok = 0;
	if (sel & SEL_TI) {
		/* SDM Vol. 3, 3.5.1: a null LDTR makes every TI=1 selector invalid. */
		if (sel_null(cpu->ldtr.sel) || !(cpu->ldtr.attr & SEGA_P))
			return 0;
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	/* SDM Vol. 3, 3.5.1: the whole 8-byte entry must be within the limit. */
	if ((uint32_t)(sel & 0xfff8u) + 7 > limit)
		return 0;
	*ok = 1;
	return base + (sel & 0xfff8u);
}

int desc_read(struct cpu *cpu, uint16_t sel, struct desc *d)
{
	int ok;
	uint32_t a = desc_addr(cpu, sel, &ok);
	if (!ok)
		return -1;
	d->lo = lin_read(cpu, a, 4, ACC_R | ACC_SYS);
	d->hi = lin_read(cpu, a + 4, 4, ACC_R | ACC_SYS);
	return 0;
}

void desc_write_hi(struct cpu *cpu, uint16_t sel, uint32_t hi)
{
	int ok;
	uint32_t a = desc_addr(cpu, sel, &ok);
	if (ok)
		lin_write(cpu, a + 4, 4, hi, ACC_SYS);
}

void seg_load_desc(struct cpu *cpu, struct seg *sg, uint16_t sel, struct desc *d)
{
	/* SDM Vol. 3, 3.4.5.1: the processor sets the accessed bit when it
	 * loads a segment register with the descriptor. */
	if (desc_s(d) && !(d->hi & 0x100u)) {
		d->hi |= 0x100u;
		desc_write_hi(cpu, sel, d->hi);
	}
	uint8_t mode = cpu_block_mode(cpu);
	seg_set_cache(sg, sel, desc_base(d), desc_limit(d), desc_attr(d));
	if (cpu_block_mode(cpu) != mode)
		cpu->block_break = 1; /* the rest of the block was made for the old mode */
}

void seg_load_null(struct cpu *cpu, int s, uint16_t sel)
{
	/* SDM Vol. 3, 3.4.2: a null selector loads without a fault; any
	 * later access through the register is #GP(0). */
	uint8_t mode = cpu_block_mode(cpu);
	seg_set_cache(&cpu->seg[s], sel, 0, 0, 0);
	if (cpu_block_mode(cpu) != mode)
		cpu->block_break = 1;
}

void seg_load_checked(struct cpu *cpu, int s, uint16_t sel, int cpl, int badvec)
{
	struct desc d;
	uint32_t err = sel & 0xfffcu;
	int rpl = sel & 3;
	if (s == S_SS) {
		/* MOV/POP SS pseudo-code: null SS is #GP(0) (#TS(sel) in a
		 * task switch, SDM Vol. 3, Table 7-1). */
		if (sel_null(sel))
			cpu_raise(cpu, badvec, 1, badvec == EXC_TS ? err : 0);
		/* RPL = CPL, writable data, DPL = CPL (SDM Vol. 3, 5.7). */
		if (desc_read(cpu, sel, &d) < 0 || rpl != cpl || !desc_writable_data(&d) ||
		    desc_dpl(&d) != cpl)
			cpu_raise(cpu, badvec, 1, err);
		if (!desc_present(&d))
			raise_ss(cpu, err); /* #SS(sel) for a not-present stack */
		seg_load_desc(cpu, &cpu->seg[S_SS], sel, &d);
		cpu_update_mode(cpu);
		return;
	}
	if (sel_null(sel)) {
		seg_load_null(cpu, s, sel);
		return;
	}
	/* Data or readable code; for data and non-conforming code the
	 * selector and the program must be privileged enough:
	 * max(CPL, RPL) <= DPL (SDM Vol. 3, 5.6). */
	if (desc_read(cpu, sel, &d) < 0 || !desc_s(&d) || !desc_readable(&d) ||
	    (!desc_conforming(&d) && (cpl > desc_dpl(&d) || rpl > desc_dpl(&d))))
		cpu_raise(cpu, badvec, 1, err);
	if (!desc_present(&d))
		cpu_raise(cpu, EXC_NP, 1, err);
	seg_load_desc(cpu, &cpu->seg[s], sel, &d);
}

void seg_load(struct cpu *cpu, int s, uint16_t sel)
{
	if (!cpu->pmode) {
		seg_load_real(cpu, s, sel);
		return;
	}
	if (s == S_CS)
		raise_ud(cpu); /* CS changes only through far transfers */
	seg_load_checked(cpu, s, sel, cpu->cpl, EXC_GP);
}

void seg_load_cs(struct cpu *cpu, uint16_t sel, struct desc *d, int cpl)
{
	/* JMP/CALL/RET pseudo-code: "CS(RPL) <- CPL". */
	seg_load_desc(cpu, &cpu->seg[S_CS], (uint16_t)((sel & 0xfffcu) | (unsigned)cpl), d);
	cpu_update_mode(cpu);
}

void seg_null_inner(struct cpu *cpu)
{
	/* RET/IRET to an outer level: a segment register the new CPL could
	 * not have loaded itself (data or non-conforming code with DPL < CPL)
	 * becomes null, so the outer procedure cannot use inner data. */
	static const int segs[4] = {S_ES, S_FS, S_GS, S_DS};
	for (int i = 0; i < 4; i++) {
		struct seg *sg = &cpu->seg[segs[i]];
		int dpl = (sg->attr & SEGA_DPL) >> SEGA_DPL_SHIFT;
		int data_or_nc = !(sg->attr & 0x8) || !(sg->attr & 0x4);
		if (sel_null(sg->sel) || (dpl < cpu->cpl && data_or_nc))
			seg_load_null(cpu, segs[i], 0);
	}
}

void tss_ring_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp)
{
	/* SDM CALL / INT pseudo-code, "identify stack for new privilege
	 * level in current TSS": SSn:ESPn at 4 + 8n (32-bit TSS) or
	 * SSn:SPn at 2 + 4n (16-bit TSS); #TS(TR) past the TSS limit. */
	const struct seg *tr = &cpu->tr;
	if (tr->attr & 0x8) {
		uint32_t a = (uint32_t)dpl * 8 + 4;
		if (a + 5 > tr->limit)
			cpu_raise(cpu, EXC_TS, 1, tr->sel & 0xfffcu);
		*esp = lin_read(cpu, tr->base + a, 4, ACC_R | ACC_SYS);
		*ss = (uint16_t)lin_read(cpu, tr->base + a + 4, 2, ACC_R | ACC_SYS);
	} else {
		uint32_t a = (uint32_t)dpl * 4 + 2;
		if (a + 3 > tr->limit)
			cpu_raise(cpu, EXC_TS, 1, tr->sel & 0xfffcu);
		*esp = lin_read(cpu, tr->base + a, 2, ACC_R | ACC_SYS);
		*ss = (uint16_t)lin_read(cpu, tr->base + a + 2, 2, ACC_R | ACC_SYS);
	}
}

void stack_check_new(struct cpu *cpu, uint16_t ss, int dpl, struct desc *d)
{
	/* CALL (MORE-PRIVILEGE) and INT (INTER-PRIVILEGE-LEVEL-INTERRUPT)
	 * pseudo-code: the new stack's checks raise #TS(SS), not #GP. */
	uint32_t err = ss & 0xfffcu;
	if (sel_null(ss))
		cpu_raise(cpu, EXC_TS, 1, 0);
	if (desc_read(cpu, ss, d) < 0 || (ss & 3) != dpl)
		cpu_raise(cpu, EXC_TS, 1, err);
	if (desc_dpl(d) != dpl || !desc_writable_data(d))
		cpu_raise(cpu, EXC_TS, 1, err);
	if (!desc_present(d))
		cpu_raise(cpu, EXC_SS, 1, err);
}

void frame_cur(struct cpu *cpu, struct frame *f)
{
	const struct seg *sg = &cpu->seg[S_SS];
	f->base = sg->base;
	f->lo = sg->lo;
	f->hi = sg->hi;
	f->ok = (sg->ok & SEG_OK_WRITE) != 0;
	f->mask = sp_mask(cpu);
	f->esp = cpu->r[R_ESP];
	f->sp = f->esp & f->mask;
	f->acc = 0; /* at the current privilege level */
	f->err = 0; /* same-level stack overflow: #SS(0) */
	f->n = 0;
}

void frame_new(struct frame *f, const struct desc *ssd, uint16_t ss, uint32_t esp, int cpl)
{
	struct seg tmp;
	seg_set_cache(&tmp, ss, desc_base(ssd), desc_limit(ssd), desc_attr(ssd));
	f->base = tmp.base;
	f->lo = tmp.lo;
	f->hi = tmp.hi;
	f->ok = (tmp.ok & SEG_OK_WRITE) != 0;
	f->mask = (tmp.attr & SEGA_DB) ? 0xffffffffu : 0xffffu;
	f->esp = esp;
	f->sp = esp & f->mask;
	/* Writes to an inner ring's stack are supervisor accesses even
	 * though CPL has not changed yet. */
	f->acc = cpl < 3 ? ACC_SYS : 0;
	f->err = ss & 0xfffcu; /* #SS(new SS) when it has no room */
	f->n = 0;
}

void frame_push(struct frame *f, int size, uint32_t v)
{
	f->sp = (f->sp - (uint32_t)size) & f->mask;
	if (f->n < (int)(sizeof(f->w) / sizeof(f->w[0]))) {
		f->w[f->n].off = f->sp;
		f->w[f->n].size = (uint8_t)size;
		f->w[f->n].v = v;
		f->n++;
	}
}

void frame_check(struct cpu *cpu, struct frame *f)
{
	for (int i = 0; i < f->n; i++) {
		uint32_t off = f->w[i].off, last = off + f->w[i].size - 1;
		if (!f->ok || off < f->lo || last > f->hi || last < off)
			cpu_raise(cpu, EXC_SS, 1, f->err);
	}
	for (int i = 0; i < f->n; i++) {
		uint32_t lin = f->base + f->w[i].off;
		int acc = ACC_W | f->acc;
		if (tlb_hit(cpu, lin, f->w[i].size, acc))
			continue;
		mmu_translate(cpu, lin, acc);
		if ((lin & 0xfff) + f->w[i].size > 0x1000)
			mmu_translate(cpu, (lin | 0xfff) + 1, acc);
	}
}

uint32_t frame_write(struct cpu *cpu, struct frame *f)
{
	for (int i = 0; i < f->n; i++)
		lin_write(cpu, f->base + f->w[i].off, f->w[i].size, f->w[i].v, f->acc);
	return (f->esp & ~f->mask) | (f->sp & f->mask);
}

uint32_t frame_commit(struct cpu *cpu, struct frame *f)
{
	frame_check(cpu, f);
	return frame_write(cpu, f);
}
