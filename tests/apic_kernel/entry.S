/* Multiboot entry, descriptor tables and interrupt stubs of the APIC test
 * kernel (tests/t_board_apic.sh). The stubs count and signal EOI, nothing
 * else, so the C code only reads counters. */
	.set LAPIC_EOI, 0xfee000b0
	.text
	.globl _start
	.align 4
	.long 0x1badb002, 0, -0x1badb002
_start:
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $stack_top, %esp
	call kmain
2:	cli
	hlt
	jmp 2b

/* The application processors start here, copied to 0x8000 (STARTUP
 * vector 0x08): real mode with CS = 0x0800, so data is addressed from
 * the copy's start; into protected mode with the kernel's GDT, then each
 * takes a stack of its own and runs ap_main. */
	.code16
	.globl ap_tramp, ap_tramp_end
ap_tramp:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl ap_gdtr - ap_tramp
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $ap_pm32
	.align 4
ap_gdtr:
	.word 23
	.long gdt
ap_tramp_end:
	.code32
ap_pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $4096, %eax
	lock xadd %eax, ap_stack_next
	mov %eax, %esp
	call ap_main
3:	cli
	hlt
	jmp 3b

/* isr NAME COUNTER EOI: an interrupt gate's handler */
.macro isr name, counter, eoi
	.globl \name
\name:
	lock incl \counter
	.if \eoi
	movl $0, LAPIC_EOI
	.endif
	iret
.endm
	isr isr_apic_timer, apic_ticks, 1
	isr isr_pit, pit_ticks, 1
	isr isr_ipi, ipi_count, 1
	isr isr_low, low_count, 1
	isr isr_spurious, spurious_count, 0
	isr isr_nmi, nmi_count, 0

	.data
	.align 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08 code */
	.quad 0x00cf92000000ffff /* 0x10 data */
gdtr:	.word gdtr - gdt - 1
	.long gdt
	.bss
	.align 16
	.space 8192
stack_top:
