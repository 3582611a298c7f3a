/* Console backend on stdin/stdout (see console.h). */
#include "machine/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The terminal is a process-wide resource: its saved settings live here so
 * that atexit() and signal handlers can restore them. */
static struct termios saved_tio;
static int saved_fd = -1;

void console_restore_tty(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSANOW, &saved_tio);
		saved_fd = -1;
	}
}

/* Writes wait for the reader at most 100 ms at a time and in pieces a
 * pipe takes whole once it polls writable, so that a stop request (a
 * signal that came just before a write blocked) is seen in time. */
static void write_all(struct console *c, const uint8_t *p, int n)
{
	while (n > 0 && c->out_open) {
		if (c->stop && *c->stop) {
			c->out_open = false; /* stopping: drop what the reader did not take */
			return;
		}
		struct pollfd pfd = { c->out_fd, POLLOUT, 0 };
		if (!c->out_file && poll(&pfd, 1, 100) <= 0)
			continue;
		size_t chunk = (size_t)n;
		if (!c->out_file && chunk > PIPE_BUF)
			chunk = PIPE_BUF;
		ssize_t w = write(c->out_fd, p, chunk);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			c->out_open = false; /* reader gone (EPIPE) or error: drop output */
			return;
		}
		p += w;
		n -= (int)w;
	}
}

void console_open(struct console *c, int in_fd, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->in_open = in_fd >= 0 && fcntl(in_fd, F_GETFL) >= 0;
	c->out_open = out_fd >= 0;
	struct stat st;
	c->out_file = c->out_open && fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode);
	if (c->in_open && isatty(in_fd) && saved_fd < 0) {
		struct termios t;
		if (tcgetattr(in_fd, &t) == 0) {
			saved_tio = t;
			saved_fd = in_fd;
			atexit(console_restore_tty);
			/* Input raw: no canonical mode, echo, signals, flow
			 * control or CR translation. Output processing stays on so
			 * that a guest's bare "\n" still starts a new line. */
			t.c_iflag &= (tcflag_t) ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
			t.c_lflag &= (tcflag_t) ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
			t.c_cflag &= (tcflag_t) ~(CSIZE | PARENB);
			t.c_cflag |= CS8;
			t.c_cc[VMIN] = 1;
			t.c_cc[VTIME] = 0;
			tcsetattr(in_fd, TCSANOW, &t);
			c->tty = true;
		}
	}
}

void console_close(struct console *c)
{
	console_flush(c);
	if (c->tty) {
		console_restore_tty();
		c->tty = false;
	}
}

void console_flush(struct console *c)
{
	if (c->out_len) {
		write_all(c, c->out, c->out_len);
		c->out_len = 0;
	}
}

void console_putc(struct console *c, uint8_t b)
{
	if (c->out_len == CONSOLE_OUT_BUF)
		console_flush(c);
	c->out[c->out_len++] = b;
}

static void say(struct console *c, const char *s)
{
	console_flush(c);
	write_all(c, (const uint8_t *)s, (int)strlen(s));
}

/* C-a prefixed keys (only on a terminal, as QEMU's -nographic). */
static void key(struct console *c, uint8_t b)
{
	if (c->escape) {
		c->escape = false;
		switch (b) {
		case 'x':
		case 'X':
			say(c, "\r\nringvm: terminated by C-a x\r\n");
			c->quit = true;
			return;
		case 'h':
		case 'H':
		case '?':
			say(c, "\r\nC-a h    print this help\r\nC-a x    exit ringvm\r\nC-a C-a  send C-a to the guest\r\n");
			return;
		case 0x01:
			break; /* a literal C-a */
		default:
			return; /* unknown escapes are swallowed */
		}
	} else if (b == 0x01) {
		c->escape = true;
		return;
	}
	if (c->in_len < CONSOLE_IN_BUF)
		c->in[c->in_len++] = b;
}

void console_poll(struct console *c)
{
	if (!c->in_open || c->quit)
		return;
	/* On a terminal keep reading even with the buffer full, so that C-a x
	 * works while the guest ignores its input (extra keys are dropped, as
	 * a full UART FIFO would). */
	while ((c->in_len < CONSOLE_IN_BUF || c->tty) && !c->quit) {
		struct pollfd pfd = { c->in_fd, POLLIN, 0 };
		int r = poll(&pfd, 1, 0);
		if (r <= 0)
			return;
		if (pfd.revents & POLLNVAL) {
			c->in_open = false;
			return;
		}
		uint8_t buf[CONSOLE_IN_BUF];
		size_t want = c->tty ? sizeof(buf) : (size_t)(CONSOLE_IN_BUF - c->in_len);
		ssize_t n = read(c->in_fd, buf, want);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			c->in_open = false; /* EOF: no more input, the guest runs on */
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (c->tty)
				key(c, buf[i]);
			else
				c->in[c->in_len++] = buf[i];
		}
	}
}

int console_pending(const struct console *c)
{
	return c->in_len;
}

const uint8_t *console_data(const struct console *c)
{
	return c->in;
}

void console_consume(struct console *c, int n)
{
	if (n <= 0)
		return;
	if (n > c->in_len)
		n = c->in_len;
	memmove(c->in, c->in + n, (size_t)(c->in_len - n));
	c->in_len -= n;
}

int console_wait_fd(const struct console *c)
{
	if (!c->in_open || c->quit || (c->in_len >= CONSOLE_IN_BUF && !c->tty))
		return -1;
	return c->in_fd;
}
