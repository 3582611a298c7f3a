/* ringvm's command line: parse options (GNU long options, plus QEMU's
 * single-dash spellings), read the images, pick an engine, build the board
 * and run it. Every bad input ends here with a message and status 1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "cli/devopts.h"
#include "cli/drive.h"
#include "cli/smp.h"
#include "cpu/cpumodel.h"
#include "debug/gdbstub.h"
#include "debug/replay.h"
#include "debug/ringtrace.h"
#include "engine/engine.h"
#include "engine/kvm.h"
#include "machine/migrate.h"
#include "machine/pc.h"
#include "machine/pc_snap.h"
#include "machine/qmp.h"
#include "machine/ram.h"
#include "machine/sandbox.h"

#define RINGVM_VERSION "0.1"
#define DEFAULT_RAM (128ull << 20)
#define MAX_IMAGE (1ull << 30)

/* The embedded default guest (src/cli/guest_blob.S). */
extern const unsigned char ringvm_guest_elf[], ringvm_guest_elf_end[];

/* Engines that may not be linked into this build yet: weak references are
 * NULL when absent. */
extern const struct engine_ops kvm_engine_ops __attribute__((weak));
extern const struct engine_ops bt_engine_ops __attribute__((weak));
extern unsigned kvm_probe(char *msg, size_t msglen) __attribute__((weak));

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ringvm [options]\n"
		"Run a 32-bit x86 guest. With no --kernel, boots the embedded guest.\n"
		"\n"
		"  --kernel FILE      multiboot ELF or Linux bzImage to boot\n"
		"  --initrd FILE      initial ramdisk (Linux) or first module (multiboot)\n"
		"  --append STRING    kernel command line\n"
		"  -m, --memory SIZE  guest RAM: a number with K, M or G (no suffix: MiB);\n"
		"                     2 MiB to 16 GiB, default 128M\n"
		"  -cpu MODEL         processor model: pentium, pentium2 (default), pentium3,\n"
		"                     pentium4, pentium-m; -cpu help lists them\n"
		"  -smp N             N processors (1 to 8; QEMU's cpus=,sockets=,cores=,\n"
		"                     threads= also), taking turns on interp and bt\n"
		"  --accel ENGINE     interp, bt or kvm (default: kvm if it can run this\n"
		"                     guest here, else bt)\n"
		"  --bios FILE        BIOS ROM image, exactly 64 or 128 KiB; with no\n"
		"                     --kernel the machine starts at its reset vector\n"
		"  --no-reboot        exit instead of rebooting on reset or triple fault\n"
		"  --no-acpi          leave the ACPI tables out (the MP table stays)\n"
		"  --debugcon FILE    port 0xe9 output to FILE (default: stderr)\n"
		"  --trace            print every instruction executed (stderr)\n"
		"  --gdb tcp:[HOST]:PORT  serve gdb's remote protocol there (host default\n"
		"                     127.0.0.1; port 0: any free port, printed on stderr)\n"
		"  -s                 the same as --gdb tcp::1234\n"
		"  -S                 start stopped: the guest waits for gdb to continue it\n"
		"  --trace-rings FILE write each ring/mode transition, interrupt, exception,\n"
		"                     gate and task switch to FILE as JSON Lines (not kvm;\n"
		"                     scripts/ringvm-trace draws it)\n"
		"  --record FILE      log the console input with the instruction count it\n"
		"                     arrived at (implies --deterministic; not kvm)\n"
		"  --replay FILE      rerun a recording, input from the log, and check that it\n"
		"                     ends in the same state with the same console output\n"
		"  --name NAME        the domain's name (QMP query-name, ringctl)\n"
		"  --qmp unix:PATH[,server=on,wait=off]  QMP control socket (docs/domains.md)\n"
		"  --start-paused     (with --qmp) wait for QMP \"cont\" before running\n"
		"  --restore FILE     continue a domain saved by ringvm-save / ringctl save\n"
		"  --incoming tcp:HOST:PORT  wait there for a live migration (docs/domains.md)\n"
		"  --no-sandbox       do not confine the running monitor with seccomp\n"
		"                     (docs/sandbox.md)\n"
		"  --deterministic    virtual time from the instruction count (not with kvm;\n"
		"                     the default engine becomes interp)\n"
		"  -hda FILE .. -hdd FILE  raw disk image on IDE primary/secondary master/slave\n"
		"  -drive file=FILE[,if=ide][,index=0-3][,format=raw][,readonly=on]  an IDE disk\n"
		"  -boot menu=on|off[,splash-time=MS]  the BIOS's boot menu (with --bios)\n"
		"  --display text|none  show the VGA text screen on the terminal (ANSI)\n"
		"  --screendump FILE  write the VGA text screen to FILE at exit and on SIGUSR1\n"
		"  -drive file=IMG,if=virtio[,format=raw][,readonly=on][,cache=MODE]\n"
		"                     a raw disk image as a virtio-blk disk (no qcow2)\n"
		"  -netdev user,id=ID[,hostfwd=tcp::HOSTPORT-:GUESTPORT]  user-mode network\n"
		"  -device virtio-net-pci,netdev=ID | virtio-blk-pci,drive=ID | virtio-rng-pci\n"
		"        | virtconsole,chardev=ID   virtio devices (docs/virtio.md)\n"
		"  -nic user[,hostfwd=...]  the same as -netdev user + -device virtio-net-pci\n"
		"  -chardev file,id=ID,path=FILE | stdio,id=ID   output of a virtconsole\n"
		"  --help, --version\n"
		"QEMU's single-dash spellings work too: -kernel -initrd -append -m -accel\n"
		"-bios -no-reboot -no-acpi -debugcon -gdb -cpu (and --cpu).\n"
		"Console: serial port on stdin/stdout; on a terminal, C-a x quits, C-a h helps.\n"
		"Exit status: 0 power off or C-a x, 1 error, 2 triple fault (--no-reboot),\n"
		"4 HLT with interrupts off, (v << 1) | 1 after a write of v to port 0xf4,\n"
		"128 + N on signal N. See docs/board.md.\n");
}

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "ringvm: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	return 1;
}

