/* The KVM engine: the same board, guest code run by the processor.
 *
 * Port I/O and MMIO exits go to the board's buses through struct cpu_bus;
 * the board's PIC output (cpu->intr_line) is injected with KVM_INTERRUPT
 * when the guest can take it, or an interrupt window is requested. State
 * moves between KVM and struct cpu in sync_in/sync_out, so debuggers,
 * snapshots and the board see one CPU whatever the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "cpu/cpumodel.h"
#include "cpu/exec.h"
#include "cpu/msr.h"
#include "engine/engine.h"
#include "engine/kvm.h"

/* Where VMX keeps its real-mode helpers: above RAM, below the BIOS alias. */
#define KVM_TSS_ADDR 0xfffbd000u
#define KVM_IDMAP_ADDR 0xfffbc000ull

/* Slots for the A20-off map of the largest RAM (3 GiB): two per even MiB,
 * and the BIOS. */
#define A20_SLOTS_MAX (3072 + 8)

struct kslot;

struct kvm_state {
	int sys_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	timer_t timer;
	int have_timer;
	int ro_ok;              /* KVM_CAP_READONLY_MEM */
	int max_slots;          /* KVM_CAP_NR_MEMSLOTS */
	int nslots;             /* slots 0..nslots-1 are in use */
	bool a20;               /* the A20 state the slots map */
	int a20_warned;
	struct kslot *a20_slots; /* A20_SLOTS_MAX entries */
};

static struct kvm_run *volatile kick_run; /* the run area to kick */

static void kick_handler(int sig)
{
	(void)sig;
	if (kick_run)
		kick_run->immediate_exit = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int set_slot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host, int ro)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = ro ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* One KVM memory slot. */
struct kslot {
	uint64_t gpa, size;
	uint8_t *host;
	int ro;
};

/* The board's physical map with A20 on (see mem.c): RAM with the VGA hole
 * at 0xA0000 (no slot: MMIO exits), 0xC0000-0xFFFFF read-only, and the
 * BIOS image at the top of the first MiB and of 4 GiB. Returns how many
 * slots (at most 6). */
static int base_layout(const struct cpu_memmap *m, int ro_ok, struct kslot *o)
{
	int n = 0;
	uint32_t low = m->ram_low < 0xa0000 ? m->ram_low : 0xa0000;
	o[n++] = (struct kslot){ 0, low, m->ram, 0 };
	if (m->ram_low > 0xc0000) {
		uint32_t rom_lo = m->rom ? 0x100000 - m->rom_size : 0x100000;
		if (rom_lo > 0xc0000)
			o[n++] = (struct kslot){ 0xc0000, rom_lo - 0xc0000, m->ram + 0xc0000, ro_ok };
		if (m->rom)
			o[n++] = (struct kslot){ rom_lo, m->rom_size, m->rom, ro_ok };
	}
	if (m->ram_low > 0x100000)
		o[n++] = (struct kslot){ 0x100000, m->ram_low - 0x100000, m->ram + 0x100000, 0 };
	if (m->rom)
		o[n++] = (struct kslot){ 0x100000000ull - m->rom_size, m->rom_size, m->rom, ro_ok };
	if (m->ram_size > m->ram_low) /* RAM above the PCI hole */
		o[n++] = (struct kslot){ PHYS_4G, m->ram_size - m->ram_low, m->ram + m->ram_low, 0 };
	return n;
}

/* With A20 off physical bit 20 reads as 0 (mem.c's a20_mask): what is
 * mapped in each even MiB appears again in the odd MiB above it, and what
 * the A20-on map has in odd MiBs is unreachable. Splits the base map at
 * MiB boundaries, so about one slot per MiB of RAM; stops at max. */
static int a20_off_layout(const struct kslot *b, int nb, struct kslot *o, int max)
{
	int n = 0;
	for (int i = 0; i < nb; i++) {
		for (uint64_t at = b[i].gpa; at < b[i].gpa + b[i].size;) {
			uint64_t end = (at | 0xfffff) + 1;
			if (end > b[i].gpa + b[i].size)
				end = b[i].gpa + b[i].size;
			if (!(at & 0x100000)) {
				if (n + 2 > max)
					return n;
				struct kslot c = { at, end - at, b[i].host + (at - b[i].gpa), b[i].ro };
				o[n++] = c;
				c.gpa |= 0x100000;
				o[n++] = c;
			}
			at = end;
		}
	}
	return n;
}

/* Map the board's memory as the A20 gate has it now: the old slots are
 * deleted first, since KVM refuses overlapping slots. */
