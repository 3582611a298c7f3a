/* QEMU's fw_cfg device (see fw_cfg.h). */
#include "dev/fw_cfg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct fw_cfg_item *find(struct fw_cfg *f, uint16_t key)
{
	for (int i = 0; i < f->n; i++)
		if (f->item[i].key == key)
			return &f->item[i];
	return NULL;
}

/* The selected item's bytes (the directory is item 0x19). */
static const uint8_t *cur_data(struct fw_cfg *f, uint32_t *len)
{
	if (f->sel == FW_CFG_FILE_DIR) {
		*len = f->dir_len;
		return f->dir;
	}
	struct fw_cfg_item *it = find(f, f->sel);
	*len = it ? it->len : 0;
	return it ? it->data : NULL;
}

int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -1;
	if (len)
		memcpy(copy, data, len);
	struct fw_cfg_item *it = find(f, key);
	if (!it) {
		if (f->n == FW_CFG_MAX_ITEMS) {
			free(copy);
			return -1;
		}
		it = &f->item[f->n++];
		memset(it, 0, sizeof(*it));
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	return 0;
}

int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return fw_cfg_add(f, key, b, 2);
}

int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add(f, key, b, 4);
}

int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add(f, key, b, 8);
}

/* Directory: be32 count, then {be32 size, be16 select, be16 0, name[56]}. */
static int rebuild_dir(struct fw_cfg *f)
{
	uint32_t len = 4 + 64u * f->nfiles;
	uint8_t *d = calloc(1, len);
	if (!d)
		return -1;
	put_be32(d, f->nfiles);
	for (int i = 0; i < f->n; i++) {
		const struct fw_cfg_item *it = &f->item[i];
		if (it->key < FW_CFG_FILE_FIRST || it->key >= FW_CFG_FILE_FIRST + f->nfiles)
			continue;
		uint8_t *e = d + 4 + 64u * (uint32_t)(it->key - FW_CFG_FILE_FIRST);
		put_be32(e, it->len);
		e[4] = (uint8_t)(it->key >> 8);
		e[5] = (uint8_t)it->key;
		memcpy(e + 8, it->name, FW_CFG_NAME_LEN);
	}
	free(f->dir);
	f->dir = d;
	f->dir_len = len;
	return 0;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len)
{
	size_t nl = strlen(name);
	if (nl == 0 || nl >= FW_CFG_NAME_LEN)
		return -1;
	uint16_t key = 0;
	for (int i = 0; i < f->n; i++)
		if (f->item[i].key >= FW_CFG_FILE_FIRST && f->item[i].key < FW_CFG_FILE_FIRST + f->nfiles &&
		    strcmp(f->item[i].name, name) == 0)
			key = f->item[i].key;
	bool fresh = key == 0;
	if (fresh)
		key = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
	if (fw_cfg_add(f, key, data, len) < 0)
		return -1;
	struct fw_cfg_item *it = find(f, key);
	memset(it->name, 0, sizeof(it->name));
	memcpy(it->name, name, nl);
	if (fresh)
		f->nfiles++;
	return rebuild_dir(f);
}

static void select_item(struct fw_cfg *f, uint16_t sel)
{
	/* Bit 14 asked for a write through the data port (long gone from
	 * QEMU: writes are ignored); bit 15 picks the architecture's items. */
	f->sel = sel & (uint16_t)~0x4000u;
	f->off = 0;
}

static uint8_t data_byte(struct fw_cfg *f)
{
	uint32_t len;
	const uint8_t *d = cur_data(f, &len);
	if (!d || f->off >= len)
		return 0;
	return d[f->off++];
}

/* Run the DMA control block at pa and write its control word back
 * (0, or the error bit). */
