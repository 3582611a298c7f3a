/* Virtual-8086 mode (SDM Vol. 3, ch. 20): entry by IRET with EFLAGS.VM
 * in the popped image at CPL 0 and by a task switch to a TSS with VM = 1;
 * exit by an interrupt or exception to a ring 0 handler (GS, FS, DS, ES
 * pushed, then nulled; VM cleared); the IOPL-sensitive INT n and IRET.
 * Then the extensions (20.3-20.4): under CR4.VME with IOPL < 3, CLI, STI,
 * PUSHF, POPF and IRET work on VIF (16-bit forms), STI/POPF/IRET setting
 * VIF with VIP pending or TF set fault, and INT n goes through the V86
 * program's own vector table where the TSS's redirection bitmap bit is
 * clear; CR4.PVI does the same for CLI/STI at CPL 3. */
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

/* ---- VME and PVI ---- */

SNIP16(vme_flags,
       " cli\n pushf\n pop %ax\n mov %ax, %ds:0x20\n"
       " sti\n pushf\n pop %ax\n mov %ax, %ds:0x22\n"
       " push $0\n popf\n pushf\n pop %ax\n mov %ax, %ds:0x24\n"
       " push $0x0a00\n popf\n pushf\n pop %ax\n mov %ax, %ds:0x26\n"
       "vme_flags_end_:\n hlt\n")
extern const unsigned char vme_flags_end_[];
SNIP16(v86_sti, " sti\n hlt\n")
SNIP16(v86_cli, " cli\n")
SNIP16(v86_popf_tf, " push $0x100\n popf\n")
SNIP16(v86_popf_if, " push $0x200\n popf\n")
SNIP16(v86_pushfd, " pushfl\n")
SNIP16(v86_iret_if, " push $0x200\n push %cs\n push $0x40\n iret\n")
/* INT 0x21 through the V86 vector table, to 0x80: the handler notes the
 * FLAGS it sees and returns with IRET */
SNIP16(v86_int21, " int $0x21\n mov $1, %bx\n mov %bx, %ds:0x32\n hlt\n")
SNIP16(v86_h21, " pushf\n pop %ax\n mov %ax, %ds:0x30\n iret\n")
SNIP32(pvi_code, " cli\n pushf\n pop %ebx\n sti\n int $0x40\n")

#define VME_IO_BASE 0x88 /* redirection bitmap at TSS + 0x68 .. 0x87 */

/* V86 mode at IOPL iopl under CR4.VME (when vme), with the TSS's
 * redirection bitmap all ones but for vectors in clear_mask's bytes. */
static void vme_to_v86(const unsigned char *s, const unsigned char *e, uint32_t fl, int vme)
{
	iret_to_v86(s, e, fl);
	H.cpu.cr4 |= vme ? CR4_VME : 0;
	wr16(TSS_MAIN + 0x66, VME_IO_BASE);
	memset(H.ram + TSS_MAIN + 0x68, 0xff, 32);
	seg_set_cache(&H.cpu.tr, TSS_MAIN_SEL, TSS_MAIN, VME_IO_BASE, 0x8b);
}

/* The #GP(0) from V86 at IP ip, with VM still in the frame's EFLAGS. */
#define V86_GP_AT(what, ip)                                                                     \
	do {                                                                                    \
		int v_ = run();                                                                 \
		CHECK(v_ == EXC_GP && stk(0) == 0 && stk(1) == (ip) && (stk(3) & FL_VM),           \
		      "%s: vector %d error %x IP %x (want #GP(0) at %x)", what, v_, stk(0), stk(1), \
		      (unsigned)(ip));                                                          \
	} while (0)