static int map_memory(struct kvm_state *k, const struct cpu_memmap *m, char *err, size_t errlen)
{
	struct kslot base[6];
	int nb = base_layout(m, k->ro_ok, base);
	int n = nb;
	struct kslot *sl = base;
	if (!m->a20) {
		if (!k->a20_slots && !(k->a20_slots = calloc(A20_SLOTS_MAX, sizeof(struct kslot)))) {
			snprintf(err, errlen, "kvm: out of memory");
			return -1;
		}
		sl = k->a20_slots;
		n = a20_off_layout(base, nb, sl, A20_SLOTS_MAX);
		if (n > k->max_slots) {
			if (!k->a20_warned)
				fprintf(stderr, "ringvm: kvm: %d memory slots are too few to alias all RAM with A20 "
						"off: addresses above %d MiB are not aliased\n",
					k->max_slots, k->max_slots);
			k->a20_warned = 1;
			n = k->max_slots;
		}
	}
	for (int i = 0; i < k->nslots; i++)
		set_slot(k->vm_fd, (uint32_t)i, 0, 0, NULL, 0);
	k->nslots = 0;
	for (int i = 0; i < n; i++) {
		if (set_slot(k->vm_fd, (uint32_t)i, sl[i].gpa, sl[i].size, sl[i].host, sl[i].ro) < 0) {
			snprintf(err, errlen, "kvm: cannot map guest memory: %s", strerror(errno));
			return -1;
		}
		k->nslots = i + 1;
	}
	k->a20 = m->a20;
	return 0;
}

/* CPUID: what KVM supports, filtered to the CPU model interp and bt
 * present (cpuid_query, cpu/cpumodel.h): the model's leaf range,
 * signature, cache descriptors and brand string, and of the host's leaf 1
 * EDX only the features the model reports (the vendor stays the host's).
 * So both kinds of engine describe the same processor's features. */
