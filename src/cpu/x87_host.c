/* The host's x87 unit as the guest's ALU.
 *
 * For every x87 opcode (escape byte D8..DF and ModRM) there is a 16-byte
 * host stub, assembled below:
 *
 *     push %rdx ; popfq         EFLAGS in (FCMOVcc reads CF/ZF/PF) *
 *     frstor (%rdi)             the guest's whole FPU, as a 108-byte image
 *     <esc> <modrm>             the guest's instruction; a memory form
 *                               addresses (%rsi), a host copy of the operand
 *     fnsave (%rdi)             the whole FPU back (and FNINIT on the host)
 *     pushfq ; pop %rax ; ret   EFLAGS out (FCOMI and friends) *
 *                               (* only in the stubs that need them)
 *
 * So every result, flag, tag, condition code, masked response, stack fault
 * and undefined-by-the-manual detail is what the host processor does, with
 * the guest's precision and rounding control. The host never traps: the
 * image carries no unmasked pending exception, and the FNSAVE right after
 * the instruction is a non-waiting one (SDM Vol. 1, 8.6: a numeric
 * exception is taken at the next waiting instruction). */
#include <string.h>

#include "cpu/exec.h"

__asm__(".pushsection .text\n"
	".balign 16\n"
	".globl x87_host_stubs\n"
	".hidden x87_host_stubs\n"
	".type x87_host_stubs, @function\n"
	"x87_host_stubs:\n"
	".irp esc, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf\n"
	".set x87_m, 0\n"
	".rept 256\n"
	/* EFLAGS pass through only for FCMOVcc (DA/DB C0-DF) and FCOMI
	 * and friends (DB/DF E8-F7). Every stub is 16 bytes. */
	".set x87_fl, (\\esc == 0xda || \\esc == 0xdb) && x87_m >= 0xc0 && x87_m < 0xe0\n"
	".set x87_fl, x87_fl || ((\\esc == 0xdb || \\esc == 0xdf) && x87_m >= 0xe8 && x87_m < 0xf8)\n"
	".if x87_fl\n"
	".byte 0x52, 0x9d\n"
	".endif\n"
	".byte 0xdd, 0x27, \\esc\n"
	".if x87_m >= 0xc0\n"
	".byte x87_m\n"
	".else\n"
	".byte (x87_m & 0x38) | 6\n" /* mod=00 rm=110: (%rsi) */
	".endif\n"
	".byte 0xdd, 0x37\n"
	".if x87_fl\n"
	".byte 0x9c, 0x58, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc\n"
	".else\n"
	".byte 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc\n"
	".endif\n"
	".set x87_m, x87_m + 1\n"
	".endr\n"
	".endr\n"
	".size x87_host_stubs, . - x87_host_stubs\n"
	".popsection\n");

void x87_host_stubs(void);
typedef uint64_t (*x87_stub_fn)(void *img, void *mem, uint64_t rflags);

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Only exception flags that are masked go to the host (they are sticky
 * and harmless); unmasked ones would make the host trap. */
static uint16_t host_fsw(const struct fpu *f)
{
	uint16_t fsw = f->fsw & ~(FSW_ES | FSW_B);
	return fsw & ~(fsw & ~f->fcw & FSW_EXC);
}

void x87_to_img(const struct fpu *f, uint8_t img[X87_IMG_SIZE])
{
	memset(img, 0, 28);
	uint16_t fsw = host_fsw(f);
	put32(img + 0, 0xffff0000u | f->fcw);
	put32(img + 4, 0xffff0000u | fsw);
	put32(img + 8, 0xffff0000u | f->ftw);
	put32(img + 24, 0xffff0000u);
	int top = fpu_top(f);
	for (int i = 0; i < 8; i++)
		memcpy(img + 28 + 10 * i, &f->st[(top + i) & 7], 10);
}

void x87_update_es(struct fpu *f)
{
	if (f->fsw & ~f->fcw & FSW_EXC)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= ~(FSW_ES | FSW_B);
}

uint32_t x87_host_op(struct fpu *f, uint8_t esc, uint8_t modrm, void *mem, uint32_t eflags_in,
		     uint16_t *raised)
{
	uint8_t img[X87_IMG_SIZE];
	uint8_t scratch[16] = {0};
	x87_to_img(f, img);
	uintptr_t at = (uintptr_t)&x87_host_stubs + ((((uintptr_t)esc & 7) << 8) | modrm) * 16;
	x87_stub_fn fn = (x87_stub_fn)at;
	uint64_t rflags = 0x202 | (eflags_in & FL_ARITH);
	uint32_t out = (uint32_t)fn(img, mem ? mem : scratch, rflags);

	uint16_t in = host_fsw(f);
	uint16_t old_unmasked = f->fsw & ~f->fcw & FSW_EXC;
	uint16_t fsw = get16(img + 4);
	f->fcw = get16(img + 0);
	f->ftw = get16(img + 8);
	f->fsw = (uint16_t)((fsw & ~(FSW_ES | FSW_B)) | old_unmasked);
	x87_update_es(f);
	if (raised)
		*raised = (uint16_t)(fsw & (FSW_EXC | FSW_SF) & ~in);
	int top = fpu_top(f);
	/* byte copies: a long double assignment would go through the x87 */
	for (int i = 0; i < 8; i++)
		memcpy(&f->st[(top + i) & 7], img + 28 + 10 * i, 10);
	return out;
}

void x87_normalize_tags(struct fpu *f)
{
	/* FNOP (D9 D0) changes nothing; the host's FNSAVE reports the tags
	 * of the registers FRSTOR marked non-empty from their contents. */
	uint16_t fsw = f->fsw;
	x87_host_op(f, 0xd9, 0xd0, NULL, 0, NULL);
	f->fsw = fsw;
}

void x87_init_state(struct fpu *f)
{
	f->fcw = 0x037f;
	f->fsw = 0;
	f->ftw = 0xffff;
	f->fip = f->fdp = 0;
	f->fcs = f->fds = 0;
	f->fop = 0;
}
