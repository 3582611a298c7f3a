/* MC146818A RTC (Motorola MC146818A datasheet: register A rate table,
 * register B/C bits, update cycle timing). */
#include "dev/rtc_cmos.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

enum {
	REG_SEC = 0, REG_SEC_ALARM, REG_MIN, REG_MIN_ALARM, REG_HOUR, REG_HOUR_ALARM,
	REG_WDAY, REG_MDAY, REG_MONTH, REG_YEAR,
	REG_A = 0x0a, REG_B, REG_C, REG_D,
	REG_CENTURY = 0x32,
	A_UIP = 0x80,
	B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM = 0x04, B_24H = 0x02,
	C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10,
	D_VRT = 0x80,
};

#define NS 1000000000ull
#define UIP_NS 244000ull /* update cycle: 244 us before the second ticks */

static uint64_t now_ns(struct rtc *r)
{
	return clock_now(r->clock);
}

/* Guest seconds now, and ns into the current second. */
static int64_t guest_sec(struct rtc *r, uint64_t *frac)
{
	uint64_t t = now_ns(r);
	uint64_t d = t > r->base_ns ? t - r->base_ns : 0;
	if (frac)
		*frac = d % NS;
	return r->base_sec + (int64_t)(d / NS);
}

static int binary(const struct rtc *r)
{
	return r->cmos[REG_B] & B_DM;
}

