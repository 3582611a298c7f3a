/* Segment register loads and segment limit checks (SDM Vol. 3, 5.5-5.7;
 * Vol. 2B, MOV and POP: the loads of DS/ES/FS/GS and SS). */
#include "conf.h"

#define TYPE_RO 0x0
#define TYPE_RW 0x2
#define TYPE_RW_DOWN 0x6
#define TYPE_XO 0x8
#define TYPE_XR 0xA
#define TYPE_XR_CONF 0xE
#define S_P 0x4090 /* S=1, P=1, D/B=1 */
#define S_NP 0x4010

static void ld(const char *name, int ring, const void *snip, u16 sel, int vec, int err)
{
	prep(ring, snip);
	in.ebx = sel;
	go();
	expect(name, vec, err, vec == VEC_DONE ? ANYEIP : (u32)snip);
}

/* Access [sel:off] from ring 3 through ES (loaded by the IRET). */
static void es_access(const char *name, const void *snip, u16 sel, u32 off, int vec, int err)
{
	prep(3, snip);
	in.es = sel;
	in.esi = off;
	go();
	expect(name, vec, err, vec == VEC_DONE ? ANYEIP : (u32)snip);
}

static void set_window(void)
{
	/* TEST_VA page 0: user, writable (see conf_paging for the rest) */
	u32 *pte = pte_of(kernel_pd, TEST_VA);
	*pte = (u32)test_page(0) | 7;
	invlpg(TEST_VA);
}

