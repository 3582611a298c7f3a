/* Data movement, stack, string, branch, flag and I/O instructions in real
 * mode and with 16-bit operand/address sizes: what the differential test
 * against the host (flat 32-bit user mode) cannot reach — segment bases
 * and overrides, SI/DI/CX wrapping at 64 KiB with the high halves kept,
 * 16-bit stacks, ENTER nesting, far transfers, exceptions through the IVT
 * (#BR, #GP), the STI interrupt shadow and a REP interrupted midway. */
#include "harness.h"

#define SNIP(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code16\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];

#define LOAD(h, name, at) h_load(h, at, name##_start, (size_t)(name##_end - name##_start))

static int failures;
static struct harness H;

static uint8_t rd8(uint32_t pa) { return H.ram[pa]; }
static uint16_t rd16(uint32_t pa) { return (uint16_t)(H.ram[pa] | H.ram[pa + 1] << 8); }
static void wr16(uint32_t pa, uint16_t v) { H.ram[pa] = (uint8_t)v; H.ram[pa + 1] = (uint8_t)(v >> 8); }

/* Real mode at 0000:7C00 (code loaded there), SS:SP = 0:7000. */
static enum cpu_stop run_at(uint32_t ip)
{
	H.nout = 0;
	H.out[0] = 0;
	H.nio = 0;
	enum cpu_stop st = h_run(&H, 200000);
	(void)ip;
	return st;
}

/* ---- segment override with a non-zero base; moffs forms ---- */
SNIP(moffs,
     " mov $0x1000, %ax\n mov %ax, %es\n"
     " movw $0x1234, %es:0x10\n"   /* C7 with ES: phys 0x10010 */
     " mov %es:0x10, %ax\n"        /* A1 moffs with ES */
     " mov %ax, %es:0x20\n"        /* A3 moffs with ES */
     " mov $0x0200, %bx\n mov %bx, %ds\n"
     " movb $0x77, 0x5\n"          /* DS base 0x2000 */
     " mov %cs, %dx\n"
     " movzbw 0x5, %cx\n"
     " movsbl %al, %esi\n"
     " hlt\n")

static void t_moffs(void)
{
	LOAD(&H, moffs, 0x7c00);
	h_real(&H, 0, 0x7c00);
	H.cpu.r[R_ESI] = 0xdeadbeef;
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0x10010) == 0x1234, "es:0x10 = %04x", rd16(0x10010));
	CHECK(rd16(0x10020) == 0x1234, "es:0x20 = %04x", rd16(0x10020));
	CHECK((H.cpu.r[R_EAX] & 0xffff) == 0x1234, "ax %08x", H.cpu.r[R_EAX]);
	CHECK(rd8(0x2005) == 0x77, "ds:5 = %02x", rd8(0x2005));
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 0, "mov dx, cs %08x", H.cpu.r[R_EDX]);
	CHECK((H.cpu.r[R_ECX] & 0xffff) == 0x77, "movzx %08x", H.cpu.r[R_ECX]);
	CHECK(H.cpu.r[R_ESI] == 0x34, "movsx esi, al %08x", H.cpu.r[R_ESI]);
}

/* ---- string instructions with 16-bit addresses ---- */
SNIP(str16,
     " mov $0x2000, %ax\n mov %ax, %ds\n mov $0x3000, %ax\n mov %ax, %es\n"
     " mov $0x1234fffe, %esi\n mov $0x56780010, %edi\n mov $0xabcd0004, %ecx\n"
     " cld\n rep movsb\n"                 /* SI wraps 0xfffe -> 0x0002 */
     " mov %esi, %ebp\n"
     /* segment override on the source: FS base 0x40000 */
     " mov $0x4000, %ax\n mov %ax, %fs\n"
     " xor %si, %si\n mov $0x100, %di\n mov $3, %cx\n"
     " rep movsw %fs:(%si), %es:(%di)\n"
     " hlt\n")

