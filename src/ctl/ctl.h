/* ringctl: the toolstack, xl's verbs over ringvm domains. One domain is
 * one detached ringvm process; its files live in the per-user runtime
 * directory (docs/domains.md):
 *   NAME.pid      the process        NAME.qmp  its QMP socket
 *   NAME.in       console input FIFO NAME.console  console output
 *   NAME.log      ringvm's own messages (ringctl dmesg) */
#ifndef RINGVM_CTL_H
#define RINGVM_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

#define CTL_NAME_MAX 48

/* ---- rundir.c ---- */
/* The runtime directory ($RINGVM_RUNDIR, else $XDG_RUNTIME_DIR/ringvm,
 * else /tmp/ringvm-UID), made mode 0700 and checked to be ours. */
const char *ctl_rundir(void);
/* DIR/NAME.EXT into buf. */
void ctl_path(char *buf, size_t cap, const char *name, const char *ext);
/* The process runs (not ended, not a zombie). */
bool ctl_alive(pid_t pid);
/* The domain's process if it runs, else 0. */
pid_t ctl_pid(const char *name);
/* Forget a domain's files (not its console and log). */
void ctl_forget(const char *name);
/* Names of running domains, sorted; returns how many (at most max). */
int ctl_names(char names[][CTL_NAME_MAX], int max);
int ctl_valid_name(const char *name);
/* The ringvm binary: $RINGVM, else "ringvm" beside ringctl. */
const char *ctl_ringvm(void);

/* ---- qmpc.c: a QMP client ---- */
struct qmpc;
/* Connect to NAME's socket and negotiate; NULL with a message printed. */
struct qmpc *qmpc_open(const char *name);
void qmpc_close(struct qmpc *c);
/* Run a command (args may be NULL; it is consumed). The "return" value
 * (owned by the caller), or NULL after printing the error. */
struct json_object *qmpc_exec(struct qmpc *c, const char *cmd, struct json_object *args);
/* Wait for an event; its "data" (caller owns), or NULL on timeout/EOF. */
struct json_object *qmpc_event(struct qmpc *c, const char *name, int timeout_ms);

/* ---- xlcfg.c: the xl-style config file ---- */
struct xlcfg {
	char name[CTL_NAME_MAX];
	char kernel[1024], ramdisk[1024], bios[1024], extra[2048];
	char engine[16];
	unsigned memory;      /* MiB */
	unsigned vcpus;
	bool deterministic;
	char on_crash[24], on_reboot[24], on_poweroff[24];
};
/* 0, or -1 after printing "FILE:LINE: reason". */
int xlcfg_load(const char *path, struct xlcfg *cfg);

/* ---- the verbs ---- */
int cmd_create(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_dmesg(int argc, char **argv);
int cmd_control(const char *verb, int argc, char **argv); /* pause .. migrate */

/* Spawn a detached ringvm for NAME with these extra arguments; waits
 * for its QMP socket. 0, or -1 after printing why. */
int ctl_spawn(const char *name, char *const args[], int nargs);
/* Attach to the console (console.c): exit status. */
int ctl_console(const char *name);

int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
