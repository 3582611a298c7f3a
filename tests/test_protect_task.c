/* Hardware task switching (SDM Vol. 3, 7.3-7.4): JMP and CALL to a TSS,
 * INT and exceptions through task gates, IRET with NT = 1; busy bits,
 * NT and the back link, the state saved in the old TSS, CR0.TS, and the
 * faults of a switch (busy TSS, short TSS, not present, bad segments in
 * the new task, raised in its context). */
#include "test_protect_util.h"

#define STOP(n) " mov $(0x100 + " #n "), %eax\n out %eax, $0xf4\n jmp 1f\n1:\n"

SNIP32(jmp_b, " mov $0x1234, %ebx\n ljmp $0x50, $0\n int $0x40\n")
SNIP32(b_jmp_back, STOP(0xb0) " ljmp $0x48, $0\n")
SNIP32(call_b, " mov $0x1234, %ebx\n lcall $0x50, $0\n int $0x40\n")
SNIP32(b_iret, STOP(0xb0) " iret\n")
SNIP32(int47, " int $0x47\n int $0x40\n")
SNIP32(int43, " int $0x43\n")
SNIP32(c_stop, STOP(0xc0))
SNIP32(jmp_main, " ljmp $0x48, $0\n")
SNIP32(jmp_b3, " ljmp $0x53, $0\n")
/* 0x400000 maps to a different page in each task's directory: reading it
 * before and after the switch shows which CR3 translates. */
SNIP32(jmp_b_win, " mov 0x400000, %edx\n mov $0x1234, %ebx\n ljmp $0x50, $0\n int $0x40\n")
SNIP32(b_win_back, " mov 0x400000, %ecx\n" STOP(0xb0) " ljmp $0x48, $0\n")
SNIP32(call_b3, " lcall $0x53, $0\n")

#define GATE_SEL FREE_SEL

static void at_ring(int r, const unsigned char *s, const unsigned char *e)
{
	h_load(&H, CODE, s, (size_t)(e - s));
	pm_ring(r, CODE, ring_stack[r]);
}
#define AT(r, snip) at_ring(r, snip##_start, snip##_end)

static void t_jmp(void)
{
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	LOAD(b_jmp_back, CODE + 0x100);
	AT(0, jmp_b);
	int v = run();
	CHECK(v == 0xb0, "JMP to TSS B: %d", v);
	CHECK(H.cpu.tr.sel == TSS_B_SEL && H.cpu.r[R_ESP] == 0x60000, "TR %04x ESP %08x", H.cpu.tr.sel,
	      H.cpu.r[R_ESP]);
	CHECK(!(H.cpu.eflags & FL_NT), "NT set by JMP");
	CHECK(gdt_type(TSS_B_SEL) == 0xb && gdt_type(TSS_MAIN_SEL) == 0x9, "busy: B %x main %x",
	      gdt_type(TSS_B_SEL), gdt_type(TSS_MAIN_SEL));
	CHECK(rd32(TSS_MAIN + 0x20) == CODE + 12, "saved EIP %08x", rd32(TSS_MAIN + 0x20));
	CHECK(rd32(TSS_MAIN + 0x34) == 0x1234, "saved EBX %08x", rd32(TSS_MAIN + 0x34));
	CHECK(rd32(TSS_MAIN + 0x38) == 0x80000 && rd16(TSS_MAIN + 0x4c) == K_CS, "saved ESP %08x CS %04x",
	      rd32(TSS_MAIN + 0x38), rd16(TSS_MAIN + 0x4c));
	CHECK(H.cpu.cr0 & CR0_TS, "CR0.TS not set");
	CHECK(rd16(TSS_B) == 0, "JMP wrote a back link %04x", rd16(TSS_B));
	v = run();
	CHECK(v == DONE, "JMP back: %d", v);
	CHECK(H.cpu.tr.sel == TSS_MAIN_SEL && H.cpu.r[R_EBX] == 0x1234, "TR %04x EBX %08x", H.cpu.tr.sel,
	      H.cpu.r[R_EBX]);
	CHECK(gdt_type(TSS_B_SEL) == 0x9 && gdt_type(TSS_MAIN_SEL) == 0xb, "busy after: B %x main %x",
	      gdt_type(TSS_B_SEL), gdt_type(TSS_MAIN_SEL));
}

