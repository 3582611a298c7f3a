/* MC146818 RTC/CMOS: BCD and binary time, 12/24 hour, the update-in-
 * progress window, periodic and alarm interrupts, register C clearing,
 * guest time setting, the NMI mask bit, memory-size bytes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dev/rtc_cmos.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct bus b;
static struct clock clk;
static struct rtc r;
static int level;

static void irq(void *o, int n, int l) { (void)o; (void)n; level = l; }
static uint8_t rd(uint8_t idx) { bus_write(&b, 0x70, 1, idx); return (uint8_t)bus_read(&b, 0x71, 1); }
static void wr(uint8_t idx, uint8_t v) { bus_write(&b, 0x70, 1, idx); bus_write(&b, 0x71, 1, v); }
static void advance(uint64_t ns)
{
	uint64_t t = clock_now(&clk) + ns;
	while (clock_next_deadline(&clk) <= t) {
		clock_set(&clk, clock_next_deadline(&clk));
		clock_run_timers(&clk);
	}
	clock_set(&clk, t);
	clock_run_timers(&clk);
}

int main(void)
{
	bus_init(&b, 0x10000);
	clock_init(&clk, CLOCK_MANUAL);
	struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59, .tm_sec = 58 };
	time_t start = timegm(&tm); /* Thursday 2024-02-29 23:59:58 UTC */
	clock_set(&clk, 1000);
	CHECK(rtc_init(&r, &b, &clk, (struct irq_line){ irq, NULL, 8 }, start) == 0);

	/* BCD, 24-hour by default */
	CHECK(rd(0x0b) == 0x02);
	CHECK(rd(0) == 0x58 && rd(2) == 0x59 && rd(4) == 0x23);
	CHECK(rd(6) == 0x05 && rd(7) == 0x29 && rd(8) == 0x02 && rd(9) == 0x24 && rd(0x32) == 0x20);
	CHECK(rd(0x0d) == 0x80);
	advance(2000000000ull);
	CHECK(rd(0) == 0x00 && rd(2) == 0x00 && rd(4) == 0x00);
	CHECK(rd(7) == 0x01 && rd(8) == 0x03 && rd(6) == 0x06);

	/* binary mode */
	wr(0x0b, 0x06);
	CHECK(rd(7) == 1 && rd(8) == 3 && rd(9) == 24 && rd(0x32) == 20);
	advance(13 * 3600ull * 1000000000ull + 5000000000ull); /* 13:00:05 */
	CHECK(rd(4) == 13 && rd(0) == 5);
	/* 12-hour binary: 1 PM */
	wr(0x0b, 0x04);
	CHECK(rd(4) == (0x80 | 1));
	wr(0x0b, 0x02);
	CHECK(rd(4) == 0x13);

	/* update in progress: the last 244 us before a second ticks */
	uint64_t now = clock_now(&clk);
	uint64_t into = (now - 1000) % 1000000000ull;
	advance(1000000000ull - into - 100000); /* 100 us before the tick */
	CHECK(rd(0x0a) & 0x80);
	advance(200000);
	CHECK(!(rd(0x0a) & 0x80));
	CHECK((rd(0x0a) & 0x7f) == 0x26);

	/* the guest sets the time: SET freezes, clearing it restarts */
	wr(0x0b, 0x82);
	wr(0, 0x30); wr(2, 0x15); wr(4, 0x08); wr(7, 0x04); wr(8, 0x07); wr(9, 0x99); wr(0x32, 0x19);
	advance(3000000000ull);
	CHECK(rd(0) == 0x30); /* frozen while SET */
	wr(0x0b, 0x02);
	advance(1500000000ull);
	CHECK(rd(0) == 0x31 && rd(2) == 0x15 && rd(4) == 0x08);
	CHECK(rd(9) == 0x99 && rd(0x32) == 0x19 && rd(8) == 0x07);

	/* stopping the divider freezes the time too */
	wr(0x0a, 0x76); /* divider held in reset */
	uint8_t frozen = rd(0);
	advance(5000000000ull);
	CHECK(rd(0) == frozen);
	CHECK(!(rd(0x0a) & 0x80)); /* no update cycles while stopped */
	wr(0x0a, 0x26);
	advance(1000000000ull);
	CHECK(rd(0) == ((frozen & 0x0f) == 9 ? (uint8_t)((frozen & 0xf0) + 0x10) : (uint8_t)(frozen + 1)));

	/* periodic interrupt at 1024 Hz */
	rd(0x0c);
	CHECK(level == 0);
	wr(0x0a, 0x26);
	wr(0x0b, 0x42); /* PIE */
	advance(1000000); /* ~1 ms: at least one period */
	CHECK(level == 1);
	uint8_t c = rd(0x0c);
	CHECK((c & 0xc0) == 0xc0);
	CHECK(level == 0); /* reading C clears it */
	CHECK((rd(0x0c) & 0x40) == 0);
	int irqs = 0;
	for (int i = 0; i < 1000; i++) {
		advance(1000000);
		if (level) {
			irqs++;
			rd(0x0c);
		}
	}
	CHECK(irqs >= 970 && irqs <= 1030); /* ~1024 per second */
	/* rate 15 = 2 Hz */
	wr(0x0a, 0x2f);
	irqs = 0;
	for (int i = 0; i < 100; i++) {
		advance(10000000);
		if (level) {
			irqs++;
			rd(0x0c);
		}
	}
	CHECK(irqs == 2);
	wr(0x0b, 0x02);
	wr(0x0a, 0x26);
	rd(0x0c);

	/* alarm: "don't care" hours and minutes, seconds = now + 2 */
	uint8_t s = rd(0);
	int sec = ((s >> 4) * 10 + (s & 0xf) + 2) % 60;
	wr(1, (uint8_t)(((sec / 10) << 4) | (sec % 10)));
	wr(3, 0xc0);
	wr(5, 0xc0);
	wr(0x0b, 0x22); /* AIE */
	advance(1100000000ull);
	CHECK(level == 0);
	advance(1000000000ull);
	CHECK(level == 1);
	CHECK(rd(0x0c) & 0x20);
	CHECK(level == 0);
	wr(0x0b, 0x12); /* UIE: every second */
	advance(1000000000ull);
	CHECK(level == 1);
	CHECK((rd(0x0c) & 0x90) == 0x90);
	wr(0x0b, 0x02);

	/* NMI mask bit lives in the index port */
	bus_write(&b, 0x70, 1, 0x8f);
	CHECK(r.nmi_masked == 1);
	bus_write(&b, 0x70, 1, 0x0f);
	CHECK(r.nmi_masked == 0);
	CHECK(bus_read(&b, 0x70, 1) == 0xff);

	/* memory size bytes */
	rtc_set_memory(&r, 128u << 20);
	CHECK(rd(0x15) == 0x80 && rd(0x16) == 0x02);
	CHECK(rd(0x17) == 0xff && rd(0x18) == 0xff && rd(0x30) == 0xff && rd(0x31) == 0xff);
	CHECK(rd(0x34) == 0x00 && rd(0x35) == 0x07); /* 112 MiB / 64 KiB = 0x700 */
	CHECK(rd(0x14) == 0x02);
	unsigned sum = 0;
	for (int i = 0x10; i <= 0x2d; i++)
		sum += rd((uint8_t)i);
	CHECK(rd(0x2e) == (sum >> 8) && rd(0x2f) == (sum & 0xff));
	rtc_set_memory(&r, 8u << 20);
	CHECK(rd(0x17) == 0x00 && rd(0x18) == 0x1c && rd(0x34) == 0 && rd(0x35) == 0);

	/* ordinary CMOS bytes are memory */
	wr(0x40, 0xa5);
	CHECK(rd(0x40) == 0xa5);
	CHECK(rtc_cmos_get(&r, 0x40) == 0xa5);

	/* nonsense: every register, every value */
	for (int i = 0; i < 128; i++)
		for (int v = 0; v < 256; v += 5) {
			wr((uint8_t)i, (uint8_t)v);
			rd((uint8_t)i);
		}
	advance(5000000000ull);
	rtc_reset(&r);
	CHECK(level == 0);
	bus_free(&b);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
