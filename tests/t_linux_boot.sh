#!/bin/sh
# Boots Debian's stock i686 Linux 6.1 with the busybox initramfs of
# scripts/linux-guest.sh on the engine under test ($RINGVM_ENGINE, default
# interp), and requires every workload
# result (RINGVM-END lines) to equal the host's (expected.txt, which must
# hold one result per workload of scripts/guest-init/workloads.sh) and
# ringvm to exit 0 after the guest's `poweroff -f` (ACPI S5). The kernel
# log (with apic=verbose added to the command line) must show the board's
# APIC side: the ACPI tables, the IOAPIC, the timer through IOAPIC pin 2,
# the local APIC timer calibrated and in use, the PM timer, interrupts
# through the IOAPIC, and the power-off through ACPI. Builds the guest
# when missing; skips when its packages cannot be downloaded.
#
# Limits: see tests/linux_guest.sh (progress, not speed).
#
# The guest runs on the instruction-count clock (--deterministic): Linux
# measures its timers against each other at boot (the PM timer against
# PIT channel 2, the APIC timer against the PM timer, the TSC against
# both) over windows of ~50 ms of host time, and a host that deschedules
# ringvm inside such a window makes the rates disagree, as it would under
# any VMM on the host clock; Linux then rightly rejects the PM timer. On
# the instruction clock every device's rate is exact whatever the host's
# load, so these checks hold the devices' rates to the specification.
# The host-clock boot is t_linux_load's (five boots under load).
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp} # the engine under test (tests/harness.h)
log=$BUILD/t_linux_boot.log
. tests/linux_guest.sh
lg_prepare
# expected.txt must hold one host result per workload that /init runs
# (wl_run lines of scripts/guest-init/workloads.sh), none failed: an empty
# or partial file would make every comparison below vacuous.
workloads=$(sed -n 's/^[[:space:]]*wl_run \([a-z0-9_]*\) .*/\1/p' scripts/guest-init/workloads.sh)
[ -n "$workloads" ] || { echo "FAIL: no wl_run lines in scripts/guest-init/workloads.sh"; exit 1; }
bad_expected=
for name in $workloads; do
	n=$(grep -c "^RINGVM-END $name " "$dir/expected.txt")
	[ "$n" -eq 1 ] || bad_expected="$bad_expected $name($n lines)"
done
[ "$(grep -c . "$dir/expected.txt")" -eq "$(echo $workloads | wc -w)" ] || bad_expected="$bad_expected (other lines)"
grep -q ' FAILED' "$dir/expected.txt" && bad_expected="$bad_expected (a FAILED result)"
if [ -n "$bad_expected" ]; then
	echo "FAIL: $dir/expected.txt does not hold one result per workload:$bad_expected"
	echo "  (rebuild it: rm -r $dir; make linux-guest)"
	exit 1
fi

lg_opts=--deterministic
lg_boot "$log" "$engine" "$(cat "$dir/cmdline.txt") apic=verbose"
why=$lg_why status=$lg_status secs=$lg_secs

fail=0
grep -a '^RINGVM-\(INIT\|BEGIN\|DONE\)' "$log.txt" | sed 's/^/  guest: /'
if ! grep -aq '^RINGVM-INIT' "$log.txt"; then
	echo "FAIL: the guest's /init never ran"
	fail=1
fi
grep -a '^RINGVM-END ' "$log.txt" >"$log.results"
if ! grep -aq '^RINGVM-DONE' "$log.txt"; then
	echo "FAIL: the guest never printed RINGVM-DONE (the workloads did not all run)"
	fail=1
fi
if [ "$(wc -l <"$log.results")" -ne "$(wc -l <"$dir/expected.txt")" ]; then
	echo "FAIL: $(wc -l <"$log.results") results from the guest, $(wc -l <"$dir/expected.txt") expected"
	fail=1
fi
lg_results "$log.txt" || fail=1
# The APIC board as Linux saw it (docs/board.md, docs/boot.md).
lg_need '^\[.*\] ACPI: RSDP 0x00000000000F0800 000014 (v00 RINGVM)' "ACPI RSDP found"
lg_need '^\[.*\] ACPI: FACP 0x' "ACPI FADT"
lg_need '^\[.*\] ACPI: DSDT 0x' "ACPI DSDT"
lg_need '^\[.*\] ACPI: APIC 0x' "ACPI MADT"
lg_need '^\[.*\] ACPI: PM-Timer IO Port: 0xb008' "the PM timer from the FADT"
lg_need '^\[.*\] IOAPIC\[0\]: apic_id 1, version 17, address 0xfec00000, GSI 0-23' "the IOAPIC from the MADT"
lg_need '^\[.*\] ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)' "ISA IRQ 0 -> GSI 2 override"
lg_need '^\[.*\] ..TIMER: vector=0x30 apic1=0 pin1=2 apic2=-1 pin2=-1' "the PIT through IOAPIC pin 2 (check_timer)"
lg_need '^\[.*\] calibrating APIC timer' "the local APIC timer calibrated"
lg_need '^\[.*\] ..... host bus clock speed is \(9[0-9]\|10[0-9]\)\.' "APIC timer: the 100 MHz bus clock (within 10%)"
lg_need '^\[.*\] clocksource: acpi_pm: mask: 0xffffff' "the ACPI PM timer accepted as a clocksource"
lg_need '^\[.*\] ACPI: PM: (supports S0 S5)' "the DSDT's _S5"
lg_need '^RINGVM-CLOCKEVENT lapic$' "the tick device is the local APIC timer"
lg_need '^RINGVM-NPROC 1$' "one CPU online (nproc)"
lg_need '^RINGVM-IRQ LOC: *[1-9][0-9]* *Local timer interrupts' "local APIC timer interrupts taken"
lg_need '^RINGVM-IRQ 4: *[1-9][0-9]* *IO-APIC *4-edge *ttyS0' "the serial port's IRQ 4 through the IOAPIC"
lg_need '^\[.*\] ACPI: PM: Preparing to enter system sleep state S5' "poweroff -f enters ACPI S5"
lg_need '^\[.*\] reboot: Power down' "the kernel powered down (not reset)"
if grep -aq 'Kernel panic' "$log.txt"; then
	echo "  FAIL the kernel panicked"
	fail=1
fi
if [ -n "$why" ]; then
	echo "FAIL: killed ringvm: $why"
	fail=1
elif [ $status -ne 0 ]; then
	echo "FAIL: ringvm exited with status $status, expected 0 after poweroff -f"
	fail=1
fi
echo "ringvm ran ${secs}s, exit status $status; console log in $log"
if [ $fail -ne 0 ]; then
	echo "--- last lines of the console:"
	tail -25 "$log.txt"
	exit 1
fi
exit 0
