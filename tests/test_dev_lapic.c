/* Local APIC against a manual clock: the timer in one-shot and periodic
 * mode with each divider, current count, masking, the divider changed
 * mid-count; priorities (TPR, PPR, ISR nesting), EOI and the level EOI
 * sent on; spurious vector; self-IPI, shorthands, illegal vectors and
 * the error status register; software disable masking the LVT; LINT0 in
 * ExtINT (virtual-wire) mode and with the APIC hardware-disabled; LINT1
 * NMI; relocation through IA32_APIC_BASE; bad accesses logged; a one-shot
 * expiry is never lost when time jumps (a preempted host). */
#include <stdio.h>
#include <string.h>

#include "dev/lapic.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus mmio;
static struct clock clk;
static struct lapic a;
static int intr, nmis, pic_acks, last_eoi = -1;

static void set_intr(void *o, int l) { (void)o; intr = l; }
static void nmi(void *o) { (void)o; nmis++; }
static int pic_ack(void *o) { (void)o; pic_acks++; return 0x68; }
static void eoi_out(void *o, uint8_t v) { (void)o; last_eoi = v; }

static uint32_t base = LAPIC_DEFAULT_BASE;
static uint32_t rd(uint32_t r) { return bus_read(&mmio, base + r, 4); }
static void wr(uint32_t r, uint32_t v) { bus_write(&mmio, base + r, 4, v); }

/* Advance the clock by ns, stepping through every due timer. */
static void run_for(uint64_t ns)
{
	uint64_t end = clock_now(&clk) + ns;
	while (clock_next_deadline(&clk) <= end) {
		clock_set(&clk, clock_next_deadline(&clk));
		clock_run_timers(&clk);
	}
	clock_set(&clk, end);
	clock_run_timers(&clk);
}

/* Take interrupts as the CPU would: ack, count vector v, EOI. */
static int take_all(int v)
{
	int n = 0;
	while (intr) {
		int got = lapic_intack(&a);
		if (got == v)
			n++;
		wr(0xb0, 0);
	}
	return n;
}

static void test_timer(void)
{
	wr(0xf0, 0x1ff);
	/* one-shot, divide by 1: 1000 counts of 10 ns */
	wr(0x3e0, 0xb);
	wr(0x320, 0x30);
	wr(0x380, 1000);
	CHECK(rd(0x390) == 1000);
	run_for(5000);
	CHECK(rd(0x390) == 500);
	CHECK(!intr);
	run_for(5000);
	CHECK(intr);
	CHECK(rd(0x390) == 0);
	CHECK(lapic_intack(&a) == 0x30);
	CHECK(rd(0x100 + 0x10 * (0x30 / 32)) == 1u << (0x30 % 32)); /* in service */
	wr(0xb0, 0);
	run_for(100000);
	CHECK(!intr && rd(0x390) == 0); /* one-shot: once */

	/* each divider: code -> divisor */
	static const struct { uint32_t code, div; } divs[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (size_t i = 0; i < sizeof(divs) / sizeof(divs[0]); i++) {
		wr(0x3e0, divs[i].code);
		wr(0x380, 100);
		run_for(10ull * divs[i].div * 40);
		CHECK(rd(0x390) == 60);
		run_for(10ull * divs[i].div * 60 - 1);
		CHECK(!intr);
		run_for(1);
		CHECK(intr);
		take_all(0x30);
	}

	/* periodic, divide by 16: 250 counts = 40 us per period */
	wr(0x3e0, 0x3);
	wr(0x320, 0x20031);
	wr(0x380, 250);
	int n = 0;
	for (int i = 0; i < 10; i++) {
		run_for(40000);
		n += take_all(0x31);
	}
	CHECK(n == 10);
	run_for(20000);
	CHECK(rd(0x390) == 125);
	/* late (the run loop ran the timer 9.5 periods after it was due):
	 * the missed periods become one interrupt, the phase is kept */
	clock_set(&clk, clock_now(&clk) + 400000);
	clock_run_timers(&clk);
	CHECK(take_all(0x31) == 1);
	CHECK(rd(0x390) == 125);
	run_for(20000);
	CHECK(take_all(0x31) == 1);
	CHECK(rd(0x390) == 250);
	run_for(20000);
	CHECK(rd(0x390) == 125);
	/* the divider changed mid-count keeps the count */
	wr(0x3e0, 0xb);
	CHECK(rd(0x390) == 125);
	run_for(1250);
	CHECK(intr);
	take_all(0x31);
	CHECK(rd(0x390) == 250);
	/* masked: the count runs, no interrupt */
	wr(0x320, 0x30031);
	run_for(100000);
	CHECK(!intr);
	CHECK(rd(0x320) == 0x30031);
	wr(0x380, 0); /* initial count 0 stops it */
	CHECK(rd(0x390) == 0);
	CHECK(clock_next_deadline(&clk) == CLOCK_NEVER);
	wr(0x320, 0x10000);
}

/* A one-shot count that reaches zero interrupts once, and its interrupt
 * is owed from that moment (SDM, "APIC Timer": at zero the timer
 * interrupts and the count stays 0), however time moves between two clock
 * reads: the host may stop ringvm at any point, for longer than a short
 * count (Linux's shortest lapic event is 15 counts, 2.4 us), and the run
 * loop runs the timer later. A lost one-shot leaves Linux's NO_HZ idle
 * halted for good: it programs the next event only from this interrupt. */
static void test_timer_owed(void)
{
	wr(0xf0, 0x1ff);
	wr(0x3e0, 0x3); /* divide by 16: 160 ns a count */
	wr(0x320, 0x32);
	take_all(0x32);
	/* time moves 50 us between any two reads while the count is loaded */
	clk.manual_step = 50000;
	wr(0x380, 15);
	clk.manual_step = 0;
	run_for(1000000);
	CHECK(take_all(0x32) == 1);
	CHECK(rd(0x390) == 0);
	run_for(1000000);
	CHECK(take_all(0x32) == 0);

	/* the count reached zero, and before the loop ran the timer the guest
	 * changed the divider (Linux's __setup_APIC_LVTT writes it) or masked
	 * the LVT: the interrupt was already made */
	static const struct { uint32_t reg, val; } late[] = {
		{ 0x3e0, 0xb }, { 0x3e0, 0x3 }, { 0x320, 0x10032 },
	};
	for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++) {
		wr(0x320, 0x32);
		wr(0x3e0, 0x3);
		wr(0x380, 100);
		clock_set(&clk, clock_now(&clk) + 100000); /* past zero, timers not run */
		wr(late[i].reg, late[i].val);
		run_for(1000000);
		CHECK(take_all(0x32) == 1);
		wr(0x380, 0);
	}
	wr(0x320, 0x10000);
	wr(0x380, 0);
}