/* Read a whole file into memory. */
static int read_image(const char *what, const char *path, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ringvm: %s '%s': %s\n", what, path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "ringvm: %s '%s': not a regular file\n", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > MAX_IMAGE) {
		fprintf(stderr, "ringvm: %s '%s': %s\n", what, path, st.st_size ? "larger than 1 GiB" : "empty file");
		close(fd);
		return -1;
	}
	uint8_t *buf = malloc((size_t)st.st_size);
	if (!buf) {
		fprintf(stderr, "ringvm: %s '%s': out of memory\n", what, path);
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "ringvm: %s '%s': %s\n", what, path, n < 0 ? strerror(errno) : "file shrank while reading");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_APPEND, OPT_ACCEL, OPT_BIOS, OPT_NO_REBOOT, OPT_NO_ACPI, OPT_DEBUGCON,
	OPT_TRACE, OPT_DETERMINISTIC, OPT_HELP, OPT_VERSION, OPT_CPU, OPT_SMP, OPT_GDB,
	OPT_DRIVE, OPT_NETDEV, OPT_NIC, OPT_DEVICE, OPT_CHARDEV,
	OPT_TRACE_RINGS, OPT_RECORD, OPT_REPLAY,
	OPT_HDA, OPT_HDB, OPT_HDC, OPT_HDD, OPT_BOOT, OPT_DISPLAY, OPT_SCREENDUMP,
	OPT_NAME, OPT_QMP, OPT_RESTORE, OPT_INCOMING, OPT_START_PAUSED,
	OPT_NO_SANDBOX,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "memory", required_argument, NULL, 'm' },
	{ "accel", required_argument, NULL, OPT_ACCEL },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "smp", required_argument, NULL, OPT_SMP },
	{ "bios", required_argument, NULL, OPT_BIOS },
	{ "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
	{ "no-acpi", no_argument, NULL, OPT_NO_ACPI },
	{ "debugcon", required_argument, NULL, OPT_DEBUGCON },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "deterministic", no_argument, NULL, OPT_DETERMINISTIC },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "drive", required_argument, NULL, OPT_DRIVE },
	{ "netdev", required_argument, NULL, OPT_NETDEV },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "chardev", required_argument, NULL, OPT_CHARDEV },
	{ "trace-rings", required_argument, NULL, OPT_TRACE_RINGS },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "hda", required_argument, NULL, OPT_HDA },
	{ "hdb", required_argument, NULL, OPT_HDB },
	{ "hdc", required_argument, NULL, OPT_HDC },
	{ "hdd", required_argument, NULL, OPT_HDD },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "display", required_argument, NULL, OPT_DISPLAY },
	{ "screendump", required_argument, NULL, OPT_SCREENDUMP },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "start-paused", no_argument, NULL, OPT_START_PAUSED },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};


/* QEMU spells long options with one dash: "-kernel FILE". Rewrite those
 * (exact names only) to "--kernel" before getopt sees them. */
