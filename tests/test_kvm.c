/* The KVM engine runs the same small guests as interp with the same
 * results: port output, an injected interrupt through the IVT, HLT, and
 * state copied back into struct cpu. Skips (77) where /dev/kvm is absent
 * or cannot run the mode, saying why. */
#include <unistd.h>

#include "engine/kvm.h"
#include "harness.h"

/* Real mode: print "K", enable interrupts and halt; the injected
 * interrupt's handler (vector 0x20 -> 0:0x7e00) prints "I", then the code
 * prints "!" and exits through port 0xf4. */
__asm__(".pushsection .rodata\n"
	"k_main:\n.code16\n"
	" mov $0x4b, %al\n out %al, $0xe9\n"
	" mov $0x1234, %bx\n sti\n hlt\n"
	" mov $0x21, %al\n out %al, $0xe9\n mov $0, %al\n out %al, $0xf4\n hlt\n"
	".code64\nk_main_end:\n"
	"k_isr:\n.code16\n"
	" push %ax\n mov $0x49, %al\n out %al, $0xe9\n pop %ax\n iret\n"
	".code64\nk_isr_end:\n"
	".popsection\n");
extern const unsigned char k_main[], k_main_end[], k_isr[], k_isr_end[];

static void setup(struct harness *h)
{
	h_load(h, 0x7c00, k_main, (size_t)(k_main_end - k_main));
	h_load(h, 0x7e00, k_isr, (size_t)(k_isr_end - k_isr));
	uint16_t ivt[2] = {0x7e00, 0};
	h_load(h, 0x20 * 4, ivt, sizeof(ivt));
	h_real(h, 0, 0x7c00);
	h->pending_vector = 0x20;
}

/* Run to the end, raising the interrupt line whenever the CPU halts. */
static void run_guest(struct harness *h, const struct engine_ops *ops, struct engine *e)
{
	for (int i = 0; i < 20 && !h->cpu.stop_request; i++) {
		enum cpu_stop st = ops->run(e, ~0ull >> 1, ~0ull);
		if (st == CPU_STOP_HALT)
			h->cpu.intr_line = 1;
		else if (st != CPU_STOP_BUDGET)
			break;
	}
}

int main(void)
{
	int failures = 0;
	char msg[512];
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("skip: /dev/kvm is not available on this host\n");
		return 77;
	}
	unsigned modes = kvm_probe(msg, sizeof(msg));
	printf("kvm probe: real=%d protected=%d paging=%d%s%s\n", !!(modes & KVM_MODE_REAL),
	       !!(modes & KVM_MODE_PROT), !!(modes & KVM_MODE_PAGING), msg[0] ? "; " : "", msg);
	if (!(modes & KVM_MODE_REAL)) {
		printf("skip: this host's KVM cannot run real mode (%s)\n", msg);
		return 77;
	}

	/* interp: the reference, whatever $RINGVM_ENGINE says */
	setenv(ENGINE_ENV, "interp", 1);
	struct harness hi;
	h_init(&hi, 2 << 20);
	setup(&hi);
	run_guest(&hi, &interp_engine_ops, hi.eng);
	CHECK(strcmp(hi.out, "KI!") == 0, "interp out '%s'", hi.out);

	/* kvm: same guest, same bus */
	struct harness hk;
	h_init(&hk, 2 << 20);
	setup(&hk);
	char err[256];
	struct engine *e = kvm_engine_ops.create(&hk.cpu, err, sizeof(err));
	CHECK(e != NULL, "kvm create: %s", err);
	if (e) {
		run_guest(&hk, &kvm_engine_ops, e);
		CHECK(strcmp(hk.out, hi.out) == 0, "kvm out '%s' vs interp '%s'", hk.out, hi.out);
		CHECK(hk.exit_value == 0, "exit value %d", hk.exit_value);
		CHECK(hk.cpu.r[R_EBX] == 0x1234, "ebx %08x copied back", hk.cpu.r[R_EBX]);
		CHECK((hk.cpu.r[R_EAX] & 0xff) == 0, "al %02x", hk.cpu.r[R_EAX] & 0xff);
		kvm_engine_ops.destroy(e);
	}
	h_free(&hi);
	h_free(&hk);
	if (failures)
		return 1;
	printf("kvm engine: same output as interp\n");
	return 0;
}
