/* The virtio 1.0 PCI transport (see virtio_pci.h; OASIS virtio v1.0,
 * 4.1.4: the capabilities, 4.1.4.3: the common configuration). */
#include "dev/virtio_pci.h"

#include <string.h>

#include "dev/dev.h"

/* Where the structures sit in BAR 0. */
#define OFF_COMMON 0x0000u
#define OFF_ISR 0x1000u
#define OFF_DEVICE 0x2000u
#define OFF_NOTIFY 0x3000u
#define COMMON_LEN 0x38u
#define DEVICE_LEN 0x100u
#define NOTIFY_MULT 4u

#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

#define CAP_MSIX_AT 0x84u /* after the notify capability (20 bytes at 0x70) */
#define MSIX_BAR 1

#define ISR_QUEUE 1
#define ISR_CONFIG 2
#define NO_VECTOR 0xffffu

static void put(uint8_t *b, unsigned off, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		b[off + (unsigned)i] = (uint8_t)(v >> (8 * i));
}

/* A virtio_pci_cap (4.1.4) at config offset at, pointing to next. */
static void add_cap(uint8_t *cfg, unsigned at, unsigned next, int type, uint32_t off, uint32_t len)
{
	cfg[at] = 0x09; /* vendor specific */
	cfg[at + 1] = (uint8_t)next;
	cfg[at + 2] = type == CAP_NOTIFY ? 20 : 16;
	cfg[at + 3] = (uint8_t)type;
	cfg[at + 4] = 0; /* BAR 0 */
	put(cfg, at + 8, off, 4);
	put(cfg, at + 12, len, 4);
	if (type == CAP_NOTIFY)
		put(cfg, at + 16, NOTIFY_MULT, 4);
}

/* 4.1.4.5.1: INTx follows the ISR only while MSI-X is disabled. */
static void set_irq(struct virtio_pci *v)
{
	pci_set_irq(&v->pci, v->isr != 0 && !pci_msix_enabled(&v->msix));
}

static void reset_vectors(struct virtio_pci *v)
{
	v->config_vector = NO_VECTOR;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		v->queue_vector[i] = NO_VECTOR;
}

static void device_reset(struct virtio_pci *v)
{
	v->guest_features = 0;
	v->dfselect = v->gfselect = 0;
	v->status = 0;
	v->isr = 0;
	v->qselect = 0;
	reset_vectors(v);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vq_reset(&v->q[i]);
	if (v->ops->reset)
		v->ops->reset(v);
	set_irq(v);
}

void virtio_pci_reset(struct virtio_pci *v)
{
	v->generation = 0;
	pci_msix_reset(&v->msix);
	device_reset(v);
}

void virtio_broken(struct virtio_pci *v, const char *why)
{
	if (v->status & VIRTIO_S_NEEDS_RESET)
		return;
	dev_logf(v->log, &v->log_count, v->name, "%s: device needs reset", why);
	v->status |= VIRTIO_S_NEEDS_RESET;
	v->isr |= ISR_CONFIG; /* set with MSI-X too (4.1.4.5.1) */
	set_irq(v);
	if (pci_msix_enabled(&v->msix))
		pci_msix_notify(&v->msix, v->config_vector);
}

bool virtio_queue_ready(const struct virtio_pci *v, int q)
{
	return q >= 0 && q < v->nq && v->q[q].enabled && (v->status & VIRTIO_S_DRIVER_OK) &&
	       !(v->status & VIRTIO_S_NEEDS_RESET);
}

int virtio_pop(struct virtio_pci *v, int q, struct vq_chain *c)
{
	if (!virtio_queue_ready(v, q))
		return 0;
	int r = vq_pop(&v->q[q], &v->mem, c);
	if (r < 0) {
		virtio_broken(v, "bad descriptor chain or ring");
		return 0;
	}
	return r;
}

void virtio_push(struct virtio_pci *v, int q, uint16_t head, uint32_t len)
{
	if (vq_push(&v->q[q], &v->mem, head, len) < 0)
		virtio_broken(v, "used ring outside RAM");
}

void virtio_notify(struct virtio_pci *v, int q)
{
	if (!virtio_queue_ready(v, q) || !vq_want_irq(&v->q[q], &v->mem))
		return;
	if (pci_msix_enabled(&v->msix)) {
		pci_msix_notify(&v->msix, v->queue_vector[q]);
		return;
	}
	v->isr |= ISR_QUEUE;
	set_irq(v);
}

/* ---- common configuration ---- */