static void test_priority(void)
{
	wr(0xf0, 0x1ff);
	wr(0x80, 0);
	lapic_deliver(&a, APIC_DM_FIXED, 0x45, false);
	lapic_deliver(&a, APIC_DM_FIXED, 0x83, false);
	CHECK(intr);
	CHECK(rd(0x200 + 0x10 * 2) == 1u << 5 && rd(0x200 + 0x10 * 4) == 1u << 3);
	CHECK(lapic_intack(&a) == 0x83); /* highest first */
	CHECK(rd(0xa0) == 0x80);           /* PPR: the class in service */
	CHECK(!intr);                      /* 0x45 waits: class 4 < 8 */
	lapic_deliver(&a, APIC_DM_FIXED, 0x91, false);
	CHECK(intr);                       /* class 9 nests */
	CHECK(lapic_intack(&a) == 0x91);
	CHECK(rd(0xa0) == 0x90);
	wr(0xb0, 0);                       /* EOI ends the highest: 0x91 */
	CHECK(rd(0xa0) == 0x80 && !intr);
	wr(0xb0, 0);
	CHECK(rd(0xa0) == 0 && intr);
	/* TPR holds class 4 back */
	wr(0x80, 0x50);
	CHECK(!intr);
	CHECK(rd(0xa0) == 0x50);
	CHECK(rd(0x90) == 0x50); /* APR */
	/* a request that went away between INTR and INTA: spurious vector,
	 * nothing in service */
	CHECK(lapic_intack(&a) == 0xff);
	CHECK(rd(0x100 + 0x10 * 2) == 0);
	wr(0x80, 0x40); /* same class: still held (must be above) */
	CHECK(!intr);
	wr(0x80, 0x3f);
	CHECK(intr);
	CHECK(lapic_intack(&a) == 0x45);
	wr(0xb0, 0);
	wr(0x80, 0);
	/* an EOI with nothing in service is harmless */
	wr(0xb0, 0);
	CHECK(!intr);

	/* level-triggered: TMR set, and the EOI goes to the IOAPIC */
	lapic_deliver(&a, APIC_DM_FIXED, 0x61, true);
	CHECK(rd(0x180 + 0x10 * 3) == 2);
	CHECK(lapic_intack(&a) == 0x61);
	last_eoi = -1;
	wr(0xb0, 0);
	CHECK(last_eoi == 0x61);
	lapic_deliver(&a, APIC_DM_FIXED, 0x61, false); /* edge: TMR clear, no EOI out */
	CHECK(rd(0x180 + 0x10 * 3) == 0);
	lapic_intack(&a);
	last_eoi = -1;
	wr(0xb0, 0);
	CHECK(last_eoi == -1);
}

