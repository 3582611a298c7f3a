/* The I/O permission bitmap (SDM Vol. 1, 18.5.2): consulted when
 * CPL > IOPL; every port the access touches must have a clear bit, and
 * the bytes read must lie within the TSS limit. The main TSS's bitmap
 * covers ports 0-0x3ff, followed by a 0xff byte. */
#include "conf.h"

static void io(const char *name, int ring, const void *snip, u16 port, u32 flags, int vec)
{
	prep(ring, snip);
	in.edx = port;
	in.eflags = 2 | flags;
	go();
	expect(name, vec, 0, vec == VEC_DONE ? ANYEIP : (u32)snip);
}

void conf_io(void)
{
	iomap_allow(0x3f8, 8);
	io("ring3 IN 0x3f8 (first port allowed by the bitmap) -> allowed", 3, s_inb, 0x3f8, 0, VEC_DONE);
	io("ring3 IN 0x3f7 (just below the allowed range) -> #GP(0)", 3, s_inb, 0x3f7, 0, 13);
	io("ring3 IN 0x3ff (last port allowed) -> allowed", 3, s_inb, 0x3ff, 0, VEC_DONE);
	io("ring3 IN 0x400 (past the bitmap: end byte, TSS limit) -> #GP(0)", 3, s_inb, 0x400, 0, 13);
	io("ring3 IN word 0x3ff (spans denied 0x400) -> #GP(0)", 3, s_inw, 0x3ff, 0, 13);
	io("ring3 IN word 0x3f7 (spans denied 0x3f7) -> #GP(0)", 3, s_inw, 0x3f7, 0, 13);
	io("ring3 IN dword 0x3fc (all four allowed) -> allowed", 3, s_inl, 0x3fc, 0, VEC_DONE);
	io("ring3 IN 0x21 with IOPL=3 -> allowed without the bitmap", 3, s_inb, 0x21, IOPL(3), VEC_DONE);
	io("ring1 IN 0x21 with IOPL=1 -> allowed", 1, s_inb, 0x21, IOPL(1), VEC_DONE);
	io("ring2 IN 0x21 with IOPL=1 -> #GP(0)", 2, s_inb, 0x21, IOPL(1), 13);
	io("ring2 IN 0x3f8 with IOPL=1 -> allowed by the bitmap", 2, s_inb, 0x3f8, IOPL(1), VEC_DONE);

	/* The same TSS seen through a descriptor whose limit ends inside
	 * the bitmap: ports whose bits lie past it are denied. */
	gdt_set(SC(10), seg_desc((u32)&tss_main, sizeof(struct tss) + 0x60, 0x9, 0, 0x80));
	load_tr(SC(10));
	io("ring3 IN 0x3f8 with bitmap cut by TSS limit -> #GP(0)", 3, s_inb, 0x3f8, 0, 13);
	io("ring3 IN 0x3f8 with TSS limit cut, IOPL=3 -> allowed", 3, s_inb, 0x3f8, IOPL(3), VEC_DONE);
	load_tr(SEL_TSS);
	iomap_deny(0x3f8, 8);
	io("ring3 IN 0x3f8 after the kernel denies it again -> #GP(0)", 3, s_inb, 0x3f8, 0, 13);
}
