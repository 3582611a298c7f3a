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
#include "machine/pc_snap.h"

#define SLICE_NS 10000000ull /* longest run between console polls: 10 ms */
#define SMP_SLICE_NS 1000000ull /* one CPU's turn when several take turns: 1 ms */
#define DETERMINISTIC_EPOCH 1704067200 /* 2024-01-01 00:00:00 UTC */

/* ---- signals: the only process-wide state of the board ---- */

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t dump_signal; /* SIGUSR1: write the screendump */
static volatile sig_atomic_t diag_signal; /* SIGUSR2: pc_diag_dump() to the log */
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

static void on_dump_signal(int sig)
{
	if (sig == SIGUSR2)
		diag_signal = 1;
	else
		dump_signal = 1;
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
	sa.sa_handler = on_dump_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
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

/* Stop the CPU that runs (the request is looked at between runs, so the
 * others need no telling). */
static void stop_cpu(struct pc *pc)
{
	struct cpu *c = &pc->vcpu[pc->cur].cpu;
	c->stop_request = 1;
	c->block_break = 1; /* do not run the rest of the block */
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
	for (int i = 0; i < pc->ncpus; i++)
		cpu_set_a20(&pc->vcpu[i].cpu, on);
}

/* ---- the CPU's view of the board ---- */

/* The bus opaque is the asking CPU's struct pc_vcpu. */
static uint32_t cb_pio_read(void *opaque, uint16_t port, int size)
{
	struct pc_vcpu *v = opaque;
	return bus_read(&v->pc->pio, port, size);
}

static void cb_pio_write(void *opaque, uint16_t port, int size, uint32_t val)
{
	struct pc_vcpu *v = opaque;
	bus_write(&v->pc->pio, port, size, val);
}

/* A CPU's own local APIC page hides whatever is behind it, for that CPU
 * only (every CPU's APIC sits at the same address). */
static uint32_t cb_mmio_read(void *opaque, uint32_t pa, int size)
{
	struct pc_vcpu *v = opaque;
	if (bus_find(&v->apic_bus, pa))
		return bus_read(&v->apic_bus, pa, size);
	return bus_read(&v->pc->mmio, pa, size);
}

static void cb_mmio_write(void *opaque, uint32_t pa, int size, uint32_t val)
{
	struct pc_vcpu *v = opaque;
	if (bus_find(&v->apic_bus, pa))
		bus_write(&v->apic_bus, pa, size, val);
	else
		bus_write(&v->pc->mmio, pa, size, val);
}

/* RDTSC follows the virtual clock, so --deterministic runs are
 * reproducible down to the TSC values the guest reads. */
static uint64_t cb_now_ns(void *opaque)
{
	struct pc_vcpu *v = opaque;
	return clock_now(&v->pc->clock);
}

static void uart_tx(void *opaque, uint8_t b)
{
	struct pc *pc = opaque;
	if (pc->rr.output && pc->rr.output(pc->rr.opaque, b))
		return;
	console_putc(&pc->con, b);
}

static void uart_pull(void *opaque);
static void uart_pull_at(struct pc *pc, int site);

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
	for (int i = 0; i < PC_IDE_DRIVES; i++)
		pc->ide_fd[i] = -1;
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

	pc->ncpus = cfg->ncpus ? cfg->ncpus : 1;
	if (pc->ncpus < 1 || pc->ncpus > PC_MAX_CPUS) {
		snprintf(err, errlen, "-smp %d: ringvm's board takes 1 to %d CPUs", pc->ncpus, PC_MAX_CPUS);
		pc->ncpus = 0;
		goto fail;
	}
	struct cpu_memmap mm = {
		.ram = pc->ram.base,
		.ram_size = pc->ram.size,
		.ram_low = ram_low_size(pc->ram.size),
		.rom = (uint8_t *)cfg->rom,
		.rom_size = cfg->rom ? cfg->rom_size : 0,
		.a20 = true,
	};
	for (int i = 0; i < pc->ncpus; i++) {
		struct pc_vcpu *v = &pc->vcpu[i];
		v->pc = pc;
		v->index = i;
		bus_init(&v->apic_bus, 0x100000000ull);
		v->cbus = (struct cpu_bus){
			.opaque = v,
			.pio_read = cb_pio_read,
			.pio_write = cb_pio_write,
			.mmio_read = cb_mmio_read,
			.mmio_write = cb_mmio_write,
			.intr_ack = pc_cb_intr_ack,
			.now_ns = cb_now_ns,
			.apic_base_write = pc_cb_apic_base,
		};
		if (cpu_init(&v->cpu, &mm, &v->cbus) < 0) {
			snprintf(err, errlen, "cannot set up the CPU (out of memory)");
			goto fail;
		}
		v->cpu_ok = true;
		v->cpu.apic_id = (uint8_t)i;
		cpu_reset(&v->cpu); /* again: IA32_APIC_BASE.BSP follows the ID */
		v->cpu.trace = cfg->trace;
	}
	for (int i = 0; i < pc->ncpus; i++)
		pc->cpus[i] = &pc->vcpu[i].cpu;
	for (int i = 0; i < pc->ncpus && pc->ncpus > 1; i++) {
		struct cpu *c = &pc->vcpu[i].cpu;
		c->cpus = pc->cpus;
		c->ncpus = (uint8_t)pc->ncpus;
		c->pause_exit = 1;
	}
	if (cfg->deterministic)
		clock_set_icount_src(&pc->clock, &pc->vcpu[0].cpu.icount, PC_NS_PER_INSN);

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
	if (pc_virtio_init(pc, err, errlen) < 0)
		goto fail;
	rtc_set_memory(&pc->rtc, ram_low_size(pc->ram.size));
	if (pc_chipset_init(pc, irq, err, errlen) < 0)
		goto fail;
	/* The device table, in reset order (devtab.h): debug-exit has no
	 * state and is not in it. */
	bad |= pc_snap_register(pc);
	bad |= devtab_add(&pc->devs, &pic_dev_ops, &pc->pic);
	static const char *const lapic_names[PC_MAX_CPUS] = { "lapic", "lapic1", "lapic2", "lapic3",
							      "lapic4", "lapic5", "lapic6", "lapic7" };
	for (int i = 0; i < pc->ncpus; i++)
		bad |= devtab_add_named(&pc->devs, lapic_names[i], &lapic_dev_ops, &pc->vcpu[i].lapic);
	bad |= devtab_add(&pc->devs, &ioapic_dev_ops, &pc->ioapic);
	bad |= devtab_add(&pc->devs, &acpi_pm_dev_ops, &pc->acpi_pm);
	bad |= devtab_add(&pc->devs, &pit_dev_ops, &pc->pit);
	bad |= devtab_add(&pc->devs, &uart_dev_ops, &pc->uart);
	bad |= devtab_add(&pc->devs, &rtc_dev_ops, &pc->rtc);
	bad |= devtab_add(&pc->devs, &i8042_dev_ops, &pc->kbd);
	bad |= devtab_add(&pc->devs, &port92_dev_ops, &pc->p92);
	bad |= devtab_add(&pc->devs, &pci_host_dev_ops, &pc->pci);
	bad |= devtab_add(&pc->devs, &post_dev_ops, &pc->post);
	bad |= devtab_add(&pc->devs, &debugcon_dev_ops, &pc->dcon);
	bad |= devtab_add_named(&pc->devs, "debugcon402", &debugcon_dev_ops, &pc->dcon402);
	bad |= devtab_add(&pc->devs, &apm_shutdown_dev_ops, &pc->apm);
	bad |= pc_chipset_register(pc);
	if (pc->virtio)
		bad |= devtab_add(&pc->devs, &pc_virtio_dev_ops, pc);
	if (bad) {
		snprintf(err, errlen, "internal error: the device table is full or has a name twice");
		goto fail;
	}
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
	for (int i = 0; i < pc->ncpus; i++) {
		struct pc_vcpu *v = &pc->vcpu[i];
		if (v->eng)
			v->eng->ops->destroy(v->eng);
		if (v->cpu_ok)
			cpu_free(&v->cpu);
	}
	debugcon_flush(&pc->dcon);
	debugcon_flush(&pc->dcon402);
	if (pc->cfg.debugcon)
		fflush(pc->cfg.debugcon);
	pc_virtio_free(pc);
	pc_chipset_free(pc);
	bus_free(&pc->pio);
	bus_free(&pc->mmio);
	for (int i = 0; i < pc->ncpus; i++)
		bus_free(&pc->vcpu[i].apic_bus);
	ram_free(&pc->ram);
	for (int i = 0; i < 2; i++)
		if (pc->sig_pipe[i] >= 0)
			close(pc->sig_pipe[i]);
	for (int i = 0; i < pc->ncpus; i++)
		if (signal_stop == &pc->vcpu[i].cpu.stop_request)
			signal_stop = NULL;
	free(pc);
}

