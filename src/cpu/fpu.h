/* x87 FPU state (SDM Vol. 1, ch. 8). The registers are kept as the host's
 * 80-bit long double, so arithmetic runs on the host's own x87 unit.
 *
 * The struct is plain state any engine may read and write. The rest of
 * this header is internal to cpu/ (ops_x87.c and the x87_*.c files): see
 * docs/x87.md for the design. */
#ifndef RINGVM_FPU_H
#define RINGVM_FPU_H

#include <stdint.h>

struct fpu {
	long double st[8]; /* physical registers R0..R7 (not stack order) */
	uint16_t fcw, fsw, ftw; /* ftw: full 2-bit-per-register tag word */
	uint16_t fop;      /* last non-control instruction's opcode (11 bits) */
	uint32_t fip, fdp; /* its offset and its memory operand's offset */
	uint16_t fcs, fds; /* and their selectors */
	uint8_t ferr;      /* FERR# output as last signalled to the board */
	uint8_t ignne;     /* IGNNE# input: the board sets it (port 0xF0) */
};

/* Status word (SDM Vol. 1, 8.1.3). */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP 0x3800
#define FSW_TOP_SHIFT 11
#define FSW_C3 0x4000
#define FSW_B 0x8000
#define FSW_EXC 0x003f /* the six exception flags */

static inline int fpu_top(const struct fpu *f) { return (f->fsw & FSW_TOP) >> FSW_TOP_SHIFT; }

/* ---- internal to cpu/ ---- */

struct cpu;

/* The 108-byte image FNSAVE/FRSTOR use in 32-bit protected mode, which is
 * also what the host's own FNSAVE/FRSTOR use in 64-bit mode. */
#define X87_IMG_SIZE 108

/* Build the host image of the guest FPU: exception flags (and ES/B)
 * cleared so the host never sees an old pending exception. */
void x87_to_img(const struct fpu *f, uint8_t img[X87_IMG_SIZE]);

/* Run one x87 instruction (escape byte D8..DF and its ModRM) on the host
 * on the guest state: mem points to the memory operand's bytes (for a
 * memory form), eflags_in supplies CF/PF/ZF (FCMOVcc). Updates registers,
 * TOP, tags, condition codes and control word from the host and merges the
 * exception flags (sticky) and ES/B. Returns the host's EFLAGS after the
 * instruction (FCOMI and friends) and the newly raised exception flags in
 * *raised. Does no memory access and raises nothing. */
uint32_t x87_host_op(struct fpu *f, uint8_t esc, uint8_t modrm, void *mem, uint32_t eflags_in,
		     uint16_t *raised);

/* The register moves done in C without the host (x87_fast.c): returns 1
 * if it did the instruction, 0 if the host must (stack faults). */
int x87_fast_reg(struct fpu *f, uint8_t esc, uint8_t modrm);
/* The same for memory forms on ST(0) and the operand (mem: its bytes,
 * in and out); *raised gets the exception flags the host raised. */
int x87_fast_mem(struct fpu *f, uint8_t esc, uint8_t modrm, uint8_t *mem, uint16_t *raised);

/* Recompute the full tag word from the register contents, keeping which
 * registers are empty (SDM Vol. 1, 8.1.7), as the host's FNSAVE does. */
void x87_normalize_tags(struct fpu *f);

/* Recompute ES and B from the flags and masks (after FLDCW, FLDENV...). */
void x87_update_es(struct fpu *f);

/* FNINIT's state (SDM Vol. 2, FINIT/FNINIT): registers are kept. */
void x87_init_state(struct fpu *f);

/* Environment and state images in guest memory (x87_env.c). These do all
 * the memory accesses themselves and fault precisely. */
void x87_fstenv(struct cpu *cpu, int seg, uint32_t ea, int osize);
void x87_fldenv(struct cpu *cpu, int seg, uint32_t ea, int osize);
void x87_fsave(struct cpu *cpu, int seg, uint32_t ea, int osize);
void x87_frstor(struct cpu *cpu, int seg, uint32_t ea, int osize);
void x87_fxsave(struct cpu *cpu, int seg, uint32_t ea);
void x87_fxrstor(struct cpu *cpu, int seg, uint32_t ea);

/* The tag FNSAVE derives from a register's 10 bytes: 0 valid, 1 zero,
 * 2 special (x87_fast.c). */
int x87_classify(const uint8_t *r);

/* A waiting instruction (or an MMX one) found ES set: #MF with CR0.NE,
 * else FERR# and wait; returns 1 if the instruction may go on, 0 if it
 * must be retried (ops_x87.c). */
int x87_pending(struct cpu *cpu);

/* After anything that may clear ES: drop FERR# (and IGNNE#) if it did. */
void x87_sync_ferr(struct cpu *cpu);

#endif