static void t_call_iret(void)
{
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	LOAD(b_iret, CODE + 0x100);
	AT(0, call_b);
	int v = run();
	CHECK(v == 0xb0, "CALL to TSS B: %d", v);
	CHECK(H.cpu.eflags & FL_NT, "NT clear after CALL");
	CHECK(rd16(TSS_B) == TSS_MAIN_SEL, "back link %04x", rd16(TSS_B));
	CHECK(gdt_type(TSS_B_SEL) == 0xb && gdt_type(TSS_MAIN_SEL) == 0xb, "busy: B %x main %x",
	      gdt_type(TSS_B_SEL), gdt_type(TSS_MAIN_SEL));
	v = run();
	CHECK(v == DONE, "IRET back: %d", v);
	CHECK(H.cpu.tr.sel == TSS_MAIN_SEL && !(H.cpu.eflags & FL_NT), "TR %04x EFLAGS %08x", H.cpu.tr.sel,
	      H.cpu.eflags);
	CHECK(gdt_type(TSS_B_SEL) == 0x9 && gdt_type(TSS_MAIN_SEL) == 0xb, "busy after IRET: B %x main %x",
	      gdt_type(TSS_B_SEL), gdt_type(TSS_MAIN_SEL));
	CHECK(rd32(TSS_B + 0x24) == FL_1, "IRET saved B's EFLAGS with NT: %08x", rd32(TSS_B + 0x24));
	CHECK(H.cpu.r[R_EBX] == 0x1234, "EBX %08x", H.cpu.r[R_EBX]);
}

static void t_task_gates(void)
{
	/* INT n through a DPL 3 task gate from ring 3, IRET back. */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	set_idt(0x47, mkgate(TSS_B_SEL, 0, 0x5, 3, 1, 0));
	LOAD(b_iret, CODE + 0x100);
	AT(3, int47);
	int v = run();
	CHECK(v == 0xb0, "INT through a task gate: %d", v);
	CHECK(rd16(TSS_B) == TSS_MAIN_SEL && (H.cpu.eflags & FL_NT), "link %04x EFLAGS %08x", rd16(TSS_B),
	      H.cpu.eflags);
	CHECK(rd16(TSS_MAIN + 0x4c) == U_CS && rd32(TSS_MAIN + 0x20) == CODE + 2, "saved CS:EIP %04x:%08x",
	      rd16(TSS_MAIN + 0x4c), rd32(TSS_MAIN + 0x20));
	v = run();
	CHECK(v == DONE && H.cpu.cpl == 0, "back at ring 3 then INT: %d", v);
	CHECK(stk(1) == U_CS && stk(0) == CODE + 4, "ring 3 frame %x:%x", stk(1), stk(0));

	/* An exception through a task gate: error code on the new stack. */
	pm_setup();
	tss32_init(TSS_C, CODE + 0x200, 0x68000, 0);
	set_idt(EXC_GP, mkgate(TSS_C_SEL, 0, 0x5, 0, 1, 0));
	LOAD(c_stop, CODE + 0x200);
	AT(3, int43);
	v = run();
	CHECK(v == 0xc0, "#GP through a task gate: %d", v);
	CHECK(H.cpu.r[R_ESP] == 0x68000 - 4 && stk(0) == 0x43 * 8 + 2, "ESP %08x error %08x", H.cpu.r[R_ESP],
	      stk(0));
	CHECK(rd16(TSS_C) == TSS_MAIN_SEL && rd32(TSS_MAIN + 0x20) == CODE, "link %04x faulting EIP %08x",
	      rd16(TSS_C), rd32(TSS_MAIN + 0x20));

	/* A GDT task gate reached by JMP. */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	set_gdt(GATE_SEL, mkgate(TSS_B_SEL, 0, 0x5, 0, 1, 0));
	LOAD(b_jmp_back, CODE + 0x100);
	AT(0, jmp_b);
	wr16(CODE + 10, GATE_SEL); /* patch the ljmp selector */
	v = run();
	CHECK(v == 0xb0 && H.cpu.tr.sel == TSS_B_SEL, "JMP task gate: %d TR %04x", v, H.cpu.tr.sel);
}

