/* Virtual-8086 mode (SDM Vol. 3, ch. 20): entry by IRET with EFLAGS.VM
 * in the popped image at CPL 0 and by a task switch to a TSS with VM = 1;
 * exit by an interrupt or exception to a ring 0 handler (GS, FS, DS, ES
 * pushed, then nulled; VM cleared); the IOPL-sensitive INT n and IRET. */
#include "test_protect_util.h"

SNIP32(iret0, " iret\n")
SNIP16(v86_int, " mov $0x1234, %bx\n mov %bx, %ds:0x10\n int $0x40\n")
SNIP16(v86_iret, " iret\n")
SNIP16(v86_int3, " int3\n")
SNIP32(jmp_b, " ljmp $0x50, $0\n")

#define V86_CS 0x2000 /* code at linear 0x20000 */
#define V86_SS 0x3000 /* stack at linear 0x30000 + SP */
#define V86_DS 0x4000

/* Ring 0 at an IRET whose image enters V86 mode at V86_CS:0. */
static void iret_to_v86(const unsigned char *s, const unsigned char *e, uint32_t fl)
{
	pm_setup();
	h_load(&H, V86_CS * 16, s, (size_t)(e - s));
	LOAD(iret0, CODE);
	pm_ring(0, CODE, ring_stack[0]);
	uint32_t sp = 0x80000 - 36;
	uint32_t img[9] = {0, V86_CS, fl, 0x100, V86_SS, 0x5000, V86_DS, 0x6000, 0x7000};
	for (int i = 0; i < 9; i++)
		wr32(sp + 4 * (uint32_t)i, img[i]);
	H.cpu.r[R_ESP] = sp;
}

