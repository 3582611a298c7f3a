/* The ACPI fixed hardware of a PIIX4-style power-management block at a
 * fixed port base (QEMU's PIIX4 PM puts it at 0xB000): PM1a event block
 * (PM1_STS +0, PM1_EN +2), PM1a control block (PM1_CNT +4) and the PM
 * timer (+8, 3.579545 MHz, 24 bits) on the board's virtual clock. The SCI
 * line follows PM1_STS & PM1_EN. Writing SLP_EN with SLP_TYP 0 (the
 * PIIX4's soft-off encoding, which the DSDT's _S5 package names) powers
 * the machine off; other sleep types are refused with a message. No SMI
 * command port: the hardware is always in ACPI mode (SCI_EN reads 1). */
#ifndef RINGVM_ACPI_PM_H
#define RINGVM_ACPI_PM_H

#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "machine/bus.h"
#include "machine/clock.h"

#define ACPI_PM_BASE 0xb000u
#define ACPI_PM_EVT (ACPI_PM_BASE + 0)  /* PM1a_EVT_BLK, 4 bytes */
#define ACPI_PM_CNT (ACPI_PM_BASE + 4)  /* PM1a_CNT_BLK, 2 bytes */
#define ACPI_PM_TMR (ACPI_PM_BASE + 8)  /* PM_TMR_BLK, 4 bytes */
#define ACPI_PM_TIMER_HZ 3579545u
#define ACPI_SLP_TYP_S5 0u              /* PIIX4 PMCNTRL SUS_TYP: soft off */

/* PM1 status/enable bits (ACPI spec, "PM1 Event Grouping"). */
#define PM1_TMR 0x0001u
#define PM1_GBL 0x0020u
#define PM1_PWRBTN 0x0100u
#define PM1_SLPBTN 0x0200u
#define PM1_RTC 0x0400u
#define PM1_WAK_STS 0x8000u
#define PM1_CNT_SCI_EN 0x0001u
#define PM1_CNT_SLP_EN 0x2000u

struct acpi_pm {
	uint16_t sts, en, cnt;
	uint64_t tmr_seen_ns;   /* TMR_STS covers bit-23 toggles since this time */
	struct clock *clock;
	struct irq_line sci;
	int sci_level;
	struct timer tmr_timer; /* the next bit-23 toggle, while TMR_EN is set */
	const struct board_req *board;
	FILE *log;
	unsigned logged;
};

int acpi_pm_init(struct acpi_pm *pm, struct bus *pio, struct clock *clk, struct irq_line sci,
		 const struct board_req *board, FILE *log);
void acpi_pm_reset(struct acpi_pm *pm);
uint32_t acpi_pm_timer(struct acpi_pm *pm); /* the 24-bit PM timer now */
/* Press the power button: 0, or -1 if the guest has not enabled it. */
int acpi_pm_power_button(struct acpi_pm *pm);


extern const struct dev_ops acpi_pm_dev_ops; /* reset, save, load */

#endif
