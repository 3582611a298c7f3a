/* The IA-32 processor state shared by every engine (interp, bt, kvm).
 *
 * Plain data: any engine may read and write it between instructions.
 * Instruction semantics live in cpu/ops_*.c; the run loop in engine/.
 */
#ifndef RINGVM_CPU_H
#define RINGVM_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/fpu.h"
#include "cpu/sse.h"
#include "cpu/tlb.h"

/* General registers, in the encoding order of ModRM.reg. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers, in the encoding order of MOV Sreg. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NSEG, S_NONE = 7 };

/* EFLAGS bits (SDM Vol. 1, 3.4.3). */
#define FL_CF 0x00000001u
#define FL_1 0x00000002u /* always one */
#define FL_PF 0x00000004u
#define FL_AF 0x00000010u
#define FL_ZF 0x00000040u
#define FL_SF 0x00000080u
#define FL_TF 0x00000100u
#define FL_IF 0x00000200u
#define FL_DF 0x00000400u
#define FL_OF 0x00000800u
#define FL_IOPL 0x00003000u
#define FL_IOPL_SHIFT 12
#define FL_NT 0x00004000u
#define FL_RF 0x00010000u
#define FL_VM 0x00020000u
#define FL_AC 0x00040000u
#define FL_VIF 0x00080000u
#define FL_VIP 0x00100000u
#define FL_ID 0x00200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* CR0/CR4 bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE 0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u
#define EFER_NXE 0x0800u /* IA32_EFER bit 11: XD honoured in PAE entries */

/* Exception vectors (SDM Vol. 3, 6.3.1). */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
	EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11,
	EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
	EXC_MC = 18, EXC_XM = 19,
};

/* A segment register with its hidden descriptor cache (SDM Vol. 3, 3.4.3).
 * attr holds descriptor bits 40..55 as LAR reports them shifted right by 8:
 * bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 14 D/B, 15 G (the VMX
 * "access rights" layout, which KVM's struct kvm_segment maps onto).
 * lo/hi and ok are derived at load time so that every access checks the
 * limit with two compares: an offset is valid when lo <= off <= hi. */
struct seg {
	uint16_t sel;
	uint32_t base;
	uint32_t limit; /* byte granular (G already applied) */
	uint16_t attr;
	uint32_t lo, hi; /* valid offset range (expand-down aware) */
	uint8_t ok;      /* SEG_OK_READ | SEG_OK_WRITE | SEG_OK_EXEC */
	uint8_t fast;    /* ok's READ/WRITE bits if every offset is valid (lo 0,
			  * hi 4G-1), else 0: the translator's inline check.
			  * Kept by seg_set_cache() and seg_fast_update(). */
	uint8_t fast0;   /* the same, and the base is 0: no offset can wrap
			  * without the linear address crossing a page */
};
#define SEG_OK_READ 1
#define SEG_OK_WRITE 2
#define SEG_OK_EXEC 4

#define SEGA_TYPE 0x000f
#define SEGA_S 0x0010
#define SEGA_DPL_SHIFT 5
#define SEGA_DPL 0x0060
#define SEGA_P 0x0080
#define SEGA_AVL 0x1000
#define SEGA_DB 0x4000
#define SEGA_G 0x8000

struct dtr {
	uint32_t base;
	uint16_t limit;
};

/* How the board reaches devices; filled by the machine, used by cpu/. */
struct cpu_bus {
	void *opaque;
	uint32_t (*pio_read)(void *opaque, uint16_t port, int size);
	void (*pio_write)(void *opaque, uint16_t port, int size, uint32_t val);
	uint32_t (*mmio_read)(void *opaque, uint32_t pa, int size);
	void (*mmio_write)(void *opaque, uint32_t pa, int size, uint32_t val);
	/* Interrupt acknowledge cycle: returns the vector of the highest
	 * pending interrupt of the PIC (spurious vector if none). */
	int (*intr_ack)(void *opaque);
	/* Optional: the board's virtual clock in ns, which RDTSC follows
	 * (so --deterministic runs read reproducible TSC values). NULL: host
	 * monotonic time since reset. */
	uint64_t (*now_ns)(void *opaque);
	/* Optional: IA32_APIC_BASE was written (the local APIC moves or is
	 * disabled). */
	void (*apic_base_write)(void *opaque, uint64_t val);
};

