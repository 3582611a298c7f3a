#!/bin/sh
# The console on a terminal (a pty): raw mode while running, C-a h help,
# C-a x quits with status 0, C-a C-a and Ctrl-C reach the guest, and the
# terminal settings are restored after C-a x, a debug exit and SIGTERM.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
engine=${RINGVM_ENGINE:-interp} # the engine under test (tests/harness.h)
[ -x "$bin" ] || { echo "t_cli_console: no $bin"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3 for the pty driver"; exit 77; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. tests/mbkernel.sh
kernel spin <<'EOF2'
1:	jmp 1b
EOF2
kernel echo <<'EOF2'
	mov $0x3fd, %dx
1:	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	out %al, %dx
	mov %al, %bl
	mov $0x3fd, %dx
	cmp $'q', %bl
	jne 1b
	mov $0xf4, %dx
	mov $0x10, %al
	out %al, %dx
EOF2

exec python3 - "$bin" "$tmp" "$engine" <<'PY'
import os, pty, sys, termios, time, signal, select

binary, tmp, engine = sys.argv[1], sys.argv[2], sys.argv[3]
fails = 0

def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)

def spawn(kernel):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.dup2(slave, 0)
        os.dup2(slave, 1)
        err = os.open(os.path.join(tmp, "err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(err, 2)
        os.execv(binary, [binary, "--accel", engine, "--kernel", os.path.join(tmp, kernel)])
    return pid, master, slave, before

def read_until(master, needle, timeout=10):
    buf = b""
    end = time.time() + timeout
    while needle not in buf and time.time() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
    return buf

def wait(pid, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        p, status = os.waitpid(pid, os.WNOHANG)
        if p:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None

def raw_now(slave):
    lflag = termios.tcgetattr(slave)[3]
    return not (lflag & termios.ICANON) and not (lflag & termios.ECHO)

# C-a h, then C-a x
pid, m, s, before = spawn("spin.elf")
time.sleep(0.5)
check(raw_now(s), "terminal not in raw mode while running")
os.write(m, b"\x01h")
out = read_until(m, b"exit ringvm")
check(b"C-a x" in out, "C-a h printed no help: %r" % out)
os.write(m, b"\x01x")
rc = wait(pid)
check(rc == 0, "C-a x: exit status %r, want 0" % rc)
check(termios.tcgetattr(s) == before, "terminal settings not restored after C-a x")
os.close(m); os.close(s)

# input reaches the guest: Ctrl-C and a literal C-a are data, q ends it
pid, m, s, before = spawn("echo.elf")
time.sleep(0.3)
os.write(m, b"ab\x03\x01\x01q")
out = read_until(m, b"q")
rc = wait(pid)
check(out.endswith(b"ab\x03\x01q"), "echo through the terminal: %r" % out)
check(rc == 33, "debug exit on a terminal: status %r, want 33" % rc)
check(termios.tcgetattr(s) == before, "terminal settings not restored after debug exit")
os.close(m); os.close(s)

# C-a x still works after the guest ignored a lot of input
pid, m, s, before = spawn("spin.elf")
time.sleep(0.3)
for i in range(8):
    os.write(m, b"x" * 250)
    time.sleep(0.05)
os.write(m, b"\x01x")
rc = wait(pid)
check(rc == 0, "C-a x after ignored input: exit status %r, want 0" % rc)
os.close(m); os.close(s)

# SIGTERM
pid, m, s, before = spawn("spin.elf")
time.sleep(0.5)
os.kill(pid, signal.SIGTERM)
rc = wait(pid)
check(rc == 143, "SIGTERM: exit status %r, want 143" % rc)
check(termios.tcgetattr(s) == before, "terminal settings not restored after SIGTERM")
os.close(m); os.close(s)

print("ok" if fails == 0 else "%d failed" % fails)
sys.exit(1 if fails else 0)
PY
