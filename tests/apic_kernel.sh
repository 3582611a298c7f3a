# Sourced by the shell tests that run the APIC test kernel
# (tests/apic_kernel/): apic_kernel DIR builds DIR/apic.elf with gcc -m32
# -ffreestanding (symbols kept: ap_main, ap_stacks, ...); non-zero, with
# the compiler's messages in DIR/cc.err, when this host cannot.
apic_kernel() {
	_src=$(dirname "$0")/apic_kernel
	_cflags="-m32 -ffreestanding -fno-pic -fno-pie -nostdlib -fno-stack-protector -fno-builtin -O2 -Wall -Wextra -Werror"
	gcc $_cflags -c "$_src/entry.S" -o "$1/entry.o" 2>"$1/cc.err" &&
		gcc $_cflags -c "$_src/apic.c" -o "$1/apic.o" 2>>"$1/cc.err" &&
		ld -m elf_i386 -N -Ttext=0x100000 -e _start -o "$1/apic.elf" "$1/entry.o" "$1/apic.o" 2>>"$1/cc.err"
}
