#!/usr/bin/env python3
"""ringvm's benchmark suite: each ringvm engine side by side with QEMU-TCG.

Run by `make bench` (bench/run.sh gets QEMU, python3 and the Linux guest
first). docs/bench.md says what is measured and how to read the table.

  1. which engines can run here (interp; bt once `--accel bt` works; kvm
     only where its probe says this host's KVM runs the guest);
  2. the embedded guest's nanobenchmarks (`--append bench`) under each
     engine and under QEMU-TCG, alternating, several runs;
  3. guest instructions per second on CPU-bound loops ($BUILD/bench/ips);
  4. the Debian Linux guest booted under each engine and QEMU-TCG,
     alternating: the host time stamps the console's marker lines as they
     arrive; boot to /init and each workload, median over runs; every run
     must print the results of guest-linux/expected.txt;
  5. the same workloads run natively by the same i386 busybox binary;
  6. one table, with ringvm/QEMU ratios, and a nonzero exit on any
     mismatch or failed run.

Only the Python 3 standard library is used.
"""
import argparse
import datetime
import glob
import os
import platform
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ENGINES = ("interp", "bt", "kvm")
WORKLOADS = ("md5zero", "gzip", "forkexec", "awk")
RAM_MIB = 256
MARK = re.compile(r"RINGVM-(INIT|BEGIN|END|DONE)\b(.*)")
NANO_ROW = re.compile(r"^(\S+)\s+(-?\d+)\s{2,}(\S.*)$")

failures = []  # every failed check, printed loudly at the end


def fail(msg):
    failures.append(msg)
    print("bench: FAIL: " + msg, file=sys.stderr, flush=True)


def note(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- processes

class Mem:
    """Samples /proc/PID/smaps while a process runs. The guest RAM is the
    one mapping exactly as large as the guest's RAM: ringvm's memfd
    (MAP_SHARED), QEMU's anonymous block. Its Rss counts only the pages
    the guest has touched. Keeps the peaks of that (guest) and of the rest
    of the process's resident memory (beyond = all mappings' Rss - guest)."""

    def __init__(self, pid, ram_kib):
        self.pid = pid
        self.ram_kib = ram_kib
        self.guest = 0
        self.beyond = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def sample(self):
        total = guest = 0
        size = 0
        try:
            with open("/proc/%d/smaps" % self.pid) as f:
                for line in f:
                    if line.startswith("Size:"):
                        size = int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss = int(line.split()[1])
                        total += rss
                        if size == self.ram_kib:
                            guest += rss
        except (OSError, ValueError, IndexError):
            return
        if total:
            self.guest = max(self.guest, guest)
            self.beyond = max(self.beyond, total - guest)

    def loop(self):
        while not self.stop.wait(0.25):
            self.sample()

    def done(self):
        self.stop.set()
        self.thread.join()


def read_lines(p, fd, t0, timeout, stall):
    """Reads p's output to its end, time-stamping each line on arrival;
    kills p after timeout seconds, or stall seconds without output."""
    lines, buf, why = [], b"", None
    last = t0
    while True:
        r, _, _ = select.select([fd], [], [], 1.0)
        now = time.monotonic()
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            last = now
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                lines.append((now - t0, line.decode("latin-1").replace("\r", "")))
        if now - t0 > timeout:
            why = "no exit within %d s" % timeout
        elif now - last > stall:
            why = "no console output for %d s" % stall
        if why:
            p.kill()
            break
    return lines, buf, why


def run_console(argv, timeout, stall, env=None, cwd=None):
    """Runs argv with stdout on a pipe and time-stamps each line as it
    arrives. Returns dict: lines [(t, text)], t_exit, status, maxrss_kib,
    mem (Mem), stderr, why (a reason it was killed, or None)."""
    errf = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf,
                         env=env, cwd=cwd)
    mem = Mem(p.pid, RAM_MIB * 1024)
    fd = p.stdout.fileno()
    try:
        lines, buf, why = read_lines(p, fd, t0, timeout, stall)
    except BaseException:
        p.kill()  # Ctrl-C or a bug: leave no VMM behind
        raise
    if buf:
        lines.append((time.monotonic() - t0, buf.decode("latin-1").replace("\r", "")))
    _, status, ru = os.wait4(p.pid, 0)
    t_exit = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    mem.done()
    p.stdout.close()
    errf.seek(0)
    err = errf.read().decode("latin-1")
    errf.close()
    return {"lines": lines, "t_exit": t_exit, "status": p.returncode, "maxrss_kib": ru.ru_maxrss,
            "mem": mem, "stderr": err, "why": why}


