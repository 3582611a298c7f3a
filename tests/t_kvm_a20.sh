#!/bin/sh
# The A20 gate under both engines: a multiboot kernel (at 2 MiB, so its own
# code is not aliased) turns A20 off through port 0x92 and checks that
# 0x100600 and 0x000600 are one byte of RAM, and 0x380000 and 0x280000
# (every odd MiB aliases the even one below), then turns it back on and
# checks they are apart again. kvm must print what interp prints. Needs
# only 32-bit protected mode of the host's KVM; skips (77) naming the
# probe result where the host cannot run that, or without /dev/kvm.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_kvm_a20: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
command -v gcc >/dev/null || { echo "skip: no gcc to build the test kernel"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/k.S" <<'EOF2'
	.text
	.globl _start
	.align 4
	.long 0x1badb002, 0, -0x1badb002
_start:
	movl $0x11111111, 0x000600
	movl $0x22222222, 0x100600
	movl $0x44444444, 0x280000
	movl $0x55555555, 0x380000
	in $0x92, %al
	and $~2, %al
	out %al, $0x92          /* A20 off */
	cmpl $0x11111111, 0x100600
	sete %bl
	movl $0x33333333, 0x100604
	cmpl $0x33333333, 0x000604
	sete %bh
	movl $0x66666666, 0x380000
	cmpl $0x66666666, 0x280000
	sete %cl
	mov $'0', %al
	add %bl, %al
	call putc
	mov $'0', %al
	add %bh, %al
	call putc
	mov $'0', %al
	add %cl, %al
	call putc
	in $0x92, %al
	or $2, %al
	out %al, $0x92          /* A20 on */
	cmpl $0x22222222, 0x100600
	sete %bl
	cmpl $0x55555555, 0x380000
	sete %cl
	mov $' ', %al
	call putc
	mov $'0', %al
	add %bl, %al
	call putc
	mov $'0', %al
	add %cl, %al
	call putc
	mov $'\n', %al
	call putc
	mov $0x10, %al
	out %al, $0xf4
	hlt
putc:	mov $0x3f8, %dx
	out %al, %dx
	ret
EOF2
. tests/kvm_compare.sh
kvm_build 0x200000
KVM_WANT='^111 11$' kvm_compare protected
