/* I/O APIC (Intel 82093AA I/O Advanced Programmable Interrupt Controller
 * datasheet, "Register Description"). See ioapic.h. */
#include "dev/ioapic.h"
#include "machine/snap.h"

#include <stddef.h>

#include "dev/dev.h"

#include <string.h>

#define RE_VECTOR 0xffu
#define RE_MODE_SHIFT 8
#define RE_LOGICAL (1u << 11)
#define RE_POLARITY (1u << 13)
#define RE_REMOTE_IRR (1u << 14)
#define RE_LEVEL (1u << 15)
#define RE_MASKED (1u << 16)
/* Bits the guest can write: all but delivery status and remote IRR. */
#define RE_WRITABLE_LO (RE_VECTOR | 0x700u | RE_LOGICAL | RE_POLARITY | RE_LEVEL | RE_MASKED)

#define io_log(dev, ...) dev_logf((dev)->log, &(dev)->logged, "IOAPIC", __VA_ARGS__)

static int mode_of(uint64_t re) { return (int)((re >> RE_MODE_SHIFT) & 7); }

/* Fixed and lowest-priority entries are the ones EOI and remote IRR
 * apply to; NMI, SMI, INIT and ExtINT are edge-only (datasheet, "Trigger
 * Mode"). */
static bool is_level(uint64_t re)
{
	int m = mode_of(re);
	return (re & RE_LEVEL) && (m == 0 || m == 1);
}

static void send(struct ioapic *io, int pin)
{
	uint64_t re = io->redir[pin];
	int mode = mode_of(re);
	uint8_t vector = (uint8_t)(re & RE_VECTOR);
	if (mode == 3 || mode == 6) {
		io_log(io, "pin %d: reserved delivery mode %d, not delivered", pin, mode);
		return;
	}
	bool level = is_level(re);
	if (!io->board.deliver)
		return;
	bool taken = io->board.deliver(io->board.opaque, (uint8_t)(re >> 56), re & RE_LOGICAL, mode, vector, level);
	if (taken && level)
		io->redir[pin] |= RE_REMOTE_IRR;
}

/* A level entry asks while its pin is asserted and no EOI is owed. */
static void service_level(struct ioapic *io, int pin)
{
	uint64_t re = io->redir[pin];
	if (is_level(re) && !(re & (RE_MASKED | RE_REMOTE_IRR)) && (io->pins >> pin & 1))
		send(io, pin);
}

void ioapic_set_irq(void *opaque, int n, int level)
{
	struct ioapic *io = opaque;
	if (n < 0 || n >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << n;
	bool was = io->pins & bit;
	if (level)
		io->pins |= bit;
	else
		io->pins &= ~bit;
	uint64_t re = io->redir[n];
	if (re & RE_MASKED)
		return; /* edges on a masked pin are lost (datasheet, "Interrupt Mask") */
	if (is_level(re))
		service_level(io, n);
	else if (level && !was)
		send(io, n);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t re = io->redir[pin];
		if ((re & RE_REMOTE_IRR) && (uint8_t)(re & RE_VECTOR) == vector) {
			io->redir[pin] &= ~(uint64_t)RE_REMOTE_IRR;
			service_level(io, pin);
		}
	}
}

static void write_redir(struct ioapic *io, int pin, bool high, uint32_t v)
{
	uint64_t re = io->redir[pin];
	if (high) {
		re = (re & 0x00ffffffffffffffull) | ((uint64_t)(v & 0xff000000u) << 32);
	} else {
		re = (re & ~(uint64_t)RE_WRITABLE_LO) | (v & RE_WRITABLE_LO);
		if (!(re & RE_LEVEL))
			re &= ~(uint64_t)RE_REMOTE_IRR; /* remote IRR is undefined for edge entries */
		int mode = mode_of(re);
		uint8_t vec = (uint8_t)(re & RE_VECTOR);
		if (!(re & RE_MASKED) && (mode == 0 || mode == 1) && (vec < 0x10 || vec == 0xff))
			io_log(io, "pin %d: vector %#x is outside 0x10-0xfe; the local APIC will refuse it", pin, vec);
		if (!(re & RE_MASKED) && (mode == 3 || mode == 6))
			io_log(io, "pin %d: reserved delivery mode %d", pin, mode);
	}
	io->redir[pin] = re;
	if (!high)
		service_level(io, pin); /* unmasking an asserted level pin delivers it */
}

static uint32_t reg_read(struct ioapic *io)
{
	uint8_t r = io->sel;
	switch (r) {
	case 0x00: return (uint32_t)io->id << 24;
	case 0x01: return IOAPIC_VERSION | (uint32_t)(IOAPIC_PINS - 1) << 16;
	case 0x02: return (uint32_t)io->id << 24; /* arbitration ID follows the ID */
	default:
		if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t re = io->redir[(r - 0x10) / 2];
			return r & 1 ? (uint32_t)(re >> 32) : (uint32_t)re;
		}
		io_log(io, "read of register %#x, which does not exist", r);
		return 0;
	}
}

static void reg_write(struct ioapic *io, uint32_t v)
{
	uint8_t r = io->sel;
	if (r == 0x00) {
		io->id = (uint8_t)((v >> 24) & 0x0f);
	} else if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
		write_redir(io, (r - 0x10) / 2, r & 1, v);
	} else if (r != 0x01 && r != 0x02) {
		io_log(io, "write %#x to register %#x, which does not exist", v, r);
	}
}

static uint32_t mmio_read(void *opaque, uint32_t off, int size)
{
	struct ioapic *io = opaque;
	if (off == 0x00)
		return io->sel;
	if (off == 0x10 && size == 4)
		return reg_read(io);
	return 0;
}

static void mmio_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct ioapic *io = opaque;
	if (off == 0x00)
		io->sel = (uint8_t)v;
	else if (off == 0x10 && size == 4)
		reg_write(io, v);
	else
		io_log(io, "%d-byte write at offset %#x ignored", size, off);
}

static const struct bus_ops ioapic_ops = { mmio_read, mmio_write, 0, "ioapic" };

void ioapic_reset(struct ioapic *io)
{
	io->sel = 0;
	io->id = io->reset_id;
	for (int i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = RE_MASKED;
}

int ioapic_init(struct ioapic *io, struct bus *mmio, uint32_t base, uint8_t id, const struct ioapic_board *board,
		FILE *log)
{
	memset(io, 0, sizeof(*io));
	io->reset_id = id & 0x0f;
	io->board = *board;
	io->log = log;
	ioapic_reset(io);
	return bus_add_mmio(mmio, base, 0x1000, &ioapic_ops, io);
}

/* ---- the board's device table (dev/dev.h) ---- */

static void ioapic_dev_reset(void *dev)
{
	ioapic_reset(dev);
}

static void ioapic_dev_save(void *dev, struct snap_w *w)
{
	struct ioapic *io = dev;
	snap_put(w, io, offsetof(struct ioapic, board));
}

static int ioapic_dev_load(void *dev, struct snap_r *r)
{
	struct ioapic *io = dev;
	snap_get(r, io, offsetof(struct ioapic, board));
	return 0;
}

const struct dev_ops ioapic_dev_ops = { "ioapic", ioapic_dev_reset, ioapic_dev_save, ioapic_dev_load };
