/* The VGA text screen shown and saved (see pc.h, docs/board.md):
 * --display text draws the 80x25 screen on the console's terminal with
 * ANSI escapes, at most every DRAW_NS and only when something changed;
 * --screendump FILE writes it as text when ringvm ends and on SIGUSR1. */
#include "machine/pc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DRAW_NS 50000000ull /* 20 redraws a second at most */

static void puts_con(struct console *c, const char *s)
{
	while (*s)
		console_putc(c, (uint8_t)*s++);
}

/* VGA color numbers (blue is bit 0) to ANSI's (red is bit 0). */
static int ansi_color(int vga)
{
	static const int map[8] = { 0, 4, 2, 6, 1, 5, 3, 7 };
	return map[vga & 7];
}

static void draw(struct pc *pc)
{
	struct vga_screen s;
	struct console *c = &pc->con;
	char buf[48];
	vga_screen(&pc->vga, &s);
	puts_con(c, "\033[?25l\033[H");
	int last = -1;
	for (int r = 0; r < VGA_ROWS; r++) {
		for (int col = 0; col < VGA_COLS; col++) {
			int at = s.blank ? 0 : s.at[r][col];
			if (at != last) {
				snprintf(buf, sizeof(buf), "\033[0;%d;%dm", (at & 8 ? 90 : 30) + ansi_color(at),
					 40 + ansi_color(at >> 4));
				puts_con(c, buf);
				last = at;
			}
			char u[4];
			int n = vga_glyph_utf8(s.blank ? ' ' : s.ch[r][col], u);
			for (int i = 0; i < n; i++)
				console_putc(c, (uint8_t)u[i]);
		}
		if (r + 1 < VGA_ROWS)
			puts_con(c, "\r\n");
	}
	puts_con(c, "\033[0m");
	if (s.cur_row >= 0) {
		snprintf(buf, sizeof(buf), "\033[%d;%dH\033[?25h", s.cur_row + 1, s.cur_col + 1);
		puts_con(c, buf);
	}
	console_flush(c);
}

void pc_display_tick(struct pc *pc)
{
	if (!pc->cfg.display_text || !isatty(pc->con.out_fd))
		return;
	uint64_t now = clock_host_ns();
	if (pc->vga.gen == pc->drawn_gen || (pc->drawn_at && now - pc->drawn_at < DRAW_NS))
		return;
	pc->drawn_gen = pc->vga.gen;
	pc->drawn_at = now;
	draw(pc);
}

void pc_display_dump(struct pc *pc)
{
	if (!pc->cfg.screendump)
		return;
	struct vga_screen s;
	vga_screen(&pc->vga, &s);
	FILE *f = fopen(pc->cfg.screendump, "w");
	if (!f || vga_dump_text(&s, f) < 0 || fclose(f) != 0) {
		fprintf(pc->cfg.log, "ringvm: screendump '%s': cannot write it\n", pc->cfg.screendump);
		if (f)
			fclose(f);
	}
}
