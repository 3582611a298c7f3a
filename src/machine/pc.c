/* The PC board: wiring and the run loop (see pc.h, docs/board.md). */
#include "machine/pc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "dev/debug_exit.h"

#define SLICE_NS 10000000ull /* longest run between console polls: 10 ms */
#define DETERMINISTIC_EPOCH 1704067200 /* 2024-01-01 00:00:00 UTC */

/* ---- signals: the only process-wide state of the board ---- */

static volatile sig_atomic_t got_signal;
static volatile int *signal_stop;   /* the running CPU's stop_request */
static int signal_fd = -1;          /* self-pipe write end */

static void on_signal(int sig)
{
	if (got_signal) {
		/* Second signal: the loop is stuck; leave now. */
		console_restore_tty();
		_exit(128 + sig);
	}
	got_signal = sig;
	if (signal_stop)
		*signal_stop = 1;
	if (signal_fd >= 0) {
		char b = 0;
		ssize_t r = write(signal_fd, &b, 1);
		(void)r;
	}
}

static void on_fatal_signal(int sig)
{
	console_restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(struct pc *pc)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pc->con.tty) {
		/* Give the terminal back even when something crashes. */
		sa.sa_handler = on_fatal_signal;
		sa.sa_flags = SA_RESETHAND;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		sigaction(SIGABRT, &sa, NULL);
		sigaction(SIGFPE, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
	}
}

/* ---- device -> board requests ---- */

static void stop_cpu(struct pc *pc)
{
	pc->cpu.stop_request = 1;
	pc->cpu.block_break = 1; /* do not run the rest of the block */
}

static void req_reset(void *opaque)
{
	struct pc *pc = opaque;
	if (pc->action == PC_ACT_NONE)
		pc->action = PC_ACT_RESET;
	stop_cpu(pc);
}

static void req_poweroff(void *opaque)
{
	struct pc *pc = opaque;
	if (pc->action == PC_ACT_NONE || pc->action == PC_ACT_RESET)
		pc->action = PC_ACT_POWEROFF;
	stop_cpu(pc);
}

static void req_exit(void *opaque, int status)
{
	struct pc *pc = opaque;
	if (pc->action != PC_ACT_EXIT) {
		pc->action = PC_ACT_EXIT;
		pc->exit_status = status;
	}
	stop_cpu(pc);
}

static void req_a20(void *opaque, bool on)
{
	struct pc *pc = opaque;
	cpu_set_a20(&pc->cpu, on);
}

/* ---- the CPU's view of the board ---- */

static uint32_t cb_pio_read(void *opaque, uint16_t port, int size)
{
	struct pc *pc = opaque;
	return bus_read(&pc->pio, port, size);
}

static void cb_pio_write(void *opaque, uint16_t port, int size, uint32_t val)
{
	struct pc *pc = opaque;
	bus_write(&pc->pio, port, size, val);
}

static uint32_t cb_mmio_read(void *opaque, uint32_t pa, int size)
{
	struct pc *pc = opaque;
	return bus_read(&pc->mmio, pa, size);
}

static void cb_mmio_write(void *opaque, uint32_t pa, int size, uint32_t val)
{
	struct pc *pc = opaque;
	bus_write(&pc->mmio, pa, size, val);
}

/* RDTSC follows the virtual clock, so --deterministic runs are
 * reproducible down to the TSC values the guest reads. */
static uint64_t cb_now_ns(void *opaque)
{
	struct pc *pc = opaque;
	return clock_now(&pc->clock);
}

static void uart_tx(void *opaque, uint8_t b)
{
	struct pc *pc = opaque;
	console_putc(&pc->con, b);
}

static void uart_pull(void *opaque);

/* A device armed a timer due before the CPU's run ends: stop the run. */
static void clock_kick(void *opaque)
{
	stop_cpu(opaque);
}

/* ---- construction ---- */

