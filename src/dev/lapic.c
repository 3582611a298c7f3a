/* Local APIC (Intel SDM Vol. 3, chapter "Advanced Programmable Interrupt
 * Controller (APIC)"; the P6 family's register set). See lapic.h. */
#include "dev/lapic.h"
#include "machine/snap.h"

#include <stddef.h>

#include "dev/dev.h"

#include <string.h>

#define LAPIC_MAX_LVT 4u  /* P6: five LVT entries (SDM, "Local APIC Version Register") */
#define LVT_MASKED 0x10000u
#define LVT_PERIODIC 0x20000u
#define SVR_ENABLE 0x100u

/* ESR bits a P6 sets (SDM, "Error Handling"). */
#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECV_ILLEGAL 0x40u
#define ESR_ILLEGAL_REG 0x80u

/* Register offsets in the page. */
enum {
	R_ID = 0x20, R_VER = 0x30, R_TPR = 0x80, R_APR = 0x90, R_PPR = 0xa0, R_EOI = 0xb0, R_LDR = 0xd0,
	R_DFR = 0xe0, R_SVR = 0xf0, R_ISR = 0x100, R_TMR = 0x180, R_IRR = 0x200, R_ESR = 0x280,
	R_ICR_LO = 0x300, R_ICR_HI = 0x310, R_LVT_TIMER = 0x320, R_LVT_PERF = 0x340, R_LVT_LINT0 = 0x350,
	R_LVT_LINT1 = 0x360, R_LVT_ERROR = 0x370, R_TMICT = 0x380, R_TMCCT = 0x390, R_TDCR = 0x3e0,
};

/* Writable bits of each LVT entry (timer, perf, LINT0, LINT1, error);
 * delivery status and remote IRR are read-only. */
static const uint32_t lvt_writable[LAPIC_NLVT] = { 0x300ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff };

#define lapic_log(dev, ...) dev_logf((dev)->log, &(dev)->logged, "local APIC", __VA_ARGS__)

/* ---- 256-bit vector sets ---- */

static int highest(const uint32_t r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static void set_bit(uint32_t r[8], int v) { r[v >> 5] |= 1u << (v & 31); }
static void clr_bit(uint32_t r[8], int v) { r[v >> 5] &= ~(1u << (v & 31)); }
static bool get_bit(const uint32_t r[8], int v) { return (r[v >> 5] >> (v & 31)) & 1; }

/* ---- priorities and the INTR output ---- */

/* PPR: the TPR, or the class of the highest vector in service if that is
 * higher (SDM, "Processor Priority Register"). */
static uint32_t ppr(const struct lapic *a)
{
	int isrv = highest(a->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	return (a->tpr & 0xf0) >= isr_class ? a->tpr & 0xff : isr_class;
}

uint32_t lapic_ppr(const struct lapic *a)
{
	return ppr(a);
}

/* APR (SDM, "Arbitration Priority Register"). */
static uint32_t apr(const struct lapic *a)
{
	int irrv = highest(a->irr), isrv = highest(a->isr);
	uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0, isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
	if ((a->tpr & 0xf0) >= irr_class && (a->tpr & 0xf0) > isr_class)
		return a->tpr & 0xff;
	uint32_t m = a->tpr & 0xf0;
	if (isr_class > m)
		m = isr_class;
	if (irr_class > m)
		m = irr_class;
	return m;
}

/* The fixed vector the CPU would get now, or -1. */
static int deliverable(const struct lapic *a)
{
	if (!a->hw_enabled || !(a->svr & SVR_ENABLE))
		return -1;
	int v = highest(a->irr);
	if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(a) & 0xf0))
		return -1;
	return v;
}

/* Is the 8259 asking for an INTA through the APIC? With the APIC
 * hardware-disabled LINT0 is the processor's INTR pin itself. */
static bool extint_pending(const struct lapic *a)
{
	if (!a->hw_enabled)
		return a->lint[0];
	uint32_t l0 = a->lvt[LVT_LINT0];
	bool lint0 = a->lint[0] && !(l0 & LVT_MASKED) && ((l0 >> 8) & 7) == APIC_DM_EXTINT;
	return lint0 || a->extint_req;
}

