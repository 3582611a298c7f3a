/* The CPU-bound loops of bench/ips.c as a multiboot guest, so that every
 * VMM runs the very same instructions: `ringvm --kernel` and QEMU's
 * `-kernel` both boot it. Each loop is bracketed by marker lines on COM1
 * ("IPS-BEGIN alu" / "IPS-END alu"), which bench/bench.py time-stamps on
 * the host; the instruction counts are bench/ips.c's (interp counts them),
 * so the loops below must stay identical to the ones there. Ends with a
 * write to the debug-exit port 0xf4 (ringvm, and QEMU with
 * -device isa-debug-exit). Interrupts stay off throughout (multiboot
 * entry has IF=0), so nothing but the loop runs between the markers.
 *
 * A number at the end of the command line (`-append 8`) runs each loop
 * that many times between its markers (default 1), so that a fast VMM
 * runs long enough to time; the outer loop adds 2 instructions a pass. */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0
	.section .text
	.code32
	.align 4
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.globl _start
_start:
	mov $0x300000, %esp
	/* EDI = the repeat count: the digits that end the command line
	 * (QEMU passes "kernel-path args", ringvm just the args). */
	mov $1, %edi
	cmp $0x2BADB002, %eax
	jne 9f
	testl $4, (%ebx)		/* multiboot info flags: cmdline valid */
	jz 9f
	mov 16(%ebx), %esi
	xor %edx, %edx
7:	movzbl (%esi), %eax
	test %eax, %eax
	jz 8f
	inc %esi
	sub $'0', %eax
	cmp $9, %eax
	ja 71f
	imul $10, %edx, %edx
	add %eax, %edx
	jmp 7b
71:	xor %edx, %edx			/* not a digit: start again */
	jmp 7b
8:	test %edx, %edx
	jz 9f
	mov %edx, %edi
9:
	mov $s_alu_begin, %esi
	call puts
	mov %edi, %ebp
10:	/* ips_alu of bench/ips.c */
	mov $50000000, %ecx
	xor %eax, %eax
	mov $7, %ebx
1:	add %ebx, %eax
	xor %ecx, %eax
	shl $1, %ebx
	sub $1, %ecx
	jnz 1b
	dec %ebp
	jnz 10b
	mov $s_alu_end, %esi
	call puts

	mov $s_mem_begin, %esi
	call puts
	mov %edi, %ebp
11:	/* ips_mem of bench/ips.c */
	mov $20000000, %ecx
	mov $0x200000, %esi
1:	mov (%esi), %eax
	add %ecx, %eax
	mov %eax, (%esi)
	call 2f
	dec %ecx
	jnz 1b
	dec %ebp
	jnz 11b
	jmp 3f
2:	push %ebx
	mov 4(%esi), %ebx
	pop %ebx
	ret
3:	mov $s_mem_end, %esi
	call puts

	xor %eax, %eax
	out %al, $0xf4
	cli
4:	hlt
	jmp 4b

/* Writes the NUL-terminated string at ESI to COM1, polling the line status
 * register's THR-empty bit (16550: LSR bit 5). */
puts:
	mov $0x3fd, %dx
5:	in %dx, %al
	test $0x20, %al
	jz 5b
	lodsb
	test %al, %al
	jz 6f
	mov $0x3f8, %dx
	out %al, %dx
	jmp puts
6:	ret

	.section .rodata
s_alu_begin: .asciz "IPS-BEGIN alu\n"
s_alu_end:   .asciz "IPS-END alu\n"
s_mem_begin: .asciz "IPS-BEGIN mem\n"
s_mem_end:   .asciz "IPS-END mem\n"
