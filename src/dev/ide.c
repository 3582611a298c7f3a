/* PIIX3 IDE controller with ATA disks (see ide.h; ATA/ATAPI-6, T13
 * 1410D, and SFF-8038i for the bus master). */
#include "dev/ide.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DRDY 0x40
#define ST_BSY 0x80
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC 0x40
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB 0x80
#define SEL_LBA 0x40
#define SEL_DEV 0x10

#define BM_START 0x01
#define BM_TO_MEM 0x08
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INT 0x04

#define MAX_PRD 8192 /* entries walked per transfer: a table without an end stops here */

static const uint16_t cmd_base[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_base[2] = { 0x3f6, 0x376 };

static struct ide_drive *cur(struct ide_channel *c)
{
	return &c->drive[(c->select & SEL_DEV) ? 1 : 0];
}

/* INTRQ as the device drives it; the line follows it unless nIEN. */
static void update_line(struct ide_channel *c)
{
	bool lvl = c->intrq && !(c->ctrl & CTL_NIEN);
	if (lvl != c->irq_level) {
		c->irq_level = lvl;
		irq_set(&c->irq, lvl);
	}
}

static void set_irq(struct ide_channel *c, bool on)
{
	c->intrq = on;
	if (on)
		c->bm_status |= BM_INT;
	update_line(c);
}

static void done(struct ide_channel *c)
{
	c->xfer = IDE_XFER_NONE;
	c->status = ST_DRDY | ST_DSC;
	c->error = 0;
	set_irq(c, true);
}

static void fail(struct ide_channel *c, uint8_t err)
{
	c->xfer = IDE_XFER_NONE;
	c->pos = c->len = 0;
	c->status = ST_DRDY | ST_DSC | ST_ERR;
	c->error = err;
	set_irq(c, true);
}

/* The signature a device leaves after reset or diagnostics (ATA: 1, 1, 0, 0). */
static void signature(struct ide_channel *c)
{
	c->nsect = 1;
	c->lbal = 1;
	c->lbam = 0;
	c->lbah = 0;
	c->select &= SEL_DEV;
	c->error = 0x01; /* diagnostics passed */
}

/* ---- disk access ---- */

static int disk_io(struct ide_drive *dr, bool write, uint64_t lba, uint8_t *buf, uint32_t n)
{
	size_t len = (size_t)n * 512;
	off_t off = (off_t)(lba * 512);
	size_t done_b = 0;
	while (done_b < len) {
		ssize_t r = write ? pwrite(dr->fd, buf + done_b, len - done_b, off + (off_t)done_b)
				  : pread(dr->fd, buf + done_b, len - done_b, off + (off_t)done_b);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0 && !write) { /* a file that shrank: zeros */
				memset(buf + done_b, 0, len - done_b);
				return 0;
			}
			return -1;
		}
		done_b += (size_t)r;
	}
	return 0;
}

/* ---- addressing ---- */

static bool lba48_cmd(uint8_t cmd)
{
	switch (cmd) {
	case 0x24: case 0x25: case 0x29: case 0x34: case 0x35: case 0x39: case 0x42: case 0x27:
		return true;
	}
	return false;
}

/* The command's first sector and count; false if outside the disk. */
static bool address(struct ide_channel *c, struct ide_drive *dr, uint8_t cmd, uint64_t *lba, uint32_t *count)
{
	if (lba48_cmd(cmd)) {
		*lba = (uint64_t)c->hob_lbah << 40 | (uint64_t)c->hob_lbam << 32 | (uint64_t)c->hob_lbal << 24 |
		       (uint64_t)c->lbah << 16 | (uint64_t)c->lbam << 8 | c->lbal;
		*count = (uint32_t)c->hob_nsect << 8 | c->nsect;
		if (*count == 0)
			*count = 65536;
	} else {
		*count = c->nsect ? c->nsect : 256;
		if (c->select & SEL_LBA) {
			*lba = (uint64_t)(c->select & 0x0f) << 24 | (uint64_t)c->lbah << 16 | (uint64_t)c->lbam << 8 | c->lbal;
		} else {
			uint32_t cyl = (uint32_t)c->lbah << 8 | c->lbam, head = c->select & 0x0f, sec = c->lbal;
			if (sec == 0 || sec > dr->cur_spt || head >= dr->cur_heads)
				return false;
			*lba = ((uint64_t)cyl * dr->cur_heads + head) * dr->cur_spt + sec - 1;
		}
	}
	return *lba < dr->sectors && *count <= dr->sectors - *lba;
}

