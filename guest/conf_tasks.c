/* Hardware task switching (SDM Vol. 3, ch. 8): JMP and CALL to a TSS,
 * task gates in the GDT and IDT, NT and the back link, busy bits, IRET
 * to the previous task, and the double fault handled by its own task. */
#include "conf.h"

/* What task B saw, filled by task_b_body. */
static volatile struct {
	u32 count, tr, eflags, link, busy_main, busy_b, cr3, main_ebx, main_cs;
} tb;
static volatile struct {
	u32 count, err, link, eflags, busy_main, busy_df, tr;
} df;

/* Runs in task B (entry.S). Returns 1 to go back by IRET (NT set), 0
 * to go back by JMP to the main TSS. */
int task_b_body(void)
{
	u32 fl;
	u16 tr;
	__asm__ volatile("pushf; pop %0; str %1" : "=r"(fl), "=r"(tr));
	tb.count++;
	tb.tr = tr;
	tb.eflags = fl;
	tb.link = tss_b.link;
	tb.busy_main = (u32)gdt_busy(SEL_TSS);
	tb.busy_b = (u32)gdt_busy(SEL_TSSB);
	tb.cr3 = read_cr3();
	tb.main_ebx = tss_main.t.ebx;
	tb.main_cs = tss_main.t.cs;
	return (fl & FL_NT) != 0;
}

extern void df_recover(void);

/* Runs in the double fault task with the #DF error code. Repairs the
 * #GP gate, then points the interrupted task at df_recover and returns
 * to it with IRET (NT=1, through the back link). */
void df_body(u32 err)
{
	u32 fl;
	u16 tr;
	__asm__ volatile("pushf; pop %0; str %1" : "=r"(fl), "=r"(tr));
	df.count++;
	df.err = err;
	df.link = tss_df.link;
	df.eflags = fl;
	df.tr = tr;
	df.busy_main = (u32)gdt_busy(SEL_TSS);
	df.busy_df = (u32)gdt_busy(SEL_DFTSS);
	idt[13] |= 1ULL << 47;
	tss_main.t.eip = (u32)df_recover;
	tss_main.t.cs = SEL_KCODE;
	tss_main.t.eflags = 2;
	tss_main.t.esp = (u32)stack_trap_top - 512;
	tss_main.t.ss = tss_main.t.ds = tss_main.t.es = SEL_KDATA;
	tss_main.t.fs = tss_main.t.gs = SEL_KDATA;
}

static void reset_task(struct tss *t, void (*eip)(void), u32 *stack)
{
	t->link = 0;
	t->eip = (u32)eip;
	t->esp = (u32)stack;
	t->eflags = 2;
	t->cs = SEL_KCODE;
	t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
	t->cr3 = (u32)kernel_pd;
	t->ldt = 0;
}

extern void task_b_entry(void), df_task_entry(void);

static int switch_by(const void *snip, u16 sel, int ring)
{
	static u32 farp[2];
	u32 *fp = ring == 3 ? &u_scratch[8] : farp;
	reset_task(&tss_b, task_b_entry, stack_b_top);
	memset((void *)&tb, 0, sizeof tb);
	fp[0] = 0;
	fp[1] = sel;
	prep(ring, snip);
	in.esi = (u32)fp;
	in.ebx = 0x1234abcd;
	return go();
}