void conf_seg(void)
{
	u32 done_page = (u32)s_done & ~0xfffu;
	set_window();
	gdt_set(SC(0), seg_desc(0, 0xffffffff, TYPE_XO, 3, S_P));
	gdt_set(SC(1), seg_desc(0, 0xffffffff, TYPE_XR, 3, S_P));
	gdt_set(SC(2), seg_desc(0, 0xffffffff, TYPE_RW, 3, S_NP));
	gdt_set(SC(3), seg_desc(TEST_VA, 0xfff, TYPE_RO, 3, S_P));
	gdt_set(SC(4), seg_desc(TEST_VA, 0xfff, TYPE_RW, 3, S_P));
	gdt_set(SC(5), seg_desc(TEST_VA - 0x1000, 0xfff, TYPE_RW_DOWN, 3, S_P));
	gdt_set(SC(6), seg_desc(0, 0xffffffff, TYPE_XR_CONF, 0, S_P));
	gdt_set(SC(7), seg_desc(0, 0xffffffff, TYPE_RW, 3, S_NP));
	gdt_set(SC(8), seg_desc(0, 0xffffffff, TYPE_XR, 3, S_NP));
	gdt_set(SC(11), seg_desc(done_page, 0xfff, TYPE_XR, 3, S_P));

	/* data segment loads */
	ld("ring3 MOV DS, DPL0 data -> #GP(sel)", 3, s_ldds, SEL_KDATA, 13, SEL_KDATA);
	ld("ring3 MOV DS, its own data (GDT read from a supervisor page)", 3, s_ldds, SEL_UDATA | 3,
	   VEC_DONE, 0);
	ld("ring3 MOV DS, execute-only code -> #GP(sel)", 3, s_ldds, SC(0) | 3, 13, SC(0));
	ld("ring3 MOV DS, readable code -> allowed", 3, s_ldds, SC(1) | 3, VEC_DONE, 0);
	ld("ring3 MOV DS, not-present data -> #NP(sel)", 3, s_ldds, SC(2) | 3, 11, SC(2));
	ld("ring3 MOV DS, TSS descriptor -> #GP(sel)", 3, s_ldds, SEL_TSS | 3, 13, SEL_TSS);
	ld("ring3 MOV DS, selector past GDT limit -> #GP(sel)", 3, s_ldds, 0x3fb, 13, 0x3f8);
	ld("ring3 MOV DS, null selector -> allowed", 3, s_ldds, 0, VEC_DONE, 0);
	ld("ring3 MOV DS, LDT data (TI=1) -> allowed", 3, s_ldds, 0x0f, VEC_DONE, 0);
	ld("ring3 MOV DS, conforming readable DPL0 code -> allowed", 3, s_ldds, SC(6) | 3, VEC_DONE,
	   0);
	ld("ring1 MOV DS, DPL1 data with RPL3 -> #GP(sel)", 1, s_ldds, SEL_R1DATA | 3, 13, SEL_R1DATA);
	ld("ring1 MOV DS, DPL2 data -> allowed", 1, s_ldds, SEL_R2DATA | 1, VEC_DONE, 0);
	ld("ring2 MOV DS, DPL1 data -> #GP(sel)", 2, s_ldds, SEL_R1DATA | 2, 13, SEL_R1DATA);
	__asm__ volatile("lldt %0" : : "r"((u16)0));
	ld("ring3 MOV DS, TI=1 with a null LDTR -> #GP(sel)", 3, s_ldds, 0x0f, 13, 0x0c);
	__asm__ volatile("lldt %0" : : "r"((u16)SEL_LDT));
	prep(3, s_rd);
	in.ds = 0;
	in.esi = (u32)u_scratch;
	go();
	expect("ring3 read through null DS -> #GP(0)", 13, 0, (u32)s_rd);

	/* stack segment loads (SDM Vol. 2B, MOV: SS needs RPL = DPL = CPL, writable) */
	ld("ring3 MOV SS, null -> #GP(0)", 3, s_ldss, 0, 13, 0);
	ld("ring3 MOV SS, DPL2 data with RPL3 -> #GP(sel)", 3, s_ldss, SEL_R2DATA | 3, 13, SEL_R2DATA);
	ld("ring3 MOV SS, RPL1 != CPL -> #GP(sel)", 3, s_ldss, SEL_UDATA | 1, 13, SEL_UDATA);
	ld("ring3 MOV SS, read-only data -> #GP(sel)", 3, s_ldss, SC(3) | 3, 13, SC(3));
	ld("ring3 MOV SS, code -> #GP(sel)", 3, s_ldss, SC(1) | 3, 13, SC(1));
	ld("ring3 MOV SS, not present -> #SS(sel)", 3, s_ldss, SC(7) | 3, 12, SC(7));

	/* code segment loads by far JMP/CALL (SDM Vol. 3, 5.8.1-5.8.2) */
	u_scratch[8] = (u32)s_done;
	u_scratch[9] = SEL_KCODE;
	prep(3, s_ljmp);
	in.esi = (u32)&u_scratch[8];
	go();
	expect("ring3 JMP far to DPL0 non-conforming code -> #GP(sel)", 13, SEL_KCODE, (u32)s_ljmp);
	u_scratch[9] = SC(6) | 3;
	prep(3, s_ljmp);
	in.esi = (u32)&u_scratch[8];
	if (go() == VEC_DONE)
		check("ring3 JMP far to DPL0 conforming code: CPL stays 3", probe_out.f.cs == (SC(6) | 3),
		      SC(6) | 3, probe_out.f.cs);
	else
		expect("ring3 JMP far to DPL0 conforming code: CPL stays 3", VEC_DONE, 0, ANYEIP);
	u_scratch[9] = SC(8) | 3;
	prep(3, s_ljmp);
	in.esi = (u32)&u_scratch[8];
	go();
	expect("ring3 JMP far to not-present code -> #NP(sel)", 11, SC(8), (u32)s_ljmp);
	u_scratch[9] = SEL_UDATA | 3;
	prep(3, s_lcall);
	in.esi = (u32)&u_scratch[8];
	go();
	expect("ring3 CALL far to a data segment -> #GP(sel)", 13, SEL_UDATA, (u32)s_lcall);

	/* limits (SDM Vol. 3, 5.3): every byte of the access must be inside */
	es_access("ring3 read dword at limit-3 -> allowed", s_es_rd, SC(4) | 3, 0xffc, VEC_DONE, 0);
	es_access("ring3 read dword at limit-2 -> #GP(0)", s_es_rd, SC(4) | 3, 0xffd, 13, 0);
	es_access("ring3 read word straddling the limit -> #GP(0)", s_es_rdw, SC(4) | 3, 0xfff, 13, 0);
	es_access("ring3 expand-down: read above limit -> allowed", s_es_rd, SC(5) | 3, 0x1000,
		  VEC_DONE, 0);
	es_access("ring3 expand-down: read at limit -> #GP(0)", s_es_rd, SC(5) | 3, 0xfff, 13, 0);
	es_access("ring3 expand-down: read at offset 0 -> #GP(0)", s_es_rd, SC(5) | 3, 0, 13, 0);
	es_access("ring3 read-only data: read -> allowed", s_es_rd, SC(3) | 3, 0x10, VEC_DONE, 0);
	es_access("ring3 read-only data: write -> #GP(0)", s_es_wr, SC(3) | 3, 0x10, 13, 0);
	prep(3, s_cs_wr);
	in.esi = (u32)u_scratch;
	go();
	expect("ring3 write through CS -> #GP(0)", 13, 0, (u32)s_cs_wr);

	prep(3, s_ss_push);
	in.ebx = SC(4) | 3;
	in.esi = 0x1002;
	go();
	expect("ring3 push past SS limit -> #SS(0)", 12, 0, (u32)s_ss_push2 - 1);
	prep(3, s_ss_push);
	in.ebx = SC(5) | 3;
	in.esi = 0x1004;
	go();
	expect("ring3 expand-down SS: second push below limit -> #SS(0)", 12, 0, (u32)s_ss_push2);

	u_scratch[8] = 0x2000;
	u_scratch[9] = SC(11) | 3;
	prep(3, s_ljmp);
	in.esi = (u32)&u_scratch[8];
	go();
	expect("ring3 JMP far past the CS limit -> #GP(0)", 13, 0, (u32)s_ljmp);
	u_scratch[8] = (u32)s_done - done_page;
	prep(3, s_ljmp);
	in.esi = (u32)&u_scratch[8];
	if (go() == VEC_DONE)
		check("ring3 JMP far inside a 4 KiB code segment: runs with CS=sel",
		      probe_out.f.cs == (SC(11) | 3), SC(11) | 3, probe_out.f.cs);
	else
		expect("ring3 JMP far inside a 4 KiB code segment: runs with CS=sel", VEC_DONE, 0,
		       ANYEIP);
}