/* ---- IDENTIFY ---- */

static void put_str(uint16_t *w, int words, const char *s)
{
	/* ATA strings: two characters a word, the first in the high byte. */
	size_t n = strlen(s);
	for (int i = 0; i < words * 2; i++) {
		uint8_t ch = (size_t)i < n ? (uint8_t)s[i] : ' ';
		if (i & 1)
			w[i / 2] |= ch;
		else
			w[i / 2] = (uint16_t)(ch << 8);
	}
}

static void identify(struct ide_channel *c, struct ide_drive *dr, int unit)
{
	uint16_t w[256];
	memset(w, 0, sizeof(w));
	w[0] = 0x0040; /* fixed disk */
	w[1] = dr->cyls;
	w[3] = dr->heads;
	w[6] = dr->spt;
	char serial[21];
	snprintf(serial, sizeof(serial), "RINGVM-HD%d", unit);
	put_str(&w[10], 10, serial);
	put_str(&w[23], 4, "1.0");
	put_str(&w[27], 20, dr->model);
	w[47] = 0x8000 | IDE_MAX_MULT;
	w[49] = 0x0300; /* LBA, DMA */
	w[51] = 0x0200;
	w[53] = 0x0007; /* words 54-58, 64-70 and 88 are valid */
	uint32_t cur_cyl = dr->cur_heads && dr->cur_spt
				   ? (uint32_t)(dr->sectors / ((uint32_t)dr->cur_heads * dr->cur_spt)) : 0;
	if (cur_cyl > 16383)
		cur_cyl = 16383;
	w[54] = (uint16_t)cur_cyl;
	w[55] = dr->cur_heads;
	w[56] = dr->cur_spt;
	uint32_t chs = cur_cyl * dr->cur_heads * dr->cur_spt;
	w[57] = (uint16_t)chs;
	w[58] = (uint16_t)(chs >> 16);
	w[59] = dr->mult ? (uint16_t)(0x100 | dr->mult) : 0;
	uint32_t lba28 = dr->sectors > 0x0fffffff ? 0x0fffffff : (uint32_t)dr->sectors;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	/* Multiword DMA 0-2 (the PIIX3 has no Ultra DMA); the mode chosen. */
	w[63] = 0x0007 | ((dr->xfer_mode >> 3) == 4 ? (uint16_t)(0x100 << (dr->xfer_mode & 7)) : 0);
	w[64] = 0x0003; /* PIO 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x007e; /* ATA-1 to ATA-6 */
	w[82] = 0x4000; /* NOP is listed, as drives do; FLUSH and LBA48 below */
	w[83] = 0x4000 | 1u << 10 | 1u << 12 | 1u << 13;
	w[84] = 0x4000;
	w[85] = 0x4000;
	w[86] = 1u << 10 | 1u << 12 | 1u << 13;
	w[87] = 0x4000;
	for (int i = 0; i < 4; i++)
		w[100 + i] = (uint16_t)(dr->sectors >> (16 * i));
	for (int i = 0; i < 256; i++) {
		c->buf[2 * i] = (uint8_t)w[i];
		c->buf[2 * i + 1] = (uint8_t)(w[i] >> 8);
	}
}

/* ---- PIO ---- */

/* Load the next DRQ block of a read, or end the command. */
static void pio_in_next(struct ide_channel *c)
{
	struct ide_drive *dr = cur(c);
	if (c->left == 0) {
		c->xfer = IDE_XFER_NONE;
		c->status = ST_DRDY | ST_DSC;
		return;
	}
	uint32_t n = c->left < c->block ? c->left : c->block;
	if (disk_io(dr, false, c->lba, c->buf, n) < 0) {
		fail(c, ER_UNC);
		return;
	}
	c->lba += n;
	c->left -= n;
	c->pos = 0;
	c->len = n * 512;
	c->xfer = IDE_XFER_PIO_IN;
	c->status = ST_DRDY | ST_DSC | ST_DRQ;
	set_irq(c, true);
}

static void pio_out_next(struct ide_channel *c, bool first)
{
	uint32_t n = c->left < c->block ? c->left : c->block;
	c->pos = 0;
	c->len = n * 512;
	c->xfer = IDE_XFER_PIO_OUT;
	c->status = ST_DRDY | ST_DSC | ST_DRQ;
	if (!first) /* the first block is asked for without an interrupt */
		set_irq(c, true);
}

