#!/bin/sh
# Command-line errors: each bad input gives status 1 (never a crash) and a
# message naming the thing that is wrong. Good --help/--version give 0.
BUILD=${BUILD:-build}
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for bin in "$BUILD/ringvm" "$BUILD/ringvm-asan"; do
	[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
	# expect STATUS PATTERN ARGS...: run with ARGS, check status and stderr
	expect() {
		want=$1 pat=$2
		shift 2
		"$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ "$rc" != "$want" ]; then
			echo "FAIL: $bin $*: status $rc, expected $want"; cat "$tmp/err"; fails=$((fails + 1))
		elif ! grep -q -- "$pat" "$tmp/err" "$tmp/out"; then
			echo "FAIL: $bin $*: no '$pat' in output:"; cat "$tmp/err"; fails=$((fails + 1))
		fi
	}

	# memory sizes
	expect 1 "invalid memory size '12X'" -m 12X
	expect 1 "invalid memory size '-5'" -m -5
	expect 1 "invalid memory size ''" -m ""
	expect 1 "invalid memory size 'lots'" --memory lots
	expect 1 "memory size '512K' is out of range" -m 512K
	expect 1 "memory size '17G' is out of range" -m 17G
	expect 1 "memory size '1' is out of range" -m 1
	expect 1 "invalid memory size '99999999999999999999999'" -m 99999999999999999999999
	expect 1 "not a multiple of 4 KiB" -m 4097K
	expect 1 "too large" -m 99999999999999G

	# -smp (QEMU's spellings; 1 to 8; kvm runs one)
	expect 1 "takes 1 to 8 CPUs" -smp 9
	expect 1 "'0' is not a count" -smp 0
	expect 1 "'abc' is not a count" -smp abc
	expect 1 "unknown key 'foo'" -smp 2,foo=1
	expect 1 "sockets \* cores \* threads = 2, not the 4" -smp cpus=4,sockets=2,cores=1
	expect 1 "maxcpus must equal cpus" -smp 2,maxcpus=4
	expect 1 "kvm engine runs one CPU" -smp 2 --accel kvm
	# (the conformance run ends by debug-exit 0: status 1)
	expect 1 "302 passed, 0 failed" -smp cpus=4,sockets=2,cores=2 --accel interp --append conformance

	# options
	expect 1 "unknown option '--bogus'" --bogus
	expect 1 "unknown option '-x'" -x
	expect 1 "needs an argument" --kernel
	expect 1 "needs an argument" -m
	expect 1 "unexpected argument 'stray'" stray
	expect 1 "unknown accelerator 'tcg'" --accel tcg
	expect 1 "unknown accelerator ''" --accel ""
	if nm "$bin" 2>/dev/null | grep -q ' [wU] bt_engine_ops'; then
		expect 1 "bt engine is not implemented yet" --accel bt
	fi
	expect 1 "needs --kernel" --initrd /dev/null
	expect 1 "--deterministic needs a software engine" --deterministic --accel kvm
	# the gdb stub (docs/gdb.md)
	expect 1 "-S (start stopped) needs a gdb stub" -S
	expect 1 "the gdb stub needs a software engine" -s --accel kvm
	expect 1 "gdb: 'tcp:localhost': expected tcp:HOST:PORT" --gdb tcp:localhost
	expect 1 "gdb: 'tcp::65536': expected" -gdb tcp::65536
	expect 1 "gdb: 'tcp::1234,server': expected" --gdb tcp::1234,server
	expect 1 "gdb: no.such.host.invalid" --gdb tcp:no.such.host.invalid:1234

	# files
	expect 1 "kernel '$tmp/none': No such file or directory" --kernel "$tmp/none"
	expect 1 "kernel '$tmp/none': No such file or directory" -kernel "$tmp/none"
	expect 1 "kernel '$tmp': not a regular file" --kernel "$tmp"
	: >"$tmp/empty"
	expect 1 "kernel '$tmp/empty': empty file" --kernel "$tmp/empty"
	printf 'hello, not a kernel' >"$tmp/junk"
	expect 1 "kernel '$tmp/junk': not a multiboot kernel or a Linux bzImage" --kernel "$tmp/junk"
	expect 1 "BIOS '$tmp/none': No such file or directory" --bios "$tmp/none"
	expect 1 "BIOS '$tmp/junk': size 19 bytes; it must be exactly 64 KiB or 128 KiB" -bios "$tmp/junk"
	head -c 65537 /dev/zero >"$tmp/big"
	expect 1 "must be exactly 64 KiB or 128 KiB" --bios "$tmp/big"
	expect 1 "debugcon '$tmp/no/such/dir': No such file or directory" --debugcon "$tmp/no/such/dir"

	# disks, boot menu, display
	expect 1 "disk image '$tmp/none': No such file or directory" -hda "$tmp/none"
	expect 1 "disk image '$tmp/empty': the image is smaller than one 512-byte sector" -drive file="$tmp/empty",if=ide
	expect 1 "-drive: unknown key 'cache'" -drive file=x,cache=none
	expect 1 "-drive: if=scsi is not supported" -drive file=x,if=scsi
	expect 1 "-drive: format=qcow2 is not supported (raw only)" -drive file=x,format=qcow2
	expect 1 "-drive: index=4: must be 0 to 3" -drive file=x,index=4
	expect 1 "-drive: no file= given" -drive if=ide
	expect 1 "media=cdrom: the IDE controller has disks only" -drive file=x,media=cdrom
	expect 1 "IDE index 0 is already" -hda x -drive file=y,index=0
	expect 1 "-boot: menu=maybe: say on or off" -boot menu=maybe
	expect 1 "-boot: splash-time=-1" -boot menu=on,splash-time=-1
	expect 1 "--display colour: choose text or none" --display colour

	# QEMU spellings are accepted (and checked the same way)
	expect 1 "invalid memory size '12X'" -no-reboot -m 12X
	expect 1 "unknown accelerator 'tcg'" -accel tcg
	expect 1 "kernel '$tmp/none'" -kernel "$tmp/none" -append "console=ttyS0" -initrd /dev/null

	# garbage never crashes: status 1, with a message, for each of these
	for junk in "" "-" "--" "=" "%s%n" "../../../../etc/passwd" "$(head -c 300 /dev/zero | tr '\0' 'A')" \
		"0" "0x10" "1e9" "4294967296" "18446744073709551615" "-1" "+5" " 64" "64 " "64Gb" "1T"; do
		for opt in -m --accel --kernel --bios --initrd -cpu; do
			"$bin" $opt "$junk" </dev/null >/dev/null 2>"$tmp/err"
			rc=$?
			if [ $rc -ne 1 ] || ! grep -q "^ringvm: " "$tmp/err"; then
				echo "FAIL: $bin $opt '$junk': status $rc"; cat "$tmp/err"; fails=$((fails + 1))
			fi
		done
	done

	# CPU models: -cpu help lists them (status 0), a bad name says so
	expect 0 "pentium4 " -cpu help
	expect 0 "pentium2 .*(default)" --cpu help
	expect 0 "pentium-m " -cpu ?
	expect 1 "unknown CPU model 'pentium5'" -cpu pentium5
	expect 1 "unknown CPU model 'Pentium4'" --cpu=Pentium4
	expect 1 "unknown CPU model ''" -cpu ""
	expect 1 "needs an argument" -cpu

	# help and version
	expect 0 "usage: ringvm" --help
	expect 0 "usage: ringvm" -h
	expect 0 "^ringvm [0-9]" --version
done
[ $fails -eq 0 ] && echo "ok"
[ $fails -eq 0 ]