static void t_vme_flags(void)
{
	uint32_t end = (uint32_t)(vme_flags_end_ - vme_flags_start);
	/* IOPL 0, IF and VIF set: the flag instructions work on VIF */
	vme_to_v86(vme_flags_start, vme_flags_end, FL_1 | FL_VM | FL_IF | FL_VIF, 1);
	V86_GP_AT("VME flags (the final HLT)", end);
	uint16_t a = rd16(V86_DS * 16 + 0x20), b = rd16(V86_DS * 16 + 0x22);
	uint16_t c = rd16(V86_DS * 16 + 0x24), d = rd16(V86_DS * 16 + 0x26);
	CHECK((a & (FL_IF | FL_IOPL)) == FL_IOPL, "PUSHF after CLI: %04x (IF = VIF = 0, IOPL 3)", a);
	CHECK((b & (FL_IF | FL_IOPL)) == (FL_IF | FL_IOPL), "PUSHF after STI: %04x", b);
	CHECK((c & (FL_IF | FL_IOPL | FL_DF)) == FL_IOPL, "PUSHF after POPF 0: %04x", c);
	CHECK((d & (FL_IF | FL_OF)) == (FL_IF | FL_OF), "PUSHF after POPF 0a00: %04x", d);
	CHECK((stk(3) & (FL_IF | FL_VIF | FL_IOPL | FL_OF)) == (FL_IF | FL_VIF | FL_OF),
	      "EFLAGS %08x: IF kept, VIF from POPF, IOPL 0", stk(3));

	/* STI with a virtual interrupt pending: #GP(0) for the monitor */
	vme_to_v86(v86_sti_start, v86_sti_end, FL_1 | FL_VM | FL_IF | FL_VIP, 1);
	V86_GP_AT("STI with VIP", 0);
	CHECK(!(stk(3) & FL_VIF), "STI with VIP set VIF");
	/* STI without VIP sets VIF (IF untouched) */
	vme_to_v86(v86_sti_start, v86_sti_end, FL_1 | FL_VM, 1);
	V86_GP_AT("STI then HLT", 1);
	CHECK((stk(3) & (FL_VIF | FL_IF)) == FL_VIF, "STI under VME: EFLAGS %08x", stk(3));
	/* POPF setting TF, or IF with VIP: #GP(0) */
	vme_to_v86(v86_popf_tf_start, v86_popf_tf_end, FL_1 | FL_VM, 1);
	V86_GP_AT("POPF with TF", 3);
	vme_to_v86(v86_popf_if_start, v86_popf_if_end, FL_1 | FL_VM | FL_VIP, 1);
	V86_GP_AT("POPF with IF and VIP", 3);
	/* 32-bit PUSHF stays sensitive */
	vme_to_v86(v86_pushfd_start, v86_pushfd_end, FL_1 | FL_VM | FL_VIF, 1);
	V86_GP_AT("PUSHFD under VME", 0);
	/* 16-bit IRET loads VIF from the image's IF, keeps IF */
	vme_to_v86(v86_iret_if_start, v86_iret_if_end, FL_1 | FL_VM, 1);
	H.ram[V86_CS * 16 + 0x40] = 0xf4; /* hlt */
	V86_GP_AT("IRET under VME, then HLT at 0x40", 0x40);
	CHECK((stk(3) & (FL_VIF | FL_IF)) == FL_VIF, "IRET under VME: EFLAGS %08x", stk(3));
	/* without VME, CLI at IOPL 0 is #GP(0) */
	vme_to_v86(v86_cli_start, v86_cli_end, FL_1 | FL_VM | FL_VIF, 0);
	V86_GP_AT("CLI without VME", 0);
	CHECK(stk(3) & FL_VIF, "CLI without VME cleared VIF");
}