/* The guest filled a block of a write: put it on the disk. */
static void pio_out_block(struct ide_channel *c)
{
	struct ide_drive *dr = cur(c);
	uint32_t n = c->len / 512;
	if (disk_io(dr, true, c->lba, c->buf, n) < 0) {
		fail(c, ER_UNC);
		return;
	}
	c->lba += n;
	c->left -= n;
	if (c->left)
		pio_out_next(c, false);
	else
		done(c);
}

/* ---- bus master DMA ---- */

/* Move the whole transfer between the disk and the PRD table's buffers. */
static void dma_run(struct ide *d, struct ide_channel *c)
{
	struct ide_drive *dr = cur(c);
	bool to_mem = c->xfer == IDE_XFER_DMA_IN;
	size_t total = (size_t)c->left * 512;
	uint8_t *buf = malloc(total);
	if (!buf) {
		c->bm_status = (uint8_t)((c->bm_status & ~BM_ACTIVE) | BM_ERROR);
		fail(c, ER_ABRT);
		return;
	}
	if (to_mem && disk_io(dr, false, c->lba, buf, c->left) < 0) {
		free(buf);
		c->bm_status &= (uint8_t)~BM_ACTIVE;
		fail(c, ER_UNC);
		return;
	}
	size_t at = 0;
	bool eot = false, bad = false;
	uint32_t prd = c->bm_prd;
	for (int i = 0; i < MAX_PRD && at < total && !eot; i++, prd += 8) {
		uint8_t e[8];
		if (!d->dma.read || d->dma.read(d->dma.opaque, prd, e, 8) < 0) {
			bad = true;
			break;
		}
		uint32_t addr = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
		uint32_t cnt = ((uint32_t)e[4] | (uint32_t)e[5] << 8) & 0xfffe;
		if (cnt == 0)
			cnt = 0x10000;
		eot = e[7] & 0x80;
		if (cnt > total - at)
			cnt = (uint32_t)(total - at);
		int r = to_mem ? (d->dma.write ? d->dma.write(d->dma.opaque, addr, buf + at, cnt) : -1)
			       : (d->dma.read ? d->dma.read(d->dma.opaque, addr, buf + at, cnt) : -1);
		if (r < 0) {
			bad = true;
			break;
		}
		at += cnt;
	}
	if (!bad && at < total) {
		dev_logf(d->log, &d->logged, "IDE", "PRD table at %#x ends after %zu of %zu bytes", c->bm_prd, at, total);
		bad = true;
	} else if (bad) {
		dev_logf(d->log, &d->logged, "IDE", "bus master DMA outside RAM (PRD table at %#x)", c->bm_prd);
	}
	if (!bad && !to_mem && disk_io(dr, true, c->lba, buf, c->left) < 0) {
		free(buf);
		c->bm_status &= (uint8_t)~BM_ACTIVE;
		fail(c, ER_UNC);
		return;
	}
	free(buf);
	if (bad) {
		c->bm_status = (uint8_t)((c->bm_status & ~BM_ACTIVE) | BM_ERROR);
		fail(c, ER_ABRT);
		return;
	}
	/* Active stays set when the table is longer than the transfer. */
	if (eot)
		c->bm_status &= (uint8_t)~BM_ACTIVE;
	c->lba += c->left;
	c->left = 0;
	done(c);
}

/* ---- commands ---- */

static void start_rw(struct ide *d, struct ide_channel *c, struct ide_drive *dr, uint8_t cmd, bool write,
		     int mode)
{
	uint64_t lba;
	uint32_t count;
	if (!address(c, dr, cmd, &lba, &count)) {
		fail(c, ER_IDNF);
		return;
	}
	if (write && dr->readonly) {
		fail(c, ER_ABRT);
		return;
	}
	c->lba = lba;
	c->left = count;
	c->block = 1;
	if (mode == 'M') {
		if (!dr->mult) { /* READ/WRITE MULTIPLE before SET MULTIPLE MODE */
			fail(c, ER_ABRT);
			return;
		}
		c->block = dr->mult;
	}
	if (mode == 'D') {
		c->xfer = write ? IDE_XFER_DMA_OUT : IDE_XFER_DMA_IN;
		c->status = ST_DRDY | ST_DSC | ST_DRQ;
		if (c->bm_cmd & BM_START)
			dma_run(d, c);
		return;
	}
	if (write)
		pio_out_next(c, true);
	else
		pio_in_next(c);
}

