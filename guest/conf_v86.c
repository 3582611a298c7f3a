/* Virtual-8086 mode (SDM Vol. 3, ch. 20): 8086 code running at CPL 3
 * inside a protected-mode task. Addresses are segment*16 + offset and
 * go through paging as user accesses; CLI, STI, PUSHF, POPF, INT n and
 * IRET are IOPL-sensitive (#GP(0) unless IOPL=3, without CR4.VME); IN
 * and OUT ignore IOPL and always consult the I/O bitmap; an interrupt
 * leaves for ring 0, saving and nulling DS, ES, FS, GS. */
#include "conf.h"

#define V86_CODE 0x7000 /* linear; CS = 0x700 */
#define V86_STACK 0x8000 /* linear; SS = 0x800 */
#define FL_VM 0x20000u

extern char v86_start[], v86_end[], v86_done[], v86_cli[], v86_hlt[], v86_pushf[], v86_inb[],
	v86_rd[];

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

	*pte_c = save_c;
	*pte_s = save_s;
	invlpg(V86_CODE);
	invlpg(V86_STACK);
}
