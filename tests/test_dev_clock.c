/* The virtual clock: timer order, re-arming and deletion, the kick when a
 * timer is armed before the current run's end, the instruction-count mode
 * and its warp over idle time, deadline conversions, RAM size parsing. */
#include <stdio.h>
#include <string.h>

#include "machine/clock.h"
#include "machine/ram.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct clock clk;
static char order[16];
static int norder, kicks;

static void cb(void *o) { if (norder < 15) order[norder++] = *(const char *)o; }
static void kick(void *o) { (void)o; kicks++; }

static struct timer rearm;
static int rearm_count;
static void rearm_cb(void *o)
{
	(void)o;
	if (++rearm_count < 5)
		timer_mod(&clk, &rearm, clock_now(&clk) + 100);
}

int main(void)
{
	struct timer a, b, c;
	static const char A = 'a', B = 'b', C = 'c';

	clock_init(&clk, CLOCK_MANUAL);
	clock_set(&clk, 1000);
	timer_init(&a, cb, (void *)&A);
	timer_init(&b, cb, (void *)&B);
	timer_init(&c, cb, (void *)&C);
	CHECK(clock_next_deadline(&clk) == CLOCK_NEVER);
	timer_mod(&clk, &a, 3000);
	timer_mod(&clk, &b, 2000);
	timer_mod(&clk, &c, 2500);
	CHECK(clock_next_deadline(&clk) == 2000);
	timer_mod(&clk, &b, 4000); /* re-arming moves it */
	CHECK(clock_next_deadline(&clk) == 2500);
	timer_del(&clk, &c);
	timer_del(&clk, &c); /* twice is fine */
	CHECK(clock_next_deadline(&clk) == 3000);
	CHECK(clock_run_timers(&clk) == 0);
	clock_set(&clk, 5000);
	CHECK(clock_run_timers(&clk) == 2);
	CHECK(norder == 2 && order[0] == 'a' && order[1] == 'b');
	CHECK(!a.armed && !b.armed);
	/* time never goes backwards */
	clock_set(&clk, 10);
	CHECK(clock_now(&clk) == 5000);
	clock_set(&clk, 6000);

	/* a callback may re-arm itself */
	timer_init(&rearm, rearm_cb, NULL);
	timer_mod(&clk, &rearm, 6000);
	for (int i = 0; i < 10; i++) {
		clock_set(&clk, clock_now(&clk) + 100);
		clock_run_timers(&clk);
	}
	CHECK(rearm_count == 5);

	/* kick: only for deadlines before the running slice's end */
	clk.kick = kick;
	clk.run_until = 10000;
	timer_mod(&clk, &a, 20000);
	CHECK(kicks == 0);
	timer_mod(&clk, &b, 9000);
	CHECK(kicks == 1 && clk.run_until == 9000);
	timer_mod(&clk, &c, 9500); /* already stopping before that */
	CHECK(kicks == 1);
	clk.run_until = CLOCK_NEVER;
	timer_mod(&clk, &c, 7000);
	CHECK(kicks == 1);
	timer_del(&clk, &a);
	timer_del(&clk, &b);
	timer_del(&clk, &c);

	/* instruction-count mode */
	uint64_t icount = 0;
	struct clock ic;
	clock_init(&ic, CLOCK_ICOUNT);
	clock_set_icount_src(&ic, &icount, 2);
	CHECK(clock_now(&ic) == 0);
	icount = 1000;
	CHECK(clock_now(&ic) == 2000);
	CHECK(clock_icount_deadline(&ic, 5000) == 2500);
	CHECK(clock_icount_deadline(&ic, 5001) == 2501); /* rounds up */
	CHECK(clock_host_deadline(&ic, 5000) == CLOCK_NEVER);
	clock_warp(&ic, 10000); /* a halted CPU skips to the next timer */
	CHECK(clock_now(&ic) == 10000);
	icount = 1010;
	CHECK(clock_now(&ic) == 10020);
	CHECK(clock_icount_deadline(&ic, 10040) == 1020);
	/* a new instruction counter (a new CPU) keeps time continuous */
	uint64_t icount2 = 0;
	clock_set_icount_src(&ic, &icount2, 2);
	CHECK(clock_now(&ic) == 10020);
	icount2 = 5;
	CHECK(clock_now(&ic) == 10030);

	/* host mode: deadlines convert to CLOCK_MONOTONIC */
	struct clock hc;
	clock_init(&hc, CLOCK_HOST);
	uint64_t t0 = clock_now(&hc);
	CHECK(clock_host_deadline(&hc, t0 + 5) == hc.host_base + t0 + 5);
	CHECK(clock_icount_deadline(&hc, 5) == UINT64_MAX);
	CHECK(clock_host_deadline(&hc, CLOCK_NEVER) == CLOCK_NEVER);
	clock_warp(&hc, t0 + 1000000000); /* no effect on host time */
	CHECK(clock_now(&hc) < t0 + 1000000000);

	/* -m sizes */
	char err[200];
	uint64_t v;
	CHECK(ram_parse_size("256", &v, err, sizeof(err)) == 0 && v == 256ull << 20);
	CHECK(ram_parse_size("256M", &v, err, sizeof(err)) == 0 && v == 256ull << 20);
	CHECK(ram_parse_size("1G", &v, err, sizeof(err)) == 0 && v == 1ull << 30);
	CHECK(ram_parse_size("512k", &v, err, sizeof(err)) == 0 && v == 512ull << 10);
	CHECK(ram_parse_size("64MiB", &v, err, sizeof(err)) == 0 && v == 64ull << 20);
	CHECK(ram_parse_size("12X", &v, err, sizeof(err)) < 0 && strstr(err, "12X"));
	CHECK(ram_parse_size("-5", &v, err, sizeof(err)) < 0);
	CHECK(ram_parse_size("", &v, err, sizeof(err)) < 0);
	CHECK(ram_parse_size("99999999999999999999", &v, err, sizeof(err)) < 0);
	CHECK(ram_parse_size("16777216G", &v, err, sizeof(err)) == 0); /* fits u64; range checked later */
	CHECK(ram_parse_size("20000000000G", &v, err, sizeof(err)) < 0);
	struct ram r;
	CHECK(ram_create(&r, 1u << 20, err, sizeof(err)) < 0 && strstr(err, "out of range"));
	CHECK(ram_create(&r, (16ull << 30) + 4096, err, sizeof(err)) < 0 && strstr(err, "out of range"));
	/* over 3 GiB: the board puts the rest above 4 GiB (ram_low_size) */
	CHECK(ram_create(&r, 6ull << 30, err, sizeof(err)) == 0 && r.size == 6ull << 30);
	CHECK(ram_low_size(r.size) == 3u << 30 && ram_low_size(1u << 30) == 1u << 30);
	ram_free(&r);
	CHECK(ram_create(&r, (2u << 20) + 1, err, sizeof(err)) < 0 && strstr(err, "4 KiB"));
	CHECK(ram_create(&r, 2u << 20, err, sizeof(err)) == 0);
	r.base[12345] = 7;
	ram_clear(&r);
	CHECK(r.base[12345] == 0);
	ram_free(&r);
	printf("%s\n", fails ? "FAILED" : "ok");
	return fails != 0;
}
