/* x87 system behaviour in a real-mode guest:
 * - lazy FPU switching: two "tasks" share the FPU, each switch sets
 *   CR0.TS, the #NM handler saves the owner's registers (FNSAVE) and
 *   restores the next task's (FRSTOR); both tasks' registers survive 200
 *   switches;
 * - #NM rules (SDM Vol. 3, Table 2-2): FWAIT faults only with TS and MP;
 *   EM makes every ESC instruction fault; FXSAVE with EM is #UD;
 * - FISTTP (SSE3) is #UD on this P6;
 * - a pending unmasked exception: #MF at the next waiting instruction when
 *   CR0.NE=1; FERR# -> IRQ 13 when CR0.NE=0, the instruction waiting until
 *   the handler clears the exception;
 * - the real-mode FSTENV layouts (16- and 32-bit), SDM Vol. 1, Figs 8-10
 *   and 8-12. */
#include "harness.h"

#define CUR "0x2000"
#define OWNER "0x2002"
#define NM_COUNT "0x2004"
#define MF_COUNT "0x200a"
#define UD_COUNT "0x200c"
#define IRQ13_COUNT "0x2010"
#define UD_SKIP "0x201e"

__asm__(".pushsection .rodata\n"
	"ts_start:\n.code16\n"
	/* task 1's initial FPU state: st0 = 1; task 0 starts with st0 = 0 */
	" fninit\n fld1\n fnsave 0x2200\n"
	" fninit\n fldz\n movw $0, " OWNER "\n"
	" mov $100, %cx\n"
	"1: movw $0, " CUR "\n call set_ts\n fld1\n faddp\n"               /* task 0: += 1 */
	" movw $1, " CUR "\n call set_ts\n fld1\n fadd %st(0), %st\n faddp\n" /* task 1: += 2 */
	" loop 1b\n"
	" fistps 0x2008\n"                                               /* task 1's: 201 */
	" movw $0, " CUR "\n call set_ts\n fistps 0x2006\n"              /* task 0's: 100 */
	" mov " NM_COUNT ", %ax\n mov %ax, 0x2014\n"
	/* FWAIT: TS=1 MP=0 no #NM; TS=1 MP=1 #NM */
	" mov %cr0, %eax\n or $8, %al\n and $0xfd, %al\n mov %eax, %cr0\n fwait\n"
	" mov " NM_COUNT ", %ax\n mov %ax, 0x2016\n"
	" mov %cr0, %eax\n or $0xa, %al\n mov %eax, %cr0\n fwait\n"
	" mov " NM_COUNT ", %ax\n mov %ax, 0x2018\n"
	/* EM=1: FLD1 faults #NM */
	" mov %cr0, %eax\n or $4, %al\n mov %eax, %cr0\n fld1\n fstp %st(0)\n"
	" mov " NM_COUNT ", %ax\n mov %ax, 0x201a\n"
	/* EM=1: FXSAVE is #UD; then FISTTP is #UD on a P6 */
	" mov %cr0, %eax\n or $4, %al\n mov %eax, %cr0\n"
	" movw $5, " UD_SKIP "\n fxsave 0x2400\n"
	" mov %cr0, %eax\n and $0xfb, %al\n mov %eax, %cr0\n"
	" fld1\n movw $4, " UD_SKIP "\n fisttpl 0x2300\n fstp %st(0)\n"
	/* CR0.NE=1: #MF at the FWAIT after an unmasked invalid operation */
	" mov %cr0, %eax\n or $0x20, %al\n mov %eax, %cr0\n"
	" fninit\n fldcw 0x2020\n fldz\n fldz\n fdivrp\n fwait\n"
	/* CR0.NE=0: FERR# -> IRQ 13, the FWAIT waits for the handler */
	" mov %cr0, %eax\n and $0xdf, %al\n mov %eax, %cr0\n"
	" sti\n fninit\n fldcw 0x2020\n fldz\n fldz\n fdivrp\n fwait\n cli\n"
	" movw $1, 0x2012\n"
	/* precise faults: a store crossing the segment limit (#GP) leaves
	 * the FPU as it was: no pop, no FNSAVE re-initialization */
	" fninit\n fld1\n fld1\n"
	" movw $4, " UD_SKIP "\n fstpt 0xfffa\n fnstsw 0x2032\n"
	" movw $4, " UD_SKIP "\n fnsave 0xffc0\n fnstsw 0x2034\n"
	" movw $5, " UD_SKIP "\n fxsave 0x2408\n"
	/* the real-mode environment layouts */
	" fninit\n"
	".globl ts_fip\n"
	"ts_fip: flds 0x2600\n"
	/* control instructions keep the last instruction's pointers */
	" fnstcw 0x2580\n fldcw 0x2580\n fnclex\n fwait\n"
	" fnstenv 0x2500\n data32 fnstenv 0x2540\n"
	" mov $0, %al\n out %al, $0xf4\n hlt\n"
	"set_ts: mov %cr0, %eax\n or $8, %al\n mov %eax, %cr0\n ret\n"
	/* #NM: clear TS (and EM), hand the FPU to the current task */
	".globl ts_nm\n"
	"ts_nm: push %eax\n"
	" mov %cr0, %eax\n and $0xf3, %al\n mov %eax, %cr0\n"
	" incw " NM_COUNT "\n"
	" mov " CUR ", %ax\n cmp " OWNER ", %ax\n je 9f\n"
	" cmpw $0, " OWNER "\n jne 2f\n fnsave 0x2100\n jmp 3f\n2: fnsave 0x2200\n"
	"3: cmpw $0, " CUR "\n jne 4f\n frstor 0x2100\n jmp 5f\n4: frstor 0x2200\n"
	"5: mov " CUR ", %ax\n mov %ax, " OWNER "\n"
	"9: pop %eax\n iret\n"
	".globl ts_mf\n"
	"ts_mf: fnclex\n incw " MF_COUNT "\n iret\n"
	".globl ts_ud\n"
	"ts_ud: push %bp\n mov %sp, %bp\n push %ax\n mov " UD_SKIP ", %ax\n add %ax, 2(%bp)\n"
	" pop %ax\n pop %bp\n incw " UD_COUNT "\n iret\n"
	".globl ts_gp\n"
	"ts_gp: push %bp\n mov %sp, %bp\n push %ax\n mov " UD_SKIP ", %ax\n add %ax, 2(%bp)\n"
	" pop %ax\n pop %bp\n incw 0x2030\n iret\n" /* real mode: no error code */
	".globl ts_irq13\n"
	"ts_irq13: fnclex\n incw " IRQ13_COUNT "\n push %ax\n mov $0, %al\n out %al, $0xf0\n pop %ax\n iret\n"
	".code64\nts_end:\n"
	".popsection\n");