static void update(struct lapic *a)
{
	int level = deliverable(a) >= 0 || extint_pending(a);
	if (level != a->intr) {
		a->intr = level;
		if (a->board.set_intr)
			a->board.set_intr(a->board.opaque, level);
	}
}

static void signal_nmi(struct lapic *a)
{
	if (a->board.nmi)
		a->board.nmi(a->board.opaque);
}

/* ---- accepting interrupts ---- */

static void raise_error(struct lapic *a, uint32_t bits);

/* A fixed interrupt reaches the IRR (edge) or IRR and TMR (level). A
 * software-disabled APIC takes only NMI, SMI, INIT and STARTUP
 * (SDM, "Local APIC State After It Has Been Software Disabled"). */
static bool accept_fixed(struct lapic *a, uint8_t vector, bool level)
{
	if (!(a->svr & SVR_ENABLE))
		return false;
	if (vector < 16) {
		raise_error(a, ESR_RECV_ILLEGAL);
		return false;
	}
	set_bit(a->irr, vector);
	if (level)
		set_bit(a->tmr, vector);
	else
		clr_bit(a->tmr, vector);
	update(a);
	return true;
}

/* The error LVT: its own illegal vector is recorded, not delivered
 * again, so an error cannot loop. */
static void raise_error(struct lapic *a, uint32_t bits)
{
	a->esr_new |= bits;
	uint32_t lvt = a->lvt[LVT_ERROR];
	if (lvt & LVT_MASKED)
		return;
	if ((lvt & 0xff) < 16)
		a->esr_new |= ESR_RECV_ILLEGAL;
	else
		accept_fixed(a, (uint8_t)lvt, false);
}

/* A local interrupt source fires through LVT entry n. */
static void fire_lvt(struct lapic *a, int n, bool level)
{
	uint32_t lvt = a->lvt[n];
	if (lvt & LVT_MASKED)
		return;
	int mode = n == LVT_TIMER || n == LVT_ERROR ? APIC_DM_FIXED : (int)((lvt >> 8) & 7);
	switch (mode) {
	case APIC_DM_FIXED:
		accept_fixed(a, (uint8_t)lvt, level);
		break;
	case APIC_DM_NMI:
		signal_nmi(a);
		break;
	case APIC_DM_EXTINT:
		update(a); /* extint_pending() follows the LINT level */
		break;
	default: /* SMI, INIT: no SMM and a single CPU here */
		lapic_log(a, "LVT %d delivery mode %d ignored", n, mode);
		break;
	}
}

bool lapic_match_dest(const struct lapic *a, uint8_t dest, bool logical)
{
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == a->id;
	uint8_t ldr = (uint8_t)(a->ldr >> 24);
	if ((a->dfr >> 28) == 0xf) /* flat model */
		return (ldr & dest) != 0;
	/* cluster model: cluster in bits 7:4, members in 3:0 */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0x0f) != 0;
}

bool lapic_deliver(struct lapic *a, int mode, uint8_t vector, bool level)
{
	if (!a->hw_enabled)
		return false;
	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST: /* one CPU: the lowest priority is this one */
		return accept_fixed(a, vector, level);
	case APIC_DM_NMI:
		signal_nmi(a);
		return true;
	case APIC_DM_EXTINT:
		a->extint_req = 1;
		update(a);
		return true;
	case APIC_DM_SMI:
	case APIC_DM_INIT:
	case APIC_DM_STARTUP:
		return true; /* accepted: no SMM; INIT and STARTUP are the board's */
	default:
		return false;
	}
}

int lapic_intack(struct lapic *a)
{
	if (!a->hw_enabled)
		return a->board.extint_ack ? a->board.extint_ack(a->board.opaque) : 0xff;
	int v = deliverable(a);
	if (v >= 0) {
		clr_bit(a->irr, v);
		set_bit(a->isr, v);
		update(a);
		return v;
	}
	if (extint_pending(a)) {
		/* ExtINT bypasses IRR and ISR: the 8259 supplies the vector. */
		a->extint_req = 0;
		int vec = a->board.extint_ack ? a->board.extint_ack(a->board.opaque) : (int)(a->svr & 0xff);
		update(a);
		return vec;
	}
	/* The request went away (TPR raised): the spurious vector, with
	 * nothing put in service (SDM, "Spurious Interrupt"). */
	return (int)(a->svr & 0xff);
}

