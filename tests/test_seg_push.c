/* MOV r, Sreg, PUSH Sreg, PUSHAD/POPAD, PUSHFD/POPFD, SAHF and PAUSE, which bt emits inline (the
 * kernel entry and exit paths are full of them): the selector is
 * zero-extended into a 32-bit register and a 32-bit push, a 16-bit
 * register keeps its upper half; PUSHAD stores the eight registers (ESP
 * as before it) in one go, POPAD loads them back but ESP; and the same
 * results with the 32 bytes crossing a page (the handler's path) and on
 * a second run. Each snippet fills the TLB first, so that the inline
 * path runs. */
#include "harness.h"

static int failures;
static struct harness H;

#define CODE 0x100000u
#define GDT 0x800u

SNIP32(movsr, " mov $0xdeadbeef, %eax\n mov %ds, %eax\n mov $0xdeadbeef, %ebx\n mov %cs, %bx\n"
	      " mov $0xdeadbeef, %ecx\n mov %fs, %ecx\n hlt\n")
/* the first PUSH/POP fill the TLB: the pushes after it take the inline path */
SNIP32(pushsr, " push %eax\n pop %eax\n push %ds\n pushw %cs\n push %fs\n hlt\n")
SNIP32(pusha, " pushal\n popal\n pushal\n mov $1, %eax\n mov $2, %ecx\n mov $3, %edx\n mov $4, %ebx\n"
	      " mov $5, %ebp\n mov $6, %esi\n mov $7, %edi\n mov %esp, 0x7000\n popal\n hlt\n")

/* PUSHFD/POPFD at CPL 0: the arithmetic flags and DF round trip */
SNIP32(flags, " push %eax\n pop %eax\n stc\n std\n pushfl\n clc\n cld\n popfl\n setc %al\n"
	      " pushfl\n popl %ebx\n cld\n hlt\n")

/* SAHF: SF ZF AF PF CF from AH, OF kept (set by the INC) */
SNIP32(sahf, " mov $0x7fffffff, %ecx\n inc %ecx\n mov $0x1500, %eax\n sahf\n pushfl\n popl %ecx\n hlt\n")

/* PAUSE: a NOP, or the end of the run with cpu->pause_exit (-smp) */
SNIP32(pause, " mov $1, %eax\n pause\n mov $2, %eax\n hlt\n")


static void setup(const unsigned char *s, const unsigned char *e, uint32_t esp)
{
	h_flat32(&H, CODE, esp);
	h_flat_gdt(&H, GDT);
	seg_set_cache(&H.cpu.seg[S_FS], 0, 0, 0, 0); /* null */
	h_load(&H, CODE, s, (size_t)(e - s));
	memset(H.ram + esp - 64, 0xff, 128);
}

static void t_movsr(void)
{
	for (int pass = 0; pass < 2; pass++) {
		setup(movsr_start, movsr_end, 0x80000);
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_HALT && H.cpu.r[R_EAX] == 0x18 && H.cpu.r[R_EBX] == 0xdead0010 &&
			      H.cpu.r[R_ECX] == 0,
		      "mov r, sreg (run %d): stop %d eax %x ebx %x ecx %x", pass, st, H.cpu.r[R_EAX], H.cpu.r[R_EBX],
		      H.cpu.r[R_ECX]);
	}
}

static void t_flags(void)
{
	for (int pass = 0; pass < 2; pass++) {
		setup(flags_start, flags_end, 0x80000);
		H.cpu.r[R_EAX] = 0;
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_HALT && H.cpu.r[R_EAX] == 1 && H.cpu.r[R_EBX] == (FL_1 | FL_CF | FL_DF) &&
			      H.cpu.r[R_ESP] == 0x80000 && !(H.cpu.eflags & FL_DF),
		      "pushfd/popfd (run %d): stop %d eax %x ebx %x esp %x eflags %x", pass, st, H.cpu.r[R_EAX],
		      H.cpu.r[R_EBX], H.cpu.r[R_ESP], H.cpu.eflags);
	}
	setup(sahf_start, sahf_end, 0x80000);
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT && (H.cpu.r[R_ECX] & FL_ARITH) == (FL_OF | FL_AF | FL_PF | FL_CF),
	      "sahf: stop %d flags %x", st, H.cpu.r[R_ECX]);
}

static void t_pause(void)
{
	for (int pass = 0; pass < 2; pass++) {
		setup(pause_start, pause_end, 0x80000);
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_HALT && H.cpu.r[R_EAX] == 2, "pause (run %d): stop %d eax %d", pass, st,
		      H.cpu.r[R_EAX]);
		setup(pause_start, pause_end, 0x80000);
		H.cpu.pause_exit = 1;
		st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_REQUEST && H.cpu.r[R_EAX] == 1 && H.cpu.eip == CODE + 7,
		      "pause with pause_exit (run %d): stop %d eax %d eip %x", pass, st, H.cpu.r[R_EAX], H.cpu.eip);
		H.cpu.pause_exit = 0;
	}
}

static void t_pushsr(void)
{
	for (int pass = 0; pass < 2; pass++) {
		setup(pushsr_start, pushsr_end, 0x80000);
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_HALT && H.cpu.r[R_ESP] == 0x7fff6 && h_rd32(&H, 0x7fffc) == 0x18 &&
			      (h_rd32(&H, 0x7fff8) >> 16) == 0x10 && h_rd32(&H, 0x7fff6) == 0 && (h_rd32(&H, 0x7fff8) & 0xffff) == 0,
		      "push sreg (run %d): stop %d esp %x [..fc] %x [..f8] %x [..f4] %x", pass, st, H.cpu.r[R_ESP],
		      h_rd32(&H, 0x7fffc), h_rd32(&H, 0x7fff8), h_rd32(&H, 0x7fff4));
	}
}

/* at esp: on one page, then with the 32 bytes across 0x7f000 */
static void t_pusha(uint32_t esp)
{
	static const uint32_t regs[8] = {0x11111111, 0x22222222, 0x33333333, 0x44444444,
					 0, 0x66666666, 0x77777777, 0x88888888};
	for (int pass = 0; pass < 2; pass++) {
		setup(pusha_start, pusha_end, esp);
		for (int r = 0; r < 8; r++)
			if (r != R_ESP)
				H.cpu.r[r] = regs[r];
		enum cpu_stop st = h_run(&H, 1000);
		CHECK(st == CPU_STOP_HALT && H.cpu.r[R_ESP] == esp && h_rd32(&H, 0x7000) == esp - 32,
		      "pushad/popad at %x (run %d): stop %d esp %x, %x between", esp, pass, st, H.cpu.r[R_ESP],
		      h_rd32(&H, 0x7000));
		for (int r = 0; r < 8; r++) {
			uint32_t img = h_rd32(&H, esp - 4 - 4 * (uint32_t)r);
			uint32_t want = r == R_ESP ? esp : regs[r];
			CHECK(img == want, "pushad at %x (run %d): image of reg %d %x, want %x", esp, pass, r, img, want);
			if (r != R_ESP)
				CHECK(H.cpu.r[r] == regs[r], "popad at %x (run %d): reg %d %x, want %x", esp, pass, r,
				      H.cpu.r[r], regs[r]);
		}
	}
}

int main(void)
{
	h_init(&H, 2u << 20);
	t_movsr();
	t_pushsr();
	t_flags();
	t_pause();
	t_pusha(0x80000);
	t_pusha(0x7f010);
	h_free(&H);
	if (failures) {
		fprintf(stderr, "segment pushes: %d failures\n", failures);
		return 1;
	}
	printf("segment pushes: ok\n");
	return 0;
}
