/* virtio-rng (see virtio_rng.h). */
#include "dev/virtio_rng.h"

#include <errno.h>
#include <sys/random.h>

#define CHUNK 4096u

static void rng_notify(struct virtio_pci *v, int q)
{
	struct vq_chain c;
	bool any = false;
	while (q == 0 && virtio_pop(v, 0, &c) > 0) {
		uint8_t buf[CHUNK];
		uint64_t want = c.write_len < CHUNK ? c.write_len : CHUNK; /* the driver asks again */
		ssize_t n;
		do
			n = getrandom(buf, want, 0);
		while (n < 0 && errno == EINTR);
		uint32_t done = n > 0 ? (uint32_t)vq_write(&c, &v->mem, 0, buf, (uint64_t)n) : 0;
		virtio_push(v, 0, c.head, done);
		any = true;
	}
	if (any)
		virtio_notify(v, 0);
}

static const struct virtio_ops rng_ops = { NULL, NULL, rng_notify, NULL };

void vrng_init(struct vrng *r, const struct vq_mem *mem, FILE *log)
{
	virtio_pci_init(&r->vio, VIRTIO_ID_RNG, 1, 0, &rng_ops, r, "virtio-rng", mem, log);
}
