/* The CPUs as gdb's threads (ids 1..N, as QEMU numbers them): the thread
 * list and its extra info, the selected thread (Hg, Hc), which CPU a stop
 * is reported for, and which CPU a resume packet steps. All-stop, as
 * QEMU: a stop of one CPU stops them all, and a step runs the stepped CPU
 * alone. */
#include <string.h>

#include "debug/gdb_int.h"

#define TID_ALL (-1)
#define TID_ANY 0
#define TID_BAD (-2)

/* A thread id at *p: "-1" (all), "0" (any) or hex 1..ncpus; TID_BAD. */
static int parse_tid(const struct gdbstub *g, const char **p)
{
	if (!strncmp(*p, "-1", 2)) {
		*p += 2;
		return TID_ALL;
	}
	uint32_t v;
	if (gdb_parse_hex(p, &v) < 0 || v > (uint32_t)g->ncpus)
		return TID_BAD;
	return (int)v;
}

int gdb_stopped_cpu(const struct gdbstub *g)
{
	int cur = g->cur ? *g->cur : 0;
	for (int k = 0; k < g->ncpus; k++) {
		int i = (cur + k) % g->ncpus;
		if (g->hd[i].stop != HOSTDBG_NONE)
			return i;
	}
	return cur;
}

void gdb_select(struct gdbstub *g, int i)
{
	g->sel = i;
	g->cpu = g->cpus[i];
}

static const char *cpu_state(const struct cpu *cpu)
{
	if (cpu->wait_sipi)
		return "waiting for SIPI";
	return cpu->halted ? "halted" : "running";
}

/* qThreadExtraInfo,ID: what `info threads` shows beside the thread. */
static void extra_info(const struct gdbstub *g, const char *a, char *o)
{
	int t = parse_tid(g, &a);
	if (t < 1 || *a) {
		strcpy(o, "E22");
		return;
	}
	char text[64];
	snprintf(text, sizeof(text), "CPU#%d [%s]", t - 1, cpu_state(g->cpus[t - 1]));
	gdb_hex(o, (const uint8_t *)text, strlen(text));
}

static void thread_list(const struct gdbstub *g, char *o, size_t n)
{
	size_t k = 0;
	o[k++] = 'm';
	for (int i = 0; i < g->ncpus && k + 4 < n; i++)
		k += (size_t)snprintf(o + k, n - k, "%s%02x", i ? "," : "", i + 1);
	o[k] = 0;
}

/* Hg / Hc: select the thread registers and memory, or resumes, go to. */
static void set_thread(struct gdbstub *g, const char *a, char *o)
{
	char which = *a++;
	int t = parse_tid(g, &a);
	if (t == TID_BAD || *a) {
		strcpy(o, "E22");
		return;
	}
	if (which == 'g') {
		if (t > 0)
			gdb_select(g, t - 1);
	} else if (which == 'c') {
		g->csel = t;
	}
	strcpy(o, "OK");
}

void gdb_thread_packet(struct gdbstub *g, const char *pkt, char *o, size_t n)
{
	if (pkt[0] == 'H') {
		set_thread(g, pkt + 1, o);
	} else if (pkt[0] == 'T') {
		const char *a = pkt + 1;
		int t = parse_tid(g, &a);
		strcpy(o, t >= 1 && !*a ? "OK" : "E22"); /* every CPU lives as long as the machine */
	} else if (!strcmp(pkt, "qC")) {
		snprintf(o, n, "QC%02x", g->sel + 1);
	} else if (!strcmp(pkt, "qfThreadInfo")) {
		thread_list(g, o, n);
	} else if (!strcmp(pkt, "qsThreadInfo")) {
		strcpy(o, "l");
	} else if (!strncmp(pkt, "qThreadExtraInfo,", 17)) {
		extra_info(g, pkt + 17, o);
	} else {
		o[0] = 0;
	}
}

int gdb_step_cpu(const struct gdbstub *g, int legacy_step)
{
	if (!legacy_step)
		return -1;
	return g->csel > 0 ? g->csel - 1 : g->sel;
}

/* "ACTION[:TID];ACTION[:TID]...": the CPU the first step action names
 * (without a thread: the selected one), -1 when all continue. A signal
 * to deliver (C/S) is not a guest notion here and is dropped. */
int gdb_vcont_step_cpu(const struct gdbstub *g, const char *a)
{
	int step = -1;
	for (;;) {
		char act = *a++;
		if (act != 'c' && act != 'C' && act != 's' && act != 'S')
			return -2;
		if (act == 'C' || act == 'S') {
			uint32_t sig;
			if (gdb_parse_hex(&a, &sig) < 0)
				return -2;
		}
		int t = TID_ALL;
		if (*a == ':') {
			a++;
			if ((t = parse_tid(g, &a)) == TID_BAD || t == TID_ANY)
				return -2;
		}
		if ((act == 's' || act == 'S') && step < 0)
			step = t > 0 ? t - 1 : g->sel;
		if (!*a)
			return step;
		if (*a++ != ';')
			return -2;
	}
}