static void command(struct ide *d, struct ide_channel *c, uint8_t cmd)
{
	struct ide_drive *dr = cur(c);
	if (!dr->present)
		return; /* nobody answers */
	c->xfer = IDE_XFER_NONE;
	c->pos = c->len = 0;
	set_irq(c, false);
	switch (cmd) {
	case 0xec: /* IDENTIFY DEVICE */
		identify(c, dr, (int)(dr - c->drive));
		c->pos = 0;
		c->len = 512;
		c->left = 0;
		c->xfer = IDE_XFER_PIO_IN;
		c->status = ST_DRDY | ST_DSC | ST_DRQ;
		set_irq(c, true);
		return;
	case 0x20: case 0x21: case 0x24: start_rw(d, c, dr, cmd, false, 'S'); return;
	case 0x30: case 0x31: case 0x34: start_rw(d, c, dr, cmd, true, 'S'); return;
	case 0xc4: case 0x29: start_rw(d, c, dr, cmd, false, 'M'); return;
	case 0xc5: case 0x39: start_rw(d, c, dr, cmd, true, 'M'); return;
	case 0xc8: case 0xc9: case 0x25: start_rw(d, c, dr, cmd, false, 'D'); return;
	case 0xca: case 0xcb: case 0x35: start_rw(d, c, dr, cmd, true, 'D'); return;
	case 0x40: case 0x41: case 0x42: { /* READ VERIFY SECTORS: check the range */
		uint64_t lba;
		uint32_t count;
		if (address(c, dr, cmd, &lba, &count))
			done(c);
		else
			fail(c, ER_IDNF);
		return;
	}
	case 0xc6: /* SET MULTIPLE MODE */
		if (c->nsect > IDE_MAX_MULT || (c->nsect & (c->nsect - 1))) {
			fail(c, ER_ABRT);
			return;
		}
		dr->mult = c->nsect;
		done(c);
		return;
	case 0x91: /* INITIALIZE DEVICE PARAMETERS */
		if (c->nsect == 0) {
			fail(c, ER_ABRT);
			return;
		}
		dr->cur_spt = c->nsect;
		dr->cur_heads = (uint16_t)((c->select & 0x0f) + 1);
		done(c);
		return;
	case 0xef: /* SET FEATURES */
		switch (c->feature) {
		case 0x03: { /* transfer mode: PIO 0-4, multiword DMA 0-2 */
			uint8_t m = c->nsect;
			if ((m >> 3) > 1 && !((m >> 3) == 4 && (m & 7) <= 2)) {
				fail(c, ER_ABRT);
				return;
			}
			dr->xfer_mode = m;
			break;
		}
		case 0x02: case 0x82: case 0x55: case 0xaa: case 0x66: case 0xcc:
			break; /* caches and defaults: nothing to change here */
		default:
			fail(c, ER_ABRT);
			return;
		}
		done(c);
		return;
	case 0x90: /* EXECUTE DEVICE DIAGNOSTIC */
		signature(c);
		c->status = ST_DRDY | ST_DSC;
		set_irq(c, true);
		return;
	case 0xe7: case 0xea: /* FLUSH CACHE (EXT) */
		if (!dr->readonly && fdatasync(dr->fd) < 0) {
			fail(c, ER_ABRT);
			return;
		}
		done(c);
		return;
	case 0xe5: /* CHECK POWER MODE: active */
		c->nsect = 0xff;
		done(c);
		return;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6: /* standby, idle, sleep */
	case 0x70: /* SEEK */
		done(c);
		return;
	case 0xf8: case 0x27: { /* READ NATIVE MAX ADDRESS (EXT) */
		uint64_t max = dr->sectors - 1;
		c->lbal = (uint8_t)max;
		c->lbam = (uint8_t)(max >> 8);
		c->lbah = (uint8_t)(max >> 16);
		if (cmd == 0x27) {
			c->hob_lbal = (uint8_t)(max >> 24);
			c->hob_lbam = (uint8_t)(max >> 32);
			c->hob_lbah = (uint8_t)(max >> 40);
		} else {
			c->select = (uint8_t)((c->select & 0xf0) | ((max >> 24) & 0x0f));
		}
		done(c);
		return;
	}
	case 0xa1: /* IDENTIFY PACKET DEVICE: not a packet device */
		signature(c);
		fail(c, ER_ABRT);
		return;
	default:
		if ((cmd & 0xf0) == 0x10) { /* RECALIBRATE */
			done(c);
			return;
		}
		dev_logf(d->log, &d->logged, "IDE", "command %#04x is not supported: aborted", cmd);
		fail(c, ER_ABRT);
	}
}

