/* Precise exceptions (SDM Vol. 3, 6.5): a fault reports the faulting
 * instruction's address with the state from before it; a REP string
 * instruction stops after its last completed iteration with ECX, ESI
 * and EDI telling how far it got (Vol. 1, 7.3.9). Engines that run
 * blocks of instructions must undo or delay their effects to get this
 * right. Also the decoder's #UD cases a VMM must not accept. */
#include "conf.h"

extern u32 probe_vec;

static u32 va(int i) { return TEST_VA + 0x1000u * (u32)i; }

static void map(int i, u32 flags)
{
	*pte_of(kernel_pd, va(i)) = flags ? (u32)test_page(i) | flags : 0;
	invlpg(va(i));
}

void conf_precise(void)
{
	u32 *sp = ustack_top - 32;

	*sp = SEL_KDATA;
	prep(3, s_popds);
	in.esp = (u32)sp;
	go();
	if (expect("ring3 POP DS of a DPL0 selector -> #GP(sel)", 13, SEL_KDATA, (u32)s_popds))
		check("POP DS fault leaves ESP unchanged", probe_out.f.esp == (u32)sp, (u32)sp,
		      probe_out.f.esp);

	map(5, 7);
	map(6, 0);
	prep(3, s_rep_movsb);
	in.esi = (u32)u_scratch;
	in.edi = va(6) - 16;
	in.ecx = 32;
	go();
	if (expect_pf("ring3 REP MOVSB into a not-present page -> #PF(0x6) at the REP", 6, va(6),
		      (u32)s_rep_movsb))
		check("REP MOVSB fault: 16 bytes done, ECX=16, ESI/EDI advanced by 16",
		      probe_out.f.ecx == 16 && probe_out.f.esi == (u32)u_scratch + 16 &&
			      probe_out.f.edi == va(6),
		      16, probe_out.f.ecx);

	prep(3, s_esp_push);
	in.esi = va(6) + 8;
	in.eax = 0x1234;
	go();
	if (expect_pf("ring3 PUSH into a not-present page -> #PF(0x6)", 6, va(6) + 4,
		      (u32)s_esp_push_at))
		check("PUSH fault leaves ESP unchanged", probe_out.f.esp == va(6) + 8, va(6) + 8,
		      probe_out.f.esp);

	prep(3, s_div0);
	in.eax = 0x1111;
	in.edx = 0;
	in.ecx = 0;
	go();
	check("#DE leaves EAX and EDX unchanged",
	      probe_vec == 0 && probe_out.f.eax == 0x1111 && probe_out.f.edx == 0, 0x1111,
	      probe_out.f.eax);

	prep(3, s_lock_add);
	go();
	expect("ring3 LOCK ADD EAX,EAX (no memory operand) -> #UD", 6, NOERR, (u32)s_lock_add);
	prep(3, s_mov_cs);
	go();
	expect("ring3 MOV CS,AX -> #UD", 6, NOERR, (u32)s_mov_cs);
}