static int setup_cpuid(struct kvm_state *k, const struct cpu *cpu, char *err, size_t errlen)
{
	int n = 128;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -1;
	c->nent = (uint32_t)n;
	if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		snprintf(err, errlen, "kvm: KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -1;
	}
	uint32_t max_basic = cpu->model->max_basic, max_ext = cpu->model->max_ext;
	uint32_t out = 0;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 e = c->entries[i];
		uint32_t ours[4];
		if (e.function > max_basic && e.function < 0x80000000u)
			continue;
		if (e.function >= 0x80000000u && e.function > max_ext)
			continue;
		cpuid_query(cpu, e.function, ours);
		switch (e.function) {
		case 0: e.eax = e.eax < max_basic ? e.eax : max_basic; break;
		case 1:
			e.eax = ours[0];
			e.ebx = ours[1];
			e.ecx = 0;
			e.edx &= ours[3];
			break;
		case 0x80000000u: e.eax = e.eax < max_ext ? e.eax : max_ext; break;
		case 0x80000001u: /* XD where the model has it, nothing else */
			e.ecx = 0;
			e.edx &= ours[3];
			break;
		default:
			e.eax = ours[0];
			e.ebx = ours[1];
			e.ecx = ours[2];
			e.edx = ours[3];
			break;
		}
		c->entries[out++] = e;
	}
	c->nent = out;
	int rc = ioctl(k->vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	if (rc < 0) {
		snprintf(err, errlen, "kvm: KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void kvm_close(struct kvm_state *k)
{
	free(k->a20_slots);
	if (k->have_timer)
		timer_delete(k->timer);
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->vcpu_fd >= 0)
		close(k->vcpu_fd);
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
}

/* Open /dev/kvm, create a VM and one vCPU with its run area. */
static int kvm_open(struct kvm_state *k, char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	k->sys_fd = k->vm_fd = k->vcpu_fd = -1;
	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		snprintf(err, errlen, "kvm: /dev/kvm: %s", strerror(errno));
		return -1;
	}
	if (ioctl(k->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "kvm: unsupported KVM API version");
		return -1;
	}
	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0) {
		snprintf(err, errlen, "kvm: KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	/* Intel needs these for real mode; AMD ignores them. */
	ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	uint64_t idmap = KVM_IDMAP_ADDR;
	ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	k->ro_ok = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	k->max_slots = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (k->max_slots <= 0)
		k->max_slots = 32; /* the documented minimum */
	k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
	if (k->vcpu_fd < 0) {
		snprintf(err, errlen, "kvm: KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	int sz = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		snprintf(err, errlen, "kvm: KVM_GET_VCPU_MMAP_SIZE failed");
		return -1;
	}
	k->run_size = (size_t)sz;
	k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu_fd, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		snprintf(err, errlen, "kvm: mmap of the run area: %s", strerror(errno));
		return -1;
	}
	/* A signal that makes KVM_RUN return: the deadline timer. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR2;
	if (timer_create(CLOCK_MONOTONIC, &sev, &k->timer) == 0)
		k->have_timer = 1;
	return 0;
}

/* ---- state transfer ---- */

static void seg_to_kvm(const struct seg *s, struct kvm_segment *o)
{
	memset(o, 0, sizeof(*o));
	o->base = s->base;
	o->limit = s->limit;
	o->selector = s->sel;
	o->type = s->attr & 0xf;
	o->s = (s->attr >> 4) & 1;
	o->dpl = (s->attr >> 5) & 3;
	o->present = (s->attr >> 7) & 1;
	o->avl = (s->attr >> 12) & 1;
	o->db = (s->attr >> 14) & 1;
	o->g = (s->attr >> 15) & 1;
	o->unusable = !o->present;
}

static void seg_from_kvm(struct seg *s, const struct kvm_segment *o)
{
	uint16_t attr = (uint16_t)((o->type & 0xf) | (o->s << 4) | (o->dpl << 5) |
				   ((o->present && !o->unusable) << 7) | (o->avl << 12) | (o->db << 14) |
				   (o->g << 15));
	seg_set_cache(s, o->selector, (uint32_t)o->base, o->limit, attr);
}

/* KVM_GET/SET_MSRS take a header followed by entries. */
static int msr_io(int fd, unsigned long req, struct kvm_msr_entry *e, int n)
{
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + 8 * sizeof(struct kvm_msr_entry)];
	} u;
	memset(&u, 0, sizeof(u));
	u.h.nmsrs = (uint32_t)n;
	memcpy(u.h.entries, e, (size_t)n * sizeof(*e));
	int rc = ioctl(fd, req, &u.h);
	memcpy(e, u.h.entries, (size_t)n * sizeof(*e));
	return rc;
}

static int fpu_tag_valid(uint16_t ftw, int phys) { return ((ftw >> (2 * phys)) & 3) != 3; }

static void kvm_sync_in(struct engine *e)
{
	struct kvm_state *k = e->priv;
	struct cpu *cpu = e->cpu;
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rax = cpu->r[R_EAX]; r.rcx = cpu->r[R_ECX]; r.rdx = cpu->r[R_EDX]; r.rbx = cpu->r[R_EBX];
	r.rsp = cpu->r[R_ESP]; r.rbp = cpu->r[R_EBP]; r.rsi = cpu->r[R_ESI]; r.rdi = cpu->r[R_EDI];
	r.rip = cpu->eip;
	r.rflags = cpu->eflags;
	ioctl(k->vcpu_fd, KVM_SET_REGS, &r);

	struct kvm_sregs s;
	ioctl(k->vcpu_fd, KVM_GET_SREGS, &s);
	seg_to_kvm(&cpu->seg[S_ES], &s.es);
	seg_to_kvm(&cpu->seg[S_CS], &s.cs);
	seg_to_kvm(&cpu->seg[S_SS], &s.ss);
	seg_to_kvm(&cpu->seg[S_DS], &s.ds);
	seg_to_kvm(&cpu->seg[S_FS], &s.fs);
	seg_to_kvm(&cpu->seg[S_GS], &s.gs);
	seg_to_kvm(&cpu->ldtr, &s.ldt);
	seg_to_kvm(&cpu->tr, &s.tr);
	/* VMX wants a present busy TSS even when the guest has none. */
	s.tr.present = 1;
	s.tr.unusable = 0;
	if (s.tr.type != 3 && s.tr.type != 11)
		s.tr.type = 11;
	s.gdt.base = cpu->gdtr.base;
	s.gdt.limit = cpu->gdtr.limit;
	s.idt.base = cpu->idtr.base;
	s.idt.limit = cpu->idtr.limit;
	s.cr0 = cpu->cr0;
	s.cr2 = cpu->cr2;
	s.cr3 = cpu->cr3;
	s.cr4 = cpu->cr4;
	s.efer = cpu->efer; /* NXE at most (msr.c) */
	ioctl(k->vcpu_fd, KVM_SET_SREGS, &s);

	struct kvm_fpu f;
	memset(&f, 0, sizeof(f));
	int top = (cpu->fpu.fsw >> 11) & 7;
	for (int i = 0; i < 8; i++)
		memcpy(f.fpr[i], &cpu->fpu.st[(top + i) & 7], 10);
	f.fcw = cpu->fpu.fcw;
	f.fsw = cpu->fpu.fsw;
	for (int i = 0; i < 8; i++)
		if (fpu_tag_valid(cpu->fpu.ftw, i))
			f.ftwx |= (uint8_t)(1u << i);
	f.last_opcode = cpu->fpu.fop;
	f.last_ip = cpu->fpu.fip;
	f.last_dp = cpu->fpu.fdp;
	f.mxcsr = cpu->sse.mxcsr;
	memcpy(f.xmm, cpu->sse.xmm, sizeof(cpu->sse.xmm));
	ioctl(k->vcpu_fd, KVM_SET_FPU, &f);

	struct kvm_msr_entry m[4];
	memset(m, 0, sizeof(m));
	m[0].index = 0x174; m[0].data = cpu->sysenter_cs;
	m[1].index = 0x175; m[1].data = cpu->sysenter_esp;
	m[2].index = 0x176; m[2].data = cpu->sysenter_eip;
	m[3].index = 0x10; m[3].data = cpu_tsc(cpu);
	msr_io(k->vcpu_fd, KVM_SET_MSRS, m, 4);
}

static void kvm_sync_out(struct engine *e)
{
	struct kvm_state *k = e->priv;
	struct cpu *cpu = e->cpu;
	struct kvm_regs r;
	if (ioctl(k->vcpu_fd, KVM_GET_REGS, &r) == 0) {
		cpu->r[R_EAX] = (uint32_t)r.rax; cpu->r[R_ECX] = (uint32_t)r.rcx;
		cpu->r[R_EDX] = (uint32_t)r.rdx; cpu->r[R_EBX] = (uint32_t)r.rbx;
		cpu->r[R_ESP] = (uint32_t)r.rsp; cpu->r[R_EBP] = (uint32_t)r.rbp;
		cpu->r[R_ESI] = (uint32_t)r.rsi; cpu->r[R_EDI] = (uint32_t)r.rdi;
		cpu->eip = (uint32_t)r.rip;
		cpu->eflags = (uint32_t)r.rflags;
	}
	struct kvm_sregs s;
	if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s) == 0) {
		seg_from_kvm(&cpu->seg[S_ES], &s.es);
		seg_from_kvm(&cpu->seg[S_CS], &s.cs);
		seg_from_kvm(&cpu->seg[S_SS], &s.ss);
		seg_from_kvm(&cpu->seg[S_DS], &s.ds);
		seg_from_kvm(&cpu->seg[S_FS], &s.fs);
		seg_from_kvm(&cpu->seg[S_GS], &s.gs);
		seg_from_kvm(&cpu->ldtr, &s.ldt);
		seg_from_kvm(&cpu->tr, &s.tr);
		cpu->gdtr.base = (uint32_t)s.gdt.base;
		cpu->gdtr.limit = s.gdt.limit;
		cpu->idtr.base = (uint32_t)s.idt.base;
		cpu->idtr.limit = s.idt.limit;
		cpu->cr0 = (uint32_t)s.cr0;
		cpu->cr2 = (uint32_t)s.cr2;
		cpu->cr3 = (uint32_t)s.cr3;
		cpu->cr4 = (uint32_t)s.cr4;
		cpu->efer = s.efer & EFER_NXE;
		/* KVM keeps the PDPTEs to itself: the other engines' copy is
		 * loaded again from the table CR3 names */
		if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE))
			(void)mmu_pdptes_load(cpu, cpu->cr3);
	}
	struct kvm_fpu f;
	if (ioctl(k->vcpu_fd, KVM_GET_FPU, &f) == 0) {
		int top = (f.fsw >> 11) & 7;
		for (int i = 0; i < 8; i++) {
			memset(&cpu->fpu.st[(top + i) & 7], 0, sizeof(cpu->fpu.st[0]));
			memcpy(&cpu->fpu.st[(top + i) & 7], f.fpr[i], 10);
		}
		cpu->fpu.fcw = f.fcw;
		cpu->fpu.fsw = f.fsw;
		/* The abridged tag says empty or not; the full tag's valid/zero/
		 * special distinction is recomputed by whoever needs it. */
		uint16_t ftw = 0;
		for (int i = 0; i < 8; i++)
			ftw |= (uint16_t)(((f.ftwx >> i) & 1 ? 0 : 3) << (2 * i));
		cpu->fpu.ftw = ftw;
		cpu->fpu.fop = f.last_opcode;
		cpu->fpu.fip = (uint32_t)f.last_ip;
		cpu->fpu.fdp = (uint32_t)f.last_dp;
		cpu->sse.mxcsr = f.mxcsr;
		memcpy(cpu->sse.xmm, f.xmm, sizeof(cpu->sse.xmm));
	}
	struct kvm_msr_entry m[3];
	memset(m, 0, sizeof(m));
	m[0].index = 0x174;
	m[1].index = 0x175;
	m[2].index = 0x176;
	if (msr_io(k->vcpu_fd, KVM_GET_MSRS, m, 3) == 3) {
		cpu->sysenter_cs = (uint32_t)m[0].data;
		cpu->sysenter_esp = (uint32_t)m[1].data;
		cpu->sysenter_eip = (uint32_t)m[2].data;
	}
	cpu_update_mode(cpu);
}

