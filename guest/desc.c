/* Descriptor tables: GDT, LDT, IDT and the TSSs (SDM Vol. 3, ch. 3, 6, 8). */
#include "ringos.h"

u64 gdt[GDT_ENTRIES] __attribute__((aligned(8)));
u64 idt[IDT_ENTRIES] __attribute__((aligned(8)));
u64 ldt[4] __attribute__((aligned(8)));
struct tss_io tss_main __attribute__((aligned(128)));
struct tss tss_df __attribute__((aligned(128)));
struct tss tss_b __attribute__((aligned(128)));

extern char isr_base[];
extern void gate_sys_entry(void), gate_svc_entry(void), gate_drv_entry(void);
extern void df_task_entry(void), task_b_entry(void);

/* A segment descriptor (SDM Vol. 3, 3.4.5). type: 4 bits; flags: the
 * S bit (0x10), P (0x80) and G/D (0x8000/0x4000) in the attr layout. */
u64 seg_desc(u32 base, u32 limit, u32 type, u32 dpl, u32 flags)
{
	u32 lo, hi;
	if (limit > 0xfffff) {
		limit >>= 12;
		flags |= 0x8000;
	}
	lo = (limit & 0xffff) | (base << 16);
	hi = ((base >> 16) & 0xff) | (base & 0xff000000) | (limit & 0xf0000) |
	     ((type & 15) << 8) | ((dpl & 3) << 13) | ((flags & 0xf090) << 8);
	return ((u64)hi << 32) | lo;
}

/* A gate descriptor (SDM Vol. 3, 5.8.3 and 6.11). type 0xC call gate,
 * 0xE interrupt gate, 0xF trap gate, 0x5 task gate; present. */
u64 gate_desc(u32 sel, u32 off, u32 type, u32 dpl, u32 params)
{
	u32 lo = (off & 0xffff) | (sel << 16);
	u32 hi = (off & 0xffff0000) | 0x8000 | ((dpl & 3) << 13) | ((type & 15) << 8) | (params & 31);
	return ((u64)hi << 32) | lo;
}

void gdt_set(u16 sel, u64 d) { gdt[sel >> 3] = d; }

void idt_set(int vec, void (*fn)(void), u32 type, u32 dpl)
{
	idt[vec] = gate_desc(SEL_KCODE, (u32)fn, type, dpl, 0);
}

static void lgdt_lidt(void)
{
	struct __attribute__((packed)) { u16 lim; u32 base; } g, i;
	g.lim = sizeof gdt - 1;
	g.base = (u32)gdt;
	i.lim = sizeof idt - 1;
	i.base = (u32)idt;
	__asm__ volatile("lgdt %0; lidt %1" : : "m"(g), "m"(i) : "memory");
}

void tss_clear_busy(u16 sel) { gdt[sel >> 3] &= ~(2ULL << 40); }
int gdt_busy(u16 sel) { return (int)((gdt[sel >> 3] >> 41) & 1); }