static void t_faults(void)
{
	/* JMP to the running (busy) task: #GP(sel). */
	pm_setup();
	AT(0, jmp_main);
	EXPECT_EXC(EXC_GP, TSS_MAIN_SEL);
	/* CALL at ring 3 to a DPL 0 TSS: #GP(sel). */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	AT(3, call_b3);
	EXPECT_EXC(EXC_GP, TSS_B_SEL);
	/* TSS limit below 0x67: #TS(sel). */
	pm_setup();
	set_gdt(TSS_B_SEL, mksys(TSS_B, 0x60, 0x9, 3, 1));
	AT(3, jmp_b3);
	EXPECT_EXC(EXC_TS, TSS_B_SEL);
	CHECK(H.cpu.tr.sel == TSS_MAIN_SEL && gdt_type(TSS_MAIN_SEL) == 0xb, "switch happened");
	/* Not present: #NP(sel). */
	pm_setup();
	set_gdt(TSS_B_SEL, mksys(TSS_B, 0x67, 0x9, 3, 0));
	AT(3, jmp_b3);
	EXPECT_EXC(EXC_NP, TSS_B_SEL);
	/* A bad CS in the new task: #TS(CS) in the new task's context,
	 * handled here by a #TS task gate (7.3, Table 7-1). */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	wr32(TSS_B + 0x4c, K_DS);
	tss32_init(TSS_C, CODE + 0x200, 0x68000, 0);
	set_idt(EXC_TS, mkgate(TSS_C_SEL, 0, 0x5, 0, 1, 0));
	LOAD(c_stop, CODE + 0x200);
	AT(0, jmp_b);
	int v = run();
	CHECK(v == 0xc0, "bad CS in the new task: %d", v);
	CHECK(stk(0) == K_DS, "#TS error %08x", stk(0));
	CHECK(rd16(TSS_C) == TSS_B_SEL, "the fault belongs to task B: link %04x", rd16(TSS_C));
	CHECK(rd32(TSS_B + 0x20) == CODE + 0x100, "B's saved EIP %08x", rd32(TSS_B + 0x20));
	CHECK(gdt_type(TSS_MAIN_SEL) == 0x9, "main freed by the JMP: %x", gdt_type(TSS_MAIN_SEL));
	/* A new task whose SS is not writable: #TS(SS). */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	wr32(TSS_B + 0x50, U_DS);
	tss32_init(TSS_C, CODE + 0x200, 0x68000, 0);
	set_idt(EXC_TS, mkgate(TSS_C_SEL, 0, 0x5, 0, 1, 0));
	LOAD(c_stop, CODE + 0x200);
	AT(0, jmp_b);
	v = run();
	CHECK(v == 0xc0 && stk(0) == (U_DS & ~3), "bad SS in the new task: %d error %08x", v, stk(0));
}

static void t_ldt_cr3(void)
{
	/* The new task's LDT is loaded before its segments, which may come
	 * from it; a bad LDT selector is #TS(LDT) in the new task. */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	set_gdt(0x78, mksys(0x3a00, 0x0f, 0x2, 0, 1)); /* a second LDT */
	memset(H.ram + 0x3a00, 0, 16);
	uint64_t d = mkseg(0x2000, 0xffff, 0x3, 0, 1, 0x4);
	memcpy(H.ram + 0x3a08, &d, 8);
	wr32(TSS_B + 0x60, 0x78);
	wr32(TSS_B + 0x54, 0x0c); /* DS from the new LDT */
	LOAD(b_jmp_back, CODE + 0x100);
	AT(0, jmp_b);
	int v = run();
	CHECK(v == 0xb0, "JMP to a task with its own LDT: %d", v);
	CHECK(H.cpu.ldtr.sel == 0x78 && H.cpu.ldtr.base == 0x3a00, "LDTR %04x base %x", H.cpu.ldtr.sel,
	      H.cpu.ldtr.base);
	CHECK(H.cpu.seg[S_DS].sel == 0x0c && H.cpu.seg[S_DS].base == 0x2000, "DS %04x base %x",
	      H.cpu.seg[S_DS].sel, H.cpu.seg[S_DS].base);
	CHECK(rd16(TSS_MAIN + 0x60) == 0, "the old TSS's LDT field is not saved: %04x", rd16(TSS_MAIN + 0x60));
	/* bad LDT selector */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	wr32(TSS_B + 0x60, TSS_C_SEL);
	tss32_init(TSS_C, CODE + 0x200, 0x68000, 0);
	set_idt(EXC_TS, mkgate(TSS_C_SEL, 0, 0x5, 0, 1, 0));
	LOAD(c_stop, CODE + 0x200);
	AT(0, jmp_b);
	v = run();
	CHECK(v == 0xc0 && stk(0) == TSS_C_SEL, "bad LDT in the new task: %d error %08x", v, stk(0));
	/* CR3 is loaded from the new TSS when paging is on, and translates
	 * from then on: the two directories map the low 4 MiB alike but
	 * linear 0x400000 to different pages (0x104000 holding A's word,
	 * 0x105000 B's), and the old task reads it first so its translation
	 * is cached. */
	pm_setup();
	uint32_t pd = 0x100000, pd_b = 0x101000, pt = 0x102000, pt_b = 0x103000;
	memset(H.ram + pd, 0, 0x4000);
	wr32(pd, 0x87); /* 4 MiB identity page */
	wr32(pd_b, 0x87);
	wr32(pd + 4, pt | 7);
	wr32(pd_b + 4, pt_b | 7);
	wr32(pt, 0x104000 | 7);
	wr32(pt_b, 0x105000 | 7);
	wr32(0x104000, 0xaaaa0001u);
	wr32(0x105000, 0xbbbb0002u);
	H.cpu.cr4 |= CR4_PSE;
	H.cpu.cr3 = pd;
	H.cpu.cr0 |= CR0_PG;
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	wr32(TSS_B + 0x1c, pd_b);
	LOAD(b_win_back, CODE + 0x100);
	AT(0, jmp_b_win);
	v = run();
	CHECK(v == 0xb0 && H.cpu.cr3 == pd_b, "CR3 after the switch: %08x", H.cpu.cr3);
	/* the old task's EDX is in its TSS now */
	CHECK(rd32(TSS_MAIN + 0x30) == 0xaaaa0001u && H.cpu.r[R_ECX] == 0xbbbb0002u,
	      "0x400000 read %08x before the switch, %08x after (want aaaa0001, bbbb0002)",
	      rd32(TSS_MAIN + 0x30), H.cpu.r[R_ECX]);
}

