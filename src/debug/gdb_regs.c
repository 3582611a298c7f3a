/* Registers as gdb sees them: the i386 core feature gdb requires
 * (general registers, EIP, EFLAGS, selectors, the x87 registers) and
 * ringvm's system feature (control registers, descriptor tables,
 * segment bases, CPL), in one target description. Numbers are the order
 * of the description, which 'g', 'p' and 'P' use. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdb_int.h"

enum {
	R_PC = 8, R_FLAGS = 9, R_SEG0 = 10, R_ST0 = 16, R_FCTRL = 24, R_SYS = 32,
	R_CR0 = 32, R_CR2, R_CR3, R_CR4, R_GDTR_BASE, R_GDTR_LIMIT, R_IDTR_BASE, R_IDTR_LIMIT,
	R_LDTR, R_TR, R_BASE0, R_CPL = R_BASE0 + 6, R_COUNT
};

/* gdb's segment order, as struct cpu indexes them. */
static const int seg_of[6] = { S_CS, S_SS, S_DS, S_ES, S_FS, S_GS };

struct reg_def {
	const char *name, *type, *group;
	unsigned bits;
};

static const struct reg_def regs[R_COUNT] = {
	{ "eax", "int32", NULL, 32 }, { "ecx", "int32", NULL, 32 }, { "edx", "int32", NULL, 32 },
	{ "ebx", "int32", NULL, 32 }, { "esp", "data_ptr", NULL, 32 }, { "ebp", "data_ptr", NULL, 32 },
	{ "esi", "int32", NULL, 32 }, { "edi", "int32", NULL, 32 },
	{ "eip", "code_ptr", NULL, 32 }, { "eflags", "i386_eflags", NULL, 32 },
	{ "cs", "int32", NULL, 32 }, { "ss", "int32", NULL, 32 }, { "ds", "int32", NULL, 32 },
	{ "es", "int32", NULL, 32 }, { "fs", "int32", NULL, 32 }, { "gs", "int32", NULL, 32 },
	{ "st0", "i387_ext", NULL, 80 }, { "st1", "i387_ext", NULL, 80 }, { "st2", "i387_ext", NULL, 80 },
	{ "st3", "i387_ext", NULL, 80 }, { "st4", "i387_ext", NULL, 80 }, { "st5", "i387_ext", NULL, 80 },
	{ "st6", "i387_ext", NULL, 80 }, { "st7", "i387_ext", NULL, 80 },
	{ "fctrl", "int", "float", 32 }, { "fstat", "int", "float", 32 }, { "ftag", "int", "float", 32 },
	{ "fiseg", "int", "float", 32 }, { "fioff", "int", "float", 32 }, { "foseg", "int", "float", 32 },
	{ "fooff", "int", "float", 32 }, { "fop", "int", "float", 32 },
	{ "cr0", "ringvm_cr0", "system", 32 }, { "cr2", "data_ptr", "system", 32 },
	{ "cr3", "int32", "system", 32 }, { "cr4", "ringvm_cr4", "system", 32 },
	{ "gdtr_base", "data_ptr", "system", 32 }, { "gdtr_limit", "int32", "system", 32 },
	{ "idtr_base", "data_ptr", "system", 32 }, { "idtr_limit", "int32", "system", 32 },
	{ "ldtr", "int32", "system", 32 }, { "tr", "int32", "system", 32 },
	{ "cs_base", "data_ptr", "system", 32 }, { "ss_base", "data_ptr", "system", 32 },
	{ "ds_base", "data_ptr", "system", 32 }, { "es_base", "data_ptr", "system", 32 },
	{ "fs_base", "data_ptr", "system", 32 }, { "gs_base", "data_ptr", "system", 32 },
	{ "cpl", "int32", "system", 32 },
};

/* Bit names of EFLAGS, CR0 and CR4 (SDM Vol. 1, 3.4.3; Vol. 3, 2.5),
 * as "name:bit" or "name:first-last". */
static const char *const eflags_bits[] = { "CF:0", "PF:2", "AF:4", "ZF:6", "SF:7", "TF:8", "IF:9", "DF:10",
					    "OF:11", "IOPL:12-13", "NT:14", "RF:16", "VM:17", "AC:18", "VIF:19",
					    "VIP:20", "ID:21", NULL };
static const char *const cr0_bits[] = { "PE:0", "MP:1", "EM:2", "TS:3", "ET:4", "NE:5", "WP:16", "AM:18",
					 "NW:29", "CD:30", "PG:31", NULL };