static void t_str16(void)
{
	for (int i = 0; i < 16; i++) {
		H.ram[0x2fff0 + i] = (uint8_t)(0xa0 + i);
		H.ram[0x20000 + i] = (uint8_t)(0xb0 + i);
		H.ram[0x40000 + i] = (uint8_t)(0xc0 + i);
	}
	LOAD(&H, str16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd8(0x30010) == 0xae && rd8(0x30011) == 0xaf && rd8(0x30012) == 0xb0 && rd8(0x30013) == 0xb1,
	      "wrapped copy %02x %02x %02x %02x", rd8(0x30010), rd8(0x30011), rd8(0x30012), rd8(0x30013));
	CHECK(H.cpu.r[R_EBP] == 0x12340002, "esi after wrap %08x", H.cpu.r[R_EBP]);
	CHECK((H.cpu.r[R_ECX] & 0xffff0000u) == 0xabcd0000u, "ecx high kept %08x", H.cpu.r[R_ECX]);
	CHECK((H.cpu.r[R_EDI] >> 16) == 0x5678, "edi high kept %08x", H.cpu.r[R_EDI]);
	CHECK(rd16(0x30100) == 0xc1c0 && rd16(0x30104) == 0xc5c4, "fs override %04x %04x", rd16(0x30100),
	      rd16(0x30104));
	CHECK((H.cpu.r[R_ESI] & 0xffff) == 6 && (H.cpu.r[R_EDI] & 0xffff) == 0x106, "si %x di %x",
	      H.cpu.r[R_ESI], H.cpu.r[R_EDI]);
}

/* ---- compare/scan, backward lods, XLAT with an override ---- */
SNIP(cmpscan,
     " xor %ax, %ax\n mov %ax, %ds\n mov %ax, %es\n"
     " mov $0x600, %si\n mov $0x700, %di\n mov $10, %cx\n cld\n"
     " repe cmpsb\n"
     " pushf\n pop %bx\n mov %bx, 0x810\n"
     " mov %cx, 0x800\n mov %si, 0x802\n mov %di, 0x804\n"
     " mov $0x600, %di\n mov $'c', %al\n mov $10, %cx\n"
     " repne scasb\n"
     " pushf\n pop %dx\n"
     " mov %cx, 0x806\n mov %di, 0x808\n"
     " std\n mov $0x604, %si\n lodsw\n mov %ax, 0x80a\n mov %si, 0x80c\n cld\n"
     " mov $0x1000, %ax\n mov %ax, %gs\n mov $0x20, %bx\n mov $3, %al\n gs xlat\n"
     " mov %al, 0x80e\n"
     " hlt\n")

static void t_cmpscan(void)
{
	memcpy(H.ram + 0x600, "abcXefgh", 8);
	memcpy(H.ram + 0x700, "abcYefgh", 8);
	H.ram[0x10023] = 0x5a;
	LOAD(&H, cmpscan, 0x7c00);
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0x800) == 6 && rd16(0x802) == 0x604 && rd16(0x804) == 0x704, "repe cmpsb cx %d si %x di %x",
	      rd16(0x800), rd16(0x802), rd16(0x804));
	CHECK(!(rd16(0x810) & FL_ZF) && (rd16(0x810) & FL_CF), "cmps flags %04x", rd16(0x810));
	CHECK(rd16(0x806) == 7 && rd16(0x808) == 0x603, "repne scasb cx %d di %x", rd16(0x806), rd16(0x808));
	CHECK(H.cpu.r[R_EDX] & FL_ZF, "scas zf %04x", H.cpu.r[R_EDX] & 0xffff);
	CHECK(rd16(0x80a) == ('f' << 8 | 'e') && rd16(0x80c) == 0x602, "std lodsw %04x si %x", rd16(0x80a),
	      rd16(0x80c));
	CHECK(rd8(0x80e) == 0x5a, "gs xlat %02x", rd8(0x80e));
}