int pc_set_engine(struct pc *pc, const struct engine_ops *ops, char *err, size_t errlen)
{
	if (pc->ncpus > 1 && !strcmp(ops->name, "kvm")) {
		snprintf(err, errlen, "runs one virtual CPU (-smp 1); -smp %d runs on interp or bt", pc->ncpus);
		return -1;
	}
	struct engine *e[PC_MAX_CPUS] = { NULL };
	for (int i = 0; i < pc->ncpus; i++) {
		e[i] = ops->create(&pc->vcpu[i].cpu, err, errlen);
		if (!e[i]) {
			while (i-- > 0)
				e[i]->ops->destroy(e[i]);
			return -1;
		}
	}
	for (int i = 0; i < pc->ncpus; i++) {
		struct pc_vcpu *v = &pc->vcpu[i];
		if (v->eng)
			v->eng->ops->destroy(v->eng);
		v->eng = e[i];
	}
	return 0;
}

void pc_sync_out(struct pc *pc)
{
	for (int i = 0; i < pc->ncpus; i++) {
		struct engine *e = pc->vcpu[i].eng;
		if (e && e->ops->sync_out)
			e->ops->sync_out(e);
	}
}

void pc_sync_in(struct pc *pc)
{
	for (int i = 0; i < pc->ncpus; i++) {
		struct engine *e = pc->vcpu[i].eng;
		if (e && e->ops->sync_in)
			e->ops->sync_in(e);
	}
}

