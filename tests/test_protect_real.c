/* Interrupts in real-address mode (SDM Vol. 3, 20.1.4; INT n and IRET
 * pseudo-code, REAL-ADDRESS-MODE): the vector table at IDTR, the
 * FLAGS/CS/IP frame, IF and TF cleared in the handler, IRET restoring
 * FLAGS, IRETD's #GP(0) for an EIP above 64 KiB, and the shutdown when
 * even #GP's vector lies beyond the IDTR limit. */
#include "test_protect_util.h"

SNIP16(rm_int, " stc\n int $0x21\n pushf\n pop %si\n hlt\n")
SNIP16(rm_handler, " pushf\n pop %dx\n mov %sp, %di\n clc\n iret\n")
SNIP16(rm_iretd, " pushl $0\n pushl $0\n pushl $0x10000\n iretl\n")
SNIP16(rm_gp, " mov $0x0d, %al\n hlt\n")

static void set_ivt(int v, uint16_t cs, uint16_t ip)
{
	wr16(4 * (uint32_t)v, ip);
	wr16(4 * (uint32_t)v + 2, cs);
}

int main(void)
{
	h_init(&H, 4 << 20);

	/* INT 0x21 -> 0000:8000 and back. */
	memset(H.ram, 0, 0x10000);
	LOAD(rm_int, 0x7c00);
	LOAD(rm_handler, 0x8000);
	set_ivt(0x21, 0, 0x8000);
	h_real(&H, 0, 0x7c00);
	H.cpu.eflags |= FL_IF;
	enum cpu_stop st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT, "stop %d", st);
	uint16_t in_handler = (uint16_t)H.cpu.r[R_EDX];
	CHECK(!(in_handler & FL_IF) && (in_handler & FL_CF), "FLAGS in the handler %04x", in_handler);
	/* The frame: IP after the INT, CS, FLAGS (with IF). */
	uint16_t sp = (uint16_t)H.cpu.r[R_EDI];
	CHECK(sp == 0x7000 - 6, "handler SP %04x", sp);
	CHECK(rd16(sp) == 0x7c03 && rd16(sp + 2) == 0 && (rd16(sp + 4) & (FL_IF | FL_CF)) == (FL_IF | FL_CF),
	      "frame %04x %04x %04x", rd16(sp), rd16(sp + 2), rd16(sp + 4));
	uint16_t after = (uint16_t)H.cpu.r[R_ESI];
	CHECK((after & FL_IF) && (after & FL_CF), "FLAGS after IRET %04x", after);
	CHECK((H.cpu.r[R_ESP] & 0xffff) == 0x7000, "SP %04x", H.cpu.r[R_ESP] & 0xffff);

	/* IRETD to EIP 0x10000: #GP(0) through vector 13 (no error code in
	 * real mode). */
	memset(H.ram, 0, 0x10000);
	LOAD(rm_iretd, 0x7c00);
	LOAD(rm_gp, 0x9000);
	set_ivt(EXC_GP, 0, 0x9000);
	h_real(&H, 0, 0x7c00);
	st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_HALT && (H.cpu.r[R_EAX] & 0xff) == 0x0d, "IRETD high EIP: stop %d AL %02x", st,
	      H.cpu.r[R_EAX] & 0xff);
	CHECK(rd16((H.cpu.r[R_ESP] & 0xffff)) == 0x7c00 + 12, "#GP at IP %04x", rd16(H.cpu.r[R_ESP] & 0xffff));

	/* IDTR limit below vector 0x21's entry: #GP; #GP's entry is beyond
	 * it too -> #DF -> beyond -> shutdown. */
	memset(H.ram, 0, 0x10000);
	LOAD(rm_int, 0x7c00);
	h_real(&H, 0, 0x7c00);
	H.cpu.idtr.limit = 4 * 8 - 1;
	st = h_run(&H, 1000);
	CHECK(st == CPU_STOP_SHUTDOWN && H.cpu.shutdown, "IVT limit: stop %d", st);

	return finish("protect real");
}
