/* The default mode: a narrated tour of the four privilege levels. Each
 * line says what was tried and what the processor did about it. */
#include "conf.h"

extern const char *vec_name(int v);
extern u32 probe_vec;
extern u32 gate_seen_words[6], svc_seen_esp, svc_seen_ss;
extern u32 sysenter_seen_cs, sysenter_seen_ss, sysenter_count, sysenter_user_if;
extern u32 u_has_sep;
extern u32 sched_switches;
extern void drv_run(u32 s);
extern void u_task(void);

static const char *outcome(int v)
{
	static char b[48];
	if (v == 14)
		ksnprintf(b, sizeof b, "#PF error code 0x%x, CR2=0x%x", probe_out.f.err, probe_out.cr2);
	else if ((v == 8 || (v >= 10 && v <= 13)) && !probe_out.f.err)
		ksnprintf(b, sizeof b, "%s(0)", vec_name(v));
	else if (v == 8 || (v >= 10 && v <= 13))
		ksnprintf(b, sizeof b, "%s(0x%x)", vec_name(v), probe_out.f.err);
	else
		ksnprintf(b, sizeof b, "%s", vec_name(v));
	return b;
}

static int demo(int ring, const void *snip, u32 esi, u32 ebx)
{
	struct frame f;
	probe_frame(&f, ring, (u32)snip);
	f.esi = esi;
	f.ebx = ebx;
	return probe_exec(&f);
}

static void show(const char *what, int v)
{
	kprintf("  %s -> %s%s\n", what, outcome(v), v == VEC_DONE ? "" : " caught by the kernel");
}

