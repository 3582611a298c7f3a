/* The device table and the snapshot file (machine/devtab.h, pc_snap.h):
 * a board saved and loaded into a fresh board gives back every device's
 * state; a device without save/load makes the save refuse, naming it,
 * and leave no file; a snapshot with a device this board lacks, or a
 * section of the wrong size, is refused naming the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine/pc.h"
#include "machine/pc_snap.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static struct pc *board(void)
{
	struct pc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = 4u << 20;
	cfg.console_in = cfg.console_out = -1;
	char err[256];
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	if (!pc)
		printf("pc_create: %s\n", err);
	return pc;
}

struct fake { int x; };
static const struct dev_ops fake_unsaveable = { "fake", NULL, NULL, NULL };
static void fake_save(void *d, struct snap_w *w) { snap_u32(w, (uint32_t)((struct fake *)d)->x); }
static int fake_load(void *d, struct snap_r *r) { ((struct fake *)d)->x = (int)snap_get_u32(r); return 0; }
static const struct dev_ops fake_ops = { "fake", NULL, fake_save, fake_load };
static void fake_save2(void *d, struct snap_w *w) { snap_u64(w, 7); }
static const struct dev_ops fake_wide = { "fake", NULL, fake_save2, fake_load };

static void power_buttons(void)
{
	struct pc *pc = board();
	CHECK(pc != NULL);
	if (!pc)
		return;
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
}

int main(void)
{
	char path[] = "/tmp/ringvm-test-snap-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	struct snap_config sc;
	memset(&sc, 0, sizeof(sc));
	sc.ram_size = 4u << 20;
	snprintf(sc.name, sizeof(sc.name), "t");
	char err[256];

	/* Round trip: guest-visible state set on one board comes back on
	 * another. */
	struct pc *a = board(), *b = board();
	CHECK(a && b);
	a->rtc.cmos[0x40] = 0x5a;
	a->pit.ch[0].count = 1234;
	a->pic.chip[0].imr = 0xa5;
	a->ioapic.redir[3] = 0x1234567;
	a->kbd.cmd_byte = 0x47;
	a->vcpu[0].cpu.r[R_EBX] = 0xdeadbeef;
	a->vcpu[0].cpu.cr0 |= CR0_PE;
	a->ram.base[0x12345] = 0x77;
	CHECK(pc_save(a, &sc, path, err, sizeof(err)) == 0);
	CHECK(pc_restore(b, path, err, sizeof(err)) == 0);
	CHECK(b->rtc.cmos[0x40] == 0x5a);
	CHECK(b->pit.ch[0].count == 1234);
	CHECK(b->pic.chip[0].imr == 0xa5);
	CHECK(b->ioapic.redir[3] == 0x1234567);
	CHECK(b->kbd.cmd_byte == 0x47);
	CHECK(b->vcpu[0].cpu.r[R_EBX] == 0xdeadbeef);
	CHECK(b->vcpu[0].cpu.pmode == 1);
	CHECK(b->ram.base[0x12345] == 0x77);
	struct snap_config back;
	CHECK(pc_snap_read_config(path, &back, err, sizeof(err)) == 0);
	CHECK(!strcmp(back.name, "t") && back.ram_size == 4u << 20);

	/* A snapshot with a device b does not have. */
	struct fake f = { 42 };
	CHECK(devtab_add(&a->devs, &fake_ops, &f) == 0);
	CHECK(devtab_add(&a->devs, &fake_ops, &f) < 0); /* names are unique */
	CHECK(pc_save(a, &sc, path, err, sizeof(err)) == 0);
	CHECK(pc_restore(b, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "device 'fake'") != NULL);
	/* A section of the wrong size for the device. */
	struct pc *c = board();
	struct fake g = { 0 };
	CHECK(c && devtab_add(&c->devs, &fake_wide, &g) == 0);
	CHECK(pc_save(c, &sc, path, err, sizeof(err)) == 0);
	CHECK(pc_restore(a, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "device fake") != NULL);
	unlink(path);

	/* A snapshot without a device the board has. */
	struct pc *e = board(), *plain = board();
	struct fake h = { 0 };
	CHECK(e && plain && devtab_add(&e->devs, &fake_ops, &h) == 0);
	CHECK(pc_save(plain, &sc, path, err, sizeof(err)) == 0);
	CHECK(pc_restore(e, path, err, sizeof(err)) < 0);
	CHECK(strstr(err, "no section for device fake") != NULL);
	pc_destroy(e);
	pc_destroy(plain);
	unlink(path);

	/* A device that cannot be saved: refused by name, no file. */
	struct pc *d = board();
	CHECK(d && devtab_add(&d->devs, &fake_unsaveable, &f) == 0);
	CHECK(pc_save(d, &sc, path, err, sizeof(err)) < 0);
	CHECK(!strcmp(err, "device fake cannot be saved yet"));
	CHECK(access(path, F_OK) < 0);

	pc_destroy(a);
	pc_destroy(b);
	pc_destroy(c);
	pc_destroy(d);
	power_buttons();
	printf("%s: %d failures\n", __FILE__, fails);
	return fails != 0;
}
