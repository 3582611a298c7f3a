/* Sensitive but unprivileged instructions, and a few odd rules.
 *
 * SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW and PUSHF read
 * privileged state yet run at any CPL on IA-32 (there is no UMIP on a
 * P6): they are why the architecture is not classically virtualizable
 * (Popek and Goldberg, 1974; Robin and Irvine, 2000). A VMM must show
 * the guest its own values. Also: RDTSC under CR4.TSD, INT n to an
 * exception vector, #AC, and the EXT bit of an external interrupt. */
#include "conf.h"

#define ZF 0x40u

static u32 zf_of(const char *name, const void *snip, u32 sel)
{
	prep(3, snip);
	in.ebx = sel;
	if (go() != VEC_DONE) {
		expect(name, VEC_DONE, 0, ANYEIP);
		return 0xdead;
	}
	return probe_out.f.eflags & ZF;
}

static void zf_check(const char *name, const void *snip, u32 sel, u32 want)
{
	u32 z = zf_of(name, snip, sel);
	if (z != 0xdead)
		check(name, z == want, want, z);
}

/* The PIT raises IRQ0 once per period even while the CPU is busy: count
 * the periods by watching the counter reload, and the interrupts taken.
 * In mode 2 OUT is low for a single 838 ns clock per period, so a
 * model that samples OUT only now and then loses edges; one that makes
 * extra edges raises more interrupts than periods. Both counts are the
 * guest's own (the PIT's counter, not host time), so a loaded host that
 * stalls the guest past a reload loses a period and its edge alike: the
 * bounds leave 2 and a quarter of slack for that. */
static void pit_check(int mode)
{
	char name[80];
	u32 periods = 0, last, c, guard = 0, t0;
	pit_start(1000, mode);
	last = pit_read();
	t0 = ticks;
	pic_mask(0xfffe);
	sti();
	while (periods < 20 && ++guard < 20000000) {
		c = pit_read();
		/* mode 3 counts down by 2 twice per period: count one reload in two */
		if (c > last + 2)
			periods++;
		last = c;
	}
	cli();
	pic_mask(0xffff);
	if (mode == 3)
		periods /= 2;
	ksnprintf(name, sizeof name, "PIT mode %d at 1 kHz: one IRQ0 per period while the CPU is busy",
		  mode);
	check(name, periods >= 10 && ticks - t0 + 2 >= periods && ticks - t0 <= periods + periods / 4 + 2,
	      periods, ticks - t0);
}

/* OUT and the count agree to the clock (8254 datasheet, mode 2: OUT is
 * low for the one clock in which the count is 1, and rises as the count
 * reloads). Channel 2 (no interrupt, gate from port 0x61) counts 5 clocks
 * per period; the read-back command latches its status (OUT), then its
 * count. A count latched after the status can be later, never earlier:
 * with OUT low it is 1 (the same clock) or 5, 4, 3 (the clocks after) and
 * 2 only after a 2.5 us stall between two port writes. A model whose OUT
 * falls one clock early shows 2 almost every time. */
static void pit_out_check(void)
{
	u32 low = 0, early = 0, i, st, c;
	outb(0x61, (u8)((inb(0x61) & ~2u) | 1)); /* gate 2 high, speaker off */
	outb(0x43, 0xb4);                         /* channel 2, LSB then MSB, mode 2 */
	outb(0x42, 5);
	outb(0x42, 0);
	for (i = 0; i < 100000 && low < 200; i++) {
		outb(0x43, 0xe8); /* read-back: status of channel 2 */
		st = inb(0x42);
		outb(0x43, 0xd8); /* read-back: count of channel 2 */
		c = inb(0x42);
		c |= (u32)inb(0x42) << 8;
		if (!(st & 0x80)) {
			low++;
			early += c == 2;
		}
	}
	outb(0x61, (u8)(inb(0x61) & ~3u));
	check("PIT mode 2: OUT is low only in the clock the count is 1 (read-back)",
	      low >= 20 && early * 2 < low, 0, early);
}

