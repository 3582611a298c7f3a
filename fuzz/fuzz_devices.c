/* libFuzzer target: random register reads and writes to every device of
 * the PC board through its port and MMIO buses, interleaved with clock
 * advances (timers fire), interrupt acknowledges and guest-memory
 * contents (what a DMA-capable device would read), on a board built by
 * pc_create as the CLI builds it. No guest code runs.
 *
 * Input: a sequence of 8-byte commands, docs/fuzzing.md. An address picks
 * a registered range by index (so every device is hit often) and an
 * offset inside it; a few commands use raw addresses, so unclaimed space
 * and range edges are covered too. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "machine/pc.h"

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static uint32_t pick(const struct bus *b, uint8_t idx, uint16_t off)
{
	if (b->n == 0)
		return off;
	const struct bus_range *r = &b->r[idx % b->n];
	return r->base + off % (r->len + 1); /* len itself: one past the end */
}

static void command(struct pc *pc, const uint8_t *c)
{
	static const int sizes[4] = {1, 2, 4, 1};
	int size = sizes[(c[0] >> 4) & 3];
	uint16_t off = (uint16_t)(c[2] | c[3] << 8);
	uint32_t val = le32(c + 4);
	switch (c[0] & 15) {
	case 0:
		bus_read(&pc->pio, pick(&pc->pio, c[1], off), size);
		break;
	case 1:
		bus_write(&pc->pio, pick(&pc->pio, c[1], off), size, val);
		break;
	case 2:
		bus_read(&pc->mmio, pick(&pc->mmio, c[1], off), size);
		break;
	case 3:
		bus_write(&pc->mmio, pick(&pc->mmio, c[1], off), size, val);
		break;
	case 4: /* raw port */
		bus_read(&pc->pio, off, size);
		break;
	case 5:
		bus_write(&pc->pio, off, size, val);
		break;
	case 6: /* raw MMIO address: anywhere in 4 GiB */
		bus_write(&pc->mmio, val, size, le32(c));
		break;
	case 7: /* time passes: up to ~4 s of virtual time */
		pc->vcpu[0].cpu.icount += (uint64_t)(val & 0xffffffu) << (c[1] & 7);
		clock_run_timers(&pc->clock);
		break;
	case 8: /* the CPU takes an interrupt */
		if (pc->vcpu[0].cpu.intr_line)
			pc_cb_intr_ack(pc);
		break;
	case 9: /* memory a device might read */
		if (pc->ram.size >= 8) {
			uint32_t at = (val % (uint32_t)pc->ram.size) & ~7u;
			memcpy(pc->ram.base + at, c, 8);
		}
		break;
	default:
		bus_read(&pc->mmio, val, size);
		break;
	}
}

/* One board for every input, its devices reset in between: building a
 * board (RAM, block cache) costs ~8 ms under ASan, a reset microseconds. */
static struct pc *board(void)
{
	static struct pc *pc;
	if (pc)
		return pc;
	struct pc_config cfg = {
		.ram_size = 2u << 20,
		.deterministic = true,
		.debugcon = fopen("/dev/null", "w"),
		.console_in = -1,
		.console_out = -1,
	};
	cfg.log = cfg.debugcon;
	char err[256];
	pc = pc_create(&cfg, err, sizeof(err));
	if (!pc) {
		fprintf(stderr, "pc_create: %s\n", err);
		__builtin_trap();
	}
	return pc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pc *pc = board();
	pc_reset_devices(pc);
	pc->vcpu[0].cpu.intr_line = 0;
	for (size_t i = 0; i + 8 <= len; i += 8)
		command(pc, data + i);
	return 0;
}