static char **qemu_spellings(int argc, char **argv)
{
	static const char *const names[] = { "kernel", "initrd", "append", "accel", "bios", "name", "qmp", "incoming",
					     "no-reboot", "no-acpi", "debugcon", "memory", "cpu", "smp", "gdb",
					     "drive", "netdev", "nic", "device", "chardev", "hda", "hdb", "hdc", "hdd", "boot", "display", NULL };
	char **nv = calloc((size_t)argc + 1, sizeof(*nv));
	if (!nv)
		return NULL;
	for (int i = 0; i < argc; i++) {
		nv[i] = argv[i];
		const char *a = argv[i];
		if (i == 0 || a[0] != '-' || a[1] == '-' || a[1] == 0)
			continue;
		if (strcmp(a, "--") == 0)
			break;
		size_t n = strcspn(a + 1, "=");
		for (int k = 0; names[k]; k++) {
			if (strlen(names[k]) == n && strncmp(a + 1, names[k], n) == 0) {
				char *s = malloc(strlen(a) + 2);
				if (s) {
					s[0] = '-';
					strcpy(s + 1, a);
					nv[i] = s;
				}
			}
		}
	}
	return nv;
}

struct opts;
static int board_option(int c, const char *arg, struct opts *o);

struct opts {
	const char *kernel, *initrd, *append, *accel, *bios, *debugcon, *gdb;
	const char *trace_rings, *record, *replay;
	const char *name, *qmp, *restore, *incoming;
	const struct cpu_model *cpu;
	uint64_t ram;
	int ncpus; /* -smp */
	int no_reboot, no_acpi, trace, deterministic, gdb_wait, start_paused;
	struct devopts dev; /* -drive, -netdev, -nic, -device, -chardev */
	struct pc_config board; /* disks and boot options (cli/drive.c) */
	int no_sandbox;
};

/* -drive, -hdX, -boot: 0, or -1 after the message. */
static int board_option(int c, const char *arg, struct opts *o)
{
	char err[256];
	struct drive_spec *d = malloc(sizeof(*d));
	int r = -1;
	if (!d) {
		fail("out of memory%s%s", "", "");
		return -1;
	}
	if (c == OPT_DISPLAY) {
		r = display_parse(arg, &o->board, err, sizeof(err));
	} else if (c == OPT_SCREENDUMP) {
		o->board.screendump = arg;
		r = 0;
	} else if (c == OPT_BOOT) {
		r = boot_parse(arg, &o->board, err, sizeof(err));
	} else if (c == OPT_DRIVE) {
		/* virtio-blk (if=virtio, or if=none for -device
		 * virtio-blk-pci,drive=ID) has keys of its own: devopts.c's */
		if (drive_for_virtio(arg)) {
			r = devopts_add(&o->dev, "drive", arg, err, sizeof(err));
		} else {
			r = drive_parse(arg, d, err, sizeof(err));
			if (r == 0)
				r = drive_add_ide(&o->board, d, err, sizeof(err));
		}
	} else {
		memset(d, 0, sizeof(*d));
		snprintf(d->file, sizeof(d->file), "%s", arg);
		strcpy(d->media, "disk");
		d->index = c - OPT_HDA;
		r = drive_add_ide(&o->board, d, err, sizeof(err));
	}
	free(d);
	if (r < 0)
		fail("%s%s", err, "");
	return r;
}

