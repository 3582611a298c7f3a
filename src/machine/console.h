/* The console backend: the guest's serial port on the host's stdin and
 * stdout.
 *
 * When stdin is a terminal it is put in raw mode (no line editing, no
 * echo, no signals from Ctrl-C: those keys go to the guest) and restored
 * on every exit path; the escape key Ctrl-A then works as in QEMU:
 *   C-a x  quit        C-a h  help        C-a C-a  send C-a
 * Pipes and files work too: stdin EOF only ends input; output is
 * buffered and flushed by console_flush(). */
#ifndef RINGVM_CONSOLE_H
#define RINGVM_CONSOLE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_IN_BUF 256
#define CONSOLE_OUT_BUF 4096

struct console {
	int in_fd, out_fd;
	bool tty;         /* in_fd is a terminal in raw mode */
	bool in_open;     /* in_fd still has input to give */
	bool out_open;    /* out_fd still takes output */
	bool out_file;    /* out_fd is a regular file (never blocks) */
	bool escape;      /* the last key was C-a */
	bool quit;        /* the user asked to quit (C-a x) */
	uint8_t in[CONSOLE_IN_BUF];
	int in_len;
	uint8_t out[CONSOLE_OUT_BUF];
	int out_len;
	/* Non-zero once the user asked ringvm to stop (a signal): output
	 * still waiting for a reader that does not read is then dropped. */
	const volatile sig_atomic_t *stop;
};

/* Set up on in_fd/out_fd; raw mode if in_fd is a terminal. */
void console_open(struct console *c, int in_fd, int out_fd);
/* Flush output and give the terminal back its settings. Idempotent. */
void console_close(struct console *c);
/* Restore the terminal settings (async-signal-safe; for fatal paths). */
void console_restore_tty(void);

void console_putc(struct console *c, uint8_t b);
void console_flush(struct console *c);

/* Read what stdin has now without blocking (into the input buffer). */
void console_poll(struct console *c);
/* Bytes waiting for the guest, and taking n of them. */
int console_pending(const struct console *c);
const uint8_t *console_data(const struct console *c);
void console_consume(struct console *c, int n);
/* The fd to wait on for input, or -1 when there is none (EOF, or the
 * buffer is full and stdin is not a terminal). */
int console_wait_fd(const struct console *c);

#endif