static void common_image(const struct virtio_pci *v, uint8_t *b)
{
	memset(b, 0, COMMON_LEN);
	const struct vq *q = v->qselect < v->nq ? &v->q[v->qselect] : NULL;
	put(b, 0x00, v->dfselect, 4);
	put(b, 0x04, v->dfselect < 2 ? (uint32_t)(v->host_features >> (32 * v->dfselect)) : 0, 4);
	put(b, 0x08, v->gfselect, 4);
	put(b, 0x0c, v->gfselect < 2 ? (uint32_t)(v->guest_features >> (32 * v->gfselect)) : 0, 4);
	put(b, 0x10, v->config_vector, 2);
	put(b, 0x12, (uint32_t)v->nq, 2);
	b[0x14] = v->status;
	b[0x15] = v->generation;
	put(b, 0x16, v->qselect, 2);
	put(b, 0x18, q ? q->size : 0, 2);
	put(b, 0x1a, q ? v->queue_vector[v->qselect] : NO_VECTOR, 2);
	put(b, 0x1c, q ? q->enabled : 0, 2);
	put(b, 0x1e, v->qselect, 2); /* queue_notify_off: queue n at n * NOTIFY_MULT */
	if (q) {
		put(b, 0x20, (uint32_t)q->desc, 4);
		put(b, 0x24, (uint32_t)(q->desc >> 32), 4);
		put(b, 0x28, (uint32_t)q->avail, 4);
		put(b, 0x2c, (uint32_t)(q->avail >> 32), 4);
		put(b, 0x30, (uint32_t)q->used, 4);
		put(b, 0x34, (uint32_t)(q->used >> 32), 4);
	}
}

static void set_half(uint64_t *a, bool high, uint32_t val)
{
	if (high)
		*a = (*a & 0xffffffffu) | (uint64_t)val << 32;
	else
		*a = (*a & ~0xffffffffull) | val;
}

static void write_status(struct virtio_pci *v, uint8_t val)
{
	if (val == 0) {
		device_reset(v);
		return;
	}
	/* 2.2.2: FEATURES_OK only for a subset of what was offered, and
	 * this transport needs VERSION_1. */
	if ((val & VIRTIO_S_FEATURES_OK) && !(v->status & VIRTIO_S_FEATURES_OK) &&
	    ((v->guest_features & ~v->host_features) || !(v->guest_features & VIRTIO_F_VERSION_1)))
		val &= (uint8_t)~VIRTIO_S_FEATURES_OK;
	v->status = (uint8_t)((val & ~VIRTIO_S_NEEDS_RESET) | (v->status & VIRTIO_S_NEEDS_RESET));
}

/* 4.1.5.1.2: a vector the table does not have reads back as none, which
 * is how the driver learns the mapping failed. */
static uint16_t vector(const struct virtio_pci *v, uint32_t val)
{
	return (uint16_t)(val < (uint32_t)v->msix.nvec ? val : NO_VECTOR);
}

static void common_write(struct virtio_pci *v, uint32_t off, int size, uint32_t val)
{
	struct vq *q = v->qselect < v->nq ? &v->q[v->qselect] : NULL;
	bool q_open = q && !q->enabled; /* queue fields change only before enable */
	switch (off) {
	case 0x00: v->dfselect = val; break;
	case 0x08: v->gfselect = val; break;
	case 0x0c:
		if (v->gfselect < 2 && !(v->status & VIRTIO_S_FEATURES_OK))
			set_half(&v->guest_features, v->gfselect == 1, val);
		break;
	case 0x10: v->config_vector = vector(v, val); break;
	case 0x14: write_status(v, (uint8_t)val); break;
	case 0x16: v->qselect = (uint16_t)val; break;
	case 0x18:
		if (q_open)
			q->size = (uint16_t)val;
		break;
	case 0x1a:
		if (q)
			v->queue_vector[v->qselect] = vector(v, val);
		break;
	case 0x1c:
		if (!q || !(val & 1) || q->enabled)
			break; /* 4.1.4.3.2: the driver never writes 0 */
		if (!vq_rings_ok(q, &v->mem)) {
			virtio_broken(v, "queue size or rings outside RAM");
			break;
		}
		q->enabled = true;
		break;
	case 0x20: case 0x24: if (q_open) set_half(&q->desc, off & 4, val); break;
	case 0x28: case 0x2c: if (q_open) set_half(&q->avail, off & 4, val); break;
	case 0x30: case 0x34: if (q_open) set_half(&q->used, off & 4, val); break;
	default: break; /* read-only fields */
	}
	(void)size;
}

/* ---- the BAR ---- */

