/* System features in protected mode with real exception delivery
 * through the IDT: #PF error code and CR2, single-step and code
 * breakpoints (the EFLAGS image pushed for #DB, RF restored by IRETD), RF
 * in the image of an ordinary fault (SDM 17.3.1.1: 1 for every
 * fault-class exception except code-breakpoint #DB), and a
 * SYSENTER/SYSEXIT round trip between rings 3 and 0.
 */
#include "harness.h"
#include "cpu/debug.h"

static struct harness h;
static int failures;

#define GDT 0x0600u
#define IDT 0x0800u
#define STUBS 0x1000u
#define PD 0x20000u
#define PT0 0x21000u
#define COUNT 0x7f00u


/* The GDT has the layout SYSENTER/SYSEXIT assume for SYSENTER_CS = 0x10:
 * 0x10 ring-0 code, 0x18 ring-0 data, 0x20 ring-3 code, 0x28 ring-3 data
 * (0x10/0x18 are also what cpu_set_flat32 uses). */
static void setup(void)
{
	static const uint64_t gdt[] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00cffa000000ffffull,
				       0x00cff2000000ffffull};
	h_flat32(&h, 0x10000, 0x90000);
	h_load(&h, GDT, gdt, sizeof(gdt));
	h.cpu.gdtr = (struct dtr){GDT, sizeof(gdt) - 1};
	/* Vector v: "mov $v, %al; out %al, $0xf4; hlt" through an interrupt gate. */
	for (uint32_t v = 0; v < 32; v++) {
		uint8_t stub[8] = {0xb0, (uint8_t)v, 0xe6, 0xf4, 0xf4, 0, 0, 0};
		h_load(&h, STUBS + 8 * v, stub, sizeof(stub));
		uint32_t off = STUBS + 8 * v;
		h_wr32(&h, IDT + 8 * v, (0x10u << 16) | (off & 0xffff));
		h_wr32(&h, IDT + 8 * v + 4, (off & 0xffff0000u) | 0x8e00u);
	}
	h.cpu.idtr = (struct dtr){IDT, 32 * 8 - 1};
	debug_reset(&h.cpu);
	debug_update(&h.cpu);
}

static void set_gate(uint32_t v, uint32_t off)
{
	h_wr32(&h, IDT + 8 * v, (0x10u << 16) | (off & 0xffff));
	h_wr32(&h, IDT + 8 * v + 4, (off & 0xffff0000u) | 0x8e00u);
}

/* Runs until a stub stops the guest; returns its vector or -1. */
static int run(void)
{
	h.exit_value = -1;
	enum cpu_stop st = h_run(&h, 10000);
	return st == CPU_STOP_REQUEST ? h.exit_value : -1;
}

static uint32_t frame(int i) { return h_rd32(&h, h.cpu.r[R_ESP] + 4 * (uint32_t)i); }

__asm__(".pushsection .rodata\n.code32\n"
	"p_base:\n"
	"p_pf:\n mov 0x300004, %eax\n hlt\n"
	"p_step:\n mov $1, %ebx\n p_step1: mov $2, %ecx\n hlt\n"
	"p_bp:\n mov $1, %ebx\n p_bp1: mov $2, %ecx\n mov $3, %edx\n mov $0x55, %al\n out %al, $0xf4\n"
	/* #DB handler that resumes with RF: counts its calls */
	"p_dbh:\n incl 0x7f00\n orl $0x10000, 8(%esp)\n iret\n"
	"p_ud:\n ud2\n"
	/* SYSENTER/SYSEXIT round trip */
	"p_user:\n mov $0x41, %al\n out %al, $0xe9\n sysenter\n"
	"p_kern:\n mov $0x4b, %al\n out %al, $0xe9\n mov $p_user2 - p_base + 0x10000, %edx\n mov $0x8f000, %ecx\n sysexit\n"
	"p_user2:\n mov $0x21, %al\n out %al, $0xe9\n mov $0x77, %al\n out %al, $0xf4\n"
	"p_end:\n"
	".code64\n.popsection\n");
extern const unsigned char p_base[], p_pf[], p_step[], p_step1[], p_bp[], p_bp1[], p_dbh[], p_ud[], p_user[],
	p_kern[], p_user2[], p_end[];
#define EIP(label) (0x10000u + (uint32_t)((label) - p_base))

static void start(const unsigned char *label)
{
	setup();
	h_load(&h, 0x10000, p_base, (size_t)(p_end - p_base));
	h.cpu.eip = EIP(label);
}

