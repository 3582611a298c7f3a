/* The QEMU-style device options: -drive, -netdev, -nic, -device and
 * -chardev (the subset docs/virtio.md lists), gathered into the board's
 * struct vio_config. */
#ifndef RINGVM_DEVOPTS_H
#define RINGVM_DEVOPTS_H

#include <stddef.h>

#include "machine/pc_virtio.h"

#define DEVOPTS_MAX 8

struct devopts {
	struct vio_config cfg;
	/* Named things waiting for a -device that uses them. */
	struct { char id[32]; struct vio_drive d; int used; } drive[DEVOPTS_MAX];
	struct { char id[32]; struct vio_nic n; int used; } netdev[DEVOPTS_MAX];
	struct { char id[32]; char *path; int stdio; } chardev[DEVOPTS_MAX];
	int ndrive, nnetdev, nchardev;
	/* -device virtconsole's chardev and -device ...,netdev=/drive= ids,
	 * resolved by devopts_finish() (the order of options is free). */
	char con_chardev[32];
	char nic_ref[VIO_MAX_NICS][32];
	char blk_ref[VIO_MAX_DRIVES][32];
	int nnic_ref, nblk_ref;
	char *strings[64]; /* copies to free */
	int nstrings;
};

/* kind: "drive", "netdev", "nic", "device", "chardev". 0, or -1 with a
 * message in err. */
int devopts_add(struct devopts *o, const char *kind, const char *arg, char *err, size_t errlen);
/* Resolve references; 0, or -1 with a message. */
int devopts_finish(struct devopts *o, char *err, size_t errlen);
void devopts_free(struct devopts *o);

#endif
