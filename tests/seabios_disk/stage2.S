/* Second stage for t_seabios.sh, at 1000:0000 (sectors 1 and 2). Checks the IDE
 * controller below the BIOS: reads the same 32 sectors again by bus-master
 * DMA (READ DMA, the PRD table at 0x20000, data to 0x30000) and compares;
 * writes sector 1 to LBA 100 through INT 13h (the BIOS's PIO write),
 * reads it back; then powers off through the ACPI PM1a_CNT register. */
	.code16
	/* Variables past the 16 KiB that are compared (1000:4000). */
	.set drive, 0x4000
	.set bmst, 0x4001
	.set atast, 0x4002
	.set bm, 0x4004
	.text
	.globl _start
_start:
	mov %cs, %ax
	mov %ax, %ds
	mov %dl, drive
	mov $hello, %si
	call puts

	/* BAR4 of 00:01.1, and I/O + bus master on. */
	mov $0x80000920, %eax
	mov $0xcf8, %dx
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
	and $0xfffc, %ax
	jz nobar
	mov %ax, bm
	mov $0x80000904, %eax
	mov $0xcf8, %dx
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %ax
	or $5, %ax
	out %ax, %dx

	/* PRD table at 0x20000: one entry, 16 KiB to 0x30000, end of table. */
	push %es
	mov $0x2000, %ax
	mov %ax, %es
	movl $0x30000, %es:0
	movl $0x80004000, %es:4
	pop %es

	mov bm, %dx
	xor %al, %al
	out %al, %dx			/* stop */
	add $2, %dx
	mov $6, %al
	out %al, %dx			/* clear interrupt and error */
	add $2, %dx
	mov $0x20000, %eax
	out %eax, %dx			/* PRD table */

	mov $0x3f6, %dx
	mov $2, %al
	out %al, %dx			/* nIEN: poll, no IRQ 14 */
	mov $0x1f6, %dx
	mov $0xe0, %al
	out %al, %dx			/* LBA, master */
	mov $0x1f2, %dx
	mov $32, %al
	out %al, %dx
	inc %dx
	mov $1, %al
	out %al, %dx			/* LBA 1 */
	inc %dx
	xor %al, %al
	out %al, %dx
	inc %dx
	out %al, %dx
	mov $0x1f7, %dx
	mov $0xc8, %al
	out %al, %dx			/* READ DMA */
	mov bm, %dx
	mov $9, %al
	out %al, %dx			/* start, to memory */
	add $2, %dx
	mov $100000, %ecx
5:	in %dx, %al
	test $4, %al
	jnz 6f
	loop 5b
6:	mov %al, bmst
	mov bm, %dx
	xor %al, %al
	out %al, %dx			/* stop */
	mov $0x1f7, %dx
	in %dx, %al
	mov %al, atast
	mov $0x3f6, %dx
	xor %al, %al
	out %al, %dx
	testb $2, bmst
	jnz dmaerr
	testb $1, atast
	jnz dmaerr
	push %ds
	push %es
	mov $0x1000, %ax
	mov %ax, %ds
	mov $0x3000, %ax
	mov %ax, %es
	xor %si, %si
	xor %di, %di
	mov $32 * 512, %cx
	cld
	repe cmpsb
	pop %es
	pop %ds
	jne dmabad
	mov $dma_ok, %si
	call puts

	/* INT 13h write of sector 1's bytes to LBA 100, and read back. */
	mov $0x43, %ah
	xor %al, %al
	mov drive, %dl
	mov $wdap, %si
	int $0x13
	jc wrerr
	mov $0x42, %ah
	mov drive, %dl
	mov $rdap, %si
	int $0x13
	jc wrerr
	push %ds
	push %es
	mov $0x1000, %ax
	mov %ax, %ds
	mov $0x4000, %ax
	mov %ax, %es
	xor %si, %si
	xor %di, %di
	mov $512, %cx
	repe cmpsb
	pop %es
	pop %ds
	jne wrerr
	mov $wr_ok, %si
	call puts

	mov $bye, %si
	call puts
	mov $0xb004, %dx
	mov $0x2000, %ax
	out %ax, %dx			/* SLP_EN, SLP_TYP 0: soft off */
	jmp halt

nobar:	mov $msg_nobar, %si
	jmp die
dmaerr:	mov $msg_dmaerr, %si
	jmp die
dmabad:	mov $msg_dmabad, %si
	jmp die
wrerr:	mov $msg_wrerr, %si
die:	call puts
halt:	cli
	hlt
	jmp halt

#include "puts.inc"

	.p2align 2
wdap:	.byte 16, 0
	.word 1
	.word 0, 0x1000
	.long 100, 0
rdap:	.byte 16, 0
	.word 1
	.word 0, 0x4000
	.long 100, 0
hello:	.asciz "stage 2 running\r\n"
dma_ok:	.asciz "bus-master DMA read matches\r\n"
wr_ok:	.asciz "INT 13h write and read back match\r\n"
bye:	.asciz "powering off\r\n"
msg_nobar:	.asciz "no bus-master BAR\r\n"
msg_dmaerr:	.asciz "DMA read failed\r\n"
msg_dmabad:	.asciz "DMA data differs\r\n"
msg_wrerr:	.asciz "INT 13h write failed\r\n"
