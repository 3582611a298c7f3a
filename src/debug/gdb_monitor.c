/* gdb's "monitor" commands (qRcmd): the processor's mode, the system
 * registers in one line, physical memory, and linear -> physical
 * translation with the page-table flags. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "debug/gdb_int.h"

#define PHYS_MAX 1024u /* bytes one "monitor phys" shows */

enum gdb_mode gdb_mode(const struct cpu *cpu)
{
	if (!(cpu->cr0 & CR0_PE))
		return GDB_MODE_REAL;
	if (cpu->eflags & FL_VM)
		return GDB_MODE_V86;
	return cpu->code32 ? GDB_MODE_PROT32 : GDB_MODE_PROT16;
}

void gdb_mode_line(const struct cpu *cpu, char *out, size_t n)
{
	switch (gdb_mode(cpu)) {
	case GDB_MODE_REAL:
	case GDB_MODE_V86:
		snprintf(out, n, "%s mode at %04x:%04x (linear %#x): the PC and memory addresses are linear "
			 "(CS*16+IP); use 'set architecture i8086'",
			 gdb_mode(cpu) == GDB_MODE_REAL ? "real" : "virtual-8086", cpu->seg[S_CS].sel,
			 cpu->eip & 0xffff, gdb_pc(cpu));
		break;
	case GDB_MODE_PROT16:
		snprintf(out, n, "protected mode, 16-bit code, CPL %u, paging %s: addresses are linear "
			 "(CS base %#x); use 'set architecture i8086'",
			 cpu->cpl, (cpu->cr0 & CR0_PG) ? "on" : "off", cpu->seg[S_CS].base);
		break;
	case GDB_MODE_PROT32:
		snprintf(out, n, "protected mode, 32-bit code, CPL %u, paging %s%s", cpu->cpl,
			 (cpu->cr0 & CR0_PG) ? "on" : "off", cpu->seg[S_CS].base ? " (CS base is not 0: addresses are linear)" : "");
		break;
	}
}

struct text {
	char *p, *end;
};

static void say(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->p, (size_t)(t->end - t->p), fmt, ap);
	va_end(ap);
	if (n > 0)
		t->p += n < t->end - t->p ? n : t->end - t->p - 1;
}

/* A number as C writes it (0x.. hex, else decimal); 0 or -1. */
static int number(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (!*s || *end || errno || x > 0xffffffffull || *s == '-')
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static void cmd_regs(const struct cpu *cpu, struct text *t)
{
	say(t, "cr0=0x%08x cr2=0x%08x cr3=0x%08x cr4=0x%08x gdtr=%#x/%#x idtr=%#x/%#x ldtr=0x%04x tr=0x%04x "
	       "cpl=%u eflags=0x%08x mode=%s\n",
	    cpu->cr0, cpu->cr2, cpu->cr3, cpu->cr4, cpu->gdtr.base, cpu->gdtr.limit, cpu->idtr.base, cpu->idtr.limit,
	    cpu->ldtr.sel, cpu->tr.sel, cpu->cpl, cpu->eflags,
	    (const char *[]){ "real", "v86", "prot16", "prot32" }[gdb_mode(cpu)]);
}

static void cmd_phys(struct cpu *cpu, struct text *t, const char *a, const char *l)
{
	uint32_t addr, len = 16;
	if (!a || number(a, &addr) < 0 || (l && number(l, &len) < 0)) {
		say(t, "usage: monitor phys ADDR [LEN]\n");
		return;
	}
	if (len > PHYS_MAX)
		len = PHYS_MAX;
	uint8_t buf[PHYS_MAX];
	uint32_t got = hostdbg_read(cpu, addr, buf, len, 1);
	for (uint32_t i = 0; i < got; i += 16) {
		say(t, "%08x:", addr + i);
		for (uint32_t k = i; k < i + 16 && k < got; k++)
			say(t, " %02x", buf[k]);
		say(t, "\n");
	}
	if (got < len)
		say(t, "physical %#x: not RAM or ROM\n", addr + got);
}

static void cmd_xlate(struct cpu *cpu, struct text *t, const char *a)
{
	uint32_t lin;
	if (!a || number(a, &lin) < 0) {
		say(t, "usage: monitor xlate ADDR\n");
		return;
	}
	struct hostdbg_xlate x;
	int r = hostdbg_translate(cpu, lin, &x);
	if (!x.paging) {
		say(t, "linear 0x%08x -> physical 0x%08llx (paging off)\n", lin, (unsigned long long)x.pa);
		return;
	}
	if (r < 0) {
		say(t, "linear 0x%08x: not mapped (pde 0x%08llx", lin, (unsigned long long)x.pde);
		if (x.pde & 1)
			say(t, ", pte 0x%08llx", (unsigned long long)x.pte);
		say(t, ")\n");
		return;
	}
	/* Effective permissions combine both levels (SDM Vol. 3, 4.6). */
	uint64_t both = x.big ? x.pde : (x.pde & x.pte);
	say(t, "linear 0x%08x -> physical 0x%08llx (%s page, pde 0x%08llx", lin, (unsigned long long)x.pa,
	    x.big ? (x.pae ? "2M" : "4M") : "4K", (unsigned long long)x.pde);
	if (!x.big)
		say(t, ", pte 0x%08llx", (unsigned long long)x.pte);
	/* XD counts in any level (4.6), with EFER.NXE */
	int xd = x.pae && (cpu->efer & EFER_NXE) && ((x.pde | x.pte) >> 63);
	say(t, ") P %s %s%s%s%s%s\n", (both & 2) ? "RW" : "RO", (both & 4) ? "U" : "S", (x.pte & 0x20) ? " A" : "",
	    (x.pte & 0x40) ? " D" : "", (x.pte & 0x100) ? " G" : "", xd ? " XD" : "");
}

void gdb_monitor(struct gdbstub *g, const char *cmd, char *out, size_t n)
{
	struct text t = { out, out + n };
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", cmd);
	char *save = NULL;
	const char *w0 = strtok_r(buf, " \t", &save);
	const char *w1 = strtok_r(NULL, " \t", &save);
	const char *w2 = strtok_r(NULL, " \t", &save);
	out[0] = 0;
	if (!w0 || !strcmp(w0, "help")) {
		say(&t, "ringvm monitor commands:\n"
			"  mode              the processor's mode and how addresses work in it\n"
			"  regs              the system registers in one line\n"
			"  phys ADDR [LEN]   physical memory (up to %u bytes)\n"
			"  xlate ADDR        linear -> physical through the guest's page tables\n"
			"  icount            instructions retired (the replay's clock for reverse commands)\n",
		    PHYS_MAX);
	} else if (!strcmp(w0, "mode")) {
		char line[256];
		gdb_mode_line(g->cpu, line, sizeof(line));
		say(&t, "%s\n", line);
	} else if (!strcmp(w0, "regs")) {
		cmd_regs(g->cpu, &t);
	} else if (!strcmp(w0, "phys")) {
		cmd_phys(g->cpu, &t, w1, w2);
	} else if (!strcmp(w0, "xlate")) {
		cmd_xlate(g->cpu, &t, w1);
	} else if (!strcmp(w0, "icount")) {
		say(&t, "%llu\n", (unsigned long long)g->cpu->icount);
	} else {
		say(&t, "unknown monitor command '%s' (try 'monitor help')\n", w0);
	}
}
