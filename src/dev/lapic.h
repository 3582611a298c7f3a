/* The P6's local APIC, xAPIC registers in a 4 KiB MMIO page at
 * IA32_APIC_BASE (default 0xFEE00000): ID, version, TPR/APR/PPR, EOI,
 * LDR/DFR, spurious vector and software enable, ISR/TMR/IRR, error status,
 * ICR (self IPIs and shorthands for one CPU), the five P6 LVT entries
 * (timer, performance counter, LINT0, LINT1, error) and the timer (one-shot
 * and periodic, divide configuration) on the board's virtual clock.
 *
 * It sits between the interrupt sources and the CPU: the board's 8259 INTR
 * drives LINT0, the IOAPIC sends it messages, and its output is what the
 * CPU's INTR line and interrupt acknowledge see (lapic_intack): the
 * highest fixed vector above the processor priority, else the 8259's
 * vector through ExtINT (virtual-wire mode), else the spurious vector.
 * docs/board.md lists what is modelled and what is not. */
#ifndef RINGVM_LAPIC_H
#define RINGVM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machine/bus.h"
#include "machine/clock.h"

#define LAPIC_DEFAULT_BASE 0xfee00000u
#define LAPIC_VERSION 0x14u     /* an integrated (xAPIC) local APIC */
#define LAPIC_NS_PER_TICK 10u   /* timer input: a 100 MHz bus clock */

/* LVT entries of a P6 (SDM Vol. 3, "Local Vector Table"). */
enum { LVT_TIMER, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LAPIC_NLVT };

/* Delivery modes shared by the ICR, the LVT and IOAPIC redirection
 * entries (3 and 7 are reserved in the ICR, 3 and 6 in the IOAPIC). */
enum { APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4, APIC_DM_INIT = 5,
       APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7 };

/* What the local APIC drives on the board. */
struct lapic_board {
	void *opaque;
	void (*set_intr)(void *opaque, int level); /* the CPU's INTR input */
	void (*nmi)(void *opaque);                 /* the CPU's NMI input */
	int (*extint_ack)(void *opaque);           /* INTA cycle to the 8259: its vector */
	void (*eoi)(void *opaque, uint8_t vector); /* EOI of a level-triggered vector (IOAPIC) */
	/* Optional: the APIC bus to the other processors' APICs. The ICR's
	 * IPIs go out through it (shorthand as in ICR bits 19:18: 0 the
	 * destination field, 1 self, 2 all, 3 all but self), and the board
	 * delivers them to every APIC they reach, this one included. NULL:
	 * this APIC is alone, and IPIs reach only itself. */
	void (*ipi)(void *opaque, int shorthand, uint8_t dest, bool logical, int mode, uint8_t vector);
};

struct lapic {
	uint32_t base;       /* where the register page is mapped */
	bool mapped;
	bool hw_enabled;     /* IA32_APIC_BASE bit 11 */
	uint8_t id;
	uint8_t hw_id;       /* the ID it takes at reset (its processor's number) */
	bool virtual_wire;   /* LINT0 starts as ExtINT, unmasked: the bootstrap
			      * processor's, as a PC BIOS leaves it */
	uint32_t tpr, svr, ldr, dfr;
	uint32_t esr;        /* what the ESR shows (latched at the last ESR write) */
	uint32_t esr_new;    /* errors since the last ESR write */
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_NLVT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t divide;     /* divide configuration register */
	uint32_t initial;    /* timer initial count (0: stopped) */
	uint64_t start_ns;   /* virtual time the count was (re)based at initial */
	uint8_t lint[2];     /* LINT0/LINT1 input levels */
	uint8_t extint_req;  /* an ExtINT message from the IOAPIC waits for INTA */
	int intr;            /* current INTR output */
	struct timer timer;
	struct clock *clock;
	struct bus *mmio;
	struct lapic_board board;
	FILE *log;           /* guest programming errors (NULL: silent) */
	unsigned logged;
};

int lapic_init(struct lapic *a, struct bus *mmio, struct clock *clk, const struct lapic_board *board, FILE *log);
void lapic_reset(struct lapic *a); /* power-up state, mapped at the default base */
/* An INIT signal: registers to their power-up values, except the ID and
 * where the page is mapped (SDM, "Local APIC State After an INIT Reset"). */
void lapic_init_reset(struct lapic *a);
/* The CPU wrote IA32_APIC_BASE: relocation and the global enable. */
void lapic_set_base(struct lapic *a, uint64_t msr);
/* Drive LINT0 (n = 0) or LINT1 (n = 1); matches struct irq_line. */
void lapic_set_lint(void *lapic, int n, int level);
/* Does a message for dest (physical APIC ID, or logical with the LDR and
 * DFR) reach this APIC? 0xFF is the broadcast in both modes. */
bool lapic_match_dest(const struct lapic *a, uint8_t dest, bool logical);
/* An interrupt message (IOAPIC or IPI): fixed, lowest priority, NMI,
 * ExtINT; SMI is ignored, and INIT and STARTUP are the board's to act on
 * (they reset and start the processor, not the APIC alone). Returns
 * whether the APIC accepted it. */
bool lapic_deliver(struct lapic *a, int mode, uint8_t vector, bool level);
/* The CPU's interrupt acknowledge: the vector it runs. */
int lapic_intack(struct lapic *a);
/* The processor priority (PPR): lowest-priority delivery picks by it. */
uint32_t lapic_ppr(const struct lapic *a);
/* Timer current count (also the register at 0x390). */
uint32_t lapic_timer_count(struct lapic *a);


extern const struct dev_ops lapic_dev_ops; /* reset, save, load */

#endif
