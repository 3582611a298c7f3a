/* Gates and privilege changes (SDM Vol. 3, 5.8, 6.10-6.15; CALL, RET,
 * IRET, INT n pseudo-code): call gates with parameter copy and the TSS
 * stack switch, RETF/IRET to outer rings with data segments nulled,
 * interrupt vs trap gates, inter-privilege interrupt frames, gate DPL,
 * not-present gates, the IDT limit, EXT, double and triple faults. */
#include "test_protect_util.h"

/* A ring 0 stop that lets the code after it run on the next run(). */
#define STOP(n) " mov $(0x100 + " #n "), %eax\n out %eax, $0xf4\n jmp 1f\n1:\n"

SNIP32(gcall3, " push $0x11111111\n push $0x22222222\n lcall $0x6b, $0\n int $0x40\n")
SNIP32(gtarget0, STOP(0xf0) " mov $0x10, %ax\n mov %ax, %ds\n mov %ax, %fs\n lret $8\n")
SNIP32(gjmp3, " ljmp $0x6b, $0\n")
SNIP32(lret0, " lret\n")
SNIP32(iret0, " iret\n")
SNIP32(done3, " int $0x40\n")
SNIP32(int41, " int $0x41\n")
SNIP32(int42, " int $0x42\n")
SNIP32(int43, " int $0x43\n")
SNIP32(int44, " int $0x44\n")
SNIP32(int46, " int $0x46\n")
SNIP32(int50, " int $0x50\n")
SNIP32(icebp, " .byte 0xf1\n")
SNIP32(int3, " int3\n")
SNIP32(gcall16_3, " pushw $0x1111\n pushw $0x2222\n pushw $0x3333\n lcall $0x6b, $0\n int $0x40\n")
SNIP32(ud2, " ud2\n")
SNIP32(nops, " nop\n nop\n jmp 1f\n1: nop\n int $0x40\n")

#define GATE_SEL FREE_SEL /* 0x68 */
#define SMALL_SS 0x70

static void at_ring(int r, const unsigned char *s, const unsigned char *e)
{
	h_load(&H, CODE, s, (size_t)(e - s));
	pm_ring(r, CODE, ring_stack[r]);
}
#define AT(r, snip) at_ring(r, snip##_start, snip##_end)

