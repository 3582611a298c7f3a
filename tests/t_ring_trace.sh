#!/bin/sh
# The ring-transition trace (--trace-rings, docs/debugging.md) of the
# embedded guest's tour, on the engine under test:
# - the trace holds the transitions the tour narrates (tests/t_guest_tour.sh
#   checks the narration): the call gates 0x73 (ring 3 -> 2) and the ring 1
#   driver's, each fault with its vector and error code and the ring it
#   came from, INT 0x80 and its IRET back to ring 3, RETF to an outer ring,
#   timer interrupts through the IDT, SYSENTER/SYSEXIT if the CPU has them;
# - the conformance checks' trace holds V86 entry (IRET) and exit (a fault
#   to ring 0) and task switches (task gate, TSS, IRET back); a tiny kernel
#   that clears and sets CR0.PE gives two "mode" records;
# - every record is well formed and "from" meets the "to" of the record
#   before it when nothing else can change the ring in between;
# - scripts/ringvm-trace's summary adds up (the time per ring sums to the
#   whole span, the transitions per kind to the records) and its SVG
#   renders to PNG with librsvg's rsvg-convert;
# - two CPUs (the APIC test kernel with -smp 2): records from both, each
#   CPU's own start and end, the AP's real -> protected mode switch after
#   its STARTUP IPI and the IPIs it takes, the BSP's PIT interrupts; one
#   instruction count for the machine; the summary per CPU adds up and the
#   SVG has lanes per CPU; a one-CPU trace has no "cpu" field;
# - bad input: an unwritable trace file and a malformed trace end with a
#   message and status 1.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_ring_trace: no $bin"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
here=$(dirname "$0")
tool="$here/../scripts/ringvm-trace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0

timeout 60 "$bin" --accel "$engine" --trace-rings "$tmp/tour.jsonl" </dev/null >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	echo "t_ring_trace: the traced tour ended with status $rc"
	tail -5 "$tmp/out"
	exit 1
fi
sysenter=0
grep -q 'SYSENTER/SYSEXIT present' "$tmp/out" && sysenter=1

python3 - "$tmp/tour.jsonl" "$sysenter" <<'PY' || bad=1
import json, sys
path, sysenter = sys.argv[1], sys.argv[2] == "1"
recs = [json.loads(l) for l in open(path)]
fails = []
def check(what, pred):
    if not any(pred(r) for r in recs):
        fails.append(what)
exc = lambda v, e, cpl: (lambda r: r["kind"] == "exception" and r.get("vector") == v
                         and r.get("error") == e and r["from_cpl"] == cpl and r["to_cpl"] == 0)
check("call gate 0x73 from ring 3 to ring 2", lambda r: r["kind"] == "call_gate" and r["gate_sel"] == 0x73
      and r["from_cpl"] == 3 and r["to_cpl"] == 2 and r["gate"] == "call_gate")
check("a call gate into ring 1 (the driver)", lambda r: r["kind"] == "call_gate" and r["to_cpl"] == 1)
check("ring 2's IN -> #GP(0)", exc(13, 0, 2))
check("gate DPL 2 from ring 3 -> #GP(0x78)", exc(13, 0x78, 3))
check("CLI/HLT in ring 3 -> #GP(0)", exc(13, 0, 3))
check("supervisor page read -> #PF(5)", exc(14, 5, 3))
check("supervisor page write -> #PF(7)", exc(14, 7, 3))
check("DS = kernel data -> #GP(0x10)", exc(13, 0x10, 3))
check("INT 0x82 (DPL 0) -> #GP(0x412)", exc(13, 0x412, 3))
check("INT 0x80 from ring 3 through an interrupt gate", lambda r: r["kind"] == "int" and r["vector"] == 0x80
      and r["from_cpl"] == 3 and r["to_cpl"] == 0 and r["gate"] == "interrupt_gate" and r["gate_sel"] == 0x400)
check("IRET from ring 0 to ring 3", lambda r: r["kind"] == "iret" and r["from_cpl"] == 0 and r["to_cpl"] == 3)
check("RETF from ring 2 back to ring 3", lambda r: r["kind"] == "retf" and r["from_cpl"] == 2 and r["to_cpl"] == 3)
check("timer interrupt (IRQ 0, vector 0x20) in ring 3",
      lambda r: r["kind"] == "interrupt" and r["vector"] == 0x20 and r["from_cpl"] == 3)
if sysenter:
    check("SYSENTER ring 3 -> 0 at CS 0x8", lambda r: r["kind"] == "sysenter" and r["from_cpl"] == 3
          and r["to_cpl"] == 0 and r["to_cs"] == 8)
    check("SYSEXIT ring 0 -> 3 at CS 0x1b", lambda r: r["kind"] == "sysexit" and r["to_cpl"] == 3 and r["to_cs"] == 0x1b)
if recs[0]["kind"] != "start" or recs[-1]["kind"] != "end" or recs[-1]["records"] != len(recs):
    fails.append("start and end records (end counts the lines)")
