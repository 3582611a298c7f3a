/* The STI interrupt shadow in flat 32-bit protected mode, where bt emits
 * CLI, STI and POPF inline (docs/bt.md): with an interrupt pending, STI with
 * IF = 0 lets exactly one more instruction run — whatever kind it is: an
 * emitted one, one whose memory access takes the slow path, a callout,
 * a branch, HLT — and the interrupt comes before the next; a CLI/STI
 * loop already translated and chained takes it at the first STI. The
 * interrupt handler stores EBX and EAX and the return EIP it finds, so a
 * wrong boundary shows, and the instruction count must be the same on
 * every engine. A POPF that sets IF lets the interrupt in right after it. */
#include "harness.h"

static int failures;
static struct harness H;

#define CODE 0x100000u
#define IDT 0x1000u
#define GDT 0x800u
#define ISR 0x3000u
#define SEEN 0x5000u /* the handler's record: EBX, EAX, return EIP */
#define DATA 0x6000u

/* vector 0x20: store EBX, EAX and the return EIP; HLT with IF = 0 */
SNIP32(isr, " mov %ebx, 0x5000\n mov %eax, 0x5004\n mov (%esp), %ecx\n mov %ecx, 0x5008\n hlt\n")
SNIP32(loop, " xor %ebx, %ebx\n"
	     "loop_top: cli\n sti\n inc %ebx\n cmp $100, %ebx\n jne loop_top\n cli\n hlt\n")
extern const unsigned char loop_top[];
SNIP32(slowmem, " sti\n mov 0x6000, %eax\n mov $7, %ebx\n hlt\n")
SNIP32(callout, " sti\n xchg %ah, %al\n mov $7, %ebx\n hlt\n")
SNIP32(branch, " sti\n jmp 1f\n1: mov $7, %ebx\n hlt\n")
SNIP32(stihlt, " sti\n hlt\n mov $7, %ebx\n hlt\n")
/* POPF setting IF has no shadow: the interrupt comes right after it */
SNIP32(popfif, " push %eax\n pop %eax\n pushl $0x202\n popfl\n mov $7, %ebx\n hlt\n")



static void setup(const unsigned char *s, const unsigned char *e)
{
	h_flat32(&H, CODE, 0x80000);
	h_flat_gdt(&H, GDT);
	h_wr32(&H, IDT + 0x20 * 8, (ISR & 0xffff) | (0x10u << 16));
	h_wr32(&H, IDT + 0x20 * 8 + 4, (ISR & 0xffff0000u) | 0x8e00u);
	H.cpu.idtr = (struct dtr){IDT, 0x21 * 8 - 1};
	h_load(&H, ISR, isr_start, (size_t)(isr_end - isr_start));
	h_load(&H, CODE, s, (size_t)(e - s));
	memset(H.ram + SEEN, 0xee, 12);
	h_wr32(&H, DATA, 0x12345678);
	H.cpu.eflags = FL_1;
	H.cpu.r[R_EAX] = 0x1122;
	H.cpu.r[R_EBX] = 0;
	H.pending_vector = 0x20;
}

/* Run with the interrupt pending from the start; the handler must have
 * seen ebx and eax, returning to ret_off (from CODE), after n
 * instructions in all. */
static void expect(const char *what, uint32_t ebx, uint32_t eax, uint32_t ret_off, uint64_t n)
{
	uint64_t ic = H.cpu.icount;
	H.cpu.intr_line = 1;
	enum cpu_stop st = h_run(&H, 100000);
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == ISR + (uint32_t)(isr_end - isr_start), "%s: stop %d at %08x",
	      what, st, H.cpu.eip);
	CHECK(h_rd32(&H, SEEN) == ebx && h_rd32(&H, SEEN + 4) == eax && h_rd32(&H, SEEN + 8) == CODE + ret_off,
	      "%s: handler saw ebx %x eax %x return %08x; want %x %x %08x", what, h_rd32(&H, SEEN), h_rd32(&H, SEEN + 4),
	      h_rd32(&H, SEEN + 8), ebx, eax, CODE + ret_off);
	CHECK(H.cpu.icount - ic == n, "%s: %llu instructions, want %llu", what,
	      (unsigned long long)(H.cpu.icount - ic), (unsigned long long)n);
}

static void t_loop(void)
{
	/* first without an interrupt: the loop is translated and chained */
	setup(loop_start, loop_end);
	enum cpu_stop st = h_run(&H, 100000);
	CHECK(st == CPU_STOP_HALT && H.cpu.r[R_EBX] == 100, "loop: stop %d ebx %d", st, H.cpu.r[R_EBX]);
	/* again from the top of the loop with IF = 0 and the line up: the
	 * interrupt comes after CLI, STI and the INC in STI's shadow */
	uint32_t top = (uint32_t)(loop_top - loop_start);
	H.cpu.eip = CODE + top;
	H.cpu.halted = 0;
	H.cpu.eflags = FL_1;
	H.cpu.r[R_EBX] = 0;
	expect("cli/sti loop", 1, 0x1122, top + 3, 3 + 5);
}

static void t_shadowed(void)
{
	/* the load in the shadow misses the TLB the first time: slow path */
	setup(slowmem_start, slowmem_end);
	expect("sti; load", 0, 0x12345678, 6, 2 + 5);
	/* the same again, TLB filled: the inline path */
	setup(slowmem_start, slowmem_end);
	expect("sti; load (again)", 0, 0x12345678, 6, 2 + 5);
	setup(callout_start, callout_end);
	expect("sti; xchg ah,al", 0, 0x2211, 3, 2 + 5);
	setup(branch_start, branch_end);
	expect("sti; jmp", 0, 0x1122, 3, 2 + 5);
	/* HLT in the shadow halts; the interrupt then wakes it */
	setup(stihlt_start, stihlt_end);
	expect("sti; hlt", 0, 0x1122, 2, 2 + 5);
	setup(popfif_start, popfif_end);
	expect("popf setting IF", 0, 0x1122, 8, 4 + 5);
}

int main(void)
{
	h_init(&H, 2u << 20);
	t_loop();
	t_shadowed();
	h_free(&H);
	if (failures) {
		fprintf(stderr, "sti shadow: %d failures\n", failures);
		return 1;
	}
	printf("sti shadow: ok\n");
	return 0;
}