def markers(lines):
    """The marker lines: [(t, kind, rest)]; a marker may follow other bytes
    on its line (QEMU's terminal escapes, a kernel message)."""
    out = []
    for t, text in lines:
        m = MARK.search(text)
        if m:
            out.append((t, m.group(1), m.group(2).strip()))
    return out


def workload_times(lines, expected):
    """From one console: boot (t of RINGVM-INIT), per workload the time
    from its BEGIN to its END line, and whether its result matched."""
    res = {"boot": None, "done": None, "wl": {}, "results": {}}
    begin = {}
    for t, kind, rest in markers(lines):
        if kind == "INIT" and res["boot"] is None:
            res["boot"] = t
        elif kind == "BEGIN":
            begin[rest.split()[0]] = t
        elif kind == "END":
            name = rest.split()[0]
            res["results"][name] = "RINGVM-END " + rest
            if name in begin:
                res["wl"][name] = t - begin[name]
        elif kind == "DONE":
            res["done"] = t
    bad = []
    for name, want in expected.items():
        got = res["results"].get(name)
        if got != want:
            bad.append("%s: expected '%s', got '%s'" % (name, want, got or "nothing"))
    res["bad"] = bad
    return res


# ---------------------------------------------------------------- the parts

def git_rev():
    """The commit, and which files of the measured code (src/, guest/)
    differed from it: the tree is shared with work in progress.
    BENCH_REV overrides it (a run from `git archive` output has no .git)."""
    if os.environ.get("BENCH_REV"):
        return os.environ["BENCH_REV"]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "guest"],
                               capture_output=True, text=True, timeout=30).stdout.split("\n")
        dirty = [l[3:] for l in dirty if l.strip()]
        if dirty:
            return "%s + uncommitted changes in %s" % (rev, ", ".join(dirty))
        return rev
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    osname = "unknown"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "%s, %d cores, %s, Linux %s" % (model, os.cpu_count() or 0, osname, platform.release())


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
        return out.splitlines()[0].strip() if out else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def nano_parse(text):
    rows = {}
    started = False
    for line in text.replace("\r", "").splitlines():
        if "cycles/op" in line and line.split()[0] == "name":
            started = True
            continue
        if not started:
            continue
        m = NANO_ROW.match(line.strip())
        if m:
            rows[m.group(1)] = (int(m.group(2)), m.group(3).strip())
        elif line.strip():
            break
    return rows