void conf_tasks(void)
{
	/* JMP: no nesting; the old task is no longer busy. */
	switch_by(s_ljmp, SEL_TSSB, 0);
	if (expect("ring0 JMP to TSS B -> task B runs, then JMPs back", VEC_DONE, 0, ANYEIP)) {
		check("JMP to TSS: TR=0x58 and NT=0 in the new task",
		      tb.tr == SEL_TSSB && !(tb.eflags & FL_NT), SEL_TSSB, tb.tr | (tb.eflags & FL_NT));
		check("JMP to TSS: new task busy, old task not busy", tb.busy_b && !tb.busy_main, 1,
		      tb.busy_b | tb.busy_main << 1);
		check("task switch saved the outgoing EBX in the old TSS", tb.main_ebx == 0x1234abcd,
		      0x1234abcd, tb.main_ebx);
		check("JMP back: main busy again, B free", gdt_busy(SEL_TSS) && !gdt_busy(SEL_TSSB), 1,
		      (u32)gdt_busy(SEL_TSS) | (u32)gdt_busy(SEL_TSSB) << 1);
	}

	/* CALL: nested; NT set, back link written, old task stays busy. */
	switch_by(s_lcall, SEL_TSSB, 0);
	if (expect("ring0 CALL to TSS B -> task B runs, IRETs back", VEC_DONE, 0, ANYEIP)) {
		check("CALL to TSS: NT=1 and back link = 0x48 in the new task",
		      (tb.eflags & FL_NT) && tb.link == SEL_TSS, SEL_TSS, tb.link);
		check("CALL to TSS: both tasks busy while nested", tb.busy_b && tb.busy_main, 1,
		      tb.busy_b & tb.busy_main);
		check("IRET to previous task: B not busy, NT=0 again",
		      !gdt_busy(SEL_TSSB) && !(probe_out.f.eflags & FL_NT), 0,
		      (u32)gdt_busy(SEL_TSSB) | (probe_out.f.eflags & FL_NT));
	}

	/* A task gate in the IDT, used from ring 3. */
	switch_by(s_int84, 0, 3);
	if (expect("ring3 INT 0x84 (task gate) -> task B, IRET back to ring 3", VEC_DONE, 0, ANYEIP)) {
		check("task gate: back link = 0x48, NT=1", (tb.eflags & FL_NT) && tb.link == SEL_TSS,
		      SEL_TSS, tb.link);
		check("task gate: outgoing ring 3 CS saved in the old TSS",
		      (tb.main_cs & 0xffff) == (SEL_UCODE | 3), SEL_UCODE | 3, tb.main_cs & 0xffff);
		check("IRET back from the task lands in ring 3", probe_out.f.cs == (SEL_UCODE | 3),
		      SEL_UCODE | 3, probe_out.f.cs);
	}

	/* A task gate in the GDT, and CR3 taken from the new TSS. */
	reset_task(&tss_b, task_b_entry, stack_b_top);
	switch_by(s_ljmp, SEL_TASKGATE, 0);
	expect("ring0 JMP to a GDT task gate -> task B", VEC_DONE, 0, ANYEIP);
	check("task B ran once through the task gate", tb.count == 1, 1, tb.count);
	{
		static u32 farp[2] = {0, SEL_TSSB};
		reset_task(&tss_b, task_b_entry, stack_b_top);
		tss_b.cr3 = (u32)task_pd(0);
		tb.cr3 = 0;
		prep(0, s_ljmp);
		in.esi = (u32)farp;
		go();
		check("task switch loads CR3 from the new TSS", tb.cr3 == (u32)task_pd(0),
		      (u32)task_pd(0), tb.cr3);
		check("and switching back restores the old task's CR3", read_cr3() == (u32)kernel_pd,
		      (u32)kernel_pd, read_cr3());
	}

	/* Faults */
	switch_by(s_ljmp, SEL_TSS, 0);
	expect("ring0 JMP to the running (busy) TSS -> #GP(sel)", 13, SEL_TSS, (u32)s_ljmp);
	switch_by(s_lcall, SEL_TSSB | 3, 3);
	expect("ring3 CALL to a DPL0 TSS -> #GP(sel)", 13, SEL_TSSB, (u32)s_lcall);
	gdt_set(SC(10), seg_desc((u32)&tss_b, 0x50, 0x9, 0, 0x80));
	switch_by(s_ljmp, SC(10), 0);
	expect("ring0 JMP to a TSS with limit < 0x67 -> #TS(sel)", 10, SC(10), (u32)s_ljmp);
	gdt_set(SC(10), seg_desc((u32)&tss_b, sizeof(struct tss) - 1, 0x9, 0, 0x00));
	switch_by(s_ljmp, SC(10), 0);
	expect("ring0 JMP to a not-present TSS -> #NP(sel)", 11, SC(10), (u32)s_ljmp);
	check("task B never ran on the failed switches", tb.count == 0, 0, tb.count);

	/* Double fault: a #GP whose gate is not present raises #NP while
	 * delivering it; two contributory faults make a #DF (SDM Vol. 3,
	 * Table 6-5), delivered here through the task gate at vector 8. */
	reset_task(&tss_df, df_task_entry, stack_df_top);
	memset((void *)&df, 0, sizeof df);
	idt[13] &= ~(1ULL << 47);
	prep(3, s_ldds);
	in.ebx = SEL_KDATA;
	go();
	idt[13] |= 1ULL << 47;
	expect("ring3 #GP with the #GP gate not present -> #DF", 8, NOERR, ANYEIP);
	check("#DF through a task gate: error code 0 on the new task's stack",
	      df.count == 1 && df.err == 0, 0, df.count == 1 ? df.err : 0xdead);
	check("#DF task: TR=0x50, NT=1, back link = 0x48",
	      df.tr == SEL_DFTSS && (df.eflags & FL_NT) && df.link == SEL_TSS, SEL_TSS, df.link);
	check("#DF task: both the faulting task and the #DF task busy", df.busy_main && df.busy_df, 1,
	      df.busy_main & df.busy_df);
	check("IRET from the #DF task freed it", !gdt_busy(SEL_DFTSS), 0, (u32)gdt_busy(SEL_DFTSS));
}
