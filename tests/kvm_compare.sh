# Sourced by the t_kvm_*.sh tests: build "$tmp/k.S" into a multiboot kernel
# and check that the kvm engine gives interp's output and exit status.
# Callers set BUILD, bin and tmp.

# kvm_build ADDR: assemble and link $tmp/k.S at ADDR; exits 77 if it can't.
kvm_build() {
	printf 'ENTRY(_start)\nSECTIONS { . = %s; .text : { *(.text) } .data : { *(.data) } .bss : { *(.bss) } }\n' "$1" > "$tmp/k.ld"
	if ! gcc -m32 -nostdlib -static -Wl,--build-id=none -T "$tmp/k.ld" -o "$tmp/k.elf" "$tmp/k.S" 2>"$tmp/cc.err"; then
		cat "$tmp/cc.err"
		echo "skip: cannot assemble a 32-bit test kernel here"
		exit 77
	fi
}

# kvm_compare SKIP_REGEX SKIP_WHY [WANT]: run the kernel under both engines.
# If kvm failed and its stderr matches SKIP_REGEX (a mode the host cannot
# run), exit 77 saying SKIP_WHY; else exit 0 only for the same output and
# the debug-exit status 33 under both, interp's output having a line that
# matches WANT (default: "tick 5").
kvm_compare() {
	want=${3:-^tick 5\$}
	"$bin" --accel interp --no-reboot --kernel "$tmp/k.elf" </dev/null >"$tmp/interp.out" 2>"$tmp/interp.err"
	rc_i=$?
	timeout 300 "$bin" --accel kvm --no-reboot --kernel "$tmp/k.elf" </dev/null >"$tmp/kvm.out" 2>"$tmp/kvm.err"
	rc_k=$?
	echo "interp: exit $rc_i"; cat "$tmp/interp.out"
	echo "kvm: exit $rc_k"; cat "$tmp/kvm.out"; cat "$tmp/kvm.err"
	if [ $rc_k -ne 33 ] && grep -q "^ringvm: kvm: /dev/kvm\|^ringvm: kvm: KVM_CREATE\|^ringvm: kvm: unsupported" "$tmp/kvm.err"; then
		echo "skip: the kvm engine cannot run here: $(head -1 "$tmp/kvm.err")"
		exit 77
	fi
	if [ $rc_k -ne 33 ] && grep -q "$1" "$tmp/kvm.err"; then
		echo "skip: $2 ($(grep -o "$1[^;)]*" "$tmp/kvm.err" | head -1))"
		exit 77
	fi
	fail=0
	[ $rc_i -eq 33 ] || { echo "FAIL: interp exit $rc_i, want 33 (debug-exit 0x10)"; cat "$tmp/interp.err"; fail=1; }
	grep -q "$want" "$tmp/interp.out" || { echo "FAIL: interp printed no line matching '$want'"; fail=1; }
	[ $rc_k -eq $rc_i ] || { echo "FAIL: kvm exit $rc_k differs from interp's $rc_i"; fail=1; }
	cmp -s "$tmp/interp.out" "$tmp/kvm.out" || { echo "FAIL: kvm output differs from interp's"; fail=1; }
	[ $fail -eq 0 ] && echo "kvm and interp: same output, same exit status"
	exit $fail
}