/* Why a run of the CPU returned to the machine. */
enum cpu_stop {
	CPU_STOP_BUDGET,   /* ran the instruction budget it was given */
	CPU_STOP_HALT,     /* HLT: wait for an interrupt */
	CPU_STOP_REQUEST,  /* cpu->stop_request was set (device, signal) */
	CPU_STOP_SHUTDOWN, /* triple fault: processor shut down */
	CPU_STOP_RESET,    /* the guest asked for a reset through the CPU */
	CPU_STOP_DEBUG,    /* the host debugger's breakpoint or step (cpu/hostdbg.h) */
};

/* Physical memory map as the CPU sees it. RAM is host-backed: the first
 * ram_low bytes at physical 0 (ram + pa), the rest of ram_size from 4 GiB
 * up (ram + ram_low + pa - 4 GiB), as a PC puts RAM above its PCI hole;
 * the ROM window (if any) is read-only and is aliased below 1 MiB and at
 * the top of the 4 GiB space; the rest below 4 GiB goes to MMIO. Physical
 * addresses are 64-bit: PAE paging reaches 36 bits. The BIOS area
 * 0xC0000-0xFFFFF is routed per 16 KiB segment by the PAM bits. */
#define PHYS_4G 0x100000000ull
#define PHYS_NONE (~(uint64_t)0)
#define CPU_PAM_SEGS 16
#define CPU_PAM_READ 1
#define CPU_PAM_WRITE 2

struct cpu_memmap {
	uint8_t *ram;
	uint64_t ram_size;     /* bytes, page multiple */
	uint32_t ram_low;      /* bytes of it below 4 GiB; 0 means all
				* (cpu_init fills it in) */
	uint8_t *rom;          /* BIOS image or NULL */
	uint32_t rom_size;     /* 64 or 128 KiB */
	bool a20;              /* false: physical bit 20 forced to zero */
	/* The 440FX's PAM routing of 0xC0000-0xFFFFF, one byte per 16 KiB:
	 * CPU_PAM_READ reads the RAM under it (else the ROM, or nothing),
	 * CPU_PAM_WRITE writes that RAM (else writes are dropped).
	 * cpu_init makes every segment CPU_PAM_READ, as a BIOS leaves it. */
	uint8_t pam[CPU_PAM_SEGS];
	/* Dirty-page log (live migration), one bit per RAM page, or NULL.
	 * Every write to RAM sets its page's bit: the slow paths directly,
	 * the fast paths (the TLB's write entries, bt's inline stores) because
	 * a write entry is only filled by a write, which sets the bit; whoever
	 * clears bits calls tlb_unwrite_all() so the next write shows again. */
	uint64_t *dirty;
};

struct block_cache;
struct cpu_model;
struct xfer_hook;

struct cpu {
	/* --- architectural state --- */
	uint32_t r[8];
	uint32_t eip;
	uint32_t eflags;
	struct seg seg[S_NSEG];
	struct seg ldtr, tr;
	struct dtr gdtr, idtr;
	uint32_t cr0, cr2, cr3, cr4;
	uint64_t pdpte[4];     /* PAE: the PDPTEs loaded from CR3 (SDM 4.4.1) */
	uint64_t efer;         /* IA32_EFER: NXE only (models with XD) */
	uint32_t dr[8];
	struct fpu fpu;
	struct sse sse;
	/* MSRs a P6 has */
	uint64_t tsc_offset; /* guest TSC = host-derived count + offset */
	uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t apic_base;
	uint8_t apic_present; /* the board has a local APIC: CPUID.1:EDX.APIC */
	uint64_t mtrr_cap, mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
	uint64_t pat, misc_enable;

	/* --- the processor model (cpu/cpumodel.h): cpu_set_model() --- */
	const struct cpu_model *model;
	uint32_t feat;  /* its CPUID.1:EDX: what the decoder lets run */

