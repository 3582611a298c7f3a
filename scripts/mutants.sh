#!/bin/sh
# Mutation check of the test suite (`make mutants`; not part of `make test`).
#
# Each mutation is a small deliberate bug, keyed on a piece of stable code
# text. For each one this script puts the bug into a scratch copy of the
# tree (never the tree itself), rebuilds what changed, and runs the tests
# listed as the ones that must catch it. It reports, per mutation, which of
# them failed (CAUGHT) and which passed (MISSED); a mutation no test catches
# is SURVIVED. Exit status 0 only when every listed test caught its
# mutation. docs/testing.md lists the mutations and why each test catches it.
#
#   scripts/mutants.sh [NAME...]    only the named mutations
#   scripts/mutants.sh --list
#
# The scratch copy starts from the tree's build directory ($BUILD, default
# build) when there is one, so only what a mutation touches is rebuilt.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
jobs=${MUTANTS_JOBS:-2}

# mutation NAME FILE OLD NEW TEST...: replace the one occurrence of OLD in
# FILE with NEW. A TEST is a C test (test_*: $BUILD/test/bin/NAME) or a
# shell test (t_*: tests/NAME.sh); TEST@ENGINE runs it with
# RINGVM_ENGINE=ENGINE (the translator's mutations are bt's to catch).
names=""
mutation() {
	n=$1
	names="$names $n"
	eval "m_file_$n=\$2 m_old_$n=\$3 m_new_$n=\$4"
	shift 4
	eval "m_tests_$n=\"\$*\""
}

# ---- the audit's three mutations (issue 17) ----
mutation adc16_carry src/cpu/flags.h 'ALU_DEFINE_BIN(adc, "adc")' 'ALU_DEFINE_BIN(adc_ok, "adc")
static inline uint32_t alu_adc(struct cpu *cpu, int size, uint32_t a, uint32_t b)
{
	uint32_t r = alu_adc_ok(cpu, size, a, b);
	if (size == 2)
		cpu->eflags ^= FL_CF; /* mutation: 16-bit ADC carry flipped */
	return r;
}' \
	test_diff t_guest_alu
mutation cli_cpl3_iopl0 src/cpu/ops_flags.c '} else if (cpu->cpl > iopl) {' \
	'} else if (cpu->cpl > iopl && !(cpu->cpl == 3 && iopl == 0)) {' \
	test_ops_prot t_guest_conformance t_guest_tour
mutation pit_out_early src/dev/pit8254.c 'return (d % n) != n - 1;' 'return (d % n) != n - 2;' \
	test_dev_pit t_guest_conformance

# ---- the translator (issue 10): bt's own tests must catch its bugs ----
# Flag liveness that forgets SETcc/CMOVcc read the flags: only sequences
# show it (test_diff runs one instruction per block, whose entry flags are
# in the host's anyway). A dropped block left chained: SMC across blocks.
mutation bt_setcc_reads_no_flags src/engine/bt/ident.c '	case K_SETCC:
	case K_CMOVCC:
		f->read = F_ALL;' '	case K_SETCC:
	case K_CMOVCC:
		f->read = 0;' \
	test_blocks@bt
mutation bt_dropped_block_stays_chained src/engine/bt/bt.c '		bt_unchain(bt, code);' '		(void)code;' \
	test_engine_smc@bt

# ---- domains (docs/domains.md) ----
# A page the migration marked clean keeps its TLB write entry, so later
# writes to it escape the dirty-page log.
mutation migrate_keeps_write_entries src/machine/migrate.c '	tlb_unwrite_all(&pc->cpu);
	m->round++;' '	m->round++;' \
	t_qmp
# A device's timer is not re-armed on load.
mutation snap_timer_not_rearmed src/machine/snap.c '	if (armed && !r->bad)
		timer_mod(c, t, deadline);' '	if (armed && r->bad)
		timer_mod(c, t, deadline);' \
	t_snapshot

# ---- one per item of issue 17 ----
# 1: --accel interp silently runs another engine (kvm, which cannot run
# the guest here): the guest tests name their engine, so they see it.
mutation accel_not_pinned src/cli/main.c 'if (!strcmp(accel, "interp"))
			return &interp_engine_ops;' 'if (!strcmp(accel, "interp"))
			return kvm ? kvm : &interp_engine_ops;' \
	t_guest_conformance t_guest_bench