static uint8_t enc(const struct rtc *r, int v)
{
	return binary(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int dec(const struct rtc *r, uint8_t v)
{
	return binary(r) ? v : ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint8_t enc_hour(const struct rtc *r, int h)
{
	if (r->cmos[REG_B] & B_24H)
		return enc(r, h);
	int h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(enc(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int dec_hour(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_24H)
		return dec(r, v);
	int h = dec(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

/* Write the time registers from guest seconds. */
static void store_time(struct rtc *r, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	r->cmos[REG_SEC] = enc(r, tm.tm_sec);
	r->cmos[REG_MIN] = enc(r, tm.tm_min);
	r->cmos[REG_HOUR] = enc_hour(r, tm.tm_hour);
	r->cmos[REG_WDAY] = enc(r, tm.tm_wday + 1);
	r->cmos[REG_MDAY] = enc(r, tm.tm_mday);
	r->cmos[REG_MONTH] = enc(r, tm.tm_mon + 1);
	r->cmos[REG_YEAR] = enc(r, tm.tm_year % 100);
	r->cmos[REG_CENTURY] = enc(r, (tm.tm_year + 1900) / 100);
}

/* Read the time registers back as guest seconds (after a guest set). */
static int64_t load_time(const struct rtc *r)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = dec(r, r->cmos[REG_SEC]);
	tm.tm_min = dec(r, r->cmos[REG_MIN]);
	tm.tm_hour = dec_hour(r, r->cmos[REG_HOUR]);
	tm.tm_mday = dec(r, r->cmos[REG_MDAY]);
	tm.tm_mon = dec(r, r->cmos[REG_MONTH]) - 1;
	int century = dec(r, r->cmos[REG_CENTURY]);
	if (century < 19 || century > 99)
		century = 20;
	tm.tm_year = century * 100 + dec(r, r->cmos[REG_YEAR]) - 1900;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : (int64_t)t;
}

static void update_irq(struct rtc *r)
{
	uint8_t c = r->cmos[REG_C] & (C_PF | C_AF | C_UF);
	uint8_t en = r->cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
	if (c & en)
		c |= C_IRQF;
	r->cmos[REG_C] = c;
	int level = (c & C_IRQF) != 0;
	if (level != r->irq_level) {
		r->irq_level = level;
		irq_set(&r->irq, level);
	}
}

/* Periodic rate from register A (datasheet table 3, 32.768 kHz time base):
 * RS=1,2 alias RS=8,9; period = 2^(RS-1) / 32768 s. 0 if off. */
static uint64_t period_ns(const struct rtc *r)
{
	int rs = r->cmos[REG_A] & 0x0f;
	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return (NS << (rs - 1)) / 32768u;
}

static int running(const struct rtc *r)
{
	/* Divider bits 010 (32.768 kHz) run the clock; others hold it. */
	return ((r->cmos[REG_A] >> 4) & 7) == 2 && !(r->cmos[REG_B] & B_SET);
}

/* Seconds-boundary logic: UF every second, AF when the alarm matches
 * (a value with bits 7:6 set matches anything). */
static void catch_up_seconds(struct rtc *r)
{
	if (!running(r))
		return;
	int64_t s = guest_sec(r, NULL);
	if (s == r->last_sec)
		return;
	r->last_sec = s;
	store_time(r, s);
	r->cmos[REG_C] |= C_UF;
	int match = 1;
	static const int pairs[3][2] = { { REG_SEC, REG_SEC_ALARM }, { REG_MIN, REG_MIN_ALARM },
					 { REG_HOUR, REG_HOUR_ALARM } };
	for (int i = 0; i < 3; i++) {
		uint8_t a = r->cmos[pairs[i][1]];
		if ((a & 0xc0) != 0xc0 && a != r->cmos[pairs[i][0]])
			match = 0;
	}
	if (match)
		r->cmos[REG_C] |= C_AF;
}

static void catch_up_period(struct rtc *r)
{
	uint64_t p = period_ns(r);
	if (!p)
		return;
	uint64_t n = now_ns(r) / p;
	if (n != r->last_period) {
		r->last_period = n;
		r->cmos[REG_C] |= C_PF;
	}
}

static void arm_timers(struct rtc *r)
{
	uint64_t p = period_ns(r);
	uint64_t now = now_ns(r);
	if (p && (r->cmos[REG_B] & B_PIE))
		timer_mod(r->clock, &r->periodic, (now / p + 1) * p);
	else
		timer_del(r->clock, &r->periodic);
	if (running(r) && (r->cmos[REG_B] & (B_AIE | B_UIE))) {
		uint64_t frac;
		guest_sec(r, &frac);
		timer_mod(r->clock, &r->second, now + (NS - frac));
	} else {
		timer_del(r->clock, &r->second);
	}
}

static void periodic_cb(void *opaque)
{
	struct rtc *r = opaque;
	catch_up_period(r);
	update_irq(r);
	arm_timers(r);
}

static void second_cb(void *opaque)
{
	struct rtc *r = opaque;
	catch_up_seconds(r);
	update_irq(r);
	arm_timers(r);
}

static uint8_t reg_read(struct rtc *r, int idx)
{
	switch (idx) {
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY:
	case REG_MONTH: case REG_YEAR: case REG_CENTURY:
		if (running(r)) {
			r->last_sec = guest_sec(r, NULL);
			store_time(r, r->last_sec);
		}
		return r->cmos[idx];
	case REG_A: {
		uint8_t v = r->cmos[REG_A] & 0x7f;
		uint64_t frac;
		guest_sec(r, &frac);
		if (running(r) && frac >= NS - UIP_NS)
			v |= A_UIP;
		return v;
	}
	case REG_C: {
		catch_up_seconds(r);
		catch_up_period(r);
		update_irq(r);
		uint8_t v = r->cmos[REG_C];
		r->cmos[REG_C] = 0; /* reading clears every flag */
		update_irq(r);
		return v;
	}
	case REG_D:
		return D_VRT; /* battery good */
	default:
		return r->cmos[idx & 0x7f];
	}
}

static void reg_write(struct rtc *r, int idx, uint8_t v)
{
	switch (idx) {
	case REG_A: {
		/* Stopping the divider (DV != 010) freezes the time like SET;
		 * restarting it runs on from the registers. */
		int was = running(r);
		if (was)
			store_time(r, guest_sec(r, NULL));
		r->cmos[REG_A] = v & 0x7f; /* UIP is read-only */
		if (!was && running(r)) {
			r->base_sec = load_time(r);
			r->base_ns = now_ns(r);
			r->last_sec = r->base_sec;
		}
		arm_timers(r);
		break;
	}
	case REG_B: {
		uint8_t old = r->cmos[REG_B];
		if (!(old & B_SET) && (v & B_SET) && running(r)) {
			/* freeze the registers at the current time */
			store_time(r, guest_sec(r, NULL));
		}
		if (v & B_SET)
			v &= (uint8_t)~B_UIE; /* SET clears UIE (datasheet) */
		if ((old ^ v) & (B_DM | B_24H)) {
			/* re-encode the registers in the new format */
			int64_t s = load_time(r);
			r->cmos[REG_B] = v;
			store_time(r, s);
		}
		r->cmos[REG_B] = v;
		if ((old & B_SET) && !(v & B_SET)) {
			/* the guest set the time: restart the second now */
			r->base_sec = load_time(r);
			r->base_ns = now_ns(r);
			r->last_sec = r->base_sec;
		}
		update_irq(r);
		arm_timers(r);
		break;
	}
	case REG_C:
	case REG_D:
		break; /* read-only */
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY:
	case REG_MONTH: case REG_YEAR: case REG_CENTURY:
		r->cmos[idx] = v;
		if (!(r->cmos[REG_B] & B_SET)) {
			/* a write while running takes effect immediately */
			r->base_sec = load_time(r);
			r->base_ns = now_ns(r);
			r->last_sec = r->base_sec;
		}
		break;
	default:
		r->cmos[idx & 0x7f] = v;
		break;
	}
}

static uint32_t rtc_read(void *opaque, uint32_t off, int size)
{
	struct rtc *r = opaque;
	if (off == 0)
		return 0xff; /* the index register is write-only */
	return reg_read(r, r->index);
}

static void rtc_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct rtc *r = opaque;
	if (off == 0) {
		r->index = v & 0x7f;
		r->nmi_masked = (v >> 7) & 1;
	} else {
		reg_write(r, r->index, (uint8_t)v);
	}
}

static const struct bus_ops rtc_ops = { rtc_read, rtc_write, 1, "rtc" };

uint8_t rtc_cmos_get(const struct rtc *r, int idx)
{
	return r->cmos[idx & 0x7f];
}

void rtc_cmos_set(struct rtc *r, int idx, uint8_t v)
{
	r->cmos[idx & 0x7f] = v;
}

void rtc_set_memory(struct rtc *r, uint64_t ram)
{
	/* Base memory in KiB (0x15/0x16), extended memory above 1 MiB in KiB
	 * (0x17/0x18, copied to 0x30/0x31, at most 0xffff), and memory above
	 * 16 MiB in 64 KiB units (0x34/0x35), as the IBM AT BIOS and its
	 * successors report them. */
	uint32_t base_kb = 640;
	uint64_t ext_kb = ram > (1u << 20) ? (ram - (1u << 20)) / 1024 : 0;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	uint64_t hi = ram > (16u << 20) ? (ram - (16u << 20)) / 65536 : 0;
	if (hi > 0xffff)
		hi = 0xffff;
	r->cmos[0x15] = (uint8_t)base_kb;
	r->cmos[0x16] = (uint8_t)(base_kb >> 8);
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext_kb;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext_kb >> 8);
	r->cmos[0x34] = (uint8_t)hi;
	r->cmos[0x35] = (uint8_t)(hi >> 8);
	/* Equipment byte: math coprocessor present, EGA/VGA display, no
	 * floppies. Then the AT checksum over 0x10-0x2d at 0x2e (high) and
	 * 0x2f (low). */
	r->cmos[0x14] = 0x02;
	unsigned sum = 0;
	for (int i = 0x10; i <= 0x2d; i++)
		sum += r->cmos[i];
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

void rtc_reset(struct rtc *r)
{
	/* Register B and C are partly cleared by RESET (datasheet, "RESET"):
	 * PIE, AIE, UIE and the flags. The time and CMOS bytes survive. */
	r->cmos[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE);
	r->cmos[REG_C] = 0;
	r->irq_level = 0;
	irq_set(&r->irq, 0);
	timer_del(r->clock, &r->periodic);
	timer_del(r->clock, &r->second);
}

int rtc_init(struct rtc *r, struct bus *pio, struct clock *clk, struct irq_line irq, int64_t start_unix)
{
	memset(r, 0, sizeof(*r));
	r->clock = clk;
	r->irq = irq;
	timer_init(&r->periodic, periodic_cb, r);
	timer_init(&r->second, second_cb, r);
	r->cmos[REG_A] = 0x26; /* 32.768 kHz divider, 1024 Hz rate */
	r->cmos[REG_B] = B_24H; /* BCD, 24-hour, as PC BIOSes leave it */
	r->cmos[REG_D] = D_VRT;
	r->base_sec = start_unix;
	r->base_ns = clock_now(clk);
	r->last_sec = start_unix;
	store_time(r, start_unix);
	return bus_add_pio(pio, 0x70, 2, &rtc_ops, r);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void rtc_dev_reset(void *dev)
{
	rtc_reset(dev);
}

static void rtc_dev_save(void *dev, struct snap_w *w)
{
	struct rtc *c = dev;
	snap_put(w, c, offsetof(struct rtc, clock));
	snap_u32(w, (uint32_t)c->irq_level);
	snap_timer(w, &c->periodic);
	snap_timer(w, &c->second);
}

static int rtc_dev_load(void *dev, struct snap_r *r)
{
	struct rtc *c = dev;
	snap_get(r, c, offsetof(struct rtc, clock));
	c->irq_level = (int)snap_get_u32(r);
	snap_get_timer(r, c->clock, &c->periodic);
	snap_get_timer(r, c->clock, &c->second);
	return 0;
}

const struct dev_ops rtc_dev_ops = { "rtc", rtc_dev_reset, rtc_dev_save, rtc_dev_load };
