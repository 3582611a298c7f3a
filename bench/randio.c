/* randio: random 4 KiB disk I/O inside the Linux guest, for
 * bench/virtio_io.sh (busybox has no fio, and a shell loop of dd would
 * time fork and exec rather than the disk).
 *
 *   randio r|w FILE COUNT SPAN_KIB SEED
 *
 * COUNT reads (r) or writes (w) of 4 KiB each, at offsets drawn from a
 * xorshift generator seeded with SEED, 4 KiB-aligned, below SPAN_KIB KiB
 * of FILE, opened with O_DIRECT so that every one reaches the device (no
 * page cache): each is one virtio-blk request, a notification and an
 * interrupt, done one after the other (queue depth 1). Exit status 0,
 * or 1 with a message when an argument or an I/O fails. The caller times
 * it.
 *
 * Freestanding: an i386 static ELF with its own system calls (no libc),
 * so that it builds with gcc -m32 alone and runs on any i386 kernel; it
 * reaches the guest as a raw virtio drive image. */
#define SYS_exit 1
#define SYS_write 4
#define SYS_open 5
#define SYS_pread64 180
#define SYS_pwrite64 181
#define O_RDONLY 0
#define O_RDWR 2
#define O_DIRECT 040000
#define BLOCK 4096

static long sys5(long n, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
	return r;
}

static unsigned char buf[BLOCK] __attribute__((aligned(BLOCK)));

static void die(const char *msg)
{
	long n = 0;
	while (msg[n])
		n++;
	sys5(SYS_write, 2, (long)"randio: ", 8, 0, 0);
	sys5(SYS_write, 2, (long)msg, n, 0, 0);
	sys5(SYS_write, 2, (long)"\n", 1, 0, 0);
	sys5(SYS_exit, 1, 0, 0, 0, 0);
}

static unsigned long num(const char *s)
{
	unsigned long v = 0;
	if (!*s)
		die("a number is empty");
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			die("not a number");
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v;
}

void randio_main(long *sp);
void randio_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	if (argc != 6 || (argv[1][0] != 'r' && argv[1][0] != 'w'))
		die("usage: randio r|w FILE COUNT SPAN_KIB SEED");
	int writing = argv[1][0] == 'w';
	unsigned long count = num(argv[3]), blocks = num(argv[4]) / 4;
	unsigned long x = num(argv[5]) | 1;
	if (!blocks)
		die("SPAN_KIB is under 4");
	long fd = sys5(SYS_open, (long)argv[2], (writing ? O_RDWR : O_RDONLY) | O_DIRECT, 0, 0, 0);
	if (fd < 0)
		die("cannot open FILE");
	for (unsigned long i = 0; i < BLOCK; i++)
		buf[i] = (unsigned char)(i * 7);
	for (unsigned long i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned long long off = (unsigned long long)(x % blocks) * BLOCK;
		long r = sys5(writing ? SYS_pwrite64 : SYS_pread64, fd, (long)buf, BLOCK, (long)(unsigned long)off,
			      (long)(unsigned long)(off >> 32));
		if (r != BLOCK)
			die(writing ? "a write failed" : "a read failed");
	}
	sys5(SYS_exit, 0, 0, 0, 0, 0);
}

/* The kernel starts us with argc at the stack pointer; keep the stack
 * 16-byte aligned at the call as the i386 ABI wants. */
__asm__(".globl _start\n"
	"_start:\n"
	"\txorl %ebp, %ebp\n"
	"\tmovl %esp, %eax\n"
	"\tandl $-16, %esp\n"
	"\tsubl $12, %esp\n"
	"\tpushl %eax\n"
	"\tcall randio_main\n"
	"\thlt\n");
