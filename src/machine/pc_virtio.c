/* The board's virtio devices (see pc_virtio.h, docs/virtio.md). */
#include "machine/pc_virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/block.h"
#include "dev/virtio_console.h"
#include "dev/virtio_net.h"
#include "dev/virtio_rng.h"
#include "machine/net_slirp.h"
#include "machine/pc.h"

#define HOLE_LO 0xa0000u
#define HOLE_HI 0x100000u

struct pc_virtio {
	struct vblk blk[VIO_MAX_DRIVES];
	int nblk;
	struct vnet *net[VIO_MAX_NICS];
	struct net_slirp *slirp[VIO_MAX_NICS];
	int nnet;
	int slirp_nfd[VIO_MAX_NICS]; /* pollfds each filled last time */
	struct vrng rng;
	bool has_rng;
	struct vcon con;
	bool has_con;
	int con_fd; /* ours to close, or -1 */
	struct virtio_pci *all[PCI_MAX_DEVS];
	int nall;
};

/* A device stored into guest RAM: code decoded from there is stale. */
static void dma_written(void *opaque, uint32_t pa, uint32_t len)
{
	struct pc *pc = opaque;
	if (!len)
		return;
	for (uint64_t p = pa & ~0xfffu; p < (uint64_t)pa + len; p += 0x1000) {
		struct cpu *c = &pc->vcpu[pc->cur].cpu; /* every CPU's code goes */
		if (block_page_has_code(c, (uint32_t)p)) {
			block_invalidate_page(c, (uint32_t)p);
			c->block_break = 1;
		}
	}
}

static void msi(void *opaque, uint64_t addr, uint32_t data)
{
	pc_msi(opaque, addr, data);
}

static void net_rx(void *opaque, const uint8_t *frame, size_t len)
{
	vnet_receive(opaque, frame, len);
}

/* PCI INTA# lines alternate between ISA IRQs 10 and 11, which ISA
 * devices of this board leave free (as QEMU's PIIX routing spreads
 * PIRQA-D over 10 and 11). */
static int add(struct pc *pc, struct pc_virtio *pv, struct virtio_pci *v, char *err, size_t errlen)
{
	int irq = pv->nall % 2 ? 11 : 10;
	if (pci_host_add_dev(&pc->pci, &v->pci, irq) < 0) {
		snprintf(err, errlen, "too many PCI devices (at most %d)", PCI_MAX_DEVS - 1);
		return -1;
	}
	pv->all[pv->nall++] = v;
	return 0;
}

int pc_virtio_init(struct pc *pc, char *err, size_t errlen)
{
	const struct vio_config *vc = pc->cfg.virtio;
	if (!vc || !(vc->ndrives || vc->nnics || vc->rng || vc->console))
		return 0; /* no devices: the board stays as it was, no PCI root in the DSDT */
	struct pc_virtio *pv = calloc(1, sizeof(*pv));
	if (!pv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pv->con_fd = -1;
	pc->virtio = pv;
	pc->pci.mmio = &pc->mmio;
	pc->pci.intx = pc_isa_irq;
	pc->pci.intx_opaque = pc;
	pc->pci.msi = msi;
	pc->pci.msi_opaque = pc;
	struct vq_mem mem = { pc->ram.base, pc->ram.size, HOLE_LO, HOLE_HI, dma_written, pc };
	FILE *log = pc->cfg.log;
	for (int i = 0; i < vc->ndrives && i < VIO_MAX_DRIVES; i++) {
		const struct vio_drive *d = &vc->drive[i];
		if (vblk_init(&pv->blk[i], d->file, d->readonly, d->cache, &mem, log, err, errlen) < 0)
			return -1;
		pv->nblk++;
		if (add(pc, pv, &pv->blk[i].vio, err, errlen) < 0)
			return -1;
	}
	for (int i = 0; i < vc->nnics && i < VIO_MAX_NICS; i++) {
		struct vnet *n = calloc(1, sizeof(*n));
		if (!n) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		pv->net[pv->nnet++] = n;
		pv->slirp[i] = net_slirp_new(vc->nic[i].fwd, vc->nic[i].nfwd, net_rx, n, err, errlen);
		if (!pv->slirp[i])
			return -1;
		/* QEMU's first MAC, 52:54:00:12:34:56, then ...:57. */
		uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i) };
		struct vnet_backend be = { pv->slirp[i], net_slirp_send };
		vnet_init(n, mac, &be, &mem, log);
		if (add(pc, pv, &n->vio, err, errlen) < 0)
			return -1;
	}
	if (vc->rng) {
		vrng_init(&pv->rng, &mem, log);
		pv->has_rng = true;
		if (add(pc, pv, &pv->rng.vio, err, errlen) < 0)
			return -1;
	}
	if (vc->console) {
		int fd = STDOUT_FILENO;
		if (vc->console_path) {
			fd = pv->con_fd = open(vc->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0) {
				snprintf(err, errlen, "virtconsole '%s': %s", vc->console_path, strerror(errno));
				return -1;
			}
		}
		vcon_init(&pv->con, fd, &mem, log);
		pv->has_con = true;
		if (add(pc, pv, &pv->con.vio, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void pc_virtio_reset(struct pc *pc)
{
	struct pc_virtio *pv = pc->virtio;
	for (int i = 0; pv && i < pv->nall; i++)
		virtio_pci_reset(pv->all[i]);
}

void pc_virtio_free(struct pc *pc)
{
	struct pc_virtio *pv = pc->virtio;
	if (!pv)
		return;
	for (int i = 0; i < pv->nblk; i++)
		vblk_free(&pv->blk[i]);
	for (int i = 0; i < pv->nnet; i++) {
		net_slirp_free(pv->slirp[i]);
		vnet_free(pv->net[i]);
		free(pv->net[i]);
	}
	if (pv->con_fd >= 0)
		close(pv->con_fd);
	free(pv);
	pc->virtio = NULL;
}

int pc_virtio_fill(struct pc *pc, struct pollfd *pfd, int max, int *timeout_ms)
{
	struct pc_virtio *pv = pc->virtio;
	int n = 0;
	for (int i = 0; pv && i < pv->nnet; i++) {
		pv->slirp_nfd[i] = net_slirp_fill(pv->slirp[i], pfd + n, max - n, timeout_ms);
		n += pv->slirp_nfd[i];
	}
	return n;
}

void pc_virtio_dispatch(struct pc *pc, struct pollfd *pfd, int n)
{
	struct pc_virtio *pv = pc->virtio;
	int at = 0;
	for (int i = 0; pv && i < pv->nnet && at <= n; i++) {
		net_slirp_dispatch(pv->slirp[i], pfd + at, pv->slirp_nfd[i]);
		at += pv->slirp_nfd[i];
	}
}

void pc_virtio_poll(struct pc *pc)
{
	struct pc_virtio *pv = pc->virtio;
	if (!pv || !pv->nnet)
		return;
	struct pollfd pfd[PC_VIRTIO_MAX_FDS];
	int timeout = 0;
	int n = pc_virtio_fill(pc, pfd, PC_VIRTIO_MAX_FDS, &timeout);
	if (poll(pfd, (nfds_t)n, 0) < 0)
		for (int i = 0; i < n; i++)
			pfd[i].revents = 0;
	pc_virtio_dispatch(pc, pfd, n);
}

static void virtio_dev_reset(void *dev)
{
	pc_virtio_reset(dev);
}

const struct dev_ops pc_virtio_dev_ops = { "virtio", virtio_dev_reset, NULL, NULL };
