/* The code of the middle rings.
 *
 * drv_write runs at ring 1: a UART driver that reaches the ports with
 * IN/OUT, which the processor allows only if CPL <= EFLAGS.IOPL or the
 * TSS I/O bitmap grants them. svc_main runs at ring 2: a service that
 * ring 3 reaches through a call gate, and that reaches the driver
 * through another gate (DPL 2, so ring 3 cannot use it directly). Both
 * live on supervisor pages: rings 0-2 are all "supervisor" to paging. */
#include "ringos.h"

#define COM1 0x3f8

static void drv_putc(char c)
{
	int spin = 100000;
	while (!(inb(COM1 + 5) & 0x20) && --spin)
		;
	outb(COM1, (u8)c);
}

/* Ring 1. With IOPL >= 1 the driver may also CLI, so that a line is not
 * cut by a task switch; with IOPL 0 (bitmap only) CLI would #GP. */
u32 drv_write(const char *s)
{
	u32 fl, n = 0;
	__asm__ volatile("pushf; pop %0" : "=r"(fl));
	if ((fl & 0x3000) >= 0x1000)
		__asm__ volatile("cli");
	for (; *s; s++, n++) {
		if (*s == '\n')
			drv_putc('\r');
		drv_putc(*s);
	}
	if ((fl & 0x3000) >= 0x1000)
		__asm__ volatile("push %0; popf" : : "r"(fl) : "cc");
	return n;
}

/* Entry for run_ring(1, ...): same driver, called by the kernel. */
void drv_run(u32 s) { drv_write((const char *)s); }

static u32 call_driver(const char *s)
{
	u32 r;
	__asm__ volatile("pushl %1; lcall %2, $0" : "=a"(r) : "r"(s), "i"(SEL_GATE_DRV | 2) : "memory");
	return r;
}

/* Ring 2 service, entered through the call gate at SEL_GATE_SVC.
 * op 0: echo arg; op 1: print the string at arg through the ring 1
 * driver; op 2: the kernel's tick count (supervisor data ring 3 can
 * not read). */
/* Ring 2 runs as "supervisor" for paging, so it can read memory its
 * ring 3 caller cannot. A pointer from ring 3 must therefore be checked
 * before use, or ring 3 could make the service print kernel memory for
 * it (a confused deputy; ARPL exists for the segmented form of this). */
static int user_string(u32 a)
{
	extern char __user_start[], __user_end[];
	u32 n;
	for (n = 0; n < 256; n++, a++) {
		int ok = (a >= (u32)__user_start && a < (u32)__user_end) ||
			 (a >= TASK_VA && a < TASK_VA + 0x2000);
		if (!ok)
			return 0;
		if (!*(const char *)a)
			return 1;
	}
	return 0;
}

u32 svc_main(u32 op, u32 arg)
{
	switch (op) {
	case 0:
		return arg;
	case 1:
		if (!user_string(arg))
			return (u32)-1;
		return call_driver((const char *)arg);
	case 2:
		return ticks;
	}
	return (u32)-1;
}
