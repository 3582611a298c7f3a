#!/bin/sh
# A higher-half multiboot kernel as teaching kernels (xv6 and others) are
# built: C linked at 0x80100000, loaded at 0x100000 (p_paddr), entry
# point given as a physical address. It turns on paging with 4 MiB pages
# mapping both halves, jumps high, and prints the multiboot magic, a
# word of its data and of its bss, and the command line split into argv
# (argv[0] must be the kernel's path, as QEMU's -kernel and GRUB give it).
# Then the embedded guest, booted from a file named like one of its modes,
# takes its mode from the words after argv[0] only.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_boot_higher_half: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build the test kernel"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat >"$tmp/entry.S" <<'EOF2'
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002, 0, -0x1badb002
	.text
	.globl entry
entry:				/* runs at its physical address, paging off */
	mov %cr4, %ecx
	or $0x10, %ecx		/* CR4.PSE: 4 MiB pages */
	mov %ecx, %cr4
	mov $(pgdir - 0x80000000), %ecx
	mov %ecx, %cr3
	mov %cr0, %ecx
	or $0x80010000, %ecx	/* PG, WP */
	mov %ecx, %cr0
	mov $stack_top, %esp
	push %ebx
	push %eax
	mov $kmain, %ecx
	call *%ecx
	/* the physical entry point, as xv6 spells it */
	.globl _start
	_start = entry - 0x80000000
	.bss
	.align 16
	.space 4096
stack_top:
	.section .note.GNU-stack, "", @progbits
EOF2
cat >"$tmp/kmain.c" <<'EOF2'
typedef unsigned int u32;
__attribute__((aligned(4096))) u32 pgdir[1024] = {[0] = 0x83, [0x80000000u >> 22] = 0x83};
u32 data_word = 0x12345678;
u32 bss_word;
struct mbi { u32 flags, mem_lower, mem_upper, boot_device, cmdline; };
static void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static void putc_(char c) { outb(0x3f8, (unsigned char)c); }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void hex(u32 v) { for (int i = 28; i >= 0; i -= 4) putc_("0123456789abcdef"[(v >> i) & 15]); }
void kmain(u32 magic, const struct mbi *mbi)
{
	u32 eip;
	__asm__ volatile("call 1f\n1: pop %0" : "=r"(eip));
	puts_("magic "); hex(magic);
	puts_(eip >= 0x80000000u ? " high" : " low");
	puts_("\ndata "); hex(data_word); puts_(" bss "); hex(bss_word); putc_('\n');
	const char *s = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
	int argc = 0;
	for (;;) {
		while (*s == ' ') s++;
		if (!*s) break;
		puts_("argv["); putc_((char)('0' + argc)); puts_("] ");
		while (*s && *s != ' ') putc_(*s++);
		putc_('\n');
		argc++;
	}
	puts_("argc "); putc_((char)('0' + argc)); putc_('\n');
	outb(0xf4, 0x10); /* debug-exit: status 33 */
	for (;;) __asm__ volatile("cli; hlt");
}
EOF2
cat >"$tmp/kernel.ld" <<'EOF2'
ENTRY(_start)
SECTIONS {
	. = 0x80100000;
	.text : AT(0x100000) { *(.multiboot) *(.text*) }
	.rodata : { *(.rodata*) }
	.data : { *(.data*) }
	.bss : { *(.bss*) *(COMMON) }
}
EOF2
k="$tmp/hh.elf"
{ gcc -m32 -ffreestanding -fno-pic -fno-pie -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables \
	-O2 -c "$tmp/kmain.c" -o "$tmp/kmain.o" &&
	gcc -m32 -c "$tmp/entry.S" -o "$tmp/entry.o" &&
	ld -m elf_i386 -T "$tmp/kernel.ld" -o "$k" "$tmp/entry.o" "$tmp/kmain.o"; } 2>"$tmp/build.err" ||
	{ cat "$tmp/build.err"; echo "skip: cannot build the 32-bit test kernel"; exit 77; }
# The layout this test is about: entry physical, segments linked high.
if command -v readelf >/dev/null; then
	readelf -h "$k" | grep -q 'Entry point address: *0x10000c$' || fail "test kernel's entry: $(readelf -h "$k" | grep Entry)"
	readelf -l "$k" | grep -q 'LOAD.*0x80100000 0x00100000' || fail "test kernel's segments: $(readelf -l "$k" | grep LOAD)"
fi

accel=${RINGVM_ENGINE:-interp}
timeout 20 "$bin" --accel "$accel" --kernel "$k" --append "hello  world=1 -x" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
cat >"$tmp/want" <<EOF2
magic 2badb002 high
data 12345678 bss 00000000
argv[0] $k
argv[1] hello
argv[2] world=1
argv[3] -x
argc 4
EOF2
[ "$rc" = 33 ] || fail "exit status $rc, want 33; $(head -3 "$tmp/err")"
tr -d '\r' <"$tmp/out" | diff "$tmp/want" - || fail "output differs (above: - want, + got)"

# Without --append: argv[0] alone.
timeout 20 "$bin" --accel "$accel" --kernel "$k" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 33 ] && tr -d '\r' <"$tmp/out" | grep -qx "argc 1" && tr -d '\r' <"$tmp/out" | grep -qxF "argv[0] $k" ||
	fail "no --append: status $rc, output: $(cat "$tmp/out")"

# The embedded guest's mode is a word after argv[0]: its ELF saved as a
# file named "bench" and booted as "--kernel bench" (argv[0] = "bench")
# without --append runs the tour.
guest="$BUILD/guest/ringos.elf"
if [ -f "$guest" ]; then
	mkdir "$tmp/g" && cp "$guest" "$tmp/g/bench"
	abs=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	(cd "$tmp/g" && timeout 60 "$abs" --accel "$accel" --no-reboot --kernel bench </dev/null >"$tmp/out" 2>&1)
	rc=$?
	[ "$rc" = 0 ] && head -n 1 "$tmp/out" | grep -q '^ringos: a tour' ||
		fail "guest named bench, no --append: status $rc, first line: $(head -n 1 "$tmp/out")"
	timeout 60 "$bin" --accel "$accel" --no-reboot --kernel "$tmp/g/bench" --append bench </dev/null >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" = 0 ] && head -n 1 "$tmp/out" | grep -q '^ringos bench:' ||
		fail "guest --append bench: status $rc, first line: $(head -n 1 "$tmp/out")"
fi

[ "$fails" = 0 ] || exit 1
echo "t_boot_higher_half: ok ($accel)"