/* LTR faults on a busy TSS (SDM Vol. 2A, LTR), so clear it first. */
void load_tr(u16 sel)
{
	tss_clear_busy(sel);
	__asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

void iomap_allow(u16 port, int n)
{
	for (; n > 0; n--, port++)
		if (port < IOMAP_PORTS)
			tss_main.map[port >> 3] &= (u8) ~(1u << (port & 7));
}

void iomap_deny(u16 port, int n)
{
	for (; n > 0; n--, port++)
		if (port < IOMAP_PORTS)
			tss_main.map[port >> 3] |= (u8)(1u << (port & 7));
}

static void helper_tss(struct tss *t, void (*eip)(void), u32 *stack)
{
	memset(t, 0, sizeof *t);
	t->eip = (u32)eip;
	t->esp = (u32)stack;
	t->eflags = 2;
	t->cs = SEL_KCODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
	t->ss0 = SEL_KDATA;
	t->esp0 = (u32)stack;
	t->cr3 = (u32)kernel_pd;
	t->iomap = sizeof(struct tss); /* beyond the limit: no bitmap */
}

void desc_init(void)
{
	int v;
	memset(gdt, 0, sizeof gdt);
	/* flat 4 GiB segments: code = execute/read (0xA), data = read/write (0x2) */
	gdt_set(SEL_KCODE, seg_desc(0, 0xffffffff, 0xA, 0, 0x4090));
	gdt_set(SEL_KDATA, seg_desc(0, 0xffffffff, 0x2, 0, 0x4090));
	gdt_set(SEL_UCODE, seg_desc(0, 0xffffffff, 0xA, 3, 0x4090));
	gdt_set(SEL_UDATA, seg_desc(0, 0xffffffff, 0x2, 3, 0x4090));
	gdt_set(SEL_R1CODE, seg_desc(0, 0xffffffff, 0xA, 1, 0x4090));
	gdt_set(SEL_R1DATA, seg_desc(0, 0xffffffff, 0x2, 1, 0x4090));
	gdt_set(SEL_R2CODE, seg_desc(0, 0xffffffff, 0xA, 2, 0x4090));
	gdt_set(SEL_R2DATA, seg_desc(0, 0xffffffff, 0x2, 2, 0x4090));

	/* Main TSS: stacks for rings 0-2, I/O bitmap all denied. */
	memset(&tss_main, 0, sizeof tss_main);
	tss_main.t.ss0 = SEL_KDATA;
	tss_main.t.esp0 = (u32)stack_trap_top;
	tss_main.t.ss1 = SEL_R1DATA | 1;
	tss_main.t.esp1 = (u32)stack_r1_top;
	tss_main.t.ss2 = SEL_R2DATA | 2;
	tss_main.t.esp2 = (u32)stack_r2_top;
	tss_main.t.cr3 = (u32)kernel_pd;
	tss_main.t.ldt = SEL_LDT;
	tss_main.t.iomap = sizeof(struct tss);
	memset(tss_main.map, 0xff, sizeof tss_main.map);
	tss_main.end = 0xff;
	gdt_set(SEL_TSS, seg_desc((u32)&tss_main, sizeof tss_main - 1, 0x9, 0, 0x80));

	helper_tss(&tss_df, df_task_entry, stack_df_top);
	gdt_set(SEL_DFTSS, seg_desc((u32)&tss_df, sizeof tss_df - 1, 0x9, 0, 0x80));
	helper_tss(&tss_b, task_b_entry, stack_b_top);
	gdt_set(SEL_TSSB, seg_desc((u32)&tss_b, sizeof tss_b - 1, 0x9, 0, 0x80));

	/* LDT: entry 1 is a DPL 3 flat data segment. */
	memset(ldt, 0, sizeof ldt);
	ldt[1] = seg_desc(0, 0xffffffff, 0x2, 3, 0x4090);
	gdt_set(SEL_LDT, seg_desc((u32)ldt, sizeof ldt - 1, 0x2, 0, 0x80));

	gdt_set(SEL_GATE_SYS, gate_desc(SEL_KCODE, (u32)gate_sys_entry, 0xC, 3, 2));
	gdt_set(SEL_GATE_SVC, gate_desc(SEL_R2CODE, (u32)gate_svc_entry, 0xC, 3, 2));
	gdt_set(SEL_GATE_DRV, gate_desc(SEL_R1CODE, (u32)gate_drv_entry, 0xC, 2, 1));
	gdt_set(SEL_TASKGATE, gate_desc(SEL_TSSB, 0, 0x5, 0, 0));

	/* IDT: exceptions and IRQs are DPL 0 interrupt gates; INT3, INTO
	 * and the system call are DPL 3 so ring 3 may raise them. */
	memset(idt, 0, sizeof idt);
	for (v = 0; v < IDT_ENTRIES; v++)
		idt_set(v, (void (*)(void))(isr_base + 16 * v), 0xE, 0);
	idt_set(3, (void (*)(void))(isr_base + 16 * 3), 0xE, 3);
	idt_set(4, (void (*)(void))(isr_base + 16 * 4), 0xE, 3);
	idt_set(VEC_SYSCALL, (void (*)(void))(isr_base + 16 * VEC_SYSCALL), 0xE, 3);
	idt_set(VEC_DONE, (void (*)(void))(isr_base + 16 * VEC_DONE), 0xE, 3);
	idt_set(VEC_NOTP, (void (*)(void))(isr_base + 16 * VEC_NOTP), 0xE, 3);
	idt[VEC_NOTP] &= ~(1ULL << 47);
	idt_set(VEC_DPL1, (void (*)(void))(isr_base + 16 * VEC_DPL1), 0xE, 1);
	idt_set(VEC_TRAP, (void (*)(void))(isr_base + 16 * VEC_TRAP), 0xF, 3);
	idt[VEC_TASK] = gate_desc(SEL_TSSB, 0, 0x5, 3, 0);
	idt[8] = gate_desc(SEL_DFTSS, 0, 0x5, 0, 0);

	lgdt_lidt();
	__asm__ volatile("ljmp %0, $1f; 1:" : : "i"(SEL_KCODE));
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%fs; mov %0, %%gs; mov %0, %%ss"
			 : : "r"(SEL_KDATA));
	__asm__ volatile("lldt %0" : : "r"((u16)SEL_LDT));
	load_tr(SEL_TSS);
}
