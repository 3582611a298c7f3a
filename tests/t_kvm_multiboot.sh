#!/bin/sh
# The kvm engine runs a multiboot kernel the way interp does: the kernel
# loads its own GDT and IDT, programs the PIC and the PIT, prints on the
# UART from a PIT interrupt handler five times and exits through the
# debug-exit port. Output and exit status must be identical under both
# engines. Skips (77) without a usable /dev/kvm or a 32-bit assembler.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_kvm_multiboot: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
command -v gcc >/dev/null || { echo "skip: no gcc to build the test kernel"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/k.S" <<'EOF'
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
	mov $stack_top, %esp
	/* IDT: vector 0x20 -> tick, an interrupt gate */
	mov $tick, %eax
	mov %ax, idt + 0x20*8
	movw $0x08, idt + 0x20*8 + 2
	movw $0x8e00, idt + 0x20*8 + 4
	shr $16, %eax
	mov %ax, idt + 0x20*8 + 6
	lidt idtr
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
	mov $hello, %esi
	call puts
	sti
2:	hlt
	cmpl $5, ticks
	jb 2b
	cli
	mov $done, %esi
	call puts
	mov $0x10, %al
	out %al, $0xf4
3:	hlt
	jmp 3b

tick:	push %eax
	push %esi
	incl ticks
	mov ticks, %eax
	add $'0', %al
	mov %al, tickmsg + 5
	mov $tickmsg, %esi
	call puts
	mov $0x20, %al
	out %al, $0x20
	pop %esi
	pop %eax
	iret

/* print the NUL-terminated string at ESI on COM1, polling LSR.THRE */
puts:	push %eax
	push %edx
4:	movb (%esi), %al
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
	inc %esi
	jmp 4b
6:	pop %edx
	pop %eax
	ret

	.data
	.align 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdtr:	.word 23
	.long gdt
idtr:	.word 0x30*8 - 1
	.long idt
ticks:	.long 0
hello:	.asciz "hello from a multiboot kernel\n"
tickmsg: .asciz "tick N\n"
done:	.asciz "done\n"
	.bss
	.align 8
idt:	.space 0x30*8
	.space 4096
stack_top:
EOF
. tests/kvm_compare.sh
kvm_build 0x100000
kvm_compare protected pmint
