#!/bin/sh
# Domain figures (docs/domains.md), beside Firecracker's published ones
# (<= 125 ms to guest init, <= 5 MiB VMM overhead):
#   - create to first guest instruction: a kernel whose first instruction
#     is an exit (port 0xf4), run start to end (an upper bound), per
#     engine; and `ringctl create` until the domain answers QMP;
#   - VMM memory: RSS of a domain at -m 256 whose guest spins, having
#     touched a few KiB (everything in it is ringvm's own);
#   - save and restore of the Debian Linux guest at -m 256 mid-workload:
#     time and snapshot size;
#   - live migration of that guest over loopback: total time, downtime,
#     bytes.
# Usage: sh bench/domains.sh (after make build/ringvm build/ringctl).
BUILD=${BUILD:-build}
dir=${LINUX_GUEST_DIR:-guest-linux}
ctl=$BUILD/ringctl ringvm=$BUILD/ringvm
tmp=$(mktemp -d)
RINGVM_RUNDIR=$tmp/run
export RINGVM_RUNDIR
trap '"$ctl" destroy spin >/dev/null 2>&1; "$ctl" destroy lin >/dev/null 2>&1;
      RINGVM_RUNDIR=$tmp/dst "$ctl" destroy lin >/dev/null 2>&1; rm -rf "$tmp"' EXIT
ms() { date +%s%N | cut -c1-13; }

asm() { # asm NAME: stdin to a multiboot kernel $tmp/NAME.elf
	{ printf '\t.text\n\t.globl _start\n\t.long 0x1badb002, 0, -0x1badb002\n_start:\n'; cat; } >"$tmp/$1.S"
	gcc -m32 -c "$tmp/$1.S" -o "$tmp/$1.o" && ld -N -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/$1.elf" "$tmp/$1.o" 2>/dev/null
}
printf '\tmov $0, %%al\n\tout %%al, $0xf4\n' | asm exit
printf '\tsti\n1:\tjmp 1b\n' | asm spin

echo "== create to first guest instruction (median of 11 runs, whole process)"
for e in interp bt kvm; do
	"$ringvm" --accel $e --kernel "$tmp/exit.elf" >/dev/null 2>&1
	[ $? -eq 1 ] || { echo "  $e: not available here"; continue; }
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		t0=$(ms); "$ringvm" --accel $e --kernel "$tmp/exit.elf" >/dev/null 2>&1; echo $(($(ms) - t0))
	done | sort -n | sed -n 6p | sed "s/^/  $e: /; s/\$/ ms/"
done
printf 'name = "spin"\nkernel = "%s"\nmemory = 256\nengine = "bt"\n' "$tmp/spin.elf" >"$tmp/spin.cfg"
t0=$(ms); "$ctl" create "$tmp/spin.cfg" >/dev/null; t1=$(ms)
echo "  ringctl create until QMP answers: $((t1 - t0)) ms"
sleep 1
pid=$(cat "$RINGVM_RUNDIR/spin.pid")
echo "== VMM memory, -m 256, guest spinning (bt)"
grep -E 'VmRSS|RssAnon|RssFile|RssShmem' /proc/$pid/status | sed 's/^/  /'
"$ctl" destroy spin
"$ringvm" --accel kvm --kernel "$tmp/spin.elf" -m 256 >/dev/null 2>&1 &
kp=$!
sleep 1
kill -0 $kp 2>/dev/null && { echo "  kvm:"; grep -E 'VmRSS' /proc/$kp/status | sed 's/^/    /'; kill $kp; }

[ -f "$dir/vmlinuz" ] || { echo "no Linux guest in $dir: skipping save/restore and migration"; exit 0; }
cat >"$tmp/lin.cfg" <<CFG
name = "lin"
kernel = "$PWD/$dir/vmlinuz"
ramdisk = "$PWD/$dir/initrd.gz"
extra = "$(cat "$dir/cmdline.txt")"
memory = 256
engine = "bt"
on_reboot = "destroy"
on_crash = "destroy"
CFG
"$ctl" create "$tmp/lin.cfg" >/dev/null
until grep -aq '^RINGVM-BEGIN gzip' "$RINGVM_RUNDIR/lin.console" 2>/dev/null; do sleep 1; done
echo "== save / restore, Debian Linux at -m 256, mid-workload (bt)"
t0=$(ms); "$ctl" save -c lin "$tmp/lin.snap" >/dev/null; t1=$(ms)
echo "  save: $((t1 - t0)) ms (ringctl save -c: stop, write, fsync, cont), $(($(stat -c %s "$tmp/lin.snap") / 1024)) KiB"
t0=$(ms); "$ctl" destroy lin; t1=$(ms)
echo "  destroy: $((t1 - t0)) ms"
# QMP is answered once the state is loaded and the guest runs.
t0=$(ms); "$ctl" restore "$tmp/lin.snap" >/dev/null && "$ctl" list lin >/dev/null; t1=$(ms)
echo "  restore: $((t1 - t0)) ms (ringctl restore until the restored guest answers QMP)"
echo "== live migration over loopback (bt -> bt)"
mkdir -m 700 "$tmp/dst"
port=$((30000 + $$ % 20000))
RINGVM_RUNDIR=$tmp/dst "$ctl" receive lin $port >/dev/null
"$ctl" migrate lin 127.0.0.1:$port | sed 's/^/  /'
RINGVM_RUNDIR=$tmp/dst timeout 900 "$ctl" console lin </dev/null | tr -d '\r' | grep -a '^RINGVM-DONE' >/dev/null &&
	echo "  the guest finished its workloads on the target"
