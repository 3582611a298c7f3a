/* The PIC, the PIT and a round-robin scheduler of two ring 3 tasks.
 *
 * Task 0 is the kernel itself (idle in HLT); tasks 1 and 2 run at ring
 * 3 in their own address spaces. Each task owns a stack per inner ring,
 * installed in the TSS when it is switched in, so that an interrupt,
 * a call gate to ring 2 or a call gate to ring 1 of one task never
 * lands on another task's stack. A switch is a change of the frame the
 * trap stub resumes (software task switching, as most kernels do). */
#include "ringos.h"

#define NTASK 3

struct task {
	struct frame *frame; /* where its context was saved */
	u32 *pd;
	u32 *k_top, *r1_top, *r2_top;
	int alive;
};

static struct task tasks[NTASK];
static int cur;
static int sched_on;
u32 sched_switches; /* preemptions of one user task by another */
static u32 kstack[NTASK][3][1024] __attribute__((aligned(4096)));

void pic_mask(u16 mask)
{
	outb(0x21, (u8)mask);
	outb(0xa1, (u8)(mask >> 8));
}

/* Remap the 8259 pair to vectors 0x20-0x2f (ICW1-ICW4). */
void pic_init(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, VEC_IRQ0);
	outb(0xa1, VEC_IRQ0 + 8);
	outb(0x21, 4);
	outb(0xa1, 2);
	outb(0x21, 1);
	outb(0xa1, 1);
	pic_mask(0xffff);
}

/* 8254 channel 0, lobyte/hibyte, mode 2 (rate generator: OUT low for
 * one clock per period) or 3 (square wave: low for half the period). */
void pit_start(u32 hz, int mode)
{
	u32 div = 1193182 / hz;
	outb(0x43, (u8)(0x30 | (mode << 1)));
	outb(0x40, (u8)div);
	outb(0x40, (u8)(div >> 8));
}

int sched_current(void) { return cur; }

/* Channel 0's current count (counter latch command). */
u32 pit_read(void)
{
	u32 lo, hi;
	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	return lo | hi << 8;
}

static struct frame *switch_to(int next)
{
	struct task *t = &tasks[next];
	cur = next;
	tss_main.t.esp0 = (u32)t->k_top;
	tss_main.t.esp1 = (u32)t->r1_top;
	tss_main.t.esp2 = (u32)t->r2_top;
	if (read_cr3() != (u32)t->pd)
		write_cr3((u32)t->pd);
	return t->frame;
}

static int pick(void)
{
	int i, n;
	for (i = 1; i <= NTASK; i++) {
		n = (cur + i) % NTASK;
		if (n != 0 && tasks[n].alive)
			return n;
	}
	return 0;
}

struct frame *sched_tick(struct frame *f)
{
	if (!sched_on)
		return f;
	int next;
	tasks[cur].frame = f;
	next = pick();
	if (next != cur && cur != 0 && next != 0)
		sched_switches++;
	return switch_to(next);
}

struct frame *sched_exit(struct frame *f)
{
	if (!sched_on || cur == 0) {
		f->eax = (u32)-1;
		return f;
	}
	tasks[cur].alive = 0;
	return switch_to(pick());
}

/* Build the first frame of a ring 3 task on its ring 0 stack, as if an
 * interrupt had stopped it at its first instruction. */
static void task_setup(int i, void (*entry)(void))
{
	struct task *t = &tasks[i];
	struct frame *f;
	t->k_top = kstack[i][0] + 1024;
	t->r1_top = kstack[i][1] + 1024;
	t->r2_top = kstack[i][2] + 1024;
	t->pd = task_pd(i - 1);
	/* The processor's frame from ring 3 ends at ESP0 (no v86 words). */
	f = (struct frame *)((u8 *)t->k_top - __builtin_offsetof(struct frame, v86_es));
	memset(f, 0, __builtin_offsetof(struct frame, v86_es));
	f->ds = f->es = f->fs = f->gs = SEL_UDATA | 3;
	f->cs = SEL_UCODE | 3;
	f->ss = SEL_UDATA | 3;
	f->eip = (u32)entry;
	f->esp = TASK_VA + 0x2000; /* top of its private stack page */
	f->eflags = 0x200 | 0x1000; /* IF=1, IOPL=1: the ring 1 driver may CLI and use the UART */
	t->frame = f;
	t->alive = 1;
}

/* Run the two tasks to completion, preempted by the PIT. Returns the
 * number of ticks it took. */
int sched_run_tasks(void (*entry_a)(void), void (*entry_b)(void))
{
	u32 start = ticks;
	u32 esp0 = tss_main.t.esp0, esp1 = tss_main.t.esp1, esp2 = tss_main.t.esp2;
	tasks[0].pd = kernel_pd;
	tasks[0].k_top = (u32 *)esp0;
	tasks[0].r1_top = (u32 *)esp1;
	tasks[0].r2_top = (u32 *)esp2;
	tasks[0].alive = 1;
	task_setup(1, entry_a);
	task_setup(2, entry_b);
	cur = 0;
	sched_on = 1;
	pic_mask(0xfffe);
	while (tasks[1].alive || tasks[2].alive)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	sched_on = 0;
	pic_mask(0xffff);
	return (int)(ticks - start);
}