/* Returns -1 to continue, else an exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
	char err[256];
	o->ram = DEFAULT_RAM;
	o->ncpus = 1;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":m:hsS", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_APPEND: o->append = optarg; break;
		case OPT_ACCEL: o->accel = optarg; break;
		case OPT_BIOS: o->bios = optarg; break;
		case OPT_DEBUGCON: o->debugcon = optarg; break;
		case OPT_NO_REBOOT: o->no_reboot = 1; break;
		case OPT_NO_ACPI: o->no_acpi = 1; break;
		case OPT_TRACE: o->trace = 1; break;
		case OPT_DETERMINISTIC: o->deterministic = 1; break;
		case OPT_NO_SANDBOX: o->no_sandbox = 1; break;
		case OPT_CPU:
			if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
				cpumodel_list(stdout);
				return 0;
			}
			o->cpu = cpumodel_find(optarg);
			if (!o->cpu) {
				fail("unknown CPU model '%s'%s", optarg, "");
				cpumodel_list(stderr);
				return 1;
			}
			break;
		case OPT_GDB: o->gdb = optarg; break;
		case OPT_NETDEV: case OPT_NIC: case OPT_DEVICE: case OPT_CHARDEV: {
			static const char *const kinds[] = { "drive", "netdev", "nic", "device", "chardev" };
			if (devopts_add(&o->dev, kinds[c - OPT_DRIVE], optarg, err, sizeof(err)) < 0)
				return fail("%s%s", err, "");
			break;
		}
		case OPT_TRACE_RINGS: o->trace_rings = optarg; break;
		case OPT_RECORD: o->record = optarg; break;
		case OPT_REPLAY: o->replay = optarg; break;
		case OPT_DRIVE: /* if=ide here, if=virtio|none in devopts */
		case OPT_HDA: case OPT_HDB: case OPT_HDC: case OPT_HDD:
		case OPT_BOOT:
		case OPT_DISPLAY:
		case OPT_SCREENDUMP:
			if (board_option(c, optarg, o) < 0)
				return 1;
			break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_QMP: o->qmp = optarg; break;
		case OPT_RESTORE: o->restore = optarg; break;
		case OPT_INCOMING: o->incoming = optarg; break;
		case OPT_START_PAUSED: o->start_paused = 1; break;
		case 's': o->gdb = "tcp::1234"; break;
		case 'S': o->gdb_wait = 1; break;
		case OPT_SMP:
			if (smp_parse(optarg, &o->ncpus, err, sizeof(err)) < 0)
				return fail("%s%s", err, "");
			break;
		case 'm':
			if (ram_parse_size(optarg, &o->ram, err, sizeof(err)) < 0)
				return fail("%s%s", err, "");
			if (o->ram < RAM_MIN || o->ram > RAM_MAX)
				return fail("memory size '%s' is out of range: ringvm needs 2M to 16G%s", optarg, "");
			if (o->ram % RAM_PAGE)
				return fail("memory size '%s' is not a multiple of 4 KiB%s", optarg, "");
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("ringvm %s\n", RINGVM_VERSION);
			return 0;
		case ':':
			fail("option '%s' needs an argument%s", argv[optind - 1], "");
			fprintf(stderr, "Try 'ringvm --help'.\n");
			return 1;
		default:
			fail("unknown option '%s'%s", argv[optind - 1], "");
			fprintf(stderr, "Try 'ringvm --help'.\n");
			return 1;
		}
	}
	if (optind < argc) {
		fail("unexpected argument '%s'%s", argv[optind], "");
		fprintf(stderr, "Try 'ringvm --help'.\n");
		return 1;
	}
	if (o->accel && strcmp(o->accel, "interp") && strcmp(o->accel, "bt") && strcmp(o->accel, "kvm"))
		return fail("unknown accelerator '%s': choose interp, bt or kvm%s", o->accel, "");
	/* Record and replay run on the deterministic clock: then the console
	 * is the only input from outside (debug/replay.h). */
	if (o->record && o->replay)
		return fail("--record and --replay: one or the other%s%s", "", "");
	/* A debugger's stop ends a CPU's turn early, so with several CPUs the
	 * schedule would differ between recording and replay (docs/smp.md). */
	if (o->ncpus > 1 && (o->record || o->replay) && o->gdb)
		return fail("-smp: %s with the gdb stub runs with one CPU only (-smp 1)%s",
			    o->record ? "--record" : "--replay", "");
	if (o->ncpus > 1 && o->accel && !strcmp(o->accel, "kvm"))
		return fail("-smp: the kvm engine runs one CPU; use --accel bt or interp%s%s", "", "");
	if (o->ncpus > 1 && !o->accel && !o->replay) /* a replay: the log's engine */
		o->accel = "bt";
	if ((o->record || o->replay) && o->accel && !strcmp(o->accel, "kvm"))
		return fail("--record and --replay need a software engine (--accel interp or bt), not kvm%s%s", "", "");
	if (o->record || o->replay) {
		o->deterministic = 1;
		if (!o->accel && o->record)
			o->accel = "bt";
	}
	/* The deterministic clock counts retired instructions, which only the
	 * software engines see. */
	if (o->deterministic && o->accel && !strcmp(o->accel, "kvm"))
		return fail("--deterministic needs a software engine (--accel interp or bt), not kvm%s%s", "", "");
	if (o->deterministic && !o->accel && !o->replay)
		o->accel = "interp";
	if (o->gdb_wait && !o->gdb)
		return fail("-S (start stopped) needs a gdb stub: add -s or --gdb tcp::PORT%s%s", "", "");
	/* Breakpoints and steps run in the software engines' run core; kvm
	 * would need KVM_SET_GUEST_DEBUG, which is not wired up (docs/gdb.md). */
	if (o->gdb && o->accel && !strcmp(o->accel, "kvm"))
		return fail("the gdb stub needs a software engine (--accel interp or bt); "
			    "it does not drive kvm yet%s%s", "", "");
	if (o->gdb && !o->accel && !o->replay)
		o->accel = "bt";
	/* Transitions are seen where cpu/ implements them: not under kvm. */
	if (o->trace_rings && o->accel && !strcmp(o->accel, "kvm"))
		return fail("--trace-rings needs a software engine (--accel interp or bt), not kvm%s%s", "", "");
	if (o->trace_rings && !o->accel && !o->replay)
		o->accel = "bt";
	if (o->start_paused && !o->qmp)
		return fail("--start-paused needs --qmp (something must say cont)%s%s", "", "");
	if (o->initrd && !o->kernel)
		return fail("--initrd '%s' needs --kernel%s", o->initrd, "");
	if (devopts_finish(&o->dev, err, sizeof(err)) < 0)
		return fail("%s%s", err, "");
	return -1;
}

