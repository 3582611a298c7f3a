# Sourced by the virtio tests (t_virtio_blk, t_virtio_net): boots the
# Debian guest of tests/linux_guest.sh with virtio devices and a script
# for its /init to run (ringvm.script=, scripts/guest-init/init). Callers
# set BUILD and source tests/linux_guest.sh first. Provides:
#
#   vg_script FILE          turn FILE (a shell script) into a raw disk
#                           image: NUL-padded to 64 KiB
#   vg_start LOG APPEND ARGS...
#                           start ringvm in the background on the engine
#                           under test with the guest, the kernel command
#                           line plus APPEND, and ARGS; console to LOG;
#                           sets vg_pid
#   vg_wait LOG REGEX SECS  wait until the console shows REGEX (0), or
#                           ringvm exits or SECS pass (1)
#   vg_end SECS             wait for ringvm to exit (SIGKILL after SECS);
#                           sets vg_status
#   vg_irqs FILE TYPE NAME  the interrupts counted, on every CPU, on the
#                           lines of /proc/interrupts that the guest printed
#                           as "RINGVM-T irq ..." in FILE with chip TYPE
#                           (PCI-MSI, IO-APIC) and an action matching NAME
engine=${RINGVM_ENGINE:-bt}

vg_script() {
	truncate -s 64K "$1"
}

vg_start() {
	vg_log=$1 vg_append=$2
	shift 2
	: >"$vg_log"
	echo "booting: $ringvm --accel $engine -m 256 --no-reboot --kernel $dir/vmlinuz --initrd $dir/initrd.gz --append \"$(cat "$dir/cmdline.txt") $vg_append\" $*"
	"$ringvm" --accel "$engine" -m 256 --no-reboot --kernel "$dir/vmlinuz" --initrd "$dir/initrd.gz" \
		--append "$(cat "$dir/cmdline.txt") $vg_append" "$@" </dev/null >"$vg_log" 2>&1 &
	vg_pid=$!
}

vg_wait() {
	vg_t=0
	while [ $vg_t -lt "$3" ]; do
		tr -d '\r' <"$1" | grep -aq -- "$2" && return 0
		kill -0 $vg_pid 2>/dev/null || { tr -d '\r' <"$1" | grep -aq -- "$2"; return; }
		sleep 1
		vg_t=$((vg_t + 1))
	done
	return 1
}

vg_end() {
	vg_t=0
	while kill -0 $vg_pid 2>/dev/null && [ $vg_t -lt "$1" ]; do
		sleep 1
		vg_t=$((vg_t + 1))
	done
	kill -9 $vg_pid 2>/dev/null
	wait $vg_pid
	vg_status=$?
}

vg_irqs() {
	grep -a "^RINGVM-T irq [0-9]*:.* $2 .* $3" "$1" |
		awk '{ for (i = 4; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }'
}
