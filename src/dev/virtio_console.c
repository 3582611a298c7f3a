/* virtio-console (see virtio_console.h). */
#include "dev/virtio_console.h"

#include <errno.h>
#include <unistd.h>

#define Q_RX 0
#define Q_TX 1

static void write_all(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			ssize_t r = write(fd, p, left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return; /* the reader went away: drop the output */
			p += r;
			left -= (size_t)r;
		}
	}
}

static void con_notify(struct virtio_pci *v, int q)
{
	struct vcon *con = v->dev;
	struct vq_chain c;
	bool any = false;
	while (q == Q_TX && virtio_pop(v, Q_TX, &c) > 0) {
		struct iovec iov[VQ_MAX_SIZE];
		int n = vq_iov(&c, &v->mem, false, 0, c.read_len, iov, VQ_MAX_SIZE);
		if (con->out_fd >= 0)
			write_all(con->out_fd, iov, n);
		virtio_push(v, Q_TX, c.head, 0);
		any = true;
	}
	if (any)
		virtio_notify(v, Q_TX);
}

static const struct virtio_ops con_ops = { NULL, NULL, con_notify, NULL };

void vcon_init(struct vcon *c, int out_fd, const struct vq_mem *mem, FILE *log)
{
	c->out_fd = out_fd;
	virtio_pci_init(&c->vio, VIRTIO_ID_CONSOLE, 2, 0, &con_ops, c, "virtio-console", mem, log);
}
