/* IOAPIC: ID/version/arbitration registers, the redirection table
 * (writable bits, read-only delivery status and remote IRR), edge
 * delivery on rising edges only, level delivery held by remote IRR until
 * the EOI for its vector, masking (edges lost, level re-delivered on
 * unmask), destination and delivery mode passed on, a refused message
 * leaving no remote IRR, and bad values logged without delivery. */
#include <stdio.h>
#include <string.h>

#include "dev/ioapic.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus mmio;
static struct ioapic io;
static int sent;
static struct { uint8_t dest, vector; bool logical, level; int mode; } last;
static bool accept = true;

static bool deliver(void *o, uint8_t dest, bool logical, int mode, uint8_t vector, bool level)
{
	(void)o;
	sent++;
	last.dest = dest;
	last.logical = logical;
	last.mode = mode;
	last.vector = vector;
	last.level = level;
	return accept;
}

static uint32_t rd(uint8_t r)
{
	bus_write(&mmio, IOAPIC_DEFAULT_BASE, 1, r);
	return bus_read(&mmio, IOAPIC_DEFAULT_BASE + 0x10, 4);
}
static void wr(uint8_t r, uint32_t v)
{
	bus_write(&mmio, IOAPIC_DEFAULT_BASE, 4, r);
	bus_write(&mmio, IOAPIC_DEFAULT_BASE + 0x10, 4, v);
}
static void set(int pin, int level) { ioapic_set_irq(&io, pin, level); }

int main(void)
{
	FILE *log = tmpfile();
	bus_init(&mmio, 0x100000000ull);
	struct ioapic_board b = { NULL, deliver };
	CHECK(ioapic_init(&io, &mmio, IOAPIC_DEFAULT_BASE, 1, &b, log) == 0);

	/* identification */
	CHECK(rd(0) == 0x01000000);
	CHECK(rd(1) == 0x00170011);
	CHECK(rd(2) == 0x01000000);
	wr(0, 0x0f000000);
	CHECK(rd(0) == 0x0f000000);
	wr(1, 0);
	CHECK(rd(1) == 0x00170011); /* read-only */
	wr(0, 0x01000000);
	CHECK(bus_read(&mmio, IOAPIC_DEFAULT_BASE, 4) == 0); /* IOREGSEL reads back */
	/* every entry masked at reset */
	for (int p = 0; p < IOAPIC_PINS; p++)
		CHECK(rd((uint8_t)(0x10 + 2 * p)) == 0x10000 && rd((uint8_t)(0x11 + 2 * p)) == 0);

	/* edge: one message per rising edge */
	wr(0x14, 0x30);
	wr(0x15, 0x03000000);
	CHECK(rd(0x15) == 0x03000000);
	set(2, 1);
	CHECK(sent == 1 && last.vector == 0x30 && last.dest == 3 && !last.logical && !last.level && last.mode == 0);
	set(2, 1);
	CHECK(sent == 1);
	set(2, 0);
	set(2, 1);
	CHECK(sent == 2);
	set(2, 0);
	/* masked: the edge is lost, not held */
	wr(0x14, 0x10030);
	set(2, 1);
	set(2, 0);
	wr(0x14, 0x30);
	CHECK(sent == 2);
	/* the read-only bits cannot be written */
	wr(0x14, 0x30 | 0x5000);
	CHECK(rd(0x14) == 0x30);

	/* level: held by remote IRR until the EOI for its vector */
	sent = 0;
	wr(0x22, 0xa841);     /* pin 9: vector 0x41, logical, level, active high */
	wr(0x23, 0x01000000);
	set(9, 1);
	CHECK(sent == 1 && last.level && last.logical && last.vector == 0x41);
	CHECK(rd(0x22) & 0x4000);
	set(9, 0);
	set(9, 1);
	CHECK(sent == 1); /* remote IRR blocks */
	ioapic_eoi(&io, 0x42);
	CHECK(sent == 1); /* another vector */
	ioapic_eoi(&io, 0x41);
	CHECK(sent == 2); /* still asserted: again */
	set(9, 0);
	ioapic_eoi(&io, 0x41);
	CHECK(sent == 2 && !(rd(0x22) & 0x4000));
	/* masked level line: re-delivered when unmasked while asserted */
	wr(0x22, 0x1a841);
	set(9, 1);
	CHECK(sent == 2);
	wr(0x22, 0xa841);
	CHECK(sent == 3);
	set(9, 0);
	ioapic_eoi(&io, 0x41);
	/* a message nobody took leaves no remote IRR */
	accept = false;
	set(9, 1);
	CHECK(sent == 4 && !(rd(0x22) & 0x4000));
	set(9, 0);
	accept = true;
	/* NMI / ExtINT entries are edge whatever the trigger bit says */
	wr(0x20, 0x8400);
	set(8, 1);
	CHECK(last.mode == 4 && !last.level && !(rd(0x20) & 0x4000));
	set(8, 0);
	wr(0x10, 0x700);
	set(0, 1);
	CHECK(last.mode == 7);
	set(0, 0);

	/* bad values: logged, the real chip's behaviour kept */
	int before = sent;
	wr(0x16, 0x600);      /* reserved delivery mode 6 */
	set(3, 1);
	CHECK(sent == before); /* not delivered */
	set(3, 0);
	wr(0x18, 0x05);       /* vector 5: passed on, the local APIC refuses it */
	set(4, 1);
	CHECK(sent == before + 1 && last.vector == 5);
	set(4, 0);
	CHECK(rd(0x50) == 0); /* no such register */
	wr(0x60, 1);
	set(24, 1);           /* no such pin: ignored */
	set(-1, 1);
	bus_write(&mmio, IOAPIC_DEFAULT_BASE + 0x10, 2, 0x1234); /* 16-bit IOWIN write */
	fflush(log);
	rewind(log);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, log);
	buf[n] = 0;
	CHECK(strstr(buf, "pin 3: reserved delivery mode 6") != NULL);
	CHECK(strstr(buf, "pin 4: vector 0x5 is outside 0x10-0xfe") != NULL);
	CHECK(strstr(buf, "register 0x50") != NULL);
	CHECK(strstr(buf, "2-byte write at offset 0x10 ignored") != NULL);

	/* reset: masked, the firmware's ID again */
	ioapic_reset(&io);
	CHECK(rd(0) == 0x01000000 && rd(0x14) == 0x10000);
	bus_free(&mmio);
	fclose(log);
	if (fails)
		printf("%d failures\n", fails);
	else
		printf("test_dev_ioapic: all passed\n");
	return fails != 0;
}
