/* The split virtqueue of virtio 1.0 (OASIS virtio v1.0, 2.4), shared by
 * every virtio device. Nothing the guest wrote is trusted: the rings must
 * lie inside guest RAM, every descriptor index, length and address is
 * checked before use, a chain may not be longer than the queue (which
 * catches loops), and device-writable buffers must follow the readable
 * ones. Any violation makes vq_pop()/vq_push() return -1; the transport
 * then marks the device broken (DEVICE_NEEDS_RESET). Indirect descriptors
 * are not offered, so one is a violation too. */
#ifndef RINGVM_VIRTIO_QUEUE_H
#define RINGVM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_SIZE 256

/* Guest RAM as devices see it: [0, size) at host address base, less
 * [hole_lo, hole_hi) (the PC's VGA window and BIOS area, not DMA
 * targets). written() is told of every range a device stored into (code
 * caches drop what they decoded there). */
struct vq_mem {
	uint8_t *base;
	uint64_t size;
	uint64_t hole_lo, hole_hi;
	void (*written)(void *opaque, uint32_t pa, uint32_t len);
	void *opaque;
};

struct vq {
	uint16_t size;        /* entries (the driver may shrink it) */
	bool enabled;
	uint64_t desc, avail, used; /* guest-physical ring addresses */
	uint16_t last_avail;  /* next avail index to take */
	uint16_t used_idx;    /* next used index to fill */
};

/* One buffer of a chain, already checked to lie inside RAM. */
struct vq_buf {
	uint32_t addr, len;
	bool write;           /* device-writable */
};

struct vq_chain {
	uint16_t head;
	int n, nread;         /* buffers; how many readable ones come first */
	uint64_t read_len, write_len; /* bytes in the readable / writable part */
	struct vq_buf b[VQ_MAX_SIZE];
};

void vq_reset(struct vq *q);
/* The rings fit in RAM with their alignment (checked at queue enable). */
bool vq_rings_ok(const struct vq *q, const struct vq_mem *m);
/* Take the next chain: 1, 0 when the driver offered none, -1 broken. */
int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c);
/* Return a chain with len bytes written: 0, or -1 broken. */
int vq_push(struct vq *q, const struct vq_mem *m, uint16_t head, uint32_t len);
/* The driver wants an interrupt for what was just pushed. */
bool vq_want_irq(const struct vq *q, const struct vq_mem *m);
/* Buffers still offered and not taken (0 if the ring is unusable). */
int vq_pending(const struct vq *q, const struct vq_mem *m);

/* Copy between a chain's readable (vq_read) or writable (vq_write) part,
 * starting off bytes into that part, and host memory. Return the bytes
 * copied (short when the part ends). */
uint64_t vq_read(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, void *dst, uint64_t len);
uint64_t vq_write(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, const void *src, uint64_t len);
/* The host iovecs for len bytes of the readable/writable part from off
 * (for preadv/pwritev straight into guest RAM): the count, at most max. */
int vq_iov(const struct vq_chain *c, const struct vq_mem *m, bool write, uint64_t off, uint64_t len,
	   struct iovec *iov, int max);
/* Tell m's owner that bytes of the writable part were stored by other
 * means (a preadv into vq_iov's vectors). */
void vq_written(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, uint64_t len);

#endif