static struct engine *kvm_create(struct cpu *cpu, char *err, size_t errlen)
{
	struct kvm_state *k = calloc(1, sizeof(*k));
	struct engine *e = calloc(1, sizeof(*e));
	if (!k || !e) {
		free(k);
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (kvm_open(k, err, errlen) < 0 || map_memory(k, &cpu->mem, err, errlen) < 0 ||
	    setup_cpuid(k, cpu, err, errlen) < 0) {
		kvm_close(k);
		free(k);
		free(e);
		return NULL;
	}
	e->ops = &kvm_engine_ops;
	e->cpu = cpu;
	e->priv = k;
	kvm_sync_in(e);
	return e;
}

static void kvm_destroy(struct engine *e)
{
	if (!e)
		return;
	kvm_close(e->priv);
	free(e->priv);
	free(e);
}

static void do_io(struct cpu *cpu, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			uint32_t v = 0;
			memcpy(&v, data, run->io.size);
			cpu->bus->pio_write(cpu->bus->opaque, run->io.port, run->io.size, v);
		} else {
			uint32_t v = cpu->bus->pio_read(cpu->bus->opaque, run->io.port, run->io.size);
			memcpy(data, &v, run->io.size);
		}
	}
}

static void do_mmio(struct cpu *cpu, struct kvm_run *run)
{
	uint32_t pa = (uint32_t)run->mmio.phys_addr;
	if (!cpu->mem.a20)
		pa &= ~0x100000u; /* the bus sees what interp's a20_mask gives */
	/* Writes that land in read-only slots (ROM) also exit here: drop. */
	if (run->mmio.is_write && ((pa >= 0xc0000 && pa < 0x100000 && pa < cpu->mem.ram_size) ||
				   (cpu->mem.rom && pa >= (uint32_t)(0x100000000ull - cpu->mem.rom_size))))
		return;
	for (uint32_t off = 0; off < run->mmio.len; off += 4) {
		int size = run->mmio.len - off >= 4 ? 4 : (int)(run->mmio.len - off);
		if (run->mmio.is_write) {
			uint32_t v = 0;
			memcpy(&v, run->mmio.data + off, (size_t)size);
			cpu->bus->mmio_write(cpu->bus->opaque, pa + off, size, v);
		} else {
			uint32_t v = cpu->bus->mmio_read(cpu->bus->opaque, pa + off, size);
			memcpy(run->mmio.data + off, &v, (size_t)size);
		}
	}
}