/* Can the kvm engine run this kind of guest here? The engine's own
 * probe() decides if it has one; else kvm_probe() says which modes the
 * host's KVM runs: a BIOS starts in real mode, multiboot and Linux kernels
 * need protected mode and (ringos and Linux both turn it on) paging. */
static int kvm_fits(const struct engine_ops *kvm, int kind, char *why, size_t whylen)
{
	why[0] = 0;
	if (kvm->probe)
		return kvm->probe(kind, why, whylen);
	if (!kvm_probe)
		return 1;
	unsigned need = kind == 0 ? KVM_MODE_REAL : (KVM_MODE_PROT | KVM_MODE_PAGING);
	unsigned have = kvm_probe(why, whylen);
	if ((have & need) == need)
		return 1;
	if (!why[0])
		snprintf(why, whylen, "this host's KVM cannot run the modes this guest needs");
	return 0;
}

/* The engine to use. NULL after printing why not. */
static const struct engine_ops *pick_engine(const char *accel, int guest_kind, int needs_known)
{
	const struct engine_ops *kvm = &kvm_engine_ops, *bt = &bt_engine_ops;
	char why[512] = "";
	if (accel) {
		if (!strcmp(accel, "interp"))
			return &interp_engine_ops;
		if (!strcmp(accel, "bt")) {
			if (!bt)
				fail("--accel bt: the bt engine is not implemented yet%s%s", "", "");
			return bt;
		}
		if (!kvm) {
			fail("--accel kvm: this build has no kvm engine%s%s", "", "");
			return NULL;
		}
		/* Asked for explicitly. The embedded guest and Linux are known
		 * to need paging and protected-mode interrupts: refuse in one
		 * line rather than start a guest that cannot get far. Another
		 * multiboot kernel may need less: warn and let the user try. */
		if (!kvm_fits(kvm, guest_kind, why, sizeof(why))) {
			if (needs_known) {
				fail("--accel kvm: %s; use --accel interp%s", why, "");
				return NULL;
			}
			fprintf(stderr, "ringvm: warning: --accel kvm: %s\n", why);
		}
		return kvm;
	}
	/* Without a usable kvm, the translator: the fast software engine. */
	const struct engine_ops *soft = bt ? bt : &interp_engine_ops;
	if (!kvm) {
		fprintf(stderr, "ringvm: using the %s engine (no kvm engine in this build)\n", soft->name);
		return soft;
	}
	if (!kvm_fits(kvm, guest_kind, why, sizeof(why))) {
		fprintf(stderr, "ringvm: using the %s engine (kvm: %s)\n", soft->name, why);
		return soft;
	}
	fprintf(stderr, "ringvm: using the kvm engine\n");
	return kvm;
}

static void free_args(int argc, char **argv, char **av)
{
	for (int i = 0; i < argc; i++)
		if (av[i] != argv[i])
			free(av[i]);
	free(av);
}

/* The gdb stub as the board's debugger (machine/pc.h). */
static int dbg_service(void *opaque)
{
	switch (gdbstub_service(opaque)) {
	case GDBSTUB_AGAIN: return PC_DBG_AGAIN;
	case GDBSTUB_KILL: return PC_DBG_KILL;
	default: return PC_DBG_RUN;
	}
}

static int dbg_wait_fd(void *opaque)
{
	return gdbstub_wait_fd(opaque);
}

static void dbg_ended(void *opaque, int status)
{
	gdbstub_ended(opaque, status);
}

static int dbg_only_cpu(void *opaque)
{
	return gdbstub_only_cpu(opaque);
}

/* The board's CPUs and their engines, for the debugger and the trace. */
static void board_cpus(struct pc *pc, struct cpu *cpus[], struct engine *engs[])
{
	for (int i = 0; i < pc->ncpus; i++) {
		cpus[i] = &pc->vcpu[i].cpu;
		engs[i] = pc->vcpu[i].eng;
	}
}

/* A replay is what gdb's reverse commands rewind (debug/replay.h). */
static void rewind_restart(void *opaque)
{
	replay_restart(opaque);
}

static void rewind_stop_at(void *opaque, uint64_t icount)
{
	replay_stop_at(opaque, icount);
}