void lapic_set_lint(void *opaque, int n, int level)
{
	struct lapic *a = opaque;
	if (n < 0 || n > 1)
		return;
	int was = a->lint[n];
	a->lint[n] = level != 0;
	if (!a->hw_enabled) {
		/* A disabled APIC makes LINT0/LINT1 the INTR and NMI pins. */
		if (n == 1 && level && !was)
			signal_nmi(a);
		update(a);
		return;
	}
	uint32_t lvt = a->lvt[LVT_LINT0 + n];
	int mode = (int)((lvt >> 8) & 7);
	bool level_trig = (lvt & 0x8000) && mode == APIC_DM_FIXED;
	if (mode != APIC_DM_EXTINT && level && (!was || level_trig))
		fire_lvt(a, LVT_LINT0 + n, level_trig);
	update(a); /* ExtINT: extint_pending() follows the level */
}

/* ---- the timer ---- */

/* Bus clocks per count: divide configuration bits 0, 1 and 3
 * (SDM, "Divide Configuration Register"): 000 -> 2 ... 110 -> 128, 111 -> 1. */
static uint64_t tick_ns(const struct lapic *a)
{
	unsigned code = (a->divide & 3) | ((a->divide >> 1) & 4);
	return (uint64_t)LAPIC_NS_PER_TICK << ((code + 1) & 7);
}

uint32_t lapic_timer_count(struct lapic *a)
{
	if (!a->initial)
		return 0;
	uint64_t ticks = (clock_now(a->clock) - a->start_ns) / tick_ns(a);
	if (a->lvt[LVT_TIMER] & LVT_PERIODIC)
		return a->initial - (uint32_t)(ticks % a->initial);
	return ticks >= a->initial ? 0 : a->initial - (uint32_t)ticks;
}

/* Arm the clock timer for the next time the count reaches zero. A
 * one-shot's interrupt is owed from the moment its count was loaded
 * (owed: a new count, or the timer still armed for it), so it is armed
 * even when the clock has already passed zero, and then runs at once: the
 * host may stop ringvm between reading the clock for start_ns and here
 * for longer than the count. Only an expiry already made is not made
 * again. */
static void timer_arm(struct lapic *a, bool owed)
{
	if (!a->initial) {
		timer_del(a->clock, &a->timer);
		return;
	}
	uint64_t period = (uint64_t)a->initial * tick_ns(a);
	uint64_t due = a->start_ns + period;
	if (a->lvt[LVT_TIMER] & LVT_PERIODIC) {
		uint64_t now = clock_now(a->clock);
		if (now >= due) /* late: the next boundary after now, in phase */
			due = a->start_ns + ((now - a->start_ns) / period + 1) * period;
	} else if (!owed) {
		timer_del(a->clock, &a->timer); /* one-shot, already expired */
		return;
	}
	timer_mod(a->clock, &a->timer, due);
}

static void timer_fire(void *opaque)
{
	struct lapic *a = opaque;
	if (!a->initial)
		return;
	fire_lvt(a, LVT_TIMER, false);
	if (a->lvt[LVT_TIMER] & LVT_PERIODIC) {
		/* Missed periods collapse into this one interrupt (IRR is a
		 * bit), and the count keeps its phase. */
		uint64_t period = (uint64_t)a->initial * tick_ns(a);
		uint64_t now = clock_now(a->clock);
		a->start_ns += (now - a->start_ns) / period * period;
		timer_arm(a, true);
	}
}

/* Keep the current count across a change of the divider or the mode. */
static void timer_rebase(struct lapic *a, uint32_t count)
{
	if (!a->initial)
		return;
	uint64_t now = clock_now(a->clock);
	uint64_t done = (uint64_t)(a->initial - count) * tick_ns(a);
	a->start_ns = now >= done ? now - done : 0;
	timer_arm(a, a->timer.armed);
}

/* Before the guest changes the timer: make the interrupt of a count that
 * has already reached zero, which the run loop has not run yet (it runs
 * timers between slices). On the processor it was made at zero, before
 * this write could mask it or change the divider. */
