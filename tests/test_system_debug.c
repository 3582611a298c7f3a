/* Debug features through the interpreter loop (SDM Vol. 3, 17.2-17.3):
 * single-step (TF) with its special cases (the instruction that sets TF,
 * POPF clearing it, MOV SS / POP SS shadow, INT n), instruction
 * breakpoints with RF, data breakpoints (write, read/write, lengths,
 * alignment; pages already in the TLB), general detect, and DR6.
 *
 * Runs in real mode, where #DB is delivered through the IVT: the #DB
 * handler stops the run (port 0xf4), the test reads the IRET frame and
 * resumes the guest as IRET would.
 */
#include "harness.h"
#include "cpu/debug.h"

static struct harness h;
static int failures;

#define HANDLERS 0x0500u
#define CODE 0x2000u

/* Vector v's handler: "mov $v, %al; out %al, $0xf4; hlt" at HANDLERS + 8v;
 * vector 0x20's handler is a plain IRET. */
static void install_ivt(void)
{
	for (uint32_t v = 0; v < 32; v++) {
		uint8_t stub[8] = {0xb0, (uint8_t)v, 0xe6, 0xf4, 0xf4, 0, 0, 0};
		h_load(&h, HANDLERS + 8 * v, stub, sizeof(stub));
		uint16_t ivt[2] = {(uint16_t)(HANDLERS + 8 * v), 0};
		h_load(&h, 4 * v, ivt, 4);
	}
	uint8_t iret = 0xcf;
	h_load(&h, HANDLERS + 8 * 32, &iret, 1);
	uint16_t ivt[2] = {(uint16_t)(HANDLERS + 8 * 32), 0};
	h_load(&h, 4 * 0x20, ivt, 4);
}

__asm__(".pushsection .rodata\n.code16\n"
	"d_base:\n"
	/* plain steps */
	"d_steps:\n mov $1, %bx\n mov $2, %cx\n mov $3, %dx\n hlt\n"
	/* POPF sets TF (no trap after it), later POPF clears it (traps) */
	"d_popf:\n mov $0x0102, %ax\n push %ax\n popf\n mov $1, %bx\n mov $0x0002, %ax\n push %ax\n popf\n"
	" mov $3, %dx\n hlt\n"
	/* MOV SS and POP SS hold the trap for one instruction */
	"d_movss:\n mov %ax, %ss\n mov $1, %bx\n push %ax\n pop %ss\n mov $2, %cx\n mov $3, %dx\n hlt\n"
	/* INT n: no trap into or after the INT; the next one after IRET */
	"d_int:\n int $0x20\n mov $1, %bx\n mov $2, %cx\n hlt\n"
	/* code breakpoint target */
	"d_bp:\n mov $1, %bx\n d_bp2: mov $2, %cx\n mov $3, %dx\n hlt\n"
	/* data breakpoints: armed by the guest itself */
	"d_data:\n mov 0x5000, %ax\n mov %ax, 0x5000\n"             /* fill the TLB */
	" mov $0x5000, %eax\n mov %eax, %dr1\n mov $0x00d00004, %eax\n mov %eax, %dr7\n"
	" mov 0x5000, %ax\n"                                     /* read: no trap (RW=01) */
	" d_w1: mov %ax, 0x5002\n d_w1e:"                          /* write overlapping: trap */
	" mov %ax, 0x5004\n"                                     /* outside: no trap */
	" movb %al, 0x4fff\n"                                    /* outside: no trap */
	" mov %eax, 0x4ffe\n d_w2e:"                              /* straddles in: trap */
	" hlt\n"
	/* read/write breakpoint on a byte */
	"d_rw:\n mov 0x6001, %al\n d_rwe: mov 0x6000, %al\n d_rw2e: mov 0x6002, %al\n hlt\n"
	/* general detect */
	"d_gd:\n mov $1, %bx\n d_gd1: mov %dr6, %eax\n mov $2, %cx\n hlt\n"
	/* INT3 enters its handler without a #DB; INTO not taken traps */
	"d_int3:\n int3\n mov $1, %bx\n hlt\n"
	"d_into:\n into\n mov $1, %bx\n hlt\n"
	/* a fault under TF: #UD, no #DB */
	"d_ud:\n ud2\n"
	"d_end:\n"
	".code64\n.popsection\n");
extern const unsigned char d_base[], d_steps[], d_popf[], d_movss[], d_int[], d_bp[], d_bp2[], d_data[],
	d_w1[], d_w1e[], d_w2e[], d_rw[], d_rwe[], d_rw2e[], d_gd[], d_gd1[], d_ud[], d_int3[], d_into[], d_end[];

#define IP(label) (uint16_t)(CODE + (uint32_t)((label) - d_base))

static void start(const unsigned char *label, uint32_t eflags)
{
	h_real(&h, 0, IP(label));
	debug_reset(&h.cpu);
	debug_update(&h.cpu);
	h.cpu.r[R_ESP] = 0x7000;
	cpu_set_eflags(&h.cpu, eflags, 0x3f7fd5u);
}