static void test_ipi(void)
{
	wr(0xf0, 0x1ff);
	wr(0x280, 0);
	wr(0x300, 0x40050); /* self, fixed, 0x50 */
	CHECK(intr && lapic_intack(&a) == 0x50);
	wr(0xb0, 0);
	CHECK((rd(0x300) & 0x1000) == 0); /* delivery status idle */
	wr(0x310, 0x00000000);
	wr(0x300, 0x00051); /* physical destination 0: this APIC */
	CHECK(take_all(0x51) == 1);
	wr(0x310, 0x05000000);
	wr(0x300, 0x00052); /* APIC ID 5: nobody */
	CHECK(!intr);
	wr(0x300, 0xc0053); /* all excluding self: nobody here */
	CHECK(!intr);
	wr(0x300, 0x80054); /* all including self */
	CHECK(take_all(0x54) == 1);
	/* logical flat: LDR bit 0 */
	wr(0xd0, 0x01000000);
	wr(0x310, 0x03000000);
	wr(0x300, 0x00855);
	CHECK(take_all(0x55) == 1);
	wr(0x310, 0x02000000);
	wr(0x300, 0x00856);
	CHECK(!intr);
	/* NMI to self by destination; INIT and STARTUP accepted, ignored */
	nmis = 0;
	wr(0x310, 0);
	wr(0x300, 0x00400);
	CHECK(nmis == 1);
	wr(0x300, 0x04500);
	wr(0x300, 0x00600);
	CHECK(!intr && nmis == 1);
	/* illegal vector: send error, nothing delivered */
	wr(0x300, 0x4000f);
	CHECK(!intr);
	CHECK(rd(0x280) == 0); /* not latched until the ESR is written */
	wr(0x280, 0);
	CHECK(rd(0x280) == 0x20);
	wr(0x280, 0);
	CHECK(rd(0x280) == 0);
	/* received illegal vector (an IOAPIC entry with vector 3) */
	lapic_deliver(&a, APIC_DM_FIXED, 3, false);
	wr(0x280, 0);
	CHECK(rd(0x280) == 0x40 && !intr);
	/* the error LVT delivers errors */
	wr(0x370, 0xe0);
	wr(0x300, 0x40001);
	CHECK(take_all(0xe0) == 1);
	wr(0x370, 0x10000);
	wr(0x280, 0);
}

static void test_enable_and_lint(void)
{
	/* reset state: software-disabled, LINT0 ExtINT unmasked (virtual
	 * wire): the 8259 reaches the CPU with no APIC programming */
	lapic_reset(&a);
	CHECK(rd(0xf0) == 0xff);
	CHECK(rd(0x350) == 0x700);
	CHECK(rd(0x30) == 0x00040014);
	pic_acks = 0;
	lapic_set_lint(&a, 0, 1);
	CHECK(intr);
	CHECK(lapic_intack(&a) == 0x68 && pic_acks == 1);
	CHECK(rd(0x100 + 0x10 * 3) == 0); /* ExtINT bypasses the ISR */
	lapic_set_lint(&a, 0, 0);
	CHECK(!intr);
	/* software-disabled: fixed interrupts refused, LVT writes masked */
	lapic_deliver(&a, APIC_DM_FIXED, 0x40, false);
	CHECK(!intr && rd(0x200 + 0x10 * 2) == 0);
	wr(0x320, 0x20);
	CHECK(rd(0x320) == 0x10020);
	/* enable, then LINT0 masked: the 8259 is cut off */
	wr(0xf0, 0x1ff);
	CHECK(rd(0xf0) == 0x1ff);
	wr(0x350, 0x10700);
	lapic_set_lint(&a, 0, 1);
	CHECK(!intr);
	wr(0x350, 0x700);
	CHECK(intr); /* unmasking passes the asserted line on */
	lapic_set_lint(&a, 0, 0);
	/* fixed interrupts come before ExtINT */
	lapic_deliver(&a, APIC_DM_FIXED, 0x40, false);
	lapic_set_lint(&a, 0, 1);
	CHECK(lapic_intack(&a) == 0x40);
	wr(0xb0, 0);
	CHECK(lapic_intack(&a) == 0x68);
	lapic_set_lint(&a, 0, 0);
	/* LINT1 NMI on a rising edge */
	nmis = 0;
	wr(0x360, 0x400);
	lapic_set_lint(&a, 1, 1);
	lapic_set_lint(&a, 1, 1);
	CHECK(nmis == 1);
	lapic_set_lint(&a, 1, 0);
	/* software disable sets every LVT mask */
	wr(0xf0, 0xff);
	CHECK(rd(0x350) & 0x10000);
	CHECK(rd(0x360) & 0x10000);

	/* hardware disable: registers gone, LINT0 is INTR, LINT1 is NMI */
	lapic_set_base(&a, 0xfee00100ull);
	CHECK(bus_read(&mmio, base + 0x30, 4) == 0xffffffffu);
	lapic_set_lint(&a, 0, 1);
	CHECK(intr && lapic_intack(&a) == 0x68);
	lapic_set_lint(&a, 0, 0);
	CHECK(!intr);
	nmis = 0;
	lapic_set_lint(&a, 1, 1);
	lapic_set_lint(&a, 1, 0);
	CHECK(nmis == 1);
	CHECK(!lapic_deliver(&a, APIC_DM_FIXED, 0x40, false));
	/* enabled again, relocated */
	lapic_set_base(&a, 0xfed00900ull);
	base = 0xfed00000u;
	CHECK(rd(0x30) == 0x00040014);
	CHECK(bus_read(&mmio, 0xfee00030u, 4) == 0xffffffffu);
	lapic_reset(&a);
	base = LAPIC_DEFAULT_BASE;
	CHECK(rd(0x30) == 0x00040014);
}