void conf_sens(void)
{
	u16 *d = (u16 *)&u_scratch[20];
	u32 cr0 = read_cr0(), cr4;

	prep(3, s_sgdt);
	in.esi = (u32)d;
	if (go() == VEC_DONE)
		check("ring3 SGDT runs and stores the real GDTR",
		      d[0] == GDT_ENTRIES * 8 - 1 && (d[1] | (u32)d[2] << 16) == (u32)gdt, (u32)gdt,
		      d[1] | (u32)d[2] << 16);
	else
		expect("ring3 SGDT runs and stores the real GDTR", VEC_DONE, 0, ANYEIP);
	prep(3, s_sidt);
	in.esi = (u32)d;
	if (go() == VEC_DONE)
		check("ring3 SIDT runs and stores the real IDTR",
		      d[0] == IDT_ENTRIES * 8 - 1 && (d[1] | (u32)d[2] << 16) == (u32)idt, (u32)idt,
		      d[1] | (u32)d[2] << 16);
	else
		expect("ring3 SIDT runs and stores the real IDTR", VEC_DONE, 0, ANYEIP);
	prep(3, s_sldt);
	go();
	check("ring3 SLDT runs and reads LDTR", (probe_out.f.eax & 0xffff) == SEL_LDT, SEL_LDT,
	      probe_out.f.eax & 0xffff);
	prep(3, s_str);
	go();
	check("ring3 STR runs and reads TR", (probe_out.f.eax & 0xffff) == SEL_TSS, SEL_TSS,
	      probe_out.f.eax & 0xffff);
	prep(3, s_smsw);
	go();
	check("ring3 SMSW runs and reads CR0[15:0]", (probe_out.f.eax & 0xffff) == (cr0 & 0xffff),
	      cr0 & 0xffff, probe_out.f.eax & 0xffff);

	prep(3, s_lar);
	in.ebx = SEL_UCODE | 3;
	go();
	/* 0x00c0fa00 or 0x00c0fb00: bit 8 is the accessed bit, which the
	 * load of CS by the IRET into ring 3 may have set (SDM Vol. 3, 3.4.5). */
	check("ring3 LAR on its code segment: ZF=1, access rights",
	      (probe_out.f.eflags & ZF) && (probe_out.f.eax & 0x00f0fe00) == 0x00c0fa00, 0x00c0fa00,
	      probe_out.f.eax & 0x00f0fe00);
	zf_check("ring3 LAR on DPL0 data: ZF=0", s_lar, SEL_KDATA | 3, 0);
	/* Loading a segment register sets the descriptor's accessed bit. */
	gdt_set(SC(1), seg_desc(0, 0xffffffff, 0xA, 3, 0x4090));
	prep(3, s_ldds);
	in.ebx = SC(1) | 3;
	go();
	check("ring3 MOV DS sets the accessed bit in the GDT", (gdt[SC(1) >> 3] >> 40) & 1, 1,
	      (u32)(gdt[SC(1) >> 3] >> 40) & 1);
	prep(3, s_lsl);
	in.ebx = SC(4) | 3;
	go();
	check("ring3 LSL on a 4 KiB segment: ZF=1, limit 0xfff",
	      (probe_out.f.eflags & ZF) && probe_out.f.eax == 0xfff, 0xfff, probe_out.f.eax);
	zf_check("ring3 LSL on the DPL0 TSS: ZF=0", s_lsl, SEL_TSS | 3, 0);
	zf_check("ring3 VERR on DPL0 code: ZF=0", s_verr, SEL_KCODE | 3, 0);
	zf_check("ring3 VERR on execute-only code: ZF=0", s_verr, SC(0) | 3, 0);
	zf_check("ring3 VERR on readable code: ZF=1", s_verr, SC(1) | 3, ZF);
	zf_check("ring3 VERW on its data: ZF=1", s_verw, SEL_UDATA | 3, ZF);
	zf_check("ring3 VERW on read-only data: ZF=0", s_verw, SC(3) | 3, 0);

	/* RDTSC is privileged only when CR4.TSD=1 (SDM Vol. 2B, RDTSC). */
	prep(3, s_rdtsc);
	go();
	expect("ring3 RDTSC with CR4.TSD=0 -> allowed", VEC_DONE, 0, ANYEIP);
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | 4));
	prep(3, s_rdtsc);
	go();
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	expect("ring3 RDTSC with CR4.TSD=1 -> #GP(0)", 13, 0, (u32)s_rdtsc);

	prep(3, s_int0d);
	go();
	expect("ring3 INT 13 (exception vector, DPL0 gate) -> #GP(13*8+2)", 13, 13 * 8 + 2,
	       (u32)s_int0d);

	/* Alignment check: CPL 3, CR0.AM=1 and EFLAGS.AC=1 (SDM Vol. 3, 6.15 #AC). */
	write_cr0(cr0 | 0x40000);
	prep(3, s_ac);
	in.esi = (u32)u_scratch;
	go();
	expect("ring3 misaligned read with CR0.AM=1, AC=1 -> #AC(0)", 17, 0, (u32)s_ac_at);
	write_cr0(cr0);
	prep(3, s_ac);
	in.esi = (u32)u_scratch;
	go();
	expect("ring3 misaligned read with CR0.AM=0 -> allowed", VEC_DONE, 0, ANYEIP);

	/* EXT (bit 0 of the error code) tells whether the fault happened
	 * while delivering an event external to the program: an interrupt
	 * or an earlier exception, not INT n (SDM Vol. 3, 6.13). Here the
	 * gate names a not-present code segment. #UD is used because it is
	 * benign: a contributory first fault (#DE, #GP...) followed by the
	 * #NP would be a double fault (Table 6-5). */
	{
		u64 save0 = idt[0], save6 = idt[6], save86 = idt[VEC_TRAP];
		gdt_set(SC(8), seg_desc(0, 0xffffffff, 0xA, 3, 0x4010));
		idt[6] = gate_desc(SC(8), 0, 0xE, 0, 0);
		idt[VEC_TRAP] = gate_desc(SC(8), 0, 0xF, 3, 0);
		prep(3, s_ud2);
		go();
		expect("ring3 #UD, its gate's code segment not present -> #NP(sel+EXT)", 11, SC(8) | 1,
		       (u32)s_ud2);
		idt[0] = gate_desc(SC(8), 0, 0xE, 0, 0);
		prep(3, s_div0);
		in.eax = 1;
		in.ecx = 0;
		go();
		idt[0] = save0;
		expect("ring3 #DE, its gate's code segment not present -> #NP while delivering -> #DF", 8,
		       0, ANYEIP);
		prep(3, s_int86);
		go();
		expect("ring3 INT 0x86, its gate's code segment not present -> #NP(sel), EXT=0", 11, SC(8),
		       (u32)s_int86);
		idt[6] = save6;
		idt[VEC_TRAP] = save86;
	}

	/* An external interrupt through a not-present gate: #NP with the
	 * IDT bit and EXT set. */
	idt[VEC_IRQ0] &= ~(1ULL << 47);
	pit_start(1000, 2);
	pic_mask(0xfffe);
	prep(0, s_sti_wait);
	in.ecx = 3000000;
	go();
	pic_mask(0xffff);
	outb(0x20, 0x20);
	idt[VEC_IRQ0] |= 1ULL << 47;
	expect("IRQ0 through a not-present gate -> #NP(0x20*8+2+EXT)", 11, VEC_IRQ0 * 8 + 3, ANYEIP);

	pit_check(2);
	pit_check(3);
	pit_out_check();
}
