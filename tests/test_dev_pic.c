/* 8259A pair: initialization, priorities, EOI, masks, spurious IRQ 7/15,
 * level mode through ELCR, poll, automatic EOI, rotation, special mask. */
#include <stdio.h>
#include <string.h>

#include "dev/pic8259.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static int intr;
static void set_intr(void *o, int level) { (void)o; intr = level; }

static struct bus b;
static struct pic p;

static void out(uint16_t port, uint8_t v) { bus_write(&b, port, 1, v); }
static uint8_t in(uint16_t port) { return (uint8_t)bus_read(&b, port, 1); }

/* Linux's init_8259A: vectors 0x30 / 0x38, cascade on IR2, 8086 mode. */
static void init(uint8_t icw4)
{
	out(0x20, 0x11); out(0x21, 0x30); out(0x21, 0x04); out(0x21, icw4);
	out(0xa0, 0x11); out(0xa1, 0x38); out(0xa1, 0x02); out(0xa1, 0x01);
	out(0x21, 0); out(0xa1, 0);
}

static void pulse(int irq) { pic_set_irq(&p, irq, 1); pic_set_irq(&p, irq, 0); }
static void eoi_master(void) { out(0x20, 0x20); }
static void eoi_slave(void) { out(0xa0, 0x20); }
static uint8_t isr(uint16_t base) { out(base, 0x0b); return in(base); }
static uint8_t irr(uint16_t base) { out(base, 0x0a); return in(base); }

int main(void)
{
	bus_init(&b, 0x10000);
	CHECK(pic_init(&p, &b, set_intr, NULL) == 0);
	CHECK(pic_init(&p, &b, set_intr, NULL) != 0); /* ports already taken */
	init(0x01);
	CHECK(intr == 0);

	/* priority: IR1 before IR3; IR3 waits for EOI of IR1 */
	pulse(3);
	pulse(1);
	CHECK(intr == 1);
	CHECK(irr(0x20) == 0x0a);
	CHECK(pic_intack(&p) == 0x31);
	CHECK(isr(0x20) == 0x02);
	CHECK(intr == 0); /* IR3 is lower than IR1 in service */
	pulse(0);         /* IR0 is higher: nests */
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x30);
	CHECK(isr(0x20) == 0x03);
	eoi_master(); /* non-specific EOI clears the highest: IR0 */
	CHECK(isr(0x20) == 0x02);
	CHECK(intr == 0);
	eoi_master();
	CHECK(isr(0x20) == 0);
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x33);
	out(0x20, 0x63); /* specific EOI for IR3 */
	CHECK(isr(0x20) == 0);
	CHECK(intr == 0);

	/* edge: a line held high interrupts once */
	pic_set_irq(&p, 4, 1);
	CHECK(pic_intack(&p) == 0x34);
	eoi_master();
	CHECK(intr == 0);
	pic_set_irq(&p, 4, 1); /* no new edge */
	CHECK(intr == 0);
	pic_set_irq(&p, 4, 0);

	/* masks */
	out(0x21, 0x20);
	CHECK(in(0x21) == 0x20);
	pulse(5);
	CHECK(intr == 0);
	out(0x21, 0x00);
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x35);
	eoi_master();

	/* slave: vector from the slave, IR2 in service on the master */
	pulse(12);
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x3c);
	CHECK(isr(0x20) == 0x04);
	CHECK(isr(0xa0) == 0x10);
	eoi_slave();
	eoi_master();
	CHECK(isr(0x20) == 0 && isr(0xa0) == 0);
	/* slave mask */
	out(0xa1, 0x01);
	pulse(8);
	CHECK(intr == 0);
	out(0xa1, 0x00);
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x38);
	eoi_slave();
	eoi_master();

	/* ELCR: only the allowed bits stick */
	out(0x4d0, 0xff);
	out(0x4d1, 0xff);
	CHECK(in(0x4d0) == 0xf8);
	CHECK(in(0x4d1) == 0xde);
	out(0x4d0, 0x20); /* IR5 level */
	out(0x4d1, 0x06); /* IR9, IR10 level */

	/* spurious IRQ 7: the level request goes away before INTA */
	pic_set_irq(&p, 5, 1);
	CHECK(intr == 1);
	pic_set_irq(&p, 5, 0);
	CHECK(intr == 0);
	CHECK(pic_intack(&p) == 0x37);
	CHECK(isr(0x20) == 0);

	/* spurious IRQ 15: master latched the cascade edge, slave lost it */
	pic_set_irq(&p, 10, 1);
	CHECK(intr == 1);
	pic_set_irq(&p, 10, 0);
	CHECK(pic_intack(&p) == 0x3f);
	CHECK(isr(0xa0) == 0);
	CHECK(isr(0x20) == 0x04); /* the master did acknowledge IR2 */
	eoi_master();

	/* level: still asserted after EOI interrupts again */
	pic_set_irq(&p, 9, 1);
	CHECK(pic_intack(&p) == 0x39);
	eoi_slave();
	eoi_master();
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x39);
	pic_set_irq(&p, 9, 0);
	eoi_slave();
	eoi_master();
	CHECK(intr == 0);
	out(0x4d0, 0);
	out(0x4d1, 0);

	/* poll mode: OCW3 P, then a read acknowledges */
	pulse(6);
	out(0x20, 0x0c);
	CHECK(in(0x20) == 0x86);
	CHECK(isr(0x20) == 0x40);
	eoi_master();
	out(0x20, 0x0c);
	CHECK(in(0x20) == 0x00); /* nothing pending */

	/* rotation: "set priority" makes IR3 lowest, so IR4.. come first */
	out(0x20, 0xc3);
	pulse(1);
	pulse(5);
	CHECK(pic_intack(&p) == 0x35);
	out(0x20, 0xa0); /* rotate on non-specific EOI: IR5 becomes lowest */
	CHECK(pic_intack(&p) == 0x31);
	eoi_master();
	out(0x20, 0xc7); /* back to IR0 highest */

	/* special mask mode: a masked in-service level does not block */
	pulse(1);
	CHECK(pic_intack(&p) == 0x31);
	pulse(5);
	CHECK(intr == 0);
	out(0x21, 0x02);
	out(0x20, 0x68); /* set SMM */
	CHECK(intr == 1);
	CHECK(pic_intack(&p) == 0x35);
	out(0x20, 0x65);
	out(0x20, 0x61);
	out(0x20, 0x48); /* reset SMM */
	out(0x21, 0x00);
	CHECK(isr(0x20) == 0);

	/* automatic EOI: no ISR bit */
	init(0x03);
	pulse(3);
	CHECK(pic_intack(&p) == 0x33);
	CHECK(isr(0x20) == 0);
	CHECK(intr == 0);

	/* re-initialization clears masks and in-service state */
	out(0x21, 0xff);
	pulse(2 + 4);
	init(0x01);
	CHECK(in(0x21) == 0x00);
	CHECK(isr(0x20) == 0);

	/* nothing pending: spurious 7, no state change */
	CHECK(pic_intack(&p) == 0x37);

	/* nonsense: bad IRQ numbers, every port and value, no crash */
	pic_set_irq(&p, -1, 1);
	pic_set_irq(&p, 16, 1);
	for (int port = 0; port < 2; port++)
		for (int v = 0; v < 256; v++) {
			out((uint16_t)(0x20 + port), (uint8_t)v);
			out((uint16_t)(0xa0 + port), (uint8_t)v);
			in((uint16_t)(0x20 + port));
			pic_intack(&p);
		}
	pic_reset(&p);
	CHECK(intr == 0);
	bus_free(&b);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