static void dma_run(struct fw_cfg *f, uint64_t pa64)
{
	uint8_t blk[16];
	if (pa64 >> 32 || !f->dma.read || f->dma.read(f->dma.opaque, (uint32_t)pa64, blk, 16) < 0) {
		dev_logf(f->log, &f->logged, "fw_cfg", "DMA control block at %#llx is not in RAM",
			 (unsigned long long)pa64);
		return;
	}
	uint32_t pa = (uint32_t)pa64;
	uint32_t ctl = get_be32(blk), len = get_be32(blk + 4);
	uint64_t addr = (uint64_t)get_be32(blk + 8) << 32 | get_be32(blk + 12);
	bool err = false;
	if (ctl & FW_CFG_DMA_SELECT)
		select_item(f, (uint16_t)(ctl >> 16));
	uint32_t ilen;
	const uint8_t *d = cur_data(f, &ilen);
	uint32_t avail = f->off < ilen ? ilen - f->off : 0;
	if (ctl & FW_CFG_DMA_READ) {
		/* In pieces: the length is the guest's (up to 4 GiB: found by
		 * fuzz_devices, a 4 GiB calloc), the buffer is not. The item's
		 * bytes, then zeros; a piece that does not land in RAM ends the
		 * transfer with the error bit (the pieces before it stay). */
		uint8_t chunk[4096];
		uint32_t n = len < avail ? len : avail;
		for (uint32_t done = 0; done < len && !err;) {
			uint32_t k = len - done < (uint32_t)sizeof(chunk) ? len - done : (uint32_t)sizeof(chunk);
			memset(chunk, 0, k);
			if (done < n)
				memcpy(chunk, d + f->off + done, n - done < k ? n - done : k);
			if (addr + done + k > 0x100000000ull || !f->dma.write ||
			    f->dma.write(f->dma.opaque, (uint32_t)(addr + done), chunk, k) < 0)
				err = true;
			done += k;
		}
		f->off += n;
	} else if (ctl & FW_CFG_DMA_WRITE) {
		err = true; /* every item is read-only */
	} else if (ctl & FW_CFG_DMA_SKIP) {
		f->off += len < avail ? len : avail;
	}
	if (err)
		dev_logf(f->log, &f->logged, "fw_cfg", "DMA to %#llx (%u bytes, control %#x) failed",
			 (unsigned long long)addr, len, ctl);
	uint8_t back[4];
	put_be32(back, err ? FW_CFG_DMA_ERROR : 0);
	if (f->dma.write)
		f->dma.write(f->dma.opaque, pa, back, 4);
}

static uint32_t bswap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

static uint32_t sel_read(void *opaque, uint32_t off, int size)
{
	struct fw_cfg *f = opaque;
	if (off == 1) { /* wider reads take the next bytes in order */
		uint32_t v = 0;
		for (int i = 0; i < size; i++)
			v |= (uint32_t)data_byte(f) << (8 * i);
		return v;
	}
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void sel_write(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct fw_cfg *f = opaque;
	if (off == 0 && size >= 2)
		select_item(f, (uint16_t)v);
	/* Data port writes are ignored, as QEMU has done since 2.4. */
}

/* "QEMU CFG" as a big-endian 64-bit value: 0x514 holds "QEMU". */
static uint32_t dma_read_port(void *opaque, uint32_t off, int size)
{
	(void)opaque;
	static const char sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	uint32_t v = 0;
	for (int i = 0; i < size && off + (uint32_t)i < 8; i++)
		v |= (uint32_t)(uint8_t)sig[off + (uint32_t)i] << (8 * i);
	return v;
}

static void dma_write_port(void *opaque, uint32_t off, int size, uint32_t v)
{
	struct fw_cfg *f = opaque;
	if (size != 4)
		return; /* the address halves are written as 32-bit values */
	if (off == 0)
		f->dma_hi = bswap32(v);
	else if (off == 4)
		dma_run(f, (uint64_t)f->dma_hi << 32 | bswap32(v));
}

static const struct bus_ops sel_ops = { sel_read, sel_write, 0, "fw_cfg" };
static const struct bus_ops dma_ops = { dma_read_port, dma_write_port, 0, "fw_cfg-dma" };

void fw_cfg_reset(struct fw_cfg *f)
{
	f->sel = 0;
	f->off = 0;
	f->dma_hi = 0;
}

int fw_cfg_init(struct fw_cfg *f, struct bus *pio, const struct guest_dma *dma, FILE *log)
{
	memset(f, 0, sizeof(*f));
	f->dma = *dma;
	f->log = log;
	static const char sig[4] = { 'Q', 'E', 'M', 'U' };
	if (fw_cfg_add(f, FW_CFG_SIGNATURE, sig, 4) < 0 ||
	    fw_cfg_add_i32(f, FW_CFG_ID, FW_CFG_ID_TRAD | FW_CFG_ID_DMA) < 0 || rebuild_dir(f) < 0)
		return -1;
	if (bus_add_pio(pio, FW_CFG_PORT_SEL, 2, &sel_ops, f) || bus_add_pio(pio, FW_CFG_PORT_DMA, 8, &dma_ops, f))
		return -1;
	return 0;
}

void fw_cfg_free(struct fw_cfg *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->item[i].data);
	free(f->dir);
	f->n = 0;
	f->dir = NULL;
}