static const char *const cr4_bits[] = { "VME:0", "PVI:1", "TSD:2", "DE:3", "PSE:4", "PAE:5", "MCE:6",
					 "PGE:7", "PCE:8", "OSFXSR:9", "OSXMMEXCPT:10", NULL };

struct xml_out {
	char *p, *end;
	bool full;
};

static void put(struct xml_out *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct xml_out *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(x->p, (size_t)(x->end - x->p), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= x->end - x->p) {
		x->full = true;
		return;
	}
	x->p += n;
}

static void put_flags(struct xml_out *x, const char *id, const char *const *bits)
{
	put(x, "<flags id=\"%s\" size=\"4\">", id);
	for (int i = 0; bits[i]; i++) {
		const char *colon = strchr(bits[i], ':');
		const char *dash = strchr(colon, '-');
		int len = (int)(colon - bits[i]);
		int start = atoi(colon + 1), end = dash ? atoi(dash + 1) : start;
		put(x, "<field name=\"%.*s\" start=\"%d\" end=\"%d\"/>", len, bits[i], start, end);
	}
	put(x, "</flags>");
}

static void put_regs(struct xml_out *x, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		put(x, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\"", regs[i].name, regs[i].bits, regs[i].type);
		if (regs[i].group)
			put(x, " group=\"%s\"", regs[i].group);
		put(x, "/>");
	}
}

size_t gdb_target_xml(char *out, size_t n, const char *arch)
{
	struct xml_out x = { out, out + n, false };
	put(&x, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		"<target version=\"1.0\"><architecture>%s</architecture>", arch);
	put(&x, "<feature name=\"org.gnu.gdb.i386.core\">");
	put_flags(&x, "i386_eflags", eflags_bits);
	put_regs(&x, 0, R_SYS);
	put(&x, "</feature><feature name=\"org.ringvm.sys\">");
	put_flags(&x, "ringvm_cr0", cr0_bits);
	put_flags(&x, "ringvm_cr4", cr4_bits);
	put_regs(&x, R_SYS, R_COUNT);
	put(&x, "</feature></target>");
	return x.full ? 0 : (size_t)(x.p - out);
}

uint32_t gdb_pc(const struct cpu *cpu)
{
	return cpu->seg[S_CS].base + cpu->eip;
}

/* The 32-bit value of register n (not the x87 stack registers). */
static uint32_t reg32(const struct cpu *cpu, unsigned n)
{
	const struct fpu *f = &cpu->fpu;
	if (n < 8)
		return cpu->r[n];
	if (n >= R_SEG0 && n < R_SEG0 + 6)
		return cpu->seg[seg_of[n - R_SEG0]].sel;
	if (n >= R_BASE0 && n < R_BASE0 + 6)
		return cpu->seg[seg_of[n - R_BASE0]].base;
	switch (n) {
	case R_PC: return gdb_pc(cpu);
	case R_FLAGS: return cpu->eflags;
	case R_FCTRL: return f->fcw;
	case R_FCTRL + 1: return f->fsw;
	case R_FCTRL + 2: return f->ftw;
	case R_FCTRL + 3: return f->fcs;
	case R_FCTRL + 4: return f->fip;
	case R_FCTRL + 5: return f->fds;
	case R_FCTRL + 6: return f->fdp;
	case R_FCTRL + 7: return f->fop;
	case R_CR0: return cpu->cr0;
	case R_CR2: return cpu->cr2;
	case R_CR3: return cpu->cr3;
	case R_CR4: return cpu->cr4;
	case R_GDTR_BASE: return cpu->gdtr.base;
	case R_GDTR_LIMIT: return cpu->gdtr.limit;
	case R_IDTR_BASE: return cpu->idtr.base;
	case R_IDTR_LIMIT: return cpu->idtr.limit;
	case R_LDTR: return cpu->ldtr.sel;
	case R_TR: return cpu->tr.sel;
	case R_CPL: return cpu->cpl;
	default: return 0;
	}
}

/* st(i) is the stack register i, physical register (TOP + i) mod 8. */
static const long double *st_reg(const struct cpu *cpu, unsigned i)
{
	return &cpu->fpu.st[(fpu_top(&cpu->fpu) + i) & 7];
}

