/* The graceful shutdown paths a management tool presses (QMP
 * system_powerdown, ringvm-reboot): the ACPI power button sets PWRBTN_STS
 * and raises the SCI only once the guest enabled it (SCI_EN, PWRBTN_EN);
 * the keyboard controller queues Ctrl-Alt-Del only while the guest scans
 * the keyboard, and raises IRQ 1. */
#include <stdio.h>
#include <string.h>

#include "machine/pc.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

int main(void)
{
	struct pc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = 4u << 20;
	cfg.console_in = cfg.console_out = -1;
	char err[256];
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	CHECK(pc != NULL);
	if (!pc)
		return 1;
	struct acpi_pm *pm = &pc->acpi_pm;
	CHECK(acpi_pm_power_button(pm) < 0); /* no ACPI driver yet */
	CHECK(!(pm->sts & PM1_PWRBTN));
	pm->cnt |= PM1_CNT_SCI_EN;
	CHECK(acpi_pm_power_button(pm) < 0); /* SCI on, the button not enabled */
	pm->en |= PM1_PWRBTN;
	CHECK(acpi_pm_power_button(pm) == 0);
	CHECK(pm->sts & PM1_PWRBTN);
	CHECK(pm->sci_level == 1);

	static const uint8_t cad[] = { 0x1d, 0x38, 0x53, 0xd3, 0xb8, 0x9d };
	struct i8042 *k = &pc->kbd;
	k->kbd_enabled = 0;
	CHECK(i8042_keys(k, cad, 6) < 0);
	k->kbd_enabled = 1;
	int before = k->q_count;
	CHECK(i8042_keys(k, cad, 6) == 0);
	CHECK(k->q_count == before + 6);
	CHECK(k->q[k->q_head] == 0x1d);
	pc_destroy(pc);
	printf("%s: %d failures\n", __FILE__, fails);
	return fails != 0;
}
