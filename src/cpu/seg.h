/* The IA-32 protection model (SDM Vol. 3, ch. 5-7): descriptors, checked
 * segment loads, far control transfers and hardware task switches.
 *
 * What other instruction families may call: far_jmp()/far_call() (the
 * JMP/CALL far forms), seg_load() (exec.h) for MOV/POP Sreg, and the
 * descriptor accessors below. Internal to cpu/.
 */
#ifndef RINGVM_SEG_H
#define RINGVM_SEG_H

#include "cpu/exec.h"

/* A segment or gate descriptor as it sits in the GDT/LDT/IDT
 * (SDM Vol. 3, 3.4.5 and 5.8.3): lo = bytes 0-3, hi = bytes 4-7. */
struct desc {
	uint32_t lo, hi;
};

#define SEL_RPL 3u
#define SEL_TI 4u
#define sel_null(sel) (((sel) & 0xfffcu) == 0)

/* Descriptor types with S = 0 (SDM Vol. 3, Table 3-2). */
enum {
	DT_TSS16_AVAIL = 1, DT_LDT = 2, DT_TSS16_BUSY = 3, DT_CALL16 = 4,
	DT_TASK = 5, DT_INT16 = 6, DT_TRAP16 = 7, DT_TSS32_AVAIL = 9,
	DT_TSS32_BUSY = 11, DT_CALL32 = 12, DT_INT32 = 14, DT_TRAP32 = 15,
};

static inline uint32_t desc_base(const struct desc *d)
{
	return (d->lo >> 16) | ((d->hi & 0xffu) << 16) | (d->hi & 0xff000000u);
}

/* Byte-granular limit (G scales by 4 KiB: SDM Vol. 3, 3.4.5). */
static inline uint32_t desc_limit(const struct desc *d)
{
	uint32_t l = (d->lo & 0xffffu) | (d->hi & 0xf0000u);
	return (d->hi & 0x800000u) ? (l << 12) | 0xfffu : l;
}

/* Bits 40..55 in the struct seg attr layout (cpu.h). */
static inline uint16_t desc_attr(const struct desc *d) { return (uint16_t)((d->hi >> 8) & 0xf0ffu); }
static inline int desc_type(const struct desc *d) { return (int)((d->hi >> 8) & 0xfu); }
static inline int desc_s(const struct desc *d) { return (int)((d->hi >> 12) & 1u); }
static inline int desc_dpl(const struct desc *d) { return (int)((d->hi >> 13) & 3u); }
static inline int desc_present(const struct desc *d) { return (int)((d->hi >> 15) & 1u); }
static inline int desc_code(const struct desc *d) { return desc_s(d) && (d->hi & 0x800u); }
static inline int desc_conforming(const struct desc *d) { return desc_code(d) && (d->hi & 0x400u); }
static inline int desc_readable(const struct desc *d) { return !desc_code(d) || (d->hi & 0x200u); }
static inline int desc_writable_data(const struct desc *d)
{
	return desc_s(d) && !(d->hi & 0x800u) && (d->hi & 0x200u);
}
/* Gates (SDM Vol. 3, 5.8.3, 6.11) */
static inline uint16_t gate_sel(const struct desc *d) { return (uint16_t)(d->lo >> 16); }
static inline uint32_t gate_off(const struct desc *d) { return (d->lo & 0xffffu) | (d->hi & 0xffff0000u); }
static inline int gate_count(const struct desc *d) { return (int)(d->hi & 0x1fu); }

/* Read the descriptor sel names from the GDT or LDT (TI bit). Returns 0,
 * or -1 when the index is beyond the table limit or TI names an LDT that
 * is not loaded; the caller raises the fault its instruction defines. */
int desc_read(struct cpu *cpu, uint16_t sel, struct desc *d);
/* Write back descriptor bytes 4-7 (accessed and busy bits): a supervisor
 * access (SDM Vol. 3, 5.6). */
void desc_write_hi(struct cpu *cpu, uint16_t sel, uint32_t hi);
/* Fill a segment cache from a descriptor, setting its accessed bit in
 * memory first as the processor does on a load (SDM Vol. 3, 3.4.5.1). */
