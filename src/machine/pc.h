/* The PC board shared by every engine: RAM (and an optional BIOS ROM),
 * the port and MMIO buses, the devices and their IRQ wiring, the CPU's
 * bus interface, boot, and the run loop. docs/board.md describes the
 * machine as built. */
#ifndef RINGVM_PC_H
#define RINGVM_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "boot/boot.h"
#include "dev/acpi_pm.h"
#include "dev/apm_shutdown.h"
#include "dev/debugcon.h"
#include "dev/fw_cfg.h"
#include "dev/i8042.h"
#include "dev/ide.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pci_host.h"
#include "dev/pic8259.h"
#include "dev/piix3.h"
#include "dev/pit8254.h"
#include "dev/port92.h"
#include "dev/post.h"
#include "dev/rtc_cmos.h"
#include "dev/uart16550.h"
#include "dev/vga.h"
#include "engine/engine.h"
#include "machine/bus.h"
#include "machine/clock.h"
#include "machine/console.h"
#include "machine/pc_virtio.h"
#include "machine/devtab.h"
#include "machine/ram.h"

/* Exit statuses of pc_run() (docs/board.md). Debug-exit adds the odd
 * statuses (v << 1) | 1. */
#define PC_EXIT_OK 0           /* powered off, C-a x, reset with no_reboot */
#define PC_EXIT_ERROR 1        /* could not (re)boot the image */
#define PC_EXIT_TRIPLE_FAULT 2 /* triple fault with no_reboot */
#define PC_EXIT_HALTED 4       /* HLT with interrupts disabled */
/* 128 + N: terminated by signal N (SIGINT, SIGTERM, SIGHUP). */

#define PC_NS_PER_INSN 1 /* deterministic clock: 1 ns per instruction */

#define PC_IDE_DRIVES 4
#define PC_MAX_CPUS 8 /* -smp N: 1..8, as the flat logical APIC model allows */

struct pc_config {
	uint64_t ram_size;
	int ncpus;               /* -smp: 1..PC_MAX_CPUS (0 means 1) */
	const uint8_t *rom;      /* BIOS image (64 or 128 KiB) or NULL */
	uint32_t rom_size;
	/* The kernel: multiboot ELF or Linux bzImage. NULL with a ROM: the
	 * BIOS boots from the reset vector. */
	const char *kernel_name;
	const uint8_t *kernel;
	size_t kernel_len;
	const char *initrd_name;
	const uint8_t *initrd;
	size_t initrd_len;
	const char *cmdline;
	bool no_reboot;
	bool deterministic;
	bool trace;
	bool no_acpi;            /* omit the ACPI tables (QEMU's -no-acpi) */
	FILE *debugcon;          /* port 0xe9 output (NULL: stderr) */
	FILE *log;               /* board messages (NULL: stderr) */
	int console_in, console_out; /* serial backend fds (-1: none) */
	const struct vio_config *virtio; /* virtio devices (NULL: none) */
	/* BIOS boots (pc_chipset.c): QEMU's -boot menu=on,splash-time=MS and
	 * the fw_cfg "bootorder" file (device paths, one a line; "" none). */
	bool boot_menu;
	uint16_t splash_ms;
	char bootorder[256];
	/* IDE disks (raw images), slot = channel * 2 + unit: -hda .. -hdd. */
	struct pc_drive { const char *file; bool readonly; } ide[PC_IDE_DRIVES];
	bool display_text;       /* --display text: the VGA screen on the terminal */
	const char *screendump;  /* --screendump FILE: the screen as text at exit */
};

enum pc_action { PC_ACT_NONE, PC_ACT_RESET, PC_ACT_POWEROFF, PC_ACT_EXIT };

/* A debugger that drives the machine between runs of the CPU (the gdb
 * stub, which the CLI plugs in; all NULL: none). service() is called
 * before each run and may block while the debugger holds the guest
 * stopped; it returns PC_DBG_*. wait_fd() is watched while the guest
 * idles, so a debugger's Ctrl-C wakes the board. ended() hears the exit
 * status. */
