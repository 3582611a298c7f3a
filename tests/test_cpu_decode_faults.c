/* A fault the decoder finds (an invalid encoding: #UD; over 15 bytes:
 * #GP(0)) belongs to its own instruction even when that instruction is
 * not the first of its block: the instructions before it run, and the
 * handler sees the faulting instruction's (E)IP. Checked in real mode
 * (through the IVT) and in flat protected mode (through the IDT), for
 * both the first and a later instruction of a block, and for an
 * instruction that runs past the CS limit. */
#include "harness.h"

#define SNIP16(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code16\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];
#define SNIP32(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code32\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];
#define LOAD(name, at) h_load(&H, at, name##_start, (size_t)(name##_end - name##_start))

static int failures;
static struct harness H;

static uint16_t rd16(uint32_t pa) { return (uint16_t)(H.ram[pa] | H.ram[pa + 1] << 8); }

/* 15 operand-size prefixes and a NOP: 16 bytes, #GP(0) (SDM Vol. 2, 2.3.11). */
#define LONG16 ".fill 15, 1, 0x66\n nop\n"

/* ---- real mode: the example ---- */

/* The #UD handler (IVT vector 6 at 0:0x18) is set up by the code itself;
 * then MOV CS, DX (8E CA), which is #UD, in the same block. */
SNIP16(rm_movcs,
       " mov $0xf000, %dx\n mov $0, %ax\n mov %ax, %ds\n"
       " movw $0x7d00, 0x18\n movw $0, 0x1a\n"
       " mov $0x1234, %bx\n"
       "rm_movcs_fault:\n .byte 0x8e, 0xca\n"
       " mov $0x5678, %bx\n hlt\n")
extern const unsigned char rm_movcs_fault[];

/* Over-long instruction later in a block; vector 13 at 0:0x34. */
SNIP16(rm_long,
       " xor %ax, %ax\n mov %ax, %ds\n"
       " movw $0x7d00, 0x34\n movw $0, 0x36\n"
       " mov $0x4321, %cx\n movw $0xbeef, 0x600\n"
       "rm_long_fault:\n" LONG16
       " mov $0x9999, %cx\n hlt\n")
extern const unsigned char rm_long_fault[];

/* The faulting instruction first in its block (after a jump). */
SNIP16(rm_first,
       " xor %ax, %ax\n mov %ax, %ds\n movw $0x7d00, 0x18\n movw $0, 0x1a\n"
       " mov $0x2222, %si\n jmp 1f\n"
       "1:\nrm_first_fault:\n .byte 0x8e, 0xca\n hlt\n")
extern const unsigned char rm_first_fault[];

static void real_case(const char *what, const unsigned char *s, const unsigned char *e, const unsigned char *fault,
		      int vec)
{
	memset(H.ram, 0, 0x10000);
	h_load(&H, 0x7c00, s, (size_t)(e - s));
	H.ram[0x7d00] = 0xf4; /* handler: hlt */
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = h_run(&H, 1000);
	uint32_t want_ip = 0x7c00 + (uint32_t)(fault - s);
	uint32_t sp = H.cpu.r[R_ESP] & 0xffff;
	CHECK(st == CPU_STOP_HALT, "%s: stop %d", what, st);
	CHECK(H.cpu.eip == 0x7d01, "%s: vector %d not delivered (eip %x)", what, vec, H.cpu.eip);
	CHECK(sp == 0x7000 - 6, "%s: sp %x", what, sp);
	CHECK(rd16(sp) == want_ip, "%s: handler sees IP %04x, want %04x", what, rd16(sp), want_ip);
	CHECK(rd16(sp + 2) == 0, "%s: pushed CS %04x", what, rd16(sp + 2));
}

