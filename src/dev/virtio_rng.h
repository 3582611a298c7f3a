/* virtio-rng (OASIS virtio v1.0, 5.4): one queue whose device-writable
 * buffers are filled from the host's getrandom(). */
#ifndef RINGVM_VIRTIO_RNG_H
#define RINGVM_VIRTIO_RNG_H

#include "dev/virtio_pci.h"

struct vrng {
	struct virtio_pci vio;
};

void vrng_init(struct vrng *r, const struct vq_mem *mem, FILE *log);

#endif
