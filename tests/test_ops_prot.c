/* Privilege rules of the flag, stack and I/O instructions at CPL 3 and in
 * virtual-8086 mode (SDM Vol. 2 POPF, PUSHF, CLI, STI, IN, OUT, INS,
 * OUTS; Vol. 1, 19.5 I/O permission bitmap):
 * - POPF at CPL 3 keeps IOPL, and keeps IF without faulting when
 *   CPL > IOPL; at CPL 0 both change; VM never changes, RF is cleared.
 * - CLI/STI at CPL > IOPL, and in V86 mode with IOPL < 3, are #GP(0).
 * - IN/OUT/INS/OUTS at CPL > IOPL and always in V86 mode consult the TSS
 *   bitmap: every bit of the access must be clear, the two bytes holding
 *   them must be inside the TSS limit, and only a 32-bit TSS has a map.
 * The ring 1-3 state is loaded straight into the segment caches; a fault
 * counts only when delivered to its handler with the right error code and
 * EIP (tests/fault_util.h). */
#include "fault_util.h"

static int failures;
static struct harness H;

#define SNIP32(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code32\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];
#define SNIP16(name, body)                                                            \
	__asm__(".pushsection .rodata\n" #name "_start:\n.code16\n" body "\n.code64\n" #name \
		"_end:\n.popsection\n");                                                      \
	extern const unsigned char name##_start[], name##_end[];

#define CODE 0x100000u
#define V86_CODE 0x7c00u
#define GDT 0x800u
#define IDT 0x1000u
#define HANDLERS 0x3000u
#define TSS 0x4000u
#define IOMAP 0x68u