static void test_page_fault(void)
{
	start(p_pf);
	memset(h.ram + PD, 0, 0x2000);
	h_wr32(&h, PD, PT0 | 7);
	for (uint32_t i = 0; i < 1024; i++)
		h_wr32(&h, PT0 + 4 * i, (i << 12) | 7);
	h_wr32(&h, PT0 + 4 * 0x300, 0);
	h.cpu.cr3 = PD;
	h.cpu.cr0 |= CR0_PG;
	tlb_flush_all(&h.cpu, 0);
	CHECK(run() == EXC_PF, "no #PF");
	CHECK(frame(0) == 0 && frame(1) == EIP(p_pf) && frame(2) == 0x10, "#PF frame err %x eip %08x cs %x",
	      frame(0), frame(1), frame(2));
	CHECK(h.cpu.cr2 == 0x300004, "CR2 %08x", h.cpu.cr2);
}

static void test_single_step(void)
{
	start(p_step);
	cpu_set_eflags(&h.cpu, FL_TF, FL_TF);
	CHECK(run() == EXC_DB, "no single-step #DB");
	CHECK(frame(0) == EIP(p_step1) && frame(1) == 0x10, "step frame eip %08x", frame(0));
	CHECK((frame(2) & (FL_TF | FL_RF)) == FL_TF, "step: pushed EFLAGS %08x (want TF, no RF)", frame(2));
	CHECK((h.cpu.dr[6] & (DR6_BS | 0xf)) == DR6_BS, "DR6 %08x", h.cpu.dr[6]);
	CHECK(!(h.cpu.eflags & FL_TF), "handler runs with TF");
}

static void test_code_breakpoint(void)
{
	start(p_bp);
	set_gate(EXC_DB, EIP(p_dbh));
	h_wr32(&h, COUNT, 0);
	h.cpu.dr[0] = EIP(p_bp1);
	h.cpu.dr[7] = 0x402;
	debug_update(&h.cpu);
	CHECK(run() == 0x55, "guest did not finish");
	CHECK(h_rd32(&h, COUNT) == 1, "breakpoint handler ran %u times", h_rd32(&h, COUNT));
	CHECK(h.cpu.r[R_ECX] == 2 && h.cpu.r[R_EDX] == 3, "instructions after the breakpoint");
	CHECK(!(h.cpu.eflags & FL_RF), "RF still set");
	/* The image pushed for a code breakpoint has RF clear. */
	start(p_bp);
	h.cpu.dr[0] = EIP(p_bp1);
	h.cpu.dr[7] = 0x402;
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB, "no #DB");
	CHECK(frame(0) == EIP(p_bp1) && !(frame(2) & FL_RF), "code breakpoint frame eip %08x eflags %08x",
	      frame(0), frame(2));
}

/* The contract for intr.c: every fault-class exception but #DB pushes
 * RF=1 (so that IRET back to a breakpointed instruction does not hit the
 * breakpoint again). */
static void test_fault_rf(void)
{
	start(p_ud);
	CHECK(run() == EXC_UD, "no #UD");
	CHECK(frame(0) == EIP(p_ud), "#UD frame eip %08x", frame(0));
	CHECK(frame(2) & FL_RF, "#UD: pushed EFLAGS %08x lacks RF (SDM 17.3.1.1)", frame(2));
	CHECK(!(h.cpu.eflags & FL_RF), "RF set in the handler");
}

static void test_sysenter_roundtrip(void)
{
	start(p_user);
	/* Ring 3, IOPL 3 so the user code may use the ports. */
	seg_set_cache(&h.cpu.seg[S_CS], 0x23, 0, 0xffffffffu, 0xc0fb);
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set_cache(&h.cpu.seg[s], 0x2b, 0, 0xffffffffu, 0xc0f3);
	cpu_update_mode(&h.cpu);
	cpu_set_eflags(&h.cpu, 3u << FL_IOPL_SHIFT, FL_IOPL);
	h.cpu.sysenter_cs = 0x10;
	h.cpu.sysenter_esp = 0x9f000;
	h.cpu.sysenter_eip = EIP(p_kern);
	h.nout = 0;
	h.out[0] = 0;
	CHECK(run() == 0x77, "round trip did not finish");
	CHECK(strcmp(h.out, "AK!") == 0, "out '%s'", h.out);
	CHECK(h.cpu.cpl == 3 && h.cpu.seg[S_CS].sel == 0x23 && h.cpu.seg[S_SS].sel == 0x2b &&
		      h.cpu.r[R_ESP] == 0x8f000,
	      "after SYSEXIT: CPL %d CS %04x SS %04x ESP %08x", h.cpu.cpl, h.cpu.seg[S_CS].sel, h.cpu.seg[S_SS].sel,
	      h.cpu.r[R_ESP]);
}

int main(void)
{
	h_init(&h, 4 << 20);
	test_page_fault();
	test_single_step();
	test_code_breakpoint();
	test_fault_rf();
	test_sysenter_roundtrip();
	h_free(&h);
	if (failures) {
		printf("system pm: %d failures\n", failures);
		return 1;
	}
	printf("system pm: ok\n");
	return 0;
}