/* ---- 16-bit stack ---- */
SNIP(stack16,
     " xor %ax, %ax\n mov %ax, %ss\n mov $0x7000, %sp\n"
     " mov $0x1111, %ax\n mov $0x2222, %cx\n mov $0x3333, %dx\n mov $0x4444, %bx\n"
     " mov $0x5555, %bp\n mov $0x6666, %si\n mov $0x7777, %di\n"
     " pusha\n"
     " xor %ax, %ax\n xor %cx, %cx\n xor %dx, %dx\n xor %bx, %bx\n xor %bp, %bp\n xor %si, %si\n xor %di, %di\n"
     " mov %sp, 0x900\n"
     " popa\n"
     " mov %sp, 0x902\n"
     " push $-1\n pop %ax\n mov %ax, 0x904\n"         /* push imm8 sign-extended to 16 */
     " push %sp\n pop %ax\n mov %ax, 0x906\n"         /* pushes SP before the push */
     " pushl $0x89abcdef\n popl %eax\n mov %eax, 0x908\n mov %sp, 0x90c\n"
     " push $0x4242\n mov $0x950, %bx\n popw (%bx)\n"
     " push %cs\n pop %ax\n mov %ax, 0x90e\n"
     " hlt\n")

static void t_stack16(void)
{
	LOAD(&H, stack16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	H.cpu.r[R_ESP] = 0xbeef0000u; /* the high half must survive SP arithmetic */
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0x900) == 0x6ff0, "sp after pusha %04x", rd16(0x900));
	CHECK(rd16(0x7000 - 10) == 0x7000, "pusha saved sp %04x", rd16(0x7000 - 10));
	CHECK(rd16(0x902) == 0x7000, "sp after popa %04x", rd16(0x902));
	CHECK((H.cpu.r[R_EBP] & 0xffff) == 0x5555 && (H.cpu.r[R_EDI] & 0xffff) == 0x7777, "popa bp %x di %x",
	      H.cpu.r[R_EBP], H.cpu.r[R_EDI]);
	CHECK(rd16(0x904) == 0xffff, "push imm8 %04x", rd16(0x904));
	CHECK(rd16(0x906) == 0x7000, "push sp %04x", rd16(0x906));
	CHECK(rd16(0x908) == 0xcdef && rd16(0x90a) == 0x89ab && rd16(0x90c) == 0x7000, "push32 %04x%04x sp %04x",
	      rd16(0x90a), rd16(0x908), rd16(0x90c));
	CHECK(rd16(0x950) == 0x4242, "pop mem %04x", rd16(0x950));
	CHECK(rd16(0x90e) == 0, "push cs %04x", rd16(0x90e));
	CHECK((H.cpu.r[R_ESP] >> 16) == 0xbeef, "esp high %08x", H.cpu.r[R_ESP]);
}

/* ---- ENTER with nesting, LEAVE, 16-bit operand ---- */
SNIP(enter16,
     " mov $0x6f00, %bp\n mov $0x6e00, %sp\n"
     " enter $8, $3\n"
     " mov %sp, 0xa00\n mov %bp, 0xa02\n"
     " leave\n"
     " mov %sp, 0xa04\n mov %bp, 0xa06\n"
     " hlt\n")

