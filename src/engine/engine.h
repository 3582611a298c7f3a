/* An execution engine runs the virtual CPU until the board is needed.
 *
 * The board (machine/) owns the loop: it asks the engine to run until a
 * deadline, then services timers, input and device events, and repeats.
 * Every engine works on the shared struct cpu; kvm copies state in and out
 * (sync_out before anyone reads cpu, sync_in after anyone writes it).
 */
#ifndef RINGVM_ENGINE_H
#define RINGVM_ENGINE_H

#include <stdint.h>
#include <stddef.h>

#include "cpu/cpu.h"

/* An engine instance: the ops, the CPU it drives, and its private state. */
struct engine {
	const struct engine_ops *ops;
	struct cpu *cpu;
	void *priv;
};

struct engine_ops {
	const char *name;
	/* Create the engine for a CPU whose memory map and bus are set.
	 * Returns NULL and writes a message to err on failure. */
	struct engine *(*create)(struct cpu *cpu, char *err, size_t errlen);
	void (*destroy)(struct engine *e);
	/* Run until host CLOCK_MONOTONIC passes deadline_ns (checked often
	 * enough that timers stay within ~100 us), until cpu->icount reaches
	 * icount_limit, or until something stops the CPU. */
	enum cpu_stop (*run)(struct engine *e, uint64_t deadline_ns, uint64_t icount_limit);
	/* Make struct cpu current (engine -> cpu) / push it back. */
	void (*sync_out)(struct engine *e);
	void (*sync_in)(struct engine *e);
	/* Optional: 1 if this engine can run a guest of this kind on this
	 * host, else 0 with the reason in why. guest_kind is boot_detect()'s
	 * value (1 multiboot, 2 Linux) or 0 for a BIOS boot. The CLI asks it
	 * when choosing the default engine; NULL means "try create()". */
	int (*probe)(int guest_kind, char *why, size_t whylen);
};

extern const struct engine_ops interp_engine_ops;
extern const struct engine_ops kvm_engine_ops;
extern const struct engine_ops bt_engine_ops;

/* The engine called name ("interp", "bt", "kvm"), or NULL if this build
 * has none by that name. */
const struct engine_ops *engine_find(const char *name);

/* Tests run on the engine named by this environment variable (default
 * interp), so that one suite checks every software engine. */
#define ENGINE_ENV "RINGVM_ENGINE"

#endif