static void timer_catch_up(struct lapic *a)
{
	if (a->timer.armed && a->timer.deadline <= clock_now(a->clock)) {
		timer_del(a->clock, &a->timer);
		timer_fire(a);
	}
}

/* ---- IPIs ---- */

static void send_ipi(struct lapic *a)
{
	uint32_t lo = a->icr_lo;
	int mode = (int)((lo >> 8) & 7);
	uint8_t vector = (uint8_t)lo;
	int shorthand = (int)((lo >> 18) & 3);
	bool logical = lo & 0x800;
	if (mode == 3 || mode == 7) {
		lapic_log(a, "ICR %#010x: reserved delivery mode %d, IPI not sent", lo, mode);
		return;
	}
	if (mode == APIC_DM_INIT && !(lo & 0x4000) && (lo & 0x8000))
		return; /* INIT level de-assert: only resynchronises arbitration IDs */
	if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
		raise_error(a, ESR_SEND_ILLEGAL);
		return;
	}
	bool self;
	switch (shorthand) {
	case 1: /* self: fixed interrupts only (SDM, "Interrupt Command Register") */
		if (mode != APIC_DM_FIXED) {
			lapic_log(a, "ICR %#010x: the self shorthand takes fixed delivery only", lo);
			return;
		}
		self = true;
		break;
	case 2: self = true; break;  /* all including self */
	case 3: self = false; break; /* all excluding self */
	default: self = lapic_match_dest(a, (uint8_t)(a->icr_hi >> 24), logical); break;
	}
	if (a->board.ipi) {
		a->board.ipi(a->board.opaque, shorthand, (uint8_t)(a->icr_hi >> 24), logical, mode, vector);
		return;
	}
	if (!self)
		return;
	if (mode == APIC_DM_INIT || mode == APIC_DM_STARTUP) {
		lapic_log(a, "ICR %#010x: INIT/STARTUP to this CPU ignored", lo);
		return;
	}
	lapic_deliver(a, mode, vector, false);
}

/* ---- registers ---- */

static bool reg_read(struct lapic *a, uint32_t reg, uint32_t *v)
{
	if (reg >= R_ISR && reg < R_ISR + 0x80) {
		*v = a->isr[(reg - R_ISR) >> 4];
		return true;
	}
	if (reg >= R_TMR && reg < R_TMR + 0x80) {
		*v = a->tmr[(reg - R_TMR) >> 4];
		return true;
	}
	if (reg >= R_IRR && reg < R_IRR + 0x80) {
		*v = a->irr[(reg - R_IRR) >> 4];
		return true;
	}
	switch (reg) {
	case R_ID: *v = (uint32_t)a->id << 24; return true;
	case R_VER: *v = LAPIC_VERSION | LAPIC_MAX_LVT << 16; return true;
	case R_TPR: *v = a->tpr; return true;
	case R_APR: *v = apr(a); return true;
	case R_PPR: *v = ppr(a); return true;
	case R_EOI: *v = 0; return true;
	case R_LDR: *v = a->ldr; return true;
	case R_DFR: *v = a->dfr; return true;
	case R_SVR: *v = a->svr; return true;
	case R_ESR: *v = a->esr; return true;
	case R_ICR_LO: *v = a->icr_lo; return true;
	case R_ICR_HI: *v = a->icr_hi; return true;
	case R_LVT_TIMER: *v = a->lvt[LVT_TIMER]; return true;
	case R_LVT_PERF: *v = a->lvt[LVT_PERF]; return true;
	case R_LVT_LINT0: *v = a->lvt[LVT_LINT0]; return true;
	case R_LVT_LINT1: *v = a->lvt[LVT_LINT1]; return true;
	case R_LVT_ERROR: *v = a->lvt[LVT_ERROR]; return true;
	case R_TMICT: *v = a->initial; return true;
	case R_TMCCT: *v = lapic_timer_count(a); return true;
	case R_TDCR: *v = a->divide; return true;
	default: return false;
	}
}

