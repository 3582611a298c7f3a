/* Zydis decodes; this file turns its output into the compact struct insn
 * and picks the handler by mnemonic from the ops tables (the pattern of
 * Linux's KVM emulator: decode generically, dispatch by table). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include "cpu/block.h"
#include "cpu/cpumodel.h"
#include "cpu/exec.h"

static const struct op_entry *const all_tables[] = {
	ops_alu_table,    ops_shift_table,  ops_muldiv_table, ops_bcd_table,
	ops_bit_table,    ops_move_table,   ops_stack_table,  ops_string_table,
	ops_branch_table, ops_flags_table,  ops_io_table,     ops_far_table,
	ops_system_table, ops_misc_table,   ops_x87_table,    ops_sse_table,
	ops_sse_shift_table,
};

static const struct op_entry *handler_of[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static ZydisDecoder dec16, dec32;
static ZydisFormatter formatter;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void unimplemented(struct cpu *cpu, const struct insn *in)
{
	if (getenv("RINGVM_WARN_UD"))
		fprintf(stderr, "ringvm: #UD for unimplemented %s at %08x\n",
			ZydisMnemonicGetString((ZydisMnemonic)in->mnem), cpu->eip);
	raise_ud(cpu);
}

/* An instruction the CPU model lacks (its CPUID feature is clear). */
static void not_on_model(struct cpu *cpu, const struct insn *in)
{
	if (getenv("RINGVM_WARN_UD"))
		fprintf(stderr, "ringvm: #UD at %08x: an instruction this CPU model lacks\n", cpu->eip);
	raise_ud(cpu);
}

/* The SSE extensions to MMX (SDM Vol. 1, 10.4.4): MMX-register forms
 * that came with SSE, which Zydis files under the MMX set. */
static int sse_on_mmx(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_PAVGB: case ZYDIS_MNEMONIC_PAVGW: case ZYDIS_MNEMONIC_PEXTRW:
	case ZYDIS_MNEMONIC_PINSRW: case ZYDIS_MNEMONIC_PMAXSW: case ZYDIS_MNEMONIC_PMAXUB:
	case ZYDIS_MNEMONIC_PMINSW: case ZYDIS_MNEMONIC_PMINUB: case ZYDIS_MNEMONIC_PMOVMSKB:
	case ZYDIS_MNEMONIC_PMULHUW: case ZYDIS_MNEMONIC_PSADBW: case ZYDIS_MNEMONIC_PSHUFW:
	case ZYDIS_MNEMONIC_MASKMOVQ: case ZYDIS_MNEMONIC_MOVNTQ:
		return 1;
	default:
		return 0;
	}
}

/* Does the CPU model have this instruction? By the CPUID feature that
 * reports it (SDM Vol. 2A, CPUID, Table 3-11); the P6 family's long NOP
 * and hint space (0F 18-1F) is #UD on a P5. */
static int model_has(const ZydisDecodedInstruction *zi, uint32_t feat, unsigned family)
{
	switch (zi->meta.isa_set) {
	case ZYDIS_ISA_SET_CMOV:
	case ZYDIS_ISA_SET_FCMOV:
		return (feat & CPUID_CMOV) != 0;
	case ZYDIS_ISA_SET_PPRO: /* FCOMI family, SYSENTER/SYSEXIT, UD2 */
		if (zi->mnemonic == ZYDIS_MNEMONIC_SYSENTER || zi->mnemonic == ZYDIS_MNEMONIC_SYSEXIT)
			return (feat & CPUID_SEP) != 0;
		if (zi->meta.isa_ext == ZYDIS_ISA_EXT_X87)
			return (feat & CPUID_CMOV) != 0;
		return family >= 6;
	case ZYDIS_ISA_SET_FAT_NOP:
	case ZYDIS_ISA_SET_SSE_PREFETCH: /* a hint NOP on a P6 without SSE */
		return family >= 6;
	case ZYDIS_ISA_SET_FXSAVE:
		return (feat & CPUID_FXSR) != 0;
	case ZYDIS_ISA_SET_CLFSH:
		return (feat & CPUID_CLFSH) != 0;
	case ZYDIS_ISA_SET_PENTIUMMMX:
		return (feat & (sse_on_mmx(zi->mnemonic) ? CPUID_SSE : CPUID_MMX)) != 0;
	case ZYDIS_ISA_SET_SSE:
	case ZYDIS_ISA_SET_SSEMXCSR:
		return (feat & CPUID_SSE) != 0;
	case ZYDIS_ISA_SET_SSE2:
	case ZYDIS_ISA_SET_SSE2MMX:
		return (feat & CPUID_SSE2) != 0;
	case ZYDIS_ISA_SET_SSE3:
	case ZYDIS_ISA_SET_SSE3X87:
	case ZYDIS_ISA_SET_SSE4:
	case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_SSE4A:
		return 0;
	default:
		return 1;
	}
}

