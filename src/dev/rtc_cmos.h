/* MC146818 real-time clock and CMOS memory at 0x70 (index, bit 7 = NMI
 * mask) / 0x71 (data), periodic/alarm/update interrupts on IRQ8. The time
 * runs from the virtual clock, starting at the host's wall-clock time (or
 * at a fixed time when the board is deterministic). */
#ifndef RINGVM_RTC_CMOS_H
#define RINGVM_RTC_CMOS_H

#include <stdint.h>
#include <time.h>

#include "dev/dev.h"
#include "machine/bus.h"
#include "machine/clock.h"

struct rtc {
	uint8_t cmos[128];  /* registers 0x0a-0x0d live here too */
	uint8_t index;
	uint8_t nmi_masked; /* port 0x70 bit 7 */
	int64_t base_sec;   /* guest time (Unix seconds) at virtual time base_ns */
	uint64_t base_ns;
	int64_t last_sec;   /* last second the update/alarm logic saw */
	uint64_t last_period; /* periodic periods elapsed when PF was last set */
	struct clock *clock;
	struct irq_line irq;
	int irq_level;
	struct timer periodic, second;
};

int rtc_init(struct rtc *r, struct bus *pio, struct clock *clk, struct irq_line irq, int64_t start_unix);
void rtc_reset(struct rtc *r);
/* Fill the CMOS configuration: memory sizes (0x15-0x18, 0x30/0x31,
 * 0x34/0x35), equipment byte 0x14, checksum 0x2e/0x2f. */
void rtc_set_memory(struct rtc *r, uint64_t ram_bytes);
uint8_t rtc_cmos_get(const struct rtc *r, int idx);
void rtc_cmos_set(struct rtc *r, int idx, uint8_t v);


extern const struct dev_ops rtc_dev_ops; /* reset, save, load */

#endif