static void eoi(struct lapic *a)
{
	int v = highest(a->isr);
	if (v < 0)
		return; /* an EOI with nothing in service is ignored */
	clr_bit(a->isr, v);
	if (get_bit(a->tmr, v) && a->board.eoi)
		a->board.eoi(a->board.opaque, (uint8_t)v);
	update(a);
}

static void write_lvt(struct lapic *a, int n, uint32_t val)
{
	uint32_t old = a->lvt[n];
	uint32_t v = (old & ~lvt_writable[n]) | (val & lvt_writable[n]);
	if (!(a->svr & SVR_ENABLE))
		v |= LVT_MASKED; /* cannot be unmasked while software-disabled */
	if (n == LVT_TIMER) {
		timer_catch_up(a);
		uint32_t count = lapic_timer_count(a);
		a->lvt[n] = v;
		if ((old ^ v) & LVT_PERIODIC)
			timer_rebase(a, count);
		return;
	}
	int mode = (int)((v >> 8) & 7);
	if (n != LVT_ERROR && !(v & LVT_MASKED) && (mode == 3 || mode == 6 || (n == LVT_PERF && mode == 7)))
		lapic_log(a, "LVT %d %#x: reserved delivery mode %d", n, v, mode);
	a->lvt[n] = v;
	if (n == LVT_LINT0 || n == LVT_LINT1)
		update(a);
}

static void reg_write(struct lapic *a, uint32_t reg, uint32_t v)
{
	switch (reg) {
	case R_ID: a->id = (uint8_t)(v >> 24); return;
	case R_TPR: a->tpr = v & 0xff; update(a); return;
	case R_EOI: eoi(a); return;
	case R_LDR: a->ldr = v & 0xff000000u; return;
	case R_DFR: a->dfr = v | 0x0fffffffu; return;
	case R_SVR:
		/* P6: vector bits 3:0 read as ones; bit 9 is focus checking. */
		a->svr = (v & 0x3f0) | 0xf;
		if (!(a->svr & SVR_ENABLE))
			for (int i = 0; i < LAPIC_NLVT; i++)
				a->lvt[i] |= LVT_MASKED;
		update(a);
		return;
	case R_ESR: /* a write latches the errors seen since the last one */
		a->esr = a->esr_new;
		a->esr_new = 0;
		return;
	case R_ICR_LO:
		a->icr_lo = v & 0x000ccfffu; /* delivery status reads idle: delivery is immediate */
		send_ipi(a);
		return;
	case R_ICR_HI: a->icr_hi = v & 0xff000000u; return;
	case R_LVT_TIMER: write_lvt(a, LVT_TIMER, v); return;
	case R_LVT_PERF: write_lvt(a, LVT_PERF, v); return;
	case R_LVT_LINT0: write_lvt(a, LVT_LINT0, v); return;
	case R_LVT_LINT1: write_lvt(a, LVT_LINT1, v); return;
	case R_LVT_ERROR: write_lvt(a, LVT_ERROR, v); return;
	case R_TMICT:
		timer_catch_up(a);
		a->initial = v;
		a->start_ns = clock_now(a->clock);
		timer_arm(a, true);
		return;
	case R_TDCR: {
		timer_catch_up(a);
		uint32_t count = lapic_timer_count(a);
		a->divide = v & 0xb;
		timer_rebase(a, count);
		return;
	}
	case R_VER: case R_APR: case R_PPR: case R_TMCCT:
		return; /* read-only */
	default:
		if ((reg >= R_ISR && reg < R_ISR + 0x80) || (reg >= R_TMR && reg < R_TMR + 0x80) ||
		    (reg >= R_IRR && reg < R_IRR + 0x80))
			return; /* read-only */
		raise_error(a, ESR_ILLEGAL_REG);
		lapic_log(a, "write %#x to unimplemented register %#x", v, reg);
	}
}

/* Registers are 32 bits at 16-byte boundaries; the other 12 bytes of
 * each slot read as zero. Narrower reads see their bytes. */