/* The mandatory prefix Zydis found (SSE/MMX forms), as INSN_PFX bits. */
static uint8_t mandatory_prefix(const ZydisDecodedInstruction *zi)
{
	for (int i = 0; i < zi->raw.prefix_count; i++) {
		if (zi->raw.prefixes[i].type != ZYDIS_PREFIX_TYPE_MANDATORY)
			continue;
		switch (zi->raw.prefixes[i].value) {
		case 0x66: return 1 << INSN_PFX_SHIFT;
		case 0xf3: return 2 << INSN_PFX_SHIFT;
		case 0xf2: return 3 << INSN_PFX_SHIFT;
		default: break;
		}
	}
	return 0;
}

static void decode_init(void)
{
	ZydisDecoderInit(&dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
	ZydisDecoderInit(&dec16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
	ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
	for (size_t t = 0; t < sizeof(all_tables) / sizeof(all_tables[0]); t++) {
		for (const struct op_entry *e = all_tables[t]; e->mnem; e++) {
			if (handler_of[e->mnem]) {
				fprintf(stderr, "ringvm: internal error: two handlers for %s\n",
					ZydisMnemonicGetString((ZydisMnemonic)e->mnem));
				abort();
			}
			handler_of[e->mnem] = e;
		}
	}
}

static int gpr_index(ZydisRegister r, uint8_t *size)
{
	if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BH) {
		*size = 1;
		return r - ZYDIS_REGISTER_AL;
	}
	if (r >= ZYDIS_REGISTER_AX && r <= ZYDIS_REGISTER_DI) {
		*size = 2;
		return r - ZYDIS_REGISTER_AX;
	}
	if (r >= ZYDIS_REGISTER_EAX && r <= ZYDIS_REGISTER_EDI) {
		*size = 4;
		return r - ZYDIS_REGISTER_EAX;
	}
	return -1;
}

static uint8_t addr_reg(ZydisRegister r)
{
	uint8_t sz;
	if (r == ZYDIS_REGISTER_NONE)
		return REG_NONE;
	int i = gpr_index(r, &sz);
	return i < 0 ? REG_NONE : (uint8_t)i;
}

static uint8_t seg_index(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS)
		return (uint8_t)(r - ZYDIS_REGISTER_ES);
	return S_DS;
}