int gdb_reg_read(const struct cpu *cpu, unsigned n, char *out)
{
	if (n >= R_COUNT)
		return -1;
	if (n >= R_ST0 && n < R_ST0 + 8) {
		uint8_t b[16];
		memcpy(b, st_reg(cpu, n - R_ST0), 10); /* the host's 80-bit format is the guest's */
		gdb_hex(out, b, 10);
		return 0;
	}
	uint32_t v = reg32(cpu, n);
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	gdb_hex(out, b, 4);
	return 0;
}

void gdb_regs_read(const struct cpu *cpu, char *out)
{
	for (unsigned n = 0; n < R_COUNT; n++) {
		gdb_reg_read(cpu, n, out);
		out += strlen(out);
	}
}

static size_t reg_bytes(unsigned n)
{
	return regs[n].bits / 8;
}

/* A selector written by gdb: real and virtual-8086 mode load it as the
 * processor would (base = selector * 16); protected mode would need a
 * descriptor load with its checks, so only the current value passes. */
static int write_seg(struct cpu *cpu, int s, uint32_t v)
{
	if (v > 0xffff)
		return -1;
	if (cpu->seg[s].sel == v)
		return 0;
	if (cpu->pmode)
		return -1;
	seg_load_real(cpu, s, (uint16_t)v);
	return 0;
}

static int write32(struct cpu *cpu, unsigned n, uint32_t v)
{
	struct fpu *f = &cpu->fpu;
	if (n < 8) {
		cpu->r[n] = v;
		return 0;
	}
	if (n >= R_SEG0 && n < R_SEG0 + 6)
		return write_seg(cpu, seg_of[n - R_SEG0], v);
	switch (n) {
	case R_PC:
		cpu->eip = (v - cpu->seg[S_CS].base) & (cpu->code32 ? 0xffffffffu : 0xffffu);
		return 0;
	case R_FLAGS: cpu->eflags = (v & 0x003f7fd5u) | FL_1; return 0;
	case R_FCTRL: f->fcw = (uint16_t)v; return 0;
	case R_FCTRL + 1: f->fsw = (uint16_t)v; return 0;
	case R_FCTRL + 2: f->ftw = (uint16_t)v; return 0;
	case R_FCTRL + 3: f->fcs = (uint16_t)v; return 0;
	case R_FCTRL + 4: f->fip = v; return 0;
	case R_FCTRL + 5: f->fds = (uint16_t)v; return 0;
	case R_FCTRL + 6: f->fdp = v; return 0;
	case R_FCTRL + 7: f->fop = (uint16_t)(v & 0x7ff); return 0;
	case R_CR0: cpu->cr0 = v | CR0_ET; return 0;
	case R_CR2: cpu->cr2 = v; return 0;
	case R_CR3: cpu->cr3 = v; return 0;
	case R_CR4: cpu->cr4 = v; return 0;
	case R_GDTR_BASE: cpu->gdtr.base = v; return 0;
	case R_GDTR_LIMIT: cpu->gdtr.limit = (uint16_t)v; return v > 0xffff ? -1 : 0;
	case R_IDTR_BASE: cpu->idtr.base = v; return 0;
	case R_IDTR_LIMIT: cpu->idtr.limit = (uint16_t)v; return v > 0xffff ? -1 : 0;
	default:
		/* LDTR, TR, the bases and CPL follow from descriptor loads:
		 * read-only here, unless unchanged (gdb's 'G' writes all). */
		return reg32(cpu, n) == v ? 0 : -1;
	}
}

static int write_one(struct cpu *cpu, unsigned n, const uint8_t *v)
{
	if (n >= R_ST0 && n < R_ST0 + 8) {
		long double *st = (long double *)st_reg(cpu, n - R_ST0);
		memset(st, 0, sizeof(*st));
		memcpy(st, v, 10);
		return 0;
	}
	return write32(cpu, n, (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24);
}

int gdb_reg_write(struct cpu *cpu, unsigned n, const uint8_t *v, size_t len)
{
	if (n >= R_COUNT || len != reg_bytes(n))
		return -1;
	int r = write_one(cpu, n, v);
	hostdbg_state_changed(cpu);
	return r;
}

int gdb_regs_write(struct cpu *cpu, const uint8_t *v, size_t len)
{
	/* gdb may send fewer registers than it knows (the rest unchanged). */
	int r = 0;
	for (unsigned n = 0; n < R_COUNT && len >= reg_bytes(n); n++) {
		if (write_one(cpu, n, v) < 0)
			r = -1;
		v += reg_bytes(n);
		len -= reg_bytes(n);
	}
	hostdbg_state_changed(cpu);
	return r;
}