	/* --- several processors (the board sets these; cpu_reset keeps them) --- */
	uint8_t apic_id;       /* its local APIC's ID, CPUID.1:EBX[31:24]; 0 is the
				* bootstrap processor (IA32_APIC_BASE.BSP) */
	uint8_t wait_sipi;     /* wait-for-SIPI (an AP after INIT): the board runs
				* it only once a STARTUP IPI has set it going */
	uint8_t pause_exit;    /* PAUSE ends the run, so that the CPU another one
				* spins waiting for gets its turn on this thread */
	uint8_t ncpus;         /* processors sharing this memory (0 or 1: alone) */
	struct cpu *const *cpus; /* all of them, this one included: a write to
				  * a page holding any one's decoded code drops
				  * that code (block.c) */

	/* --- derived state, kept in step by the setters in cpu.c --- */
	uint8_t cpl;
	uint8_t code32; /* CS.D: default operand/address size is 32 */
	uint8_t stack32; /* SS.B: stack pointer is ESP, not SP */
	uint8_t pmode;  /* CR0.PE && !EFLAGS.VM */
	uint8_t ac_active; /* alignment checking: CR0.AM && EFLAGS.AC && CPL 3 */
	uint32_t tlb_set_off; /* byte offset from tlb.e of the TLB set CPL's
			       * accesses use (e[0] supervisor, e[1] user, or
			       * tlb.none under alignment checking): bt's inline
			       * lookups */

	/* --- execution --- */
	uint32_t next_eip;     /* set before each handler: eip + length */
	uint32_t insn_eip;     /* eip of the instruction being executed */
	uint8_t inhibit_irq;   /* interrupt shadow after STI / MOV SS / POP SS */
	uint8_t halted;
	uint8_t intr_line;     /* INTR pin, driven by the board's PIC */
	uint8_t nmi_pending;
	uint8_t nmi_blocked;   /* an NMI was delivered and no IRET has run
				* since (SDM Vol. 3, 6.7.1): the next waits */
	volatile int stop_request;
	uint8_t block_break;   /* handler changed state a block depends on */
	uint8_t shutdown;      /* triple fault happened */
	uint8_t in_exception;  /* nesting depth while delivering, for #DF */
	int8_t first_exc;      /* first exception of a possible double fault */
	uint64_t icount;       /* instructions retired */
	uint64_t run_deadline_ns; /* host CLOCK_MONOTONIC end of the current run
				   * (cpu_run keeps it; string instructions look) */
	jmp_buf *fault_jmp;    /* where cpu_raise() lands (engine run loop) */
	int exc_vector, exc_error; /* the exception being raised */
	uint8_t exc_has_error;
	uint8_t exc_soft;      /* raised by INT n / INTO / INT3 (a trap) */
	uint8_t exc_ext;       /* delivering an external event: #TS/#NP/#SS/#GP
				* error codes raised meanwhile carry EXT (SDM Vol. 3, 6.13) */
	uint32_t exc_next_eip;

	/* --- memory --- */
	struct cpu_memmap mem;
	struct tlb tlb;
	struct block_cache *bc;
	const struct cpu_bus *bus;
	/* FERR# output (x87 error while CR0.NE=0): the board routes it to
	 * IRQ 13 and sets this after cpu_init; NULL if not wired. Called
	 * with bus->opaque; level 1 = asserted. */
	void (*ferr)(void *opaque, int level);

	/* debug registers, derived (cpu/debug.c keeps them) */
	uint8_t debug_active;  /* DR7 arms a breakpoint or a #DB trap is pending:
				* engines run one instruction at a time */
	uint32_t db_pending;   /* DR6 bits of traps found during this instruction */
	/* a debugger on the host (cpu/hostdbg.h, the gdb stub), or NULL */
	struct hostdbg *hostdbg;
	uint8_t hostdbg_insn;  /* its breakpoints or step need the run core
				* to look at each block (hostdbg.c keeps it) */

	/* binary translator (engine/bt): blocks it may still chain before
	 * the run core looks again, and its private state */
	int32_t bt_countdown;
	uint32_t bt_patch;     /* a chain jump to point at the next block */
	struct bt *bt;

	/* debug / trace */
	int trace;             /* print each instruction to stderr */
	struct xfer_hook *xfer; /* told of each ring/mode transfer (cpu/xfer.h), or NULL */
	uint64_t tsc_base_ns;  /* host ns at reset, for RDTSC */
};

/* An NMI is pending and not blocked: the CPU takes it at the next
 * instruction boundary. */