# 2: CPUID stops reporting PSE: the 4 MiB page checks skip themselves.
mutation cpuid_no_pse src/cpu/msr.c '#define CPUID_EDX_FEATURES (FEAT_DE | FEAT_PSE | ' \
	'#define CPUID_EDX_FEATURES (FEAT_DE | ' \
	t_guest_conformance
# 3: #PF loses the U/S bit of its error code (vector, EIP, CR2 unchanged).
mutation pf_err_no_user src/cpu/mem.c 'uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0);' \
	'uint32_t err = (write ? PF_W : 0);' \
	test_diff
# 3: the differential test stops making operands that cross into the
# guard page: its coverage check must notice the #PF cases it lost.
mutation diff_no_page_cross tests/test_diff.c 'if (!fsmode && f->kind != K_BTREG && chance(8)) {' \
	'if (!fsmode && f->kind != K_BTREG && chance(0)) {' \
	test_diff
# 4: CLI/STI at CPL > IOPL raise #GP with a wrong error code.
mutation iopl_gp_errcode src/cpu/ops_flags.c '} else if (cpu->cpl > iopl) {
		raise_gp(cpu, 0);' '} else if (cpu->cpl > iopl) {
		raise_gp(cpu, 0x18);' \
	test_ops_prot t_guest_conformance
# 5: SMSW r32 loads CR0 from the register instead of storing it.
mutation smsw_writes_cr0 src/cpu/ops_system.c \
	'op_write(cpu, in, 0, in->op[0].kind == OPK_REG ? cpu->cr0 : (cpu->cr0 & 0xffff));' \
	'if (in->op[0].kind == OPK_REG)
		cpu->cr0 = op_read(cpu, in, 0);
	op_write(cpu, in, 0, in->op[0].kind == OPK_REG ? cpu->cr0 : (cpu->cr0 & 0xffff));' \
	test_system_regs
# 5: a task switch loads CR3 but keeps the old task's translations.
mutation task_cr3_no_flush src/cpu/task.c '		cpu->cr3 = ncr3;
		tlb_flush_all(cpu, 1);' '		cpu->cr3 = ncr3;' \
	test_protect_task
# 5: the TLB caches reads of global pages only (others walk the tables).
mutation tlb_global_only src/cpu/mem.c 'e->tag_r = readable ? lpage : TLB_INVALID;' \
	'e->tag_r = readable && w.global ? lpage : TLB_INVALID;' \
	test_paging
# 5: the PIT makes an extra IRQ0 edge every half period.
mutation pit_extra_edge src/dev/pit8254.c 'return (d / n + 1) * n;' 'return (2 * d / n + 1) * n / 2;' \
	t_guest_conformance
# 5: the Linux guest's expected results are empty (no file edit: see below).
mutation linux_expected_empty guest-linux/expected.txt '' '' t_linux_boot
# 5: the kvm engine fails on every port I/O exit ("ringvm: kvm: unexpected
# exit"): the probe says protected and real mode work here, so no skip.
mutation kvm_io_broken src/engine/kvm.c '		case KVM_EXIT_IO:
			do_io(cpu, run);' '		case KVM_EXIT_IO + 1000:
			do_io(cpu, run);' \
	t_cli_kvm_io t_kvm_realmode

# ---- containment (docs/sandbox.md) ----
# The last RAM byte's neighbour counts as RAM: the host reads past guest RAM.
mutation ram_end_off_by_one src/cpu/mem.c '	if (pa < m->ram_size) {' '	if (pa <= m->ram_size) {' \
	test_mem_bounds
# A REP element through the bus costs no more than one in RAM again.
mutation rep_bus_cheap src/cpu/ops_string.c 'budget = budget > STR_SLOW_COST ? budget - STR_SLOW_COST : 0;' \
	'budget--;' \
	test_mem_bounds
# The sandbox lets the monitor open files.
mutation sandbox_allows_open src/machine/sandbox.c 'SCMP_SYS(exit), SCMP_SYS(exit_group),' \
	'SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(openat),' \
	test_sandbox
# The CLI no longer enters the sandbox.
mutation sandbox_not_entered src/cli/main.c '	if (!o->no_sandbox) {' '	if (0) {' \
	t_sandbox

if [ "${1:-}" = --list ]; then
	for n in $names; do eval "echo \"$n: \$m_file_$n; caught by \$m_tests_$n\""; done
	exit 0
fi
want=${*:-$names}
for n in $want; do
	case " $names " in *" $n "*) ;; *) echo "mutants: no mutation '$n' (see --list)"; exit 2 ;; esac
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-mutants.XXXXXX") || exit 2
trap 'rm -rf "$scratch"' EXIT INT TERM
echo "mutants: scratch copy in $scratch"
for d in Makefile src tests guest scripts bench; do
	[ -e "$root/$d" ] && cp -a "$root/$d" "$scratch/"