static void t_call_gate(void)
{
	/* 5.8.5: ring 3 -> ring 0 through a DPL 3 gate copying 2 dwords. */
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, CODE + 0x100, 0xc, 3, 1, 2));
	LOAD(gtarget0, CODE + 0x100);
	AT(3, gcall3);
	int v = run();
	CHECK(v == 0xf0, "call gate: stopped by %d", v);
	CHECK(H.cpu.seg[S_CS].sel == K_CS && H.cpu.cpl == 0, "CS %04x CPL %d", H.cpu.seg[S_CS].sel, H.cpu.cpl);
	CHECK(H.cpu.seg[S_SS].sel == K_DS, "SS %04x (TSS.SS0)", H.cpu.seg[S_SS].sel);
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 24, "ESP %08x (TSS.ESP0 - 24)", H.cpu.r[R_ESP]);
	/* Figure 5-13: EIP, CS, params (in the caller's order), ESP, SS. */
	CHECK(stk(0) == CODE + 17, "pushed EIP %08x", stk(0));
	CHECK(stk(1) == U_CS, "pushed CS %08x", stk(1));
	CHECK(stk(2) == 0x22222222 && stk(3) == 0x11111111, "params %08x %08x", stk(2), stk(3));
	CHECK(stk(4) == 0x50000 - 8, "pushed ESP %08x", stk(4));
	CHECK(stk(5) == U_DS, "pushed SS %08x", stk(5));
	/* RET 8 back to ring 3: params released on both stacks, DS/FS
	 * (DPL 0) nulled, ES (DPL 3) kept. */
	v = run();
	CHECK(v == DONE, "return from the gate: %d", v);
	CHECK(H.cpu.seg[S_DS].sel == 0 && H.cpu.seg[S_FS].sel == 0, "DS %04x FS %04x not nulled",
	      H.cpu.seg[S_DS].sel, H.cpu.seg[S_FS].sel);
	CHECK(H.cpu.seg[S_ES].sel == U_DS, "ES %04x", H.cpu.seg[S_ES].sel);
	CHECK(stk(1) == U_CS && stk(3) == 0x50000 && stk(4) == U_DS, "ring 3 after RET: CS %x ESP %x SS %x",
	      stk(1), stk(3), stk(4));

	/* The gate's checks. */
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, CODE + 0x100, 0xc, 0, 1, 2));
	AT(3, gcall3);
	EXPECT_EXC(EXC_GP, GATE_SEL);
	CHECK(stk(1) == CODE + 10 && stk(2) == U_CS, "fault frame EIP %08x CS %08x", stk(1), stk(2));
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, CODE + 0x100, 0xc, 3, 0, 2));
	AT(3, gcall3);
	EXPECT_EXC(EXC_NP, GATE_SEL);
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, CODE + 0x100, 0xc, 3, 1, 2));
	AT(3, gjmp3); /* JMP never changes privilege: #GP(code selector) */
	EXPECT_EXC(EXC_GP, K_CS);
	pm_setup();
	set_gdt(GATE_SEL, mkgate(0x200, CODE + 0x100, 0xc, 3, 1, 2));
	AT(3, gcall3);
	EXPECT_EXC(EXC_GP, 0x200);
	/* The new stack (CALL pseudo-code MORE-PRIVILEGE): #TS, #SS(sel). */
	pm_setup();
	/* (to ring 1, so that the #TS handler's own ring 0 stack is sound) */
	set_gdt(GATE_SEL, mkgate(R1_CS, CODE + 0x100, 0xc, 3, 1, 2));
	wr32(TSS_MAIN + 0x10, 0);
	AT(3, gcall3);
	EXPECT_EXC(EXC_TS, 0);
	pm_setup();
	set_gdt(GATE_SEL, mkgate(R1_CS, CODE + 0x100, 0xc, 3, 1, 2));
	wr32(TSS_MAIN + 0x10, R2_DS & ~3); /* RPL 0 != DPL 1 */
	AT(3, gcall3);
	EXPECT_EXC(EXC_TS, R2_DS & ~3);
	pm_setup();
	set_gdt(GATE_SEL, mkgate(R1_CS, CODE + 0x100, 0xc, 3, 1, 2));
	wr32(TSS_MAIN + 0x10, (R2_DS & ~3) | 1); /* DPL 2 stack for ring 1 */
	AT(3, gcall3);
	EXPECT_EXC(EXC_TS, R2_DS & ~3);
	/* No room on the new stack for 3 params + 16 bytes: #SS(new SS).
	 * The #SS itself (24 bytes) fits on that stack. */
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, CODE + 0x100, 0xc, 3, 1, 3));
	set_gdt(SMALL_SS, mkseg(0, 0xfff, 0x3, 0, 1, 0x4)); /* 4 KiB 32-bit stack */
	wr32(TSS_MAIN + 8, SMALL_SS);
	wr32(TSS_MAIN + 4, 24);
	AT(3, gcall3);
	EXPECT_EXC(EXC_SS, SMALL_SS);
	CHECK(H.cpu.seg[S_SS].sel == SMALL_SS && H.cpu.r[R_ESP] == 0, "SS:ESP %04x:%08x",
	      H.cpu.seg[S_SS].sel, H.cpu.r[R_ESP]);
	CHECK(stk(1) == CODE + 10 && stk(2) == U_CS && stk(4) == 0x50000 - 8, "#SS frame %x %x %x", stk(1),
	      stk(2), stk(4));
}

