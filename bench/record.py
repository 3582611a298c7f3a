#!/usr/bin/env python3
"""The cost of --record (docs/debugging.md): run once by hand, not part of
`make bench` or `make test`.

    python3 bench/record.py [--build build] [--engine bt] [--guest guest-linux]

1. Debian's Linux guest running its workloads (boot, md5sum, gzip, 200
   fork+exec, awk, power off; no input) three ways on the same engine:
   --deterministic (the clock a recording uses), --record, --replay.
   Slowdown = CPU time of the recorded run / the deterministic run's.
2. The same guest at its shell with 20 command lines typed on the console
   while recording: log bytes per guest second and per typed byte.
CPU time (user + sys of ringvm alone, from wait4) is the measure: this
machine is shared, wall time is printed for reference.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

CMDLINE = "console=ttyS0 reboot=k panic=-1 nokaslr tsc=reliable"


def run(argv, stdin=subprocess.DEVNULL, feeder=None):
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if feeder:
        threading.Thread(target=feeder, args=(p,), daemon=True).start()
    # Read both pipes without blocking each other.
    res = {}
    def drain(name, f):
        res[name] = f.read()
    ts = [threading.Thread(target=drain, args=(n, f)) for n, f in (("out", p.stdout), ("err", p.stderr))]
    for t in ts:
        t.start()
    _, status, ru = os.wait4(p.pid, 0)
    for t in ts:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": p.returncode, "cpu": ru.ru_utime + ru.ru_stime, "wall": time.monotonic() - t0,
            "out": res["out"], "err": res["err"].decode(errors="replace")}


def end_record(log):
    with open(log) as f:
        for line in f:
            if line.startswith("end "):
                _, icount, clock, *_ = line.split()
                return int(icount), int(clock)
    raise SystemExit("bench: %s has no end record" % log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--engine", default="bt")
    ap.add_argument("--guest", default="guest-linux")
    a = ap.parse_args()
    vm = os.path.join(a.build, "ringvm")
    base = [vm, "-m", "256", "--accel", a.engine, "--kernel", os.path.join(a.guest, "vmlinuz"),
            "--initrd", os.path.join(a.guest, "initrd.gz")]
    tmp = tempfile.mkdtemp()
    log = os.path.join(tmp, "wl.log")

    print("1. Linux workloads, engine %s (CPU seconds of ringvm; wall in brackets)" % a.engine)
    det = run(base + ["--append", CMDLINE, "--deterministic"])
    rec = run(base + ["--append", CMDLINE, "--record", log])
    rep = run(base + ["--append", CMDLINE, "--replay", log])
    for name, r in (("deterministic", det), ("--record", rec), ("--replay", rep)):
        print("   %-14s %7.2f s  [%6.2f s]  status %d" % (name, r["cpu"], r["wall"], r["rc"]))
        if r["rc"] != 0:
            print(r["err"][-2000:])
    icount, clock = end_record(log)
    size = os.path.getsize(log)
    print("   slowdown of the recorded run: %.3fx; replay %.3fx" % (rec["cpu"] / det["cpu"], rep["cpu"] / det["cpu"]))
    print("   log: %d bytes for %d instructions, %.2f guest seconds: %.1f bytes per guest second"
          % (size, icount, clock / 1e9, size / (clock / 1e9)))
    print("   replay verdict: " + [l for l in rep["err"].splitlines() if "replay" in l][-1])

    print("2. Linux shell, 20 typed command lines, --record")
    slog = os.path.join(tmp, "shell.log")
    lines = ["echo line %d $((%d*7)); ls /bin | wc -l" % (i, i) for i in range(19)] + ["exit"]
    typed = sum(len(l) + 1 for l in lines)
    # Typed early, the lines wait in the kernel's tty buffer for the shell.
    def typist_timed(p):
        time.sleep(45)
        for l in lines:
            try:
                p.stdin.write((l + "\n").encode())
                p.stdin.flush()
            except BrokenPipeError:
                return
            time.sleep(0.2)
    sh = run(base + ["--append", CMDLINE + " ringvm.shell", "--record", slog], stdin=subprocess.PIPE, feeder=typist_timed)
    icount, clock = end_record(slog)
    size = os.path.getsize(slog)
    inputs = sum(1 for l in open(slog) if l.startswith("in "))
    ok = b"line 18 126" in sh["out"]
    print("   status %d, commands ran: %s; %d input records for %d typed bytes" % (sh["rc"], ok, inputs, typed))
    print("   log: %d bytes, %.2f guest seconds: %.1f bytes per guest second, %.1f log bytes per typed byte"
          % (size, clock / 1e9, size / (clock / 1e9), size / typed))
    shr = run(base + ["--append", CMDLINE + " ringvm.shell", "--replay", slog])
    print("   replay: %.2f s CPU (the recording %.2f s); %s" % (shr["cpu"], sh["cpu"],
          [l for l in shr["err"].splitlines() if "replay" in l][-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