done
[ -d "$root/$BUILD" ] && cp -a "$root/$BUILD" "$scratch/$BUILD"
# The Linux guest: links to the real one (read only), so a mutation of its
# expected.txt stays in the scratch copy.
mkdir -p "$scratch/guest-linux"
for f in vmlinuz initrd.gz cmdline.txt expected.txt; do
	if [ -f "$root/guest-linux/$f" ]; then cp "$root/guest-linux/$f" "$scratch/guest-linux/$f"; else echo x >"$scratch/guest-linux/$f"; fi
done
touch "$scratch/guest-linux/"*
cd "$scratch" || exit 2

# apply FILE OLD NEW: exactly one occurrence of OLD becomes NEW.
apply() {
	OLD=$2 NEW=$3 perl -0777 -i -pe '
		BEGIN { $o = $ENV{OLD}; $n = $ENV{NEW}; }
		$c = () = /\Q$o\E/g;
		if ($c != 1) { print STDERR "found $c times\n"; exit 3; }
		s/\Q$o\E/$n/;' "$1"
}

test_target() {
	case ${1%@*} in
	test_*) echo "$BUILD/test/bin/${1%@*}" ;;
	t_kvm_* | t_cli_kvm_*) echo "$BUILD/test/kvm-probe" ;;
	*) ;;
	esac
}

run_test() {
	rt_name=${1%@*}
	case $1 in *@*) RINGVM_ENGINE=${1#*@} ;; *) RINGVM_ENGINE=interp ;; esac
	export RINGVM_ENGINE
	case $rt_name in
	test_*) timeout 600 "$BUILD/test/bin/$rt_name" ;;
	*) BUILD=$BUILD timeout 600 sh "tests/$rt_name.sh" ;;
	esac
}

bad=0
summary=""
for n in $want; do
	eval "file=\$m_file_$n old=\$m_old_$n new=\$m_new_$n tests=\$m_tests_$n"
	cp "$file" "$scratch/.orig" || { echo "BROKEN $n: no $file"; bad=1; continue; }
	if [ "$n" = linux_expected_empty ]; then
		: >"$file"
	elif ! apply "$file" "$old" "$new" 2>"$scratch/.apply.err"; then
		echo "BROKEN $n: the code text in $file $(cat "$scratch/.apply.err")"
		cp "$scratch/.orig" "$file"
		bad=1
		summary="$summary
BROKEN   $n"
		continue
	fi
	targets="$BUILD/ringvm $BUILD/ringvm-asan"
	for t in $tests; do targets="$targets $(test_target "$t")"; done
	if ! make -j"$jobs" $targets >"$scratch/.build.log" 2>&1; then
		echo "BROKEN $n: the mutant does not build:"
		grep -E 'error' "$scratch/.build.log" | head -5
		bad=1
		summary="$summary
BROKEN   $n"
	else
		caught="" missed=""
		for t in $tests; do
			run_test "$t" >"$scratch/.out.$t" 2>&1
			rc=$?
			if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
				caught="$caught $t"
				# why it failed: its first complaint
				grep -m 2 -E '^FAIL|FAIL [0-9]|check failed|MISMATCH|coverage:|^t_[a-z_]+: ' "$scratch/.out.$t" | cut -c1-160 | sed "s/^/    $t: /"
			else
				missed="$missed $t(rc=$rc)"
				tail -3 "$scratch/.out.$t" | sed 's/^/    /'
			fi
		done
		if [ -z "$caught" ]; then
			status=SURVIVED
			bad=1
		elif [ -n "$missed" ]; then
			status=MISSED
			bad=1
		else
			status=CAUGHT
		fi
		line="$(printf '%-8s %-22s failed:%s' "$status" "$n" "${caught:- none}")${missed:+; passed:$missed}"
		echo "$line"
		summary="$summary
$line"
	fi
	# back to the original text, with a new mtime so make rebuilds it
	cp "$scratch/.orig" "$file"
done
echo "---- mutants:$summary"
[ $bad -eq 0 ] && echo "every mutation was caught by every test listed for it"
exit $bad