/* Returns 0, or DECODE_UD for an operand we do not model (YMM, K...). */
static int convert_operand(const ZydisDecodedOperand *zo, struct opnd *o, struct insn *in, int *nimm)
{
	o->size = (uint8_t)(zo->size / 8 > 255 ? 255 : zo->size / 8);
	switch (zo->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: {
		ZydisRegister r = zo->reg.value;
		uint8_t sz;
		o->imm_idx = zo->encoding == ZYDIS_OPERAND_ENCODING_MODRM_RM;
		int g = gpr_index(r, &sz);
		if (g >= 0) {
			o->kind = OPK_REG;
			o->reg = (uint8_t)g;
			o->size = sz;
		} else if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) {
			o->kind = OPK_SREG;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_ES);
			o->size = 2;
		} else if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15) {
			o->kind = OPK_CR;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_CR0);
			o->size = 4;
		} else if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15) {
			o->kind = OPK_DR;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_DR0);
			o->size = 4;
		} else if (r >= ZYDIS_REGISTER_ST0 && r <= ZYDIS_REGISTER_ST7) {
			o->kind = OPK_ST;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_ST0);
			o->size = 10;
		} else if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM7) {
			o->kind = OPK_XMM;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_XMM0);
		} else if (r >= ZYDIS_REGISTER_MM0 && r <= ZYDIS_REGISTER_MM7) {
			o->kind = OPK_MM;
			o->reg = (uint8_t)(r - ZYDIS_REGISTER_MM0);
		} else {
			return DECODE_UD;
		}
		return 0;
	}
	case ZYDIS_OPERAND_TYPE_MEMORY:
		o->kind = zo->mem.type == ZYDIS_MEMOP_TYPE_AGEN ? OPK_AGEN : OPK_MEM;
		if (zo->mem.type != ZYDIS_MEMOP_TYPE_MEM && zo->mem.type != ZYDIS_MEMOP_TYPE_AGEN)
			return DECODE_UD;
		return 0;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		if (zo->imm.is_relative) {
			o->kind = OPK_REL;
			in->imm = (uint32_t)zo->imm.value.s;
		} else {
			o->kind = OPK_IMM;
			o->imm_idx = (uint8_t)(*nimm > 0);
			if (*nimm == 0)
				in->imm = (uint32_t)zo->imm.value.u;
			else
				in->imm2 = (uint32_t)zo->imm.value.u;
			(*nimm)++;
		}
		return 0;
	case ZYDIS_OPERAND_TYPE_POINTER:
		o->kind = OPK_PTR;
		in->imm = zo->ptr.offset;
		in->imm2 = zo->ptr.segment;
		return 0;
	default:
		return DECODE_UD;
	}
}

