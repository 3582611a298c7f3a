/* Probes: run a piece of code at any ring and see what the processor did.
 *
 * probe_exec() IRETs into the context its frame describes. The context
 * ends either with a fault, which the kernel's trap() catches, or with
 * INT 0x81 (a DPL 3 gate meaning "done"). Either way the frame pushed
 * by the processor is kept in probe_out and the kernel continues after
 * the probe_exec() call, as if it had returned from a function. */
#include "ringos.h"

struct probe probe_out;
volatile int probe_armed;
extern int probe_enter(struct frame *in);
extern void u_ring_exit(void);

static const u16 ring_cs[4] = {SEL_KCODE, SEL_R1CODE | 1, SEL_R2CODE | 2, SEL_UCODE | 3};
static const u16 ring_ds[4] = {SEL_KDATA, SEL_R1DATA | 1, SEL_R2DATA | 2, SEL_UDATA | 3};

/* A frame to start code at eip in ring `ring`, on that ring's stack,
 * with IF=0 and IOPL=0. Callers adjust registers before probe_exec. */
void probe_frame(struct frame *in, int ring, u32 eip)
{
	u32 *stacks[4] = {0, stack_r1_top, stack_r2_top, ustack_top};
	memset(in, 0, sizeof *in);
	in->eip = eip;
	in->cs = ring_cs[ring];
	in->ds = in->es = in->fs = in->gs = ring_ds[ring];
	in->eflags = 2;
	in->ss = ring_ds[ring];
	in->esp = ring ? (u32)stacks[ring] - 64 : 0;
}

int probe_exec(struct frame *in)
{
	int v;
	memset(&probe_out, 0, sizeof probe_out);
	probe_armed = 1;
	v = probe_enter(in);
	probe_armed = 0;
	return v;
}

/* Call fn(arg) at ring `ring`; its return value is in probe_out.f.eax.
 * Returns VEC_DONE, or the vector of the fault that ended it. */
int run_ring(int ring, const void *fn, u32 arg, u32 eflags)
{
	struct frame in;
	u32 *sp;
	probe_frame(&in, ring, (u32)fn);
	in.eflags = eflags | 2;
	if (ring) {
		sp = (u32 *)in.esp;
		*--sp = arg;
		*--sp = (u32)u_ring_exit;
		in.esp = (u32)sp;
	} else {
		/* A same-ring IRET pops only EIP, CS, EFLAGS: the esp and ss
		 * slots become fn's return address and argument. */
		in.esp = (u32)u_ring_exit;
		in.ss = arg;
	}
	return probe_exec(&in);
}
