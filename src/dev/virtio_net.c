/* virtio-net (see virtio_net.h). */
#include "dev/virtio_net.h"

#include <stdlib.h>
#include <string.h>

#define F_MAC (1ull << 5)
#define HDR_LEN 12u /* struct virtio_net_hdr with num_buffers (5.1.6) */
#define Q_RX 0
#define Q_TX 1

/* Put one frame in the next receive buffer: false when there is none. */
static bool deliver(struct vnet *n, const uint8_t *frame, size_t len)
{
	struct virtio_pci *v = &n->vio;
	if (!vq_pending(&v->q[Q_RX], &v->mem) || !virtio_queue_ready(v, Q_RX))
		return false;
	struct vq_chain c;
	if (virtio_pop(v, Q_RX, &c) <= 0)
		return false;
	uint8_t hdr[HDR_LEN] = { 0 };
	hdr[10] = 1; /* num_buffers */
	uint64_t done = vq_write(&c, &v->mem, 0, hdr, HDR_LEN);
	if (done == HDR_LEN)
		done += vq_write(&c, &v->mem, HDR_LEN, frame, len);
	/* A buffer too small for the frame: the frame is dropped, as a NIC
	 * drops an oversized one, and the buffer returned. */
	virtio_push(v, Q_RX, c.head, done == HDR_LEN + len ? (uint32_t)done : 0);
	virtio_notify(v, Q_RX);
	return true;
}

static void flush_backlog(struct vnet *n)
{
	while (n->bl_n > 0 && deliver(n, n->backlog[n->bl_head], n->backlog_len[n->bl_head])) {
		free(n->backlog[n->bl_head]);
		n->backlog[n->bl_head] = NULL;
		n->bl_head = (n->bl_head + 1) % VNET_RX_BACKLOG;
		n->bl_n--;
	}
}

void vnet_receive(struct vnet *n, const uint8_t *frame, size_t len)
{
	flush_backlog(n);
	if (n->bl_n == 0 && deliver(n, frame, len))
		return;
	if (n->bl_n == VNET_RX_BACKLOG || !virtio_queue_ready(&n->vio, Q_RX))
		return; /* full, or no driver: dropped, as on a wire */
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, frame, len);
	int i = (n->bl_head + n->bl_n) % VNET_RX_BACKLOG;
	n->backlog[i] = copy;
	n->backlog_len[i] = len;
	n->bl_n++;
}

static void transmit(struct vnet *n)
{
	struct virtio_pci *v = &n->vio;
	struct vq_chain c;
	bool any = false;
	while (virtio_pop(v, Q_TX, &c) > 0) {
		uint64_t len = c.read_len > HDR_LEN ? c.read_len - HDR_LEN : 0;
		if (len > 0 && len <= VNET_MAX_FRAME) {
			vq_read(&c, &v->mem, HDR_LEN, n->frame, len);
			if (n->be.send)
				n->be.send(n->be.opaque, n->frame, (size_t)len);
		}
		virtio_push(v, Q_TX, c.head, 0);
		any = true;
	}
	if (any)
		virtio_notify(v, Q_TX);
}

static void net_notify(struct virtio_pci *v, int q)
{
	struct vnet *n = v->dev;
	if (q == Q_TX)
		transmit(n);
	else if (q == Q_RX)
		flush_backlog(n);
}

static void net_reset(struct virtio_pci *v)
{
	struct vnet *n = v->dev;
	while (n->bl_n > 0) {
		free(n->backlog[n->bl_head]);
		n->backlog[n->bl_head] = NULL;
		n->bl_head = (n->bl_head + 1) % VNET_RX_BACKLOG;
		n->bl_n--;
	}
}

static uint32_t net_cfg_read(struct virtio_pci *v, uint32_t off, int size)
{
	struct vnet *n = v->dev;
	uint32_t val = 0;
	for (int i = 0; i < size; i++)
		if (off + (uint32_t)i < 6)
			val |= (uint32_t)n->mac[off + (uint32_t)i] << (8 * i);
	return val;
}

static const struct virtio_ops net_ops = { net_cfg_read, NULL, net_notify, net_reset };

void vnet_init(struct vnet *n, const uint8_t mac[6], const struct vnet_backend *be, const struct vq_mem *mem,
	       FILE *log)
{
	memcpy(n->mac, mac, 6);
	n->be = *be;
	n->bl_head = n->bl_n = 0;
	virtio_pci_init(&n->vio, VIRTIO_ID_NET, 2, F_MAC, &net_ops, n, "virtio-net", mem, log);
}

void vnet_free(struct vnet *n)
{
	net_reset(&n->vio);
}
