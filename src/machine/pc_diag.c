/* The board's wake-up state in text (see pc.h, docs/debugging.md): what a
 * guest that stopped making progress waits for. Everything that can wake
 * a halted CPU is here: its own state, the armed timers against the
 * clock, and each interrupt controller on the way from a device to it. */
#include "machine/pc.h"

static void vectors(FILE *f, const char *name, const uint32_t r[8])
{
	fprintf(f, " %s", name);
	int n = 0;
	for (int v = 0; v < 256; v++)
		if ((r[v >> 5] >> (v & 31)) & 1)
			fprintf(f, "%s%#x", n++ ? "," : "=", v);
	if (!n)
		fprintf(f, "=-");
}

static void dump_cpu(FILE *f, int i, const struct cpu *c)
{
	fprintf(f, "cpu %d: %s%s IF=%d intr_line=%d nmi_pending=%d nmi_blocked=%d shadow=%d cs:eip=%04x:%08x icount=%llu\n",
		i, c->wait_sipi ? "waiting for SIPI, " : "", c->halted ? "halted" : "running", (c->eflags & FL_IF) != 0, c->intr_line, c->nmi_pending,
		c->nmi_blocked, c->inhibit_irq, c->seg[S_CS].sel, c->eip, (unsigned long long)c->icount);
}

static void dump_lapic(FILE *f, struct lapic *a)
{
	fprintf(f, "lapic %d: %s svr=%#x tpr=%#x intr=%d", a->id, !a->hw_enabled ? "hardware-disabled" : "enabled", a->svr,
		a->tpr, a->intr);
	vectors(f, "irr", a->irr);
	vectors(f, "isr", a->isr);
	fprintf(f, "\nlapic timer: lvt=%#x (%s%s vector %#x) divide=%#x initial=%u current=%u\n",
		a->lvt[LVT_TIMER], (a->lvt[LVT_TIMER] & 0x10000) ? "masked " : "",
		(a->lvt[LVT_TIMER] & 0x20000) ? "periodic" : "one-shot", a->lvt[LVT_TIMER] & 0xff, a->divide,
		a->initial, lapic_timer_count(a));
	fprintf(f, "lapic lint0=%#x lint1=%#x levels=%d,%d extint_req=%d\n", a->lvt[LVT_LINT0], a->lvt[LVT_LINT1],
		a->lint[0], a->lint[1], a->extint_req);
}

/* Unmasked pins, and any pin whose input is asserted. */
static void dump_ioapic(FILE *f, const struct ioapic *io)
{
	fprintf(f, "ioapic: pins asserted=%#x\n", io->pins);
	for (int i = 0; i < IOAPIC_PINS; i++) {
		uint64_t r = io->redir[i];
		if ((r & 0x10000) && !((io->pins >> i) & 1))
			continue;
		fprintf(f, "  pin %d: vector %#x mode %d %s %s%s%s dest %#x\n", i, (unsigned)(r & 0xff),
			(int)((r >> 8) & 7), (r & 0x8000) ? "level" : "edge", (r & 0x10000) ? "masked" : "unmasked",
			(r & 0x4000) ? " remote-irr" : "", ((io->pins >> i) & 1) ? " asserted" : "",
			(unsigned)(r >> 56));
	}
}

static void dump_pic(FILE *f, const struct pic *p)
{
	for (int i = 0; i < 2; i++) {
		const struct pic_chip *c = &p->chip[i];
		fprintf(f, "pic %s: irr=%#04x isr=%#04x imr=%#04x lines=%#04x base=%#x%s\n", i ? "slave" : "master",
			c->irr, c->isr, c->imr, c->lines, c->vector_base, c->init_state ? " (initialising)" : "");
	}
	fprintf(f, "pic intr=%d\n", p->intr);
}

static const char *timer_name(const struct pc *pc, const struct timer *t)
{
	static const char *const lapics[PC_MAX_CPUS] = { "lapic", "lapic1", "lapic2", "lapic3",
							 "lapic4", "lapic5", "lapic6", "lapic7" };
	for (int i = 0; i < pc->ncpus; i++)
		if (t == &pc->vcpu[i].lapic.timer)
			return lapics[i];
	if (t == &pc->pit.timer)
		return "pit";
	if (t == &pc->rtc.periodic)
		return "rtc-periodic";
	if (t == &pc->rtc.second)
		return "rtc-second";
	if (t == &pc->uart.rx_timer)
		return "uart-rx";
	if (t == &pc->acpi_pm.tmr_timer)
		return "acpi-pm";
	return "other";
}

static void dump_timers(FILE *f, struct pc *pc, uint64_t now)
{
	fprintf(f, "timers armed:");
	int n = 0;
	for (const struct timer *t = pc->clock.armed; t; t = t->next, n++) {
		if (t->deadline >= now)
			fprintf(f, " %s in %.3f ms;", timer_name(pc, t), (double)(t->deadline - now) / 1e6);
		else
			fprintf(f, " %s due %.3f ms ago;", timer_name(pc, t), (double)(now - t->deadline) / 1e6);
	}
	fprintf(f, n ? "\n" : " none\n");
}

static void dump_pit(FILE *f, const struct pit *p)
{
	const struct pit_channel *c = &p->ch[0];
	fprintf(f, "pit ch0: mode %d count %u %s out=%d gate=%d\n", c->mode, c->count,
		c->armed ? "counting" : "not counting", c->out_level, c->gate);
}

void pc_diag_dump(struct pc *pc, FILE *f)
{
	static const char *const modes[] = { "host", "instructions", "manual" };
	pc_sync_out(pc);
	uint64_t now = clock_now(&pc->clock);
	fprintf(f, "ringvm: diagnosis at virtual %.6f s (%s clock)\n", (double)now / 1e9,
		modes[pc->clock.mode]);
	for (int i = 0; i < pc->ncpus; i++)
		dump_cpu(f, i, &pc->vcpu[i].cpu);
	dump_timers(f, pc, now);
	for (int i = 0; i < pc->ncpus; i++)
		dump_lapic(f, &pc->vcpu[i].lapic);
	dump_ioapic(f, &pc->ioapic);
	dump_pic(f, &pc->pic);
	dump_pit(f, &pc->pit);
	fprintf(f, "uart: ier=%#x lsr=%#x irq=%d; rtc: b=%#x c=%#x irq=%d\n", pc->uart.ier, pc->uart.lsr,
		pc->uart.irq_level, pc->rtc.cmos[0x0b], pc->rtc.cmos[0x0c], pc->rtc.irq_level);
	fflush(f);
}