/* Run until the guest stops. Returns the vector whose handler stopped
 * it (h.exit_value), or -1 if it halted elsewhere or ran away. */
static int run(void)
{
	h.exit_value = -1;
	enum cpu_stop st = h_run(&h, 1000);
	if (st != CPU_STOP_REQUEST)
		return -1;
	return h.exit_value;
}

/* The IRET frame the last exception pushed. */
static uint16_t frame(int i)
{
	uint16_t v;
	memcpy(&v, h.ram + h.cpu.seg[S_SS].base + ((h.cpu.r[R_ESP] + 2 * (uint32_t)i) & 0xffff), 2);
	return v;
}

/* Return from the handler as IRET does, optionally with RF set (what a
 * 32-bit IRETD of a debugger would do). */
static void resume(int rf)
{
	uint16_t ip = frame(0), cs = frame(1), fl = frame(2);
	h.cpu.r[R_ESP] += 6;
	seg_load_real(&h.cpu, S_CS, cs);
	h.cpu.eip = ip;
	cpu_set_eflags(&h.cpu, fl | (rf ? FL_RF : 0), 0x3f7fd5u);
	h.cpu.halted = 0;
}

/* Collect the IPs of successive single-step traps until the guest halts
 * (at most n). Returns how many were seen. */
static int collect(uint16_t *ips, int n)
{
	int k = 0;
	while (k < n) {
		int v = run();
		if (v != EXC_DB)
			break;
		ips[k++] = frame(0);
		CHECK(h.cpu.dr[6] & DR6_BS, "DR6.BS not set: %08x", h.cpu.dr[6]);
		CHECK(!(h.cpu.eflags & FL_TF), "handler runs with TF");
		resume(0);
	}
	return k;
}

static void test_single_step(void)
{
	uint16_t ips[8];
	start(d_steps, FL_TF);
	int k = collect(ips, 3);
	CHECK(k == 3 && ips[0] == IP(d_steps) + 3 && ips[1] == IP(d_steps) + 6 && ips[2] == IP(d_steps) + 9,
	      "steps: %d traps, %04x %04x %04x", k, ips[0], ips[1], ips[2]);
	CHECK(h.cpu.r[R_EBX] == 1 && h.cpu.r[R_ECX] == 2 && h.cpu.r[R_EDX] == 3, "steps did not execute");

	/* The POPF that sets TF does not trap; the one that clears it does. */
	start(d_popf, 0);
	k = collect(ips, 8);
	uint16_t b = IP(d_popf);
	/* traps after: mov bx (b+8), mov ax (b+11), push (b+12), popf (b+13) */
	CHECK(k == 4 && ips[0] == b + 8 && ips[1] == b + 11 && ips[2] == b + 12 && ips[3] == b + 13,
	      "popf: %d traps, %04x %04x %04x %04x", k, ips[0], ips[1], ips[2], ips[3]);
	CHECK(h.cpu.r[R_EDX] == 3, "popf: ran to the end");
	CHECK(!(h.cpu.eflags & FL_TF), "popf: TF still set");

	/* MOV SS / POP SS: the trap comes after the following instruction. */
	start(d_movss, FL_TF);
	h.cpu.r[R_EAX] = 0;
	k = collect(ips, 3);
	b = IP(d_movss);
	/* mov ss (2) + mov bx (3) -> b+5; push (1) -> b+6; pop ss (1) + mov cx (3) -> b+10; mov dx -> b+13 */
	CHECK(k == 3 && ips[0] == b + 5 && ips[1] == b + 6 && ips[2] == b + 10, "mov/pop ss: %d traps, %04x %04x %04x",
	      k, ips[0], ips[1], ips[2]);

	/* INT n: the handler runs without TF; the trap follows the
	 * instruction after the INT, once IRET has restored TF. */
	start(d_int, FL_TF);
	k = collect(ips, 1);
	b = IP(d_int);
	CHECK(k == 1 && ips[0] == b + 5, "INT n: %d traps, first at %04x (want %04x)", k, ips[0], b + 5);
	CHECK(h.cpu.r[R_EBX] == 1 && h.cpu.r[R_ECX] != 2, "INT n: wrong instructions ran");

	start(d_int3, FL_TF);
	CHECK(run() == EXC_BP && frame(0) == IP(d_int3) + 1, "INT3 under TF: frame %04x", frame(0));
	/* INTO with OF clear is an ordinary instruction: it traps. */
	start(d_into, FL_TF);
	k = collect(ips, 1);
	CHECK(k == 1 && ips[0] == IP(d_into) + 1, "INTO not taken: %d traps at %04x", k, ips[0]);

	/* A faulting instruction under TF delivers its fault, no #DB. */
	start(d_ud, FL_TF);
	CHECK(run() == EXC_UD, "UD2 under TF");
	CHECK(frame(0) == IP(d_ud), "UD2 frame %04x", frame(0));
}

