/* The APIC test kernel (tests/t_board_apic.sh): finds the MP and ACPI
 * tables the loader left, enables the local APIC, counts its periodic
 * timer against PIT interrupts routed through the IOAPIC, checks one-shot
 * mode, a self-IPI, the TPR and an NMI IPI, then powers off through the
 * FADT's PM1a_CNT with the DSDT's _S5 sleep type. The output is the same
 * on every engine: counts are checked against ranges, not printed. */
#include <stdint.h>

#define LAPIC 0xfee00000u
#define IOAPIC 0xfec00000u

volatile uint32_t apic_ticks, pit_ticks, ipi_count, low_count, spurious_count, nmi_count;
/* The application processors (start_aps): where each takes its stack,
 * which have come up, what each saw, and a counter all increment. */
extern char ap_tramp[], ap_tramp_end[];
volatile uint32_t ap_stack_next, ap_alive, ap_counter, ap_bad;
static uint8_t ap_stacks[8][4096] __attribute__((aligned(16)));
#define AP_INCS 20000
void isr_apic_timer(void), isr_pit(void), isr_ipi(void), isr_low(void), isr_spurious(void), isr_nmi(void);

static uint64_t idt[256];
static int failures;

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t rd(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void wr(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static uint32_t lapic(uint32_t r) { return rd(LAPIC + r); }
static void lapic_wr(uint32_t r, uint32_t v) { wr(LAPIC + r, v); }
static uint32_t ioapic(uint32_t r) { wr(IOAPIC, r); return rd(IOAPIC + 0x10); }
static void ioapic_wr(uint32_t r, uint32_t v) { wr(IOAPIC, r); wr(IOAPIC + 0x10, v); }

static void putc(char c)
{
	if (c == '\n')
		outb(0x3f8, '\r');
	outb(0x3f8, (uint8_t)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void putx(uint32_t v)
{
	puts("0x");
	for (int i = 28; i >= 0; i -= 4)
		putc("0123456789abcdef"[(v >> i) & 15]);
}
static void putd(uint32_t v)
{
	char b[12];
	int n = 0;
	do b[n++] = (char)('0' + v % 10); while (v /= 10);
	while (n)
		putc(b[--n]);
}
static void check(int ok, const char *what)
{
	puts(ok ? "ok   " : "FAIL ");
	puts(what);
	putc('\n');
	failures += !ok;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}
static int sig(const void *p, const char *s, int n)
{
	const char *a = p;
	for (int i = 0; i < n; i++)
		if (a[i] != s[i])
			return 0;
	return 1;
}

static void gate(int v, void (*h)(void))
{
	uint32_t a = (uint32_t)h;
	idt[v] = (a & 0xffff) | (0x08u << 16) | ((uint64_t)0x8e00 << 32) | ((uint64_t)(a >> 16) << 48);
}

/* ---- MP table ---- */
static int mp_irq0_pin = -1, mp_cpus, mp_ioapic_id = -1;
static void find_mp(void)
{
	for (uint32_t a = 0xf0000; a < 0x100000; a += 16) {
		const uint8_t *fp = (const uint8_t *)a;
		if (!sig(fp, "_MP_", 4) || sum(fp, 16))
			continue;
		const uint8_t *t = (const uint8_t *)*(const uint32_t *)(fp + 4);
		if (!sig(t, "PCMP", 4) || sum(t, *(const uint16_t *)(t + 4)))
			break;
		const uint8_t *e = t + 44;
		for (int i = 0; i < *(const uint16_t *)(t + 34); i++) {
			if (e[0] == 0) {
				mp_cpus++;
				e += 20;
				continue;
			}
			if (e[0] == 2)
				mp_ioapic_id = e[1];
			if (e[0] == 3 && e[1] == 0 && e[5] == 0)
				mp_irq0_pin = e[7];
			e += 8;
		}
		puts("mp: table at ");
		putx((uint32_t)t);
		puts(", ");
		putd((uint32_t)mp_cpus);
		puts(" cpu, ioapic id ");
		putd((uint32_t)mp_ioapic_id);
		puts(", ISA irq 0 -> pin ");
		putd((uint32_t)mp_irq0_pin);
		putc('\n');
		return;
	}
	puts("mp: none\n");
}

/* ---- ACPI ---- */
static uint16_t pm1a_cnt, slp_typ_s5 = 0xffff;
static uint32_t pm_tmr;
static void parse_s5(const uint8_t *dsdt)
{
	uint32_t len = *(const uint32_t *)(dsdt + 4);
	for (uint32_t i = 36; i + 8 < len; i++) {
		const uint8_t *p = dsdt + i;
		/* NameOp "_S5_" PackageOp PkgLength NumElements first-element */
		if (p[0] == 0x08 && sig(p + 1, "_S5_", 4) && p[5] == 0x12) {
			const uint8_t *el = p + 8;
			slp_typ_s5 = el[0] == 0x0a ? el[1] : el[0] == 0x01 ? 1 : 0;
			return;
		}
	}
}
static void find_acpi(void)
{
	const uint8_t *rsdp = 0;
	for (uint32_t a = 0xe0000; a < 0x100000 && !rsdp; a += 16)
		if (sig((const void *)a, "RSD PTR ", 8) && !sum((const uint8_t *)a, 20))
			rsdp = (const uint8_t *)a;
	if (!rsdp) {
		puts("acpi: no RSDP\n");
		return;
	}
	const uint8_t *rsdt = (const uint8_t *)*(const uint32_t *)(rsdp + 16);
	uint32_t n = (*(const uint32_t *)(rsdt + 4) - 36) / 4;
	puts("acpi: RSDP at ");
	putx((uint32_t)rsdp);
	puts(", RSDT checksum ");
	puts(sum(rsdt, *(const uint32_t *)(rsdt + 4)) ? "bad" : "ok");
	putc('\n');
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = (const uint8_t *)((const uint32_t *)(rsdt + 36))[i];
		int ok = !sum(t, *(const uint32_t *)(t + 4));
		if (sig(t, "FACP", 4)) {
			const uint8_t *dsdt = (const uint8_t *)*(const uint32_t *)(t + 40);
			pm1a_cnt = (uint16_t)*(const uint32_t *)(t + 64);
			pm_tmr = *(const uint32_t *)(t + 76);
			puts("acpi: FADT ");
			puts(ok ? "ok" : "bad checksum");
			puts(", SCI irq ");
			putd(*(const uint16_t *)(t + 46));
			puts(", PM1a_CNT ");
			putx(pm1a_cnt);
			puts(", PM_TMR ");
			putx(pm_tmr);
			putc('\n');
			if (sig(dsdt, "DSDT", 4) && !sum(dsdt, *(const uint32_t *)(dsdt + 4)))
				parse_s5(dsdt);
			puts("acpi: DSDT _S5 SLP_TYP ");
			putd(slp_typ_s5);
			putc('\n');
		} else if (sig(t, "APIC", 4)) {
			puts("acpi: MADT ");
			puts(ok ? "ok" : "bad checksum");
			puts(", local APIC at ");
			putx(*(const uint32_t *)(t + 36));
			const uint8_t *e = t + 44, *end = t + *(const uint32_t *)(t + 4);
			for (; e < end; e += e[1]) {
				if (e[0] == 0) {
					puts("; cpu ");
					putd(e[3]);
				} else if (e[0] == 1) {
					puts("; ioapic ");
					putd(e[2]);
					puts(" at ");
					putx(*(const uint32_t *)(e + 4));
				} else if (e[0] == 2) {
					puts("; irq ");
					putd(e[3]);
					puts(" -> gsi ");
					putd(*(const uint32_t *)(e + 4));
				}
			}
			putc('\n');
		}
	}
}

static uint32_t pm_now(void) { return pm_tmr ? inl((uint16_t)pm_tmr) & 0xffffff : 0; }
static uint32_t pm_since(uint32_t t0) { return (pm_now() - t0) & 0xffffff; }

/* Spin for about us microseconds on the PM timer (3.579545 MHz), pausing
 * as a spin-wait loop should. */
static void udelay(uint32_t us)
{
	uint32_t t0 = pm_now(), ticks = us * 3580u / 1000u + 1;
	while (pm_since(t0) < ticks)
		__asm__ volatile("pause");
}

static struct { uint16_t lim; uint32_t base; } __attribute__((packed)) idtr;

/* An application processor, on its own stack: checks what it is, counts
 * with the others under the lock prefix, says it is up, then waits for
 * IPIs with interrupts on. */
void ap_main(void)
{
	uint32_t id = lapic(0x20) >> 24, a, b, c, d, lo, hi;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	if (id == 0 || id > 7 || b >> 24 != id || (lo & 0x900) != 0x800)
		__asm__ volatile("lock incl %0" : "+m"(ap_bad)); /* not BSP, enabled, CPUID's ID */
	__asm__ volatile("lidt %0" ::"m"(idtr));
	lapic_wr(0xf0, 0x1ff);
	for (int i = 0; i < AP_INCS; i++)
		__asm__ volatile("lock incl %0" : "+m"(ap_counter));
	__asm__ volatile("lock orl %1, %0" : "+m"(ap_alive) : "r"(1u << id));
	for (;;)
		__asm__ volatile("sti; hlt");
}

/* INIT-SIPI-SIPI to every other processor (SDM, "MP Initialization
 * Protocol Algorithm"), counting along with them, then IPIs both ways. */
static void start_aps(int cpus)
{
	uint32_t want = ((1u << cpus) - 1) & ~1u;
	const char *s = ap_tramp;
	for (char *p = (char *)0x8000; s < ap_tramp_end;)
		*p++ = *s++;
	ap_stack_next = (uint32_t)ap_stacks + sizeof(ap_stacks[0]);
	lapic_wr(0x310, 0);
	lapic_wr(0x300, 0xc4500); /* INIT, level assert, all excluding self */
	udelay(10000);
	lapic_wr(0x300, 0xc4608); /* STARTUP, vector 0x08: 0x0800:0000 */
	udelay(200);
	lapic_wr(0x300, 0xc4608);
	for (int i = 0; i < AP_INCS; i++)
		__asm__ volatile("lock incl %0" : "+m"(ap_counter));
	uint32_t t0 = pm_now();
	while (ap_alive != want && pm_since(t0) < 3580000u) /* a second */
		__asm__ volatile("pause");
	uint32_t up = 0;
	for (uint32_t m = ap_alive; m; m &= m - 1)
		up++;
	puts("smp: ");
	putd(up);
	puts(" application processors started\n");
	check(ap_alive == want, "every AP up, by INIT-SIPI-SIPI");
	check(ap_bad == 0, "each AP: its APIC ID, CPUID's initial APIC ID, not BSP");
	check(ap_counter == (uint32_t)cpus * AP_INCS, "lock incl from every CPU: no increment lost");
	uint32_t before = ipi_count;
	for (int id = 1; id < cpus; id++) {
		uint32_t n = ipi_count;
		lapic_wr(0x310, (uint32_t)id << 24);
		lapic_wr(0x300, 0x50); /* fixed, vector 0x50, physical destination */
		t0 = pm_now();
		while (ipi_count == n && pm_since(t0) < 358000u)
			__asm__ volatile("pause");
	}
	check(ipi_count == before + (uint32_t)cpus - 1, "fixed IPI to each AP by APIC ID");
	before = ipi_count;
	lapic_wr(0x300, 0xc0050); /* all excluding self */
	t0 = pm_now();
	while (ipi_count != before + (uint32_t)cpus - 1 && pm_since(t0) < 358000u)
		__asm__ volatile("pause");
	check(ipi_count == before + (uint32_t)cpus - 1, "fixed IPI to all excluding self");
}

void kmain(void)
{
	puts("apic test kernel\n");
	find_mp();
	find_acpi();

	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
	check(d & (1u << 9), "CPUID.1:EDX.APIC");
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	check((lo & 0xfffff900u) == 0xfee00900u, "IA32_APIC_BASE: 0xfee00000, enabled, BSP");

	/* 8259s: initialised to 0x70/0x78 and fully masked; LINT0 masked */
	outb(0x20, 0x11); outb(0x21, 0x70); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x78); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xff); outb(0xa1, 0xff);

	gate(2, isr_nmi);
	gate(0x20, isr_apic_timer);
	gate(0x30, isr_pit);
	gate(0x40, isr_low);
	gate(0x50, isr_ipi);
	gate(0xff, isr_spurious);
	idtr.lim = sizeof(idt) - 1;
	idtr.base = (uint32_t)idt;
	__asm__ volatile("lidt %0" ::"m"(idtr));

	uint32_t ver = lapic(0x30);
	puts("lapic: id ");
	putd(lapic(0x20) >> 24);
	puts(", version ");
	putx(ver & 0xff);
	puts(", ");
	putd(((ver >> 16) & 0xff) + 1);
	puts(" LVT entries\n");
	lapic_wr(0xf0, 0x1ff); /* software enable, spurious vector 0xff */
	lapic_wr(0x350, 0x10700); /* LINT0: ExtINT, masked */
	lapic_wr(0x360, 0x400);   /* LINT1: NMI */
	lapic_wr(0x80, 0);

	/* IOAPIC */
	uint32_t iov = ioapic(1);
	puts("ioapic: id ");
	putd(ioapic(0) >> 24);
	puts(", version ");
	putx(iov & 0xff);
	puts(", ");
	putd(((iov >> 16) & 0xff) + 1);
	puts(" pins\n");
	int pin = mp_irq0_pin >= 0 ? mp_irq0_pin : 2;
	ioapic_wr(0x10 + 2 * pin, 0x30);  /* PIT: vector 0x30, fixed, edge, unmasked */
	ioapic_wr(0x11 + 2 * pin, 0);     /* destination: APIC ID 0 */

	/* PIT channel 0: mode 2 at 1 kHz */
	outb(0x43, 0x34);
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);

	/* APIC timer: periodic, divide by 1, 100000 bus clocks */
	lapic_wr(0x3e0, 0xb);
	lapic_wr(0x320, 0x20020);
	uint32_t t0 = pm_now();
	lapic_wr(0x380, 100000);
	__asm__ volatile("sti");
	while (pit_ticks < 50)
		__asm__ volatile("hlt");
	uint32_t ms = pm_tmr ? pm_since(t0) * 10u / 35795u : 0;
	uint32_t at = apic_ticks, pt = pit_ticks;
	puts("50 PIT interrupts through the IOAPIC\n");
	if (pm_tmr)
		check(ms >= 48 && ms <= 60, "PM timer: about 50 ms passed");
	else
		puts("PM timer: none\n");
	/* 100000 bus clocks: one period per millisecond or so (the guest does
	 * not know the bus clock: the count should track the PIT's) */
	check(at * 10 >= pt * 8 && at * 10 <= pt * 12 + 10, "periodic APIC timer kept pace with the PIT");
	lapic_wr(0x320, 0x10020); /* mask: no more ticks */
	uint32_t stop = apic_ticks;
	while (pit_ticks < pt + 5)
		__asm__ volatile("hlt");
	check(apic_ticks == stop, "masked timer: no interrupts");

	/* one-shot: exactly one interrupt, then the count stays 0 */
	lapic_wr(0x320, 0x20);
	stop = apic_ticks;
	lapic_wr(0x380, 200000);
	pt = pit_ticks;
	while (pit_ticks < pt + 10)
		__asm__ volatile("hlt");
	check(apic_ticks == stop + 1 && lapic(0x390) == 0, "one-shot timer: one interrupt, count 0");

	/* the IOAPIC mask */
	ioapic_wr(0x10 + 2 * pin, 0x10030);
	pt = pit_ticks;
	stop = apic_ticks;
	lapic_wr(0x380, 2000000); /* wait for a one-shot of ~20 PIT periods */
	while (apic_ticks == stop)
		__asm__ volatile("hlt");
	check(pit_ticks == pt, "masked IOAPIC pin: no PIT interrupts");

	/* self-IPI and the task priority */
	lapic_wr(0x300, 0x40050); /* self, fixed, vector 0x50 */
	check(ipi_count == 1, "self-IPI delivered");
	lapic_wr(0x80, 0x50);
	lapic_wr(0x300, 0x40040); /* vector 0x40: class 4 is below TPR 0x50 */
	check(low_count == 0 && (lapic(0x220) & 1), "TPR 0x50 holds vector 0x40 in IRR");
	lapic_wr(0x80, 0);
	__asm__ volatile("nop");
	check(low_count == 1, "TPR 0: vector 0x40 delivered");
	lapic_wr(0x300, 0x40400); /* the self shorthand takes fixed only: refused */
	lapic_wr(0x310, 0);
	lapic_wr(0x300, 0x400);   /* NMI to APIC ID 0 */
	__asm__ volatile("nop");
	check(nmi_count == 1, "NMI by IPI to APIC ID 0");
	if (mp_cpus > 1)
		start_aps(mp_cpus);
	check(spurious_count == 0, "no spurious interrupts");

	__asm__ volatile("cli");
	puts(failures ? "some checks FAILED\n" : "all checks passed\n");
	if (pm1a_cnt && slp_typ_s5 != 0xffff) {
		puts("powering off through ACPI\n");
		outw(pm1a_cnt, (uint16_t)(slp_typ_s5 << 10 | 1u << 13));
		puts("FAIL: still running after PM1a_CNT\n");
	}
	outb(0xf4, failures ? 0x7f : 0x10); /* no ACPI: exit status 33 */
}
