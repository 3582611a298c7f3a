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

/* isr NAME COUNTER EOI: an interrupt gate's handler */
.macro isr name, counter, eoi
	.globl \name
\name:
	incl \counter
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