/* ---- ports ---- */

static bool no_drives(const struct ide_channel *c)
{
	return !c->drive[0].present && !c->drive[1].present;
}

static uint32_t data_read(struct ide_channel *c, int size)
{
	if (c->xfer != IDE_XFER_PIO_IN)
		return 0; /* no data phase: the bus reads 0 */
	uint32_t v = 0;
	for (int i = 0; i < size && c->pos < c->len; i++)
		v |= (uint32_t)c->buf[c->pos++] << (8 * i);
	if (c->pos >= c->len)
		pio_in_next(c);
	return v;
}

static void data_write(struct ide_channel *c, int size, uint32_t v)
{
	if (c->xfer != IDE_XFER_PIO_OUT)
		return;
	for (int i = 0; i < size && c->pos < c->len; i++)
		c->buf[c->pos++] = (uint8_t)(v >> (8 * i));
	if (c->pos >= c->len)
		pio_out_block(c);
}

static uint32_t cmd_read(struct ide *d, int which, uint32_t off, int size)
{
	struct ide_channel *c = &d->ch[which];
	if (off == 0)
		return no_drives(c) ? 0 : data_read(c, size);
	if (no_drives(c))
		return 0;
	bool hob = c->ctrl & CTL_HOB;
	switch (off) {
	case 1: return c->error;
	case 2: return hob ? c->hob_nsect : c->nsect;
	case 3: return hob ? c->hob_lbal : c->lbal;
	case 4: return hob ? c->hob_lbam : c->lbam;
	case 5: return hob ? c->hob_lbah : c->lbah;
	case 6: return c->select | 0xa0;
	default: /* status: reading it acknowledges the interrupt */
		if (!cur(c)->present)
			return 0;
		c->intrq = false; /* the bus master's interrupt bit stays until cleared */
		update_line(c);
		return c->status;
	}
}

static void cmd_write(struct ide *d, int which, uint32_t off, int size, uint32_t v)
{
	struct ide_channel *c = &d->ch[which];
	if (off == 0) {
		data_write(c, size, v);
		return;
	}
	uint8_t b = (uint8_t)v;
	c->ctrl &= (uint8_t)~CTL_HOB; /* a task file write clears HOB */
	switch (off) {
	case 1: c->hob_feature = c->feature; c->feature = b; break;
	case 2: c->hob_nsect = c->nsect; c->nsect = b; break;
	case 3: c->hob_lbal = c->lbal; c->lbal = b; break;
	case 4: c->hob_lbam = c->lbam; c->lbam = b; break;
	case 5: c->hob_lbah = c->lbah; c->lbah = b; break;
	case 6: c->select = b & 0x5f; break; /* bits 7 and 5 are obsolete ones */
	default: command(d, c, b); break;
	}
}

static void ctl_write(struct ide *d, int which, uint8_t v)
{
	struct ide_channel *c = &d->ch[which];
	uint8_t old = c->ctrl;
	c->ctrl = v & (CTL_NIEN | CTL_SRST | CTL_HOB);
	if (v & CTL_SRST) {
		c->status = ST_BSY;
		c->xfer = IDE_XFER_NONE;
		c->pos = c->len = 0;
	} else if (old & CTL_SRST) { /* end of a software reset */
		signature(c);
		for (int i = 0; i < 2; i++) {
			c->drive[i].mult = 0;
			c->drive[i].cur_heads = c->drive[i].heads;
			c->drive[i].cur_spt = c->drive[i].spt;
		}
		c->status = ST_DRDY | ST_DSC;
	}
	update_line(c); /* nIEN may have changed */
}

static uint32_t ctl_read(struct ide *d, int which)
{
	struct ide_channel *c = &d->ch[which];
	if (no_drives(c) || !cur(c)->present)
		return 0;
	return c->status; /* alternate status: no acknowledge */
}