for a, b in zip(recs, recs[1:]):
    if b["icount"] < a["icount"] or b["ns"] < a["ns"]:
        fails.append("time goes backwards at icount %d" % b["icount"]); break
    # Between two records nothing changes the ring: b starts where a went.
    if b["kind"] != "end" and (b["from_cpl"], b["from_mode"]) != (a["to_cpl"], a["to_mode"]):
        fails.append("record at icount %d starts in ring %d, the one before went to ring %d"
                     % (b["icount"], b["from_cpl"], a["to_cpl"])); break
for f in fails:
    print("t_ring_trace: missing or wrong:", f)
sys.exit(1 if fails else 0)
PY

# The conformance checks (ringvm --append conformance) go through V86 mode
# and hardware task switches; a tiny kernel clears and sets CR0.PE.
timeout 60 "$bin" --accel "$engine" --append conformance --trace-rings "$tmp/conf.jsonl" </dev/null >"$tmp/conf.out" 2>&1
. "$here/mbkernel.sh"
kernel pe <<'EOF2'
	cli
	mov %cr0, %eax
	and $0xfffffffe, %eax
	mov %eax, %cr0		/* to real mode (the CS cache stays 32-bit) */
	nop
	or $1, %eax
	mov %eax, %cr0		/* back to protected mode */
	mov $0x21, %al
	out %al, $0xf4		/* debug-exit: status 0x43 */
EOF2
timeout 30 "$bin" --accel "$engine" --kernel "$tmp/pe.elf" --trace-rings "$tmp/pe.jsonl" </dev/null >"$tmp/pe.out" 2>&1
[ $? -eq 67 ] || { echo "t_ring_trace: the PE kernel did not exit through port 0xf4"; bad=1; }
python3 - "$tmp/conf.jsonl" "$tmp/pe.jsonl" <<'PY' || bad=1
import json, sys
conf = [json.loads(l) for l in open(sys.argv[1])]
pe = [json.loads(l) for l in open(sys.argv[2])]
fails = []
def check(recs, what, pred):
    if not any(pred(r) for r in recs):
        fails.append(what)
check(conf, "IRET into V86 mode", lambda r: r["kind"] == "iret" and r["from_mode"] == "prot" and r["to_mode"] == "v86"
      and r["to_cpl"] == 3)
check(conf, "an exception leaving V86 mode for ring 0", lambda r: r["kind"] == "exception" and r["from_mode"] == "v86"
      and r["to_mode"] == "prot" and r["to_cpl"] == 0)
check(conf, "an exception through a task gate (TSS named)", lambda r: r["kind"] == "exception"
      and r.get("gate") == "task_gate" and r.get("tss", 0) != 0)
check(conf, "JMP/CALL to a TSS", lambda r: r["kind"] == "task_switch" and r.get("gate") == "tss" and r.get("tss", 0) != 0)
check(conf, "IRET back to the previous task", lambda r: r["kind"] == "task_switch" and "gate" not in r and r.get("tss", 0) != 0)
modes = [(r["from_mode"], r["to_mode"]) for r in pe if r["kind"] == "mode"]
if modes != [("prot", "real"), ("real", "prot")]:
    fails.append("CR0.PE cleared then set: mode records %s" % modes)
for f in fails:
    print("t_ring_trace: missing:", f)
sys.exit(1 if fails else 0)
PY

# The picture and the summary.
if ! python3 "$tool" "$tmp/tour.jsonl" -o "$tmp/tour.svg" --json "$tmp/sum.json" >"$tmp/summary.txt"; then
	echo "t_ring_trace: ringvm-trace failed"
	bad=1
fi
cat "$tmp/summary.txt"
python3 - "$tmp/tour.jsonl" "$tmp/sum.json" <<'PY' || bad=1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
span = recs[-1]["icount"] - recs[0]["icount"]
ok = True
if s["total"] != span or sum(s["time"].values()) != span:
    print("t_ring_trace: time per ring sums to %d, total %d, trace spans %d" % (sum(s["time"].values()), s["total"], span)); ok = False
if sum(s["transitions"].values()) != len(recs) - 2:
    print("t_ring_trace: %d transitions counted, %d in the trace" % (sum(s["transitions"].values()), len(recs) - 2)); ok = False
for ring in ("ring 0", "ring 1", "ring 2", "ring 3"):
    if s["time"].get(ring, 0) <= 0:
        print("t_ring_trace: no time in", ring); ok = False
sys.exit(0 if ok else 1)
PY
# A part of it: the summary of [lo, hi) covers exactly hi - lo.
lo=$(sed -n '10p' "$tmp/tour.jsonl" | sed 's/^{"icount":\([0-9]*\).*/\1/')
hi=$((lo + 50000))
python3 "$tool" "$tmp/tour.jsonl" --range "$lo:$hi" --json "$tmp/part.json" >/dev/null &&
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(not (s["total"] == 50000 == sum(s["time"].values())))' "$tmp/part.json" ||
	{ echo "t_ring_trace: --range $lo:$hi does not add up to 50000 instructions"; bad=1; }