def run_nano(argv, timeout=120):
    """Runs the embedded guest's nanobenchmarks: (rows or None, stderr,
    why it failed or None)."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "no exit within %d s" % timeout
    out = p.stdout.decode("latin-1")
    err = p.stderr.decode("latin-1")
    if "bench done" not in out:
        last = [l for l in (err + out).replace("\r", "").splitlines() if l.strip()]
        return None, err, "status %d: %s" % (p.returncode, last[-1] if last else "no output")
    return nano_parse(out), err, None


def probe_engines(ringvm, want):
    """Which engines to benchmark: {engine: None (run it) or reason}."""
    state = {}
    for e in ENGINES:
        if e not in want:
            state[e] = "not requested (BENCH_ENGINES)"
            continue
        rows, err, why = run_nano([ringvm, "--accel", e, "--append", "bench"], timeout=120)
        if e == "kvm":
            # The DESIGN: where /dev/kvm is emulated in software, never
            # benchmark it. ringvm warns when its probe says this host's
            # KVM cannot run the guest (and then tries anyway).
            m = re.search(r"warning: --accel kvm: (.*)", err or "")
            if m:
                state[e] = "not benchmarked on this host (%s)" % m.group(1).strip()
                continue
        if rows is None:
            if "not implemented" in err:
                state[e] = "not implemented"
            else:
                # "ringvm: --accel kvm: REASON; use --accel interp" -> REASON
                lines = [l for l in err.splitlines() if l.strip()]
                m = re.search(r"--accel %s: (.*?)(; use --accel \w+)?$" % e, lines[-1]) if lines else None
                state[e] = "not benchmarked on this host (%s)" % (m.group(1) if m else why)
            continue
        state[e] = None
    return state


def native_setup(linux, work):
    """The guest's busybox, unpacked from the same .deb, applet links in
    a bin directory; returns (bin dir, workloads.sh)."""
    debs = sorted(glob.glob(os.path.join(linux, "debs", "busybox-static_*.deb")))
    if not debs:
        return None, "no busybox-static .deb in %s/debs" % linux
    root = os.path.abspath(os.path.join(work, "native"))
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    subprocess.run(["dpkg-deb", "-x", debs[-1], os.path.join(root, "deb")], check=True)
    bb = os.path.join(root, "deb", "bin", "busybox")
    bindir = os.path.join(root, "bin")
    os.makedirs(bindir)
    applets = subprocess.run([bb, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        os.symlink(bb, os.path.join(bindir, a))
    return bindir, os.path.abspath(os.path.join("scripts", "guest-init", "workloads.sh"))


# ---------------------------------------------------------------- formatting

def fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return "%.*f" % (digits, x)


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r):
    return "—" if r is None else ("%.2fx" % r if r < 10 else "%.1fx" % r)


def table(head, rows, left=(0,)):
    """A Markdown table that also reads well in a terminal; columns in
    left are left-aligned, the others (numbers) right-aligned."""
    w = [len(h) for h in head]
    for r in rows:
        for i, c in enumerate(r):
            w[i] = max(w[i], len(c))
    def line(cells):
        return "| " + " | ".join(c.ljust(w[i]) if i in left else c.rjust(w[i]) for i, c in enumerate(cells)) + " |"
    out = [line(head), "|" + "|".join(("-" * (w[i] + 1) + ("-" if i in left else ":")) for i in range(len(w))) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--guest-elf", default=None)
    ap.add_argument("--linux", default="guest-linux")
    ap.add_argument("--qemu", default="qemu-system-i386")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--command", default=None, help="how this run was started, for the record")
    a = ap.parse_args()
    runs = max(1, a.runs)
    ringvm = os.path.join(a.build, "ringvm")
    ips = os.path.join(a.build, "bench", "ips")
    tschz = os.path.join(a.build, "bench", "tschz")
    ipsguest = os.path.join(a.build, "bench", "ipsguest.elf")
    elf = a.guest_elf or os.path.join(a.build, "guest", "ringos.elf")
    work = os.path.join(a.build, "bench")
    os.makedirs(work, exist_ok=True)
    timeout = int(os.environ.get("BENCH_TIMEOUT", "900"))
    stall = int(os.environ.get("BENCH_STALL", "180"))
    want = os.environ.get("BENCH_ENGINES", " ".join(ENGINES)).split()
    parts = os.environ.get("BENCH_PARTS", "nano ips linux native virtio").split()
    for f in (ringvm, ips, tschz, elf, ipsguest):
        if not os.path.exists(f):
            print("bench: %s is missing (run through `make bench`)" % f, file=sys.stderr)
            return 1

    cmdline = open(os.path.join(a.linux, "cmdline.txt")).read().strip()
    expected = {}
    for line in open(os.path.join(a.linux, "expected.txt")):
        line = line.strip()
        if line.startswith("RINGVM-END "):
            expected[line.split()[1]] = line
    kpkg = open(os.path.join(a.linux, "kernel-package.txt")).read().strip() \
        if os.path.exists(os.path.join(a.linux, "kernel-package.txt")) else "unknown"

    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = loadavg()
    qver = tool_version([a.qemu, "--version"])
    tsc_hz = float(subprocess.run([tschz], capture_output=True, text=True, check=True).stdout)
    note("host TSC %.0f MHz; %s; load %s" % (tsc_hz / 1e6, qver, load0))

    # 1. engines
    state = probe_engines(ringvm, want)
    engines = [e for e in ENGINES if state[e] is None]
    for e in ENGINES:
        note("%s: %s" % (e, "benchmarked" if state[e] is None else state[e]))
    if "interp" in want and "interp" not in engines:
        fail("the interp engine could not run the embedded guest: %s" % state["interp"])

    # 2. nanobenchmarks, alternating
    qemu_nano = [a.qemu, "-accel", "tcg", "-m", str(RAM_MIB), "-kernel", elf, "-append", "bench",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-nographic", "-no-reboot"]
    nano = {k: [] for k in engines + ["qemu"]}
    # Each run is under a second, and short ops are noisy (QEMU's first
    # translation of a loop lands in its 2000 iterations): 3x the runs.
    nano_runs = 3 * runs
    for r in range(nano_runs if "nano" in parts else 0):
        for k in engines + ["qemu"]:
            argv = qemu_nano if k == "qemu" else [ringvm, "--accel", k, "--append", "bench"]
            rows, _, why = run_nano(argv)
            if rows is None:
                fail("nanobench %s run %d: %s" % (k, r + 1, why))
            else:
                nano[k].append(rows)
    note("nanobenchmarks done")

    # 3. instructions per second
    ips_res, ips_count = {}, {}
    for e in engines:
        vals = {}
        for r in range(runs if "ips" in parts else 0):
            p = subprocess.run([ips, e], capture_output=True, text=True)
            if p.returncode:
                fail("ips %s: %s" % (e, (p.stderr or p.stdout).strip()))
                break
            for line in p.stdout.splitlines():
                f = line.split()
                if len(f) >= 8 and f[0] == e:
                    vals.setdefault(f[1], []).append(float(f[6]))
                    if e == "interp":
                        ips_count[f[1]] = int(f[2])
        ips_res[e] = {k: median(v) for k, v in vals.items()}
    if "ips" in parts and not ips_count:
        # the instruction counts come from interp, benchmarked or not
        p = subprocess.run([ips, "interp"], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 8 and f[0] == "interp":
                ips_count[f[1]] = int(f[2])

    # 3b. the same loops as a multiboot guest, so QEMU runs them too. A
    # first, uncounted run of each VMM sets how many times each loop runs
    # between its markers, so that the shortest lasts about 2 s (a loop
    # under 1 s once is repeated).
    def ips_vm(k, rep):
        argv = [ringvm, "--accel", k, "--kernel", ipsguest, "--append", str(rep)] if k != "qemu" else \
            [a.qemu, "-accel", "tcg", "-m", str(RAM_MIB), "-kernel", ipsguest, "-append", str(rep),
             "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-nographic", "-no-reboot"]
        res = run_console(argv, 600, 120)
        t = {}
        for ts, text in res["lines"]:
            m = re.search(r"IPS-(BEGIN|END) (\w+)", text)
            if m:
                t[(m.group(1), m.group(2))] = ts
        return {loop: t[("END", loop)] - t[("BEGIN", loop)] for loop in ips_count
                if ("BEGIN", loop) in t and ("END", loop) in t}
    ipsvm = {k: {} for k in engines + ["qemu"]}
    ips_rep = {}
    if "ips" in parts:
        for k in engines + ["qemu"]:
            d = ips_vm(k, 1)
            ips_rep[k] = max(1, round(2.0 / min(d.values()))) if d and min(d.values()) < 1.0 else 1
    for r in range(runs if "ips" in parts else 0):
        for k in engines + ["qemu"]:
            d = ips_vm(k, ips_rep[k])
            for loop, n in ips_count.items():
                if loop in d and d[loop] > 0:
                    ipsvm[k].setdefault(loop, []).append(n * ips_rep[k] / d[loop] / 1e6)
                else:
                    fail("ips guest %s run %d: no IPS-BEGIN/END %s lines" % (k, r + 1, loop))
    note("instructions per second done")

    # 4. Linux guest, alternating engine, QEMU, engine, QEMU..., and after
    # each round the same workloads natively (the same busybox, the same
    # script, on the host), 3 times as a native run takes under a second.
    # BENCH_SMP=N: both VMMs give the guest N CPUs. ringvm runs them in
    # turn on one thread; QEMU's TCG picks multi-threaded TCG for an i386
    # guest on an x86-64 host (a thread per CPU): docs/bench.md says so.
    smp = ["-smp", os.environ["BENCH_SMP"]] if os.environ.get("BENCH_SMP") else []
    linux_argv = {
        e: [ringvm, "--accel", e, "-m", str(RAM_MIB)] + ([] if e == "kvm" else smp) + ["--no-reboot", "--kernel",
            os.path.join(a.linux, "vmlinuz"), "--initrd", os.path.join(a.linux, "initrd.gz"),
            "--append", cmdline] for e in engines}
    linux_argv["qemu"] = [a.qemu, "-accel", "tcg", "-m", str(RAM_MIB)] + smp + ["-kernel",
                          os.path.join(a.linux, "vmlinuz"), "-initrd", os.path.join(a.linux, "initrd.gz"),
                          "-append", cmdline, "-nographic", "-no-reboot"]
    linux = {k: [] for k in engines + ["qemu"]}
    native = []
    native_runs = 3 * runs if "native" in parts else 0
    bindir = None
    if native_runs:
        bindir, wlsh = native_setup(a.linux, work)
        if bindir is None:
            fail("native: " + wlsh)
    tmp = tempfile.mkdtemp(prefix="ringvm-bench-", dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else work)
    try:
        for r in range(runs):
            for k in engines + ["qemu"] if "linux" in parts else []:
                res = run_console(linux_argv[k], timeout, stall)
                with open(os.path.join(work, "linux-%s-%d.log" % (k, r + 1)), "w") as logf:
                    logf.write("\n".join("%9.3f %s" % (t, s) for t, s in res["lines"]) + "\n")
                    logf.write(res["stderr"])
                wt = workload_times(res["lines"], expected)
                wt.update(res)
                linux[k].append(wt)
                note("%s run %d/%d: %.1f s, boot %s s, exit %d" % (
                    k, r + 1, runs, res["t_exit"], fmt(wt["boot"], 1), res["status"]))
                if res["why"]:
                    fail("linux %s run %d killed: %s" % (k, r + 1, res["why"]))
                elif res["status"] != 0:
                    fail("linux %s run %d: exit status %d (expected 0 after poweroff -f)" % (k, r + 1, res["status"]))
                for b in wt["bad"]:
                    fail("linux %s run %d: %s" % (k, r + 1, b))
            for i in range(3 if bindir else 0):
                env = {"PATH": bindir, "WL_BIN": bindir, "TMPDIR": tmp}
                res = run_console([os.path.join(bindir, "sh"), "-c", '. "$1"; wl_run_all', "sh", wlsh], 600, 120,
                                  env=env)
                wt = workload_times(res["lines"], expected)
                native.append(wt)
                for b in wt["bad"]:
                    fail("native run %d: %s" % (len(native), b))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    note("Linux guest and native done")

    # 5b. virtio disk and network: bench/virtio_io.sh, on the fastest
    # software engine, prints its own table (one run of each VMM: each
    # takes a minute or more)
    virtio_table = []
    if "virtio" in parts:
        veng = "bt" if "bt" in engines else "interp"
        env = dict(os.environ, BUILD=a.build, LINUX_GUEST_DIR=a.linux, ENGINE=veng, BENCH_QEMU=a.qemu,
                   BENCH_TIMEOUT=str(timeout))
        note("virtio: bench/virtio_io.sh on %s and QEMU-TCG" % veng)
        p = subprocess.run(["sh", "bench/virtio_io.sh"], capture_output=True, text=True, env=env)
        virtio_table = p.stdout.rstrip("\n").split("\n") + [""]
        if p.returncode:
            fail("virtio: bench/virtio_io.sh exited with %d: %s" % (p.returncode, p.stderr.strip()[-300:]))

    # 6. the table
    load1 = loadavg()
    cols = engines + ["qemu"]
    name = {e: e for e in engines}
    name["qemu"] = "QEMU-TCG"
    out = []
    out.append("ringvm benchmarks, %s" % started.strftime("%Y-%m-%d %H:%M UTC"))
    out.append("")
    out.append("- command: `%s`; ringvm %s" % (a.command or " ".join(sys.argv), git_rev()))
    out.append("- machine: %s; load average %s at start, %s at end" % (host_info(), load0, load1))
    out.append("- peer: %s, `-accel tcg`; host TSC %.0f MHz" % (qver, tsc_hz / 1e6))
    out.append("- guest: %s, busybox initramfs, `-m %d%s`, command line `%s`" % (
        kpkg, RAM_MIB, " -smp " + os.environ["BENCH_SMP"] if os.environ.get("BENCH_SMP") else "", cmdline))
    out.append("- %d runs of each, alternating %s; medians; times are host wall-clock seconds" %
               (runs, ", ".join(name[c] for c in cols)))
    out.append("")
    for e in ENGINES:
        if state[e] is not None:
            out.append("%s: %s" % (e, state[e]))
    out.append("")

    # Linux table
    out.append("### Linux guest: host seconds, median of %d (native: of %d)" % (runs, 3 * runs))
    out.append("")
    head = ["phase"] + [name[c] for c in cols] + ["native"] + \
        ["%s/QEMU" % e for e in engines] + ["%s/native" % c for c in engines] + ["QEMU/native"]
    rows = []
    phases = [("boot to /init", "boot")] + [(w, w) for w in WORKLOADS] + \
        [("4 workloads", "sum"), ("start to exit", "exit")]
    def val(run, key):
        if key == "boot":
            return run["boot"]
        if key == "exit":
            return run.get("t_exit")
        if key == "sum":
            ws = [run["wl"].get(w) for w in WORKLOADS]
            return None if None in ws else sum(ws)
        return run["wl"].get(key)
    for label, key in phases:
        m = {c: median([val(r, key) for r in linux[c]]) for c in cols}
        nat = None if key in ("boot", "exit") else median([val(r, key) for r in native])
        row = [label] + [fmt(m[c]) for c in cols] + [fmt(nat, 3) if nat is not None else "—"]
        row += [fmt_ratio(ratio(m[e], m["qemu"])) for e in engines]
        row += [fmt_ratio(ratio(m[e], nat)) for e in engines]
        row += [fmt_ratio(ratio(m["qemu"], nat))]
        rows.append(row)
    out.append(table(head, rows))
    out.append("")
    ok_runs = {c: sum(1 for r in linux[c] if not r["bad"] and r["status"] == 0 and not r["why"]) for c in cols}
    if "linux" in parts:
        out.append("Per run, in order (s), to judge the noise:")
        out.append("")
        for c in cols:
            out.append("- %s: boot %s; 4 workloads %s" % (
                name[c], " ".join(fmt(val(r, "boot"), 1) for r in linux[c]),
                " ".join(fmt(val(r, "sum"), 1) for r in linux[c])))
        out.append("")
    if "linux" in parts or "native" in parts:
        out.append("Results: " + "; ".join("%s %d/%d runs equal expected.txt" % (name[c], ok_runs[c], runs) for c in cols)
                   + "; native %d/%d." % (sum(1 for r in native if not r["bad"]), native_runs))
    out.append("")

    # memory
    out.append("### Memory (Linux guest, `-m %d`): MiB, median of %d" % (RAM_MIB, runs))
    out.append("")
    head = ["measure"] + [name[c] for c in cols]
    mib = lambda kib: None if kib is None else kib / 1024.0
    rows = [
        ["peak RSS (ru_maxrss)"] + [fmt(mib(median([r["maxrss_kib"] for r in linux[c]])), 1) for c in cols],
        ["ru_maxrss − guest RAM size"] +
        [fmt(mib(median([r["maxrss_kib"] - RAM_MIB * 1024 for r in linux[c]])), 1) for c in cols],
        ["guest RAM resident (peak)"] + [fmt(mib(median([r["mem"].guest for r in linux[c]])), 1) for c in cols],
        ["beyond guest RAM (peak RSS of the rest)"] +
        [fmt(mib(median([r["mem"].beyond for r in linux[c]])), 1) for c in cols],
    ]
    out.append(table(head, rows))
    out.append("")

    # nanobenchmarks
    out.append("### Embedded guest nanobenchmarks (`--append bench`): ns per operation, median of %d" % nano_runs)
    out.append("")
    names = []
    for c in cols:
        for rows_ in nano[c]:
            for n in rows_:
                if n not in names:
                    names.append(n)
    what = {}
    for c in cols:
        for rows_ in nano[c]:
            for n, (_, w) in rows_.items():
                what.setdefault(n, w)
    # ringvm's TSC counts nanoseconds; QEMU-TCG's is the host's TSC.
    scale = {c: 1.0 for c in engines}
    scale["qemu"] = 1e9 / tsc_hz
    head = ["op"] + [name[c] for c in cols] + ["%s/QEMU" % e for e in engines] + ["what"]
    rows = []
    for n in names:
        m = {c: median([rr[n][0] * scale[c] for rr in nano[c] if n in rr]) for c in cols}
        rows.append([n] + [fmt(m[c], 0) for c in cols] + [fmt_ratio(ratio(m[e], m["qemu"])) for e in engines]
                    + [what.get(n, "")])
    out.append(table(head, rows, left=(0, len(head) - 1)))
    out.append("")

    # ips
    out.append("### Guest instructions per second, CPU-bound loops: millions, median of %d" % runs)
    out.append("")
    loops = list(ips_count)
    head = ["loop", "instructions"] + ["%s (engine alone)" % e for e in engines] + \
        ["%s (VM)" % name[c] for c in cols] + ["%s/QEMU" % e for e in engines]
    rows = []
    for k in loops:
        vm = {c: median(ipsvm[c].get(k, [])) for c in cols}
        # a ratio of times, as in the other tables: QEMU's rate / ringvm's
        rows.append([k, "%d" % ips_count[k]] + [fmt(ips_res.get(e, {}).get(k), 1) for e in engines] +
                    [fmt(vm[c], 1) for c in cols] + [fmt_ratio(ratio(vm["qemu"], vm[e])) for e in engines])
    out.append(table(head, rows))
    out.append("")
    if ips_rep:
        out.append("VM: bench/ipsguest.S under each VMM, each loop run %s between its markers (a loop "
                   "under 1 s is repeated to last about 2 s); engine alone: bench/ips." %
                   ", ".join("%d× by %s" % (ips_rep[c], name[c]) for c in cols))
        out.append("")

    out += virtio_table

    if failures:
        out.append("FAILED checks (%d):" % len(failures))
        out += ["- " + f for f in failures]
    else:
        out.append("All checks passed: every run printed the expected results.")
    text = "\n".join(out)
    print(text)
    with open(os.path.join(work, "table.md"), "w") as f:
        f.write(text + "\n")
    note("table also in %s; console logs in %s/linux-*.log" % (os.path.join(work, "table.md"), work))
    if failures:
        print("\nbench: FAILED: %d check(s) failed (above)" % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