static void t_vme_int(void)
{
	/* bit 0x21 clear: INT 0x21 through the V86 vector table at 0 */
	for (int iopl3 = 0; iopl3 < 2; iopl3++) {
		uint32_t fl = FL_1 | FL_VM | FL_IF | FL_VIF | (iopl3 ? FL_IOPL : 0);
		vme_to_v86(v86_int21_start, v86_int21_end, fl, 1);
		H.ram[TSS_MAIN + 0x68 + 0x21 / 8] &= (uint8_t) ~(1u << (0x21 % 8));
		h_load(&H, V86_CS * 16 + 0x80, v86_h21_start, (size_t)(v86_h21_end - v86_h21_start));
		wr16(0x21 * 4, 0x80);
		wr16(0x21 * 4 + 2, V86_CS);
		int v = run();
		CHECK(v == EXC_GP && stk(1) == (uint32_t)(v86_int21_end - v86_int21_start) - 1,
		      "IOPL %d: redirected INT 0x21 and back: vector %d IP %x", iopl3 ? 3 : 0, v, stk(1));
		uint16_t in = rd16(V86_DS * 16 + 0x30), img = rd16(V86_SS * 16 + 0xfe);
		CHECK(rd16(V86_DS * 16 + 0x32) == 1, "IOPL %d: code after INT 0x21 did not run", iopl3 ? 3 : 0);
		CHECK(rd16(V86_SS * 16 + 0xfc) == V86_CS && rd16(V86_SS * 16 + 0xfa) == 2,
		      "IOPL %d: pushed CS:IP %04x:%04x", iopl3 ? 3 : 0, rd16(V86_SS * 16 + 0xfc), rd16(V86_SS * 16 + 0xfa));
		CHECK((img & (FL_IF | FL_IOPL)) == (FL_IF | FL_IOPL), "IOPL %d: pushed FLAGS %04x", iopl3 ? 3 : 0, img);
		/* inside: IF (IOPL 3) or VIF (IOPL 0) was cleared; PUSHF shows it */
		CHECK(!(in & FL_IF), "IOPL %d: handler sees FLAGS %04x", iopl3 ? 3 : 0, in);
		CHECK((stk(3) & (FL_IF | FL_VIF)) == (FL_IF | FL_VIF), "IOPL %d: IRET restored: %08x", iopl3 ? 3 : 0,
		      stk(3));
	}
	/* bit set, IOPL 0: #GP(0) to the monitor; IOPL 3: through the IDT */
	vme_to_v86(v86_int_start, v86_int_end, FL_1 | FL_VM, 1);
	V86_GP_AT("INT 0x40, bit set, IOPL 0", 7);
	vme_to_v86(v86_int_start, v86_int_end, FL_1 | FL_VM | FL_IOPL, 1);
	CHECK(run() == DONE, "INT 0x40, bit set, IOPL 3: through the IDT");
	/* the bitmap beyond the TSS limit: #GP(0) */
	vme_to_v86(v86_int21_start, v86_int21_end, FL_1 | FL_VM | FL_IOPL, 1);
	seg_set_cache(&H.cpu.tr, TSS_MAIN_SEL, TSS_MAIN, 0x68, 0x8b);
	V86_GP_AT("INT 0x21, bitmap past the TSS limit", 0);
}

static void t_pvi(void)
{
	for (int pvi = 0; pvi < 2; pvi++) {
		pm_setup();
		LOAD(pvi_code, CODE);
		pm_ring(3, CODE, ring_stack[3]);
		H.cpu.eflags |= FL_IF | FL_VIF;
		H.cpu.cr4 |= pvi ? CR4_PVI : 0;
		int v = run();
		if (!pvi) {
			CHECK(v == EXC_GP && stk(0) == 0 && stk(1) == CODE, "CLI at CPL 3 without PVI: %d at %x", v, stk(1));
			continue;
		}
		CHECK(v == DONE, "PVI: CLI/STI at CPL 3: %d", v);
		CHECK(H.cpu.r[R_EBX] & FL_IF, "PUSHF after CLI under PVI shows the real IF: %08x", H.cpu.r[R_EBX]);
		CHECK((stk(2) & (FL_IF | FL_VIF)) == (FL_IF | FL_VIF), "PVI: EFLAGS at INT %08x", stk(2));
	}
	/* STI with VIP under PVI: #GP(0) */
	pm_setup();
	LOAD(pvi_code, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.eflags |= FL_IF | FL_VIP;
	H.cpu.cr4 |= CR4_PVI;
	int v = run();
	CHECK(v == EXC_GP && stk(1) == CODE + 3, "PVI: STI with VIP: %d at %x", v, stk(1));
	/* at CPL 0 PVI changes nothing: CLI clears IF */
	pm_setup();
	LOAD(pvi_code, CODE);
	pm_ring(0, CODE, ring_stack[0]);
	H.cpu.eflags |= FL_IF | FL_VIF;
	H.cpu.cr4 |= CR4_PVI;
	run();
	CHECK(!(H.cpu.r[R_EBX] & FL_IF), "CPL 0 under PVI: CLI left IF set");
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_enter_exit();
	t_task_to_v86();
	t_vme_flags();
	t_vme_int();
	t_pvi();
	return finish("protect v86");
}