enum { PC_DBG_RUN, PC_DBG_AGAIN, PC_DBG_KILL };
struct pc_debugger {
	void *opaque;
	int (*service)(void *opaque);
	int (*wait_fd)(void *opaque);
	void (*ended)(void *opaque, int status);
	void (*reset)(void *opaque); /* optional: the machine rebooted */
	/* optional: the one CPU that may run now (gdb steps one CPU while
	 * the others stay stopped), -1 for any */
	int (*only_cpu)(void *opaque);
};

/* Record and replay (debug/replay.c; all NULL: neither). The board asks
 * it about every byte that crosses the serial console, at the instruction
 * count it crosses: site PC_RR_LOOP is the run loop between runs of the
 * CPU, PC_RR_DEVICE the UART asking for more while the guest reads it.
 * input() returns the bytes due now while replaying (-1: not replaying:
 * read the console); taken() hears what the UART took while recording;
 * output() sees each byte the guest writes and returns 1 to keep it off
 * the console (a replay re-executing what it already showed). next() is the instruction
 * count the run must stop at for the replay's next loop-site event
 * (UINT64_MAX: none) and ended() the exit status once the log says the
 * machine ends here (-1: not yet). */
enum { PC_RR_LOOP, PC_RR_DEVICE };
struct pc_rr {
	void *opaque;
	int (*input)(void *opaque, int site, uint8_t *buf, int room);
	void (*taken)(void *opaque, int site, const uint8_t *buf, int n);
	int (*output)(void *opaque, uint8_t b);
	uint64_t (*next)(void *opaque);
	int (*ended)(void *opaque);
};

struct pc;

/* One processor of the board: its CPU state, the engine that runs it, its
 * bus interface (whose opaque is this struct, so the board knows which CPU
 * asks) and its local APIC, whose register page only this CPU sees. */
struct pc_vcpu {
	struct pc *pc;
	int index;               /* also its APIC ID */
	struct cpu cpu;
	bool cpu_ok;
	struct cpu_bus cbus;
	struct engine *eng;
	struct lapic lapic;
	struct bus apic_bus;     /* the local APIC's page, in front of pc->mmio */
	uint8_t init_pending;    /* an INIT IPI came (pc_apic_signals acts on it) */
	int sipi_vector;         /* a STARTUP IPI's vector, or -1 */
};

struct pc {
	struct pc_config cfg;
	struct ram ram;
	struct bus pio, mmio;
	struct clock clock;
	/* The processors, vcpu[0] the bootstrap processor. On interp and bt
	 * they run in turn on this thread (pc.c's run loop); cur is the one
	 * running or run last, the one a device's stop request stops. */
	int ncpus;
	int cur;
	struct pc_vcpu vcpu[PC_MAX_CPUS];
	struct cpu *cpus[PC_MAX_CPUS]; /* &vcpu[i].cpu: what each cpu->cpus points at */
	struct board_req req;
	struct pic pic;
	struct ioapic ioapic;
	struct acpi_pm acpi_pm;
	struct pit pit;
	struct uart uart;
	struct rtc rtc;
	struct i8042 kbd;
	struct port92 p92;
	struct post post;
	struct pci_host pci;
	unsigned msi_logged;     /* MSIs dropped (bad address) so far: pc_msi */
	struct piix3 piix3;
	struct fw_cfg fw_cfg;
	bool fw_cfg_ok;
	struct ide ide;
	int ide_fd[PC_IDE_DRIVES];
	struct vga vga;
	uint32_t drawn_gen;      /* the VGA generation last drawn, and when */
	uint64_t drawn_at;
	struct debugcon dcon, dcon402;
	struct apm_shutdown apm;
	struct console con;
	enum pc_action action;
	int exit_status;
	int sig_pipe[2];
	unsigned triple_faults;
	struct pc_debugger dbg;
	struct pc_virtio *virtio;
	struct pc_rr rr;
	/* The control socket (QMP, machine/qmp.h): serviced like the
	 * debugger, before each run and while the guest idles. */
	struct pc_debugger ctl;
	/* Every device, for reset, save and load (devtab.h). */
	struct devtab devs;
};

