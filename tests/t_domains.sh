#!/bin/sh
# Several domains at once under ringctl (docs/domains.md), each one's
# fate its own: the embedded guest running its conformance checks to the
# end, a guest that triple-faults (on_crash = "destroy": it ends, and
# dmesg tells why), a guest spinning with interrupts off and one spinning
# with them on. `list` shows the right ones in the right state; pause and
# unpause; `destroy` of one leaves the others running; names are unique;
# a bad config is refused line by line; the runtime directory and the
# domains' files are the owner's only; `console` without a terminal
# copies the output until the domain ends; save and restore through
# ringctl.
BUILD=${BUILD:-build}
ctl=$BUILD/ringctl
[ -x "$ctl" ] || { echo "FAIL: $ctl not built"; exit 1; }
RINGVM=$BUILD/ringvm-asan
[ -x "$RINGVM" ] || RINGVM=$BUILD/ringvm
export RINGVM
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
engine=${RINGVM_ENGINE:-bt}
tmp=$(mktemp -d)
RINGVM_RUNDIR=$tmp/run
export RINGVM_RUNDIR
cleanup() {
	for d in ringos triple spincli spin spin2; do "$ctl" destroy $d >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
. tests/mbkernel.sh
kernel spincli <<'EOF2'
	cli
1:	jmp 1b
EOF2
kernel spin <<'EOF2'
	sti
1:	jmp 1b
EOF2
# No IDT: the first exception cannot be delivered, nor the #DF after it.
kernel triple <<'EOF2'
	ud2
EOF2
cfg() { # cfg NAME KERNEL-or-"" EXTRA [MORE LINES]
	{
		echo "name = \"$1\""
		[ -n "$2" ] && echo "kernel = \"$2\""
		[ -n "$3" ] && echo "extra = \"$3\""
		echo "memory = 16"
		echo "engine = \"$engine\""
		# spincli's save and restore carry two CPUs (one waits for a SIPI)
		[ "$1" = spincli ] && [ "$engine" != kvm ] && echo "vcpus = 2"
		# the conformance run's PIT checks count interrupts against
		# instructions: on the instruction clock a loaded host cannot skew them
		[ "$1" = ringos ] && [ "$engine" != kvm ] && echo "deterministic = 1"
		echo "on_crash = \"destroy\""
		echo "on_reboot = \"destroy\""
	} >"$tmp/$1.cfg"
}
fail=0
ok() { echo "  ok   $1"; }
bad() { echo "  FAIL $1"; fail=1; }
cfg ringos "" conformance
cfg triple "$tmp/triple.elf" ""
cfg spincli "$tmp/spincli.elf" ""
cfg spin "$tmp/spin.elf" ""
for d in spincli spin triple ringos; do
	"$ctl" create "$tmp/$d.cfg" >/dev/null || bad "create $d"
done
"$ctl" console ringos </dev/null >"$tmp/ringos.out"
grep -q 'passed, 0 failed' "$tmp/ringos.out" && ok "console copied the embedded guest's run to its end" ||
	bad "console of ringos: $(tail -2 "$tmp/ringos.out")"
n=0
while "$ctl" list | grep -q '^triple ' && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
"$ctl" list >"$tmp/list"
sed 's/^/    /' "$tmp/list"
grep -q '^spincli .* running  *16 '"$engine" "$tmp/list" && grep -q '^spin .* running' "$tmp/list" &&
	! grep -q '^triple \|^ringos ' "$tmp/list" && ok "list: the two spinners run, the ended domains are gone" ||
	bad "list"
"$ctl" dmesg triple | grep -q 'triple fault: processor shut down' && ok "dmesg triple: the triple fault" ||
	bad "dmesg triple: $("$ctl" dmesg triple | head -2)"
"$ctl" create "$tmp/spin.cfg" 2>"$tmp/dup" && bad "a second domain named spin was created"
grep -q 'domain spin already exists' "$tmp/dup" && ok "names are unique" || bad "duplicate: $(cat "$tmp/dup")"
"$ctl" pause spincli && "$ctl" list | grep -q '^spincli .* paused' && "$ctl" list | grep -q '^spin .* running' &&
	ok "pause: spincli paused, spin runs" || bad "pause"
"$ctl" unpause spincli && "$ctl" list | grep -q '^spincli .* running' && ok "unpause" || bad "unpause"
"$ctl" top -n 2 >"$tmp/top"
grep -q '^spin .* running .*[1-9][0-9.]* ' "$tmp/top" && ok "top: instructions per second" || bad "top: $(cat "$tmp/top")"
"$ctl" destroy spin
"$ctl" list >"$tmp/list2"
! grep -q '^spin ' "$tmp/list2" && grep -q '^spincli .* running' "$tmp/list2" &&
	ok "destroy spin: spincli still runs" || bad "destroy: $(cat "$tmp/list2")"
"$ctl" save spincli "$tmp/spincli.snap" >/dev/null && ! "$ctl" list | grep -q '^spincli ' &&
	"$ctl" restore "$tmp/spincli.snap" >/dev/null && "$ctl" list | grep -q '^spincli .* running' &&
	ok "save (destroys) and restore" || bad "save/restore"
mode=$(stat -c %a "$RINGVM_RUNDIR")
files=$(stat -c '%a %n' "$RINGVM_RUNDIR"/spincli.* | grep -v '^[67]00 ' || true)
[ "$mode" = 700 ] && [ -z "$files" ] && ok "runtime dir 0700, the domain's files and sockets the owner's only" ||
	bad "modes: dir $mode; $files"
printf 'name = "x"\nmemory = lots\nvcpus = 9\nkernal = "k"\nengine = "qemu"\nnonsense\n' >"$tmp/bad.cfg"
"$ctl" create "$tmp/bad.cfg" 2>"$tmp/bad.err" && bad "a bad config was accepted"
for l in 2 3 4 5 6; do
	grep -q "^$tmp/bad.cfg:$l: " "$tmp/bad.err" || { bad "bad.cfg line $l not reported"; cat "$tmp/bad.err"; }
done
[ $fail -eq 0 ] && ok "bad config: each bad line reported as file:line: reason" && echo PASS
exit $fail
