/* NMI blocking (SDM Vol. 3, 6.7.1): while an NMI handler runs, a second
 * NMI waits until the handler's IRET, then is taken. The NMIs come from
 * the local APIC, an NMI IPI to APIC ID 0 (this processor); the handler
 * is the kernel's trap() with a hook. */
#include "conf.h"

#define APIC_VA (TEST_VA + 0x3ff000) /* the last page of the window */
#define APIC_PA 0xfee00000u

static volatile u32 *apic;
static volatile u32 nmi_runs, nmi_depth, nmi_nested;

static void nmi_ipi(void)
{
	apic[0x310 / 4] = 0;     /* ICR high: destination APIC ID 0 */
	apic[0x300 / 4] = 0x400; /* ICR low: NMI, physical, no shorthand */
}

/* The first run sends the second NMI and lingers; a processor that does
 * not block would run the handler again right there, nested. */
static int nmi_hook(struct frame *f)
{
	volatile int i;
	if (f->vec != 2)
		return 0;
	nmi_runs++;
	if (++nmi_depth > 1)
		nmi_nested = 1;
	if (nmi_runs == 1) {
		nmi_ipi();
		for (i = 0; i < 2000; i++)
			;
	}
	nmi_depth--;
	return 1;
}

void conf_nmi(void)
{
	u32 a = 1, b, c = 0, d, *pte = pte_of(kernel_pd, APIC_VA), save = *pte;
	volatile int i;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (!(d & (1u << 9))) {
		conf_skip("NMI blocking checks", "no local APIC (CPUID.1:EDX.APIC=0)");
		return;
	}
	*pte = APIC_PA | 0x13; /* P, W, PCD */
	invlpg(APIC_VA);
	apic = (volatile u32 *)APIC_VA;
	/* The APIC stays as the kernel left it (software-disabled, the 8259
	 * wired through): it still sends and takes NMIs (SDM 10.4.7.2). */
	cli();
	nmi_runs = nmi_depth = nmi_nested = 0;
	trap_hook = nmi_hook;
	__asm__ volatile("" ::: "memory"); /* the hook is in place before the IPI */
	nmi_ipi();
	for (i = 0; i < 20000 && nmi_runs < 2; i++)
		;
	for (i = 0; i < 2000; i++)
		;
	__asm__ volatile("" ::: "memory");
	trap_hook = 0;
	check("an NMI IPI to this processor runs the NMI handler", nmi_runs >= 1, 1, nmi_runs);
	check("an NMI raised inside the NMI handler waits for its IRET (no nesting)", !nmi_nested, 0, nmi_nested);
	check("and is taken after that IRET: two handler runs", nmi_runs == 2, 2, nmi_runs);
	*pte = save;
	invlpg(APIC_VA);
}
