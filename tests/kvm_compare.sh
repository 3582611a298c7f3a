# Sourced by the t_kvm_*.sh tests: build "$tmp/k.S" into a multiboot kernel
# and check that the kvm engine gives interp's output and exit status.
# Callers set BUILD, bin and tmp.
. tests/kvm_probe.sh

# kvm_build ADDR: assemble and link $tmp/k.S at ADDR; exits 77 if it can't.
kvm_build() {
	printf 'ENTRY(_start)\nSECTIONS { . = %s; .text : { *(.text) } .data : { *(.data) } .bss : { *(.bss) } }\n' "$1" > "$tmp/k.ld"
	if ! gcc -m32 -nostdlib -static -Wl,--build-id=none -T "$tmp/k.ld" -o "$tmp/k.elf" "$tmp/k.S" 2>"$tmp/cc.err"; then
		cat "$tmp/cc.err"
		echo "skip: cannot assemble a 32-bit test kernel here"
		exit 77
	fi
}

# kvm_compare MODE...: skip (77) if ringvm's kvm probe says this host
# cannot run one of the modes (tests/kvm_probe.sh); else run the kernel
# under both engines and exit 0 only for the same output and the
# debug-exit status 33 under both, interp's output having a line that
# matches $KVM_WANT (default: "tick 5"). Any other kvm failure is a failure.
kvm_compare() {
	kvm_need "$@"
	want=${KVM_WANT:-^tick 5\$}
	"$bin" --accel interp --no-reboot --kernel "$tmp/k.elf" </dev/null >"$tmp/interp.out" 2>"$tmp/interp.err"
	rc_i=$?
	timeout 300 "$bin" --accel kvm --no-reboot --kernel "$tmp/k.elf" </dev/null >"$tmp/kvm.out" 2>"$tmp/kvm.err"
	rc_k=$?
	echo "interp: exit $rc_i"; cat "$tmp/interp.out"
	echo "kvm: exit $rc_k"; cat "$tmp/kvm.out"; cat "$tmp/kvm.err"
	fail=0
	[ $rc_i -eq 33 ] || { echo "FAIL: interp exit $rc_i, want 33 (debug-exit 0x10)"; cat "$tmp/interp.err"; fail=1; }
	grep -q "$want" "$tmp/interp.out" || { echo "FAIL: interp printed no line matching '$want'"; fail=1; }
	[ $rc_k -eq $rc_i ] || { echo "FAIL: kvm exit $rc_k differs from interp's $rc_i"; fail=1; }
	cmp -s "$tmp/interp.out" "$tmp/kvm.out" || { echo "FAIL: kvm output differs from interp's"; fail=1; }
	[ $fail -eq 0 ] && echo "kvm and interp: same output, same exit status"
	exit $fail
}