static void t_call_gate16(void)
{
	/* A 16-bit call gate copies words and pushes a 16-bit frame: SS, SP,
	 * the 3 parameters, CS, IP (Figure 5-13 with 2-byte slots). */
	pm_setup();
	set_gdt(GATE_SEL, mkgate(K_CS, 0x8f00, 0x4, 3, 1, 3));
	LOAD(gtarget0, 0x8f00);
	AT(3, gcall16_3);
	int v = run();
	CHECK(v == 0xf0, "16-bit call gate: %d", v);
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 14, "ESP %08x", H.cpu.r[R_ESP]);
	uint32_t b = 0x80000 - 14;
	CHECK(rd16(b) == ((CODE + 19) & 0xffff) && rd16(b + 2) == U_CS, "return %04x:%04x", rd16(b + 2), rd16(b));
	CHECK(rd16(b + 4) == 0x3333 && rd16(b + 6) == 0x2222 && rd16(b + 8) == 0x1111, "params %04x %04x %04x",
	      rd16(b + 4), rd16(b + 6), rd16(b + 8));
	CHECK(rd16(b + 10) == ((0x50000 - 6) & 0xffff) && rd16(b + 12) == U_DS, "old SS:SP %04x:%04x",
	      rd16(b + 12), rd16(b + 10));
	/* A gate to conforming code keeps the level: no stack switch. */
	pm_setup();
	set_gdt(0x70, mkseg(0, 0xfffff, 0xe, 0, 1, 0xc)); /* conforming DPL 0 */
	set_gdt(GATE_SEL, mkgate(0x70, CODE + 0x100, 0xc, 3, 1, 2));
	LOAD(done3, CODE + 0x100);
	AT(3, gcall3);
	v = run();
	CHECK(v == DONE, "call gate to conforming code: %d", v);
	/* INT frame from ring 3: the call pushed EIP, CS on the ring 3 stack. */
	CHECK(stk(1) == (0x70 | 3) && stk(3) == 0x50000 - 16, "ran at CS %04x, ESP %08x", stk(1), stk(3));
	CHECK(rd32(0x50000 - 16) == CODE + 17 && rd32(0x50000 - 12) == U_CS, "same-level call frame %x %x",
	      rd32(0x50000 - 16), rd32(0x50000 - 12));
}

static void t_ret_iret_outer(void)
{
	/* RET far from ring 0 to ring 3: DS/GS (DPL 0 data) nulled, ES (DPL
	 * 3) kept, FS (conforming code) kept. */
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0xe, 0, 1, 0xc)); /* conforming readable */
	AT(0, lret0);
	LOAD(done3, CODE + 0x100);
	cache_load(S_ES, U_DS);
	cache_load(S_FS, FREE_SEL);
	uint32_t sp = 0x80000 - 16;
	wr32(sp, CODE + 0x100);
	wr32(sp + 4, U_CS);
	wr32(sp + 8, 0x4ff0);
	wr32(sp + 12, U_DS);
	H.cpu.r[R_ESP] = sp;
	int v = run();
	CHECK(v == DONE, "RETF to ring 3: %d", v);
	CHECK(stk(1) == U_CS && stk(3) == 0x4ff0 && stk(4) == U_DS, "arrived CS %x ESP %x SS %x", stk(1), stk(3),
	      stk(4));
	CHECK(H.cpu.seg[S_DS].sel == 0 && H.cpu.seg[S_GS].sel == 0, "DS %04x GS %04x", H.cpu.seg[S_DS].sel,
	      H.cpu.seg[S_GS].sel);
	CHECK(H.cpu.seg[S_ES].sel == U_DS && H.cpu.seg[S_FS].sel == FREE_SEL, "ES %04x FS %04x",
	      H.cpu.seg[S_ES].sel, H.cpu.seg[S_FS].sel);
	/* Outer stack with RPL != return RPL: #GP(SS). */
	pm_setup();
	AT(0, lret0);
	wr32(sp, CODE + 0x100);
	wr32(sp + 4, U_CS);
	wr32(sp + 8, 0x4ff0);
	wr32(sp + 12, R2_DS);
	H.cpu.r[R_ESP] = sp;
	EXPECT_EXC(EXC_GP, R2_DS & ~3);
	CHECK(H.cpu.cpl == 0 && stk(2) == K_CS, "fault at ring 0: CS %08x", stk(2));
	/* RET to an inner ring: #GP(CS). */
	pm_setup();
	AT(3, lret0);
	wr32(0x50000 - 8, CODE);
	wr32(0x50000 - 4, K_CS);
	H.cpu.r[R_ESP] = 0x50000 - 8;
	EXPECT_EXC(EXC_GP, K_CS);

	/* IRET from ring 0 to ring 3: IOPL and IF from the image (CPL 0). */
	pm_setup();
	AT(0, iret0);
	LOAD(done3, CODE + 0x100);
	sp = 0x80000 - 20;
	wr32(sp, CODE + 0x100);
	wr32(sp + 4, U_CS);
	wr32(sp + 8, FL_1 | FL_IF | FL_IOPL | FL_CF);
	wr32(sp + 12, 0x4000);
	wr32(sp + 16, U_DS);
	H.cpu.r[R_ESP] = sp;
	v = run();
	CHECK(v == DONE, "IRET to ring 3: %d", v);
	CHECK(stk(2) == (FL_1 | FL_IF | FL_IOPL | FL_CF), "ring 3 EFLAGS %08x", stk(2));
	CHECK(stk(3) == 0x4000 && stk(4) == U_DS, "ring 3 SS:ESP %x:%x", stk(4), stk(3));
	CHECK(H.cpu.seg[S_DS].sel == 0, "DS %04x not nulled", H.cpu.seg[S_DS].sel);
	/* IRET at ring 3 (IOPL 0): IF and IOPL in the image are ignored. */
	pm_setup();
	AT(3, iret0);
	LOAD(done3, CODE + 0x100);
	sp = 0x50000 - 12;
	wr32(sp, CODE + 0x100);
	wr32(sp + 4, U_CS);
	wr32(sp + 8, FL_1 | FL_IF | FL_IOPL | FL_ZF);
	H.cpu.r[R_ESP] = sp;
	v = run();
	CHECK(v == DONE, "IRET at ring 3: %d", v);
	CHECK(stk(2) == (FL_1 | FL_ZF), "EFLAGS %08x: IF/IOPL must stay 0", stk(2));
}