static uint32_t mmio_read(void *opaque, uint32_t off, int size)
{
	struct lapic *a = opaque;
	uint32_t reg = off & ~0xfu, v = 0;
	if (!reg_read(a, reg, &v)) {
		raise_error(a, ESR_ILLEGAL_REG);
		lapic_log(a, "read of unimplemented register %#x", reg);
		return 0;
	}
	unsigned byte = off & 0xf;
	if (byte >= 4)
		return 0;
	v >>= 8 * byte;
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	struct lapic *a = opaque;
	if (size != 4 || (off & 0xf)) {
		lapic_log(a, "%d-byte write at offset %#x ignored (registers take aligned 32-bit writes)", size, off);
		return;
	}
	reg_write(a, off, val);
}

static const struct bus_ops lapic_ops = { mmio_read, mmio_write, 0, "local-apic" };

static void map(struct lapic *a, uint32_t base, bool on)
{
	if (a->mapped && (!on || base != a->base)) {
		bus_del(a->mmio, a->base);
		a->mapped = false;
	}
	a->base = base;
	if (on && !a->mapped) {
		if (bus_add_mmio(a->mmio, base, 0x1000, &lapic_ops, a) == 0)
			a->mapped = true;
		else
			lapic_log(a, "cannot map the registers at %#x (another device is there)", base);
	}
}

/* Register state of power-up and of a hardware disable (SDM, "Local APIC
 * State After Power-Up or Reset"), except that LINT0 starts as ExtINT,
 * unmasked: the virtual-wire setup a PC BIOS leaves, as QEMU's board
 * does, so the 8259 reaches the CPU with no APIC programming. */
static void regs_reset(struct lapic *a)
{
	a->tpr = 0;
	a->svr = 0xff;
	a->ldr = 0;
	a->dfr = 0xffffffffu;
	a->esr = a->esr_new = 0;
	a->icr_lo = a->icr_hi = 0;
	for (int i = 0; i < LAPIC_NLVT; i++)
		a->lvt[i] = LVT_MASKED;
	if (a->virtual_wire)
		a->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	memset(a->irr, 0, sizeof(a->irr));
	memset(a->isr, 0, sizeof(a->isr));
	memset(a->tmr, 0, sizeof(a->tmr));
	a->divide = 0;
	a->initial = 0;
	a->extint_req = 0;
	timer_del(a->clock, &a->timer);
}

void lapic_init_reset(struct lapic *a)
{
	regs_reset(a);
	update(a);
}

void lapic_reset(struct lapic *a)
{
	a->id = a->hw_id;
	a->hw_enabled = true;
	regs_reset(a);
	map(a, LAPIC_DEFAULT_BASE, true);
	update(a);
}

void lapic_set_base(struct lapic *a, uint64_t msr)
{
	bool on = msr & 0x800;
	if (a->hw_enabled && !on)
		regs_reset(a);
	a->hw_enabled = on;
	map(a, (uint32_t)(msr & 0xfffff000u), on);
	update(a);
}

int lapic_init(struct lapic *a, struct bus *mmio, struct clock *clk, const struct lapic_board *board, FILE *log)
{
	memset(a, 0, sizeof(*a));
	a->mmio = mmio;
	a->clock = clk;
	a->board = *board;
	a->log = log;
	a->virtual_wire = true;
	timer_init(&a->timer, timer_fire, a);
	a->hw_enabled = true;
	regs_reset(a);
	if (bus_add_mmio(mmio, LAPIC_DEFAULT_BASE, 0x1000, &lapic_ops, a) < 0)
		return -1;
	a->mapped = true;
	a->base = LAPIC_DEFAULT_BASE;
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void lapic_dev_reset(void *dev)
{
	lapic_reset(dev);
}

static void lapic_dev_save(void *dev, struct snap_w *w)
{
	struct lapic *a = dev;
	snap_put(w, a, offsetof(struct lapic, timer));
	snap_timer(w, &a->timer);
}

/* The register page moves with the saved base: unmap it from where it is
 * and map it where the snapshot had it. */
static int lapic_dev_load(void *dev, struct snap_r *r)
{
	struct lapic *a = dev;
	map(a, a->base, false);
	snap_get(r, a, offsetof(struct lapic, timer));
	bool on = a->mapped;
	a->mapped = false;
	map(a, a->base, on);
	snap_get_timer(r, a->clock, &a->timer);
	return 0;
}

const struct dev_ops lapic_dev_ops = { "lapic", lapic_dev_reset, lapic_dev_save, lapic_dev_load };
