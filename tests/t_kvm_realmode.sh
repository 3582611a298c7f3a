#!/bin/sh
# The kvm engine and interp run the same multiboot kernel through the whole
# board with the same output: the kernel leaves protected mode for real mode
# (SDM Vol. 3, 9.9.2), programs the PIC and the PIT, takes five PIT
# interrupts through the real-mode vector table, prints on the UART from the
# handler, and exits through the debug-exit port. This exercises the kvm
# engine's interrupt injection from the board's PIC, UART port I/O and
# debug-exit in the mode an emulated /dev/kvm can run (t_kvm_multiboot does
# the same in protected mode where the host allows it). Skips (77) without
# a usable /dev/kvm or a 32-bit assembler.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_kvm_realmode: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
command -v gcc >/dev/null || { echo "skip: no gcc to build the test kernel"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/k.S" <<'EOF'
	.text
	.code32
	.globl _start
	.align 4
	.long 0x1badb002, 0, -0x1badb002
_start:
	lgdt gdtr
	ljmp $0x08, $pm16
	.code16
pm16:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr0, %eax
	and $0xfffffffe, %eax
	mov %eax, %cr0
	ljmp $0, $rm
rm:	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %sp
	lidt ivtr
	movw $tick, 0x20*4
	movw $0, 0x20*4 + 2
	/* PIC: master at 0x20, slave at 0x28, only IRQ0 unmasked */
	mov $0x11, %al; out %al, $0x20; out %al, $0xa0
	mov $0x20, %al; out %al, $0x21
	mov $0x28, %al; out %al, $0xa1
	mov $0x04, %al; out %al, $0x21
	mov $0x02, %al; out %al, $0xa1
	mov $0x01, %al; out %al, $0x21; out %al, $0xa1
	mov $0xfe, %al; out %al, $0x21
	mov $0xff, %al; out %al, $0xa1
	/* PIT channel 0, mode 2, 100 Hz */
	mov $0x34, %al; out %al, $0x43
	mov $11932 & 0xff, %al; out %al, $0x40
	mov $11932 >> 8, %al; out %al, $0x40
	mov $hello, %si
	call puts
	sti
2:	hlt
	cmpw $5, ticks
	jb 2b
	cli
	mov $done, %si
	call puts
	mov $0x10, %al
	out %al, $0xf4
3:	hlt
	jmp 3b

tick:	push %ax
	push %si
	incw ticks
	mov ticks, %ax
	add $'0', %al
	mov %al, tickmsg + 5
	mov $tickmsg, %si
	call puts
	mov $0x20, %al
	out %al, $0x20
	pop %si
	pop %ax
	iret

/* print the NUL-terminated string at SI on COM1, polling LSR.THRE */
puts:	push %ax
	push %dx
4:	movb (%si), %al
	test %al, %al
	jz 6f
	mov %al, %ah
	mov $0x3fd, %dx
5:	in %dx, %al
	test $0x20, %al
	jz 5b
	mov $0x3f8, %dx
	mov %ah, %al
	out %al, %dx
	inc %si
	jmp 4b
6:	pop %dx
	pop %ax
	ret

	.align 8
gdt:	.quad 0
	.quad 0x00009a000000ffff	/* 16-bit code, base 0, 64 KiB */
	.quad 0x000092000000ffff	/* 16-bit data, base 0, 64 KiB */
gdtr:	.word 23
	.long gdt
ivtr:	.word 0x3ff
	.long 0
ticks:	.word 0
hello:	.asciz "hello from real mode\n"
tickmsg: .asciz "tick N\n"
done:	.asciz "done\n"
EOF
. tests/kvm_compare.sh
kvm_build 0x8000
kvm_compare protected real # multiboot enters in protected mode
