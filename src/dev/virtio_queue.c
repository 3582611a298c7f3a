/* The split virtqueue (see virtio_queue.h; OASIS virtio v1.0, 2.4). */
#include "dev/virtio_queue.h"

#include <stddef.h>
#include <string.h>

#define DESC_NEXT 1
#define DESC_WRITE 2
#define DESC_INDIRECT 4
#define AVAIL_NO_INTERRUPT 1

static uint16_t ld16(const struct vq_mem *m, uint64_t pa)
{
	uint16_t v;
	memcpy(&v, m->base + pa, 2); /* x86 hosts and guests are little-endian */
	return v;
}

static void st(const struct vq_mem *m, uint64_t pa, const void *src, uint32_t len)
{
	memcpy(m->base + pa, src, len);
	if (m->written)
		m->written(m->opaque, (uint32_t)pa, len);
}

static bool in_ram(const struct vq_mem *m, uint64_t pa, uint64_t len)
{
	return pa <= m->size && len <= m->size - pa && (pa + len <= m->hole_lo || pa >= m->hole_hi);
}

void vq_reset(struct vq *q)
{
	memset(q, 0, sizeof(*q));
	q->size = VQ_MAX_SIZE;
}

/* 2.4: descriptor table 16-byte aligned, available ring 2, used ring 4;
 * sizes 16 * n, 6 + 2 * n and 6 + 8 * n. */
bool vq_rings_ok(const struct vq *q, const struct vq_mem *m)
{
	uint64_t n = q->size;
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return false;
	return !(q->desc & 15) && !(q->avail & 1) && !(q->used & 3) && in_ram(m, q->desc, 16 * n) &&
	       in_ram(m, q->avail, 6 + 2 * n) && in_ram(m, q->used, 6 + 8 * n);
}

int vq_pending(const struct vq *q, const struct vq_mem *m)
{
	if (!q->enabled || !vq_rings_ok(q, m))
		return 0;
	uint16_t n = (uint16_t)(ld16(m, q->avail + 2) - q->last_avail);
	return n <= q->size ? n : 0;
}

int vq_pop(struct vq *q, const struct vq_mem *m, struct vq_chain *c)
{
	if (!q->enabled)
		return 0;
	if (!vq_rings_ok(q, m))
		return -1;
	uint16_t pending = (uint16_t)(ld16(m, q->avail + 2) - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return -1; /* the driver claims more entries than the ring holds */
	uint16_t head = ld16(m, q->avail + 4 + 2 * (uint64_t)(q->last_avail % q->size));
	q->last_avail++;
	if (head >= q->size)
		return -1;
	memset(c, 0, offsetof(struct vq_chain, b));
	c->head = head;
	for (uint16_t i = head;;) {
		/* More descriptors than the table has: the chain loops. */
		if (c->n >= q->size)
			return -1;
		uint8_t d[16];
		memcpy(d, m->base + q->desc + 16 * (uint64_t)i, 16);
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		memcpy(&addr, d, 8);
		memcpy(&len, d + 8, 4);
		memcpy(&flags, d + 12, 2);
		memcpy(&next, d + 14, 2);
		if ((flags & DESC_INDIRECT) || !in_ram(m, addr, len))
			return -1;
		bool w = flags & DESC_WRITE;
		if (!w && c->n > c->nread)
			return -1; /* 2.4.4.2: readable after writable */
		c->b[c->n++] = (struct vq_buf){ (uint32_t)addr, len, w };
		if (w) {
			c->write_len += len;
		} else {
			c->nread++;
			c->read_len += len;
		}
		if (!(flags & DESC_NEXT))
			break;
		if (next >= q->size)
			return -1;
		i = next;
	}
	return 1;
}

int vq_push(struct vq *q, const struct vq_mem *m, uint16_t head, uint32_t len)
{
	if (!vq_rings_ok(q, m))
		return -1;
	uint32_t elem[2] = { head, len };
	st(m, q->used + 4 + 8 * (uint64_t)(q->used_idx % q->size), elem, 8);
	q->used_idx++;
	st(m, q->used + 2, &q->used_idx, 2);
	return 0;
}

bool vq_want_irq(const struct vq *q, const struct vq_mem *m)
{
	if (!vq_rings_ok(q, m))
		return true;
	return !(ld16(m, q->avail) & AVAIL_NO_INTERRUPT);
}

/* Walk the readable or writable part from off: call fn on each piece. */
static uint64_t walk(const struct vq_chain *c, bool write, uint64_t off, uint64_t len,
		     void (*fn)(void *ctx, uint32_t pa, uint32_t n, uint64_t done), void *ctx)
{
	uint64_t done = 0;
	int first = write ? c->nread : 0, end = write ? c->n : c->nread;
	for (int i = first; i < end && done < len; i++) {
		const struct vq_buf *b = &c->b[i];
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		uint64_t n = b->len - off;
		if (n > len - done)
			n = len - done;
		fn(ctx, b->addr + (uint32_t)off, (uint32_t)n, done);
		done += n;
		off = 0;
	}
	return done;
}

struct copy_ctx {
	const struct vq_mem *m;
	uint8_t *host;
	struct iovec *iov;
	int n, max;
};

static void copy_out(void *p, uint32_t pa, uint32_t n, uint64_t done)
{
	struct copy_ctx *x = p;
	memcpy(x->host + done, x->m->base + pa, n);
}

static void copy_in(void *p, uint32_t pa, uint32_t n, uint64_t done)
{
	struct copy_ctx *x = p;
	st(x->m, pa, x->host + done, n);
}

static void add_iov(void *p, uint32_t pa, uint32_t n, uint64_t done)
{
	struct copy_ctx *x = p;
	(void)done;
	if (x->n < x->max)
		x->iov[x->n] = (struct iovec){ x->m->base + pa, n };
	x->n++;
}

static void note_written(void *p, uint32_t pa, uint32_t n, uint64_t done)
{
	struct copy_ctx *x = p;
	(void)done;
	if (x->m->written)
		x->m->written(x->m->opaque, pa, n);
}

uint64_t vq_read(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, void *dst, uint64_t len)
{
	struct copy_ctx x = { m, dst, NULL, 0, 0 };
	return walk(c, false, off, len, copy_out, &x);
}

uint64_t vq_write(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, const void *src, uint64_t len)
{
	struct copy_ctx x = { m, (uint8_t *)src, NULL, 0, 0 };
	return walk(c, true, off, len, copy_in, &x);
}

int vq_iov(const struct vq_chain *c, const struct vq_mem *m, bool write, uint64_t off, uint64_t len,
	   struct iovec *iov, int max)
{
	struct copy_ctx x = { m, NULL, iov, 0, max };
	walk(c, write, off, len, add_iov, &x);
	return x.n <= max ? x.n : max;
}

void vq_written(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, uint64_t len)
{
	struct copy_ctx x = { m, NULL, NULL, 0, 0 };
	walk(c, true, off, len, note_written, &x);
}