static void test_code_breakpoint(void)
{
	/* DR0 at the second instruction, local enable, exec, len 1. */
	start(d_bp, 0);
	h.cpu.dr[0] = IP(d_bp2);
	h.cpu.dr[7] = 0x401;
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB, "code breakpoint not hit");
	CHECK(frame(0) == IP(d_bp2), "code breakpoint is a fault: frame %04x", frame(0));
	CHECK((h.cpu.dr[6] & 0xf) == 1 && !(h.cpu.dr[6] & DR6_BS), "DR6 %08x", h.cpu.dr[6]);
	CHECK(h.cpu.r[R_EBX] == 1 && h.cpu.r[R_ECX] != 2, "breakpointed instruction ran");
	/* Without RF the same breakpoint fires again. */
	resume(0);
	CHECK(run() == EXC_DB && frame(0) == IP(d_bp2), "no refire without RF");
	/* With RF the instruction runs; RF is gone after it. */
	resume(1);
	CHECK(run() == -1 && h.cpu.halted, "RF did not let the instruction run");
	CHECK(h.cpu.r[R_ECX] == 2 && h.cpu.r[R_EDX] == 3, "after RF resume");
	CHECK(!(h.cpu.eflags & FL_RF), "RF not cleared");

	/* DR3 with a global enable, breakpoint on the first instruction. */
	start(d_bp, 0);
	h.cpu.dr[3] = IP(d_bp);
	h.cpu.dr[7] = 0x480;
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB && frame(0) == IP(d_bp) && (h.cpu.dr[6] & 0xf) == 8, "DR3: DR6 %08x", h.cpu.dr[6]);
	/* A data breakpoint on the code address does not fire on fetch. */
	start(d_bp, 0);
	h.cpu.dr[2] = IP(d_bp2);
	h.cpu.dr[7] = 0x410 | (3u << 24) | (0u << 26); /* L2, RW=11, LEN=1 */
	debug_update(&h.cpu);
	CHECK(run() == -1 && h.cpu.halted, "data breakpoint fired on instruction fetch");
}

static void test_data_breakpoint(void)
{
	start(d_data, 0);
	CHECK(run() == EXC_DB, "write breakpoint not hit");
	CHECK(frame(0) == IP(d_w1e), "data breakpoint is a trap after the write: %04x want %04x", frame(0),
	      IP(d_w1e));
	CHECK((h.cpu.dr[6] & 0xf) == 2, "DR6 %08x", h.cpu.dr[6]);
	resume(0);
	CHECK(run() == EXC_DB, "straddling write not hit");
	CHECK(frame(0) == IP(d_w2e), "straddling write trap at %04x want %04x", frame(0), IP(d_w2e));
	resume(0);
	CHECK(run() == -1 && h.cpu.halted, "ran to the end");

	/* RW=11 on one byte at 0x6000, set through DR0 unaligned-free. */
	start(d_rw, 0);
	h.cpu.dr[0] = 0x6000;
	h.cpu.dr[7] = 0x401 | (3u << 16); /* L0, RW=11, LEN=1 */
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB && frame(0) == IP(d_rw2e), "read breakpoint: frame %04x want %04x", frame(0),
	      IP(d_rw2e));
	/* LEN=4 with an unaligned address covers the aligned dword. */
	start(d_rw, 0);
	h.cpu.dr[0] = 0x6003;
	h.cpu.dr[7] = 0x401 | (3u << 16) | (3u << 18);
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB && frame(0) == IP(d_rwe), "len 4: frame %04x want %04x", frame(0), IP(d_rwe));
	/* Disabled (no L/G bit): nothing. */
	start(d_rw, 0);
	h.cpu.dr[0] = 0x6000;
	h.cpu.dr[7] = 0x400 | (3u << 16);
	debug_update(&h.cpu);
	CHECK(run() == -1 && h.cpu.halted, "disabled breakpoint fired");
}

static void test_general_detect(void)
{
	start(d_gd, 0);
	h.cpu.dr[7] = 0x2400;
	debug_update(&h.cpu);
	CHECK(run() == EXC_DB, "GD: no #DB");
	CHECK(frame(0) == IP(d_gd1), "GD is a fault: frame %04x", frame(0));
	CHECK((h.cpu.dr[6] & DR6_BD) && !(h.cpu.dr[7] & DR7_GD), "GD: DR6 %08x DR7 %08x", h.cpu.dr[6], h.cpu.dr[7]);
	resume(0); /* GD is clear now: the access goes through */
	CHECK(run() == -1 && h.cpu.halted && h.cpu.r[R_ECX] == 2, "after GD");
}

int main(void)
{
	h_init(&h, 4 << 20);
	install_ivt();
	h_load(&h, CODE, d_base, (size_t)(d_end - d_base));
	test_single_step();
	test_code_breakpoint();
	test_data_breakpoint();
	test_general_detect();
	h_free(&h);
	if (failures) {
		printf("system debug: %d failures\n", failures);
		return 1;
	}
	printf("system debug: ok\n");
	return 0;
}
