# Sourced by shell tests that build tiny multiboot kernels. Callers set tmp.

# kernel NAME: assemble stdin (GNU as, 32-bit) into $tmp/NAME.elf, loaded
# at 1 MiB; exits 77 when this host cannot build 32-bit code.
kernel() {
	{
		printf '\t.text\n\t.globl _start\n\t.align 4\n'
		printf '\t.long 0x1badb002, 0, -0x1badb002\n_start:\n'
		cat
	} >"$tmp/$1.S"
	gcc -m32 -c "$tmp/$1.S" -o "$tmp/$1.o" 2>"$tmp/as.err" &&
		ld -N -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/$1.elf" "$tmp/$1.o" 2>>"$tmp/as.err" ||
		{ cat "$tmp/as.err"; echo "skip: cannot build 32-bit test kernels"; exit 77; }
}

# wait_exit PID SECONDS: wait up to SECONDS for PID to end; 0 if it did.
wait_exit() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		[ $n -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 0
}
