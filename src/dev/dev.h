/* What every device gets from the board: IRQ lines and requests to the
 * machine (reset, power off, exit, A20). A device never knows which
 * interrupt controller or engine is behind these. */
#ifndef RINGVM_DEV_H
#define RINGVM_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* One interrupt request line. set(opaque, n, level) drives input n of
 * whatever controller the board wired it to. */
struct irq_line {
	void (*set)(void *opaque, int n, int level);
	void *opaque;
	int n;
};

static inline void irq_set(const struct irq_line *l, int level)
{
	if (l && l->set)
		l->set(l->opaque, l->n, level);
}

/* Requests a device makes to the machine. Any pointer may be NULL. */
struct board_req {
	void *opaque;
	void (*reset)(void *opaque);             /* system reset (warm boot) */
	void (*poweroff)(void *opaque);          /* ACPI/APM-style power off */
	void (*exit)(void *opaque, int status);  /* leave ringvm with status */
	void (*set_a20)(void *opaque, bool on);  /* A20 gate */
};

/* A device's window on guest RAM for DMA (fw_cfg, IDE bus mastering).
 * Each returns 0, or -1 when [pa, pa + len) is not all RAM (the transfer
 * then does not happen). The board's write keeps decoded code coherent. */
struct guest_dma {
	void *opaque;
	int (*read)(void *opaque, uint32_t pa, void *dst, uint32_t len);
	int (*write)(void *opaque, uint32_t pa, const void *src, uint32_t len);
};

/* A device as the board's table sees it (machine/devtab.h): reset at
 * power-on and reboot, save its whole state into a snapshot section and
 * load it back (machine/snap.h). A device without save/load (NULL) makes
 * a save refuse, naming it, rather than lose its state. load returns 0, or
 * -1 when the section does not fit this device. */
struct snap_w;
struct snap_r;
struct dev_ops {
	const char *name;
	void (*reset)(void *dev);
	void (*save)(void *dev, struct snap_w *w);
	int (*load)(void *dev, struct snap_r *r);
};

/* A device reports what a guest programmed wrong (a reserved delivery
 * mode, a register that does not exist) to log as "ringvm: WHO: ...", at
 * most 20 times per *count; log NULL: silent. */
void dev_logf(FILE *log, unsigned *count, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
