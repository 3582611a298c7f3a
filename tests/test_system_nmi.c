/* NMI blocking (SDM Vol. 3, 6.7.1): after an NMI is delivered, further
 * NMIs wait until the next IRET — an NMI raised while the handler runs
 * is held pending (it neither nests nor is lost) and is taken right after
 * the handler's IRET; an IRET that faults unblocks too. Maskable
 * interrupts are not blocked by it, and HLT does not lose a held NMI.
 * Runs on the engine $RINGVM_ENGINE names.
 */
#include "harness.h"

#define GDT 0x800u
#define IDT 0x1000u
#define CODE 0x100000u
#define NMI_H 0x101000u  /* vector 2 */
#define GP_H 0x102000u   /* vector 13 */
#define STACK 0x80000u
#define ENTRIES 0x5000u  /* NMI handler entries */
#define DEPTH 0x5004u    /* handlers running now */
#define NESTED 0x5008u   /* set if an entry found another running */

static struct harness h;
static int failures;


/* main: spin counting in EDX */
SNIP32(g_main, "1: inc %edx\n jmp 1b\n")
/* the NMI handler: count, note nesting, spin a while, IRET */
SNIP32(g_nmi,
       " incl 0x5000\n incl 0x5004\n cmpl $1, 0x5004\n jbe 1f\n movl $1, 0x5008\n"
       "1: mov $300, %ecx\n2: loop 2b\n"
       " decl 0x5004\n iret\n")
/* an NMI handler whose IRET faults (#GP: a null CS in its frame) */
SNIP32(g_nmi_bad,
       " incl 0x5000\n incl 0x5004\n cmpl $1, 0x5004\n jbe 1f\n movl $1, 0x5008\n"
       "1: decl 0x5004\n movl $0, 4(%esp)\n iret\n")
/* #GP handler: drop the error code and the bad frame's start, go back to
 * main with a fresh frame */
SNIP32(g_gp, " add $16, %esp\n pushf\n push $0x10\n push $0x100000\n iret\n")

static void gate(int vec, uint32_t at)
{
	h_wr32(&h, IDT + 8 * (uint32_t)vec, (at & 0xffff) | (0x10u << 16));
	h_wr32(&h, IDT + 8 * (uint32_t)vec + 4, (at & 0xffff0000u) | 0x8e00u);
}

static void setup(const unsigned char *nmi_s, const unsigned char *nmi_e)
{
	h_flat32(&h, CODE, STACK);
	h_flat_gdt(&h, GDT);
	memset(h.ram + IDT, 0, 0x100);
	gate(2, NMI_H);
	gate(13, GP_H);
	h.cpu.idtr = (struct dtr){IDT, 32 * 8 - 1};
	h_load(&h, CODE, g_main_start, (size_t)(g_main_end - g_main_start));
	h_load(&h, NMI_H, nmi_s, (size_t)(nmi_e - nmi_s));
	h_load(&h, GP_H, g_gp_start, (size_t)(g_gp_end - g_gp_start));
	memset(h.ram + ENTRIES, 0, 12);
}

static int in_handler(void)
{
	return h.cpu.eip >= NMI_H && h.cpu.eip < NMI_H + 0x100;
}

static void t_held_until_iret(void)
{
	setup(g_nmi_start, g_nmi_end);
	h.cpu.nmi_pending = 1;
	h_run(&h, 20);
	CHECK(h_rd32(&h, ENTRIES) == 1 && in_handler(), "first NMI: entries %u eip %x", h_rd32(&h, ENTRIES), h.cpu.eip);
	h.cpu.nmi_pending = 1; /* a second NMI while the handler runs */
	h_run(&h, 200);
	CHECK(h_rd32(&h, ENTRIES) == 1 && in_handler(), "second NMI taken inside the handler: entries %u eip %x",
	      h_rd32(&h, ENTRIES), h.cpu.eip);
	CHECK(h.cpu.nmi_pending, "the second NMI was lost");
	h_run(&h, 2000);
	CHECK(h_rd32(&h, ENTRIES) == 2, "second NMI after IRET: entries %u", h_rd32(&h, ENTRIES));
	CHECK(h_rd32(&h, NESTED) == 0, "NMI handlers nested");
	CHECK(!h.cpu.nmi_pending && !in_handler(), "back in main: pending %d eip %x", h.cpu.nmi_pending, h.cpu.eip);
	/* a third NMI later is taken at once */
	h.cpu.nmi_pending = 1;
	h_run(&h, 5);
	CHECK(h_rd32(&h, ENTRIES) == 3, "third NMI: entries %u", h_rd32(&h, ENTRIES));
}

static void t_faulting_iret(void)
{
	setup(g_nmi_bad_start, g_nmi_bad_end);
	h.cpu.nmi_pending = 1;
	h_run(&h, 8); /* into the handler, before its IRET */
	CHECK(h_rd32(&h, ENTRIES) == 1, "NMI: entries %u", h_rd32(&h, ENTRIES));
	h.cpu.nmi_pending = 1;
	h_run(&h, 200);
	/* the IRET faulted (#GP), unblocking; the held NMI came before the
	 * #GP handler's own IRET, so the handler ran twice */
	CHECK(h_rd32(&h, ENTRIES) == 2, "NMI after a faulting IRET: entries %u", h_rd32(&h, ENTRIES));
	CHECK(h_rd32(&h, NESTED) == 0, "nested");
}

int main(void)
{
	h_init(&h, 8 << 20);
	t_held_until_iret();
	t_faulting_iret();
	h_free(&h);
	if (failures) {
		printf("nmi: %d failures\n", failures);
		return 1;
	}
	printf("nmi: ok\n");
	return 0;
}