static void t_real(void)
{
	real_case("mov cs, dx", rm_movcs_start, rm_movcs_end, rm_movcs_fault, 6);
	CHECK((H.cpu.r[R_EBX] & 0xffff) == 0x1234, "mov cs, dx: bx %x (the mov before it ran)", H.cpu.r[R_EBX]);
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0xf000, "mov cs, dx: dx %x", H.cpu.r[R_EDX]);

	real_case("16-byte insn", rm_long_start, rm_long_end, rm_long_fault, 13);
	CHECK((H.cpu.r[R_ECX] & 0xffff) == 0x4321, "16-byte insn: cx %x", H.cpu.r[R_ECX]);
	CHECK(rd16(0x600) == 0xbeef, "16-byte insn: store before it: %04x", rd16(0x600));

	real_case("first of block", rm_first_start, rm_first_end, rm_first_fault, 6);
	CHECK((H.cpu.r[R_ESI] & 0xffff) == 0x2222, "first of block: si %x", H.cpu.r[R_ESI]);
}

/* An instruction running past the CS limit (real mode: 0xffff) after
 * others in its block: #GP at that instruction. CS = 0x1000, code at IP
 * 0xfff8: mov $7, %bx (3 bytes), inc %bx, then a 5-byte mov $imm32, %eax
 * with a 66 prefix (6 bytes) at 0xfffc that ends past 0xffff. */
static void t_real_limit(void)
{
	static const uint8_t code[] = {0xbb, 0x07, 0x00, 0x43, 0x66, 0xb8, 1, 2, 3, 4};
	memset(H.ram, 0, 0x30000);
	memcpy(H.ram + 0x10000 + 0xfff8, code, 4);
	/* bytes past the limit: RAM at 0x20000 (offset 0x10000 from the base) */
	memcpy(H.ram + 0x10000 + 0xfffc, code + 4, 4);
	memcpy(H.ram + 0x20000, code + 8, 2);
	h_wr32(&H, 13 * 4, 0x00007d00);
	H.ram[0x7d00] = 0xf4;
	h_real(&H, 0x1000, 0xfff8);
	enum cpu_stop st = h_run(&H, 100);
	uint32_t sp = H.cpu.r[R_ESP] & 0xffff;
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == 0x7d01, "cs limit: stop %d eip %x", st, H.cpu.eip);
	CHECK(rd16(sp) == 0xfffc, "cs limit: handler sees IP %04x, want fffc", rd16(sp));
	CHECK(rd16(sp + 2) == 0x1000, "cs limit: pushed CS %04x", rd16(sp + 2));
	CHECK((H.cpu.r[R_EBX] & 0xffff) == 8, "cs limit: bx %x (mov and inc before it ran)", H.cpu.r[R_EBX]);
}

/* ---- flat protected mode, CPL 0 ---- */

#define PM_CODE 0x100000u
#define PM_GDT 0x800u
#define PM_IDT 0x1000u
#define PM_HANDLER 0x3000u
#define PM_STACK 0x80000u

SNIP32(pm_ud,
       " mov $0x11, %eax\n mov %eax, 0x5000\n inc %ebx\n"
       "pm_ud_fault:\n .byte 0x8e, 0xca\n" /* mov cs, edx: #UD */
       " mov $0x22, %eax\n hlt\n")
extern const unsigned char pm_ud_fault[];

SNIP32(pm_long,
       " mov $0x33, %eax\n mov %eax, 0x5004\n dec %ecx\n"
       "pm_long_fault:\n" LONG16
       " mov $0x44, %eax\n hlt\n")
extern const unsigned char pm_long_fault[];

/* An encoding a P6 lacks (0F 38: SSSE3), as the decoder rejects it. */
SNIP32(pm_0f38,
       " mov $0x55, %esi\n"
       "pm_0f38_fault:\n .byte 0x0f, 0x38, 0x00, 0xc1\n"
       " mov $0x66, %esi\n hlt\n")
extern const unsigned char pm_0f38_fault[];