/* The interrupt path and ACPI hardware (pc_apic.c), for pc.c. */
void pc_isa_irq(void *pc, int irq, int level); /* ISA IRQ line: 8259 and IOAPIC */
int pc_cb_intr_ack(void *pc);
/* A PCI device's message-signalled interrupt (MSI-X): the write of data
 * at addr, to the local APICs it names (dropped and logged unless addr is
 * in 0xFEExxxxx). */
void pc_msi(struct pc *pc, uint64_t addr, uint32_t data);
void pc_cb_apic_base(void *pc, uint64_t val);
int pc_apic_init(struct pc *pc);          /* 8259 pair, local APICs, IOAPIC, ACPI PM */
void pc_apic_signals(struct pc *pc);      /* carry out the INIT and STARTUP IPIs sent */
int pc_fw_tables(struct pc *pc, struct guest_ram *g); /* MP and ACPI tables */
/* The ACPI tables built at address 0 of buf, for fw_cfg's table loader:
 * bytes used or -1; *l says where each table is. */
struct acpi_layout;
int pc_acpi_image(struct pc *pc, uint8_t *buf, uint32_t size, struct acpi_layout *l);

/* The 440FX/PIIX3 side: PAM, the ISA bridge, fw_cfg (pc_chipset.c). */
/* 0, or -1 with a message (an image that cannot be opened). */
int pc_chipset_init(struct pc *pc, const struct irq_line isa[16], char *err, size_t errlen);
void pc_chipset_reset(struct pc *pc);
/* Its entry in the device table (pc->devs): 0, or -1 if full. */
int pc_chipset_register(struct pc *pc);
void pc_chipset_free(struct pc *pc);

/* The VGA screen on the terminal and in a file (pc_display.c). */
void pc_display_tick(struct pc *pc);  /* redraw if due and changed */
void pc_display_dump(struct pc *pc);  /* write --screendump's file */

/* The bootstrap processor (the one gdb, traces and loaders see). */
static inline struct cpu *pc_bsp(struct pc *pc) { return &pc->vcpu[0].cpu; }
/* Instructions retired by all the CPUs. */
static inline uint64_t pc_icount(const struct pc *pc)
{
	uint64_t n = 0;
	for (int i = 0; i < pc->ncpus; i++)
		n += pc->vcpu[i].cpu.icount;
	return n;
}
/* Make every CPU's struct current from its engine / push it back. */
void pc_sync_out(struct pc *pc);
void pc_sync_in(struct pc *pc);
/* The engine's name ("interp", "bt", "kvm"), "none" before one is set. */
const char *pc_engine_name(const struct pc *pc);
/* What could wake the CPUs, as text (pc_diag.c): its state, the armed
 * timers, the local APIC, IOAPIC, 8259s and PIT. On SIGUSR2 and from
 * QMP's ringvm-diag (docs/debugging.md). */
void pc_diag_dump(struct pc *pc, FILE *f);

/* Build the board (RAM, devices, CPU). Returns NULL with a message. */
struct pc *pc_create(const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct pc *pc);
/* Create the engine that will run the CPUs (one instance each). 0, or -1
 * with a message (kvm runs one CPU only). */
int pc_set_engine(struct pc *pc, const struct engine_ops *ops, char *err, size_t errlen);
/* Load the image and put the CPU at its entry (also used on reboot). */
int pc_boot(struct pc *pc, char *err, size_t errlen);
/* Run until the machine ends; returns the exit status (see above). */
int pc_run(struct pc *pc);
/* Every device to its power-on state (fuzz/fuzz_devices.c). */
void pc_reset_devices(struct pc *pc);

#endif
