/* Internal to the gdb stub (debug/gdb*.c): the stub's state, packet
 * framing (gdb_packet.c), registers and the target description
 * (gdb_regs.c), monitor commands (gdb_monitor.c). */
#ifndef RINGVM_GDB_INT_H
#define RINGVM_GDB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/hostdbg.h"
#include "debug/gdbstub.h"

#define GDB_PKT_MAX 16384   /* the PacketSize we announce */
#define GDB_OUT_MAX 32768   /* our longest reply, hex digits included */

struct engine;

enum gdb_rx { RX_IDLE, RX_DATA, RX_SUM1, RX_SUM2 };

struct gdbstub {
	int lfd, cfd;          /* listening socket, connected gdb (-1: none) */
	int port;
	FILE *log;
	struct cpu *cpu;       /* the selected CPU (Hg): registers, memory, monitor */
	/* The CPUs, gdb's threads 1..ncpus (gdb_threads.c). */
	int ncpus;
	struct cpu *cpus[GDBSTUB_MAX_CPUS];
	struct engine *engs[GDBSTUB_MAX_CPUS];
	struct hostdbg hd[GDBSTUB_MAX_CPUS]; /* each holds every breakpoint and watchpoint */
	const int *cur;        /* the board's CPU that runs or ran last */
	int sel;               /* index of g->cpu */
	int csel;              /* Hc: the CPU 'c' and 's' resume (-1: all, 0 the selected one's) */
	int stop_cpu;          /* the CPU the last stop came from (thread:N of the reply) */
	bool at_stop[GDBSTUB_MAX_CPUS]; /* stopped there and reported, not run since */
	int only;              /* a step: the one CPU that runs (-1: all) */
	bool wait;             /* -S: hold the guest until gdb resumes it */
	bool stopped;          /* gdb holds the guest */
	bool kill;             /* gdb asked to end ringvm */
	bool no_ack;           /* QStartNoAckMode */
	bool gone;             /* this connection was let go (detach): said so */
	int stop_sig;          /* signal of the stop reply: 5 trap, 2 interrupt */
	int last_mode;         /* mode last announced (gdb_mode_*) */
	/* packet being received */
	enum gdb_rx rx;
	char pkt[GDB_PKT_MAX + 1];
	size_t pkt_len;
	bool pkt_overflow;
	unsigned sum;
	char sum_hi;
	char out[GDB_OUT_MAX + 1]; /* reply being built */
	char xml[8192];        /* the target description */
	size_t xml_len;
	/* reverse execution (gdb_reverse.c), while replaying */
	struct gdbstub_rewind rw; /* restart == NULL: not offered */
	int rev;               /* enum gdb_rev */
	uint64_t rev_target;   /* the instruction count the re-execution runs to */
	uint64_t rev_hit;      /* a scan: the last stop before the target (UINT64_MAX: none) */
	struct hostdbg rev_hit_why; /* its stop, watchpoint and all */
	bool rev_begin;        /* stopped at the start of the replay: say so */
};

enum gdb_rev { REV_NONE, REV_SCAN, REV_GOTO };

/* ---- gdb_packet.c ---- */
/* Feed received bytes; calls gdb_dispatch() for each good packet and
 * gdb_interrupt() for a Ctrl-C byte outside packets. */
void gdb_rx_bytes(struct gdbstub *g, const uint8_t *b, size_t n);
/* Send a packet (framing and checksum added). 0, or -1 if the
 * connection failed (it is then closed). */
int gdb_send(struct gdbstub *g, const char *data);
void gdb_close_client(struct gdbstub *g);
int gdb_hexval(int c);
/* Parse hex digits at *p (at least one), advancing *p. 0 or -1. */
int gdb_parse_hex(const char **p, uint32_t *v);
/* Hex-encode n bytes into out (2n digits + NUL); returns out + 2n. */
char *gdb_hex(char *out, const uint8_t *b, size_t n);
/* Decode hex digits into bytes: the count, or -1 on a bad digit. */
long gdb_unhex(uint8_t *b, size_t max, const char *hex);

/* ---- gdbstub.c ---- */
void gdb_dispatch(struct gdbstub *g, char *pkt, size_t len);
void gdb_interrupt(struct gdbstub *g);

/* Stop and resume (the reply to a resume is the next stop). A resume
 * steps CPU step_cpu while the others stay stopped, or (-1) continues
 * every CPU. */
void gdb_stop(struct gdbstub *g, int sig);
void gdb_resume(struct gdbstub *g, int step_cpu);
void gdb_report_stop(struct gdbstub *g);

/* ---- gdb_threads.c ---- */
/* The CPU to report a stop of: the first, from the one that ran last,
 * whose debugger set says why it stopped; else the one that ran last. */
int gdb_stopped_cpu(const struct gdbstub *g);
/* Make CPU i the selected one (registers, memory). */
void gdb_select(struct gdbstub *g, int i);
/* 'H', 'T', qC, qfThreadInfo, qsThreadInfo, qThreadExtraInfo: the reply
 * into o. */
void gdb_thread_packet(struct gdbstub *g, const char *pkt, char *o, size_t n);
/* 'c', 's' and vCont's actions: the CPU to step (-1: continue all), or
 * -2 for a packet that does not parse. */
int gdb_step_cpu(const struct gdbstub *g, int legacy_step);
int gdb_vcont_step_cpu(const struct gdbstub *g, const char *actions);

/* ---- gdb_reverse.c ---- */
/* 'bs' (step) and 'bc': 0 if the guest now re-executes (the reply is
 * the next stop), else -1 with the reply in o. */
int gdb_reverse(struct gdbstub *g, int step, char *o, size_t n);
/* Between runs while re-executing: 1 if this stop was the reverse
 * command's (it went on or reported), 0 if it is not its business. */
int gdb_reverse_poll(struct gdbstub *g);
/* Forget a reverse command (gdb interrupted it). */
void gdb_reverse_cancel(struct gdbstub *g);

/* ---- gdb_regs.c ---- */
/* Write the target description (qXfer:features:read:target.xml) for
 * the bfd architecture arch ("i386", "i8086") into out; its length, or 0
 * if n is too small. */
size_t gdb_target_xml(char *out, size_t n, const char *arch);
/* All registers for 'g' (hex into out); one for 'p' (-1: no such). */
void gdb_regs_read(const struct cpu *cpu, char *out);
int gdb_reg_read(const struct cpu *cpu, unsigned n, char *out);
/* 'P' and 'G': 0, or -1 for a register that cannot take this value. */
int gdb_reg_write(struct cpu *cpu, unsigned n, const uint8_t *v, size_t len);
int gdb_regs_write(struct cpu *cpu, const uint8_t *v, size_t len);
/* The PC as gdb sees it: CS.base + EIP (the linear address). */
uint32_t gdb_pc(const struct cpu *cpu);

/* ---- gdb_monitor.c ---- */
enum gdb_mode { GDB_MODE_REAL, GDB_MODE_V86, GDB_MODE_PROT16, GDB_MODE_PROT32 };
enum gdb_mode gdb_mode(const struct cpu *cpu);
/* One line saying the mode and how to debug in it (no newline). */
void gdb_mode_line(const struct cpu *cpu, char *out, size_t n);
/* Run a monitor command; its output text goes to out. */
void gdb_monitor(struct gdbstub *g, const char *cmd, char *out, size_t n);

#endif
