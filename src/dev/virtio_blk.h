/* virtio-blk (OASIS virtio v1.0, 5.2) on a raw image file: reads and
 * writes of whole 512-byte sectors anywhere inside the image, flush
 * (fdatasync before the request completes), discard (hole punching,
 * advisory), GET_ID; a read-only drive offers VIRTIO_BLK_F_RO and fails
 * writes, flushes of nothing and discards with VIRTIO_BLK_S_IOERR. The
 * image's size fixes the capacity (a tail short of 512 bytes is not
 * reachable). */
#ifndef RINGVM_VIRTIO_BLK_H
#define RINGVM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/virtio_pci.h"

enum vblk_cache { VBLK_WRITEBACK, VBLK_WRITETHROUGH, VBLK_UNSAFE };

struct vblk {
	struct virtio_pci vio;
	int fd;
	bool readonly;
	enum vblk_cache cache;
	uint64_t sectors;
	char serial[20];
};

/* Open path (O_RDONLY when readonly). 0, or -1 with a message. */
int vblk_init(struct vblk *b, const char *path, bool readonly, enum vblk_cache cache, const struct vq_mem *mem,
	      FILE *log, char *err, size_t errlen);
void vblk_free(struct vblk *b);

#endif
