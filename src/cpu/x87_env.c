/* The x87 environment and state images in guest memory: FSTENV/FLDENV,
 * FSAVE/FRSTOR in their four layouts (16/32-bit operand size, real or
 * protected mode: SDM Vol. 1, 8.1.10, Figures 8-9 to 8-12) and
 * FXSAVE/FXRSTOR (SDM Vol. 2, FXSAVE, Table 3-53). Every access is checked
 * before any state changes, so a fault leaves guest state intact. */
#include <string.h>

#include "cpu/cpumodel.h"
#include "cpu/exec.h"

/* Real-address and virtual-8086 mode use the real-mode layouts. */
static int real_format(const struct cpu *cpu)
{
	return !(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_VM);
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | get16(p + 2) << 16; }

static void read_bytes(struct cpu *cpu, int seg, uint32_t ea, int a32, uint8_t *buf, int len)
{
	for (int i = 0; i < len;) {
		int n = len - i >= 4 ? 4 : len - i >= 2 ? 2 : 1;
		uint32_t off = ea + (uint32_t)i;
		if (!a32)
			off &= 0xffff;
		store_le(buf + i, n, mem_read(cpu, seg, off, n));
		i += n;
	}
}

static void write_bytes(struct cpu *cpu, int seg, uint32_t ea, int a32, const uint8_t *buf, int len)
{
	for (int i = 0; i < len;) {
		int n = len - i >= 4 ? 4 : len - i >= 2 ? 2 : 1;
		uint32_t off = ea + (uint32_t)i;
		if (!a32)
			off &= 0xffff;
		mem_write(cpu, seg, off, n, load_le(buf + i, n));
		i += n;
	}
}

/* Probe the whole destination first (a page or segment fault anywhere in
 * it comes before any byte is written). */
static void probe(struct cpu *cpu, int seg, uint32_t ea, int len)
{
	mem_probe_write(cpu, seg, ea, len); /* len <= 512: two pages at most */
}

/* Fill buf with the environment in the layout for osize and the mode.
 * Returns its length (14 or 28). */
static int env_image(struct cpu *cpu, int osize, uint8_t *buf)
{
	const struct fpu *f = &cpu->fpu;
	int real = real_format(cpu);
	uint32_t fip = f->fip, fdp = f->fdp;
	if (real) { /* the real-mode layouts hold 20/32-bit linear pointers */
		fip += (uint32_t)f->fcs << 4;
		fdp += (uint32_t)f->fds << 4;
	}
	if (osize == 2) {
		put16(buf + 0, f->fcw);
		put16(buf + 2, f->fsw);
		put16(buf + 4, f->ftw);
		put16(buf + 6, fip);
		put16(buf + 10, fdp);
		if (real) {
			put16(buf + 8, (f->fop & 0x7ffu) | ((fip >> 16) & 0xf) << 12);
			put16(buf + 12, ((fdp >> 16) & 0xf) << 12);
		} else {
			put16(buf + 8, f->fcs);
			put16(buf + 12, f->fds);
		}
		return 14;
	}
	put32(buf + 0, 0xffff0000u | f->fcw);
	put32(buf + 4, 0xffff0000u | f->fsw);
	put32(buf + 8, 0xffff0000u | f->ftw);
	if (real) {
		put32(buf + 12, 0xffff0000u | (fip & 0xffff));
		put32(buf + 16, (f->fop & 0x7ffu) | (fip >> 16) << 12);
		put32(buf + 20, 0xffff0000u | (fdp & 0xffff));
		put32(buf + 24, (fdp >> 16) << 12);
	} else {
		put32(buf + 12, fip);
		put32(buf + 16, f->fcs | (uint32_t)(f->fop & 0x7ffu) << 16);
		put32(buf + 20, fdp);
		put32(buf + 24, 0xffff0000u | f->fds);
	}
	return 28;
}

