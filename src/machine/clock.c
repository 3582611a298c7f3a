/* Virtual clock and one-shot timers (see clock.h). */
#include "machine/clock.h"

#include <string.h>
#include <time.h>

uint64_t clock_host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void clock_init(struct clock *c, enum clock_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->run_until = CLOCK_NEVER;
	c->host_base = clock_host_ns();
	c->ns_per_insn = 1;
}

static uint64_t raw_now(struct clock *c)
{
	switch (c->mode) {
	case CLOCK_HOST:
		return clock_host_ns() - c->host_base;
	case CLOCK_ICOUNT:
		if (!c->icount)
			return c->icount_time_base;
		return c->icount_time_base + (*c->icount - c->icount_base) * c->ns_per_insn;
	case CLOCK_MANUAL:
		c->manual += c->manual_step;
		return c->manual - c->manual_step;
	}
	return 0;
}

uint64_t clock_now(struct clock *c)
{
	uint64_t t = raw_now(c);
	if (t < c->last)
		t = c->last;
	c->last = t;
	return t;
}

void clock_set_icount_src(struct clock *c, const uint64_t *icount, uint32_t ns_per_insn)
{
	uint64_t t = clock_now(c);
	c->icount = icount;
	c->icount_base = icount ? *icount : 0;
	c->icount_time_base = t;
	c->ns_per_insn = ns_per_insn ? ns_per_insn : 1;
}

void clock_warp(struct clock *c, uint64_t vt)
{
	uint64_t now = clock_now(c);
	if (vt == CLOCK_NEVER || vt <= now)
		return;
	if (c->mode == CLOCK_ICOUNT)
		c->icount_time_base += vt - now;
	else if (c->mode == CLOCK_MANUAL)
		c->manual = vt;
}

void clock_set(struct clock *c, uint64_t ns)
{
	c->manual = ns;
}

uint64_t clock_host_deadline(const struct clock *c, uint64_t vt)
{
	if (c->mode != CLOCK_HOST || vt == CLOCK_NEVER || vt > UINT64_MAX - c->host_base)
		return CLOCK_NEVER;
	return vt + c->host_base;
}

uint64_t clock_icount_deadline(const struct clock *c, uint64_t vt)
{
	if (c->mode != CLOCK_ICOUNT || !c->icount || vt == CLOCK_NEVER)
		return UINT64_MAX;
	if (vt <= c->icount_time_base)
		return c->icount_base;
	uint64_t insns = (vt - c->icount_time_base + c->ns_per_insn - 1) / c->ns_per_insn;
	if (insns > UINT64_MAX - c->icount_base)
		return UINT64_MAX;
	return c->icount_base + insns;
}

void timer_init(struct timer *t, void (*cb)(void *), void *opaque)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->opaque = opaque;
	t->deadline = CLOCK_NEVER;
}

void timer_del(struct clock *c, struct timer *t)
{
	if (!t->armed)
		return;
	for (struct timer **p = &c->armed; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->next = NULL;
	t->armed = false;
	t->deadline = CLOCK_NEVER;
}

void timer_mod(struct clock *c, struct timer *t, uint64_t deadline)
{
	timer_del(c, t);
	if (deadline == CLOCK_NEVER)
		return;
	struct timer **p = &c->armed;
	while (*p && (*p)->deadline <= deadline)
		p = &(*p)->next;
	t->deadline = deadline;
	t->next = *p;
	*p = t;
	t->armed = true;
	if (c->run_until != CLOCK_NEVER && deadline < c->run_until && c->kick) {
		c->run_until = deadline;
		c->kick(c->kick_opaque);
	}
}

uint64_t clock_next_deadline(const struct clock *c)
{
	return c->armed ? c->armed->deadline : CLOCK_NEVER;
}

int clock_run_timers(struct clock *c)
{
	int n = 0;
	uint64_t now = clock_now(c);
	/* Bounded so that a callback re-arming at "now" cannot spin forever. */
	while (c->armed && c->armed->deadline <= now && n < 1000) {
		struct timer *t = c->armed;
		c->armed = t->next;
		t->next = NULL;
		t->armed = false;
		t->deadline = CLOCK_NEVER;
		t->cb(t->opaque);
		n++;
	}
	return n;
}
