/* The 8254 programmable interval timer at 0x40-0x43 (1.193182 MHz), with
 * port 0x61 (channel 2 gate, speaker data, channel 2 output, refresh
 * toggle). Counters are computed from the virtual clock when read, not
 * ticked; channel 0's output drives IRQ0 through a timer at each edge. */
#ifndef RINGVM_PIT8254_H
#define RINGVM_PIT8254_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"
#include "machine/clock.h"

#define PIT_HZ 1193182u

struct pit_channel {
	uint32_t count;      /* reload value, 1..65536 (0 means 65536/10000) */
	uint64_t load_ns;    /* virtual time the count was loaded / gate rose */
	uint64_t frozen;     /* ticks elapsed when the gate stopped counting */
	uint8_t mode;        /* 0..5 */
	uint8_t rw;          /* 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd;
	uint8_t gate;
	uint8_t armed;       /* a count has been written since the mode */
	uint8_t write_hi;    /* next write is the MSB (rw == 3) */
	uint8_t write_lsb;   /* LSB written, waiting for MSB */
	uint8_t read_hi;     /* next unlatched read is the MSB (rw == 3) */
	uint8_t latched;     /* bytes of latched count left to read (0..2) */
	uint8_t latch_hi;    /* next latched byte is the MSB */
	uint16_t latch;
	uint8_t status_latched;
	uint8_t status;
	uint8_t out_level;   /* last level given to the IRQ line (ch 0) */
};

struct pit {
	struct pit_channel ch[3];
	struct clock *clock;
	struct irq_line irq0;
	struct timer timer;
	uint8_t port61;      /* bits 0 (gate 2) and 1 (speaker data) */
};

int pit_init(struct pit *p, struct bus *pio, struct clock *clk, struct irq_line irq0);
void pit_reset(struct pit *p);
/* Current counter value and output of channel ch (tests, debugging). */
uint16_t pit_counter(struct pit *p, int ch);
int pit_output(struct pit *p, int ch);


extern const struct dev_ops pit_dev_ops; /* reset, save, load */

#endif
