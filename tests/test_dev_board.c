/* The assembled board without running the CPU: IRQ wiring from each
 * device through the PIC to cpu->intr_line and the acknowledge cycle,
 * A20 and reset requests, CMOS memory size, and a long random poke at
 * every port with every access size (nothing may crash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/pc.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct pc *pc;
static void outb(uint16_t p, uint8_t v) { pc->vcpu[0].cbus.pio_write(pc->vcpu[0].cbus.opaque, p, 1, v); }
static uint8_t inb(uint16_t p) { return (uint8_t)pc->vcpu[0].cbus.pio_read(pc->vcpu[0].cbus.opaque, p, 1); }
static int ack(void) { return pc->vcpu[0].cbus.intr_ack(pc->vcpu[0].cbus.opaque); }
static uint32_t mmio_read(uint32_t a) { return pc->vcpu[0].cbus.mmio_read(pc->vcpu[0].cbus.opaque, a, 4); }
static void mmio_write(uint32_t a, uint32_t v) { pc->vcpu[0].cbus.mmio_write(pc->vcpu[0].cbus.opaque, a, 4, v); }
static void eoi(void) { outb(0xa0, 0x20); outb(0x20, 0x20); }

static void advance(uint64_t ns)
{
	uint64_t t = clock_now(&pc->clock) + ns;
	while (clock_next_deadline(&pc->clock) <= t) {
		clock_set(&pc->clock, clock_next_deadline(&pc->clock));
		clock_run_timers(&pc->clock);
	}
	clock_set(&pc->clock, t);
	clock_run_timers(&pc->clock);
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

int main(void)
{
	char err[256];
	FILE *null = fopen("/dev/null", "w");
	struct pc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = 2u << 20;
	cfg.debugcon = null;
	cfg.log = null;
	cfg.console_in = -1;
	cfg.console_out = -1;

	cfg.ram_size = 1u << 20;
	CHECK(pc_create(&cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "out of range") != NULL);
	cfg.ram_size = (2u << 20) + 100;
	CHECK(pc_create(&cfg, err, sizeof(err)) == NULL);
	cfg.ram_size = 2u << 20;
	pc = pc_create(&cfg, err, sizeof(err));
	if (!pc) {
		printf("pc_create: %s\n", err);
		return 1;
	}
	CHECK(pc_boot(pc, err, sizeof(err)) < 0); /* nothing to boot */
	pc->clock.mode = CLOCK_MANUAL;
	clock_set(&pc->clock, 1000000);

	/* PIC: vectors 0x20 / 0x28, everything unmasked */
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0x00); outb(0xa1, 0x00);
	CHECK(pc->vcpu[0].cpu.intr_line == 0);

	/* COM1 -> IRQ4 */
	outb(0x3f9, 0x02);
	CHECK(pc->vcpu[0].cpu.intr_line == 1);
	CHECK(ack() == 0x24);
	inb(0x3fa);
	outb(0x3f9, 0x00);
	eoi();
	CHECK(pc->vcpu[0].cpu.intr_line == 0);

	/* PIT channel 0 -> IRQ0 */
	outb(0x43, 0x34);
	outb(0x40, 0x9c);
	outb(0x40, 0x2e); /* 100 Hz */
	for (int i = 0; i < 10; i++) { /* one interrupt per period */
		advance(10000000);
		CHECK(pc->vcpu[0].cpu.intr_line == 1);
		CHECK(ack() == 0x20);
		CHECK(pc->vcpu[0].cpu.intr_line == 0);
		eoi();
		CHECK(pc->vcpu[0].cpu.intr_line == 0);
	}
	outb(0x43, 0x30); /* mode 0, no count: quiet */

	/* RTC periodic -> IRQ8 through the cascade */
	outb(0x70, 0x0b);
	outb(0x71, 0x42);
	advance(2000000);
	CHECK(pc->vcpu[0].cpu.intr_line == 1);
	CHECK(ack() == 0x28);
	outb(0x70, 0x0c);
	inb(0x71);
	outb(0x70, 0x0b);
	outb(0x71, 0x02);
	eoi();
	CHECK(pc->vcpu[0].cpu.intr_line == 0);

	/* keyboard -> IRQ1 */
	outb(0x64, 0x20);
	CHECK(pc->vcpu[0].cpu.intr_line == 1);
	CHECK(ack() == 0x21);
	inb(0x60);
	eoi();
	CHECK(pc->vcpu[0].cpu.intr_line == 0);

	/* CMOS memory size: 2 MiB = 1024 KiB above 1 MiB */
	outb(0x70, 0x17);
	CHECK(inb(0x71) == 0x00);
	outb(0x70, 0x18);
	CHECK(inb(0x71) == 0x04);

	/* A20 and requests */
	outb(0x92, 0x00);
	CHECK(pc->vcpu[0].cpu.mem.a20 == false);
	outb(0x92, 0x02);
	CHECK(pc->vcpu[0].cpu.mem.a20 == true);
	outb(0x64, 0xfe);
	CHECK(pc->action == PC_ACT_RESET && pc->vcpu[0].cpu.stop_request);
	outb(0x8900, 'S');
	for (const char *s = "hutdown"; *s; s++)
		outb(0x8900, (uint8_t)*s);
	CHECK(pc->action == PC_ACT_POWEROFF);
	outb(0xf4, 3);
	CHECK(pc->action == PC_ACT_EXIT && pc->exit_status == 7);
	pc->action = PC_ACT_NONE;

	/* unclaimed ports and MMIO; the VGA window holds what is written */
	CHECK(pc->vcpu[0].cbus.pio_read(pc->vcpu[0].cbus.opaque, 0x1234, 4) == 0xffffffffu);
	CHECK(pc->vcpu[0].cbus.mmio_read(pc->vcpu[0].cbus.opaque, 0xe0000000u, 1) == 0xff);
	CHECK(pc->vcpu[0].cbus.mmio_read(pc->vcpu[0].cbus.opaque, 0xb8000, 2) == 0x0720); /* blank text screen */
	pc->vcpu[0].cbus.mmio_write(pc->vcpu[0].cbus.opaque, 0xb8000, 2, 0x0741);
	CHECK(pc->vcpu[0].cbus.mmio_read(pc->vcpu[0].cbus.opaque, 0xb8000, 2) == 0x0741);

	/* MSI (pc_msi, for PCI devices' MSI-X) reaches the local APIC
	 * the address names, software-enabled here, with the data's vector
	 * and delivery mode; a message outside 0xFEExxxxx is dropped and
	 * logged, one for another APIC ID is not taken. */
	uint32_t svr = mmio_read(0xfee000f0);
	mmio_write(0xfee000f0, 0x1ff);
	FILE *log = tmpfile(), *log0 = pc->cfg.log;
	pc->cfg.log = log;
	CHECK(pc->vcpu[0].cpu.intr_line == 0);
	pc_msi(pc, 0xfee00000u, 0x0051); /* physical APIC 0, fixed, edge */
	CHECK(pc->vcpu[0].cpu.intr_line == 1);
	CHECK(ack() == 0x51);
	mmio_write(0xfee000b0, 0); /* EOI */
	CHECK(pc->vcpu[0].cpu.intr_line == 0);
	pc_msi(pc, 0xfed00000u, 0x0052);
	pc_msi(pc, 0x1fee00000ull, 0x0052);
	pc_msi(pc, 0xfee05000u, 0x0052); /* APIC ID 5: none */
	pc_msi(pc, 0xfee00000u, 0x8052); /* level, deasserted: nothing */
	CHECK(pc->vcpu[0].cpu.intr_line == 0);
	mmio_write(0xfee000d0, 0x02000000); /* logical ID bit 1, flat model */
	pc_msi(pc, 0xfee0200cu, 0x0153); /* logical 2, redirection hint, lowest priority */
	CHECK(pc->vcpu[0].cpu.intr_line == 1);
	CHECK(ack() == 0x53);
	mmio_write(0xfee000b0, 0);
	pc_msi(pc, 0xfee00000u, 0x0400); /* NMI */
	CHECK(pc->vcpu[0].cpu.nmi_pending);
	pc->vcpu[0].cpu.nmi_pending = 0;
	char line[200] = "";
	rewind(log);
	int dropped = 0;
	while (fgets(line, sizeof(line), log))
		dropped += strstr(line, "msi:") && strstr(line, "dropped");
	CHECK(dropped == 2);
	pc->cfg.log = log0;
	fclose(log);
	mmio_write(0xfee000d0, 0);
	mmio_write(0xfee000f0, svr);

	/* random pokes everywhere, with time moving */
	for (int i = 0; i < 300000; i++) {
		uint32_t r = rnd();
		uint16_t port = (r & 1) ? (uint16_t)(rnd() & 0xffff) : (uint16_t)(rnd() % 0x100);
		if ((r & 0x30) == 0)
			port = (uint16_t)(0xcf8 + (rnd() & 7));
		if ((r & 0x300) == 0)
			port = (uint16_t)(0x3f8 + (rnd() & 7));
		static const int sizes[3] = { 1, 2, 4 };
		int size = sizes[(r >> 12) % 3];
		if (r & 0x80)
			pc->vcpu[0].cbus.pio_write(pc->vcpu[0].cbus.opaque, port, size, rnd());
		else
			pc->vcpu[0].cbus.pio_read(pc->vcpu[0].cbus.opaque, port, size);
		if (pc->vcpu[0].cpu.intr_line && (r & 0x400))
			ack();
		if ((i & 255) == 0)
			advance(rnd() % 5000000);
		pc->action = PC_ACT_NONE;
		pc->vcpu[0].cpu.stop_request = 0;
	}
	pc_destroy(pc);
	fclose(null);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