static void t_enter16(void)
{
	wr16(0x6f00 - 2, 0xaaaa);
	wr16(0x6f00 - 4, 0xbbbb);
	LOAD(&H, enter16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	/* push bp (6dfe), copies of [bp-2], [bp-4] (6dfc, 6dfa), frame 6dfe (6df8), sp -= 8 */
	CHECK(rd16(0x6dfe) == 0x6f00 && rd16(0x6dfc) == 0xaaaa && rd16(0x6dfa) == 0xbbbb && rd16(0x6df8) == 0x6dfe,
	      "frame %04x %04x %04x %04x", rd16(0x6dfe), rd16(0x6dfc), rd16(0x6dfa), rd16(0x6df8));
	CHECK(rd16(0xa00) == 0x6df0 && rd16(0xa02) == 0x6dfe, "enter sp %04x bp %04x", rd16(0xa00), rd16(0xa02));
	CHECK(rd16(0xa04) == 0x6e00 && rd16(0xa06) == 0x6f00, "leave sp %04x bp %04x", rd16(0xa04), rd16(0xa06));
}

/* ---- near/far branches, LOOP, JCXZ ---- */
SNIP(branch16,
     " xor %ax, %ax\n"
     " call 1f\n"                     /* pushes IP of the next instruction */
     " jmp 2f\n"
     "1: add $1, %ax\n ret\n"
     "2: push $0x1234\n call 3f\n jmp 4f\n"
     "3: add $2, %ax\n ret $2\n"       /* releases the pushed word */
     "4: mov %sp, 0xb00\n"
     " mov $0x10005, %ecx\n"           /* LOOP with a 16-bit address size counts CX */
     "5: inc %dx\n loop 5b\n"
     " mov %ecx, 0xb02\n"
     " jcxz 6f\n mov $0xdead, %ax\n"
     "6: mov $0x7c0, %bx\n"
     " mov $0xf000, %sp\n"
     " calll 7f\n"                     /* 66 E8: pushes a 32-bit return EIP */
     "7: popl %ebx\n"
     " hlt\n")

/* Far call/jmp/ret with absolute targets: assembled separately at 0x8000
 * (CS = 0x0800, IP from 0). */
SNIP(far16,
     " lcall $0x0800, $(f1 - far16_start)\n"
     " mov %ax, 0xc00\n"
     " ljmp $0x0800, $(f2 - far16_start)\n"
     " hlt\n"
     "f1: mov %cs, %ax\n lret\n"
     "f2: mov %cs, %bx\n"
     " push %cs\n push $(f3 - far16_start)\n lret\n"
     " hlt\n"
     "f3: mov $0x55, %cl\n hlt\n")

static void t_branch16(void)
{
	LOAD(&H, branch16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	H.cpu.r[R_EDX] = 0;
	enum cpu_stop st = h_run(&H, 200000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK((H.cpu.r[R_EAX] & 0xffff) == 3, "calls ax %04x", H.cpu.r[R_EAX]);
	CHECK(rd16(0xb00) == 0x7000, "ret imm sp %04x", rd16(0xb00));
	CHECK(rd16(0xb02) == 0 && rd16(0xb04) == 1, "loop ecx %04x%04x", rd16(0xb04), rd16(0xb02));
	CHECK((H.cpu.r[R_EDX] & 0xffff) == 5, "loop count %d", H.cpu.r[R_EDX] & 0xffff);
	CHECK((H.cpu.r[R_EAX] & 0xffff) == 3, "jcxz taken: ax %04x", H.cpu.r[R_EAX]);
	CHECK(H.cpu.r[R_ESP] == 0xf000, "calll/popl esp %08x", H.cpu.r[R_ESP]);

	LOAD(&H, far16, 0x8000);
	h_real(&H, 0x0800, 0);
	st = h_run(&H, 200000);
	CHECK(st == CPU_STOP_HALT, "far stop %d", st);
	CHECK(rd16(0xc00) == 0x0800, "lcall cs %04x", rd16(0xc00));
	CHECK((H.cpu.r[R_EBX] & 0xffff) == 0x0800, "ljmp cs %04x", H.cpu.r[R_EBX]);
	CHECK((H.cpu.r[R_ECX] & 0xff) == 0x55, "lret cl %02x", H.cpu.r[R_ECX] & 0xff);
	CHECK(H.cpu.seg[S_CS].sel == 0x0800 && H.cpu.seg[S_CS].base == 0x8000, "cs %04x base %x",
	      H.cpu.seg[S_CS].sel, H.cpu.seg[S_CS].base);
}

/* ---- exceptions through the IVT: #BR from BOUND, #GP from a word at
 * offset 0xFFFF; the handler records the pushed IP and halts ---- */
SNIP(exc16,
     " mov $0x5, %ax\n"
     " bound %ax, 0xd00\n"              /* [2, 4]: 5 is out of range */
     " hlt\n"
     "exc16_handler: pop %si\n pop %di\n mov %si, 0xd10\n hlt\n")

extern const unsigned char exc16_handler[];

SNIP(gp16,
     " mov 0xffff, %ax\n"
     " hlt\n")

static void t_exc16(void)
{
	uint32_t handler = 0x7c00 + (uint32_t)(exc16_handler - exc16_start);
	wr16(5 * 4, (uint16_t)handler);
	wr16(5 * 4 + 2, 0);
	wr16(13 * 4, (uint16_t)handler);
	wr16(13 * 4 + 2, 0);
	wr16(0xd00, 2);
	wr16(0xd02, 4);
	LOAD(&H, exc16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0xd10) == 0x7c03, "#BR pushed ip %04x", rd16(0xd10));

	/* in range: no fault */
	wr16(0xd02, 5);
	wr16(0xd10, 0);
	h_real(&H, 0, 0x7c00);
	st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == handler && rd16(0xd10) == 0, "bound in range: eip %x",
	      H.cpu.eip);

	LOAD(&H, gp16, 0x7e00);
	wr16(0xd10, 0);
	/* gp16 faults into exc16's handler, still loaded at 0x7c00 */
	h_real(&H, 0, 0x7e00);
	st = run_at(0x7e00);
	CHECK(st == CPU_STOP_HALT && rd16(0xd10) == 0x7e00, "#GP on offset ffff: ip %04x", rd16(0xd10));
}

/* ---- STI shadow and a REP interrupted between chunks ---- */
SNIP(irq16,
     " xor %ax, %ax\n mov %ax, %es\n mov $0x1000, %di\n mov $10000, %cx\n mov $0x5a, %al\n"
     " cld\n xor %bx, %bx\n"
     " sti\n"
     "irq16_rep: rep stosb\n"
     " mov $2, %bx\n"
     " hlt\n"
     "irq16_isr: mov %cx, 0xe00\n pop %si\n mov %si, 0xe02\n pop %si\n popf\n"
     " jmp irq16_rep\n")
extern const unsigned char irq16_rep[], irq16_isr[];

SNIP(sti16,
     " mov $0, %bx\n"
     " sti\n"
     " mov $1, %bx\n"
     " mov $2, %bx\n"
     " hlt\n"
     "sti16_isr: mov %bx, 0xe10\n hlt\n")
extern const unsigned char sti16_isr[];

static void t_irq16(void)
{
	LOAD(&H, irq16, 0x7c00);
	uint32_t rep_ip = 0x7c00 + (uint32_t)(irq16_rep - irq16_start);
	uint32_t isr = 0x7c00 + (uint32_t)(irq16_isr - irq16_start);
	wr16(0x20 * 4, (uint16_t)isr);
	wr16(0x20 * 4 + 2, 0);
	h_real(&H, 0, 0x7c00);
	H.cpu.intr_line = 1;
	H.pending_vector = 0x20;
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0xe02) == rep_ip, "interrupted at %04x, want the REP at %04x", rd16(0xe02), rep_ip);
	CHECK(rd16(0xe00) > 0 && rd16(0xe00) < 10000, "cx at the interrupt %d", rd16(0xe00));
	CHECK((H.cpu.r[R_ECX] & 0xffff) == 0 && (H.cpu.r[R_EDI] & 0xffff) == 0x1000 + 10000 &&
		      (H.cpu.r[R_EBX] & 0xffff) == 2,
	      "after resume cx %x di %x", H.cpu.r[R_ECX], H.cpu.r[R_EDI]);
	int bad = 0;
	for (uint32_t i = 0; i < 10000; i++)
		bad += H.ram[0x1000 + i] != 0x5a;
	CHECK(bad == 0 && H.ram[0x1000 + 10000] != 0x5a, "stosb wrote %d bad bytes", bad);

	/* STI with IF = 0: the instruction after it runs before the interrupt. */
	LOAD(&H, sti16, 0x7c00);
	wr16(0x20 * 4, (uint16_t)(0x7c00 + (sti16_isr - sti16_start)));
	h_real(&H, 0, 0x7c00);
	H.cpu.intr_line = 1;
	st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT && rd16(0xe10) == 1, "interrupt after sti saw bx=%d", rd16(0xe10));
}

