/* The virtual clock every device reads, and one-shot timers.
 *
 * Modes:
 *   CLOCK_HOST   ns since the clock was created, from CLOCK_MONOTONIC;
 *   CLOCK_ICOUNT retired instructions (*icount) * ns_per_insn: the same
 *                inputs give the same timing, every run;
 *   CLOCK_MANUAL whatever clock_set() said (unit tests).
 * Time never goes backwards, even across clock_set_icount_src(). */
#ifndef RINGVM_CLOCK_H
#define RINGVM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

enum clock_mode { CLOCK_HOST, CLOCK_ICOUNT, CLOCK_MANUAL };

#define CLOCK_NEVER UINT64_MAX

struct timer {
	uint64_t deadline; /* virtual ns, CLOCK_NEVER when not armed */
	void (*cb)(void *opaque);
	void *opaque;
	struct timer *next; /* armed list, sorted by deadline */
	bool armed;
};

struct clock {
	enum clock_mode mode;
	uint64_t host_base;      /* CLOCK_MONOTONIC ns at virtual time 0 */
	const uint64_t *icount;  /* CLOCK_ICOUNT source */
	uint64_t icount_base;    /* icount value at icount_time_base */
	uint64_t icount_time_base;
	uint32_t ns_per_insn;
	uint64_t manual;         /* CLOCK_MANUAL time */
	uint64_t manual_step;    /* CLOCK_MANUAL: added after every read, so
				  * tests can make time move on between two
				  * reads as a preempted host does */
	uint64_t last;           /* highest value returned (monotonic guard) */
	struct timer *armed;
	/* While the CPU runs to run_until (CLOCK_NEVER: it is not running),
	 * a timer armed earlier than that (a guest programming a short
	 * timeout) calls kick() so the run loop can stop the CPU in time. */
	uint64_t run_until;
	void (*kick)(void *opaque);
	void *kick_opaque;
};

uint64_t clock_host_ns(void); /* raw CLOCK_MONOTONIC */

void clock_init(struct clock *c, enum clock_mode mode);
/* CLOCK_ICOUNT: where the instruction count lives and how long one takes.
 * Calling again (a new CPU after reset) keeps time continuous. */
void clock_set_icount_src(struct clock *c, const uint64_t *icount, uint32_t ns_per_insn);
void clock_set(struct clock *c, uint64_t ns); /* CLOCK_MANUAL only */

uint64_t clock_now(struct clock *c);

/* Move virtual time forward to vt without instructions being retired
 * (CLOCK_ICOUNT and CLOCK_MANUAL: an idle, halted CPU skips to the next
 * timer). No effect if vt is not in the future or in CLOCK_HOST mode. */
void clock_warp(struct clock *c, uint64_t vt);

/* Host CLOCK_MONOTONIC ns at which virtual time reaches vt (CLOCK_HOST),
 * or CLOCK_NEVER in the other modes. */
uint64_t clock_host_deadline(const struct clock *c, uint64_t vt);
/* Instruction count at which virtual time reaches vt (CLOCK_ICOUNT), or
 * UINT64_MAX in the other modes. */
uint64_t clock_icount_deadline(const struct clock *c, uint64_t vt);

void timer_init(struct timer *t, void (*cb)(void *), void *opaque);
void timer_mod(struct clock *c, struct timer *t, uint64_t deadline);
void timer_del(struct clock *c, struct timer *t);

/* Earliest armed deadline, or CLOCK_NEVER. */
uint64_t clock_next_deadline(const struct clock *c);
/* Run every timer whose deadline has passed; returns how many ran.
 * A callback may re-arm its own or other timers. */
int clock_run_timers(struct clock *c);

#endif