static void t_interrupt_gates(void)
{
	/* 6.12.1.2: interrupt gates clear IF, trap gates leave it; both
	 * clear TF and NT. */
	pm_setup();
	set_idt(0x41, mkgate(K_CS, STUBS + 16 * 0x41, 0xf, 0, 1, 0)); /* trap gate */
	AT(0, int41);
	H.cpu.eflags |= FL_IF | FL_NT;
	int v = run();
	CHECK(v == 0x41, "trap gate: %d", v);
	CHECK((H.cpu.eflags & FL_IF) && !(H.cpu.eflags & FL_NT), "trap gate EFLAGS %08x", H.cpu.eflags);
	CHECK(stk(0) == CODE + 2 && stk(1) == K_CS && stk(2) == (FL_1 | FL_IF | FL_NT), "frame %x %x %x", stk(0),
	      stk(1), stk(2));
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 12, "same-level frame: ESP %08x", H.cpu.r[R_ESP]);
	pm_setup();
	AT(0, int42);
	H.cpu.eflags |= FL_IF;
	v = run();
	CHECK(v == 0x42 && !(H.cpu.eflags & FL_IF), "interrupt gate: %d EFLAGS %08x", v, H.cpu.eflags);

	/* Inter-privilege frame (Figure 6-4): SS, ESP, EFLAGS, CS, EIP on
	 * TSS.SS0:ESP0. */
	pm_setup();
	AT(3, done3);
	H.cpu.eflags |= FL_IF;
	v = run();
	CHECK(v == DONE, "ring 3 INT: %d", v);
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 20 && H.cpu.seg[S_SS].sel == K_DS, "SS:ESP %04x:%08x",
	      H.cpu.seg[S_SS].sel, H.cpu.r[R_ESP]);
	CHECK(stk(0) == CODE + 2 && stk(1) == U_CS && stk(2) == (FL_1 | FL_IF) && stk(3) == 0x50000 &&
		      stk(4) == U_DS,
	      "frame %x %x %x %x %x", stk(0), stk(1), stk(2), stk(3), stk(4));
	/* With an error code: ring 3 #GP from INT to a DPL 0 gate (6.12.1.1):
	 * error = vector*8 + 2 (IDT bit), EXT clear for INT n. */
	pm_setup();
	AT(3, int43);
	EXPECT_EXC(EXC_GP, 0x43 * 8 + 2);
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 24 && stk(1) == CODE && stk(2) == U_CS && stk(4) == 0x50000 &&
		      stk(5) == U_DS,
	      "frame ESP %08x: %x %x . %x %x", H.cpu.r[R_ESP], stk(1), stk(2), stk(4), stk(5));
	/* A fault pushes EFLAGS with RF = 1 (SDM 17.3.1.1); INT n (a trap,
	 * above) does not. */
	CHECK(stk(3) == (FL_1 | FL_RF), "fault frame EFLAGS %08x", stk(3));
	/* Not-present gate: #NP(vector*8 + 2). */
	pm_setup();
	set_idt(0x44, mkgate(K_CS, STUBS, 0xe, 3, 0, 0));
	AT(3, int44);
	EXPECT_EXC(EXC_NP, 0x44 * 8 + 2);
	/* Beyond the IDT limit: #GP(vector*8 + 2). */
	pm_setup();
	H.cpu.idtr.limit = 0x48 * 8 - 1;
	AT(3, int50);
	EXPECT_EXC(EXC_GP, 0x50 * 8 + 2);
	/* INT3 is a software interrupt (gate DPL checked); INT1 (ICEBP) is
	 * not: it reaches a DPL 0 gate from ring 3. */
	pm_setup();
	AT(3, int3);
	EXPECT_EXC(EXC_GP, EXC_BP * 8 + 2);
	pm_setup();
	AT(3, icebp);
	v = run();
	CHECK(v == EXC_DB && stk(0) == CODE + 1 && stk(1) == U_CS, "ICEBP at ring 3: %d at %x:%x", v, stk(1),
	      stk(0));
	/* A handler segment less privileged than CPL: #GP(its selector). */
	pm_setup();
	set_idt(0x43, mkgate(U_CS, STUBS, 0xe, 3, 1, 0));
	AT(0, int43);
	EXPECT_EXC(EXC_GP, U_CS & ~3);
	/* A 16-bit interrupt gate pushes words. */
	pm_setup();
	set_idt(0x46, mkgate(K_CS, STUBS + 16 * 0x46, 0x6, 0, 1, 0));
	AT(0, int46);
	v = run();
	CHECK(v == 0x46 && H.cpu.r[R_ESP] == 0x80000 - 6, "16-bit gate: %d ESP %08x", v, H.cpu.r[R_ESP]);
	CHECK(rd16(0x80000 - 6) == CODE + 2 - 0x10000 && rd16(0x80000 - 4) == K_CS && rd16(0x80000 - 2) == FL_1,
	      "16-bit frame %04x %04x %04x", rd16(0x80000 - 6), rd16(0x80000 - 4), rd16(0x80000 - 2));
}