/* ---- flags: PUSHF/POPF (real mode: all), LAHF/SAHF, CMC, SALC, CBW.. ---- */
SNIP(flags16,
     " push $0x3ed5\n popf\n pushf\n pop %ax\n mov %ax, 0xf00\n"   /* IOPL, NT, all arith */
     " push $0\n popf\n"
     " stc\n cmc\n lahf\n mov %ah, 0xf02\n"
     " mov $0xd5, %ah\n sahf\n pushf\n pop %ax\n mov %ax, 0xf04\n"
     " .byte 0xd6\n mov %al, 0xf06\n"                              /* SALC with CF=1 */
     " mov $0x80, %al\n cbw\n mov %ax, 0xf08\n cwd\n mov %dx, 0xf0a\n"
     " mov $0x8000, %ax\n cwde\n mov %eax, 0xf0c\n cdq\n mov %edx, 0xf10\n"
     " std\n pushfl\n popl %eax\n mov %eax, 0xf14\n cld\n"
     " hlt\n")

static void t_flags16(void)
{
	LOAD(&H, flags16, 0x7c00);
	h_real(&H, 0, 0x7c00);
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(rd16(0xf00) == 0x3ed7, "popf in real mode %04x", rd16(0xf00));
	CHECK(rd8(0xf02) == 0x02, "lahf after stc;cmc %02x", rd8(0xf02));
	CHECK((rd16(0xf04) & 0xff) == 0xd7, "sahf %04x", rd16(0xf04));
	CHECK(rd8(0xf06) == 0xff, "salc %02x", rd8(0xf06));
	CHECK(rd16(0xf08) == 0xff80 && rd16(0xf0a) == 0xffff, "cbw %04x cwd %04x", rd16(0xf08), rd16(0xf0a));
	CHECK(rd16(0xf0c) == 0x8000 && rd16(0xf0e) == 0xffff && rd16(0xf10) == 0xffff && rd16(0xf12) == 0xffff,
	      "cwde/cdq");
	CHECK(rd16(0xf14) & FL_DF, "std %04x", rd16(0xf14));
}

