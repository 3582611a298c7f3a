/* VGA text mode (see vga.h). */
#include "dev/vga.h"

#include <string.h>

#define SEQ_N 5
#define GC_N 9
#define CRTC_N 25
#define ATTR_N 21

/* ---- memory window ---- */

static uint32_t mem_read(void *opaque, uint32_t off, int size)
{
	struct vga *v = opaque;
	uint32_t x = 0;
	for (int i = 0; i < size && off + (uint32_t)i < VGA_MEM; i++)
		x |= (uint32_t)v->mem[off + (uint32_t)i] << (8 * i);
	return x;
}

static void mem_write(void *opaque, uint32_t off, int size, uint32_t x)
{
	struct vga *v = opaque;
	for (int i = 0; i < size && off + (uint32_t)i < VGA_MEM; i++)
		v->mem[off + (uint32_t)i] = (uint8_t)(x >> (8 * i));
	v->gen++;
}

/* ---- registers ---- */

static bool color(const struct vga *v) { return v->misc & 1; }

static uint8_t reg_read(struct vga *v, uint16_t port)
{
	switch (port) {
	case 0x3c0: return v->attr_idx;
	case 0x3c1: return v->attr[v->attr_idx & 0x1f];
	case 0x3c2: return 0x00; /* input status 0 */
	case 0x3c4: return v->seq_idx;
	case 0x3c5: return v->seq_idx < SEQ_N ? v->seq[v->seq_idx] : 0xff;
	case 0x3c6: return v->dac_mask;
	case 0x3c7: return v->dac_state;
	case 0x3c8: return v->dac_wr;
	case 0x3c9: {
		uint8_t x = v->dac[v->dac_rd][v->dac_sub];
		if (++v->dac_sub == 3) {
			v->dac_sub = 0;
			v->dac_rd++;
		}
		return x;
	}
	case 0x3ca: return v->feature;
	case 0x3cc: return v->misc;
	case 0x3ce: return v->gc_idx;
	case 0x3cf: return v->gc_idx < GC_N ? v->gc[v->gc_idx] : 0xff;
	}
	/* The CRT controller and input status 1 answer at 0x3Dx or 0x3Bx. */
	if ((port & 0xfff0) != (color(v) ? 0x3d0 : 0x3b0))
		return 0xff;
	switch (port & 0xf) {
	case 0x4: return v->crtc_idx;
	case 0x5: return v->crtc_idx < CRTC_N ? v->crtc[v->crtc_idx] : 0xff;
	case 0xa: /* input status 1: resets the attribute flip-flop */
		v->attr_data = false;
		v->st1 ^= 0x09; /* display enable and vertical retrace come and go */
		return v->st1;
	}
	return 0xff;
}

static void reg_write(struct vga *v, uint16_t port, uint8_t x)
{
	switch (port) {
	case 0x3c0:
		if (!v->attr_data) {
			v->attr_idx = x & 0x3f; /* bit 5: PAS, screen on */
		} else if ((v->attr_idx & 0x1f) < ATTR_N) {
			v->attr[v->attr_idx & 0x1f] = x;
		}
		v->attr_data = !v->attr_data;
		v->gen++;
		return;
	case 0x3c2: v->misc = x; v->gen++; return;
	case 0x3c4: v->seq_idx = x & 7; return;
	case 0x3c5: if (v->seq_idx < SEQ_N) v->seq[v->seq_idx] = x; return;
	case 0x3c6: v->dac_mask = x; return;
	case 0x3c7: v->dac_rd = x; v->dac_sub = 0; v->dac_state = 0x00; return;
	case 0x3c8: v->dac_wr = x; v->dac_sub = 0; v->dac_state = 0x03; return;
	case 0x3c9:
		v->dac[v->dac_wr][v->dac_sub] = x & 0x3f;
		if (++v->dac_sub == 3) {
			v->dac_sub = 0;
			v->dac_wr++;
		}
		return;
	case 0x3ce: v->gc_idx = x & 0x0f; return;
	case 0x3cf: if (v->gc_idx < GC_N) v->gc[v->gc_idx] = x; v->gen++; return;
	}
	if ((port & 0xfff0) != (color(v) ? 0x3d0 : 0x3b0))
		return;
	switch (port & 0xf) {
	case 0x4: v->crtc_idx = x & 0x1f; return;
	case 0x5:
		if (v->crtc_idx >= CRTC_N)
			return;
		/* CRTC 0x11 bit 7 protects registers 0-7 (bit 4 of 7 stays). */
		if ((v->crtc[0x11] & 0x80) && v->crtc_idx <= 7) {
			if (v->crtc_idx == 7)
				v->crtc[7] = (uint8_t)((v->crtc[7] & ~0x10) | (x & 0x10));
			return;
		}
		v->crtc[v->crtc_idx] = x;
		v->gen++;
		return;
	case 0xa: v->feature = x; return;
	}
}

static uint32_t io_read(void *opaque, uint32_t off, int size)
{
	(void)size;
	return reg_read(opaque, (uint16_t)(0x3b0 + off));
}

