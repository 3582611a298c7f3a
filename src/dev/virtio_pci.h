/* The virtio 1.0 PCI transport, modern interface only (OASIS virtio
 * v1.0, 4.1): a PCI function 1af4:(1040 + device type) whose one 16 KiB
 * memory BAR holds the common configuration, ISR status, notification
 * and device-specific configuration structures that its vendor
 * capabilities point at. Interrupts: MSI-X (a vector for the
 * configuration and one per queue, the table in a 4 KiB BAR 1) while the
 * driver enables it, else INTA#, level, cleared by reading the ISR. The
 * device behind it (blk, net, rng, console)
 * supplies its configuration space and is told about queue
 * notifications; all of them share the virtqueue code.
 *
 * A device that finds the driver broke the rules (a bad descriptor, a
 * ring outside RAM) calls virtio_broken(): the status gains
 * DEVICE_NEEDS_RESET, the driver gets a configuration-change interrupt,
 * and no queue is touched again until the driver resets the device. */
#ifndef RINGVM_VIRTIO_PCI_H
#define RINGVM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/pci_host.h"
#include "dev/pci_msix.h"
#include "dev/virtio_queue.h"

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_BAR_SIZE 0x4000

/* Device status bits (2.1). */
#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED 0x80

#define VIRTIO_F_VERSION_1 (1ull << 32)

/* Device types (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

struct virtio_pci;

struct virtio_ops {
	/* Device-specific configuration (offset within it, size 1, 2, 4). */
	uint32_t (*cfg_read)(struct virtio_pci *v, uint32_t off, int size);
	void (*cfg_write)(struct virtio_pci *v, uint32_t off, int size, uint32_t val);
	/* The driver notified queue q (it is enabled and the driver is OK). */
	void (*notify)(struct virtio_pci *v, int q);
	/* The driver reset the device (status 0, or a PCI/board reset). */
	void (*reset)(struct virtio_pci *v);
};

struct virtio_pci {
	struct pci_dev pci;
	const struct virtio_ops *ops;
	void *dev;                 /* the device's own state */
	const char *name;          /* for messages: "virtio-blk" */
	struct vq_mem mem;
	uint64_t host_features, guest_features;
	uint32_t dfselect, gfselect;
	uint8_t status, isr, generation;
	uint16_t qselect;
	int nq;
	struct vq q[VIRTIO_MAX_QUEUES];
	struct pci_msix msix;
	uint16_t config_vector;               /* 0xffff: none */
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	FILE *log;
	unsigned log_count;
};

/* Set up the transport for a device of type id with nq queues offering
 * features (VERSION_1 is added). Register it with pci_host_add(&v->pci). */
void virtio_pci_init(struct virtio_pci *v, int id, int nq, uint64_t features, const struct virtio_ops *ops,
		     void *dev, const char *name, const struct vq_mem *mem, FILE *log);
/* Back to power-on state (a board reset; the PCI side is pci_host's). */
void virtio_pci_reset(struct virtio_pci *v);
/* Queue q has used buffers: interrupt the driver unless it asked not to. */
void virtio_notify(struct virtio_pci *v, int q);
/* The driver broke the rules (why: for the log). */
void virtio_broken(struct virtio_pci *v, const char *why);
/* The driver is running and queue q is usable. */
bool virtio_queue_ready(const struct virtio_pci *v, int q);
/* vq_pop on queue q; on a violation the device is marked broken and 0
 * returned. */
int virtio_pop(struct virtio_pci *v, int q, struct vq_chain *c);
/* vq_push and, on a violation, mark the device broken. */
void virtio_push(struct virtio_pci *v, int q, uint16_t head, uint32_t len);

#endif
