/* ringos: the embedded default guest of ringvm.
 *
 * A small multiboot v1 kernel that uses all four privilege levels of an
 * IA-32 processor. This header holds the machine layout every file
 * shares: the GDT selectors, the trap frame, and the few kernel calls.
 */
#ifndef RINGOS_H
#define RINGOS_H

#include "layout.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;

/* The trap frame the entry stubs build (entry.S). Low to high address.
 * esp/ss are valid only when the trap came from an outer ring, v86_*
 * only when it came from virtual-8086 mode (SDM Vol. 3, 20.3.1.1). */
struct frame {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_k, ebx, edx, ecx, eax; /* PUSHA order */
	u32 vec, err;
	u32 eip, cs, eflags;
	u32 esp, ss;
	u32 v86_es, v86_ds, v86_fs, v86_gs;
};
#define FRAME_WORDS (sizeof(struct frame) / 4)

/* The 32-bit TSS (SDM Vol. 3, 8.2.1), followed by the I/O bitmap. */
struct tss {
	u32 link, esp0, ss0, esp1, ss1, esp2, ss2;
	u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u32 es, cs, ss, ds, fs, gs, ldt;
	u16 trap, iomap;
};

/* Main TSS: bitmap covers ports 0..IOMAP_PORTS-1, then one 0xff byte
 * (SDM Vol. 1, 18.5.2: the processor reads two bytes of the bitmap). */
#define IOMAP_PORTS 0x400
struct tss_io {
	struct tss t;
	u8 map[IOMAP_PORTS / 8];
	u8 end;
} __attribute__((packed));

/* console.c: ring 0 serial output (polled 16550). */
void con_init(void);
void con_putc(char c);
void kputs(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksnprintf(char *buf, u32 n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* lib.c */
void *memset(void *d, int c, u32 n);
void *memcpy(void *d, const void *s, u32 n);
int memcmp(const void *a, const void *b, u32 n);
u32 strlen(const char *s);
int str_has_word(const char *s, const char *w);

/* desc.c: GDT, IDT, TSS */
extern u64 gdt[GDT_ENTRIES];
extern u64 idt[IDT_ENTRIES];
extern struct tss_io tss_main;
extern struct tss tss_df, tss_b;
extern u64 ldt[4];
void desc_init(void);
u64 seg_desc(u32 base, u32 limit, u32 type, u32 dpl, u32 flags);
u64 gate_desc(u32 sel, u32 off, u32 type, u32 dpl, u32 params);
void idt_set(int vec, void (*fn)(void), u32 type, u32 dpl);
void gdt_set(u16 sel, u64 d);
void load_tr(u16 sel);
void tss_clear_busy(u16 sel);
int gdt_busy(u16 sel);
void iomap_allow(u16 port, int n);
void iomap_deny(u16 port, int n);

/* paging.c */
extern u32 kernel_pd[1024];
void paging_init(void);
u32 *pte_of(u32 *pd, u32 va);
void invlpg(u32 va);
void flush_tlb(void);
u8 *test_page(int i); /* physical = virtual page, supervisor RW by default */
u32 *task_pd(int i);  /* page directory of user task i (0 or 1) */
u32 task_page_pa(int i);

/* kernel.c */
void panic(const char *why, struct frame *f) __attribute__((noreturn));
void debug_exit(u8 v) __attribute__((noreturn));
void power_off(void) __attribute__((noreturn));
u64 rdtsc(void);
int cpu_has_sep(void);
extern volatile u32 ticks;
typedef int (*trap_hook_t)(struct frame *f);
extern trap_hook_t trap_hook; /* bench/tour fixups; returns 1 if handled */

/* probe.c: run code at any ring and catch what it does */
struct probe {
	struct frame f;  /* the frame at the fault, or at INT 0x81 (done) */
	u32 cr2;
};
extern struct probe probe_out;
void probe_frame(struct frame *in, int ring, u32 eip);
int probe_exec(struct frame *in); /* returns vector caught */
int run_ring(int ring, const void *fn, u32 arg, u32 eflags);

/* entry.S */
extern u32 stack_trap_top[], stack_r1_top[], stack_r2_top[];
extern u32 ustack_top[];
extern u32 stack_df_top[], stack_b_top[];

/* modes */
void tour(void);
void conformance(void);
void bench(void);

/* sched.c: two ring 3 tasks preempted by the PIT */
void pit_start(u32 hz, int mode);
u32 pit_read(void);
void pic_init(void);
void pic_mask(u16 mask);
int sched_run_tasks(void (*entry_a)(void), void (*entry_b)(void));

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 read_cr0(void)
{
	u32 v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline void write_cr0(u32 v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline u32 read_cr2(void)
{
	u32 v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline u32 read_cr3(void)
{
	u32 v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline void write_cr3(u32 v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }

#endif