/* Load the environment from buf (layout for osize and mode). */
static void env_load(struct cpu *cpu, int osize, const uint8_t *buf)
{
	struct fpu *f = &cpu->fpu;
	int real = real_format(cpu);
	if (osize == 2) {
		f->fcw = (uint16_t)get16(buf + 0);
		f->fsw = (uint16_t)get16(buf + 2);
		f->ftw = (uint16_t)get16(buf + 4);
		if (real) {
			uint32_t w = get16(buf + 8);
			f->fip = get16(buf + 6) | (w >> 12) << 16;
			f->fop = (uint16_t)(w & 0x7ff);
			f->fdp = get16(buf + 10) | (get16(buf + 12) >> 12) << 16;
			f->fcs = f->fds = 0;
		} else {
			f->fip = get16(buf + 6);
			f->fcs = (uint16_t)get16(buf + 8);
			f->fdp = get16(buf + 10);
			f->fds = (uint16_t)get16(buf + 12);
		}
	} else {
		f->fcw = (uint16_t)get16(buf + 0);
		f->fsw = (uint16_t)get16(buf + 4);
		f->ftw = (uint16_t)get16(buf + 8);
		if (real) {
			uint32_t w = get32(buf + 16);
			f->fip = get16(buf + 12) | ((w >> 12) & 0xffff) << 16;
			f->fop = (uint16_t)(w & 0x7ff);
			f->fdp = get16(buf + 20) | ((get32(buf + 24) >> 12) & 0xffff) << 16;
			f->fcs = f->fds = 0;
		} else {
			f->fip = get32(buf + 12);
			f->fcs = (uint16_t)get16(buf + 16);
			f->fop = (uint16_t)((get32(buf + 16) >> 16) & 0x7ff);
			f->fdp = get32(buf + 20);
			f->fds = (uint16_t)get16(buf + 24);
		}
	}
}

/* After a load: the tags say only which registers are empty (the
 * processor derives the rest from the contents), and ES/B follow the
 * flags and masks (FLDENV: "if ... unmasked exception flags are set, a
 * floating-point exception will be generated" at the next waiting
 * instruction). */
static void after_load(struct cpu *cpu)
{
	x87_update_es(&cpu->fpu);
	x87_normalize_tags(&cpu->fpu);
	x87_sync_ferr(cpu);
}

void x87_fstenv(struct cpu *cpu, int seg, uint32_t ea, int osize)
{
	uint8_t buf[28];
	int len = env_image(cpu, osize, buf);
	probe(cpu, seg, ea, len);
	write_bytes(cpu, seg, ea, 1, buf, len);
	/* FSTENV masks all exceptions after saving (SDM Vol. 2, FSTENV);
	 * with nothing unmasked, ES clears (as the host shows). */
	cpu->fpu.fcw |= FSW_EXC;
	x87_update_es(&cpu->fpu);
	x87_sync_ferr(cpu);
}

void x87_fldenv(struct cpu *cpu, int seg, uint32_t ea, int osize)
{
	uint8_t buf[28];
	int len = osize == 2 ? 14 : 28;
	read_bytes(cpu, seg, ea, 1, buf, len);
	env_load(cpu, osize, buf);
	after_load(cpu);
}

void x87_fsave(struct cpu *cpu, int seg, uint32_t ea, int osize)
{
	uint8_t buf[108];
	int len = env_image(cpu, osize, buf);
	int top = fpu_top(&cpu->fpu);
	for (int i = 0; i < 8; i++)
		memcpy(buf + len + 10 * i, &cpu->fpu.st[(top + i) & 7], 10);
	probe(cpu, seg, ea, len + 80);
	write_bytes(cpu, seg, ea, 1, buf, len + 80);
	/* FSAVE then initializes the FPU (SDM Vol. 2, FSAVE). */
	x87_init_state(&cpu->fpu);
	x87_sync_ferr(cpu);
}

void x87_frstor(struct cpu *cpu, int seg, uint32_t ea, int osize)
{
	uint8_t buf[108];
	int len = osize == 2 ? 14 : 28;
	read_bytes(cpu, seg, ea, 1, buf, len + 80);
	env_load(cpu, osize, buf);
	int top = fpu_top(&cpu->fpu);
	/* byte copies: a long double assignment would go through the x87 */
	for (int i = 0; i < 8; i++)
		memcpy(&cpu->fpu.st[(top + i) & 7], buf + len + 10 * i, 10);
	after_load(cpu);
}

