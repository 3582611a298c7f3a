#!/bin/sh
# test_mem_bounds under kvm (docs/sandbox.md, the memory invariant): the
# flat part (RAM end, 4 GiB wrap, holes, ROM, REP across the end) run by
# the host's processor, MMIO exits to the same bus. Needs 32-bit protected
# mode of the host's KVM; skips (77) naming the probe result otherwise.
BUILD=${BUILD:-build}
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
. tests/kvm_probe.sh
kvm_need protected
RINGVM_ENGINE=kvm "$BUILD/test/bin/test_mem_bounds"