void tour(void)
{
	int v, t;
	u32 *pte = pte_of(kernel_pd, TEST_VA);

	kprintf("ringos: a tour of the four privilege levels of IA-32\n");
	kprintf("[ring 0] kernel: GDT with code and data for rings 0-3, a TSS, an LDT and call gates;\n"
		"         IDT of %d gates; paging on with CR0.WP=1; PIC remapped to 0x20\n",
		IDT_ENTRIES);
	u_has_sep = (u32)cpu_has_sep();
	kprintf("[ring 0] CPUID: SYSENTER/SYSEXIT %s\n",
		u_has_sep ? "present (SEP=1)" : "absent (SEP=0): skipping those parts");

	kprintf("-- ring 1: the UART driver --\n");
	v = run_ring(1, drv_run, (u32) "  [ring 1] the driver writes this line itself: allowed by IOPL=1 (CPL 1 <= IOPL)\n",
		     IOPL(1));
	if (v != VEC_DONE)
		show("ring 1 driver with IOPL=1", v);
	iomap_allow(0x3f8, 8);
	v = run_ring(1, drv_run,
		     (u32) "  [ring 1] with IOPL=0 it still may: allowed by the I/O bitmap (0x3f8-0x3ff clear in the TSS)\n",
		     0);
	if (v != VEC_DONE)
		show("ring 1 driver with IOPL=0 and the bitmap", v);
	iomap_deny(0x3f8, 8);
	v = run_ring(2, drv_run, (u32) "ring 2 must not print this\n", 0);
	show("ring 2 runs the same driver, IOPL=0, bitmap now denying: its IN", v);

	kprintf("-- ring 2: a service behind a call gate --\n");
	v = demo(3, s_svc_call, 0, 0);
	if (v == VEC_DONE)
		kprintf("  ring 3 calls the ring 2 service through call gate 0x%x: 2 params copied,\n"
			"  stack switched to SS:ESP=0x%x:0x%x (from the TSS), returned 0x%x\n",
			SEL_GATE_SVC | 3, svc_seen_ss, svc_seen_esp, probe_out.f.eax);
	else
		show("ring 3 calls the ring 2 service", v);
	{
		struct frame f;
		probe_frame(&f, 3, (u32)s_svc);
		f.eax = 1;
		f.ebx = (u32)gdt;
		v = probe_exec(&f);
		kprintf("  ring 3 asks it to print kernel memory at 0x%x -> %s (ring 2 checks pointers)\n",
			(u32)gdt, v == VEC_DONE && probe_out.f.eax == (u32)-1 ? "refused" : outcome(v));
	}
	u_scratch[8] = 0;
	u_scratch[9] = SEL_GATE_DRV | 3;
	show("ring 3 calls the ring 1 driver's gate (DPL 2) directly", demo(3, s_lcall, (u32)&u_scratch[8], 0));

	kprintf("-- ring 3: what a program may not do --\n");
	show("ring 3 executes CLI", demo(3, s_cli, 0, 0));
	show("ring 3 executes HLT", demo(3, s_hlt, 0, 0));
	show("ring 3 executes MOV CR3", demo(3, s_wrcr3, read_cr3(), 0));
	show("ring 3 executes IN from the PIC", demo(3, s_in21, 0, 0));
	*pte = (u32)test_page(0) | 3; /* supervisor, writable */
	invlpg(TEST_VA);
	show("ring 3 reads a supervisor page", demo(3, s_rd, TEST_VA, 0));
	*pte = (u32)test_page(0) | 5; /* user, read-only */
	invlpg(TEST_VA);
	show("ring 3 reads a read-only user page", demo(3, s_rd, TEST_VA, 0));
	show("ring 3 writes it", demo(3, s_wr, TEST_VA, 0));
	show("ring 3 loads DS with the kernel data selector", demo(3, s_ldds, 0, SEL_KDATA));
	show("ring 3 INT 0x82 (gate DPL 0)", demo(3, s_int82, 0, 0));
	show("ring 3 divides by zero", demo(3, s_div0, 0, 0));
	{
		struct frame f;
		probe_frame(&f, 3, (u32)s_popf);
		f.eflags = 2 | FL_IF;
		f.ebx = 2;
		v = probe_exec(&f);
		kprintf("  ring 3 POPF clearing IF -> %s, IF still %d (CPL 3 > IOPL 0: ignored)\n",
			vec_name(v), (probe_out.f.eflags & FL_IF) ? 1 : 0);
		probe_frame(&f, 1, (u32)s_cli);
		f.eflags = 2 | FL_IF | IOPL(1);
		v = probe_exec(&f);
		kprintf("  ring 1 executes CLI with IOPL=1 -> %s, IF now %d\n", vec_name(v),
			(probe_out.f.eflags & FL_IF) ? 1 : 0);
	}

	kprintf("-- system calls --\n");
	v = demo(3, s_int80, 0, 0);
	kprintf("  ring 3 INT 0x80 (interrupt gate, DPL 3) -> %s, returned %d\n",
		v == VEC_DONE ? "kernel ran, IRET back to ring 3" : outcome(v), probe_out.f.eax);
	v = demo(3, s_gate_call, 0, 0);
	if (v == VEC_DONE)
		kprintf("  ring 3 CALL through call gate 0x%x -> ring 0 found 0x%x 0x%x copied onto its\n"
			"  stack above CS:EIP, returned 0x%x with RET 8\n",
			SEL_GATE_SYS | 3, gate_seen_words[2], gate_seen_words[3], probe_out.f.eax);
	else
		show("ring 3 CALL through the ring 0 call gate", v);
	if (u_has_sep) {
		sysenter_user_if = 0;
		v = demo(3, s_sysenter, 0, 0);
		sysenter_user_if = 0x200;
		if (v == VEC_DONE)
			kprintf("  ring 3 SYSENTER -> ring 0 at CS=0x%x SS=0x%x; SYSEXIT back to CS=0x%x SS=0x%x\n",
				sysenter_seen_cs, sysenter_seen_ss, probe_out.f.cs, probe_out.f.ss);
		else
			show("ring 3 SYSENTER", v);
	}

	kprintf("-- two ring 3 tasks, own page directories, preempted by the PIT (IRQ0, 100 Hz) --\n");
	kprintf("  task A: CR3=0x%x, page 0x40000000 -> frame 0x%x; task B: CR3=0x%x, -> frame 0x%x\n",
		(u32)task_pd(0), task_page_pa(0), (u32)task_pd(1), task_page_pa(1));
	kprintf("  (each line goes ring 3 -> call gate -> ring 2 -> call gate -> ring 1 -> UART)\n");
	pit_start(100, 3);
	t = sched_run_tasks(u_task, u_task);
	kprintf("[ring 0] both tasks exited after %d ticks and %u preemptions\n", t, sched_switches);
	kprintf("(command line 'conformance': every check, one line each; 'bench': cycle costs)\n");
	kprintf("ringos: tour done, powering off (APM port 0x8900)\n");
}