/* ---- port I/O: real mode needs no permission ---- */
SNIP(io16,
     " mov $0x12, %al\n out %al, $0x80\n"
     " mov $0x3f8, %dx\n mov $0x3456, %ax\n out %ax, %dx\n"
     " mov $0x77665544, %eax\n out %eax, %dx\n"
     " in $0x60, %al\n mov %al, 0x1000\n"
     " in %dx, %eax\n mov %eax, 0x1004\n"
     " mov $0x1100, %si\n mov $3, %cx\n rep outsb\n"
     " mov $0x5200, %di\n mov $2, %cx\n rep insw\n"
     " hlt\n")

static void t_io16(void)
{
	LOAD(&H, io16, 0x7c00);
	memcpy(H.ram + 0x1100, "xyz", 3);
	h_real(&H, 0, 0x7c00);
	H.port_in_value = 0xa1b2c3d4;
	enum cpu_stop st = run_at(0x7c00);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	CHECK(H.nio == 6, "io log %d", H.nio);
	CHECK(H.io_log[0].port == 0x80 && H.io_log[0].size == 1 && H.io_log[0].val == 0x12, "out imm8");
	CHECK(H.io_log[1].port == 0x3f8 && H.io_log[1].size == 2 && H.io_log[1].val == 0x3456, "out dx, ax");
	CHECK(H.io_log[2].size == 4 && H.io_log[2].val == 0x77665544, "out dx, eax");
	CHECK(H.io_log[3].val == 'x' && H.io_log[5].val == 'z' && H.io_log[5].port == 0x3f8, "outsb");
	CHECK(rd8(0x1000) == 0xd4, "in al %02x", rd8(0x1000));
	CHECK(rd16(0x1004) == 0xc3d4 && rd16(0x1006) == 0xa1b2, "in eax");
	CHECK(rd16(0x5200) == 0xc3d4 && rd16(0x5202) == 0xc3d4 && rd16(0x5204) == 0, "insw");
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_moffs();
	t_str16();
	t_cmpscan();
	t_stack16();
	t_enter16();
	t_branch16();
	t_exc16();
	t_irq16();
	t_flags16();
	t_io16();
	h_free(&H);
	if (failures) {
		printf("ops real mode: %d failures\n", failures);
		return 1;
	}
	printf("ops real mode: ok\n");
	return 0;
}
