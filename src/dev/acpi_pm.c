/* ACPI PM1 registers and PM timer (ACPI spec, "ACPI Hardware
 * Specification": PM1 event and control registers, power management
 * timer; Intel 82371AB PIIX4 datasheet, PMCNTRL SUS_TYP). See acpi_pm.h. */
#include "dev/acpi_pm.h"
#include "machine/snap.h"

#include <stddef.h>

#include <string.h>

#define TMR_BIT23 (1u << 23)
#define STS_W1C (PM1_TMR | 0x0010u | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC | PM1_WAK_STS)
#define EN_MASK (PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_SLPBTN | PM1_RTC)

static uint64_t ticks_at(uint64_t ns)
{
	return ns / 1000000000u * ACPI_PM_TIMER_HZ + ns % 1000000000u * ACPI_PM_TIMER_HZ / 1000000000u;
}

/* The first virtual ns at which the tick count reaches t. */
static uint64_t ns_at(uint64_t t)
{
	uint64_t ns = t / ACPI_PM_TIMER_HZ * 1000000000u +
		      (t % ACPI_PM_TIMER_HZ * 1000000000u + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
	while (ns && ticks_at(ns - 1) >= t)
		ns--;
	while (ticks_at(ns) < t)
		ns++;
	return ns;
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
	return (uint32_t)(ticks_at(clock_now(pm->clock)) & 0xffffff);
}

/* TMR_STS is set at every toggle of the timer's bit 23 (ACPI, "PM1
 * Status Registers"): fold the toggles seen since the last look. */
static void fold_tmr(struct acpi_pm *pm)
{
	uint64_t now = clock_now(pm->clock);
	if ((ticks_at(now) >> 23) != (ticks_at(pm->tmr_seen_ns) >> 23))
		pm->sts |= PM1_TMR;
	pm->tmr_seen_ns = now;
}

static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en & EN_MASK) != 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_set(&pm->sci, level);
	}
	if ((pm->en & PM1_TMR) && !(pm->sts & PM1_TMR)) {
		uint64_t next = ((ticks_at(clock_now(pm->clock)) >> 23) + 1) << 23;
		timer_mod(pm->clock, &pm->tmr_timer, ns_at(next));
	} else {
		timer_del(pm->clock, &pm->tmr_timer);
	}
}

static void tmr_due(void *opaque)
{
	struct acpi_pm *pm = opaque;
	fold_tmr(pm);
	update_sci(pm);
}

static void write_cnt(struct acpi_pm *pm, uint16_t v)
{
	/* SCI_EN is hardwired (no SMI_CMD, always ACPI mode); GBL_RLS and
	 * SLP_EN are write-only. */
	pm->cnt = (uint16_t)((v & 0x1c02u) | PM1_CNT_SCI_EN);
	if (!(v & PM1_CNT_SLP_EN))
		return;
	unsigned typ = (v >> 10) & 7;
	if (typ == ACPI_SLP_TYP_S5) {
		if (pm->board && pm->board->poweroff)
			pm->board->poweroff(pm->board->opaque);
	} else {
		dev_logf(pm->log, &pm->logged, "ACPI", "sleep type %u is not supported (only S5, type %u), ignored", typ,
			 ACPI_SLP_TYP_S5);
	}
}

/* One 16-bit register, or one byte of it (mask 0xff or 0xff00). */
static void write16(struct acpi_pm *pm, uint32_t reg, uint16_t v, uint16_t mask)
{
	switch (reg) {
	case 0: /* PM1_STS: write one to clear */
		fold_tmr(pm);
		pm->sts &= (uint16_t)~(v & mask & STS_W1C);
		break;
	case 2: pm->en = (uint16_t)((pm->en & ~mask) | (v & mask & EN_MASK)); break;
	case 4: write_cnt(pm, (uint16_t)((pm->cnt & ~mask) | (v & mask))); break;
	default: break;
	}
	update_sci(pm);
}

static uint16_t read16(struct acpi_pm *pm, uint32_t reg)
{
	switch (reg) {
	case 0: fold_tmr(pm); return pm->sts;
	case 2: return pm->en;
	case 4: return pm->cnt;
	default: return 0;
	}
}

static uint32_t pm_read(void *opaque, uint32_t off, int size)
{
	struct acpi_pm *pm = opaque;
	if (off >= 8) /* PM_TMR: read-only, 32-bit (upper byte zero) */
		return acpi_pm_timer(pm) >> (8 * (off - 8));
	(void)size; /* the bus masks the value to the access size */
	uint32_t v = read16(pm, off & ~1u) | (uint32_t)read16(pm, (off & ~1u) + 2) << 16;
	return v >> (8 * (off & 1));
}

static void pm_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct acpi_pm *pm = opaque;
	if (off >= 8)
		return;
	if (size == 1) {
		unsigned sh = 8 * (off & 1);
		write16(pm, off & ~1u, (uint16_t)(v << sh), (uint16_t)(0xffu << sh));
		return;
	}
	write16(pm, off & ~1u, (uint16_t)v, 0xffff);
	if (size == 4)
		write16(pm, (off & ~1u) + 2, (uint16_t)(v >> 16), 0xffff);
}

static const struct bus_ops pm_ops = { pm_read, pm_write, 0, "acpi-pm" };

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->sts = 0;
	pm->en = 0;
	pm->cnt = PM1_CNT_SCI_EN;
	pm->tmr_seen_ns = clock_now(pm->clock);
	update_sci(pm);
}

int acpi_pm_init(struct acpi_pm *pm, struct bus *pio, struct clock *clk, struct irq_line sci,
		 const struct board_req *board, FILE *log)
{
	memset(pm, 0, sizeof(*pm));
	pm->clock = clk;
	pm->sci = sci;
	pm->board = board;
	pm->log = log;
	timer_init(&pm->tmr_timer, tmr_due, pm);
	acpi_pm_reset(pm);
	return bus_add_pio(pio, ACPI_PM_BASE, 12, &pm_ops, pm);
}

/* The power button (a management tool's graceful shutdown): PWRBTN_STS
 * and, if the guest's ACPI driver enabled it, an SCI. */
int acpi_pm_power_button(struct acpi_pm *pm)
{
	if (!(pm->cnt & PM1_CNT_SCI_EN) || !(pm->en & PM1_PWRBTN))
		return -1;
	pm->sts |= PM1_PWRBTN;
	update_sci(pm);
	return 0;
}

/* ---- the board's device table (dev/dev.h) ---- */

static void acpi_pm_dev_reset(void *dev)
{
	acpi_pm_reset(dev);
}

static void acpi_pm_dev_save(void *dev, struct snap_w *w)
{
	struct acpi_pm *pm = dev;
	snap_put(w, pm, offsetof(struct acpi_pm, clock));
	snap_u32(w, (uint32_t)pm->sci_level);
	snap_timer(w, &pm->tmr_timer);
}

static int acpi_pm_dev_load(void *dev, struct snap_r *r)
{
	struct acpi_pm *pm = dev;
	snap_get(r, pm, offsetof(struct acpi_pm, clock));
	pm->sci_level = (int)snap_get_u32(r);
	snap_get_timer(r, pm->clock, &pm->tmr_timer);
	return 0;
}

const struct dev_ops acpi_pm_dev_ops = { "acpi_pm", acpi_pm_dev_reset, acpi_pm_dev_save, acpi_pm_dev_load };
