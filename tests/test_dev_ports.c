/* The small devices: PCI configuration mechanism #1 (host bridge only,
 * empty otherwise), i8042 self test / command byte / reset, port 0x92,
 * port 0x80, debug-exit, debug console, APM shutdown port, 0xcf9 reset. */
#include <stdio.h>
#include <string.h>

#include "dev/apm_shutdown.h"
#include "dev/debug_exit.h"
#include "dev/debugcon.h"
#include "dev/i8042.h"
#include "dev/pci_host.h"
#include "dev/port92.h"
#include "dev/post.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus b;
static int resets, poweroffs, exits, exit_status, a20 = 1, irq1, irq12;

static void req_reset(void *o) { (void)o; resets++; }
static void req_poweroff(void *o) { (void)o; poweroffs++; }
static void req_exit(void *o, int s) { (void)o; exits++; exit_status = s; }
static void req_a20(void *o, bool on) { (void)o; a20 = on; }
static int irq1_rises;
static void irq(void *o, int n, int l)
{
	(void)o;
	if (n == 1) {
		irq1_rises += l && !irq1;
		irq1 = l;
	} else {
		irq12 = l;
	}
}

static const struct board_req req = { NULL, req_reset, req_poweroff, req_exit, req_a20 };

static void outb(uint16_t p, uint8_t v) { bus_write(&b, p, 1, v); }
static uint8_t inb(uint16_t p) { return (uint8_t)bus_read(&b, p, 1); }
static void outl(uint16_t p, uint32_t v) { bus_write(&b, p, 4, v); }
static uint32_t inl(uint16_t p) { return bus_read(&b, p, 4); }

static uint32_t cfg(int bus, int dev, int fn, int reg)
{
	outl(0xcf8, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (uint32_t)reg);
	return inl(0xcfc);
}

/* Wait for and read the 8042's output buffer, as Linux's i8042_command. */
static int kbd_read(void)
{
	if (!(inb(0x64) & 1))
		return -1;
	return inb(0x60);
}

