/* 8259A PIC pair (Intel 8259A datasheet, "Programming the 8259A"; ELCR as
 * in the Intel 82371 PIIX datasheet, 4.1.10). */
#include "dev/pic8259.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

/* Priority of the highest set bit in mask, counting from priority_add
 * (0 = highest); 8 if none. */
static int priority(const struct pic_chip *c, uint8_t mask)
{
	if (!mask)
		return 8;
	for (int p = 0; p < 8; p++)
		if (mask & (1u << ((p + c->priority_add) & 7)))
			return p;
	return 8;
}

static int is_level(const struct pic_chip *c, int irq)
{
	return (c->icw1 & 0x08) || (c->elcr & (1u << irq));
}

/* The IR the chip would signal on INT, or -1. */
static int chip_irq(const struct pic_chip *c)
{
	int p = priority(c, c->irr & (uint8_t)~c->imr);
	if (p == 8)
		return -1;
	uint8_t in_service = c->isr;
	/* Special mask mode: a masked level in service does not block
	 * lower priorities (datasheet, OCW3 "special mask mode"). */
	if (c->special_mask)
		in_service &= (uint8_t)~c->imr;
	/* Special fully nested mode: the slave's IR2 in service does not
	 * block further requests from the slave (ICW4 SFNM). */
	if (c->is_master && (c->icw4 & 0x10))
		in_service &= (uint8_t)~0x04;
	if (p < priority(c, in_service))
		return (p + c->priority_add) & 7;
	return -1;
}

static void chip_set(struct pic_chip *c, int irq, int level)
{
	uint8_t m = (uint8_t)(1u << irq);
	if (is_level(c, irq)) {
		if (level)
			c->irr |= m;
		else
			c->irr &= (uint8_t)~m;
	} else if (level && !(c->lines & m)) {
		c->irr |= m; /* rising edge; stays latched until INTA */
	}
	if (level)
		c->lines |= m;
	else
		c->lines &= (uint8_t)~m;
}

static void update(struct pic *p)
{
	chip_set(&p->chip[0], 2, chip_irq(&p->chip[1]) >= 0);
	int level = chip_irq(&p->chip[0]) >= 0;
	if (level != p->intr) {
		p->intr = level;
		if (p->set_intr)
			p->set_intr(p->intr_opaque, level);
	}
}

void pic_set_irq(void *opaque, int irq, int level)
{
	struct pic *p = opaque;
	if (irq < 0 || irq > 15)
		return;
	chip_set(&p->chip[irq >> 3], irq & 7, level != 0);
	update(p);
}

int pic_pending(const struct pic *p)
{
	return p->intr;
}

static void ack(struct pic_chip *c, int irq)
{
	uint8_t m = (uint8_t)(1u << irq);
	if (c->icw4 & 0x02) { /* automatic EOI */
		if (c->rotate_aeoi)
			c->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		c->isr |= m;
	}
	if (!is_level(c, irq))
		c->irr &= (uint8_t)~m;
}

int pic_intack(struct pic *p)
{
	struct pic_chip *m = &p->chip[0], *s = &p->chip[1];
	int vec;
	int irq = chip_irq(m);
	if (irq < 0) {
		vec = m->vector_base + 7; /* spurious IRQ 7: ISR untouched */
	} else if (irq == 2 && !(m->icw1 & 0x02)) {
		ack(m, 2);
		int irq2 = chip_irq(s);
		if (irq2 >= 0) {
			ack(s, irq2);
			vec = s->vector_base + irq2;
		} else {
			vec = s->vector_base + 7; /* spurious IRQ 15 */
		}
	} else {
		ack(m, irq);
		vec = m->vector_base + irq;
	}
	update(p);
	return vec;
}

static void chip_init_reset(struct pic_chip *c)
{
	/* ICW1 effects (datasheet, "Initialization command words"): edge
	 * sense reset, IMR and ISR cleared, IR7 lowest priority, special
	 * mask mode cleared, status read set to IRR. */
	c->irr &= c->elcr;
	c->isr = 0;
	c->imr = 0;
	c->priority_add = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->special_mask = 0;
	c->rotate_aeoi = 0;
	c->icw4 = 0;
	c->icw3 = 0;
}

