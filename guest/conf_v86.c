/* Virtual-8086 mode (SDM Vol. 3, ch. 20): 8086 code running at CPL 3
 * inside a protected-mode task. Addresses are segment*16 + offset and
 * go through paging as user accesses; CLI, STI, PUSHF, POPF, INT n and
 * IRET are IOPL-sensitive (#GP(0) unless IOPL=3, without CR4.VME); IN
 * and OUT ignore IOPL and always consult the I/O bitmap; an interrupt
 * leaves for ring 0, saving and nulling DS, ES, FS, GS. Then CR4.VME
 * (20.3: CLI, STI, PUSHF, POPF, IRET on the virtual interrupt flag VIF,
 * INT n redirected to the 8086 program's vector table by the TSS's
 * redirection bitmap) and CR4.PVI (20.4: CLI/STI at ring 3 on VIF). */
#include "conf.h"

#define V86_CODE 0x7000 /* linear; CS = 0x700 */
#define V86_STACK 0x8000 /* linear; SS = 0x800 */
#define FL_VM 0x20000u
#define FL_VIF 0x80000u
#define FL_VIP 0x100000u
#define CR4_VME 1u
#define CR4_PVI 2u

extern char v86_start[], v86_end[], v86_done[], v86_cli[], v86_hlt[], v86_pushf[], v86_inb[],
	v86_rd[], v86_sti[], v86_pushfd[], v86_int30[], v86_int30_back[], v86_h30[];

static u32 off(const char *label) { return (u32)(label - v86_start); }

/* Run the snippet at label in v86 mode with IOPL, DX, SI and DS. */
static void v86_regs(const char *label, u32 iopl, u32 edx, u32 esi, u32 ds)
{
	prep(3, s_done);
	in.eflags = 2 | FL_VM | IOPL(iopl);
	in.cs = V86_CODE >> 4;
	in.eip = off(label);
	in.ss = V86_STACK >> 4;
	in.esp = 0xff0;
	in.v86_es = in.v86_fs = in.v86_gs = V86_CODE >> 4;
	in.v86_ds = ds;
	in.ds = in.es = in.fs = in.gs = SEL_KDATA;
	in.edx = edx;
	in.esi = esi;
	go();
}

static void v86(const char *label, u32 iopl) { v86_regs(label, iopl, 0, 0, V86_CODE >> 4); }