static void io_write(void *opaque, uint32_t off, int size, uint32_t x)
{
	(void)size;
	reg_write(opaque, (uint16_t)(0x3b0 + off), (uint8_t)x);
}

static const struct bus_ops io_ops = { io_read, io_write, 1, "vga" };
static const struct bus_ops mem_ops = { mem_read, mem_write, 0, "vga-mem" };

/* ---- the screen ---- */

void vga_screen(const struct vga *v, struct vga_screen *s)
{
	/* Memory map select (GC 6 bits 2-3): where the text lives. */
	static const uint32_t base[4] = { 0x00000, 0x00000, 0x10000, 0x18000 };
	static const uint32_t size[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
	int map = (v->gc[6] >> 2) & 3;
	uint32_t start = ((uint32_t)v->crtc[0x0c] << 8 | v->crtc[0x0d]) * 2;
	for (int r = 0; r < VGA_ROWS; r++) {
		for (int c = 0; c < VGA_COLS; c++) {
			uint32_t a = (start + (uint32_t)(r * VGA_COLS + c) * 2) % size[map];
			s->ch[r][c] = v->mem[base[map] + a];
			s->at[r][c] = v->mem[base[map] + a + 1];
		}
	}
	uint32_t cur = (uint32_t)v->crtc[0x0e] << 8 | v->crtc[0x0f];
	uint32_t rel = cur - start / 2;
	bool off = (v->crtc[0x0a] & 0x20) || rel >= VGA_ROWS * VGA_COLS;
	s->cur_row = off ? -1 : (int)(rel / VGA_COLS);
	s->cur_col = off ? -1 : (int)(rel % VGA_COLS);
	s->blank = !(v->attr_idx & 0x20);
}

static const uint16_t cp437_lo[32] = {
	0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
	0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
	0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
	0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
};

static const uint16_t cp437_hi[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

int vga_glyph_utf8(uint8_t ch, char out[4])
{
	uint16_t cp = ch < 0x20 ? cp437_lo[ch] : ch == 0x7f ? 0x2302 : ch >= 0x80 ? cp437_hi[ch - 0x80] : ch;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

int vga_dump_text(const struct vga_screen *s, FILE *f)
{
	for (int r = 0; r < VGA_ROWS; r++) {
		int end = VGA_COLS;
		while (end > 0 && (s->ch[r][end - 1] == ' ' || s->ch[r][end - 1] == 0))
			end--;
		for (int c = 0; c < end; c++) {
			char u[4];
			fwrite(u, 1, (size_t)vga_glyph_utf8(s->ch[r][c], u), f);
		}
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

/* Power-on state: color text mode 3 as a VGA BIOS leaves it (80x25,
 * text at 0xB8000, cursor on lines 14-15, screen enabled), blank screen
 * of light grey on black. */
void vga_reset(struct vga *v)
{
	memset(v->mem, 0, sizeof(v->mem));
	for (uint32_t i = 0; i < 0x8000; i += 2) {
		v->mem[0x18000 + i] = ' ';
		v->mem[0x18000 + i + 1] = 0x07;
	}
	v->misc = 0x67;
	memset(v->seq, 0, sizeof(v->seq));
	v->seq[0] = 0x03; v->seq[1] = 0x00; v->seq[2] = 0x03; v->seq[4] = 0x02;
	memset(v->gc, 0, sizeof(v->gc));
	v->gc[5] = 0x10; v->gc[6] = 0x0e; v->gc[7] = 0x0f; v->gc[8] = 0xff;
	static const uint8_t crtc3[CRTC_N] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d,
					      0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96,
					      0xb9, 0xa3, 0xff };
	memset(v->crtc, 0, sizeof(v->crtc));
	memcpy(v->crtc, crtc3, sizeof(crtc3));
	memset(v->attr, 0, sizeof(v->attr));
	for (int i = 0; i < 16; i++)
		v->attr[i] = (uint8_t)(i < 8 ? (i == 6 ? 0x14 : i) : 0x38 + (i - 8));
	v->attr[0x10] = 0x0c; v->attr[0x12] = 0x0f; v->attr[0x13] = 0x08;
	v->attr_idx = 0x20;
	v->attr_data = false;
	v->seq_idx = v->gc_idx = v->crtc_idx = 0;
	v->dac_mask = 0xff;
	v->dac_rd = v->dac_wr = v->dac_sub = 0;
	v->dac_state = 0;
	memset(v->dac, 0, sizeof(v->dac));
	v->feature = 0;
	v->st1 = 0;
	v->gen++;
}

int vga_init(struct vga *v, struct bus *pio, struct bus *mmio, FILE *log)
{
	memset(v, 0, sizeof(*v));
	v->log = log;
	vga_reset(v);
	if (bus_add_pio(pio, 0x3b0, 0x30, &io_ops, v) || bus_add_mmio(mmio, 0xa0000, VGA_MEM, &mem_ops, v))
		return -1;
	return 0;
}