/* A restored or migrated domain is built as its config says; an --accel
 * given now wins (a snapshot runs on any engine). */
static void apply_config(struct opts *o, const struct snap_config *sc)
{
	o->ram = sc->ram_size;
	o->ncpus = sc->ncpus ? sc->ncpus : 1;
	o->kernel = sc->kernel[0] ? sc->kernel : NULL;
	o->initrd = sc->initrd[0] ? sc->initrd : NULL;
	o->bios = sc->bios[0] ? sc->bios : NULL;
	o->append = sc->cmdline;
	o->deterministic = sc->deterministic;
	o->no_acpi = sc->no_acpi;
	o->no_reboot = sc->no_reboot;
	if (!o->accel && sc->engine[0])
		o->accel = sc->engine;
	if (sc->cpu_model[0])
		o->cpu = cpumodel_find(sc->cpu_model);
	if (!o->name)
		o->name = sc->name;
}

static void abs_path(char *dst, size_t cap, const char *path)
{
	char *r = path ? realpath(path, NULL) : NULL;
	snprintf(dst, cap, "%s", r ? r : path ? path : "");
	free(r);
}

/* Where the domain comes from: a snapshot, a migration stream (whose fd
 * is left in *in_fd), or the command line. Fills sc, which save and
 * migration write out. Returns -1 to go on, else an exit status. */
static int prepare_domain(struct opts *o, struct snap_config *sc, struct snap_in *in)
{
	char err[512];
	if (o->restore && o->incoming)
		return fail("--restore and --incoming exclude each other%s%s", "", "");
	if (o->restore) {
		if (pc_snap_read_config(o->restore, sc, err, sizeof(err)) < 0)
			return fail("%s%s", err, "");
		apply_config(o, sc);
	} else if (o->incoming) {
		int fd = migrate_accept(o->incoming, err, sizeof(err));
		if (fd < 0)
			return fail("--incoming %s%s", err, "");
		snap_in_init(in, fd);
		if (snap_read_header(in, err, sizeof(err)) < 0 || snap_next(in, err, sizeof(err)) < 0 ||
		    strcmp(in->name, "config") || snap_config_get(&in->r, sc) < 0)
			return fail("--incoming: the source sent no valid domain config (%s)%s", err, "");
		apply_config(o, sc);
	}
	struct snap_config fresh;
	memset(&fresh, 0, sizeof(fresh));
	fresh.ram_size = o->ram;
	fresh.ncpus = (uint8_t)o->ncpus;
	fresh.deterministic = (uint8_t)o->deterministic;
	fresh.no_acpi = (uint8_t)o->no_acpi;
	fresh.no_reboot = (uint8_t)o->no_reboot;
	snprintf(fresh.name, sizeof(fresh.name), "%s", o->name ? o->name : "ringvm");
	abs_path(fresh.kernel, sizeof(fresh.kernel), o->kernel);
	abs_path(fresh.initrd, sizeof(fresh.initrd), o->initrd);
	abs_path(fresh.bios, sizeof(fresh.bios), o->bios);
	snprintf(fresh.cmdline, sizeof(fresh.cmdline), "%s", o->append ? o->append : "");
	snprintf(fresh.engine, sizeof(fresh.engine), "%s", o->accel ? o->accel : "");
	snprintf(fresh.cpu_model, sizeof(fresh.cpu_model), "%s", o->cpu ? o->cpu->name : "");
	/* The options may point into *sc (a restore): the same text again. */
	*sc = fresh;
	return -1;
}

