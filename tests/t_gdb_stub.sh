#!/bin/sh
# The gdb stub (docs/gdb.md) on the engine under test, three ways:
# 1. tests/gdb_client.py speaks the remote protocol to the embedded guest
#    started with -S: registers at the entry, steps (EIP advances by the
#    instruction's length), a breakpoint that is not in guest memory, a
#    step from ring 3 through INT 0x80 to ring 0, translation through the
#    guest's page tables (user and kernel pages, E14 when unmapped), write
#    and read watchpoints on the timer tick counter, a memory write the
#    guest executes, Ctrl-C, bad packets, detach (the guest then runs to
#    its power-off, status 0);
# 2. the same client against a kernel that drops to real mode with CS =
#    0x700: the stub says "real mode", the PC is linear (CS*16+IP),
#    breakpoints and steps work there, 'k' ends ringvm;
# 3. Debian's gdb in batch mode, if installed: registers, a breakpoint on a
#    function by name, `info registers cr0`, a watchpoint on a variable,
#    `monitor mode`, the i8086 architecture in real mode;
# 4. Debian's gdb against the APIC test kernel with -smp 2: each CPU a
#    thread, stops in either, the AP's registers, steps that hold the
#    other CPU, a watchpoint hit by the AP, the run to the end.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
bin="$BUILD/ringvm-asan" # the stub parses what arrives on a socket: check it under ASan
[ -x "$bin" ] || bin="$BUILD/ringvm"
elf="$BUILD/guest/ringos.elf"
here=$(dirname "$0")
[ -x "$bin" ] || { echo "t_gdb_stub: no $BUILD/ringvm"; exit 1; }
[ -f "$elf" ] || { echo "t_gdb_stub: no $elf"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3 for the protocol client"; exit 77; }
command -v nm >/dev/null && command -v objdump >/dev/null || { echo "skip: no binutils (nm, objdump)"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
bad=0

# start_vm NAME ARGS...: ringvm stopped (-S) with its stub on a free port
# (port 0: the kernel picks one, ringvm prints it); sets $pid and $port.
start_vm() {
	name=$1
	shift
	timeout 120 "$bin" --accel "$engine" --no-reboot --gdb tcp::0 -S "$@" </dev/null \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/^ringvm: gdb stub listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.err")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "t_gdb_stub: $name: no 'listening' line"
	cat "$tmp/$name.err"
	exit 1
}

# finish_vm NAME STATUS: wait for ringvm, expect its exit status.
finish_vm() {
	wait "$pid"
	rc=$?
	pid=
	if [ "$rc" -ne "$2" ]; then
		echo "FAIL $1: ringvm exit status $rc, want $2"
		tail -20 "$tmp/$1.err"
		bad=1
	fi
}

# ---- 1. the protocol client against the embedded guest ----
nm "$elf" | awk '{ print $3, $1 }' >"$tmp/pm.sym"
# the addresses of _start's instructions 2 to 5 (steps, a mid-block breakpoint)
start=$(awk '$1 == "_start" { print $2 }' "$tmp/pm.sym")
objdump -d --start-address=0x$start "$elf" | awk '/^ +[0-9a-f]+:/ { sub(":", "", $1); print $1 }' |
	sed -n '2,5p' | awk '{ print "start_insn" NR + 1, $1 }' >>"$tmp/pm.sym"
start_vm pm
python3 "$here/gdb_client.py" pm "$port" "$tmp/pm.sym" || bad=1
finish_vm pm 0
grep -q 'tour done' "$tmp/pm.out" || { echo "FAIL: after detach the tour did not finish"; tail -5 "$tmp/pm.out"; bad=1; }
grep -q 'ringvm: gdb detached; the guest runs on' "$tmp/pm.err" || { echo "FAIL: no 'detached' line"; bad=1; }
grep -q 'ringvm: gdb connection failed' "$tmp/pm.err" && { echo "FAIL: a detach reported as a failed connection too"; bad=1; }

# ---- 2. real mode ----
cat >"$tmp/rm.S" <<'EOF'
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
	ljmp $0x0700, $(rm - 0x7000)	/* CS base 0x7000: IP is not the linear address */
rm:	xor %ax, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0x7000, %sp
	.globl rmloop, rmloop2, counter
rmloop:	incw counter
rmloop2: jmp rmloop
	.align 8
gdt:	.quad 0
	.quad 0x00009a000000ffff	/* 16-bit code, base 0, 64 KiB */
	.quad 0x000092000000ffff	/* 16-bit data, base 0, 64 KiB */
gdtr:	.word 23
	.long gdt
counter: .word 0
EOF
printf 'ENTRY(_start)\nSECTIONS { . = 0x8000; .text : { *(.text) } }\n' >"$tmp/rm.ld"
if gcc -m32 -nostdlib -static -Wl,--build-id=none -T "$tmp/rm.ld" -o "$tmp/rm.elf" "$tmp/rm.S" 2>"$tmp/cc.err"; then
	nm "$tmp/rm.elf" | awk '{ print $3, $1 }' >"$tmp/rm.sym"
	start_vm rm --kernel "$tmp/rm.elf"
	python3 "$here/gdb_client.py" rm "$port" "$tmp/rm.sym" || bad=1
	finish_vm rm 0
	grep -q 'ringvm: killed by gdb' "$tmp/rm.err" || { echo "FAIL: no 'killed by gdb' line"; bad=1; }
	grep -q 'ringvm: gdb: real mode at 0700:' "$tmp/rm.err" || { echo "FAIL: no real-mode line on stderr"; bad=1; }
else
	cat "$tmp/cc.err"
	echo "FAIL: cannot assemble the real-mode kernel"
	bad=1
fi

# ---- 3. Debian's gdb ----
if ! command -v gdb >/dev/null; then
	echo "skipped the real-gdb part: gdb is not installed (apt-get install gdb)"
	exit $bad
fi
# gdb_expect NAME PATTERN: gdb's output holds the (extended) regex
gdb_expect() {
	if ! grep -Eq -- "$2" "$tmp/$1.gdb"; then
		echo "FAIL $1: gdb printed no '$2'"
		bad=1
	else
		echo "ok   $1 (gdb): $2"
	fi
}
start_vm gdbpm
timeout 120 gdb -batch -nx -ex "set pagination off" -ex "target remote 127.0.0.1:$port" \
	-ex "info registers eip" -ex "break tour" -ex "continue" -ex "info registers cr0" \
	-ex "monitor mode" -ex "watch ticks" -ex "continue" -ex "print ticks" -ex "kill" \
	"$elf" >"$tmp/gdbpm.gdb" 2>&1
finish_vm gdbpm 0
gdb_expect gdbpm "^eip +0x$(echo "$start" | sed 's/^0*//') "
gdb_expect gdbpm "^Breakpoint 1, tour"
gdb_expect gdbpm "^cr0 +0x8[0-9a-f]+ +\[ PE .*PG \]"
gdb_expect gdbpm "protected mode, 32-bit code, CPL 0, paging on"
gdb_expect gdbpm "^Hardware watchpoint 2: ticks"
gdb_expect gdbpm "^New value = 1"
gdb_expect gdbpm "^\\\$1 = 1"

if [ -f "$tmp/rm.elf" ]; then
	# gdb takes the architecture from the target description when it
	# connects: attach once the guest runs in real mode (no -S) and the
	# stub describes an i8086, so gdb disassembles 16-bit code.
	loop=$(awk '$1 == "rmloop" { print $2 }' "$tmp/rm.sym" | sed 's/^0*//')
	start_vm gdbrm --kernel "$tmp/rm.elf"
	python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(b"$c#63"); s.recv(1); s.close()' "$port"
	sleep 1
	timeout 120 gdb -batch -nx -ex "set pagination off" -ex "target remote 127.0.0.1:$port" \
		-ex "show architecture" -ex "break *0x$loop" -ex "continue" -ex 'x/2i $pc' \
		-ex "info registers cs cs_base" -ex "kill" >"$tmp/gdbrm.gdb" 2>&1
	finish_vm gdbrm 0
	gdb_expect gdbrm 'currently "i8086"'
	gdb_expect gdbrm "^=> 0x$loop:[[:space:]]+incw"
	gdb_expect gdbrm "^cs +0x700 "
	gdb_expect gdbrm "^cs_base +0x7000"
fi
# ---- 4. two CPUs: each a gdb thread ----
# The APIC test kernel with -smp 2 starts its AP by INIT-SIPI-SIPI: a
# breakpoint on kmain stops thread 1 (the AP still waits for its SIPI),
# one on ap_main stops thread 2 with the AP's own stack; the BSP's EIP
# (thread 1) stays put while thread 2 steps and the other way round; a
# watchpoint on ap_alive stops in thread 2, which writes it; the kernel
# then runs to its ACPI power-off (status 0) with every check passed.
# Bad thread ids get E22 (maint packet sends them as they are).
. "$here/apic_kernel.sh"
if apic_kernel "$tmp"; then
	nm "$tmp/apic.elf" | awk '{ print $3, $1 }' >"$tmp/apic.sym"
	sym() { awk -v n="$1" '$1 == n { print $2 }' "$tmp/apic.sym" | sed 's/^0*//'; }
	ap_main=$(sym ap_main)
	ap_insn3=$(objdump -d --start-address=0x$ap_main "$tmp/apic.elf" | awk '/^ +[0-9a-f]+:/ { sub(":", "", $1); print $1 }' | sed -n 3p)
	start_vm smp -smp 2 --deterministic --kernel "$tmp/apic.elf"
	timeout 60 gdb -batch -nx -ex "set pagination off" -ex "target remote 127.0.0.1:$port" \
		-ex "maint packet qfThreadInfo" -ex "maint packet T03" -ex "maint packet Hg3" -ex "maint packet T02" \
		-ex "break kmain" -ex "continue" -ex "info threads" -ex "break ap_main" -ex "continue" \
		-ex "info threads" -ex "info registers esp" -ex "echo @ap\n" -ex "info registers eip" \
		-ex "thread 1" -ex "echo @bsp\n" -ex "info registers eip" \
		-ex "thread 2" -ex "stepi" -ex "stepi" -ex "echo @ap-stepped\n" -ex "info registers eip" \
		-ex "thread 1" -ex "echo @bsp-held\n" -ex "info registers eip" -ex "stepi" -ex "stepi" \
		-ex "thread 2" -ex "echo @ap-held\n" -ex "info registers eip" \
		-ex "delete" -ex "watch *(unsigned *)0x$(sym ap_alive)" -ex "continue" -ex "delete" -ex "continue" \
		"$tmp/apic.elf" >"$tmp/smp.gdb" 2>&1
	finish_vm smp 0
	grep -q '^all checks passed' "$tmp/smp.out" || { echo "FAIL smp: the kernel's checks: $(grep FAIL "$tmp/smp.out")"; bad=1; }
	gdb_expect smp 'received: "m01,02"'
	gdb_expect smp 'received: "E22"'
	gdb_expect smp 'received: "OK"'
	gdb_expect smp "^Thread 1 hit Breakpoint 1, 0x[0-9a-f]+ in kmain"
	gdb_expect smp "^  2 +Thread 2 \(CPU#1 \[waiting for SIPI\]\)"
	gdb_expect smp "^Thread 2 hit Breakpoint 2, 0x0*$ap_main in ap_main"
	gdb_expect smp "^\* 2 +Thread 2 \(CPU#1 \[running\]\) +0x0*$ap_main in ap_main"
	gdb_expect smp "^  1 +Thread 1 \(CPU#0 \[running\]\)"
	gdb_expect smp "^esp +0x[0-9a-f]+ +0x[0-9a-f]+ <ap_stacks\+4092>"
	gdb_expect smp "^Thread 2 hit Hardware watchpoint 3"
	gdb_expect smp "^New value = 2"
	gdb_expect smp "exited normally"
	# the EIPs after each @label: the AP's at ap_main, then two
	# instructions on; the BSP's the same before and after the AP's
	# steps, the AP's the same before and after the BSP's. (The second
	# step of each is the one that shows it: gdb steps off a breakpoint
	# with vCont;s:N alone, then steps with vCont;s:N;c, and the CPU that
	# ran last is the stepped one, so the other would be next in turn.)
	eips=$(awk '/^@/ { l = $1 } /^eip / && l { print l "=" $2; l = "" }' "$tmp/smp.gdb" | tr '\n' ' ')
	set -- $(echo "$eips" | sed 's/@[a-z-]*=0x//g')
	if [ $# -ne 5 ] || [ "$1" != "$ap_main" ] || [ "$3" != "$ap_insn3" ] || [ "$2" != "$4" ] || [ "$3" != "$5" ] ||
		[ "$2" = "$1" ]; then
		echo "FAIL smp: EIPs $eips: want @ap=0x$ap_main, @ap-stepped=0x$ap_insn3, @bsp = @bsp-held, @ap-stepped = @ap-held"
		bad=1
	else
		echo "ok   smp (gdb): $eips"
	fi
else
	cat "$tmp/cc.err"
	echo "FAIL: cannot build the APIC test kernel"
	bad=1
fi

[ $bad -eq 0 ] || { echo "--- gdb output:"; cat "$tmp"/*.gdb 2>/dev/null | tail -60; }
exit $bad