static u32 read_cr4(void)
{
	u32 v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static void write_cr4(u32 v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

/* v86 at IOPL 0 with the extra EFLAGS bits vif (VIF, VIP). Under VME the
 * snippet's final INT 0x81 is #GP(0) (its redirection bit is set, IOPL <
 * 3), so "ran to the end" is a #GP(0) at that INT. */
static void v86_vif(const char *label, u32 vif)
{
	prep(3, s_done);
	v86_regs(label, 0, 0, 0, V86_CODE >> 4);
	in.eflags |= vif;
	in.cs = V86_CODE >> 4;
	go();
}

static void vme_checks(void)
{
	u8 *rb = (u8 *)&tss_main + sizeof(struct tss) - 32, save[30];
	u32 *pte0 = pte_of(kernel_pd, 0), save0 = *pte0, cr4 = read_cr4();
	/* the redirection bitmap: the 32 bytes below the I/O bitmap, here the
	 * TSS's own segment fields (saved around the checks); 0x66-0x67 (the
	 * I/O base itself, vectors 0xf0-0xff) stay */
	memcpy(save, rb, sizeof save);
	memset(rb, 0xff, sizeof save);
	rb[0x30 / 8] &= (u8) ~(1u << (0x30 % 8));
	*pte0 = 0 | 7; /* the 8086 program's vector table at linear 0 */
	invlpg(0);
	*(u16 *)(0x30 * 4) = (u16)off(v86_h30);
	*(u16 *)(0x30 * 4 + 2) = V86_CODE >> 4;
	write_cr4(cr4 | CR4_VME);

	v86_vif(v86_cli, FL_VIF);
	if (expect("VME: v86 CLI with IOPL=0 -> allowed", 13, 0, off(v86_cli) + 1))
		check("and clears VIF, not IF", !(probe_out.f.eflags & (FL_VIF | FL_IF)), 0,
		      probe_out.f.eflags & (FL_VIF | FL_IF));
	v86_vif(v86_sti, FL_VIP);
	expect("VME: v86 STI with VIP set -> #GP(0)", 13, 0, off(v86_sti));
	v86_vif(v86_sti, 0);
	if (expect("VME: v86 STI with IOPL=0, VIP clear -> allowed", 13, 0, off(v86_sti) + 1))
		check("and sets VIF, not IF", (probe_out.f.eflags & (FL_VIF | FL_IF)) == FL_VIF, FL_VIF,
		      probe_out.f.eflags & (FL_VIF | FL_IF));
	v86_vif(v86_pushf, FL_VIF);
	expect("VME: v86 PUSHF with IOPL=0 -> allowed", 13, 0, off(v86_pushf) + 1);
	check("VME: the pushed FLAGS show VIF as IF and IOPL 3",
	      (*(u16 *)(V86_STACK + 0xfee) & (FL_IF | IOPL(3))) == (FL_IF | IOPL(3)), FL_IF | IOPL(3),
	      *(u16 *)(V86_STACK + 0xfee));
	v86_vif(v86_pushfd, FL_VIF);
	expect("VME: v86 PUSHFD (32-bit) with IOPL=0 -> #GP(0)", 13, 0, off(v86_pushfd));
	v86_vif(v86_int30, FL_VIF);
	if (expect("VME: v86 INT 0x30, redirection bit clear -> the 8086 vector table, IRET back", 13, 0,
		   off(v86_int30_back)))
		check("the 8086 handler ran with VIF clear (its PUSHF: IF 0, IOPL 3); IRET set VIF again",
		      (probe_out.f.eax & (FL_IF | IOPL(3))) == IOPL(3) && (probe_out.f.eflags & FL_VIF),
		      IOPL(3), probe_out.f.eax & 0xffff);
	v86_vif(v86_done, FL_VIF);
	expect("VME: v86 INT 0x81, redirection bit set, IOPL=0 -> #GP(0)", 13, 0, off(v86_done));

	write_cr4(cr4 | CR4_PVI);
	prep(3, s_cli);
	in.eflags |= FL_VIF;
	go();
	if (expect("PVI: ring 3 CLI with IOPL=0 -> allowed", VEC_DONE, 0, ANYEIP))
		check("and clears VIF only", !(probe_out.f.eflags & FL_VIF), 0, probe_out.f.eflags & FL_VIF);
	prep(3, s_sti);
	in.eflags |= FL_VIP;
	go();
	expect("PVI: ring 3 STI with VIP set -> #GP(0)", 13, 0, (u32)s_sti);

	write_cr4(cr4);
	*pte0 = save0;
	invlpg(0);
	memcpy(rb, save, sizeof save);
}

void conf_v86(void)
{
	u32 *pte_c = pte_of(kernel_pd, V86_CODE), *pte_s = pte_of(kernel_pd, V86_STACK);
	u32 save_c = *pte_c, save_s = *pte_s;
	*pte_c = V86_CODE | 7;
	*pte_s = V86_STACK | 7;
	invlpg(V86_CODE);
	invlpg(V86_STACK);
	memcpy((void *)V86_CODE, v86_start, (u32)(v86_end - v86_start));

	v86(v86_done, 3);
	if (expect("v86 INT 0x81 with IOPL=3 -> reaches the ring 0 handler", VEC_DONE, 0, ANYEIP)) {
		check("interrupt from v86: saved EFLAGS has VM=1, CS:IP real-mode values",
		      (probe_out.f.eflags & FL_VM) && probe_out.f.cs == (V86_CODE >> 4) &&
			      probe_out.f.eip == off(v86_done) + 2,
		      V86_CODE >> 4, probe_out.f.cs);
		check("interrupt from v86: DS/ES/FS/GS saved on the ring 0 stack, then nulled",
		      probe_out.f.v86_ds == (V86_CODE >> 4) && probe_out.f.v86_gs == (V86_CODE >> 4) &&
			      !probe_out.f.ds && !probe_out.f.es && !probe_out.f.fs && !probe_out.f.gs,
		      V86_CODE >> 4, probe_out.f.v86_ds);
	}
	v86(v86_done, 0);
	expect("v86 INT n with IOPL=0 -> #GP(0)", 13, 0, off(v86_done));
	v86(v86_cli, 0);
	expect("v86 CLI with IOPL=0 -> #GP(0)", 13, 0, off(v86_cli));
	v86(v86_cli, 3);
	expect("v86 CLI with IOPL=3 -> allowed", VEC_DONE, 0, ANYEIP);
	v86(v86_pushf, 0);
	expect("v86 PUSHF with IOPL=0 -> #GP(0)", 13, 0, off(v86_pushf));
	v86(v86_hlt, 3);
	expect("v86 HLT (CPL 3) -> #GP(0)", 13, 0, off(v86_hlt));

	iomap_allow(0x3f8, 8);
	v86_regs(v86_inb, 3, 0x3f8, 0, 0);
	expect("v86 IN from a port the bitmap allows -> allowed", VEC_DONE, 0, ANYEIP);
	v86_regs(v86_inb, 3, 0x21, 0, 0);
	expect("v86 IN 0x21 with IOPL=3 -> #GP(0): the bitmap decides, not IOPL", 13, 0,
	       off(v86_inb));
	iomap_deny(0x3f8, 8);

	*(u16 *)(V86_STACK + 0x10) = 0x1234;
	v86_regs(v86_rd, 3, 0, 0x10, V86_STACK >> 4);
	check("v86 MOV AX,[SI] with DS=0x800, SI=0x10 reads linear 0x8010",
	      probe_vec_is(VEC_DONE) && (probe_out.f.eax & 0xffff) == 0x1234, 0x1234,
	      probe_out.f.eax & 0xffff);
	v86_regs(v86_rd, 3, 0, 0, 0x100);
	expect_pf("v86 read of a supervisor page -> #PF(0x5) (v86 runs at CPL 3)", 5, 0x1000,
		  off(v86_rd));

	{
		u32 a = 1, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		if (d & 2)
			vme_checks();
		else
			conf_skip("VME/PVI checks", "CPUID.1:EDX.VME=0");
	}

	*pte_c = save_c;
	*pte_s = save_s;
	invlpg(V86_CODE);
	invlpg(V86_STACK);
}