const char *pc_engine_name(const struct pc *pc)
{
	return pc->vcpu[0].eng ? pc->vcpu[0].eng->ops->name : "none";
}

/* ---- boot and reset ---- */

/* The bootstrap processor starts at the image's entry (or the reset
 * vector); the others wait for the STARTUP IPI that firmware or the
 * kernel sends them. */
static void apply_entry(struct pc *pc, const struct boot_entry *be)
{
	for (int i = 1; i < pc->ncpus; i++) {
		cpu_reset(&pc->vcpu[i].cpu);
		pc->vcpu[i].cpu.wait_sipi = 1;
	}
	pc->cur = 0;
	struct cpu *c = pc_bsp(pc);
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

int pc_boot(struct pc *pc, char *err, size_t errlen)
{
	const struct pc_config *cfg = &pc->cfg;
	struct boot_entry be;
	memset(&be, 0, sizeof(be));
	be.mode = BOOT_RESET;
	if (cfg->kernel && !cfg->rom) {
		struct guest_ram g = { pc->ram.base, ram_low_size(pc->ram.size), pc->ram.size - ram_low_size(pc->ram.size) };
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
		/* No BIOS runs: leave the tables it would have. (With a BIOS
		 * the kernel is in fw_cfg, and the BIOS makes its own.) */
		if (pc_fw_tables(pc, &g) < 0) {
			snprintf(err, errlen, "internal error: the firmware tables do not fit");
			return -1;
		}
	} else if (!cfg->rom) {
		snprintf(err, errlen, "nothing to boot: no kernel and no BIOS");
		return -1;
	}
	apply_entry(pc, &be);
	pc_sync_in(pc);
	return 0;
}

static int reboot(struct pc *pc)
{
	char err[512];
	devtab_reset(&pc->devs);
	ram_clear(&pc->ram);
	if (pc_boot(pc, err, sizeof(err)) < 0) {
		fprintf(pc->cfg.log, "ringvm: reboot failed: %s\n", err);
		return -1;
	}
	if (pc->ctl.reset)
		pc->ctl.reset(pc->ctl.opaque);
	return 0;
}

/* ---- the run loop ---- */

static void feed_console(struct pc *pc)
{
	if (!pc->rr.input)
		console_poll(&pc->con);
	uart_pull_at(pc, PC_RR_LOOP);
}

/* The UART has room again: hand it what the console already holds, and
 * look for more only when that is used up. */
static void uart_pull(void *opaque)
{
	uart_pull_at(opaque, PC_RR_DEVICE);
}

static void uart_pull_at(struct pc *pc, int site)
{
	if (pc->rr.input) {
		uint8_t buf[64];
		int room = uart_can_receive(&pc->uart);
		int n = pc->rr.input(pc->rr.opaque, site, buf, room < 64 ? room : 64);
		if (n > 0)
			uart_receive(&pc->uart, buf, n);
		if (n >= 0)
			return;
	}
	if (!console_pending(&pc->con))
		console_poll(&pc->con);
	int n = console_pending(&pc->con);
	int room = uart_can_receive(&pc->uart);
	if (n > room)
		n = room;
	if (n > 0) {
		uart_receive(&pc->uart, console_data(&pc->con), n);
		if (pc->rr.taken)
			pc->rr.taken(pc->rr.opaque, site, console_data(&pc->con), n);
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
	struct pollfd pfd[4 + PC_VIRTIO_MAX_FDS];
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
	int net = n, net_ms = -1; /* the user network's sockets and timers */
	n += pc_virtio_fill(pc, pfd + n, PC_VIRTIO_MAX_FDS, &net_ms);
	if (net_ms >= 0) {
		uint64_t t = clock_host_ns() + (uint64_t)net_ms * 1000000u;
		if (t < host_deadline)
			host_deadline = t;
	}
	int cfd = pc->ctl.wait_fd ? pc->ctl.wait_fd(pc->ctl.opaque) : -1;
	if (cfd >= 0) /* a control-socket command */
		pfd[n++] = (struct pollfd){ cfd, POLLIN, 0 };
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
	if (ppoll(pfd, (nfds_t)n, tsp, NULL) < 0)
		for (int i = 0; i < n; i++)
			pfd[i].revents = 0;
	pc_virtio_dispatch(pc, pfd + net, n - net);
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
	if (pc->ncpus > 1)
		fprintf(pc->cfg.log, "ringvm: CPU %d:\n", pc->cur);
	cpu_dump(&pc->vcpu[pc->cur].cpu, pc->cfg.log);
	fflush(pc->cfg.log);
}

/* ---- several CPUs in turn ---- */

/* Has the CPU something to do: not waiting for a STARTUP IPI, and not
 * halted unless an interrupt it can take is pending? */
static bool cpu_runnable(const struct cpu *c)
{
	if (c->wait_sipi)
		return false;
	return !c->halted || cpu_nmi_ready(c) || (c->intr_line && (c->eflags & FL_IF));
}

/* Can no CPU ever run again (each waits for a SIPI only another could
 * send, or is halted with interrupts disabled and no NMI)? */
static bool all_stuck(const struct pc *pc)
{
	for (int i = 0; i < pc->ncpus; i++) {
		const struct cpu *c = &pc->vcpu[i].cpu;
		if (!c->wait_sipi && !(c->halted && !(c->eflags & FL_IF) && !cpu_nmi_ready(c)))
			return false;
	}
	return true;
}

/* May CPU i run now: it has something to do, and the debugger does not
 * hold it (while gdb steps another)? */
static bool may_run(const struct pc *pc, int i)
{
	if (pc->dbg.only_cpu) {
		int only = pc->dbg.only_cpu(pc->dbg.opaque);
		if (only >= 0 && only != i)
			return false;
	}
	return cpu_runnable(&pc->vcpu[i].cpu);
}

/* The next CPU to run, round robin after the one that ran last: -1 if
 * none has anything to do. One CPU is always run (it reports its own
 * halt, as the kvm engine must). */
static int pick_cpu(const struct pc *pc)
{
	if (pc->ncpus == 1)
		return 0;
	for (int k = 1; k <= pc->ncpus; k++) {
		int i = (pc->cur + k) % pc->ncpus;
		if (may_run(pc, i))
			return i;
	}
	return -1;
}

/* Every CPU is halted: sleep to the next timer or input (~0% host CPU),
 * or move virtual time on to it. */
static void idle(struct pc *pc)
{
	feed_console(pc);
	for (int i = 0; i < pc->ncpus; i++)
		if (may_run(pc, i))
			return;
	flush_output(pc);
	uint64_t next = clock_next_deadline(&pc->clock);
	if (pc->clock.mode == CLOCK_HOST) {
		wait_idle(pc, clock_host_deadline(&pc->clock, next));
	} else if (next != CLOCK_NEVER) {
		clock_warp(&pc->clock, next); /* idle time costs no instructions */
	} else if (pc->rr.next && pc->rr.next(pc->rr.opaque) != UINT64_MAX) {
		/* replaying: the log, not the console, wakes the guest */
	} else {
		wait_idle(pc, CLOCK_NEVER);
	}
	drain_sig_pipe(pc);
}

int pc_run(struct pc *pc)
{
	int status = -1;
	int turn_cpu = -1;   /* a turn a replay's stop cut short: its CPU */
	uint64_t turn_end = 0; /* ... and when the turn ends */

	if (pipe2(pc->sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		pc->sig_pipe[0] = pc->sig_pipe[1] = -1;
	for (int i = 0; i < PC_IDE_DRIVES; i++)
		pc->ide_fd[i] = -1;
	got_signal = 0;
	signal_stop = &pc->vcpu[pc->cur].cpu.stop_request;
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
		/* The control socket: it holds the guest here while paused. */
		if (pc->ctl.service) {
			int r = pc->ctl.service(pc->ctl.opaque);
			if (r == PC_DBG_KILL) {
				status = PC_EXIT_OK;
				break;
			}
			if (r == PC_DBG_AGAIN)
				continue;
		}

		if (diag_signal) { /* before the timers run: the state as found */
			diag_signal = 0;
			flush_output(pc); /* the guest's last words first */
			pc_diag_dump(pc, pc->cfg.log);
		}

		/* Devices: input, timers, output. */
		if (pc->rr.ended && (status = pc->rr.ended(pc->rr.opaque)) >= 0)
			break;
		feed_console(pc);
		pc_virtio_poll(pc);
		clock_run_timers(&pc->clock);
		flush_output(pc);
		pc_display_tick(pc);
		if (dump_signal) {
			dump_signal = 0;
			pc_display_dump(pc);
		}

		pc_apic_signals(pc); /* INIT and STARTUP IPIs sent meanwhile */
		/* A turn a replay's stop cut short goes on (see below). */
		int k = turn_cpu >= 0 && cpu_runnable(&pc->vcpu[turn_cpu].cpu) ? turn_cpu : pick_cpu(pc);
		bool goes_on = k >= 0 && k == turn_cpu;
		turn_cpu = -1;
		if (k < 0) { /* several CPUs, none with anything to do */
			if (pc->action != PC_ACT_NONE)
				continue;
			if (all_stuck(pc)) {
				fatal_stop(pc, "every processor halted with interrupts disabled");
				status = PC_EXIT_HALTED;
				break;
			}
			idle(pc);
			continue;
		}
		struct pc_vcpu *v = &pc->vcpu[k];
		struct cpu *cpu = &v->cpu;
		const struct engine_ops *ops = v->eng->ops;
		if (k != pc->cur) {
			pc->cur = k;
			signal_stop = &cpu->stop_request;
			/* Virtual time counts every CPU's instructions: go on
			 * from this one's count. */
			if (pc->clock.mode == CLOCK_ICOUNT)
				clock_set_icount_src(&pc->clock, &cpu->icount, PC_NS_PER_INSN);
		}

		uint64_t now = clock_now(&pc->clock);
		uint64_t next = clock_next_deadline(&pc->clock);
		uint64_t turn = goes_on ? turn_end : now + (pc->ncpus > 1 ? SMP_SLICE_NS : SLICE_NS);
		uint64_t limit = next < turn ? next : turn;
		uint64_t icount_limit = clock_icount_deadline(&pc->clock, limit);
		bool rr_cut = false;
		if (pc->rr.next) {
			/* The log counts the machine's instructions: this CPU's
			 * own count where its next event is due. */
			uint64_t at = pc->rr.next(pc->rr.opaque), others = pc_icount(pc) - cpu->icount;
			uint64_t mine = at > others ? at - others : 0;
			rr_cut = mine < icount_limit;
			if (rr_cut)
				icount_limit = mine;
		}
		cpu->stop_request = 0;
		pc->clock.run_until = limit;
		enum cpu_stop why = ops->run(v->eng, clock_host_deadline(&pc->clock, limit), icount_limit);
		pc->clock.run_until = CLOCK_NEVER;
		/* Halted at a budget of zero instructions (a replay stops at the
		 * count its next input is due): idle as the recording did. */
		if (why == CPU_STOP_BUDGET && cpu->halted)
			why = CPU_STOP_HALT;
		/* Several CPUs, replaying: a stop the log's event needed inside
		 * a turn does not end the turn, as the recording's CPU ran on
		 * (which CPU runs when is part of what is replayed). */
		if (pc->ncpus > 1 && rr_cut && why == CPU_STOP_BUDGET && cpu->icount >= icount_limit) {
			turn_cpu = k;
			turn_end = turn;
		}
		switch (why) {
		case CPU_STOP_BUDGET:
		case CPU_STOP_REQUEST:
		case CPU_STOP_DEBUG: /* the debugger's service call reports it */
			break;
		case CPU_STOP_HALT:
			if (pc->action != PC_ACT_NONE)
				break; /* e.g. "out %al, $0xf4; cli; hlt": the exit wins */
			if (pc->ncpus > 1)
				break; /* the next pick_cpu() sees who can run */
			if (ops->sync_out)
				ops->sync_out(v->eng);
			if (!(cpu->eflags & FL_IF) && !cpu_nmi_ready(cpu)) {
				/* Nothing can wake it: no NMI source, or NMIs blocked. */
				fatal_stop(pc, "processor halted with interrupts disabled");
				status = PC_EXIT_HALTED;
				break;
			}
			if (!cpu_runnable(cpu))
				idle(pc);
			break;
		case CPU_STOP_SHUTDOWN:
			if (ops->sync_out)
				ops->sync_out(v->eng);
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
	pc->drawn_at = 0; /* the last screen, whatever the rate limit */
	pc_display_tick(pc);
	pc_display_dump(pc);
	if (pc->dbg.ended)
		pc->dbg.ended(pc->dbg.opaque, status);
	if (pc->ctl.ended)
		pc->ctl.ended(pc->ctl.opaque, status);
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
	devtab_reset(&pc->devs);
	pc->action = PC_ACT_NONE;
}