static void arm_timer(struct kvm_state *k, uint64_t deadline_ns)
{
	if (!k->have_timer)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (deadline_ns != ~0ull) {
		uint64_t now = now_ns();
		uint64_t d = deadline_ns > now ? deadline_ns - now : 1000;
		its.it_value.tv_sec = (time_t)(d / 1000000000ull);
		its.it_value.tv_nsec = (long)(d % 1000000000ull);
	}
	timer_settime(k->timer, 0, &its, NULL);
}

static unsigned probed_modes(void);

/* Every run lets the guest execute for at least this long, even when the
 * board's deadline has already passed by the time the state is synced in
 * (a PIT at 1.19 MHz is always due): the guest makes progress however
 * fast its timers are, and a timer is late by at most this much. */
#define KVM_MIN_RUN_NS 50000u

static enum cpu_stop kvm_run_vcpu(struct engine *e, uint64_t deadline_ns, uint64_t icount_limit)
{
	(void)icount_limit; /* hardware does not count instructions for us */
	struct kvm_state *k = e->priv;
	struct cpu *cpu = e->cpu;
	struct kvm_run *run = k->run;
	enum cpu_stop why = CPU_STOP_BUDGET;
	/* An IN or MMIO read completes (its data reaches the guest's
	 * register) only on the next KVM_RUN: remember one is pending, so the
	 * state copied out below includes it. */
	int pending_io = 0;
	/* No KVM_RUN has entered the guest yet in this call: the deadline
	 * does not end the run before one has. */
	int entered = 0;
	kvm_sync_in(e);
	kick_run = run;
	uint64_t now = now_ns();
	if (deadline_ns < now + KVM_MIN_RUN_NS)
		deadline_ns = now + KVM_MIN_RUN_NS;
	arm_timer(k, deadline_ns);
	for (;;) {
		if (cpu->stop_request) {
			why = CPU_STOP_REQUEST;
			break;
		}
		if (entered && now_ns() >= deadline_ns) {
			why = CPU_STOP_BUDGET;
			break;
		}
		if (cpu->nmi_pending) {
			/* Without KVM_CREATE_IRQCHIP, KVM_NMI queues the NMI
			 * (the board's local APIC: self-IPI, LINT1). */
			ioctl(k->vcpu_fd, KVM_NMI);
			cpu->nmi_pending = 0;
			cpu->halted = 0;
		}
		if (cpu->intr_line) {
			if (run->ready_for_interrupt_injection && run->if_flag) {
				struct kvm_interrupt irq = {.irq = (uint32_t)(cpu->bus->intr_ack(cpu->bus->opaque) & 0xff)};
				ioctl(k->vcpu_fd, KVM_INTERRUPT, &irq);
				cpu->halted = 0;
				run->request_interrupt_window = 0;
			} else {
				run->request_interrupt_window = 1;
			}
		} else {
			run->request_interrupt_window = 0;
		}
		if (cpu->halted) {
			why = CPU_STOP_HALT;
			break;
		}
		if (cpu->mem.a20 != k->a20) {
			char err[160];
			if (map_memory(k, &cpu->mem, err, sizeof(err)) < 0) {
				fprintf(stderr, "ringvm: %s\n", err);
				cpu->shutdown = 1;
				why = CPU_STOP_SHUTDOWN;
				break;
			}
		}
		if (!entered && run->immediate_exit) {
			/* The deadline signal came before the guest ran at all
			 * (syncing is slow on an emulated KVM): give it its
			 * minimum run from now. */
			run->immediate_exit = 0;
			deadline_ns = now_ns() + KVM_MIN_RUN_NS;
			arm_timer(k, deadline_ns);
		}
		if (!run->immediate_exit)
			entered = 1;
		int rc = ioctl(k->vcpu_fd, KVM_RUN, 0);
		run->immediate_exit = 0;
		pending_io = 0;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "ringvm: kvm: KVM_RUN: %s\n", strerror(errno));
			cpu->shutdown = 1;
			why = CPU_STOP_SHUTDOWN;
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			do_io(cpu, run);
			pending_io = 1;
			continue;
		case KVM_EXIT_MMIO:
			do_mmio(cpu, run);
			pending_io = 1;
			continue;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR: continue;
		case KVM_EXIT_HLT:
			cpu->halted = 1;
			continue; /* the top of the loop injects or returns HALT */
		case KVM_EXIT_SHUTDOWN:
			if (!(probed_modes() & KVM_MODE_PAGING))
				fprintf(stderr, "ringvm: kvm: the guest triple-faulted; note that this host's KVM "
						"cannot run 32-bit paging (probe): try --accel interp\n");
			cpu->shutdown = 1;
			why = CPU_STOP_SHUTDOWN;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "ringvm: kvm: VM entry failed (hardware reason %#llx)\n",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			cpu->shutdown = 1;
			why = CPU_STOP_SHUTDOWN;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "ringvm: kvm: internal error (suberror %u): the host could not run this guest\n",
				run->internal.suberror);
			cpu->shutdown = 1;
			why = CPU_STOP_SHUTDOWN;
			break;
		default:
			fprintf(stderr, "ringvm: kvm: unexpected exit reason %u\n", run->exit_reason);
			cpu->shutdown = 1;
			why = CPU_STOP_SHUTDOWN;
			break;
		}
		break;
	}
	arm_timer(k, ~0ull);
	kick_run = NULL;
	if (pending_io) {
		/* Finish the instruction without running further guest code. */
		run->immediate_exit = 1;
		ioctl(k->vcpu_fd, KVM_RUN, 0);
		run->immediate_exit = 0;
	}
	kvm_sync_out(e);
	return why;
}