static uint32_t bar_read(void *opaque, uint32_t off, int size)
{
	struct virtio_pci *v = opaque;
	if (off < OFF_COMMON + COMMON_LEN) {
		uint8_t b[COMMON_LEN + 4];
		common_image(v, b);
		uint32_t val = 0;
		for (int i = 0; i < size; i++)
			val |= (uint32_t)(off + (uint32_t)i < COMMON_LEN ? b[off + (uint32_t)i] : 0) << (8 * i);
		return val;
	}
	if (off >= OFF_ISR && off < OFF_ISR + 4) {
		uint32_t val = off == OFF_ISR ? v->isr : 0;
		v->isr = 0; /* 4.1.4.5: reading clears it and the interrupt */
		set_irq(v);
		return val;
	}
	if (off >= OFF_DEVICE && off < OFF_DEVICE + DEVICE_LEN)
		return v->ops->cfg_read ? v->ops->cfg_read(v, off - OFF_DEVICE, size) : 0;
	return 0;
}

static void bar_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	struct virtio_pci *v = opaque;
	if (off < OFF_COMMON + COMMON_LEN) {
		common_write(v, off, size, val);
	} else if (off >= OFF_DEVICE && off < OFF_DEVICE + DEVICE_LEN) {
		if (v->ops->cfg_write)
			v->ops->cfg_write(v, off - OFF_DEVICE, size, val);
	} else if (off >= OFF_NOTIFY && off < OFF_NOTIFY + NOTIFY_MULT * (uint32_t)v->nq) {
		int q = (int)((off - OFF_NOTIFY) / NOTIFY_MULT);
		if (virtio_queue_ready(v, q) && v->ops->notify)
			v->ops->notify(v, q);
	}
}

static const struct bus_ops bar_ops = { bar_read, bar_write, 0, "virtio-pci" };

static uint32_t msix_read(void *opaque, uint32_t off, int size)
{
	struct virtio_pci *v = opaque;
	return pci_msix_bar_read(&v->msix, off, size);
}

static void msix_write(void *opaque, uint32_t off, int size, uint32_t val)
{
	struct virtio_pci *v = opaque;
	pci_msix_bar_write(&v->msix, off, size, val);
}

static const struct bus_ops msix_ops = { msix_read, msix_write, 0, "virtio-msix" };

/* MSI-X enabled or disabled: the INTx line follows. */
static void cap_write(void *opaque, unsigned reg, int size, uint32_t val)
{
	struct virtio_pci *v = opaque;
	pci_msix_cfg_write(&v->msix, reg, size, val);
	set_irq(v);
}

void virtio_pci_init(struct virtio_pci *v, int id, int nq, uint64_t features, const struct virtio_ops *ops,
		     void *dev, const char *name, const struct vq_mem *mem, FILE *log)
{
	/* Class codes as QEMU gives them: storage/SCSI-less "other mass
	 * storage" for blk, ethernet, "other communications", "other". */
	static const uint32_t class_of[] = { [VIRTIO_ID_NET] = 0x020000, [VIRTIO_ID_BLOCK] = 0x010000,
					     [VIRTIO_ID_CONSOLE] = 0x078000, [VIRTIO_ID_RNG] = 0x00ff00 };
	memset(v, 0, sizeof(*v));
	v->ops = ops;
	v->dev = dev;
	v->name = name;
	v->mem = *mem;
	v->log = log;
	v->nq = nq < VIRTIO_MAX_QUEUES ? nq : VIRTIO_MAX_QUEUES;
	v->host_features = features | VIRTIO_F_VERSION_1;
	uint8_t *c = v->pci.cfg;
	put(c, 0x00, 0x1af4, 2);
	put(c, 0x02, 0x1040u + (uint32_t)id, 2); /* 4.1.2.1: modern device IDs */
	c[0x06] = 0x10;                          /* capabilities list */
	c[0x08] = 1;                             /* revision 1: modern */
	put(c, 0x09, id < 5 ? class_of[id] : 0xff00, 3);
	put(c, 0x2c, 0x1af4, 2);
	put(c, 0x2e, 0x1100, 2);
	c[0x34] = 0x40;
	add_cap(c, 0x40, 0x50, CAP_COMMON, OFF_COMMON, COMMON_LEN);
	add_cap(c, 0x50, 0x60, CAP_ISR, OFF_ISR, 4);
	add_cap(c, 0x60, 0x70, CAP_DEVICE, OFF_DEVICE, DEVICE_LEN);
	add_cap(c, 0x70, CAP_MSIX_AT, CAP_NOTIFY, OFF_NOTIFY, NOTIFY_MULT * (uint32_t)v->nq);
	/* A vector for configuration changes and one per queue, as Linux
	 * asks for first (it shares one otherwise). */
	pci_msix_init(&v->msix, &v->pci, CAP_MSIX_AT, 0x00, MSIX_BAR, v->nq + 1);
	v->pci.bar_size[0] = VIRTIO_BAR_SIZE;
	v->pci.bar_ops[0] = &bar_ops;
	v->pci.bar_ops[MSIX_BAR] = &msix_ops;
	v->pci.cap_write = cap_write;
	v->pci.opaque = v;
	reset_vectors(v);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vq_reset(&v->q[i]);
}