int main(void)
{
	bus_init(&b, 0x10000);
	struct pci_host pci;
	struct i8042 kbd;
	struct port92 p92;
	struct post post;
	struct debugcon dc;
	struct apm_shutdown apm;
	FILE *dcf = tmpfile();
	CHECK(pci_host_init(&pci, &b, &req) == 0);
	CHECK(i8042_init(&kbd, &b, (struct irq_line){ irq, NULL, 1 }, (struct irq_line){ irq, NULL, 12 }, &req) == 0);
	CHECK(port92_init(&p92, &b, &req) == 0);
	CHECK(post_init(&post, &b) == 0);
	CHECK(debugcon_init(&dc, &b, dcf) == 0);
	CHECK(debug_exit_init(&b, 0xf4, &req) == 0);
	CHECK(apm_shutdown_init(&apm, &b, &req) == 0);

	/* --- PCI --- */
	/* mechanism #1 detection as Linux does it */
	outl(0xcf8, 0x80000000u);
	CHECK(inl(0xcf8) == 0x80000000u);
	outb(0xcfb, 0x01); /* mechanism #2 style byte write: ignored */
	CHECK(inl(0xcf8) == 0x80000000u);
	/* the host bridge at 00:00.0: Intel 82441FX, class 06 00 00 */
	CHECK(cfg(0, 0, 0, 0x00) == 0x12378086u);
	CHECK(cfg(0, 0, 0, 0x08) >> 8 == 0x060000u);
	CHECK((cfg(0, 0, 0, 0x0c) >> 16 & 0x7f) == 0x00); /* header type 0 */
	for (int bar = 0x10; bar <= 0x30; bar += 4) {
		if (bar == 0x2c)
			continue; /* subsystem IDs, checked below */
		outl(0xcf8, 0x80000000u | (uint32_t)bar);
		outl(0xcfc, 0xffffffffu);
		CHECK(inl(0xcfc) == 0); /* no BARs */
	}
	CHECK(cfg(0, 0, 0, 0x2c) == 0x11001af4u); /* QEMU's subsystem ID */
	/* IDs are read-only; chipset registers are storage */
	outl(0xcf8, 0x80000000u);
	outl(0xcfc, 0);
	CHECK(cfg(0, 0, 0, 0) == 0x12378086u);
	outl(0xcf8, 0x80000058u);
	outl(0xcfc, 0x33221100u);
	/* 0x58 is storage; PAM0 (0x59) keeps only its high nibble's RE/WE
	 * bits, the other PAM registers bits 0-1 and 4-5. */
	CHECK(cfg(0, 0, 0, 0x58) == 0x33221000u);
	outl(0xcfc, 0xffffffffu);
	CHECK(cfg(0, 0, 0, 0x58) == 0x333330ffu);
	outl(0xcfc, 0x33221100u);
	outl(0xcf8, 0x8000005au);
	CHECK(bus_read(&b, 0xcfe, 1) == 0x22);
	CHECK(bus_read(&b, 0xcfe, 2) == 0x3322);
	/* every other device and function is absent */
	for (int dev = 0; dev < 32; dev++)
		for (int fn = 0; fn < 8; fn++)
			if (dev || fn)
				CHECK(cfg(0, dev, fn, 0) == 0xffffffffu);
	CHECK(cfg(1, 0, 0, 0) == 0xffffffffu);
	CHECK(cfg(255, 31, 7, 0xfc) == 0xffffffffu);
	outl(0xcf8, 0x00000000u); /* enable bit clear: no cycle */
	CHECK(inl(0xcfc) == 0xffffffffu);
	outl(0xcf8, 0x80000100u); /* 00:00.1 */
	CHECK(bus_read(&b, 0xcfc, 2) == 0xffff);
	/* 0xcf9: bit 2 resets */
	outb(0xcf9, 0x02);
	CHECK(resets == 0);
	CHECK(inb(0xcf9) == 0x02);
	outb(0xcf9, 0x06);
	CHECK(resets == 1);

	/* --- i8042 --- */
	while (kbd_read() >= 0)
		;
	outb(0x64, 0xaa); /* self test */
	CHECK(kbd_read() == 0x55);
	CHECK(inb(0x64) & 0x04); /* system flag */
	outb(0x64, 0xab); /* keyboard interface test */
	CHECK(kbd_read() == 0x00);
	outb(0x64, 0xa9); /* aux interface test */
	CHECK(kbd_read() == 0x00);
	outb(0x64, 0x20); /* read command byte */
	int ctr = kbd_read();
	CHECK(ctr == 0x45);
	outb(0x64, 0x60);
	outb(0x60, 0x47); /* keyboard + aux interrupts on */
	outb(0x64, 0x20);
	CHECK(irq1 == 1);
	CHECK(kbd_read() == 0x47);
	CHECK(irq1 == 0);
	outb(0x64, 0xa7); /* disable aux: CTR bit 5 */
	outb(0x64, 0x20);
	CHECK(kbd_read() & 0x20);
	outb(0x64, 0xa8);
	outb(0x64, 0x20);
	CHECK(!(kbd_read() & 0x20));
	/* aux loopback: data with the aux flag and IRQ12 */
	outb(0x64, 0xd3);
	outb(0x60, 0x5a);
	CHECK((inb(0x64) & 0x21) == 0x21);
	CHECK(irq12 == 1);
	CHECK(kbd_read() == 0x5a);
	CHECK(irq12 == 0);
	/* no mouse: a command to it times out */
	outb(0x64, 0xd4);
	outb(0x60, 0xf2);
	CHECK((inb(0x64) & 0x61) == 0x61);
	CHECK(kbd_read() == 0xfe);
	/* the keyboard answers reset and identify */
	outb(0x60, 0xff);
	CHECK(kbd_read() == 0xfa);
	CHECK(kbd_read() == 0xaa);
	outb(0x60, 0xf2);
	CHECK(kbd_read() == 0xfa && kbd_read() == 0xab && kbd_read() == 0x41); /* translated */
	/* every byte of a multi-byte answer gives IRQ1 a new rising edge */
	outb(0x64, 0x60);
	outb(0x60, 0x45); /* keyboard interrupt on, translation on */
	irq1_rises = 0;
	outb(0x60, 0xf2);
	for (int i = 0; i < 3; i++)
		kbd_read();
	CHECK(irq1_rises == 3);
	CHECK(irq1 == 0);
	outb(0x64, 0x60);
	outb(0x60, 0x05); /* no translation: the raw set 2 ID */
	outb(0x60, 0xf2);
	CHECK(kbd_read() == 0xfa && kbd_read() == 0xab && kbd_read() == 0x83);
	outb(0x64, 0x60);
	outb(0x60, 0x47);
	outb(0x60, 0xed);
	CHECK(kbd_read() == 0xfa);
	outb(0x60, 0x02);
	CHECK(kbd_read() == 0xfa);
	CHECK(kbd_read() == -1);
	/* A20 through the output port; reset through 0xfe */
	outb(0x64, 0xd0);
	CHECK(kbd_read() == 0x03);
	outb(0x64, 0xd1);
	outb(0x60, 0x01);
	CHECK(a20 == 0);
	outb(0x64, 0xd1);
	outb(0x60, 0x03);
	CHECK(a20 == 1);
	resets = 0;
	outb(0x64, 0xfe);
	CHECK(resets == 1);
	outb(0x64, 0xff); /* pulse nothing */
	CHECK(resets == 1);

	/* --- port 0x92 --- */
	CHECK(inb(0x92) == 0x00);
	outb(0x92, 0x02);
	CHECK(a20 == 1 && inb(0x92) == 0x02);
	outb(0x92, 0x00);
	CHECK(a20 == 0);
	outb(0x92, 0x03);
	CHECK(a20 == 1 && resets == 2);

	/* --- port 0x80 --- */
	outb(0x80, 0x42);
	CHECK(inb(0x80) == 0x42 && post.last == 0x42);

	/* --- debug console --- */
	CHECK(inb(0xe9) == 0xe9);
	outb(0xe9, 'h');
	outb(0xe9, 'i');
	debugcon_flush(&dc); /* the board flushes between CPU runs */
	fflush(dcf);
	rewind(dcf);
	char buf[8] = "";
	CHECK(fread(buf, 1, sizeof(buf) - 1, dcf) == 2 && strcmp(buf, "hi") == 0);

	/* --- debug exit --- */
	outb(0xf4, 0x00);
	CHECK(exits == 1 && exit_status == 1);
	outb(0xf4, 0x10);
	CHECK(exits == 2 && exit_status == 0x21);
	bus_write(&b, 0xf4, 4, 0x7f);
	CHECK(exits == 3 && exit_status == 0xff);

	/* --- APM shutdown: "Shutdown" in sequence, restarts on mismatch --- */
	const char *s = "ShutShutdow";
	for (const char *p = s; *p; p++)
		outb(0x8900, (uint8_t)*p);
	CHECK(poweroffs == 0);
	outb(0x8900, 'n');
	CHECK(poweroffs == 1);
	outb(0x8900, 'S');
	outb(0x8900, 'x');
	for (const char *p = "hutdown"; *p; p++)
		outb(0x8900, (uint8_t)*p);
	CHECK(poweroffs == 1);

	/* nonsense pokes at every port of these devices */
	static const uint16_t ports[] = { 0x60, 0x64, 0x92, 0x80, 0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff };
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		for (int v = 0; v < 256; v++) {
			if ((ports[i] == 0x64 && v >= 0xf0) || ports[i] == 0xcf9)
				continue; /* reset pulses: counted, harmless */
			outb(ports[i], (uint8_t)v);
			inb(ports[i]);
			bus_write(&b, ports[i], 2, (uint32_t)v * 0x0101u);
			bus_read(&b, ports[i], 4);
		}
	i8042_reset(&kbd);
	pci_host_reset(&pci);
	fclose(dcf);
	bus_free(&b);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