static inline int cpu_nmi_ready(const struct cpu *cpu)
{
	return cpu->nmi_pending && !cpu->nmi_blocked;
}

/* Lifecycle */
int cpu_init(struct cpu *cpu, const struct cpu_memmap *mem, const struct cpu_bus *bus);
void cpu_free(struct cpu *cpu);
void cpu_reset(struct cpu *cpu); /* power-on state: F000:FFF0 real mode */

/* Put the CPU in flat 32-bit protected mode (boot loaders' entry state):
 * CS = 0x10 code, others 0x18 data, base 0, limit 4 GiB, no paging. */
void cpu_set_flat32(struct cpu *cpu);

/* Segment cache helpers usable by any engine. */
void seg_load_real(struct cpu *cpu, int s, uint16_t sel);      /* base = sel*16 */
void seg_set_cache(struct seg *sg, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr);
/* Recompute sg->fast after a change of lo, hi or ok. */
static inline void seg_fast_update(struct seg *sg)
{
	sg->fast = (uint8_t)(sg->lo == 0 && sg->hi == 0xffffffffu ? sg->ok & (SEG_OK_READ | SEG_OK_WRITE) : 0);
	sg->fast0 = sg->base == 0 ? sg->fast : 0;
}
void cpu_update_mode(struct cpu *cpu); /* recompute cpl/code32/stack32/pmode */

/* A block's mode: what its translation may take as constant, so blocks
 * are keyed by it with their physical address (block.c) and bt
 * specialises on it. Everything in it changes only through instructions
 * that end their block (cpu_update_mode() and segment loads set
 * block_break), so code reached from a block by chaining always runs in
 * the block's own mode. */
#define BMODE_CODE32 0x01
#define BMODE_STACK32 0x02
#define BMODE_FLAT_ES 0x04 /* ES, SS, DS: base 0, 4 GiB, readable and writable */
#define BMODE_FLAT_SS 0x08
#define BMODE_FLAT_DS 0x10
#define BMODE_SET_SHIFT 5  /* the TLB set (tlb_set_off / sizeof tlb.e[0]) */
static inline uint8_t bmode_flat_bit(int s)
{
	return s == S_ES ? BMODE_FLAT_ES : s == S_SS ? BMODE_FLAT_SS : s == S_DS ? BMODE_FLAT_DS : 0;
}
static inline uint8_t cpu_block_mode(const struct cpu *cpu)
{
	const uint8_t rw = SEG_OK_READ | SEG_OK_WRITE;
	return (uint8_t)(cpu->code32 | (cpu->stack32 << 1) |
			 (cpu->seg[S_ES].fast0 == rw ? BMODE_FLAT_ES : 0) |
			 (cpu->seg[S_SS].fast0 == rw ? BMODE_FLAT_SS : 0) |
			 (cpu->seg[S_DS].fast0 == rw ? BMODE_FLAT_DS : 0) |
			 ((cpu->tlb_set_off / sizeof(cpu->tlb.e[0])) << BMODE_SET_SHIFT));
}
static inline uint32_t bmode_tlb_set_off(uint8_t mode)
{
	return (uint32_t)(mode >> BMODE_SET_SHIFT) * (uint32_t)sizeof(((struct cpu *)0)->tlb.e[0]);
}

/* Physical memory access for loaders, devices (DMA) and debuggers.
 * Returns 0 on success, -1 if [pa, pa+len) is not all RAM. */
int cpu_phys_write(struct cpu *cpu, uint32_t pa, const void *src, uint32_t len);
int cpu_phys_read(struct cpu *cpu, uint32_t pa, void *dst, uint32_t len);

/* Gate A20 (port 0x92, i8042): flushes what depends on it. */
void cpu_set_a20(struct cpu *cpu, bool on);
/* Route the 16 KiB segment seg (0 = 0xC0000) of the BIOS area (PAM). */
void cpu_set_pam(struct cpu *cpu, int seg, uint8_t mode);

/* Cycle count presented by RDTSC. */
uint64_t cpu_tsc(struct cpu *cpu);

/* Print registers (for fatal stops, --trace). */
void cpu_dump(const struct cpu *cpu, void *file /* FILE* */);

#endif