#define CH_OPS(n)                                                                                            \
	static uint32_t cmd_read##n(void *o, uint32_t off, int size) { return cmd_read(o, n, off, size); }  \
	static void cmd_write##n(void *o, uint32_t off, int size, uint32_t v) { cmd_write(o, n, off, size, v); } \
	static uint32_t ctl_read##n(void *o, uint32_t off, int size) { (void)off; (void)size; return ctl_read(o, n); } \
	static void ctl_write##n(void *o, uint32_t off, int size, uint32_t v) { (void)off; (void)size; ctl_write(o, n, (uint8_t)v); }
CH_OPS(0)
CH_OPS(1)

static const struct bus_ops cmd_ops[2] = {
	{ cmd_read0, cmd_write0, 0, "ide0" },
	{ cmd_read1, cmd_write1, 0, "ide1" },
};
static const struct bus_ops ctl_ops[2] = {
	{ ctl_read0, ctl_write0, 1, "ide0-ctl" },
	{ ctl_read1, ctl_write1, 1, "ide1-ctl" },
};

/* ---- bus master registers (BAR4): per channel, +0 command, +2 status,
 * +4 PRD table address ---- */

static uint32_t bm_read(void *opaque, uint32_t off, int size)
{
	struct ide *d = opaque;
	struct ide_channel *c = &d->ch[off >> 3];
	uint32_t v = 0;
	for (int i = 0; i < size; i++) {
		uint32_t o = (off + (uint32_t)i) & 7;
		uint8_t b = 0;
		if (o == 0)
			b = c->bm_cmd;
		else if (o == 2)
			b = c->bm_status;
		else if (o >= 4)
			b = (uint8_t)(c->bm_prd >> (8 * (o - 4)));
		v |= (uint32_t)b << (8 * i);
	}
	return v;
}

static void bm_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct ide *d = opaque;
	struct ide_channel *c = &d->ch[off >> 3];
	for (int i = 0; i < size; i++) {
		uint32_t o = (off + (uint32_t)i) & 7;
		uint8_t b = (uint8_t)(v >> (8 * i));
		if (o == 0) {
			uint8_t old = c->bm_cmd;
			c->bm_cmd = b & (BM_START | BM_TO_MEM);
			if (!(old & BM_START) && (b & BM_START)) {
				c->bm_status |= BM_ACTIVE;
				bool in = c->xfer == IDE_XFER_DMA_IN, out = c->xfer == IDE_XFER_DMA_OUT;
				if ((in && !(b & BM_TO_MEM)) || (out && (b & BM_TO_MEM))) {
					dev_logf(d->log, &d->logged, "IDE", "bus master direction is the wrong way for the command");
					c->bm_status = (uint8_t)((c->bm_status & ~BM_ACTIVE) | BM_ERROR);
					fail(c, ER_ABRT);
				} else if (in || out) {
					dma_run(d, c);
				}
			} else if ((old & BM_START) && !(b & BM_START)) {
				c->bm_status &= (uint8_t)~BM_ACTIVE; /* stopped */
			}
		} else if (o == 2) {
			/* Interrupt and error are write 1 to clear; the drive
			 * DMA-capable bits are storage. */
			c->bm_status = (uint8_t)((c->bm_status & ~(b & (BM_INT | BM_ERROR)) & ~0x60) | (b & 0x60));
		} else if (o >= 4) {
			int sh = 8 * (int)(o - 4);
			c->bm_prd = (c->bm_prd & ~(0xffu << sh)) | ((uint32_t)b << sh);
			c->bm_prd &= ~3u;
		}
	}
}

static const struct bus_ops bm_ops = { bm_read, bm_write, 0, "ide-bm" };

/* BAR4 follows the guest's address while I/O decoding is on. */
static void bm_map(struct ide *d)
{
	uint32_t want = (pci_func_word(&d->fn, PCI_COMMAND) & PCI_CMD_IO) ? pci_func_bar_addr(&d->fn, 4) : 0;
	if (want >= 0x10000 - 16)
		want = 0;
	if (want == d->bm_base)
		return;
	if (d->bm_base)
		bus_del(d->pio, d->bm_base);
	d->bm_base = 0;
	if (want && want >= 0x100) {
		if (bus_add_pio(d->pio, (uint16_t)want, 16, &bm_ops, d) == 0)
			d->bm_base = want;
		else
			dev_logf(d->log, &d->logged, "IDE", "bus master BAR at %#x overlaps other ports: not decoded", want);
	}
}