static void t_trap_bit(void)
{
	/* The T flag of the new TSS: #DB before the task's first
	 * instruction, DR6.BT set (SDM Vol. 3, 7.2.1, 17.2.3). */
	pm_setup();
	tss32_init(TSS_B, CODE + 0x100, 0x60000, 0);
	wr16(TSS_B + 0x64, 1);
	LOAD(b_jmp_back, CODE + 0x100);
	AT(0, jmp_b);
	int v = run();
	CHECK(v == EXC_DB, "T flag: vector %d", v);
	CHECK(stk(0) == CODE + 0x100 && H.cpu.tr.sel == TSS_B_SEL, "#DB at %08x in TR %04x", stk(0),
	      H.cpu.tr.sel);
	CHECK(H.cpu.dr[6] & 0x8000, "DR6 %08x: BT clear", H.cpu.dr[6]);
}

static void t_tss16(void)
{
	/* A 16-bit TSS (type 1, Figure 7-11): IP, FLAGS, AX..DI, ES CS SS
	 * DS, LDT; no FS/GS. JMP there and back. */
	pm_setup();
	set_gdt(TSS_B_SEL, mksys(TSS_B, 0x2b, 0x1, 0, 1));
	memset(H.ram + TSS_B, 0, 0x2c);
	wr16(TSS_B + 0x0e, 0x0100);          /* IP: CS base 0x10000 + 0x100 = CODE + 0x100 */
	wr16(TSS_B + 0x10, FL_1 | FL_CF);    /* FLAGS */
	wr16(TSS_B + 0x12 + 2 * R_EBX, 0x4321);
	wr16(TSS_B + 0x12 + 2 * R_ESP, 0x7000);
	wr16(TSS_B + 0x22, K_DS);
	wr16(TSS_B + 0x24, FREE_SEL);        /* a code segment based at 0x10000 */
	wr16(TSS_B + 0x26, K_DS);
	wr16(TSS_B + 0x28, K_DS);
	set_gdt(FREE_SEL, mkseg(0x10000, 0xffff, 0xb, 0, 1, 0x4));
	LOAD(b_jmp_back, CODE + 0x100);
	AT(0, jmp_b);
	H.cpu.r[R_EBX] = 0xaaaa0000;
	int v = run();
	CHECK(v == 0xb0, "JMP to a 16-bit TSS: %d", v);
	CHECK(H.cpu.tr.sel == TSS_B_SEL && gdt_type(TSS_B_SEL) == 0x3, "TR %04x type %x", H.cpu.tr.sel,
	      gdt_type(TSS_B_SEL));
	CHECK((H.cpu.r[R_ESP] & 0xffff) == 0x7000 && (H.cpu.eflags & FL_CF), "SP %08x FLAGS %08x",
	      H.cpu.r[R_ESP], H.cpu.eflags);
	CHECK(H.cpu.seg[S_CS].sel == FREE_SEL && H.cpu.seg[S_FS].sel == 0, "CS %04x FS %04x",
	      H.cpu.seg[S_CS].sel, H.cpu.seg[S_FS].sel);
	v = run();
	CHECK(v == DONE && H.cpu.tr.sel == TSS_MAIN_SEL, "back from the 16-bit task: %d", v);
	CHECK(rd16(TSS_B + 0x0e) == 0x100 + 16 && rd16(TSS_B + 0x24) == FREE_SEL, "saved IP %04x CS %04x",
	      rd16(TSS_B + 0x0e), rd16(TSS_B + 0x24));
	CHECK(gdt_type(TSS_B_SEL) == 0x1, "16-bit TSS not freed: %x", gdt_type(TSS_B_SEL));
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_jmp();
	t_call_iret();
	t_task_gates();
	t_faults();
	t_tss16();
	t_trap_bit();
	t_ldt_cr3();
	return finish("protect task");
}
