/* The PC's 8259A programmable interrupt controller pair: master at
 * 0x20/0x21, slave at 0xa0/0xa1 cascaded on master IR2, edge/level
 * control registers (ELCR) at 0x4d0/0x4d1 as PIIX chipsets have. */
#ifndef RINGVM_PIC8259_H
#define RINGVM_PIC8259_H

#include <stdint.h>

#include "dev/dev.h"
#include "machine/bus.h"

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;          /* current input levels (edge detection) */
	uint8_t elcr, elcr_mask;
	uint8_t vector_base;    /* ICW2 & 0xf8 */
	uint8_t priority_add;   /* IR with the highest priority */
	uint8_t init_state;     /* 0 ready, 1..3 waiting for ICW2..ICW4 */
	uint8_t icw1, icw3, icw4;
	uint8_t read_isr;       /* OCW3 RR/RIS: 1 reads ISR, 0 reads IRR */
	uint8_t poll;           /* OCW3 P: next read is a poll */
	uint8_t special_mask;   /* OCW3 SMM */
	uint8_t rotate_aeoi;    /* OCW2 "rotate in automatic EOI mode" */
	uint8_t is_master;
};

struct pic {
	struct pic_chip chip[2]; /* [0] master, [1] slave */
	/* INTR output to the processor. */
	void (*set_intr)(void *opaque, int level);
	void *intr_opaque;
	int intr;               /* current INTR level */
};

int pic_init(struct pic *p, struct bus *pio, void (*set_intr)(void *, int), void *opaque);
void pic_reset(struct pic *p);
/* Drive input irq (0..15) to level (0/1). Matches struct irq_line. */
void pic_set_irq(void *pic, int irq, int level);
/* Interrupt acknowledge cycle: the vector to run (spurious IR7/IR15 if
 * the request went away). */
int pic_intack(struct pic *p);
/* 1 if INTR is asserted. */
int pic_pending(const struct pic *p);


extern const struct dev_ops pic_dev_ops; /* reset, save, load */

#endif
