/* 8254 PIT (Intel 8254 datasheet, "Modes of operation"). Each channel keeps
 * the virtual time its count was loaded; the counter and OUT are functions
 * of the ticks elapsed since then. */
#include "dev/pit8254.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

static uint64_t ns_to_ticks(uint64_t ns)
{
	/* ns * PIT_HZ / 1e9 without overflow for ~500 years of ns */
	return (uint64_t)(((unsigned __int128)ns * PIT_HZ) / 1000000000u);
}

static uint64_t ticks_to_ns(uint64_t t)
{
	return (uint64_t)(((unsigned __int128)t * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static uint32_t reload(const struct pit_channel *c)
{
	if (c->count)
		return c->count;
	return c->bcd ? 10000 : 65536;
}

/* Modes 0, 1, 4, 5 stop counting while the gate is low for 0/4; modes
 * 2/3 hold OUT high and reload on the next rising edge; 1/5 are started
 * by a gate rising edge and ignore the level afterwards. */
static int gate_stops(const struct pit_channel *c)
{
	return c->mode == 0 || c->mode == 2 || c->mode == 3 || c->mode == 4;
}

static uint64_t elapsed(struct pit *p, const struct pit_channel *c)
{
	if (!c->armed)
		return 0;
	if (!c->gate && gate_stops(c))
		return c->frozen;
	uint64_t now = clock_now(p->clock);
	return now > c->load_ns ? ns_to_ticks(now - c->load_ns) : 0;
}

static uint32_t counter_at(const struct pit_channel *c, uint64_t d)
{
	uint32_t n = reload(c);
	uint32_t wrap = c->bcd ? 10000 : 65536;
	switch (c->mode) {
	case 2:
		return n - (uint32_t)(d % n);
	case 3:
		/* Counts down by two each tick, twice per period. */
		return (n - (uint32_t)((2 * d) % n)) & ~1u;
	default: /* 0, 1, 4, 5: count down and wrap past zero */
		return (uint32_t)((n + wrap - d % wrap) % wrap);
	}
}

static int out_at(const struct pit_channel *c, uint64_t d)
{
	uint32_t n = reload(c);
	if (!c->armed)
		return c->mode != 0; /* mode 0 starts low, the others high */
	switch (c->mode) {
	case 0:
		return d >= n;
	case 1:
		return d >= n; /* low from trigger to terminal count */
	case 2:
		return (d % n) != n - 1;
	case 3:
		return (d % n) < (n + 1) / 2;
	case 4:
	case 5:
		return d != n;
	}
	return 1;
}

static int channel_out(struct pit *p, const struct pit_channel *c)
{
	if (!c->gate && (c->mode == 2 || c->mode == 3))
		return 1; /* gate low forces OUT high in modes 2 and 3 */
	return out_at(c, elapsed(p, c));
}

/* Ticks (since the count was loaded) of the next rising edge of OUT
 * after d, or 0 if there is none. Only rising edges matter to the
 * (edge-triggered) interrupt controller. */
static uint64_t next_rise(const struct pit_channel *c, uint64_t d)
{
	uint32_t n = reload(c);
	switch (c->mode) {
	case 0:
	case 1:
		return d < n ? n : 0;
	case 2: /* low for the tick before each reload */
	case 3: /* the high half starts each period */
		return (d / n + 1) * n;
	case 4:
	case 5: /* low for one tick at terminal count */
		return d <= n ? n + 1 : 0;
	}
	return 0;
}

/* Arm the timer for the first rising edge of OUT after tick `from` (since
 * the count was loaded). The deadline may already have passed: the timer
 * then runs at once and makes the edge. */
static void arm(struct pit *p, struct pit_channel *c, uint64_t from)
{
	uint64_t e = 0;
	if (c->armed && (c->gate || !gate_stops(c)))
		e = next_rise(c, from);
	if (e)
		timer_mod(p->clock, &p->timer, c->load_ns + ticks_to_ns(e));
	else
		timer_del(p->clock, &p->timer);
}

/* After a guest write: IRQ0 follows OUT now; arm for the next rise after
 * tick `from`. A new count passes from = 0: its first edge is owed even if
 * the clock has already moved past it by now (the host may stop ringvm
 * between reading the clock for the load and here). Searching from "now"
 * lost the one-tick pulse of mode 4, Linux's one-shot clockevent, and with
 * it every later timer interrupt: the guest reprograms the PIT only from
 * that interrupt. */
static void irq_update(struct pit *p, uint64_t from)
{
	struct pit_channel *c = &p->ch[0];
	int out = channel_out(p, c);
	if (out != c->out_level) {
		c->out_level = (uint8_t)out;
		irq_set(&p->irq0, out);
		if (out) /* that edge is made: look for the next one from now */
			from = elapsed(p, c);
	}
	arm(p, c, from);
}

/* irq_update() for a change that owes no earlier edge. */
static void irq_update_now(struct pit *p)
{
	irq_update(p, elapsed(p, &p->ch[0]));
}

/* A rising edge of OUT0 is due. The loop may run this timer late, past a
 * one-tick low pulse (modes 2 and 4), so the edge is made here: the line
 * drops and rises, then settles at OUT's current level. */
static void timer_cb(void *opaque)
{
	struct pit *p = opaque;
	struct pit_channel *c = &p->ch[0];
	irq_set(&p->irq0, 0);
	irq_set(&p->irq0, 1);
	int out = channel_out(p, c);
	if (!out)
		irq_set(&p->irq0, 0);
	c->out_level = (uint8_t)out;
	arm(p, c, elapsed(p, c));
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

static uint32_t from_bcd(uint32_t v)
{
	return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint16_t read_counter(struct pit *p, struct pit_channel *c)
{
	uint32_t v = c->armed ? counter_at(c, elapsed(p, c)) : c->count;
	if (c->bcd)
		return to_bcd(v);
	return (uint16_t)v;
}

uint16_t pit_counter(struct pit *p, int ch)
{
	return read_counter(p, &p->ch[(unsigned)ch % 3]);
}

int pit_output(struct pit *p, int ch)
{
	struct pit_channel *c = &p->ch[(unsigned)ch % 3];
	return channel_out(p, c);
}

static void load_count(struct pit *p, struct pit_channel *c, uint32_t v)
{
	if (c->bcd)
		v = from_bcd(v);
	c->count = v;
	c->armed = 1;
	c->frozen = 0;
	/* Mode 1 and 5 wait for a gate edge; the count is kept for it. In
	 * modes 2/3 a new count takes effect at the end of the current
	 * period on real parts; loading it now is close enough. */
	c->load_ns = clock_now(p->clock);
	if (c == &p->ch[0])
		irq_update(p, 0);
}

static void channel_write(struct pit *p, int i, uint8_t v)
{
	struct pit_channel *c = &p->ch[i];
	switch (c->rw) {
	case 1:
		load_count(p, c, v);
		break;
	case 2:
		load_count(p, c, (uint32_t)v << 8);
		break;
	default:
		if (!c->write_hi) {
			c->latch = v; /* hold the LSB */
			c->write_hi = 1;
			if (c->mode == 0) { /* writing the LSB stops mode 0 (datasheet) */
				c->frozen = elapsed(p, c);
				c->armed = 0;
				if (i == 0)
					irq_update_now(p);
			}
		} else {
			c->write_hi = 0;
			load_count(p, c, (c->latch & 0xff) | (uint32_t)v << 8);
		}
		break;
	}
}

static uint8_t channel_read(struct pit *p, int i)
{
	struct pit_channel *c = &p->ch[i];
	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latched) {
		uint8_t b;
		if (c->rw == 3)
			b = c->latch_hi ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
		else
			b = c->rw == 2 ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
		c->latch_hi ^= 1;
		c->latched--;
		return b;
	}
	uint16_t v = read_counter(p, c);
	switch (c->rw) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		c->read_hi ^= 1;
		return c->read_hi ? (uint8_t)v : (uint8_t)(v >> 8);
	}
}

static void latch_count(struct pit *p, struct pit_channel *c)
{
	if (c->latched)
		return; /* a second latch before reading is ignored */
	c->latch = read_counter(p, c);
	c->latched = c->rw == 3 ? 2 : 1;
	c->latch_hi = 0;
}

static void latch_status(struct pit *p, struct pit_channel *c)
{
	if (c->status_latched)
		return;
	int null_count = c->write_hi || !c->armed;
	c->status = (uint8_t)(channel_out(p, c) << 7 | null_count << 6 | c->rw << 4 |
			      c->mode << 1 | c->bcd);
	c->status_latched = 1;
}

static void control_write(struct pit *p, uint8_t v)
{
	int sc = v >> 6;
	if (sc == 3) { /* read-back command */
		for (int i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			if (!(v & 0x20))
				latch_count(p, &p->ch[i]);
			if (!(v & 0x10))
				latch_status(p, &p->ch[i]);
		}
		return;
	}
	struct pit_channel *c = &p->ch[sc];
	int rw = (v >> 4) & 3;
	if (rw == 0) {
		latch_count(p, c);
		return;
	}
	c->rw = (uint8_t)rw;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	c->bcd = v & 1;
	c->armed = 0;
	c->frozen = 0;
	c->write_hi = 0;
	c->read_hi = 0;
	c->latched = 0;
	c->status_latched = 0;
	if (sc == 0)
		irq_update_now(p);
}

static uint32_t pit_read(void *opaque, uint32_t off, int size)
{
	struct pit *p = opaque;
	if (off == 3)
		return 0xff; /* the control word register is write-only */
	return channel_read(p, (int)off);
}

static void pit_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pit *p = opaque;
	if (off == 3)
		control_write(p, (uint8_t)v);
	else
		channel_write(p, (int)off, (uint8_t)v);
}

static void set_gate(struct pit *p, int i, int gate)
{
	struct pit_channel *c = &p->ch[i];
	if (gate == c->gate)
		return;
	if (gate) {
		if (c->mode == 0 || c->mode == 4) {
			/* resume counting where it stopped */
			uint64_t now = clock_now(p->clock);
			uint64_t back = ticks_to_ns(c->frozen);
			c->load_ns = now > back ? now - back : 0;
		} else if (c->armed) {
			c->load_ns = clock_now(p->clock); /* rising edge: (re)trigger */
		}
	} else if (c->armed) {
		c->frozen = elapsed(p, c);
	}
	c->gate = (uint8_t)gate;
	if (i == 0)
		irq_update_now(p);
}

/* Port 0x61 (system control port B): bit 4 toggles with DRAM refresh
 * every 15.085 us; some delay loops watch it. */
static uint32_t port61_read(void *opaque, uint32_t off, int size)
{
	struct pit *p = opaque;
	uint64_t now = clock_now(p->clock);
	int refresh = (int)((now / 15085) & 1);
	return (uint32_t)(p->port61 & 3) | (uint32_t)refresh << 4 | (uint32_t)pit_output(p, 2) << 5;
}

static void port61_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pit *p = opaque;
	p->port61 = (uint8_t)(v & 3);
	set_gate(p, 2, v & 1);
}

static const struct bus_ops pit_ops = { pit_read, pit_write, 1, "pit" };
static const struct bus_ops port61_ops = { port61_read, port61_write, 1, "port61" };

void pit_reset(struct pit *p)
{
	timer_del(p->clock, &p->timer);
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];
		memset(c, 0, sizeof(*c));
		c->rw = 3;
		c->gate = i != 2; /* channels 0 and 1 have their gate tied high */
	}
	p->port61 = 0;
	irq_set(&p->irq0, 0);
}

int pit_init(struct pit *p, struct bus *pio, struct clock *clk, struct irq_line irq0)
{
	memset(p, 0, sizeof(*p));
	p->clock = clk;
	p->irq0 = irq0;
	timer_init(&p->timer, timer_cb, p);
	pit_reset(p);
	if (bus_add_pio(pio, 0x40, 4, &pit_ops, p) || bus_add_pio(pio, 0x61, 1, &port61_ops, p))
		return -1;
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void pit_dev_reset(void *dev)
{
	pit_reset(dev);
}

static void pit_dev_save(void *dev, struct snap_w *w)
{
	struct pit *p = dev;
	snap_put(w, p->ch, sizeof(p->ch));
	snap_u8(w, p->port61);
	snap_timer(w, &p->timer);
}

static int pit_dev_load(void *dev, struct snap_r *r)
{
	struct pit *p = dev;
	snap_get(r, p->ch, sizeof(p->ch));
	p->port61 = snap_get_u8(r);
	snap_get_timer(r, p->clock, &p->timer);
	return 0;
}

const struct dev_ops pit_dev_ops = { "pit", pit_dev_reset, pit_dev_save, pit_dev_load };