int decode_insn(const struct cpu *cpu, const uint8_t *bytes, int avail, struct insn *in)
{
	int code32 = cpu->code32;
	pthread_once(&init_once, decode_init);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	ZyanStatus st = ZydisDecoderDecodeFull(code32 ? &dec32 : &dec16, bytes, (ZyanUSize)avail, &zi, zo);
	if (!ZYAN_SUCCESS(st)) {
		if (st == ZYDIS_STATUS_NO_MORE_DATA)
			return avail >= 15 ? DECODE_LONG : DECODE_MORE;
		if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG)
			return DECODE_LONG;
		return DECODE_UD;
	}
	/* A P6 has no BMI1/LZCNT: F3 0F BC/BD are BSF/BSR with an ignored
	 * REP prefix, and Linux's __ffs() relies on it (it emits TZCNT's
	 * encoding as "rep; bsf"). Results of BSF/BSR differ from TZCNT/LZCNT,
	 * so the handler must be BSF/BSR's. */
	if (zi.mnemonic == ZYDIS_MNEMONIC_TZCNT)
		zi.mnemonic = ZYDIS_MNEMONIC_BSF;
	else if (zi.mnemonic == ZYDIS_MNEMONIC_LZCNT)
		zi.mnemonic = ZYDIS_MNEMONIC_BSR;
	memset(in, 0, sizeof(*in));
	in->mnem = (uint16_t)zi.mnemonic;
	in->len = zi.length;
	in->osize = (uint8_t)(zi.operand_width / 8);
	if (in->osize == 0)
		in->osize = code32 ? 4 : 2;
	in->asize = (uint8_t)(zi.address_width / 8);
	in->base = in->index = REG_NONE;
	in->seg = S_DS;
	in->opcode = zi.opcode;
	in->map = zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT ? 0
		  : zi.opcode_map == ZYDIS_OPCODE_MAP_0F ? 1
		  : zi.opcode_map == ZYDIS_OPCODE_MAP_0F38 ? 2
		  : zi.opcode_map == ZYDIS_OPCODE_MAP_0F3A ? 3 : 4;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_MODRM) {
		in->flags |= INSN_HAS_MODRM;
		in->modrm = (uint8_t)((zi.raw.modrm.mod << 6) | (zi.raw.modrm.reg << 3) | zi.raw.modrm.rm);
	}
	if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		in->rep = REP_E;
	if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE)
		in->rep = REP_NE;
	in->lock = (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) ? 1 : 0;
	if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || in->map > 1)
		return DECODE_UD; /* VEX/3DNow!/0F38/0F3A: on none of the models */
	in->flags |= mandatory_prefix(&zi);

	/* The memory operand that gives base/index/segment: the visible one
	 * if any, else the string source (DS:ESI, the one overrides apply
	 * to), else the first hidden one. */
	int mem = -1;
	for (int i = 0; i < zi.operand_count; i++) {
		if (zo[i].type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (zo[i].visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN) {
			mem = i;
			break;
		}
		ZydisRegister b = zo[i].mem.base;
		if (b == ZYDIS_REGISTER_ESI || b == ZYDIS_REGISTER_SI || mem < 0)
			mem = i;
	}
	if (mem >= 0) {
		in->seg = seg_index(zo[mem].mem.segment);
		in->base = addr_reg(zo[mem].mem.base);
		in->index = addr_reg(zo[mem].mem.index);
		in->scale = zo[mem].mem.scale == 8 ? 3 : zo[mem].mem.scale == 4 ? 2 : zo[mem].mem.scale == 2 ? 1 : 0;
		in->disp = (int32_t)zo[mem].mem.disp.value;
	}
	int nimm = 0, n = 0;
	for (int i = 0; i < zi.operand_count && n < 3; i++) {
		if (zo[i].visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			continue;
		if (convert_operand(&zo[i], &in->op[n], in, &nimm) < 0)
			return DECODE_UD;
		n++;
	}
	in->nop = (uint8_t)n;

	const struct op_entry *e = handler_of[zi.mnemonic];
	if (in->map == 1 && (zi.mnemonic == ZYDIS_MNEMONIC_CMPSD || zi.mnemonic == ZYDIS_MNEMONIC_MOVSD))
		e = &ops_sse_alias_table[zi.mnemonic == ZYDIS_MNEMONIC_CMPSD ? 0 : 1];
	if (e) {
		in->fn = e->select ? e->select(in) : e->fn;
		in->flags |= e->flags;
	}
	if (!in->fn)
		in->fn = unimplemented;
	else if (!model_has(&zi, cpu->feat, cpumodel_family(cpu->model))) {
		/* No mnemonic either: the translator emits CMOVcc, NOP...
		 * itself by mnemonic, and must call this handler instead. */
		in->fn = not_on_model;
		in->mnem = ZYDIS_MNEMONIC_INVALID;
	}
	switch (zi.meta.category) {
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
	case ZYDIS_CATEGORY_RET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
		in->flags |= INSN_ENDS_BLOCK;
		break;
	default:
		break;
	}
	if (in->fn == unimplemented || in->fn == not_on_model)
		in->flags |= INSN_ENDS_BLOCK;
	return in->len;
}

void decode_format(const uint8_t *bytes, int avail, int code32, uint32_t eip, char *buf, int buflen)
{
	pthread_once(&init_once, decode_init);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(code32 ? &dec32 : &dec16, bytes, (ZyanUSize)avail, &zi, zo))) {
		snprintf(buf, (size_t)buflen, "(bad)");
		return;
	}
	if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, &zi, zo, zi.operand_count_visible, buf,
							  (ZyanUSize)buflen, eip, ZYAN_NULL)))
		snprintf(buf, (size_t)buflen, "(unformattable)");
}