static void t_enter_exit(void)
{
	/* IRET to V86 at IOPL 3; the V86 code writes DS:0x10 and does
	 * INT 0x40, which leaves V86 mode through the DPL 3 gate. */
	iret_to_v86(v86_int_start, v86_int_end, FL_1 | FL_VM | FL_IOPL | FL_IF);
	int v = run();
	CHECK(v == DONE, "V86 INT with IOPL 3: %d", v);
	CHECK(rd16(V86_DS * 16 + 0x10) == 0x1234, "V86 store through DS: %04x", rd16(V86_DS * 16 + 0x10));
	CHECK(!(H.cpu.eflags & FL_VM) && H.cpu.cpl == 0 && H.cpu.pmode, "left V86: EFLAGS %08x CPL %d",
	      H.cpu.eflags, H.cpu.cpl);
	CHECK(!(H.cpu.eflags & FL_IF), "interrupt gate kept IF");
	CHECK(H.cpu.r[R_ESP] == 0x80000 - 36 && H.cpu.seg[S_SS].sel == K_DS, "ring 0 SS:ESP %04x:%08x",
	      H.cpu.seg[S_SS].sel, H.cpu.r[R_ESP]);
	/* Figure 20-2 (no error code): EIP CS EFLAGS ESP SS ES DS FS GS. */
	static const uint32_t want[9] = {9, V86_CS, FL_1 | FL_VM | FL_IOPL | FL_IF, 0x100, V86_SS,
					 0x5000, V86_DS, 0x6000, 0x7000};
	for (int i = 0; i < 9; i++)
		CHECK(stk(i) == want[i], "frame[%d] = %08x, expected %08x", i, stk(i), want[i]);
	for (int s = 0; s < S_NSEG; s++)
		if (s == S_DS || s == S_ES || s == S_FS || s == S_GS)
			CHECK(H.cpu.seg[s].sel == 0 && H.cpu.seg[s].ok == 0, "segment %d not nulled: %04x", s,
			      H.cpu.seg[s].sel);

	/* INT n at IOPL 0: #GP(0) to the monitor, with the V86 frame. */
	iret_to_v86(v86_int_start, v86_int_end, FL_1 | FL_VM);
	v = run();
	CHECK(v == EXC_GP && stk(0) == 0, "V86 INT with IOPL 0: %d error %08x", v, stk(0));
	CHECK(stk(1) == 7 && stk(2) == V86_CS && H.cpu.r[R_ESP] == 0x80000 - 40, "#GP frame IP %x CS %x ESP %08x",
	      stk(1), stk(2), H.cpu.r[R_ESP]);

	/* INT3 is not IOPL-sensitive: through the gate (DPL 3 needed). */
	iret_to_v86(v86_int3_start, v86_int3_end, FL_1 | FL_VM);
	set_idt(EXC_BP, mkgate(K_CS, STUBS + 16 * EXC_BP, 0xe, 3, 1, 0));
	v = run();
	CHECK(v == EXC_BP && stk(0) == 1 && stk(1) == V86_CS, "V86 INT3 at IOPL 0: %d at %x:%x", v, stk(1), stk(0));

	/* IRET inside V86 at IOPL 0: #GP(0). */
	iret_to_v86(v86_iret_start, v86_iret_end, FL_1 | FL_VM);
	v = run();
	CHECK(v == EXC_GP && stk(0) == 0 && stk(1) == 0, "V86 IRET with IOPL 0: %d error %x IP %x", v, stk(0),
	      stk(1));

	/* IRET inside V86 at IOPL 3: pops IP, CS, FLAGS (IOPL kept). */
	iret_to_v86(v86_iret_start, v86_iret_end, FL_1 | FL_VM | FL_IOPL);
	h_load(&H, V86_CS * 16 + 0x40, v86_int_start, (size_t)(v86_int_end - v86_int_start));
	wr16(V86_SS * 16 + 0x100, 0x40);
	wr16(V86_SS * 16 + 0x102, V86_CS);
	wr16(V86_SS * 16 + 0x104, FL_1 | FL_CF); /* IOPL 0 in the image */
	v = run();
	CHECK(v == DONE, "V86 IRET with IOPL 3: %d", v);
	CHECK(stk(0) == 0x49 && (stk(2) & (FL_IOPL | FL_CF | FL_VM)) == (FL_IOPL | FL_CF | FL_VM),
	      "after V86 IRET: IP %x EFLAGS %08x", stk(0), stk(2));
}

static void t_task_to_v86(void)
{
	/* A TSS whose EFLAGS has VM: the switch enters V86 mode with its
	 * selectors as paragraphs (7.3, 20.2.5). */
	pm_setup();
	tss32_init(TSS_B, 0, 0x100, 0);
	wr32(TSS_B + 0x24, FL_1 | FL_VM | FL_IOPL);
	wr32(TSS_B + 0x48, 0x5000);
	wr32(TSS_B + 0x4c, V86_CS);
	wr32(TSS_B + 0x50, V86_SS);
	wr32(TSS_B + 0x54, V86_DS);
	wr32(TSS_B + 0x58, 0x6000);
	wr32(TSS_B + 0x5c, 0x7000);
	h_load(&H, V86_CS * 16, v86_int_start, (size_t)(v86_int_end - v86_int_start));
	LOAD(jmp_b, CODE);
	pm_ring(0, CODE, ring_stack[0]);
	int v = run();
	CHECK(v == DONE, "task switch into V86, then INT: %d", v);
	CHECK(H.cpu.tr.sel == TSS_B_SEL, "TR %04x", H.cpu.tr.sel);
	CHECK(stk(1) == V86_CS && stk(4) == V86_SS && stk(6) == V86_DS && (stk(2) & FL_VM), "V86 frame %x %x %x %08x",
	      stk(1), stk(4), stk(6), stk(2));
	CHECK(rd16(V86_DS * 16 + 0x10) == 0x1234, "V86 store through DS: %04x", rd16(V86_DS * 16 + 0x10));
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_enter_exit();
	t_task_to_v86();
	return finish("protect v86");
}