struct pc *pc_create(const struct pc_config *cfg, char *err, size_t errlen)
{
	struct pc *pc = calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pc->cfg = *cfg;
	pc->sig_pipe[0] = pc->sig_pipe[1] = -1;
	pc->ram.fd = -1;
	if (!pc->cfg.log)
		pc->cfg.log = stderr;
	if (ram_create(&pc->ram, cfg->ram_size, err, errlen) < 0)
		goto fail;
	bus_init(&pc->pio, 0x10000);
	bus_init(&pc->mmio, 0x100000000ull);
	clock_init(&pc->clock, cfg->deterministic ? CLOCK_ICOUNT : CLOCK_HOST);
	pc->clock.kick = clock_kick;
	pc->clock.kick_opaque = pc;

	pc->cbus = (struct cpu_bus){
		.opaque = pc,
		.pio_read = cb_pio_read,
		.pio_write = cb_pio_write,
		.mmio_read = cb_mmio_read,
		.mmio_write = cb_mmio_write,
		.intr_ack = pc_cb_intr_ack,
		.now_ns = cb_now_ns,
		.apic_base_write = pc_cb_apic_base,
	};
	struct cpu_memmap mm = {
		.ram = pc->ram.base,
		.ram_size = pc->ram.size,
		.rom = (uint8_t *)cfg->rom,
		.rom_size = cfg->rom ? cfg->rom_size : 0,
		.a20 = true,
	};
	if (cpu_init(&pc->cpu, &mm, &pc->cbus) < 0) {
		snprintf(err, errlen, "cannot set up the CPU (out of memory)");
		goto fail;
	}
	pc->cpu_ok = true;
	pc->cpu.trace = cfg->trace;
	if (cfg->deterministic)
		clock_set_icount_src(&pc->clock, &pc->cpu.icount, PC_NS_PER_INSN);

	pc->req = (struct board_req){
		.opaque = pc,
		.reset = req_reset,
		.poweroff = req_poweroff,
		.exit = req_exit,
		.set_a20 = req_a20,
	};
	console_open(&pc->con, cfg->console_in, cfg->console_out);
	pc->con.stop = &got_signal;

	/* ISA IRQ wiring, as on every PC: 0 PIT, 1 keyboard, 2 cascade,
	 * 4 COM1, 8 RTC, 9 ACPI SCI, 12 PS/2 aux; each to the 8259 pair and
	 * the IOAPIC (pc_apic.c). */
	struct irq_line irq[16];
	for (int i = 0; i < 16; i++)
		irq[i] = (struct irq_line){ pc_isa_irq, pc, i };
	int64_t start = cfg->deterministic ? DETERMINISTIC_EPOCH : (int64_t)time(NULL);
	int bad = 0;
	bad |= pc_apic_init(pc);
	bad |= pit_init(&pc->pit, &pc->pio, &pc->clock, irq[0]);
	bad |= i8042_init(&pc->kbd, &pc->pio, irq[1], irq[12], &pc->req);
	bad |= uart_init(&pc->uart, &pc->pio, 0x3f8, irq[4], &pc->clock, uart_tx, pc);
	pc->uart.rx_pull = uart_pull;
	bad |= rtc_init(&pc->rtc, &pc->pio, &pc->clock, irq[8], start);
	bad |= port92_init(&pc->p92, &pc->pio, &pc->req);
	bad |= post_init(&pc->post, &pc->pio);
	bad |= pci_host_init(&pc->pci, &pc->pio, &pc->req);
	bad |= debugcon_init(&pc->dcon, &pc->pio, cfg->debugcon ? cfg->debugcon : stderr);
	/* SeaBIOS writes its log to 0x402 when that port reads back 0xe9. */
	bad |= debugcon_init_port(&pc->dcon402, &pc->pio, 0x402, cfg->debugcon ? cfg->debugcon : stderr);
	bad |= debug_exit_init(&pc->pio, 0xf4, &pc->req);
	bad |= apm_shutdown_init(&pc->apm, &pc->pio, &pc->req);
	if (bad) {
		snprintf(err, errlen, "internal error: overlapping device ports");
		goto fail;
	}
	rtc_set_memory(&pc->rtc, pc->ram.size);
	return pc;
fail:
	pc_destroy(pc);
	return NULL;
}

