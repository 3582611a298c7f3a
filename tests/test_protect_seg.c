/* Segment register loads in protected mode (SDM Vol. 3, 5.5-5.7; MOV,
 * POP, LDS/LSS pseudo-code): the exact #GP/#NP/#SS and error code for
 * each privilege and type rule, the accessed bit, null selectors; and
 * the descriptor instructions LAR, LSL, VERR, VERW, ARPL, LLDT, LTR, STR. */
#include "test_protect_util.h"

SNIP32(movds, " mov %ax, %ds\n int $0x40\n")
SNIP32(movss, " mov %ax, %ss\n int $0x40\n")
SNIP32(readds, " mov %ax, %ds\n mov (%ebx), %ecx\n int $0x40\n")
SNIP32(popes, " push %eax\n pop %es\n int $0x40\n")
SNIP32(lss, " lss (%ebx), %ecx\n int $0x40\n")
SNIP32(lds, " lds (%ebx), %ecx\n int $0x40\n")
SNIP32(lar, " lar %eax, %ecx\n setz %dl\n lsl %eax, %esi\n setz %dh\n int $0x40\n")
SNIP32(verrw, " verr %ax\n setz %dl\n verw %ax\n setz %dh\n int $0x40\n")
SNIP32(arpl, " arpl %cx, %bx\n setz %dl\n int $0x40\n")
SNIP32(lldt, " lldt %ax\n int $0x40\n")
SNIP32(ltr, " ltr %ax\n str %ecx\n sldt %edx\n int $0x40\n")

/* Run snippet code at ring r with AX = sel; returns the vector. */
static int try_load(const unsigned char *s, const unsigned char *e, int r, uint16_t sel)
{
	h_load(&H, CODE, s, (size_t)(e - s));
	pm_ring(r, CODE, ring_stack[r]);
	H.cpu.r[R_EAX] = sel;
	return run();
}
#define TRY(snip, r, sel) try_load(snip##_start, snip##_end, r, sel)

static void expect(int got, int vec, uint32_t err, const char *what)
{
	CHECK(got == vec, "%s: vector %d, expected %d", what, got, vec);
	if (got == vec && vec != DONE)
		CHECK(stk(0) == err, "%s: error code %#x, expected %#x", what, stk(0), err);
}

static void t_data_loads(void)
{
	pm_setup();
	/* 5.6: a data segment needs max(CPL, RPL) <= DPL. */
	expect(TRY(movds, 3, K_DS | 3), EXC_GP, K_DS, "ring3 MOV DS, DPL0 data");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x2, 3, 1, 0xc)); /* not accessed yet */
	expect(TRY(movds, 3, FREE_SEL | 3), DONE, 0, "ring3 MOV DS, DPL3 data");
	CHECK(H.cpu.seg[S_DS].sel == (FREE_SEL | 3), "DS %04x", H.cpu.seg[S_DS].sel);
	CHECK(gdt_type(FREE_SEL) == 0x3, "accessed bit not set: type %x", gdt_type(FREE_SEL));
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x8, 3, 1, 0xc)); /* execute-only code */
	expect(TRY(movds, 3, FREE_SEL | 3), EXC_GP, FREE_SEL, "ring3 MOV DS, execute-only code");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0xe, 0, 1, 0xc)); /* conforming readable DPL0 */
	expect(TRY(movds, 3, FREE_SEL | 3), DONE, 0, "ring3 MOV DS, conforming readable code");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0xa, 0, 1, 0xc)); /* non-conforming readable DPL0 */
	expect(TRY(movds, 3, FREE_SEL | 3), EXC_GP, FREE_SEL, "ring3 MOV DS, DPL0 readable code");
	pm_setup();
	expect(TRY(movds, 1, R1_DS | 3), EXC_GP, R1_DS & ~3, "ring1 MOV DS, DPL1 data with RPL3");
	pm_setup();
	expect(TRY(movds, 1, R2_DS), DONE, 0, "ring1 MOV DS, DPL2 data");
	pm_setup();
	expect(TRY(movds, 2, R1_DS | 2), EXC_GP, R1_DS & ~3, "ring2 MOV DS, DPL1 data");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x3, 3, 0, 0xc));
	expect(TRY(movds, 3, FREE_SEL | 3), EXC_NP, FREE_SEL, "ring3 MOV DS, not present");
	pm_setup();
	expect(TRY(movds, 3, 0x200 | 3), EXC_GP, 0x200, "ring3 MOV DS, past the GDT limit");
	pm_setup();
	expect(TRY(movds, 3, TSS_B_SEL | 3), EXC_GP, TSS_B_SEL, "ring3 MOV DS, TSS descriptor");
	pm_setup();
	set_ldt(0x08, mkseg(0, 0xfffff, 0x3, 3, 1, 0xc));
	expect(TRY(movds, 3, 0x08 | 4 | 3), DONE, 0, "ring3 MOV DS, LDT data");
	CHECK(H.cpu.seg[S_DS].sel == 0x0f, "DS %04x", H.cpu.seg[S_DS].sel);
	pm_setup();
	H.cpu.ldtr.sel = 0;
	H.cpu.ldtr.attr = 0;
	expect(TRY(movds, 3, 0x08 | 4 | 3), EXC_GP, 0x0c, "ring3 MOV DS, TI=1 with a null LDTR");
	pm_setup();
	expect(TRY(movds, 3, 0x20), DONE, 0, "ring3 MOV DS, RPL0 selector of DPL3 data");
}

