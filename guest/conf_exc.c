/* Exceptions with their vectors, error codes and saved EIPs (SDM Vol. 3,
 * 6.15), and SYSENTER/SYSEXIT (SDM Vol. 2B). */
#include "conf.h"

extern u32 sysenter_seen_esp, sysenter_seen_cs, sysenter_seen_ss, sysenter_user_if;
extern u32 stack_sysenter_top[];
extern u32 last_dr6;

void conf_exc(void)
{
	u32 cr0 = read_cr0();

	prep(3, s_div0);
	in.eax = 1;
	in.ecx = 0;
	go();
	expect("ring3 DIV by zero -> #DE at the DIV (delivered through a DPL0 gate)", 0, NOERR,
	       (u32)s_div0);
	prep(3, s_idiv);
	in.eax = 0x80000000u;
	in.edx = 0xffffffffu;
	in.ecx = 0xffffffffu;
	go();
	expect("ring3 IDIV INT_MIN / -1 (quotient overflow) -> #DE", 0, NOERR, (u32)s_idiv);
	u_scratch[16] = 0;
	u_scratch[17] = 10;
	prep(3, s_bound);
	in.eax = 11;
	in.esi = (u32)&u_scratch[16];
	go();
	expect("ring3 BOUND 11 in [0,10] -> #BR", 5, NOERR, (u32)s_bound);
	prep(3, s_bound);
	in.eax = 10;
	in.esi = (u32)&u_scratch[16];
	go();
	expect("ring3 BOUND 10 in [0,10] -> nothing", VEC_DONE, 0, ANYEIP);
	prep(3, s_ud2);
	go();
	expect("ring3 UD2 -> #UD", 6, NOERR, (u32)s_ud2);

	write_cr0(cr0 | 0x8); /* TS */
	prep(3, s_fld1);
	go();
	expect("ring3 FLD1 with CR0.TS=1 -> #NM", 7, NOERR, (u32)s_fld1);
	write_cr0((cr0 | 0x8 | 0x2)); /* TS, MP */
	prep(3, s_fnop_wait);
	go();
	expect("ring3 WAIT with CR0.TS=1 MP=1 -> #NM", 7, NOERR, (u32)s_fnop_wait);
	write_cr0((cr0 | 0x8) & ~0x2u);
	prep(3, s_fnop_wait);
	go();
	expect("ring3 WAIT with CR0.TS=1 MP=0 -> nothing", VEC_DONE, 0, ANYEIP);
	write_cr0((cr0 | 0x4) & ~0x8u); /* EM */
	prep(3, s_fld1);
	go();
	expect("ring3 FLD1 with CR0.EM=1 -> #NM", 7, NOERR, (u32)s_fld1);
	write_cr0(cr0);

	__asm__ volatile("mov %0, %%db6" : : "r"(0u));
	prep(3, s_tf);
	go();
	if (expect("ring3 POPF sets TF -> #DB after the next instruction", 1, NOERR, (u32)s_tf_trap))
		check("single-step #DB sets DR6.BS", (last_dr6 & 0x4000) != 0, 0x4000, last_dr6 & 0x4000);

	if (!cpu_has_sep()) {
		conf_skip("SYSENTER/SYSEXIT checks", "CPUID.1:EDX.SEP=0");
		return;
	}
	sysenter_user_if = 0;
	prep(3, s_sysenter);
	go();
	if (expect("ring3 SYSENTER -> ring 0 handler, SYSEXIT back", VEC_DONE, 0, (u32)s_sysenter_ret + 2)) {
		check("SYSENTER: CS=SYSENTER_CS, SS=CS+8, ESP=SYSENTER_ESP",
		      sysenter_seen_cs == SEL_KCODE && sysenter_seen_ss == SEL_KDATA &&
			      sysenter_seen_esp == (u32)stack_sysenter_top,
		      (u32)stack_sysenter_top, sysenter_seen_esp);
		check("SYSEXIT: CS=SYSENTER_CS+16|3, SS=+24|3, ESP=ECX",
		      probe_out.f.cs == (SEL_UCODE | 3) && probe_out.f.ss == (SEL_UDATA | 3) &&
			      probe_out.f.esp == (u32)ustack_top - 64,
		      SEL_UCODE | 3, probe_out.f.cs);
	}
	prep(3, s_sysexit);
	go();
	expect("ring3 SYSEXIT -> #GP(0)", 13, 0, (u32)s_sysexit);
	wrmsr(0x174, 0);
	prep(3, s_sysenter);
	go();
	expect("ring3 SYSENTER with SYSENTER_CS=0 -> #GP(0)", 13, 0, ANYEIP);
	wrmsr(0x174, SEL_KCODE);
	sysenter_user_if = 0x200;
}
