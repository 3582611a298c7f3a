/* The conformance suite's tools, shared by conf_*.c. */
#ifndef RINGOS_CONF_H
#define RINGOS_CONF_H

#include "ringos.h"

#define NOERR (-1)   /* vector without an error code: do not compare */
#define ANYEIP 0     /* do not compare the faulting EIP */
#define FL_IF 0x200u
#define FL_NT 0x4000u
#define FL_TF 0x100u
#define IOPL(n) ((u32)(n) << 12)

/* Slots of the GDT the checks rewrite. */
#define SC(n) (SEL_SCRATCH + 8 * (n))

extern struct frame in; /* the probe being prepared */

void prep(int ring, const void *snip); /* fill `in` for snip at ring */
int go(void);                          /* run it; returns the vector */
/* Compare the last probe with an expected vector/error code (and
 * faulting EIP unless ANYEIP); print one line; return 1 if it passed. */
int expect(const char *name, int vec, int err, u32 eip);
/* A check on state: print ok/FAIL with expected/got values. */
int check(const char *name, int ok, u32 want, u32 got);
int expect_pf(const char *name, int err, u32 cr2, u32 eip);
/* A named family of checks not run, and why (counted; see conf.c). */
void conf_skip(const char *name, const char *why);

void conf_priv(void);
void conf_seg(void);
void conf_gates(void);
void conf_io(void);
void conf_paging(void);
void conf_tasks(void);
void conf_exc(void);
void conf_sens(void);
void conf_precise(void);
void conf_v86(void);
void conf_pae(void);
void conf_nmi(void);
int probe_vec_is(int v);

/* snippets (u_snippets.S) */
#define SNIPS(X) X(s_hlt) X(s_cli) X(s_sti) X(s_lgdt) X(s_lidt) X(s_lldt) X(s_ltr) \
	X(s_rdcr0) X(s_wrcr3) X(s_wrdr7) X(s_invlpg) X(s_clts) X(s_lmsw) X(s_rdmsr) X(s_wrmsr) \
	X(s_in21) X(s_out80) X(s_ldds) X(s_ldes) X(s_ldss) X(s_rd) X(s_wr) X(s_rdw) X(s_es_rd) \
	X(s_es_wr) X(s_es_rdw) X(s_cs_wr) X(s_ss_push) X(s_ss_push2) X(s_ljmp) X(s_lcall) \
	X(s_lret) X(s_iret) X(s_stack_lret) X(s_stack_iret) X(s_done) X(s_int80) X(s_int82) \
	X(s_int83) X(s_int84) X(s_int85) X(s_int86) X(s_intf0) X(s_int3) X(s_int3_next) X(s_into) \
	X(s_into_at) X(s_into_next) X(s_into_nof) X(s_gate_call) X(s_gate_call_ret) X(s_svc_call) X(s_svc) \
	X(s_div0) X(s_idiv) X(s_bound) X(s_ud2) X(s_fld1) X(s_fnop_wait) X(s_tf) X(s_tf_trap) \
	X(s_inb) X(s_inw) X(s_inl) X(s_outb) X(s_popf) X(s_iret_flags) X(s_jmp) X(s_sysenter) \
	X(s_sysenter_ret) X(s_sysexit) X(u_ring_exit) X(s_sgdt) X(s_sidt) X(s_sldt) X(s_str) \
	X(s_smsw) X(s_lar) X(s_lsl) X(s_verr) X(s_verw) X(s_rdtsc) X(s_int0d) X(s_sti_wait) X(s_ac) \
	X(s_ac_at) X(s_popds) X(s_rep_movsb) X(s_esp_push) X(s_esp_push_at) X(s_lock_add) X(s_mov_cs)
#define SNIP_DECL(n) extern char n[];
SNIPS(SNIP_DECL)
extern u32 u_scratch[64];

#endif