void seg_load_desc(struct cpu *cpu, struct seg *sg, uint16_t sel, struct desc *d);
/* Load CS from a checked code descriptor; CS.RPL = cpl, mode updated. */
void seg_load_cs(struct cpu *cpu, uint16_t sel, struct desc *d, int cpl);
/* A null DS/ES/FS/GS: selector kept, cache unusable (SDM Vol. 3, 3.4.2). */
void seg_load_null(struct cpu *cpu, int s, uint16_t sel);
/* Load DS/ES/FS/GS/SS with the MOV checks, faults raised with vector
 * badvec (#GP for MOV/POP/LDS, #TS in a task switch) and privilege cpl. */
void seg_load_checked(struct cpu *cpu, int s, uint16_t sel, int cpl, int badvec);
/* After a return to an outer ring: null DS/ES/FS/GS a less privileged
 * procedure may not use (SDM RET/IRET pseudo-code). */
void seg_null_inner(struct cpu *cpu);

/* The stack of privilege level dpl from the current TSS (SDM Vol. 3,
 * 6.12.1, 7.2.1); #TS(TR) if the TSS is too short for it. */
void tss_ring_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp);
/* Check a new SS for an inter-privilege transfer to level dpl (#TS and
 * #SS as CALL and interrupt delivery define them); returns its descriptor. */
void stack_check_new(struct cpu *cpu, uint16_t ss, int dpl, struct desc *d);

/* Pushes collected, checked as a whole (limits, then pages), and only
 * then written: the fault of any one leaves all state untouched. */
struct frame_w {
	uint32_t off, v;
	uint8_t size;
};
struct frame {
	uint32_t base, lo, hi, mask;
	uint32_t sp, esp;    /* running offset; the full ESP it started from */
	uint8_t ok;          /* segment usable for writes */
	int acc;             /* ACC_SYS for an inner-ring stack */
	uint32_t err;        /* #SS error code on overflow */
	int n;
	struct frame_w w[48];
};
/* A frame on the current SS:ESP. */
void frame_cur(struct cpu *cpu, struct frame *f);
/* A frame on a new stack (descriptor already checked) for level cpl. */
void frame_new(struct frame *f, const struct desc *ssd, uint16_t ss, uint32_t esp, int cpl);
void frame_push(struct frame *f, int size, uint32_t v);
/* Check every push (limits: #SS(err); pages: #PF) without writing. */
void frame_check(struct cpu *cpu, struct frame *f);
/* Write the checked pushes; returns the new ESP. */
uint32_t frame_write(struct cpu *cpu, struct frame *f);
uint32_t frame_commit(struct cpu *cpu, struct frame *f); /* both */

/* Far JMP/CALL in every mode (SDM JMP and CALL pseudo-code). in gives
 * the operand size; sel:off is the target pointer. */
void far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, const struct insn *in);
void far_call(struct cpu *cpu, uint16_t sel, uint32_t off, const struct insn *in);
/* Far RET [imm16] (RET pseudo-code); pop_bytes = imm16. */
void far_ret(struct cpu *cpu, uint32_t pop_bytes, const struct insn *in);

/* Hardware task switch (task.c; SDM Vol. 3, 7.3). The TSS descriptor
 * has been read and checked by the caller as its instruction requires;
 * ret_eip is the EIP saved in the old TSS. */
enum task_src { TASK_JMP, TASK_CALL, TASK_INT, TASK_IRET };
/* Returns 1 when the new TSS has its T flag: the caller finishes the
 * instruction or event (error code push) and then calls task_trap(). */
int task_switch(struct cpu *cpu, uint16_t tss_sel, struct desc *tss, enum task_src src, uint32_t ret_eip);
_Noreturn void task_trap(struct cpu *cpu); /* #DB with DR6.BT */
/* The TSS selector a task gate names, checked for a task switch:
 * #GP/#NP as the JMP/CALL/INT pseudo-code defines. */
void task_gate_target(struct cpu *cpu, const struct desc *gate, uint16_t *tss_sel, struct desc *tss);

#endif