/* FXSAVE layout (SDM Vol. 2, FXSAVE, Table 3-53): the x87 part, MXCSR
 * and MXCSR_MASK, XMM0-7 at 160. With CR4.OSFXSR clear the processor
 * "may not" save or restore MXCSR and the XMM registers: ringvm does not
 * (and neither does a model without SSE, which has none). */
#define FX_XMM 160

static int fx_has_xmm(const struct cpu *cpu)
{
	return (cpu->feat & CPUID_SSE) && (cpu->cr4 & CR4_OSFXSR);
}

/* MXCSR_MASK: the model's (DAZ or not); a model without SSE stores the
 * default MXCSR and mask it always had. */
static uint32_t fx_mxcsr_mask(const struct cpu *cpu)
{
	return (cpu->feat & CPUID_SSE) ? cpu->model->mxcsr_mask : 0x0000ffbfu;
}

static void fx_check(struct cpu *cpu, uint32_t ea)
{
	/* #GP(0) if the operand is not 16-byte aligned (SDM Vol. 2, FXSAVE). */
	if (ea & 15)
		raise_gp(cpu, 0);
}

void x87_fxsave(struct cpu *cpu, int seg, uint32_t ea)
{
	fx_check(cpu, ea);
	const struct fpu *f = &cpu->fpu;
	uint8_t buf[FX_XMM + sizeof(cpu->sse.xmm)];
	memset(buf, 0, sizeof(buf));
	put16(buf + 0, f->fcw);
	put16(buf + 2, f->fsw);
	uint8_t abridged = 0;
	for (int i = 0; i < 8; i++)
		if (((f->ftw >> (2 * i)) & 3) != 3)
			abridged |= (uint8_t)(1u << i);
	buf[4] = abridged;
	put16(buf + 6, f->fop & 0x7ffu);
	put32(buf + 8, f->fip);
	put16(buf + 12, f->fcs);
	put32(buf + 16, f->fdp);
	put16(buf + 20, f->fds);
	put32(buf + 24, (cpu->feat & CPUID_SSE) ? cpu->sse.mxcsr : MXCSR_RESET);
	put32(buf + 28, fx_mxcsr_mask(cpu));
	int top = fpu_top(f);
	for (int i = 0; i < 8; i++)
		memcpy(buf + 32 + 16 * i, &f->st[(top + i) & 7], 10);
	int len = FX_XMM;
	if (fx_has_xmm(cpu)) {
		memcpy(buf + FX_XMM, cpu->sse.xmm, sizeof(cpu->sse.xmm));
		len = (int)sizeof(buf);
	}
	probe(cpu, seg, ea, 512);
	write_bytes(cpu, seg, ea, 1, buf, len);
}

void x87_fxrstor(struct cpu *cpu, int seg, uint32_t ea)
{
	fx_check(cpu, ea);
	uint8_t buf[FX_XMM + sizeof(cpu->sse.xmm)];
	int xmm = fx_has_xmm(cpu);
	read_bytes(cpu, seg, ea, 1, buf, xmm ? (int)sizeof(buf) : FX_XMM);
	uint32_t mxcsr = get32(buf + 24);
	if (mxcsr & ~fx_mxcsr_mask(cpu))
		raise_gp(cpu, 0);
	struct fpu *f = &cpu->fpu;
	f->fcw = (uint16_t)get16(buf + 0);
	f->fsw = (uint16_t)get16(buf + 2);
	uint16_t ftw = 0;
	for (int i = 0; i < 8; i++)
		if (!(buf[4] & (1u << i)))
			ftw |= (uint16_t)(3u << (2 * i));
	f->ftw = ftw;
	f->fop = (uint16_t)(get16(buf + 6) & 0x7ff);
	f->fip = get32(buf + 8);
	f->fcs = (uint16_t)get16(buf + 12);
	f->fdp = get32(buf + 16);
	f->fds = (uint16_t)get16(buf + 20);
	if (cpu->feat & CPUID_SSE)
		cpu->sse.mxcsr = mxcsr;
	if (xmm)
		memcpy(cpu->sse.xmm, buf + FX_XMM, sizeof(cpu->sse.xmm));
	int top = fpu_top(f);
	/* byte copies: a long double assignment would go through the x87 */
	for (int i = 0; i < 8; i++)
		memcpy(&f->st[(top + i) & 7], buf + 32 + 16 * i, 10);
	after_load(cpu);
}