static void t_null_ds(void)
{
	/* 3.4.2: a null selector loads into DS; using it is #GP(0). */
	pm_setup();
	expect(TRY(movds, 3, 0x0003), DONE, 0, "ring3 MOV DS, null");
	CHECK(H.cpu.seg[S_DS].sel == 3 && H.cpu.seg[S_DS].ok == 0, "DS %04x ok %d", H.cpu.seg[S_DS].sel,
	      H.cpu.seg[S_DS].ok);
	pm_setup();
	LOAD(readds, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = 0;
	H.cpu.r[R_EBX] = 0x20000;
	expect(run(), EXC_GP, 0, "ring3 read through null DS");
	CHECK(stk(1) == CODE + 2, "faulting EIP %08x", stk(1));
	/* POP ES runs the same checks. */
	pm_setup();
	expect(TRY(popes, 3, K_DS), EXC_GP, K_DS, "ring3 POP ES, DPL0 data");
	CHECK(H.cpu.seg[S_ES].sel == U_DS, "ES changed to %04x", H.cpu.seg[S_ES].sel);
}

static void t_ss_loads(void)
{
	pm_setup();
	expect(TRY(movss, 3, 0x0003), EXC_GP, 0, "ring3 MOV SS, null");
	pm_setup();
	expect(TRY(movss, 3, R2_DS | 3), EXC_GP, R2_DS & ~3, "ring3 MOV SS, DPL2 data");
	pm_setup();
	expect(TRY(movss, 3, U_DS & ~3), EXC_GP, U_DS & ~3, "ring3 MOV SS, RPL0 != CPL");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x1, 3, 1, 0xc)); /* read-only */
	expect(TRY(movss, 3, FREE_SEL | 3), EXC_GP, FREE_SEL, "ring3 MOV SS, read-only data");
	pm_setup();
	expect(TRY(movss, 3, U_CS), EXC_GP, U_CS & ~3, "ring3 MOV SS, code");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x3, 3, 0, 0xc));
	expect(TRY(movss, 3, FREE_SEL | 3), EXC_SS, FREE_SEL, "ring3 MOV SS, not present");
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0, 0xfffff, 0x3, 3, 1, 0x8)); /* 16-bit stack */
	expect(TRY(movss, 3, FREE_SEL | 3), DONE, 0, "ring3 MOV SS, DPL3 16-bit data");
}