static void test_registers(FILE *log)
{
	lapic_reset(&a);
	wr(0xf0, 0x1ff);
	wr(0x20, 0x05000000);
	CHECK(rd(0x20) == 0x05000000);
	CHECK(lapic_match_dest(&a, 5, false) && !lapic_match_dest(&a, 0, false) && lapic_match_dest(&a, 0xff, false));
	wr(0x20, 0);
	wr(0x30, 0);
	CHECK(rd(0x30) == 0x00040014); /* read-only */
	wr(0xe0, 0x0fffffff);           /* cluster model */
	CHECK(rd(0xe0) == 0x0fffffff);
	wr(0xd0, 0x21000000);
	CHECK(lapic_match_dest(&a, 0x23, true) && !lapic_match_dest(&a, 0x13, true) &&
	      !lapic_match_dest(&a, 0x22, true));
	wr(0xe0, 0xffffffff);
	wr(0xf0, 0x1f0);
	CHECK(rd(0xf0) == 0x1ff); /* P6: vector bits 3:0 are ones */
	/* byte reads see their bytes; partial writes and unimplemented
	 * registers are logged and do nothing else (illegal register: ESR
	 * bit 7) */
	CHECK(bus_read(&mmio, base + 0x32, 1) == 0x04);
	CHECK(bus_read(&mmio, base + 0x34, 4) == 0);
	wr(0x280, 0);
	bus_write(&mmio, base + 0x80, 1, 0x70);
	CHECK(rd(0x80) == 0);
	CHECK(rd(0x330) == 0); /* no thermal LVT on a P6 */
	wr(0x3f0, 1);
	wr(0x280, 0);
	CHECK(rd(0x280) == 0x80);
	wr(0x300, 0x40750); /* reserved delivery mode: not sent */
	wr(0x300, 0x40350);
	CHECK(!intr);
	fflush(log);
	rewind(log);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, log);
	buf[n] = 0;
	CHECK(strstr(buf, "write at offset 0x80 ignored") != NULL);
	CHECK(strstr(buf, "unimplemented register 0x330") != NULL);
	CHECK(strstr(buf, "reserved delivery mode 7") != NULL);
	CHECK(strstr(buf, "reserved delivery mode 3") != NULL);
}

int main(void)
{
	FILE *log = tmpfile();
	bus_init(&mmio, 0x100000000ull);
	clock_init(&clk, CLOCK_MANUAL);
	clock_set(&clk, 1000);
	struct lapic_board lb = { NULL, set_intr, nmi, pic_ack, eoi_out, NULL };
	CHECK(lapic_init(&a, &mmio, &clk, &lb, log) == 0);
	CHECK(rd(0x30) == 0x00040014);
	test_timer();
	test_timer_owed();
	test_priority();
	test_ipi();
	test_enable_and_lint();
	test_registers(log);
	bus_free(&mmio);
	fclose(log);
	if (fails)
		printf("%d failures\n", fails);
	else
		printf("test_dev_lapic: all passed\n");
	return fails != 0;
}