static void pm_setup(void)
{
	h_flat32(&H, PM_CODE, PM_STACK);
	memset(H.ram + PM_GDT, 0, 0x20);
	/* 0x10 code, 0x18 data (cpu_set_flat32's selectors) */
	h_wr32(&H, PM_GDT + 0x10, 0x0000ffff);
	h_wr32(&H, PM_GDT + 0x14, 0x00cf9b00);
	h_wr32(&H, PM_GDT + 0x18, 0x0000ffff);
	h_wr32(&H, PM_GDT + 0x1c, 0x00cf9300);
	H.cpu.gdtr.base = PM_GDT;
	H.cpu.gdtr.limit = 0x1f;
	for (uint32_t v = 0; v < 32; v++) {
		h_wr32(&H, PM_IDT + v * 8, (PM_HANDLER & 0xffff) | (0x10u << 16));
		h_wr32(&H, PM_IDT + v * 8 + 4, (PM_HANDLER & 0xffff0000u) | 0x8e00u);
	}
	H.cpu.idtr.base = PM_IDT;
	H.cpu.idtr.limit = 32 * 8 - 1;
	H.ram[PM_HANDLER] = 0xf4;
}

static void pm_case(const char *what, const unsigned char *s, const unsigned char *e, const unsigned char *fault,
		    int vec)
{
	pm_setup();
	h_load(&H, PM_CODE, s, (size_t)(e - s));
	H.cpu.r[R_EAX] = H.cpu.r[R_EBX] = H.cpu.r[R_ECX] = H.cpu.r[R_ESI] = 0;
	enum cpu_stop st = h_run(&H, 1000);
	uint32_t want = PM_CODE + (uint32_t)(fault - s);
	uint32_t esp = H.cpu.r[R_ESP];
	int err = vec == 13; /* #GP pushes an error code, #UD none */
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == PM_HANDLER + 1, "%s: stop %d eip %x", what, st, H.cpu.eip);
	CHECK(esp == PM_STACK - 12 - (err ? 4u : 0u), "%s: esp %x", what, esp);
	if (err)
		CHECK(h_rd32(&H, esp) == 0, "%s: error code %x", what, h_rd32(&H, esp));
	CHECK(h_rd32(&H, esp + (err ? 4u : 0u)) == want, "%s: handler sees EIP %08x, want %08x", what,
	      h_rd32(&H, esp + (err ? 4u : 0u)), want);
}

static void t_pm(void)
{
	pm_case("pm mov cs", pm_ud_start, pm_ud_end, pm_ud_fault, 6);
	CHECK(H.cpu.r[R_EAX] == 0x11 && h_rd32(&H, 0x5000) == 0x11 && H.cpu.r[R_EBX] == 1,
	      "pm mov cs: eax %x [5000] %x ebx %x", H.cpu.r[R_EAX], h_rd32(&H, 0x5000), H.cpu.r[R_EBX]);
	pm_case("pm 16-byte insn", pm_long_start, pm_long_end, pm_long_fault, 13);
	CHECK(H.cpu.r[R_EAX] == 0x33 && h_rd32(&H, 0x5004) == 0x33 && H.cpu.r[R_ECX] == 0xffffffffu,
	      "pm 16-byte: eax %x [5004] %x ecx %x", H.cpu.r[R_EAX], h_rd32(&H, 0x5004), H.cpu.r[R_ECX]);
	pm_case("pm 0f38", pm_0f38_start, pm_0f38_end, pm_0f38_fault, 6);
	CHECK(H.cpu.r[R_ESI] == 0x55, "pm 0f38: esi %x", H.cpu.r[R_ESI]);
}

/* The same code run twice: the second run finds the blocks cached (the
 * one ending before the fault, then the faulting one) and must fault the
 * same way. */
static void t_cached(void)
{
	pm_case("pm 16-byte insn (decoded)", pm_long_start, pm_long_end, pm_long_fault, 13);
	pm_setup();
	H.cpu.r[R_EAX] = H.cpu.r[R_ECX] = 0;
	enum cpu_stop st = h_run(&H, 1000);
	uint32_t esp = H.cpu.r[R_ESP];
	CHECK(st == CPU_STOP_HALT && h_rd32(&H, esp + 4) == PM_CODE + (uint32_t)(pm_long_fault - pm_long_start),
	      "cached: stop %d, EIP pushed %08x", st, h_rd32(&H, esp + 4));
	CHECK(H.cpu.r[R_EAX] == 0x33, "cached: eax %x", H.cpu.r[R_EAX]);
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_real();
	t_real_limit();
	t_pm();
	t_cached();
	h_free(&H);
	if (failures)
		return 1;
	printf("decode faults: ok\n");
	return 0;
}