static void t_ext_double_triple(void)
{
	/* An external interrupt through a not-present gate: EXT set
	 * (6.13): #NP(vector*8 + 2 + 1). */
	pm_setup();
	set_idt(0x45, mkgate(K_CS, STUBS, 0xe, 0, 0, 0));
	AT(3, nops);
	H.cpu.eflags |= FL_IF;
	H.cpu.intr_line = 1;
	H.pending_vector = 0x45;
	EXPECT_EXC(EXC_NP, 0x45 * 8 + 3);
	CHECK(stk(1) == CODE && stk(2) == U_CS, "interrupted at %08x:%x", stk(2), stk(1));
	/* An exception (#UD, benign) whose handler segment is not present:
	 * #NP(sel) with EXT set, delivered after it (Table 6-5: serially). */
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0xb, 0, 0, 0xc));
	set_idt(EXC_UD, mkgate(FREE_SEL, STUBS + 16 * EXC_UD, 0xe, 0, 1, 0));
	AT(3, ud2);
	EXPECT_EXC(EXC_NP, FREE_SEL | 1);
	CHECK(stk(1) == CODE && stk(2) == U_CS, "#NP frame %x:%x", stk(2), stk(1));
	/* #GP whose gate is not present -> #NP during delivery ->
	 * contributory twice: #DF with error code 0 (Table 6-5). */
	pm_setup();
	set_idt(EXC_GP, mkgate(K_CS, STUBS + 16 * EXC_GP, 0xe, 0, 0, 0));
	AT(3, int43);
	EXPECT_EXC(EXC_DF, 0);
	CHECK(stk(1) == CODE && stk(2) == U_CS, "#DF frame EIP %08x CS %08x", stk(1), stk(2));
	/* And with #DF's gate not present too: shutdown. */
	pm_setup();
	set_idt(EXC_GP, mkgate(K_CS, STUBS + 16 * EXC_GP, 0xe, 0, 0, 0));
	set_idt(EXC_DF, mkgate(K_CS, STUBS + 16 * EXC_DF, 0xe, 0, 0, 0));
	AT(3, int43);
	int v = run();
	CHECK(v == -2 && H.cpu.shutdown, "triple fault: %d shutdown %d", v, H.cpu.shutdown);
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_call_gate();
	t_call_gate16();
	t_ret_iret_outer();
	t_interrupt_gates();
	t_ext_double_triple();
	return finish("protect gates");
}
