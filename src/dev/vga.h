/* A VGA in text mode, enough for the 80x25 screens of BIOS menus, boot
 * loaders and kernels (IBM VGA Technical Reference; FreeVGA's register
 * descriptions): the memory window 0xA0000-0xBFFFF with text memory at
 * 0xB8000 (or 0xB0000 in monochrome mode, as the graphics controller's
 * memory map select says), the CRT controller at 0x3D4/0x3D5 (0x3B4/0x3B5
 * when misc output bit 0 is clear; cursor start/end and location, start
 * address, write protection of registers 0-7), the sequencer, graphics
 * controller and attribute controller (index/data flip-flop, reset by
 * reading input status 1), misc output, input status 1 (retrace bits
 * toggling on each read so wait loops end), the DAC. Registers hold what
 * the guest writes; only the text-mode ones change what is shown.
 * Graphics modes are not displayed: writes outside the text window are
 * kept in plain memory and never shown. No VGA BIOS. */
#ifndef RINGVM_VGA_H
#define RINGVM_VGA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dev/dev.h"
#include "machine/bus.h"

#define VGA_COLS 80
#define VGA_ROWS 25
#define VGA_MEM 0x20000 /* the whole 128 KiB window */

struct vga {
	uint8_t mem[VGA_MEM];      /* 0xA0000-0xBFFFF as the CPU sees it */
	uint8_t misc;
	uint8_t seq_idx, seq[8];
	uint8_t gc_idx, gc[16];
	uint8_t crtc_idx, crtc[32];
	uint8_t attr_idx, attr[32];
	bool attr_data;            /* the flip-flop: next 0x3C0 write is data */
	uint8_t dac_mask, dac_rd, dac_wr, dac_sub, dac_state;
	uint8_t dac[256][3];
	uint8_t feature;
	uint8_t st1;               /* input status 1's toggling bits */
	uint32_t gen;              /* bumped on every change that shows */
	FILE *log;
	unsigned logged;
};

int vga_init(struct vga *v, struct bus *pio, struct bus *mmio, FILE *log);
void vga_reset(struct vga *v);

/* What is on the screen: characters and attributes, and the cursor
 * (row/col, or -1 when hidden or off screen). */
struct vga_screen {
	uint8_t ch[VGA_ROWS][VGA_COLS];
	uint8_t at[VGA_ROWS][VGA_COLS];
	int cur_row, cur_col;
	bool blank;                /* the attribute controller's PAS bit is clear */
};
void vga_screen(const struct vga *v, struct vga_screen *s);

/* Write the screen as UTF-8 text (code page 437), one line per row with
 * trailing spaces dropped. 0, or -1 on a write error. */
int vga_dump_text(const struct vga_screen *s, FILE *f);
/* A character as UTF-8 (code page 437); returns its length, 1-3. */
int vga_glyph_utf8(uint8_t ch, char out[4]);

#endif