/* Read the images, build the board, run it. Returns the exit status. */
static int run(const struct opts *o, struct snap_config *sc, struct snap_in *in, struct qmp *qmp)
{
	struct pc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = o->ram;
	cfg.ncpus = o->ncpus;
	cfg.cmdline = o->append ? o->append : "";
	cfg.no_reboot = o->no_reboot;
	cfg.no_acpi = o->no_acpi;
	cfg.trace = o->trace;
	cfg.deterministic = o->deterministic;
	cfg.console_in = STDIN_FILENO;
	cfg.console_out = STDOUT_FILENO;
	cfg.virtio = &o->dev.cfg;
	memcpy(cfg.ide, o->board.ide, sizeof(cfg.ide));
	cfg.boot_menu = o->board.boot_menu;
	cfg.splash_ms = o->board.splash_ms;
	cfg.display_text = o->board.display_text;
	cfg.screendump = o->board.screendump;

	uint8_t *kernel = NULL, *initrd = NULL, *rom = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	FILE *dcon = NULL;
	struct pc *pc = NULL;
	struct gdbstub *gdb = NULL;
	struct ringtrace *rtrace = NULL;
	struct replay *rr = NULL;
	char err[512];
	int rc = 1;
	if (o->bios) {
		if (rom_load(o->bios, &rom, &cfg.rom_size, err, sizeof(err)) < 0) {
			fail("%s%s", err, "");
			goto out;
		}
		cfg.rom = rom;
	}
	if (o->kernel) {
		if (read_image("kernel", o->kernel, &kernel, &kernel_len) < 0)
			goto out;
		cfg.kernel = kernel;
		cfg.kernel_len = kernel_len;
		cfg.kernel_name = o->kernel;
		if (!boot_detect(kernel, kernel_len)) {
			fail("kernel '%s': not a multiboot kernel or a Linux bzImage%s", o->kernel, "");
			goto out;
		}
	} else if (!o->bios) {
		size_t n = (size_t)(ringvm_guest_elf_end - ringvm_guest_elf);
		if (n == 0) {
			fail("this build has no embedded guest; give --kernel FILE%s%s", "", "");
			goto out;
		}
		cfg.kernel = ringvm_guest_elf;
		cfg.kernel_len = n;
		cfg.kernel_name = "ringos"; /* one word: the guest's argv[0] */
	}
	if (o->initrd) {
		if (read_image("initrd", o->initrd, &initrd, &initrd_len) < 0)
			goto out;
		cfg.initrd = initrd;
		cfg.initrd_len = initrd_len;
		cfg.initrd_name = o->initrd;
	}
	if (o->debugcon) {
		const char *path = o->debugcon;
		if (!strncmp(path, "file:", 5))
			path += 5; /* QEMU's chardev spelling */
		if (!strcmp(path, "stdio")) {
			dcon = stdout;
		} else {
			dcon = fopen(path, "w");
			if (!dcon) {
				fail("debugcon '%s': %s", path, strerror(errno));
				goto out;
			}
		}
		cfg.debugcon = dcon;
	}

	const char *accel = o->accel;
	if (o->replay) {
		rr = replay_load(o->replay, err, sizeof(err));
		if (!rr) {
			fail("%s%s", err, "");
			goto out;
		}
		if (!accel)
			accel = replay_engine(rr);
		cfg.console_in = -1; /* the log is the input */
	}
	int kind = cfg.kernel ? boot_detect(cfg.kernel, cfg.kernel_len) : 0;
	const struct engine_ops *eng = pick_engine(accel, kind, !o->kernel || kind == 2);
	if (!eng)
		goto out;
	if (o->gdb) {
		gdb = gdbstub_open(o->gdb, o->gdb_wait, stderr, err, sizeof(err));
		if (!gdb) {
			fail("%s%s", err, "");
			goto out;
		}
	}
	pc = pc_create(&cfg, err, sizeof(err));
	if (!pc) {
		fail("%s%s", err, "");
		goto out;
	}
	/* Before the engine: kvm presents the model's CPUID too. */
	for (int i = 0; i < pc->ncpus; i++)
		cpu_set_model(&pc->vcpu[i].cpu, o->cpu ? o->cpu : CPU_MODEL_DEFAULT);
	if (pc_set_engine(pc, eng, err, sizeof(err)) < 0) {
		if (o->accel) {
			fail("--accel %s: %s", o->accel, err);
			goto out;
		}
		/* The default chose kvm and it would not start: fall back to
		 * the translator, or the interpreter if even that fails. */
		fprintf(stderr, "ringvm: kvm engine failed (%s); using bt\n", err);
		if (pc_set_engine(pc, &bt_engine_ops, err, sizeof(err)) < 0 &&
		    pc_set_engine(pc, &interp_engine_ops, err, sizeof(err)) < 0) {
			fail("interp engine: %s%s", err, "");
			goto out;
		}
	}
	snprintf(sc->engine, sizeof(sc->engine), "%s", pc_engine_name(pc));
	snprintf(sc->cpu_model, sizeof(sc->cpu_model), "%s", pc_bsp(pc)->model ? pc_bsp(pc)->model->name : "");
	int booted = o->restore ? pc_restore(pc, o->restore, err, sizeof(err))
		     : o->incoming ? migrate_receive(pc, in, err, sizeof(err))
				   : pc_boot(pc, err, sizeof(err));
	if (booted < 0) {
		fail("%s%s", err, "");
		goto out;
	}
	if (qmp)
		qmp_attach(qmp, pc, sc, o->start_paused);
	if (gdb) {
		_Static_assert(PC_MAX_CPUS <= GDBSTUB_MAX_CPUS, "a gdb thread for each CPU");
		struct cpu *cpus[PC_MAX_CPUS];
		struct engine *engs[PC_MAX_CPUS];
		board_cpus(pc, cpus, engs);
		gdbstub_attach(gdb, pc->ncpus, cpus, engs, &pc->cur);
		pc->dbg = (struct pc_debugger){ gdb, dbg_service, dbg_wait_fd, dbg_ended, NULL, dbg_only_cpu };
	}
	if (o->record || o->replay) {
		struct replay_config rc_cfg = {
			.engine = pc_engine_name(pc),
			.cpu = pc_bsp(pc)->model->name,
			.ram = cfg.ram_size,
			.kernel = replay_hash(cfg.kernel, cfg.kernel_len),
			.initrd = cfg.initrd ? replay_hash(cfg.initrd, cfg.initrd_len) : 0,
			.cmdline = cfg.cmdline,
			.ncpus = pc->ncpus,
		};
		if (o->record)
			rr = replay_record(o->record, &rc_cfg, err, sizeof(err));
		if (!rr || replay_check_config(rr, &rc_cfg, err, sizeof(err)) < 0) {
			fail("%s%s", err, "");
			goto out;
		}
		replay_attach(rr, pc);
		if (gdb && o->replay) {
			struct gdbstub_rewind rw = { rr, rewind_restart, rewind_stop_at };
			gdbstub_set_rewind(gdb, &rw);
		}
	}
	if (o->trace_rings) {
		rtrace = ringtrace_open(o->trace_rings, err, sizeof(err));
		if (!rtrace) {
			fail("%s%s", err, "");
			goto out;
		}
		_Static_assert(PC_MAX_CPUS <= RINGTRACE_MAX_CPUS, "a trace for each CPU");
		struct cpu *cpus[PC_MAX_CPUS];
		struct engine *engs[PC_MAX_CPUS];
		board_cpus(pc, cpus, engs);
		ringtrace_attach(rtrace, pc->ncpus, cpus);
	}
	/* Everything is open and loaded: from here on the monitor keeps only
	 * the system calls its run loop needs. */
	if (!o->no_sandbox) {
		/* Only what the configuration uses: a NIC's sockets, the
		 * disks' I/O, the control plane's files and peers. */
		bool disks = o->dev.cfg.ndrives > 0;
		for (int i = 0; i < PC_IDE_DRIVES; i++)
			disks |= o->board.ide[i].file != NULL;
		struct sandbox_config sb = { pc_engine_name(pc), gdb != NULL, o->dev.cfg.nnics > 0, disks,
					     o->qmp != NULL || o->board.screendump != NULL, pc->ram.fd };
		if (sandbox_enter(&sb, err, sizeof(err)) < 0) {
			fail("%s%s", err, "");
			goto out;
		}
	}
	rc = pc_run(pc);
	rc = replay_finish(rr, rc, stderr);
	rr = NULL;
	if (ringtrace_close(rtrace, rc, err, sizeof(err)) < 0) {
		fail("%s%s", err, "");
		rc = 1;
	}
	rtrace = NULL;
out:
	gdbstub_close(gdb); /* first: it detaches from the CPU */
	ringtrace_close(rtrace, rc, err, sizeof(err));
	replay_finish(rr, rc, stderr);
	pc_destroy(pc);
	if (dcon && dcon != stdout)
		fclose(dcon);
	free(kernel);
	free(initrd);
	rom_free(rom, cfg.rom_size);
	return rc;
}

