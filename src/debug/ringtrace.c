/* The ring-transition trace (see ringtrace.h). */
#include "debug/ringtrace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/seg.h"
#include "cpu/xfer.h"

struct ringtrace;

/* One traced CPU: its hook's opaque, so a record knows whose it is. */
struct ringtrace_cpu {
	struct ringtrace *t;
	struct cpu *cpu;
	int index;
	struct xfer_hook hook;
};

struct ringtrace {
	FILE *f;
	int ncpus;        /* 0 until attached */
	struct ringtrace_cpu cpus[RINGTRACE_MAX_CPUS];
	uint64_t t0;      /* host ns at attach */
	uint64_t records;
};

static uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *const kind_name[] = {
	[XFER_EXC] = "exception", [XFER_INT] = "interrupt", [XFER_NMI] = "nmi",
	[XFER_SOFTINT] = "int", [XFER_CALL_GATE] = "call_gate", [XFER_JMP_GATE] = "jmp_gate",
	[XFER_TASK] = "task_switch", [XFER_SYSENTER] = "sysenter", [XFER_SYSEXIT] = "sysexit",
	[XFER_IRET] = "iret", [XFER_RETF] = "retf", [XFER_MODE] = "mode", [XFER_SHUTDOWN] = "shutdown",
};

static const char *const mode_name[] = { [XMODE_REAL] = "real", [XMODE_PROT] = "prot", [XMODE_V86] = "v86" };

static const char *gate_name(int type)
{
	switch (type) {
	case DT_TASK: return "task_gate";
	case DT_INT16: case DT_INT32: return "interrupt_gate";
	case DT_TRAP16: case DT_TRAP32: return "trap_gate";
	case DT_CALL16: case DT_CALL32: return "call_gate";
	case DT_TSS16_AVAIL: case DT_TSS32_AVAIL: case DT_TSS16_BUSY: case DT_TSS32_BUSY: return "tss";
	default: return NULL;
	}
}

/* The machine's instruction count: every CPU's (one runs at a time, so
 * it only grows from record to record, as virtual time does). */
static uint64_t machine_icount(const struct ringtrace *t)
{
	uint64_t n = 0;
	for (int i = 0; i < t->ncpus; i++)
		n += t->cpus[i].cpu->icount;
	return n;
}

/* The fields every record has: time, kind, the CPU (when there are
 * several), and the state arrived in. */
static void put_head(struct ringtrace_cpu *c, const char *kind)
{
	struct ringtrace *t = c->t;
	fprintf(t->f, "{\"icount\":%llu,\"ns\":%llu,\"kind\":\"%s\"", (unsigned long long)machine_icount(t),
		(unsigned long long)(host_ns() - t->t0), kind);
	if (t->ncpus > 1)
		fprintf(t->f, ",\"cpu\":%d", c->index);
	t->records++;
}

static void put_to(struct ringtrace *t, const struct cpu *cpu, uint32_t eip)
{
	fprintf(t->f, ",\"to_cs\":%u,\"to_eip\":%u,\"to_cpl\":%u,\"to_mode\":\"%s\"", cpu->seg[S_CS].sel,
		eip, cpu->cpl, mode_name[xfer_mode_of(cpu)]);
}

static void on_event(void *opaque, const struct cpu *cpu, const struct xfer_event *ev)
{
	struct ringtrace_cpu *c = opaque;
	struct ringtrace *t = c->t;
	put_head(c, kind_name[ev->kind]);
	fprintf(t->f, ",\"from_cs\":%u,\"from_eip\":%u,\"from_cpl\":%u,\"from_mode\":\"%s\"", ev->from.cs,
		ev->from.eip, ev->from.cpl, mode_name[ev->from.mode]);
	put_to(t, cpu, cpu->next_eip);
	if (ev->vector >= 0)
		fprintf(t->f, ",\"vector\":%d", ev->vector);
	if (ev->has_error)
		fprintf(t->f, ",\"error\":%u", ev->error);
	const char *g = gate_name(ev->gate_type);
	if (g)
		fprintf(t->f, ",\"gate\":\"%s\",\"gate_sel\":%u", g, ev->gate);
	if (ev->tss)
		fprintf(t->f, ",\"tss\":%u", ev->tss);
	fputs("}\n", t->f);
}

struct ringtrace *ringtrace_open(const char *path, char *err, size_t errlen)
{
	struct ringtrace *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->f = fopen(path, "w");
	if (!t->f) {
		snprintf(err, errlen, "--trace-rings '%s': %s", path, strerror(errno));
		free(t);
		return NULL;
	}
	/* Linux boots make hundreds of thousands of records: write in big pieces. */
	setvbuf(t->f, NULL, _IOFBF, 1 << 16);
	return t;
}

void ringtrace_attach(struct ringtrace *t, int n, struct cpu *const cpus[])
{
	t->ncpus = n < RINGTRACE_MAX_CPUS ? n : RINGTRACE_MAX_CPUS;
	t->t0 = host_ns();
	for (int i = 0; i < t->ncpus; i++) {
		struct ringtrace_cpu *c = &t->cpus[i];
		*c = (struct ringtrace_cpu){ t, cpus[i], i, { c, on_event } };
	}
	for (int i = 0; i < t->ncpus; i++) {
		struct ringtrace_cpu *c = &t->cpus[i];
		put_head(c, "start");
		put_to(t, c->cpu, c->cpu->eip);
		fputs("}\n", t->f);
		c->cpu->xfer = &c->hook;
	}
}

int ringtrace_close(struct ringtrace *t, int status, char *err, size_t errlen)
{
	if (!t)
		return 0;
	int rc = 0;
	for (int i = 0; i < t->ncpus; i++)
		t->cpus[i].cpu->xfer = NULL;
	/* One "end" per CPU; the last one's count is the whole file's. */
	for (int i = 0; i < t->ncpus; i++) {
		struct ringtrace_cpu *c = &t->cpus[i];
		put_head(c, "end");
		put_to(t, c->cpu, c->cpu->eip);
		fprintf(t->f, ",\"status\":%d,\"records\":%llu}\n", status, (unsigned long long)t->records);
	}
	if (ferror(t->f) | fclose(t->f)) {
		snprintf(err, errlen, "--trace-rings: could not write the whole trace");
		rc = -1;
	}
	free(t);
	return rc;
}