void pc_destroy(struct pc *pc)
{
	if (!pc)
		return;
	console_close(&pc->con);
	if (pc->eng)
		pc->eng->ops->destroy(pc->eng);
	if (pc->cpu_ok)
		cpu_free(&pc->cpu);
	debugcon_flush(&pc->dcon);
	debugcon_flush(&pc->dcon402);
	if (pc->cfg.debugcon)
		fflush(pc->cfg.debugcon);
	bus_free(&pc->pio);
	bus_free(&pc->mmio);
	ram_free(&pc->ram);
	for (int i = 0; i < 2; i++)
		if (pc->sig_pipe[i] >= 0)
			close(pc->sig_pipe[i]);
	if (signal_stop == &pc->cpu.stop_request)
		signal_stop = NULL;
	free(pc);
}

int pc_set_engine(struct pc *pc, const struct engine_ops *ops, char *err, size_t errlen)
{
	struct engine *e = ops->create(&pc->cpu, err, errlen);
	if (!e)
		return -1;
	if (pc->eng)
		pc->eng->ops->destroy(pc->eng);
	pc->eng = e;
	return 0;
}

/* ---- boot and reset ---- */

static void apply_entry(struct pc *pc, const struct boot_entry *be)
{
	struct cpu *c = &pc->cpu;
	cpu_reset(c);
	if (be->mode == BOOT_FLAT32) {
		cpu_set_flat32(c);
		c->r[R_EAX] = be->eax;
		c->r[R_EBX] = be->ebx;
		c->r[R_ECX] = be->ecx;
		c->r[R_EDX] = be->edx;
		c->r[R_ESI] = be->esi;
		c->r[R_EDI] = be->edi;
		c->r[R_EBP] = be->ebp;
		c->r[R_ESP] = be->esp;
		c->eip = be->eip;
	}
}

static void reset_devices(struct pc *pc)
{
	pc_apic_reset(pc);
	pit_reset(&pc->pit);
	uart_reset(&pc->uart);
	rtc_reset(&pc->rtc);
	i8042_reset(&pc->kbd);
	port92_reset(&pc->p92);
	pci_host_reset(&pc->pci);
}

int pc_boot(struct pc *pc, char *err, size_t errlen)
{
	const struct pc_config *cfg = &pc->cfg;
	struct boot_entry be;
	memset(&be, 0, sizeof(be));
	be.mode = BOOT_RESET;
	if (cfg->kernel) {
		struct guest_ram g = { pc->ram.base, pc->ram.size };
		const char *name = cfg->kernel_name ? cfg->kernel_name : "kernel";
		int r;
		switch (boot_detect(cfg->kernel, cfg->kernel_len)) {
		case 1:
			if (cfg->initrd) {
				/* Multiboot takes the initrd as its first module. */
				const char *names[1] = { cfg->initrd_name };
				const uint8_t *mods[1] = { cfg->initrd };
				size_t lens[1] = { cfg->initrd_len };
				r = multiboot_load(&g, name, cfg->kernel, cfg->kernel_len, cfg->cmdline, names, mods,
						   lens, 1, &be, err, errlen);
			} else {
				r = multiboot_load(&g, name, cfg->kernel, cfg->kernel_len, cfg->cmdline, NULL, NULL,
						   NULL, 0, &be, err, errlen);
			}
			break;
		case 2:
			r = linux_load(&g, name, cfg->kernel, cfg->kernel_len, cfg->cmdline, cfg->initrd_name,
				       cfg->initrd, cfg->initrd_len, &be, err, errlen);
			break;
		default:
			snprintf(err, errlen, "%s: not a multiboot kernel or a Linux bzImage", name);
			return -1;
		}
		if (r < 0)
			return -1;
		/* No BIOS runs: leave the tables it would have (a --bios ROM
		 * covers the BIOS area and brings its own). */
		if (!cfg->rom && pc_fw_tables(pc, &g) < 0) {
			snprintf(err, errlen, "internal error: the firmware tables do not fit");
			return -1;
		}
	} else if (!cfg->rom) {
		snprintf(err, errlen, "nothing to boot: no kernel and no BIOS");
		return -1;
	}
	apply_entry(pc, &be);
	if (pc->eng && pc->eng->ops->sync_in)
		pc->eng->ops->sync_in(pc->eng);
	return 0;
}

