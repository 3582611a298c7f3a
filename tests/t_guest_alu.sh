#!/bin/sh
# A guest-level differential test of the carry chain: the same C code (ADC,
# SBB, ADD, SUB, RCL, RCR at 8, 16 and 32 bits, CF in both states, operands
# at the carry and sign edges) runs natively in a 32-bit host process and
# as a multiboot kernel on the engine under test ($RINGVM_ENGINE, default
# interp); each folds every result and its arithmetic flags into one hash,
# and the two hashes must be equal. The unit-level counterpart, form by
# form, is test_diff; this shows the same through the whole machine (decode,
# block cache, board), where a wrong flag reaches a guest's output.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_guest_alu: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build the test kernel"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/alu.c" <<'EOF2'
typedef unsigned int u32;
static u32 hash = 2166136261u;
static void mix(u32 v) { hash = (hash ^ v) * 16777619u; }

/* CF from bit 0 of c (BT), then the instruction, then EFLAGS. */
#define OP(name, insn, cons, mod)                                                       \
	static u32 name(u32 a, u32 b, u32 c, u32 *fl)                                  \
	{                                                                               \
		__asm__ volatile("bt $0, %[c]\n\t" insn " %" mod "[b], %" mod "[a]\n\t"     \
				 "pushfl\n\tpopl %[f]"                                      \
				 : [a] "+" cons(a), [f] "=&r"(*fl)                           \
				 : [b] cons(b), [c] "r"(c)                                  \
				 : "cc");                                                   \
		return a;                                                               \
	}
OP(adcb, "adcb", "q", "b") OP(adcw, "adcw", "r", "w") OP(adcl, "adcl", "r", "k")
OP(sbbb, "sbbb", "q", "b") OP(sbbw, "sbbw", "r", "w") OP(sbbl, "sbbl", "r", "k")
OP(addw, "addw", "r", "w") OP(subw, "subw", "r", "w")

#define ROT(name, insn)                                                                 \
	static u32 name(u32 a, u32 b, u32 c, u32 *fl)                                  \
	{                                                                               \
		(void)b;                                                                \
		__asm__ volatile("bt $0, %[c]\n\t" insn " $1, %w[a]\n\tpushfl\n\tpopl %[f]" \
				 : [a] "+r"(a), [f] "=&r"(*fl) : [c] "r"(c) : "cc");        \
		return a;                                                               \
	}
ROT(rclw, "rclw") ROT(rcrw, "rcrw")

static u32 (*const ops[])(u32, u32, u32, u32 *) = {adcb, adcw, adcl, sbbb, sbbw, sbbl, addw, subw, rclw, rcrw};

u32 alu_hash(void)
{
	static const u32 v[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff,
				0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678, 0xfedcba98};
	const u32 n = sizeof(v) / sizeof(v[0]);
	for (u32 k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		for (u32 i = 0; i < n; i++)
			for (u32 j = 0; j < n; j++)
				for (u32 c = 0; c < 2; c++) {
					u32 fl, r = ops[k](v[i], v[j], c, &fl);
					mix(r);
					mix(fl & 0x8d5); /* OF SF ZF AF PF CF */
				}
	return hash;
}
EOF2
cat >"$tmp/host.c" <<'EOF2'
#include <stdio.h>
unsigned alu_hash(void);
int main(void) { printf("alu %08x\n", alu_hash()); return 0; }
EOF2
cat >"$tmp/guest.c" <<'EOF2'
unsigned alu_hash(void);
static void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static void puts_com1(const char *s) { while (*s) outb(0x3f8, (unsigned char)*s++); }
void kmain(void)
{
	static const char hex[] = "0123456789abcdef";
	char b[] = "alu 00000000\n";
	unsigned h = alu_hash();
	for (int i = 0; i < 8; i++)
		b[4 + i] = hex[(h >> (28 - 4 * i)) & 15];
	puts_com1(b);
	outb(0xf4, 0x10); /* debug-exit: status 33 */
}
EOF2
cat >"$tmp/boot.S" <<'EOF2'
	.text
	.globl _start
	.align 4
	.long 0x1badb002, 0, -0x1badb002
_start:	mov $stack_top, %esp
	call kmain
1:	hlt
	jmp 1b
	.bss
	.space 8192
stack_top:
EOF2
cflags="-m32 -O1 -fno-pie -fno-stack-protector"
if ! gcc $cflags -no-pie -o "$tmp/host" "$tmp/host.c" "$tmp/alu.c" 2>"$tmp/cc.err" ||
	! gcc $cflags -ffreestanding -nostdlib -c "$tmp/alu.c" -o "$tmp/alu.o" 2>>"$tmp/cc.err" ||
	! gcc $cflags -ffreestanding -nostdlib -c "$tmp/guest.c" -o "$tmp/guest.o" 2>>"$tmp/cc.err" ||
	! gcc -m32 -c "$tmp/boot.S" -o "$tmp/boot.o" 2>>"$tmp/cc.err" ||
	! ld -N -m elf_i386 -Ttext=0x100000 -e _start -o "$tmp/k.elf" "$tmp/boot.o" "$tmp/guest.o" "$tmp/alu.o" 2>>"$tmp/cc.err"; then
	cat "$tmp/cc.err"
	echo "skip: cannot build 32-bit programs here (gcc-multilib)"
	exit 77
fi
want=$("$tmp/host")
timeout 60 "$bin" --accel "$engine" --no-reboot --kernel "$tmp/k.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
got=$(tr -d '\r' <"$tmp/out")
echo "host:  $want"
echo "guest: $got (exit status $rc)"
[ "$rc" -eq 33 ] || { echo "FAIL: exit status $rc, want 33 (debug-exit 0x10)"; cat "$tmp/err"; exit 1; }
[ "$got" = "$want" ] || { echo "FAIL: the guest's carry chain differs from the host processor's"; exit 1; }
echo ok