if command -v rsvg-convert >/dev/null; then
	if ! rsvg-convert "$tmp/tour.svg" -o "$tmp/tour.png" || ! [ -s "$tmp/tour.png" ] ||
		[ "$(head -c 8 "$tmp/tour.png" | od -An -tx1 | tr -d ' \n')" != 89504e470d0a1a0a ]; then
		echo "t_ring_trace: rsvg-convert did not render the SVG to a PNG"
		bad=1
	fi
else
	echo "t_ring_trace: no rsvg-convert (Debian's librsvg2-bin, scripts/deps.sh installs it)"
	bad=1
fi

# Two CPUs.
grep -q '"cpu"' "$tmp/tour.jsonl" && { echo "t_ring_trace: a one-CPU trace names its CPU"; bad=1; }
. "$here/apic_kernel.sh"
if apic_kernel "$tmp"; then
	timeout 60 "$bin" --accel "$engine" -smp 2 --deterministic --kernel "$tmp/apic.elf" --trace-rings "$tmp/smp.jsonl" \
		</dev/null >"$tmp/smp.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q '^all checks passed' "$tmp/smp.out" ||
		{ echo "t_ring_trace: -smp 2: status $rc, $(grep -E 'FAIL|ringvm:' "$tmp/smp.out" | head -3)"; bad=1; }
	python3 "$tool" "$tmp/smp.jsonl" -o "$tmp/smp.svg" --json "$tmp/smp.json" >"$tmp/smp.txt" ||
		{ echo "t_ring_trace: ringvm-trace failed on the -smp 2 trace"; bad=1; }
	python3 - "$tmp/smp.jsonl" "$tmp/smp.json" "$tmp/smp.svg" <<'PY' || bad=1
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
svg = open(sys.argv[3]).read()
fails = []
per = {}
for r in recs:
    per.setdefault(r.get("cpu"), []).append(r)
if sorted(per, key=str) != [0, 1]:
    fails.append("records of CPUs 0 and 1 (got %s)" % sorted(per, key=str))
for c, lst in per.items():
    if lst[0]["kind"] != "start" or lst[-1]["kind"] != "end" or sum(r["kind"] in ("start", "end") for r in lst) != 2:
        fails.append("CPU %s: one start record first, one end record last" % c)
    for a, b in zip(lst, lst[1:]):
        if b["kind"] != "end" and (b["from_cpl"], b["from_mode"]) != (a["to_cpl"], a["to_mode"]):
            fails.append("CPU %s: record at icount %d starts where the one before did not go" % (c, b["icount"])); break
ap, bsp = per.get(1, []), per.get(0, [])
if not any(r["kind"] == "mode" and r["from_mode"] == "real" and r["to_mode"] == "prot" and r["from_cs"] == 0x800 for r in ap):
    fails.append("the AP's switch to protected mode in its trampoline (CS 0x800)")
if not any(r["kind"] == "interrupt" and r.get("vector") == 0x50 for r in ap):
    fails.append("the IPIs (vector 0x50) the AP takes")
if not any(r["kind"] == "interrupt" and r.get("vector") == 0x30 for r in bsp):
    fails.append("the BSP's PIT interrupts (vector 0x30)")
if any(b["icount"] < a["icount"] for a, b in zip(recs, recs[1:])):
    fails.append("one instruction count for the machine: it never goes backwards")
if recs[-1]["records"] != len(recs):
    fails.append("the last end record counts the lines")
span = recs[-1]["icount"] - recs[0]["icount"]
if sorted(s.get("cpus", {})) != ["0", "1"] or any(e["total"] != span or sum(e["time"].values()) != span for e in s["cpus"].values()):
    fails.append("the summary of each CPU spans the trace")
if s["total"] != 2 * span or sum(s["transitions"].values()) != len(recs) - 4:
    fails.append("the summary over both CPUs: total %d, %d transitions" % (s["total"], sum(s["transitions"].values())))
if "cpu0 ring 0" not in svg or "cpu1 real" not in svg:
    fails.append("the SVG's lanes per CPU")
for f in fails:
    print("t_ring_trace: -smp 2: missing or wrong:", f)
sys.exit(1 if fails else 0)
PY
else
	cat "$tmp/cc.err"
	echo "t_ring_trace: cannot build the APIC test kernel"
	bad=1
fi

# Bad input: clear messages, status 1, no traceback.
"$bin" --accel "$engine" --trace-rings /nonexistent/dir/t.jsonl </dev/null >"$tmp/o" 2>&1
if [ $? -ne 1 ] || ! grep -q "trace-rings '/nonexistent/dir/t.jsonl'" "$tmp/o"; then
	echo "t_ring_trace: an unwritable trace file should fail with a message"; cat "$tmp/o"; bad=1
fi
head -3 "$tmp/tour.jsonl" >"$tmp/broken.jsonl"
echo '{"icount": 5, "kind":' >>"$tmp/broken.jsonl"
python3 "$tool" "$tmp/broken.jsonl" >"$tmp/o" 2>&1
if [ $? -ne 1 ] || ! grep -q "broken.jsonl:4: not a JSON object" "$tmp/o" || grep -q Traceback "$tmp/o"; then
	echo "t_ring_trace: a malformed trace should fail with its line number"; cat "$tmp/o"; bad=1
fi
exit $bad
