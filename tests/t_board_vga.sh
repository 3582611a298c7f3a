#!/bin/sh
# VGA text mode seen from a guest: a multiboot kernel writes characters
# and attributes to 0xB8000, moves the cursor and the start address
# through the CRT controller, reads registers back, and stops; the test
# checks --screendump's text (code page 437 as UTF-8, trailing spaces
# dropped) at exit and on SIGUSR1 while the guest runs, and --display text
# drawing ANSI on a terminal (tests/on_tty.py gives it one).
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
engine=${RINGVM_ENGINE:-bt}
[ -x "$bin" ] || { echo "t_board_vga: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

. tests/mbkernel.sh

# Writes "Hello, VGA" at row 0, a box corner (CP437 0xC9) and "ok" at
# row 2 column 4 in yellow on blue, then a line at row 30 of the memory
# that only shows once the start address moves 6 rows down; the cursor
# goes to row 3 column 7. CRTC 0x0E must read back. Exit status through
# debug-exit: 0x10 = all register checks passed.
kernel vga <<'EOF2'
	mov $0xb8000, %edi
	mov $msg, %esi
1:	lodsb
	test %al, %al
	jz 2f
	mov $0x07, %ah
	stosw
	jmp 1b
2:	movw $0x1ec9, 0xb8000 + (2 * 80 + 4) * 2
	movw $0x1e6f, 0xb8000 + (2 * 80 + 5) * 2
	movw $0x1e6b, 0xb8000 + (2 * 80 + 6) * 2
	movw $0x0741, 0xb8000 + (30 * 80) * 2	/* 'A' at row 30 */
	mov $0x3d4, %dx
	mov $0x0e, %al
	out %al, %dx
	inc %dx
	mov $((3 * 80 + 7) >> 8), %al
	out %al, %dx
	dec %dx
	mov $0x0f, %al
	out %al, %dx
	inc %dx
	mov $((3 * 80 + 7) & 0xff), %al
	out %al, %dx
	dec %dx
	mov $0x0e, %al
	out %al, %dx
	inc %dx
	in %dx, %al
	mov $0x20, %bl			/* failure code */
	cmp $((3 * 80 + 7) >> 8), %al
	jne out
	cmpl $0x1e6b1e6f, 0xb8000 + (2 * 80 + 5) * 2	/* memory reads back */
	jne out
	mov $0x10, %bl
	cmpl $0, mode
	je out
	/* Second mode (--append scroll): start address 6 rows down, then
	 * wait (for SIGUSR1's dump) */
	mov $0x3d4, %dx
	mov $0x0c, %al
	out %al, %dx
	inc %dx
	mov $((6 * 80) >> 8), %al
	out %al, %dx
	dec %dx
	mov $0x0d, %al
	out %al, %dx
	inc %dx
	mov $((6 * 80) & 0xff), %al
	out %al, %dx
3:	jmp 3b
out:	mov %bl, %al
	out %al, $0xf4
	cli
	hlt
msg:	.asciz "Hello, VGA"
mode:	.long 0
EOF2
# The same kernel with mode = 1: patch the last word of the image.
python3 - "$tmp/vga.elf" "$tmp/vga2.elf" <<'PY' || { echo "skip: no python3"; exit 77; }
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"Hello, VGA\0")
assert i > 0
b[i + 11:i + 15] = (1).to_bytes(4, "little")
open(sys.argv[2], "wb").write(b)
PY

printf 'Hello, VGA\n\n    \342\225\224ok\n' >"$tmp/want"
for i in $(seq 22); do echo; done >>"$tmp/want"
timeout 20 "$bin" --accel "$engine" --kernel "$tmp/vga.elf" --screendump "$tmp/screen.txt" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 33 ] || fail "vga kernel: exit status $rc, want 33 (register checks passed): $(cat "$tmp/err")"
cmp -s "$tmp/want" "$tmp/screen.txt" || { fail "screendump differs:"; diff "$tmp/want" "$tmp/screen.txt" | head -20; }

# SIGUSR1 while the guest runs, after it moved the start address: row 30
# of the memory is row 24 of the screen.
"$bin" --accel "$engine" --kernel "$tmp/vga2.elf" --screendump "$tmp/s2.txt" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1
kill -USR1 $pid
n=0
while [ ! -s "$tmp/s2.txt" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
kill $pid
wait $pid
pid=
[ "$(sed -n 25p "$tmp/s2.txt")" = "A" ] || fail "SIGUSR1 screendump: row 25 is '$(sed -n 25p "$tmp/s2.txt")', want A"
[ "$(sed -n 1p "$tmp/s2.txt")" = "" ] || fail "SIGUSR1 screendump: row 1 should be empty after the scroll"

# --display text on a terminal: ANSI positioning, yellow (93) on blue (44).
python3 tests/on_tty.py "$tmp/tty.txt" timeout 20 "$bin" --accel "$engine" --kernel "$tmp/vga.elf" --display text
rc=$?
[ $rc -eq 33 ] || fail "--display text on a terminal: exit status $rc, want 33"
grep -q "$(printf '\033\\[H')" "$tmp/tty.txt" || fail "--display text: no cursor-home escape on the terminal"
grep -q "$(printf '\033\\[0;93;44m')" "$tmp/tty.txt" || fail "--display text: no yellow-on-blue attribute"
grep -q "Hello, VGA" "$tmp/tty.txt" || fail "--display text: the text is not drawn"
grep -q "$(printf '\033\\[4;8H')" "$tmp/tty.txt" || fail "--display text: cursor not at row 4 column 8"
timeout 20 "$bin" --accel "$engine" --kernel "$tmp/vga.elf" --display text </dev/null >"$tmp/out" 2>&1
grep -q "$(printf '\033')" "$tmp/out" && fail "--display text drew on a non-terminal"
"$bin" --display colour >/dev/null 2>&1 && fail "--display colour accepted"
[ $fails -eq 0 ] || exit 1
echo "ok: screendump, SIGUSR1 dump, --display text"