static int reboot(struct pc *pc)
{
	char err[512];
	reset_devices(pc);
	ram_clear(&pc->ram);
	if (pc_boot(pc, err, sizeof(err)) < 0) {
		fprintf(pc->cfg.log, "ringvm: reboot failed: %s\n", err);
		return -1;
	}
	return 0;
}

/* ---- the run loop ---- */

static void feed_console(struct pc *pc)
{
	console_poll(&pc->con);
	uart_pull(pc);
}

/* The UART has room again: hand it what the console already holds, and
 * look for more only when that is used up. */
static void uart_pull(void *opaque)
{
	struct pc *pc = opaque;
	if (!console_pending(&pc->con))
		console_poll(&pc->con);
	int n = console_pending(&pc->con);
	int room = uart_can_receive(&pc->uart);
	if (n > room)
		n = room;
	if (n > 0) {
		uart_receive(&pc->uart, console_data(&pc->con), n);
		console_consume(&pc->con, n);
	}
}

static void drain_sig_pipe(struct pc *pc)
{
	char buf[16];
	while (pc->sig_pipe[0] >= 0 && read(pc->sig_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* Sleep until input arrives, a signal comes, or host time host_deadline
 * (CLOCK_NEVER: no timeout). */
static void wait_idle(struct pc *pc, uint64_t host_deadline)
{
	struct pollfd pfd[3];
	int n = 0;
	int in = console_wait_fd(&pc->con);
	/* A terminal is always watched (C-a x); other input only while the
	 * UART has room for it. */
	if (in >= 0 && (uart_can_receive(&pc->uart) > 0 || pc->con.tty))
		pfd[n++] = (struct pollfd){ in, POLLIN, 0 };
	if (pc->sig_pipe[0] >= 0)
		pfd[n++] = (struct pollfd){ pc->sig_pipe[0], POLLIN, 0 };
	int dfd = pc->dbg.wait_fd ? pc->dbg.wait_fd(pc->dbg.opaque) : -1;
	if (dfd >= 0) /* the debugger's Ctrl-C or connection */
		pfd[n++] = (struct pollfd){ dfd, POLLIN, 0 };
	struct timespec ts, *tsp = NULL;
	if (host_deadline != CLOCK_NEVER) {
		uint64_t now = clock_host_ns();
		uint64_t d = host_deadline > now ? host_deadline - now : 0;
		ts.tv_sec = (time_t)(d / 1000000000u);
		ts.tv_nsec = (long)(d % 1000000000u);
		tsp = &ts;
	}
	if (got_signal)
		return;
	ppoll(pfd, (nfds_t)n, tsp, NULL);
}

/* Everything the guest wrote so far, to its console and debug console. */
static void flush_output(struct pc *pc)
{
	console_flush(&pc->con);
	debugcon_flush(&pc->dcon);
	debugcon_flush(&pc->dcon402);
}

static void fatal_stop(struct pc *pc, const char *msg)
{
	flush_output(pc);
	fprintf(pc->cfg.log, "ringvm: %s\n", msg);
	cpu_dump(&pc->cpu, pc->cfg.log);
	fflush(pc->cfg.log);
}

int pc_run(struct pc *pc)
{
	struct cpu *cpu = &pc->cpu;
	const struct engine_ops *ops = pc->eng->ops;
	int status = -1;

	if (pipe2(pc->sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		pc->sig_pipe[0] = pc->sig_pipe[1] = -1;
	got_signal = 0;
	signal_stop = &cpu->stop_request;
	signal_fd = pc->sig_pipe[1];
	install_signals(pc);

	while (status < 0) {
		/* Requests from devices and the user. */
		if (got_signal) {
			flush_output(pc);
			fprintf(pc->cfg.log, "ringvm: terminating on signal %d\n", (int)got_signal);
			status = 128 + got_signal;
			break;
		}
		if (pc->con.quit) {
			status = PC_EXIT_OK;
			break;
		}
		switch (pc->action) {
		case PC_ACT_EXIT:
			status = pc->exit_status;
			continue;
		case PC_ACT_POWEROFF:
			status = PC_EXIT_OK;
			continue;
		case PC_ACT_RESET:
			pc->action = PC_ACT_NONE;
			if (pc->cfg.no_reboot) {
				status = PC_EXIT_OK;
				continue;
			}
			if (reboot(pc) < 0)
				status = PC_EXIT_ERROR;
			continue;
		case PC_ACT_NONE:
			break;
		}

		/* The debugger: it holds the guest here while stopped. */
		if (pc->dbg.service) {
			int r = pc->dbg.service(pc->dbg.opaque);
			if (r == PC_DBG_KILL) {
				status = PC_EXIT_OK;
				break;
			}
			if (r == PC_DBG_AGAIN)
				continue; /* a signal came: look at it first */
		}

		/* Devices: input, timers, output. */
		feed_console(pc);
		clock_run_timers(&pc->clock);
		flush_output(pc);

		uint64_t now = clock_now(&pc->clock);
		uint64_t next = clock_next_deadline(&pc->clock);
		uint64_t limit = now + SLICE_NS;
		if (next < limit)
			limit = next;
		cpu->stop_request = 0;
		pc->clock.run_until = limit;
		enum cpu_stop why = ops->run(pc->eng, clock_host_deadline(&pc->clock, limit),
					     clock_icount_deadline(&pc->clock, limit));
		pc->clock.run_until = CLOCK_NEVER;
		switch (why) {
		case CPU_STOP_BUDGET:
		case CPU_STOP_REQUEST:
		case CPU_STOP_DEBUG: /* the debugger's service call reports it */
			break;
		case CPU_STOP_HALT:
			if (pc->action != PC_ACT_NONE)
				break; /* e.g. "out %al, $0xf4; cli; hlt": the exit wins */
			if (ops->sync_out)
				ops->sync_out(pc->eng);
			if (!(cpu->eflags & FL_IF) && !cpu->nmi_pending) {
				/* Nothing can wake it: there is no NMI source. */
				fatal_stop(pc, "processor halted with interrupts disabled");
				status = PC_EXIT_HALTED;
				break;
			}
			if (cpu->intr_line || cpu->nmi_pending)
				break;
			/* Idle: sleep to the next timer or input (~0% host CPU). */
			feed_console(pc);
			if (cpu->intr_line)
				break;
			flush_output(pc);
			next = clock_next_deadline(&pc->clock);
			if (pc->clock.mode == CLOCK_HOST) {
				wait_idle(pc, clock_host_deadline(&pc->clock, next));
			} else if (next != CLOCK_NEVER) {
				clock_warp(&pc->clock, next); /* idle time costs no instructions */
			} else {
				wait_idle(pc, CLOCK_NEVER);
			}
			drain_sig_pipe(pc);
			break;
		case CPU_STOP_SHUTDOWN:
			if (ops->sync_out)
				ops->sync_out(pc->eng);
			if (pc->cfg.no_reboot) {
				fatal_stop(pc, "triple fault: processor shut down");
				status = PC_EXIT_TRIPLE_FAULT;
				break;
			}
			/* Without --no-reboot a guest that keeps faulting reboots
			 * forever (as QEMU does); report the first few only. */
			if (++pc->triple_faults <= 3)
				fatal_stop(pc, pc->triple_faults < 3 ? "triple fault: resetting the machine"
								      : "triple fault: resetting the machine (further ones not reported)");
			if (reboot(pc) < 0)
				status = PC_EXIT_ERROR;
			break;
		case CPU_STOP_RESET:
			req_reset(pc);
			break;
		}
	}
	flush_output(pc);
	if (pc->dbg.ended)
		pc->dbg.ended(pc->dbg.opaque, status);
	console_close(&pc->con);
	if (pc->cfg.debugcon)
		fflush(pc->cfg.debugcon);
	fflush(pc->cfg.log);
	signal_stop = NULL;
	signal_fd = -1;
	return status;
}

/* Every device back to its power-on state without rebuilding the board
 * (the device fuzzer runs thousands of inputs on one board). */
void pc_reset_devices(struct pc *pc)
{
	reset_devices(pc);
	pc->action = PC_ACT_NONE;
}
