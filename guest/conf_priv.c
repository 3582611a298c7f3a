/* Privileged instructions and the IOPL-sensitive ones (SDM Vol. 3,
 * 5.9 and 5.10; Vol. 1, 3.4.3.1 for POPF/IRET under IOPL). */
#include "conf.h"

static const struct {
	const char *name;
	char *snip;
} priv[] = {
	{"HLT", s_hlt},       {"CLI", s_cli},       {"STI", s_sti},     {"LGDT", s_lgdt},
	{"LIDT", s_lidt},     {"LLDT", s_lldt},     {"LTR", s_ltr},     {"MOV ECX,CR0", s_rdcr0},
	{"MOV CR3,ESI", s_wrcr3}, {"MOV DR7,EBX", s_wrdr7}, {"INVLPG", s_invlpg}, {"CLTS", s_clts},
	{"LMSW", s_lmsw},     {"RDMSR", s_rdmsr},   {"WRMSR", s_wrmsr}, {"IN AL,0x21", s_in21},
	{"OUT 0x80,AL", s_out80},
};

/* Registers that make each instruction harmless should it (wrongly)
 * execute: LGDT/LIDT reload the current tables, CR3 is reloaded... */
static void harmless_regs(void)
{
	in.eax = (u32)&u_scratch[0]; /* holds SGDT's image */
	in.ebx = 0;
	in.ecx = 0x10;
	in.edx = read_cr0() & 0xffff;
	in.esi = read_cr3();
}

static void popf_check(const char *name, int ring, u32 flags, u32 newflags, u32 mask, u32 want)
{
	prep(ring, s_popf);
	in.eflags = flags | 2;
	in.ebx = newflags;
	if (go() != VEC_DONE) {
		expect(name, VEC_DONE, NOERR, ANYEIP);
		return;
	}
	check(name, (probe_out.f.eflags & mask) == want, want, probe_out.f.eflags & mask);
}

void conf_priv(void)
{
	char name[64];
	int ring;
	u32 i;
	__asm__ volatile("sgdt %0" : "=m"(u_scratch[0]));
	for (ring = 1; ring <= 3; ring++)
		for (i = 0; i < sizeof priv / sizeof priv[0]; i++) {
			prep(ring, priv[i].snip);
			harmless_regs();
			go();
			ksnprintf(name, sizeof name, "ring%d %s -> #GP(0)", ring, priv[i].name);
			expect(name, 13, 0, (u32)priv[i].snip);
		}

	/* CLI/STI and IN/OUT are allowed when CPL <= IOPL. */
	prep(1, s_cli);
	in.eflags = 2 | IOPL(1) | FL_IF;
	go();
	if (expect("ring1 CLI with IOPL=1 -> allowed", VEC_DONE, NOERR, ANYEIP))
		check("ring1 CLI with IOPL=1 clears IF", !(probe_out.f.eflags & FL_IF), 0,
		      probe_out.f.eflags & FL_IF);
	prep(3, s_cli);
	in.eflags = 2 | IOPL(3) | FL_IF;
	go();
	expect("ring3 CLI with IOPL=3 -> allowed", VEC_DONE, NOERR, ANYEIP);
	prep(2, s_cli);
	in.eflags = 2 | IOPL(1) | FL_IF;
	go();
	expect("ring2 CLI with IOPL=1 -> #GP(0)", 13, 0, (u32)s_cli);
	prep(2, s_in21);
	in.eflags = 2 | IOPL(2);
	go();
	expect("ring2 IN 0x21 with IOPL=2 -> allowed", VEC_DONE, NOERR, ANYEIP);

	/* POPF: IF changes only if CPL <= IOPL, IOPL only at CPL 0; no fault. */
	popf_check("ring3 POPF IF=0 at IOPL=0: IF silently unchanged", 3, FL_IF, 2, FL_IF, FL_IF);
	popf_check("ring3 POPF IOPL=3: IOPL silently unchanged", 3, FL_IF, 2 | IOPL(3) | FL_IF,
		   IOPL(3), 0);
	popf_check("ring1 POPF IF=0 at IOPL=1: IF cleared", 1, FL_IF | IOPL(1), 2 | IOPL(1), FL_IF, 0);
	popf_check("ring1 POPF IOPL=3 at IOPL=1: IOPL unchanged", 1, IOPL(1), 2 | IOPL(3), IOPL(3),
		   IOPL(1));
	popf_check("ring2 POPF IF=0 at IOPL=1: IF unchanged", 2, FL_IF | IOPL(1), 2 | IOPL(1), FL_IF,
		   FL_IF);
	popf_check("ring0 POPF IOPL=3: IOPL changed", 0, 0, 2 | IOPL(3), IOPL(3), IOPL(3));

	/* IRET at the same privilege follows the POPF rules. */
	prep(3, s_iret_flags);
	in.eflags = 2 | FL_IF;
	in.ebx = 2 | IOPL(3);
	if (go() == VEC_DONE)
		check("ring3 IRET IOPL=3 IF=0: IOPL and IF unchanged",
		      (probe_out.f.eflags & (IOPL(3) | FL_IF)) == FL_IF, FL_IF,
		      probe_out.f.eflags & (IOPL(3) | FL_IF));
	else
		expect("ring3 IRET IOPL=3 IF=0: IOPL and IF unchanged", VEC_DONE, NOERR, ANYEIP);
}