/* Started with stdin, stdout or stderr closed, the next files opened
 * (guest RAM's memfd, the kernel) would take those numbers and be taken
 * for the console: give them /dev/null instead. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

int main(int argc, char **argv)
{
	ensure_std_fds();
	struct opts o;
	memset(&o, 0, sizeof(o));
	char **av = qemu_spellings(argc, argv);
	if (!av)
		return fail("out of memory%s%s", "", "");
	int rc = parse(argc, av, &o);
	struct snap_config *sc = calloc(1, sizeof(*sc));
	struct snap_in in;
	snap_in_init(&in, -1);
	if (!sc)
		rc = fail("out of memory%s%s", "", "");
	/* The control socket first: a target waiting for a migration
	 * already has it (clients are answered once the guest runs). */
	struct qmp *qmp = NULL;
	char err[512];
	if (rc < 0 && o.qmp && !(qmp = qmp_open(o.qmp, err, sizeof(err))))
		rc = fail("%s%s", err, "");
	if (rc < 0)
		rc = prepare_domain(&o, sc, &in);
	if (rc < 0)
		rc = run(&o, sc, &in, qmp);
	qmp_close(qmp);
	if (in.fd >= 0)
		close(in.fd);
	snap_in_free(&in);
	free(sc);
	devopts_free(&o.dev);
	free_args(argc, argv, av);
	for (int i = 0; i < PC_IDE_DRIVES; i++)
		free((char *)o.board.ide[i].file);
	return rc;
}