static void put_desc(uint32_t at, uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
	uint32_t lo = (limit & 0xffff) | (base << 16);
	uint32_t hi = ((base >> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000u);
	memcpy(H.ram + at, &lo, 4);
	memcpy(H.ram + at + 4, &hi, 4);
}


/* GDT: 08 ring-0 code, 10 ring-0 data, 18 ring-3 code, 20 ring-3 data,
 * 28 TSS, 30/38 ring-1 code/data, 40/48 ring-2 code/data. IDT: interrupt gates to halting handlers. TSS: ring-0 stack
 * and an I/O map at IOMAP: ports 0x80 and 0x3f8-0x3ff open, rest shut. */
static void tables(uint32_t tss_limit, int tss_type)
{
	memset(H.ram + GDT, 0, 0x50);
	put_desc(GDT + 0x08, 0, 0xfffff, 0x9b, 0xc);
	put_desc(GDT + 0x10, 0, 0xfffff, 0x93, 0xc);
	put_desc(GDT + 0x18, 0, 0xfffff, 0xfb, 0xc);
	put_desc(GDT + 0x20, 0, 0xfffff, 0xf3, 0xc);
	put_desc(GDT + 0x28, TSS, tss_limit, 0x80u | (uint32_t)tss_type, 0);
	put_desc(GDT + 0x30, 0, 0xfffff, 0xbb, 0xc);
	put_desc(GDT + 0x38, 0, 0xfffff, 0xb3, 0xc);
	put_desc(GDT + 0x40, 0, 0xfffff, 0xdb, 0xc);
	put_desc(GDT + 0x48, 0, 0xfffff, 0xd3, 0xc);
	H.cpu.gdtr.base = GDT;
	H.cpu.gdtr.limit = 0x4f;
	for (int v = 0; v < 32; v++) {
		uint32_t off = HANDLERS + (uint32_t)v * 16;
		h_wr32(&H, IDT + (uint32_t)v * 8, (off & 0xffff) | (0x08u << 16));
		h_wr32(&H, IDT + (uint32_t)v * 8 + 4, (off & 0xffff0000u) | 0x8e00u);
		H.ram[off] = 0xf4;
	}
	H.cpu.idtr.base = IDT;
	H.cpu.idtr.limit = 32 * 8 - 1;
	memset(H.ram + TSS, 0, 0x200);
	if (tss_type == 1 || tss_type == 3) { /* 16-bit TSS: sp0 at 2, ss0 at 4 */
		H.ram[TSS + 2] = 0x00;
		H.ram[TSS + 3] = 0xf0;
		H.ram[TSS + 4] = 0x10;
	} else {
		h_wr32(&H, TSS + 4, 0x8f000); /* esp0 */
		h_wr32(&H, TSS + 8, 0x10);    /* ss0 */
	}
	H.ram[TSS + 0x66] = IOMAP;
	memset(H.ram + TSS + IOMAP, 0xff, 0x100);
	H.ram[TSS + IOMAP + 0x80 / 8] = 0xfe;  /* 0x80 open */
	H.ram[TSS + IOMAP + 0x3f8 / 8] = 0x00; /* 0x3f8-0x3ff open */
	seg_set_cache(&H.cpu.tr, 0x28, TSS, tss_limit, (uint16_t)(0x80 | tss_type));
}

static void load_code(const unsigned char *s, const unsigned char *e, uint32_t at)
{
	h_load(&H, at, s, (size_t)(e - s));
}

/* Flat protected mode at CPL cpl with EFLAGS.IOPL = iopl. */
static void ring(int cpl, int iopl, uint32_t tss_limit, int tss_type)
{
	h_flat32(&H, CODE, 0x80000);
	tables(tss_limit, tss_type);
	static const uint16_t cs_of[4] = {0x08, 0x31, 0x42, 0x1b}, ds_of[4] = {0x10, 0x39, 0x4a, 0x23};
	uint16_t cs = cs_of[cpl], ds = ds_of[cpl];
	uint16_t dpl = (uint16_t)(cpl << 5);
	seg_set_cache(&H.cpu.seg[S_CS], cs, 0, 0xffffffffu, (uint16_t)(0xc09b | dpl));
	for (int s = 0; s < S_NSEG; s++)
		if (s != S_CS)
			seg_set_cache(&H.cpu.seg[s], ds, 0, 0xffffffffu, (uint16_t)(0xc093 | dpl));
	H.cpu.eflags = FL_1 | FL_IF | ((uint32_t)iopl << FL_IOPL_SHIFT);
	cpu_update_mode(&H.cpu);
	H.nio = 0;
	H.nout = 0;
}

/* Virtual-8086 mode at 0000:7C00 with the given IOPL. */
static void v86(int iopl)
{
	h_flat32(&H, CODE, 0x80000);
	tables(IOMAP + 0x80, 11);
	H.cpu.eflags = FL_1 | FL_VM | ((uint32_t)iopl << FL_IOPL_SHIFT);
	cpu_update_mode(&H.cpu);
	for (int s = 0; s < S_NSEG; s++)
		seg_load_real(&H.cpu, s, 0);
	H.cpu.eip = V86_CODE;
	H.cpu.r[R_ESP] = 0x7000;
	H.nio = 0;
}

/* Every fault here is #GP(0) (SDM: CLI, STI, PUSHF/POPF in V86, IN/OUT). */
static int gp0_at(enum cpu_stop st, uint32_t eip) { return h_delivered(&H, st, HANDLERS, EXC_GP, 0, eip); }

static enum cpu_stop run(void) { return h_run(&H, 100000); }

/* ---- POPF ---- */
SNIP32(popf,
       " pushl $0\n popfl\n pushfl\n popl %eax\n"
       " pushl $0x00373ed5\n popfl\n pushfl\n popl %ebx\n" /* ID VIP AC VM RF IOPL3 OF DF IF, arith */
       " pushl $0\n popfl\n"
       " pushw $0x3200\n popfw\n pushfl\n popl %ecx\n"
       " hlt\n")

static void t_popf(void)
{
	load_code(popf_start, popf_end, CODE);
	const uint32_t hlt_at = CODE + (uint32_t)(popf_end - popf_start) - 1;
	/* CPL 1-3 at every IOPL (SDM POPF): IF follows only when CPL <= IOPL,
	 * else it is kept without a fault; IOPL is kept (it changes only at
	 * CPL 0); VM never changes, RF is cleared. HLT then faults. */
	for (int cpl = 1; cpl <= 3; cpl++) {
		for (int iopl = 0; iopl <= 3; iopl++) {
			ring(cpl, iopl, IOMAP + 0x80, 11);
			enum cpu_stop st = run();
			uint32_t io = (uint32_t)iopl << FL_IOPL_SHIFT, kept_if = cpl > iopl ? FL_IF : 0;
			CHECK(gp0_at(st, hlt_at), "popf at cpl%d/iopl%d: no fault before the hlt", cpl, iopl);
			CHECK(H.cpu.r[R_EAX] == (FL_1 | kept_if | io), "popf 0 at cpl%d/iopl%d: %08x", cpl, iopl,
			      H.cpu.r[R_EAX]);
			CHECK(H.cpu.r[R_EBX] == (0x00240ed7u | io), "popf all at cpl%d/iopl%d: %08x", cpl, iopl,
			      H.cpu.r[R_EBX]);
			CHECK(H.cpu.r[R_ECX] == (FL_1 | FL_IF | io), "popfw at cpl%d/iopl%d: %08x", cpl, iopl,
			      H.cpu.r[R_ECX]);
		}
	}

	/* CPL 0: IOPL and IF follow; VM never, RF cleared */
	ring(0, 0, IOMAP + 0x80, 11);
	enum cpu_stop st = run();
	CHECK(st == CPU_STOP_HALT && H.cpu.eip == hlt_at + 1, "cpl0 stop %d eip %x", st, H.cpu.eip);
	CHECK(H.cpu.r[R_EAX] == FL_1, "popf 0 at cpl0: %08x", H.cpu.r[R_EAX]);
	CHECK(H.cpu.r[R_EBX] == 0x00243ed7u, "popf all at cpl0: %08x", H.cpu.r[R_EBX]);
	CHECK(H.cpu.r[R_ECX] == (FL_1 | 0x3200), "popfw at cpl0: %08x", H.cpu.r[R_ECX]);
}

/* ---- CLI/STI ---- */
SNIP32(cli, " cli\n mov $1, %eax\n sti\n mov $2, %eax\n hlt\n")

/* CLI and STI at CPL 1-3 and every IOPL (SDM CLI/STI, protected mode):
 * allowed when CPL <= IOPL, else #GP(0) with IF unchanged. */
static void t_cli(void)
{
	load_code(cli_start, cli_end, CODE);
	const uint32_t sti_at = CODE + 6, hlt_at = CODE + 12;
	for (int cpl = 1; cpl <= 3; cpl++) {
		for (int iopl = 0; iopl <= 3; iopl++) {
			int ok = cpl <= iopl;
			ring(cpl, iopl, IOMAP + 0x80, 11);
			H.cpu.r[R_EAX] = 0;
			enum cpu_stop st = run();
			if (ok)
				CHECK(gp0_at(st, hlt_at) && H.cpu.r[R_EAX] == 2 && (h_fault_eflags(&H, EXC_GP) & FL_IF),
				      "cli/sti at cpl%d/iopl%d: allowed (eax %d)", cpl, iopl, H.cpu.r[R_EAX]);
			else
				CHECK(gp0_at(st, CODE) && H.cpu.r[R_EAX] == 0 && (h_fault_eflags(&H, EXC_GP) & FL_IF),
				      "cli at cpl%d/iopl%d: #GP(0), IF kept (eax %d)", cpl, iopl, H.cpu.r[R_EAX]);

			ring(cpl, iopl, IOMAP + 0x80, 11);
			H.cpu.eip = sti_at;
			H.cpu.eflags &= ~FL_IF;
			st = run();
			if (ok)
				CHECK(gp0_at(st, hlt_at) && (h_fault_eflags(&H, EXC_GP) & FL_IF),
				      "sti at cpl%d/iopl%d: allowed", cpl, iopl);
			else
				CHECK(gp0_at(st, sti_at) && !(h_fault_eflags(&H, EXC_GP) & FL_IF),
				      "sti at cpl%d/iopl%d: #GP(0), IF kept clear", cpl, iopl);
		}
	}
}

/* ---- the I/O permission bitmap ---- */
SNIP32(io_in80, " in $0x80, %al\n hlt\n")
SNIP32(io_out80, " out %al, $0x80\n hlt\n")
SNIP32(io_out81, " out %al, $0x81\n hlt\n")
SNIP32(io_dx32, " out %eax, %dx\n hlt\n")
SNIP32(io_dx8, " out %al, %dx\n hlt\n")
SNIP32(io_outsb, " mov $0x80, %dx\n rep outsb\n hlt\n")

struct io_case {
	const char *what;
	const unsigned char *s, *e;
	int iopl;
	uint32_t limit;
	int type;
	uint32_t dx;
	int ok;
};

static void t_iomap(void)
{
	const uint32_t full = IOMAP + 0x80; /* the byte after 0x3f8-0x3ff's */
	const struct io_case cases[] = {
		{"in 80", io_in80_start, io_in80_end, 0, full, 11, 0, 1},
		{"out 80", io_out80_start, io_out80_end, 0, full, 11, 0, 1},
		{"out 81 (bit set)", io_out81_start, io_out81_end, 0, full, 11, 0, 0},
		{"out 81 with cpl <= iopl", io_out81_start, io_out81_end, 3, full, 11, 0, 1},
		{"out 81 with an available TSS type", io_out81_start, io_out81_end, 0, full, 9, 0, 0},
		{"out 80 with an available TSS type", io_out80_start, io_out80_end, 0, full, 9, 0, 1},
		{"out 80 with a 16-bit TSS", io_out80_start, io_out80_end, 0, full, 3, 0, 0},
		{"out dword 3f8-3fb", io_dx32_start, io_dx32_end, 0, full, 11, 0x3f8, 1},
		{"out dword 3fc-3ff", io_dx32_start, io_dx32_end, 0, full, 11, 0x3fc, 1},
		{"out dword 3fd-400 (0x400 shut)", io_dx32_start, io_dx32_end, 0, full, 11, 0x3fd, 0},
		{"out byte 3ff, both bytes inside the limit", io_dx8_start, io_dx8_end, 0, full, 11, 0x3ff, 1},
		{"out byte 3ff, second byte beyond the limit", io_dx8_start, io_dx8_end, 0, full - 1, 11, 0x3ff, 0},
		{"out byte 400, beyond the limit", io_dx8_start, io_dx8_end, 0, full, 11, 0x400, 0},
		{"out 80 with the map base beyond the limit", io_out80_start, io_out80_end, 0, IOMAP - 1, 11, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct io_case *c = &cases[i];
		ring(3, c->iopl, c->limit, c->type);
		load_code(c->s, c->e, CODE);
		H.cpu.r[R_EDX] = c->dx;
		H.cpu.r[R_EAX] = 0x11223344;
		H.port_in_value = 0x55;
		enum cpu_stop st = run();
		uint32_t hlt_at = CODE + (uint32_t)(c->e - c->s) - 1;
		if (c->ok) {
			/* passes the I/O, then faults on HLT at CPL 3 */
			CHECK(gp0_at(st, hlt_at), "%s: should pass (stop %d eip %x)", c->what, st, H.cpu.eip);
		} else {
			CHECK(gp0_at(st, CODE) && H.nio == 0, "%s: should be #GP(0) (stop %d eip %x nio %d)",
			      c->what, st, H.cpu.eip, H.nio);
		}
	}

	/* REP OUTSB: allowed port moves all bytes; a shut one faults with
	 * ECX untouched */
	ring(3, 0, full, 11);
	load_code(io_outsb_start, io_outsb_end, CODE);
	memcpy(H.ram + 0x5000, "pqr", 3);
	H.cpu.r[R_ESI] = 0x5000;
	H.cpu.r[R_ECX] = 3;
	enum cpu_stop st = run();
	CHECK(H.nio == 3 && H.io_log[2].val == 'r' && H.cpu.r[R_ECX] == 0, "rep outsb to 80: nio %d", H.nio);
	(void)st;
	ring(3, 0, full, 11);
	H.ram[TSS + IOMAP + 0x80 / 8] = 0xff;
	H.cpu.r[R_ESI] = 0x5000;
	H.cpu.r[R_ECX] = 3;
	st = run();
	CHECK(gp0_at(st, CODE + 4) && H.nio == 0 && H.cpu.r[R_ECX] == 3 && H.cpu.r[R_ESI] == 0x5000,
	      "rep outsb to a shut port: stop %d eip %x ecx %d", st, H.cpu.eip, H.cpu.r[R_ECX]);
}

/* ---- virtual-8086 mode ---- */
SNIP16(v86_io, " out %al, $0x80\n out %al, $0x81\n hlt\n")
SNIP16(v86_fl, " pushf\n pop %ax\n push $0\n popf\n pushf\n pop %bx\n cli\n sti\n hlt\n")

static void t_v86(void)
{
	/* IOPL 3 does not open ports in V86 mode: the bitmap decides */
	v86(3);
	load_code(v86_io_start, v86_io_end, V86_CODE);
	enum cpu_stop st = run();
	CHECK(H.nio == 1 && H.io_log[0].port == 0x80, "v86 out 80 passes (nio %d)", H.nio);
	CHECK(gp0_at(st, V86_CODE + 2), "v86 out 81 faults: stop %d eip %x", st, H.cpu.eip);

	/* IOPL 3: PUSHF/POPF/CLI/STI work, POPF keeps IOPL */
	v86(3);
	load_code(v86_fl_start, v86_fl_end, V86_CODE);
	st = run();
	CHECK((H.cpu.r[R_EAX] & 0xffff) == (FL_1 | 0x3000), "v86 pushf %04x", H.cpu.r[R_EAX] & 0xffff);
	CHECK((H.cpu.r[R_EBX] & 0xffff) == (FL_1 | 0x3000), "v86 popf keeps iopl %04x", H.cpu.r[R_EBX] & 0xffff);
	/* HLT in V86 mode (CPL 3) is #GP(0), delivered to ring 0 with VM=1 in the frame */
	CHECK(gp0_at(st, V86_CODE + 9), "v86 iopl3 reached hlt: stop %d eip %x", st, H.cpu.eip);
	CHECK(h_fault_eflags(&H, EXC_GP) & FL_VM, "v86: VM kept (frame eflags %08x)", h_fault_eflags(&H, EXC_GP));

	/* IOPL < 3: PUSHF is #GP(0) */
	v86(2);
	st = run();
	CHECK(gp0_at(st, V86_CODE), "v86 pushf at iopl2: stop %d eip %x", st, H.cpu.eip);
	/* ... and so are CLI and POPF */
	v86(2);
	H.cpu.eip = V86_CODE + 7;
	st = run();
	CHECK(gp0_at(st, V86_CODE + 7), "v86 cli at iopl2: stop %d eip %x", st, H.cpu.eip);
	v86(2);
	H.cpu.eip = V86_CODE + 4;
	st = run();
	CHECK(gp0_at(st, V86_CODE + 4), "v86 popf at iopl2: stop %d eip %x", st, H.cpu.eip);
}

int main(void)
{
	h_init(&H, 4 << 20);
	t_popf();
	t_cli();
	t_iomap();
	t_v86();
	h_free(&H);
	if (failures) {
		printf("ops privilege: %d failures\n", failures);
		return 1;
	}
	printf("ops privilege: ok\n");
	return 0;
}
