/* Boot sector for t_seabios.sh: loaded by SeaBIOS at 0x7c00 from the IDE
 * disk. Reads sectors 1-32 with INT 13h's extended read, prints their
 * byte sum through INT 10h (SeaBIOS's serial console) and jumps to the
 * second stage, the first of those sectors, at 1000:0000. */
	.code16
	.text
	.globl _start
_start:
	cli
	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7c00, %sp
	sti
	mov %dl, drive
	mov $hello, %si
	call puts
	mov $0x41, %ah			/* INT 13h extensions present? */
	mov $0x55aa, %bx
	mov drive, %dl
	int $0x13
	jc noext
	cmp $0xaa55, %bx
	jne noext
	mov $0x42, %ah			/* extended read: dap */
	mov drive, %dl
	mov $dap, %si
	int $0x13
	jc readerr
	push %ds
	mov $0x1000, %ax
	mov %ax, %ds
	xor %si, %si
	xor %dx, %dx
	mov $32 * 512, %cx
	xor %ah, %ah
1:	lodsb
	add %ax, %dx
	loop 1b
	pop %ds
	mov $sum, %si
	call puts
	mov %dx, %ax
	call puthex
	mov $crlf, %si
	call puts
	mov drive, %dl
	ljmp $0x1000, $0

noext:	mov $msg_noext, %si
	jmp die
readerr:
	mov $msg_readerr, %si
die:	call puts
1:	cli
	hlt
	jmp 1b

#include "puts.inc"

/* AX as four hex digits. */
puthex:	mov %ax, %dx
	mov $4, %cx
3:	rol $4, %dx
	mov %dl, %al
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 4f
	add $7, %al
4:	push %cx
	push %dx
	mov $0x0e, %ah
	mov $7, %bx
	int $0x10
	pop %dx
	pop %cx
	loop 3b
	ret

	.p2align 2
dap:	.byte 16, 0
	.word 32			/* sectors */
	.word 0, 0x1000			/* to 1000:0000 */
	.long 1, 0			/* from LBA 1 */
drive:	.byte 0
hello:	.asciz "ringvm test boot sector\r\n"
sum:	.asciz "sectors 1-32 sum "
crlf:	.asciz "\r\n"
msg_noext:	.asciz "no INT 13h extensions\r\n"
msg_readerr:	.asciz "INT 13h read failed\r\n"
	.org 510
	.word 0xaa55
