#!/bin/sh
# Console input through port I/O on the kvm engine: a guest that polls the
# UART and echoes 3000 bytes from a pipe must echo them unchanged, as it
# does on interp. (Catches an IN whose data is lost when the engine returns
# to the board between the I/O exit and the next KVM_RUN.) Skips only when
# ringvm's kvm probe says this host cannot run protected mode.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_cli_kvm_io: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
. tests/kvm_probe.sh
kvm_need protected # a multiboot kernel polling the UART, no paging or interrupts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	printf '\t.text\n\t.globl _start\n\t.align 4\n\t.long 0x1badb002, 0, -0x1badb002\n_start:\n'
	cat <<'EOF2'
	mov $0x3fd, %dx
1:	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	out %al, %dx
	mov %al, %bl
	mov $0x3fd, %dx
	cmp $'q', %bl
	jne 1b
	mov $0xf4, %dx
	mov $0x10, %al
	out %al, %dx
EOF2
} >"$tmp/echo.S"
gcc -m32 -c "$tmp/echo.S" -o "$tmp/echo.o" && ld -N -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/echo.elf" "$tmp/echo.o" 2>/dev/null ||
	{ echo "skip: cannot build 32-bit test kernels"; exit 77; }
head -c 3000 /dev/urandom | tr -d 'q' >"$tmp/in"
printf q >>"$tmp/in"
fails=0
for i in 1 2 3 4 5; do
	timeout 20 "$bin" --accel kvm --kernel "$tmp/echo.elf" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != 33 ] || ! cmp -s "$tmp/in" "$tmp/out"; then
		echo "FAIL run $i: status $rc; $(cmp -l "$tmp/in" "$tmp/out" 2>&1 | head -3 | tr '\n' ' ')"
		fails=$((fails + 1))
	fi
done
[ $fails -eq 0 ] && echo ok
[ $fails -eq 0 ]
