/* Gates and transfers between rings: INT n through IDT gates (SDM Vol.
 * 3, 6.12.1.1), call gates with parameter copy and stack switch (5.8.5),
 * far RET and IRET to outer rings with data segments nulled (5.8.6). */
#include "conf.h"

extern u32 gate_seen_esp, gate_seen_ss, gate_seen_words[6], svc_seen_esp, svc_seen_ss;
extern void gate_r1_entry(void);

static void far_ptr(u32 off, u32 sel)
{
	u_scratch[8] = off;
	u_scratch[9] = sel;
}

static void far_call(const char *name, const void *snip, int vec, int err)
{
	prep(3, snip);
	in.esi = (u32)&u_scratch[8];
	go();
	expect(name, vec, err, vec == VEC_DONE ? ANYEIP : (u32)snip);
}

/* A far RET or IRET from ring `from` with a hand-made stack. */
static int stack_return(int from, const void *snip, const u32 *words, int n)
{
	u32 *sp = from == 3 ? &u_scratch[32] : (u32 *)stack_r2_top - 200;
	int i;
	for (i = 0; i < n; i++)
		sp[i] = words[i];
	prep(from, snip);
	in.esi = (u32)sp;
	return 0;
}

void conf_gates(void)
{
	int i;
	u32 want[6];
	char name[80];

	/* INT n checks the gate's DPL against CPL; exceptions do not. */
	prep(3, s_int80);
	in.eax = 0;
	go();
	expect("ring3 INT 0x80 (DPL3 interrupt gate) -> system call returns", VEC_DONE, 0, ANYEIP);
	prep(3, s_int82);
	go();
	expect("ring3 INT 0x82 (DPL0 gate) -> #GP(0x82*8+2)", 13, VEC_DPL0 * 8 + 2, (u32)s_int82);
	prep(3, s_int83);
	go();
	expect("ring3 INT 0x83 (gate not present) -> #NP(0x83*8+2)", 11, VEC_NOTP * 8 + 2,
	       (u32)s_int83);
	prep(3, s_intf0);
	go();
	expect("ring3 INT 0xf0 (past IDT limit) -> #GP(0xf0*8+2)", 13, 0xf0 * 8 + 2, (u32)s_intf0);
	prep(2, s_int85);
	go();
	expect("ring2 INT 0x85 (DPL1 gate) -> #GP(0x85*8+2)", 13, VEC_DPL1 * 8 + 2, (u32)s_int85);
	prep(1, s_int85);
	go();
	expect("ring1 INT 0x85 (DPL1 gate) -> delivered", VEC_DPL1, NOERR, (u32)s_int85 + 2);
	prep(3, s_int3);
	go();
	expect("ring3 INT3 -> #BP, EIP after the INT3", 3, NOERR, (u32)s_int3_next);
	prep(3, s_into);
	go();
	expect("ring3 INTO with OF=1 -> #OF, EIP after the INTO", 4, NOERR, (u32)s_into_next);
	prep(3, s_into_nof);
	go();
	expect("ring3 INTO with OF=0 -> nothing", VEC_DONE, 0, ANYEIP);
	prep(3, s_int80);
	go();
	check("INT 0x80 from ring 3 ran its handler on the TSS ring 0 stack",
	      probe_out.f.cs == (SEL_UCODE | 3) && probe_out.f.eax == 0, SEL_UCODE | 3, probe_out.f.cs);

	/* Call gate to ring 0 with 2 parameters. */
	prep(3, s_gate_call);
	go();
	expect("ring3 CALL through DPL3 call gate to ring 0 -> returns", VEC_DONE, 0, ANYEIP);
	check("call gate: the ring 0 code returned param0+param1", probe_out.f.eax == 0x3333, 0x3333,
	      probe_out.f.eax);
	check("call gate: new SS from TSS.SS0", gate_seen_ss == SEL_KDATA, SEL_KDATA, gate_seen_ss);
	check("call gate: new ESP = TSS.ESP0 - 24", gate_seen_esp == tss_main.t.esp0 - 24,
	      tss_main.t.esp0 - 24, gate_seen_esp);
	want[0] = (u32)s_gate_call_ret;
	want[1] = SEL_UCODE | 3;
	want[2] = 0x1111;
	want[3] = 0x2222;
	want[4] = probe_out.f.ebp - 8;
	want[5] = SEL_UDATA | 3;
	for (i = 0; i < 6 && gate_seen_words[i] == want[i]; i++)
		;
	ksnprintf(name, sizeof name, "call gate: new stack = EIP, CS, params, old ESP, old SS%s",
		  i < 6 ? " (first wrong word shown)" : "");
	check(name, i == 6, i < 6 ? want[i] : 0, i < 6 ? gate_seen_words[i] : 0);
	check("call gate: RET 8 released the params on the caller's stack",
	      probe_out.f.esp == probe_out.f.ebp, probe_out.f.ebp, probe_out.f.esp);

	prep(3, s_svc_call);
	go();
	expect("ring3 CALL through call gate to the ring 2 service -> returns", VEC_DONE, 0, ANYEIP);
	check("ring 2 service echoed its parameter", probe_out.f.eax == 0x5a5a, 0x5a5a, probe_out.f.eax);
	check("ring 2 service ran on SS = TSS.SS2", svc_seen_ss == (SEL_R2DATA | 2), SEL_R2DATA | 2,
	      svc_seen_ss);
	check("ring 2 service ran on ESP = TSS.ESP2 - 24", svc_seen_esp == tss_main.t.esp2 - 24,
	      tss_main.t.esp2 - 24, svc_seen_esp);

	far_ptr(0, SEL_GATE_DRV | 3);
	far_call("ring3 CALL the DPL2 driver gate -> #GP(gate)", s_lcall, 13, SEL_GATE_DRV);
	far_ptr(0, SEL_GATE_SYS | 3);
	far_call("ring3 JMP through call gate to ring 0 -> #GP(code sel)", s_ljmp, 13, SEL_KCODE);
	gdt_set(SC(9), gate_desc(SEL_KCODE, (u32)s_done, 0xC, 0, 0));
	far_ptr(0, SC(9) | 3);
	far_call("ring3 CALL through DPL0 call gate -> #GP(gate)", s_lcall, 13, SC(9));
	gdt[SC(9) >> 3] = gate_desc(SEL_KCODE, (u32)s_done, 0xC, 3, 0) & ~(1ULL << 47);
	far_call("ring3 CALL through not-present call gate -> #NP(gate)", s_lcall, 11, SC(9));
	gdt_set(SC(9), gate_desc(SC(8), (u32)s_done, 0xC, 3, 0));
	far_call("ring3 CALL gate to not-present code -> #NP(code sel)", s_lcall, 11, SC(8));
	gdt_set(SC(9), gate_desc(SEL_R1CODE, (u32)gate_r1_entry, 0xC, 3, 0));
	tss_main.t.ss1 = 0;
	far_call("ring3 CALL gate to ring 1 with TSS.SS1 null -> #TS(0)", s_lcall, 10, 0);
	tss_main.t.ss1 = SEL_R1DATA | 1;
	far_call("ring3 CALL gate to ring 1 with TSS.SS1 valid -> returns", s_lcall, VEC_DONE, 0);
	check("ring 1 gate target ran on SS = TSS.SS1", gate_seen_ss == (SEL_R1DATA | 1),
	      SEL_R1DATA | 1, gate_seen_ss);

	/* Returns to outer rings: segment registers the new CPL may not use
	 * are loaded with null (SDM Vol. 3, 5.8.6, step 6 of RET). */
	{
		u32 w[4] = {(u32)s_done, SEL_UCODE | 3, (u32)ustack_top - 64, SEL_UDATA | 3};
		stack_return(0, s_stack_lret, w, 4);
		in.ds = SEL_KDATA;
		in.es = SEL_UDATA | 3;
		in.fs = SEL_R1DATA | 1;
		in.gs = SEL_R2DATA | 2;
		go();
		if (expect("ring0 RET far to ring 3 -> arrives at CPL 3", VEC_DONE, 0, ANYEIP)) {
			check("RET far to ring 3 nulls DS/FS/GS (DPL < 3)",
			      !probe_out.f.ds && !probe_out.f.fs && !probe_out.f.gs, 0,
			      probe_out.f.ds | probe_out.f.fs | probe_out.f.gs);
			check("RET far to ring 3 keeps ES (DPL 3)", probe_out.f.es == (SEL_UDATA | 3),
			      SEL_UDATA | 3, probe_out.f.es);
		}
	}
	{
		u32 w[4] = {(u32)s_done, SEL_R2CODE | 2, (u32)stack_r2_top - 64, SEL_R2DATA | 2};
		stack_return(0, s_stack_lret, w, 4);
		in.fs = SEL_R1DATA | 1;
		in.gs = SEL_R2DATA | 2;
		go();
		if (expect("ring0 RET far to ring 2 -> arrives at CPL 2", VEC_DONE, 0, ANYEIP))
			check("RET far to ring 2 nulls FS (DPL1), keeps GS (DPL2)",
			      !probe_out.f.fs && probe_out.f.gs == (SEL_R2DATA | 2), SEL_R2DATA | 2,
			      probe_out.f.fs << 16 | probe_out.f.gs);
	}
	{
		u32 w[5] = {(u32)s_done, SEL_UCODE | 3, 2, (u32)ustack_top - 64, SEL_UDATA | 3};
		stack_return(1, s_stack_iret, w, 5);
		in.ds = SEL_R1DATA | 1;
		in.es = SEL_UDATA | 3;
		go();
		if (expect("ring1 IRET to ring 3 -> arrives at CPL 3", VEC_DONE, 0, ANYEIP))
			check("IRET to ring 3 nulls DS (DPL1), keeps ES",
			      !probe_out.f.ds && probe_out.f.es == (SEL_UDATA | 3), SEL_UDATA | 3,
			      probe_out.f.ds << 16 | probe_out.f.es);
	}
	prep(3, s_done);
	in.fs = SEL_KDATA;
	go();
	check("probe IRET ring0 -> ring3 with FS=DPL0 data: FS nulled", probe_out.f.fs == 0, 0,
	      probe_out.f.fs);
	{
		u32 w[2] = {(u32)s_done, SEL_KCODE};
		stack_return(3, s_stack_lret, w, 2);
		go();
		expect("ring3 RET far to ring 0 code -> #GP(sel)", 13, SEL_KCODE, ANYEIP);
	}
	{
		u32 w[3] = {(u32)s_done, SEL_KCODE, 2};
		stack_return(3, s_stack_iret, w, 3);
		go();
		expect("ring3 IRET to ring 0 code -> #GP(sel)", 13, SEL_KCODE, ANYEIP);
	}
}
