/* ringos machine layout: constants shared by C and assembly. */
#ifndef RINGOS_LAYOUT_H
#define RINGOS_LAYOUT_H

/* GDT selectors. KCODE..UDATA are consecutive because SYSENTER/SYSEXIT
 * derive SS = CS+8, user CS = CS+16, user SS = CS+24 (SDM Vol. 2B,
 * SYSENTER/SYSEXIT). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x18 /* DPL 3 */
#define SEL_UDATA 0x20 /* DPL 3 */
#define SEL_R1CODE 0x28
#define SEL_R1DATA 0x30
#define SEL_R2CODE 0x38
#define SEL_R2DATA 0x40
#define SEL_TSS 0x48      /* main task */
#define SEL_DFTSS 0x50    /* double fault task */
#define SEL_TSSB 0x58     /* task B, for task switch checks */
#define SEL_LDT 0x60
#define SEL_GATE_SYS 0x68 /* call gate DPL 3 -> ring 0, 2 params */
#define SEL_GATE_SVC 0x70 /* call gate DPL 3 -> ring 2 service, 2 params */
#define SEL_GATE_DRV 0x78 /* call gate DPL 2 -> ring 1 driver, 1 param */
#define SEL_TASKGATE 0x80 /* task gate DPL 0 -> task B */
#define SEL_SCRATCH 0x88  /* 12 slots the checks rewrite */
#define GDT_ENTRIES 29

/* Interrupt vectors */
#define VEC_IRQ0 0x20
#define VEC_SYSCALL 0x80  /* interrupt gate DPL 3 */
#define VEC_DONE 0x81     /* DPL 3: a probe finished without a fault */
#define VEC_DPL0 0x82     /* DPL 0 gate */
#define VEC_NOTP 0x83     /* DPL 3, not present */
#define VEC_TASK 0x84     /* task gate DPL 3 -> task B */
#define VEC_DPL1 0x85     /* DPL 1 gate */
#define VEC_TRAP 0x86     /* trap gate DPL 3 (IF stays set) */
#define IDT_ENTRIES 0x90  /* INT n beyond is past the IDT limit */

/* Syscall numbers (INT 0x80, EAX) */
#define SYS_NULL 0
#define SYS_WRITE 1
#define SYS_EXIT 2
#define SYS_TICKS 3
#define SYS_GETPID 4

/* Virtual layout */
#define KERNEL_BASE 0x00100000
#define TEST_VA 0x00800000  /* PDE 2: test page table */
#define TASK_VA 0x40000000  /* each task's private page */

#endif