static int kvm_engine_probe(int guest_kind, char *why, size_t whylen);

const struct engine_ops kvm_engine_ops = {
	.name = "kvm",
	.create = kvm_create,
	.destroy = kvm_destroy,
	.run = kvm_run_vcpu,
	.sync_out = kvm_sync_out,
	.sync_in = kvm_sync_in,
	.probe = kvm_engine_probe,
};

/* ---- probing what the host's KVM can run ---- */

/* One tiny guest in a fresh VM: returns 1 if it wrote the expected byte
 * to port 0xe9 and halted. */
static int probe_one(unsigned mode, char *why, size_t whylen)
{
	struct kvm_state k;
	char err[160];
	if (kvm_open(&k, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "%s", err);
		kvm_close(&k);
		return 0;
	}
	size_t memsz = 0x10000;
	uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || set_slot(k.vm_fd, 0, 0, memsz, mem, 0) < 0) {
		snprintf(why, whylen, "kvm: cannot map probe memory");
		if (mem != MAP_FAILED)
			munmap(mem, memsz);
		kvm_close(&k);
		return 0;
	}
	uint8_t expect = 0;
	struct kvm_sregs s;
	ioctl(k.vcpu_fd, KVM_GET_SREGS, &s);
	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = 0x1000;
	r.rsp = 0x8000;
	if (mode == KVM_MODE_REAL) {
		static const uint8_t code[] = {0xb0, 0x52, 0xe6, 0xe9, 0xf4}; /* mov al,'R'; out 0xe9,al; hlt */
		memcpy(mem + 0x1000, code, sizeof(code));
		expect = 'R';
		s.cs.base = 0;
		s.cs.selector = 0;
	} else {
		/* Flat 32-bit segments, entered unpaged. */
		struct kvm_segment cs = {.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
					 .present = 1, .dpl = 0, .db = 1, .s = 1, .g = 1};
		struct kvm_segment ds = cs;
		ds.selector = 16;
		ds.type = 3;
		s.cs = cs;
		s.ds = s.es = s.fs = s.gs = s.ss = ds;
		s.cr0 = 0x11; /* PE | ET */
		if (mode == KVM_MODE_PMINT) {
			/* Its own GDT and IDT, INT 0x20 to a handler that
			 * prints 'i' and IRETs, then 'I' and HLT. */
			static const uint8_t gdt[24] = {0, 0, 0, 0, 0, 0, 0, 0,
							0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0,
							0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0};
			static const uint8_t gdtr[6] = {23, 0, 0x00, 0x05, 0, 0};
			static const uint8_t idtr[6] = {0x7f, 0x01, 0x00, 0x06, 0, 0};
			static const uint8_t gate[8] = {0x00, 0x11, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00};
			static const uint8_t code[] = {
				0x0f, 0x01, 0x15, 0xf0, 0x04, 0x00, 0x00, /* lgdt [0x4f0] */
				0x0f, 0x01, 0x1d, 0xf8, 0x04, 0x00, 0x00, /* lidt [0x4f8] */
				0xea, 0x15, 0x10, 0x00, 0x00, 0x08, 0x00, /* ljmp 0x08:0x1015 */
				0x66, 0xb8, 0x10, 0x00,                   /* mov ax, 0x10 */
				0x8e, 0xd8, 0x8e, 0xd0,                   /* mov ds, ax; mov ss, ax */
				0xbc, 0x00, 0x80, 0x00, 0x00,             /* mov esp, 0x8000 */
				0xcd, 0x20,                               /* int 0x20 */
				0xb0, 0x49, 0xe6, 0xe9, 0xf4,             /* mov al,'I'; out 0xe9,al; hlt */
			};
			static const uint8_t handler[] = {0xb0, 0x69, 0xe6, 0xe9, 0xcf}; /* 'i'; iret */
			memcpy(mem + 0x500, gdt, sizeof(gdt));
			memcpy(mem + 0x4f0, gdtr, sizeof(gdtr));
			memcpy(mem + 0x4f8, idtr, sizeof(idtr));
			memcpy(mem + 0x600 + 0x20 * 8, gate, sizeof(gate));
			memcpy(mem + 0x1000, code, sizeof(code));
			memcpy(mem + 0x1100, handler, sizeof(handler));
			expect = 'I';
		} else if (mode == KVM_MODE_PROT) {
			static const uint8_t code[] = {0xb0, 0x50, 0xe6, 0xe9, 0xf4};
			memcpy(mem + 0x1000, code, sizeof(code));
			expect = 'P';
		} else {
			/* Page directory at 0x2000 -> table at 0x3000 mapping the
			 * first 64 KiB identically; the guest turns paging on
			 * itself, as real kernels do. */
			uint32_t pde = 0x3000 | 3;
			memcpy(mem + 0x2000, &pde, 4);
			for (uint32_t i = 0; i < 16; i++) {
				uint32_t pte = (i << 12) | 3;
				memcpy(mem + 0x3000 + i * 4, &pte, 4);
			}
			static const uint8_t code[] = {
				0xb8, 0x00, 0x20, 0x00, 0x00, /* mov eax, 0x2000 */
				0x0f, 0x22, 0xd8,             /* mov cr3, eax */
				0x0f, 0x20, 0xc0,             /* mov eax, cr0 */
				0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, 0x80000000 */
				0x0f, 0x22, 0xc0,             /* mov cr0, eax */
				0xb0, 0x47, 0xe6, 0xe9, 0xf4, /* mov al,'G'; out 0xe9,al; hlt */
			};
			memcpy(mem + 0x1000, code, sizeof(code));
			expect = 'G';
		}
	}
	ioctl(k.vcpu_fd, KVM_SET_SREGS, &s);
	ioctl(k.vcpu_fd, KVM_SET_REGS, &r);
	kick_run = k.run;
	arm_timer(&k, now_ns() + 5000000000ull); /* an emulated KVM is slow */
	int ok = 0, saw = 0;
	for (int i = 0; i < 100; i++) {
		int rc = ioctl(k.vcpu_fd, KVM_RUN, 0);
		if (rc < 0) {
			if (errno == EINTR) {
				snprintf(why, whylen, "timed out");
				break;
			}
			snprintf(why, whylen, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (k.run->exit_reason == KVM_EXIT_IO && k.run->io.port == 0xe9 &&
		    k.run->io.direction == KVM_EXIT_IO_OUT) {
			saw = ((uint8_t *)k.run)[k.run->io.data_offset] == expect;
			continue;
		}
		if (k.run->exit_reason == KVM_EXIT_HLT) {
			ok = saw;
			if (!ok)
				snprintf(why, whylen, "halted without the expected output");
			break;
		}
		if (k.run->exit_reason == KVM_EXIT_SHUTDOWN)
			snprintf(why, whylen, "triple fault");
		else if (k.run->exit_reason == KVM_EXIT_FAIL_ENTRY)
			snprintf(why, whylen, "VM entry failed (reason %#llx)",
				 (unsigned long long)k.run->fail_entry.hardware_entry_failure_reason);
		else if (k.run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			snprintf(why, whylen, "KVM internal error %u", k.run->internal.suberror);
		else
			snprintf(why, whylen, "unexpected exit %u", k.run->exit_reason);
		break;
	}
	arm_timer(&k, ~0ull);
	kick_run = NULL;
	kvm_close(&k);
	munmap(mem, memsz);
	return ok;
}

unsigned kvm_probe(char *msg, size_t msglen)
{
	static const struct {
		unsigned mode;
		const char *name;
	} modes[] = {
		{KVM_MODE_REAL, "real mode"},
		{KVM_MODE_PROT, "32-bit protected mode"},
		{KVM_MODE_PAGING, "32-bit paging"},
		{KVM_MODE_PMINT, "protected-mode interrupts"},
	};
	unsigned ok = 0;
	size_t used = 0;
	if (msglen)
		msg[0] = 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char why[200] = "";
		if (probe_one(modes[i].mode, why, sizeof(why))) {
			ok |= modes[i].mode;
		} else if (used < msglen) {
			int n = snprintf(msg + used, msglen - used, "%s%s: %s", used ? "; " : "",
					 modes[i].name, why);
			if (n > 0)
				used += (size_t)n;
			if (access("/dev/kvm", F_OK) != 0)
				break;
		}
	}
	return ok;
}

/* The probe runs once per process (nothing is cached across runs). */
static unsigned probe_cache;
static int probe_done;
static char probe_msg[512];

static unsigned probed_modes(void)
{
	if (!probe_done) {
		probe_cache = kvm_probe(probe_msg, sizeof(probe_msg));
		probe_done = 1;
	}
	return probe_cache;
}

/* Every multiboot or Linux kernel we know turns paging on, so the engine
 * is offered for them only when 32-bit paging works; a BIOS boot starts in
 * real mode. */
static int kvm_engine_probe(int guest_kind, char *why, size_t whylen)
{
	unsigned need = guest_kind == 0 ? KVM_MODE_REAL : (KVM_MODE_PROT | KVM_MODE_PAGING | KVM_MODE_PMINT);
	unsigned have = probed_modes();
	if ((have & need) == need)
		return 1;
	snprintf(why, whylen, "this host's KVM cannot run %s (%s)",
		 !(have & KVM_MODE_REAL) && need == KVM_MODE_REAL ? "real mode"
		 : !(have & KVM_MODE_PROT)			 ? "32-bit protected mode"
		 : !(have & KVM_MODE_PAGING)			 ? "32-bit paging"
								 : "protected-mode interrupts",
		 probe_msg[0] ? probe_msg : "no /dev/kvm");
	return 0;
}