static void chip_write(struct pic *p, struct pic_chip *c, int port, uint8_t v)
{
	if (port == 0) {
		if (v & 0x10) { /* ICW1 */
			chip_init_reset(c);
			c->icw1 = v;
			c->init_state = 1;
		} else if (v & 0x08) { /* OCW3 */
			if (v & 0x04)
				c->poll = 1;
			if (v & 0x02)
				c->read_isr = v & 1;
			if (v & 0x40)
				c->special_mask = (v >> 5) & 1;
		} else { /* OCW2 */
			int cmd = v >> 5, level = v & 7, irq;
			switch (cmd) {
			case 0: /* clear rotate in automatic EOI mode */
			case 4: /* set rotate in automatic EOI mode */
				c->rotate_aeoi = cmd >> 2;
				break;
			case 1: /* non-specific EOI */
			case 5: /* rotate on non-specific EOI */
				irq = priority(c, c->isr);
				if (irq == 8)
					break;
				irq = (irq + c->priority_add) & 7;
				c->isr &= (uint8_t)~(1u << irq);
				if (cmd == 5)
					c->priority_add = (uint8_t)((irq + 1) & 7);
				break;
			case 3: /* specific EOI */
				c->isr &= (uint8_t)~(1u << level);
				break;
			case 6: /* set priority: level becomes the lowest */
				c->priority_add = (uint8_t)((level + 1) & 7);
				break;
			case 7: /* rotate on specific EOI */
				c->isr &= (uint8_t)~(1u << level);
				c->priority_add = (uint8_t)((level + 1) & 7);
				break;
			default: /* 2: no operation */
				break;
			}
		}
	} else {
		switch (c->init_state) {
		case 0: /* OCW1 */
			c->imr = v;
			break;
		case 1: /* ICW2 */
			c->vector_base = v & 0xf8;
			if (!(c->icw1 & 0x02))
				c->init_state = 2;
			else
				c->init_state = (c->icw1 & 1) ? 3 : 0;
			break;
		case 2: /* ICW3 */
			c->icw3 = v;
			c->init_state = (c->icw1 & 1) ? 3 : 0;
			break;
		default: /* ICW4 */
			c->icw4 = v;
			c->init_state = 0;
			break;
		}
	}
	update(p);
}

/* Poll command: acknowledge the highest request and report it. */
static uint8_t chip_poll(struct pic *p, struct pic_chip *c)
{
	c->poll = 0;
	int irq = chip_irq(c);
	if (irq < 0)
		return 0;
	ack(c, irq);
	update(p);
	return (uint8_t)(0x80 | irq);
}

static uint8_t chip_read(struct pic *p, struct pic_chip *c, int port)
{
	if (c->poll)
		return chip_poll(p, c);
	if (port == 0)
		return c->read_isr ? c->isr : c->irr;
	return c->imr;
}

static uint32_t pic_read(void *opaque, uint32_t off, int size)
{
	struct pic *p = opaque;
	return chip_read(p, &p->chip[0], off & 1);
}
static void pic_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pic *p = opaque;
	chip_write(p, &p->chip[0], off & 1, (uint8_t)v);
}
static uint32_t pic2_read(void *opaque, uint32_t off, int size)
{
	struct pic *p = opaque;
	return chip_read(p, &p->chip[1], off & 1);
}
static void pic2_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pic *p = opaque;
	chip_write(p, &p->chip[1], off & 1, (uint8_t)v);
}
static uint32_t elcr_read(void *opaque, uint32_t off, int size)
{
	struct pic *p = opaque;
	return p->chip[off & 1].elcr;
}
static void elcr_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct pic *p = opaque;
	struct pic_chip *c = &p->chip[off & 1];
	c->elcr = (uint8_t)v & c->elcr_mask;
	/* A line switched to level mode asserts IRR from its current level;
	 * one switched to edge mode keeps what it latched. */
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
	update(p);
}

static const struct bus_ops pic_ops = { pic_read, pic_write, 1, "pic-master" };
static const struct bus_ops pic2_ops = { pic2_read, pic2_write, 1, "pic-slave" };
static const struct bus_ops elcr_ops = { elcr_read, elcr_write, 1, "elcr" };

void pic_reset(struct pic *p)
{
	for (int i = 0; i < 2; i++) {
		struct pic_chip *c = &p->chip[i];
		uint8_t lines = c->lines;
		memset(c, 0, sizeof(*c));
		c->lines = lines; /* device outputs survive a reset */
		c->is_master = i == 0;
		/* IRQ0-2 (timer, keyboard, cascade) and IRQ8/13 are always
		 * edge-triggered on PIIX (ELCR masks 0xf8 / 0xde). */
		c->elcr_mask = i == 0 ? 0xf8 : 0xde;
	}
	p->intr = 0;
	if (p->set_intr)
		p->set_intr(p->intr_opaque, 0);
	update(p);
}

int pic_init(struct pic *p, struct bus *pio, void (*set_intr)(void *, int), void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->set_intr = set_intr;
	p->intr_opaque = opaque;
	pic_reset(p);
	if (bus_add_pio(pio, 0x20, 2, &pic_ops, p) || bus_add_pio(pio, 0xa0, 2, &pic2_ops, p) ||
	    bus_add_pio(pio, 0x4d0, 2, &elcr_ops, p))
		return -1;
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void pic_dev_reset(void *dev)
{
	pic_reset(dev);
}

static void pic_dev_save(void *dev, struct snap_w *w)
{
	struct pic *p = dev;
	snap_put(w, p->chip, sizeof(p->chip));
	snap_u32(w, (uint32_t)p->intr);
}

static int pic_dev_load(void *dev, struct snap_r *r)
{
	struct pic *p = dev;
	snap_get(r, p->chip, sizeof(p->chip));
	p->intr = (int)snap_get_u32(r);
	return 0;
}

const struct dev_ops pic_dev_ops = { "pic", pic_dev_reset, pic_dev_save, pic_dev_load };