extern const unsigned char ts_start[], ts_end[], ts_nm[], ts_mf[], ts_ud[], ts_irq13[], ts_fip[], ts_gp[];

#define BASE 0x1000

static int ferr_up, ferr_down;
static void on_ferr(void *opaque, int level)
{
	struct harness *h = opaque;
	if (level) {
		ferr_up++;
		h->pending_vector = 0x75; /* IRQ 13 on the slave PIC's default base */
		h->cpu.intr_line = 1;
	} else {
		ferr_down++;
	}
}

static uint16_t rd16(struct harness *h, uint32_t a)
{
	uint16_t v = 0;
	cpu_phys_read(&h->cpu, a, &v, 2);
	return v;
}


static void set_vec(struct harness *h, int v, const unsigned char *handler)
{
	uint16_t ent[2] = {(uint16_t)(BASE + (handler - ts_start)), 0};
	h_load(h, (uint32_t)v * 4, ent, 4);
}

int main(void)
{
	int failures = 0;
	static struct harness h;
	h_init(&h, 1 << 20);
	h.cpu.ferr = on_ferr;
	h_load(&h, BASE, ts_start, (size_t)(ts_end - ts_start));
	set_vec(&h, EXC_NM, ts_nm);
	set_vec(&h, EXC_MF, ts_mf);
	set_vec(&h, EXC_UD, ts_ud);
	set_vec(&h, 0x75, ts_irq13);
	set_vec(&h, EXC_GP, ts_gp);
	static const uint8_t pattern[6] = {1, 2, 3, 4, 5, 6};
	h_load(&h, 0xfffa, pattern, 6);
	uint16_t cw = 0x037e; /* invalid operation unmasked */
	h_load(&h, 0x2020, &cw, 2);
	float one = 1.0f;
	h_load(&h, 0x2600, &one, 4);
	h_real(&h, 0, BASE);
	h.cpu.cr0 |= CR0_MP | CR0_NE;
	enum cpu_stop st = h_run(&h, 100000);
	CHECK(st == CPU_STOP_REQUEST && h.exit_value == 0, "stop %d exit %d eip %04x", st, h.exit_value, h.cpu.eip);

	/* lazy switching */
	CHECK(rd16(&h, 0x2006) == 100, "task 0 counted %d, not 100", (int16_t)rd16(&h, 0x2006));
	CHECK(rd16(&h, 0x2008) == 201, "task 1 counted %d, not 201", (int16_t)rd16(&h, 0x2008));
	uint16_t nm = rd16(&h, 0x2014);
	CHECK(nm == 201, "#NM taken %d times in the switching loop, not 201", nm);
	/* #NM rules */
	CHECK(rd16(&h, 0x2016) == nm, "FWAIT with TS=1 MP=0 took #NM");
	CHECK(rd16(&h, 0x2018) == nm + 1, "FWAIT with TS=1 MP=1 did not take #NM");
	CHECK(rd16(&h, 0x201a) == nm + 2, "FLD1 with EM=1 did not take #NM");
	CHECK(rd16(&h, 0x200c) == 2, "#UD count %d, not 2 (FXSAVE with EM, FISTTP)", rd16(&h, 0x200c));
	/* pending exceptions */
	CHECK(rd16(&h, 0x200a) == 1, "#MF count %d, not 1", rd16(&h, 0x200a));
	CHECK(rd16(&h, 0x2010) == 1, "IRQ 13 count %d, not 1", rd16(&h, 0x2010));
	CHECK(ferr_up == 1 && ferr_down == 1, "FERR# raised %d, dropped %d times", ferr_up, ferr_down);
	int f0 = 0;
	for (int i = 0; i < h.nio; i++)
		f0 |= h.io_log[i].port == 0xf0;
	CHECK(f0, "the IRQ 13 handler did not run to its port 0xF0 write");
	CHECK(rd16(&h, 0x2012) == 1, "did not get past the FERR# wait");

	/* precise faults */
	CHECK(rd16(&h, 0x2030) == 3, "#GP count %d, not 3", rd16(&h, 0x2030));
	CHECK((rd16(&h, 0x2032) & 0x3800) == 0x3000, "FSTP m80 that faulted changed TOP: fsw %04x", rd16(&h, 0x2032));
	CHECK((rd16(&h, 0x2034) & 0x3800) == 0x3000, "FNSAVE that faulted re-initialized: fsw %04x", rd16(&h, 0x2034));
	uint8_t after[6];
	cpu_phys_read(&h.cpu, 0xfffa, after, 6);
	CHECK(memcmp(after, pattern, 6) == 0, "FSTP m80 that faulted wrote memory");

	/* real-mode environment: 16-bit layout at 0x2500, 32-bit at 0x2540 */
	uint32_t fip = BASE + (uint32_t)(ts_fip - ts_start);
	CHECK(rd16(&h, 0x2500) == 0x037f, "fcw %04x", rd16(&h, 0x2500));
	CHECK((rd16(&h, 0x2502) & 0x3800) == 0x3800, "fsw %04x (TOP 7)", rd16(&h, 0x2502));
	CHECK(rd16(&h, 0x2504) == 0x3fff, "ftw %04x", rd16(&h, 0x2504));
	CHECK(rd16(&h, 0x2506) == (fip & 0xffff), "fip %04x, want %04x", rd16(&h, 0x2506), fip);
	CHECK(rd16(&h, 0x2508) == (0x106 | ((fip >> 16) & 0xf) << 12), "fop/fip %04x", rd16(&h, 0x2508));
	CHECK(rd16(&h, 0x250a) == 0x2600, "fdp %04x", rd16(&h, 0x250a));
	CHECK(rd16(&h, 0x250c) == 0, "fdp high %04x", rd16(&h, 0x250c));
	CHECK(h_rd32(&h, 0x2540) == 0xffff037f, "fcw %08x", h_rd32(&h, 0x2540));
	CHECK(h_rd32(&h, 0x2548) == 0xffff3fff, "ftw %08x", h_rd32(&h, 0x2548));
	CHECK(h_rd32(&h, 0x254c) == (0xffff0000u | fip), "fip %08x", h_rd32(&h, 0x254c));
	CHECK(h_rd32(&h, 0x2550) == (0x106 | (fip >> 16) << 12), "fop %08x", h_rd32(&h, 0x2550));
	CHECK(h_rd32(&h, 0x2554) == 0xffff2600u, "fdp %08x", h_rd32(&h, 0x2554));
	CHECK(h_rd32(&h, 0x2558) == 0, "fdp high %08x", h_rd32(&h, 0x2558));

	h_free(&h);
	if (failures)
		return 1;
	printf("x87 lazy switching, #NM, #MF, FERR#, real-mode env: ok\n");
	return 0;
}