static void t_load_pointer(void)
{
	/* LSS with a bad selector: nothing written (ECX kept). */
	pm_setup();
	LOAD(lss, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	wr32(0x20000, 0x4000);
	wr16(0x20004, K_DS);
	H.cpu.r[R_EBX] = 0x20000;
	H.cpu.r[R_ECX] = 0x1111;
	expect(run(), EXC_GP, K_DS, "ring3 LSS, DPL0 stack");
	CHECK(H.cpu.r[R_ECX] == 0x1111, "ECX written: %08x", H.cpu.r[R_ECX]);
	CHECK(H.cpu.seg[S_SS].sel == K_DS, "handler SS %04x", H.cpu.seg[S_SS].sel);
	pm_setup();
	LOAD(lds, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	set_gdt(FREE_SEL, mkseg(0x100, 0xfffff, 0x3, 3, 1, 0xc));
	wr32(0x20000, 0x12345678);
	wr16(0x20004, FREE_SEL | 3);
	H.cpu.r[R_EBX] = 0x20000;
	expect(run(), DONE, 0, "ring3 LDS");
	CHECK(H.cpu.r[R_ECX] == 0x12345678, "ECX %08x", H.cpu.r[R_ECX]);
	CHECK(H.cpu.seg[S_DS].sel == (FREE_SEL | 3) && H.cpu.seg[S_DS].base == 0x100, "DS %04x base %x",
	      H.cpu.seg[S_DS].sel, H.cpu.seg[S_DS].base);
}

static void t_lar_lsl_verr(void)
{
	pm_setup();
	set_gdt(FREE_SEL, mkseg(0x1000, 0x12, 0x2, 3, 1, 0x4)); /* byte-granular 32-bit data */
	LOAD(lar, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = FREE_SEL | 3;
	expect(run(), DONE, 0, "ring3 LAR/LSL DPL3 data");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0x0101, "ZF after LAR/LSL: %04x", H.cpu.r[R_EDX] & 0xffff);
	CHECK(H.cpu.r[R_ECX] == 0x0040f200, "LAR %08x", H.cpu.r[R_ECX]);
	CHECK(H.cpu.r[R_ESI] == 0x12, "LSL %08x", H.cpu.r[R_ESI]);
	/* DPL0 data is invisible at CPL 3: ZF = 0, no fault. */
	pm_setup();
	LOAD(lar, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = K_DS | 3;
	H.cpu.r[R_ECX] = 0x5555;
	expect(run(), DONE, 0, "ring3 LAR DPL0 data");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0, "ZF after LAR/LSL: %04x", H.cpu.r[R_EDX] & 0xffff);
	CHECK(H.cpu.r[R_ECX] == 0x5555, "LAR wrote %08x", H.cpu.r[R_ECX]);
	/* LSL of a 4 KiB granular segment gives the scaled limit; LAR of a
	 * TSS (ring 0) works, LSL too. */
	pm_setup();
	LOAD(lar, CODE);
	pm_ring(0, CODE, ring_stack[0]);
	H.cpu.r[R_EAX] = TSS_B_SEL;
	expect(run(), DONE, 0, "ring0 LAR/LSL TSS");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0x0101, "ZF %04x", H.cpu.r[R_EDX] & 0xffff);
	CHECK(H.cpu.r[R_ESI] == 0x67, "LSL TSS %08x", H.cpu.r[R_ESI]);
	/* VERR/VERW */
	pm_setup();
	LOAD(verrw, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = U_DS;
	expect(run(), DONE, 0, "VERR/VERW user data");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0x0101, "user data: %04x", H.cpu.r[R_EDX] & 0xffff);
	pm_setup();
	LOAD(verrw, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = U_CS;
	expect(run(), DONE, 0, "VERR/VERW user code");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0x0001, "readable code: %04x", H.cpu.r[R_EDX] & 0xffff);
	pm_setup();
	LOAD(verrw, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EAX] = K_DS | 3;
	expect(run(), DONE, 0, "VERR/VERW kernel data");
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0, "kernel data: %04x", H.cpu.r[R_EDX] & 0xffff);
}

static void t_arpl_ldt_tr(void)
{
	pm_setup();
	LOAD(arpl, CODE);
	pm_ring(3, CODE, ring_stack[3]);
	H.cpu.r[R_EBX] = 0x10;
	H.cpu.r[R_ECX] = 0x23;
	expect(run(), DONE, 0, "ARPL");
	CHECK((H.cpu.r[R_EBX] & 0xffff) == 0x13 && (H.cpu.r[R_EDX] & 0xff) == 1, "ARPL bx %04x zf %d",
	      H.cpu.r[R_EBX] & 0xffff, H.cpu.r[R_EDX] & 0xff);
	/* LLDT/LTR are ring 0 only. */
	pm_setup();
	expect(TRY(lldt, 3, LDT_SEL), EXC_GP, 0, "ring3 LLDT");
	pm_setup();
	expect(TRY(lldt, 0, TSS_B_SEL), EXC_GP, TSS_B_SEL, "ring0 LLDT of a TSS");
	pm_setup();
	expect(TRY(ltr, 0, TSS_MAIN_SEL), EXC_GP, TSS_MAIN_SEL, "ring0 LTR of a busy TSS");
	pm_setup();
	expect(TRY(ltr, 0, 0), EXC_GP, 0, "ring0 LTR null");
	pm_setup();
	set_gdt(TSS_B_SEL, mksys(TSS_B, 0x67, 0x9, 0, 0));
	expect(TRY(ltr, 0, TSS_B_SEL), EXC_NP, TSS_B_SEL, "ring0 LTR not present");
	pm_setup();
	expect(TRY(ltr, 0, TSS_B_SEL), DONE, 0, "ring0 LTR");
	CHECK(gdt_type(TSS_B_SEL) == 0xb, "LTR: TSS type %x, not busy", gdt_type(TSS_B_SEL));
	CHECK(H.cpu.tr.sel == TSS_B_SEL && H.cpu.tr.base == TSS_B, "TR %04x", H.cpu.tr.sel);
	CHECK(H.cpu.r[R_ECX] == TSS_B_SEL && H.cpu.r[R_EDX] == LDT_SEL, "STR %08x SLDT %08x",
	      H.cpu.r[R_ECX], H.cpu.r[R_EDX]);
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_data_loads();
	t_null_ds();
	t_ss_loads();
	t_load_pointer();
	t_lar_lsl_verr();
	t_arpl_ldt_tr();
	return finish("protect seg");
}
