/* virtio-blk on a raw image (see virtio_blk.h; OASIS virtio v1.0, 5.2). */
#include "dev/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define F_SEG_MAX (1ull << 2)
#define F_RO (1ull << 5)
#define F_FLUSH (1ull << 9)
#define F_DISCARD (1ull << 13)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11

#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

#define SECTOR 512u
#define HDR_LEN 16u
#define SEG_MAX (VQ_MAX_SIZE - 2) /* a chain also holds the header and status */
#define MAX_DISCARD_SECTORS 0x3fffffu

/* preadv/pwritev until done: 0, or -1 (errno set; 0 for end of file). */
static int full_io(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int sync_data(struct vblk *b)
{
	if (b->cache == VBLK_UNSAFE)
		return 0;
	while (fdatasync(b->fd) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* A read or write of len bytes at sector: the status. */
static uint8_t rw(struct vblk *b, const struct vq_chain *c, bool write, uint64_t sector, uint64_t len)
{
	if (write && b->readonly)
		return S_IOERR;
	if (len % SECTOR || sector > b->sectors || len / SECTOR > b->sectors - sector)
		return S_IOERR;
	struct iovec iov[VQ_MAX_SIZE];
	const struct vq_mem *m = &b->vio.mem;
	int n = vq_iov(c, m, !write, write ? HDR_LEN : 0, len, iov, VQ_MAX_SIZE);
	if (full_io(b->fd, iov, n, sector * SECTOR, write) < 0)
		return S_IOERR;
	if (!write)
		vq_written(c, m, 0, len);
	else if (b->cache == VBLK_WRITETHROUGH && sync_data(b) < 0)
		return S_IOERR;
	return S_OK;
}

static uint8_t discard(struct vblk *b, const struct vq_chain *c)
{
	if (b->readonly)
		return S_IOERR;
	const struct vq_mem *m = &b->vio.mem;
	for (uint64_t off = HDR_LEN; off + 16 <= c->read_len; off += 16) {
		uint8_t seg[16];
		uint64_t sector;
		uint32_t count;
		vq_read(c, m, off, seg, 16);
		memcpy(&sector, seg, 8);
		memcpy(&count, seg + 8, 4);
		if (sector > b->sectors || count > b->sectors - sector)
			return S_IOERR;
		/* Advisory: a file system without hole punching keeps the data. */
		if (count)
			fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(sector * SECTOR),
				  (off_t)count * SECTOR);
	}
	return S_OK;
}

static void handle(struct vblk *b, const struct vq_chain *c)
{
	const struct vq_mem *m = &b->vio.mem;
	if (c->read_len < HDR_LEN || c->write_len < 1) {
		virtio_broken(&b->vio, "request without header or status byte");
		return;
	}
	uint8_t hdr[HDR_LEN];
	vq_read(c, m, 0, hdr, HDR_LEN);
	uint32_t type;
	uint64_t sector;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	uint64_t in_len = c->write_len - 1; /* the data the device may write */
	uint32_t written = 0;
	uint8_t st;
	switch (type) {
	case T_IN:
		st = rw(b, c, false, sector, in_len);
		written = st == S_OK ? (uint32_t)in_len : 0;
		break;
	case T_OUT:
		st = rw(b, c, true, sector, c->read_len - HDR_LEN);
		break;
	case T_FLUSH:
		st = sync_data(b) < 0 ? S_IOERR : S_OK;
		break;
	case T_GET_ID:
		written = (uint32_t)vq_write(c, m, 0, b->serial, in_len < sizeof(b->serial) ? in_len : sizeof(b->serial));
		st = S_OK;
		break;
	case T_DISCARD:
		st = discard(b, c);
		break;
	default:
		st = S_UNSUPP;
		break;
	}
	vq_write(c, m, in_len, &st, 1);
	virtio_push(&b->vio, 0, c->head, written + 1);
}

static void blk_notify(struct virtio_pci *v, int q)
{
	struct vblk *b = v->dev;
	struct vq_chain c;
	bool any = false;
	while (q == 0 && virtio_pop(v, 0, &c) > 0) {
		handle(b, &c);
		any = true;
	}
	if (any)
		virtio_notify(v, 0);
}

static uint32_t blk_cfg_read(struct virtio_pci *v, uint32_t off, int size)
{
	struct vblk *b = v->dev;
	uint8_t cfg[64];
	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg + 0, &b->sectors, 8);
	uint32_t seg_max = SEG_MAX, dmax = MAX_DISCARD_SECTORS, dseg = 1, dalign = 8;
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 36, &dmax, 4);
	memcpy(cfg + 40, &dseg, 4);
	memcpy(cfg + 44, &dalign, 4);
	uint32_t val = 0;
	for (int i = 0; i < size; i++)
		if (off + (uint32_t)i < sizeof(cfg))
			val |= (uint32_t)cfg[off + (uint32_t)i] << (8 * i);
	return val;
}

static const struct virtio_ops blk_ops = { blk_cfg_read, NULL, blk_notify, NULL };

int vblk_init(struct vblk *b, const char *path, bool readonly, enum vblk_cache cache, const struct vq_mem *mem,
	      FILE *log, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(err, errlen, "drive '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(b->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "drive '%s': not a regular file or block device", path);
		vblk_free(b);
		return -1;
	}
	off_t size = lseek(b->fd, 0, SEEK_END);
	if (size < (off_t)SECTOR) {
		snprintf(err, errlen, "drive '%s': smaller than one 512-byte sector", path);
		vblk_free(b);
		return -1;
	}
	b->sectors = (uint64_t)size / SECTOR;
	b->readonly = readonly;
	b->cache = cache;
	snprintf(b->serial, sizeof(b->serial), "ringvm-%llx", (unsigned long long)st.st_ino);
	uint64_t f = F_SEG_MAX | F_FLUSH | F_DISCARD | (readonly ? F_RO : 0);
	virtio_pci_init(&b->vio, VIRTIO_ID_BLOCK, 1, f, &blk_ops, b, "virtio-blk", mem, log);
	return 0;
}

void vblk_free(struct vblk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
