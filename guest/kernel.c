/* ringos kernel: boot, the trap dispatcher, system calls, power off. */
#include "ringos.h"

struct mbi {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline;
};

volatile u32 ticks;
trap_hook_t trap_hook;
extern volatile int probe_armed;
extern void probe_resume(void) __attribute__((noreturn));
extern u32 probe_vec;
extern u32 stack_sysenter_top[];
extern void sysenter_entry(void);
struct frame *sched_tick(struct frame *f);
struct frame *sched_exit(struct frame *f);
int sched_current(void);
u32 last_dr6;

static const char *const exc_names[20] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
};

const char *vec_name(int v)
{
	static char buf[12];
	if (v >= 0 && v < 20)
		return exc_names[v];
	if (v == VEC_DONE)
		return "no fault";
	ksnprintf(buf, sizeof buf, "INT 0x%x", (u32)v);
	return buf;
}

void debug_exit(u8 v)
{
	outb(0xf4, v);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Bochs/ringvm APM shutdown port; QEMU ignores it, so fall back to the
 * debug-exit port (status 1 there). */
void power_off(void)
{
	const char *s = "Shutdown";
	while (*s)
		__asm__ volatile("outb %0, %1" : : "a"(*s++), "Nd"((u16)0x8900));
	debug_exit(0);
}

void panic(const char *why, struct frame *f)
{
	kprintf("\nringos panic: %s\n", why);
	if (f)
		kprintf("  %s err=0x%x eip=%x cs=%x eflags=%x cr2=%x\n", vec_name((int)f->vec), f->err,
			f->eip, f->cs, f->eflags, read_cr2());
	debug_exit(2);
}

u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* SYSENTER is present when CPUID.1:EDX.SEP[11] is set (SDM Vol. 2A). */
int cpu_has_sep(void)
{
	u32 a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (d >> 11) & 1;
}

/* INT 0x80: EAX = number, EBX/ECX = arguments, result in EAX. */
static struct frame *syscall(struct frame *f)
{
	switch (f->eax) {
	case SYS_NULL:
		f->eax = 0;
		break;
	case SYS_WRITE: {
		/* The buffer must lie in memory the caller may read itself:
		 * the .user section or the task's private pages. The kernel
		 * must not be tricked into reading its own memory for ring 3. */
		const char *s = (const char *)f->ebx;
		u32 n = f->ecx, a = f->ebx;
		extern char __user_start[], __user_end[];
		int in_user = a >= (u32)__user_start && a + n <= (u32)__user_end && a + n >= a;
		int in_task = a >= TASK_VA && a + n <= TASK_VA + 0x2000 && a + n >= a;
		if (!(in_user || in_task) || n > 256) {
			f->eax = (u32)-1;
			break;
		}
		while (n--)
			con_putc(*s++);
		f->eax = f->ecx;
		break;
	}
	case SYS_EXIT:
		return sched_exit(f);
	case SYS_TICKS:
		f->eax = ticks;
		break;
	case SYS_GETPID:
		f->eax = (u32)sched_current();
		break;
	default:
		f->eax = (u32)-1;
	}
	return f;
}

struct frame *trap(struct frame *f)
{
	f->ds &= 0xffff;
	f->es &= 0xffff;
	f->fs &= 0xffff;
	f->gs &= 0xffff;
	if (f->vec >= VEC_IRQ0 && f->vec < VEC_IRQ0 + 16) {
		if (f->vec == VEC_IRQ0) {
			ticks++;
			outb(0x20, 0x20);
			return sched_tick(f);
		}
		if (f->vec >= VEC_IRQ0 + 8)
			outb(0xa0, 0x20);
		outb(0x20, 0x20);
		return f;
	}
	if (f->vec == VEC_SYSCALL)
		return syscall(f);
	if (trap_hook && trap_hook(f))
		return f;
	if (probe_armed) {
		if (f->vec == 1)
			__asm__ volatile("mov %%db6, %0" : "=r"(last_dr6));
		probe_out.f = *f;
		if (!(f->cs & 3)) { /* no stack switch: ESP was the frame's end */
			probe_out.f.esp = (u32)&f->esp;
			probe_out.f.ss = SEL_KDATA;
		}
		probe_out.f.ss &= 0xffff;
		probe_out.f.cs &= 0xffff;
		probe_out.cr2 = read_cr2();
		probe_vec = f->vec;
		probe_resume();
	}
	panic("unexpected exception", f);
}

void kmain(u32 magic, struct mbi *mbi)
{
	const char *cmd = "";
	con_init();
	if (magic == 0x2BADB002 && (mbi->flags & 4))
		cmd = (const char *)mbi->cmdline;
	desc_init();
	paging_init();
	pic_init();
	if (cpu_has_sep()) {
		wrmsr(0x174, SEL_KCODE);
		wrmsr(0x175, (u32)stack_sysenter_top);
		wrmsr(0x176, (u32)sysenter_entry);
	}
	/* GRUB and QEMU (and ringvm) start the command line with the
	 * kernel's path: the mode, if any, is in the words after it. */
	while (*cmd == ' ')
		cmd++;
	while (*cmd && *cmd != ' ')
		cmd++;
	if (str_has_word(cmd, "conformance"))
		conformance();
	else if (str_has_word(cmd, "bench"))
		bench();
	else
		tour();
	power_off();
}