static void cfg_written(void *opaque, unsigned off, int size)
{
	struct ide *d = opaque;
	if (off < 0x24 && off + (unsigned)size > PCI_COMMAND)
		bm_map(d);
}

void ide_reset(struct ide *d, uint16_t idetim)
{
	struct pci_func *f = &d->fn;
	pci_func_init(f, 0x8086, 0x7010, 0x00, 0x010180); /* IDE, legacy mode, bus master */
	f->opaque = d;
	f->written = cfg_written;
	f->cfg[0x07] = 0x02; /* medium DEVSEL */
	pci_func_bar(f, 4, 16, true);
	for (int i = 0x40; i < 0x45; i++)
		f->wmask[i] = 0xff; /* IDETIM (primary, secondary), SIDETIM */
	f->cfg[0x40] = (uint8_t)idetim; f->cfg[0x41] = (uint8_t)(idetim >> 8);
	f->cfg[0x42] = (uint8_t)idetim; f->cfg[0x43] = (uint8_t)(idetim >> 8);
	bm_map(d);
	for (int n = 0; n < 2; n++) {
		struct ide_channel *c = &d->ch[n];
		c->intrq = false;
		update_line(c);
		c->feature = c->hob_feature = c->hob_nsect = c->hob_lbal = c->hob_lbam = c->hob_lbah = 0;
		c->ctrl = 0;
		c->select = 0;
		signature(c);
		c->status = ST_DRDY | ST_DSC;
		c->xfer = IDE_XFER_NONE;
		c->pos = c->len = c->left = 0;
		c->bm_cmd = 0;
		c->bm_status = 0;
		c->bm_prd = 0;
		for (int u = 0; u < 2; u++) {
			struct ide_drive *dr = &c->drive[u];
			dr->mult = 0;
			dr->xfer_mode = 0;
			dr->cur_heads = dr->heads;
			dr->cur_spt = dr->spt;
			if (dr->present)
				c->bm_status |= (uint8_t)(0x20 << u); /* drive u can do DMA */
		}
	}
}

int ide_init(struct ide *d, struct bus *pio, struct irq_line irq14, struct irq_line irq15,
	     const struct guest_dma *dma, FILE *log)
{
	memset(d, 0, sizeof(*d));
	d->pio = pio;
	d->dma = *dma;
	d->log = log;
	d->ch[0].irq = irq14;
	d->ch[1].irq = irq15;
	for (int n = 0; n < 2; n++)
		for (int u = 0; u < 2; u++)
			d->ch[n].drive[u].fd = -1;
	ide_reset(d, 0);
	for (int n = 0; n < 2; n++)
		if (bus_add_pio(pio, cmd_base[n], 8, &cmd_ops[n], d) || bus_add_pio(pio, ctl_base[n], 1, &ctl_ops[n], d))
			return -1;
	return 0;
}

int ide_attach(struct ide *d, int ch, int unit, int fd, uint64_t bytes, bool readonly, char *err, size_t errlen)
{
	if (ch < 0 || ch > 1 || unit < 0 || unit > 1) {
		snprintf(err, errlen, "IDE has two channels with two drives each");
		return -1;
	}
	struct ide_drive *dr = &d->ch[ch].drive[unit];
	if (dr->present) {
		snprintf(err, errlen, "IDE channel %d %s is already in use", ch, unit ? "slave" : "master");
		return -1;
	}
	if (bytes < 512) {
		snprintf(err, errlen, "the image is smaller than one 512-byte sector");
		return -1;
	}
	memset(dr, 0, sizeof(*dr));
	dr->present = true;
	dr->readonly = readonly;
	dr->fd = fd;
	dr->sectors = bytes / 512;
	/* The BIOS geometry drives report: 16 heads, 63 sectors a track. */
	dr->heads = 16;
	dr->spt = 63;
	uint64_t cyl = dr->sectors / (16 * 63);
	dr->cyls = (uint16_t)(cyl > 16383 ? 16383 : (cyl ? cyl : 1));
	dr->cur_heads = dr->heads;
	dr->cur_spt = dr->spt;
	snprintf(dr->model, sizeof(dr->model), "RINGVM HARDDISK");
	d->ch[ch].bm_status |= (uint8_t)(0x20 << unit);
	return 0;
}
