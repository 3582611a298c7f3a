/* Register moves done in C: FXCH, FLD ST(i), FST/FSTP ST(i), FCHS, FABS,
 * FLD1, FLDZ, FINCSTP, FDECSTP, FNOP. They are pure data movement (no
 * rounding, no exception for NaNs or denormals in the 80-bit format: SDM
 * Vol. 2, FLD/FST "does not occur if the source operand is in double
 * extended-precision format") and common in compiled x87 code, so they
 * skip the host's FRSTOR/FNSAVE round trip. Only the case without a stack
 * fault is done here; anything else (an empty operand, a full stack) goes
 * to the host. C1 is cleared as the manual says; C0, C2, C3 (undefined)
 * are left as they are, which is what the host does too (the differential
 * test holds all of this to the host). */
#include <string.h>

#include "cpu/exec.h"

enum { TAG_VALID = 0, TAG_ZERO = 1, TAG_EMPTY = 3 };

static int tag(const struct fpu *f, int r) { return (f->ftw >> (2 * r)) & 3; }

static void set_tag(struct fpu *f, int r, int t)
{
	f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * r))) | (unsigned)t << (2 * r));
}

static void set_top(struct fpu *f, int top)
{
	f->fsw = (uint16_t)((f->fsw & ~FSW_TOP) | (unsigned)(top & 7) << FSW_TOP_SHIFT);
}

static void copy_reg(struct fpu *f, int dst, int src)
{
	if (dst != src)
		memcpy(&f->st[dst], &f->st[src], 10);
	set_tag(f, dst, tag(f, src));
}

static void push_const(struct fpu *f, int rn, uint64_t m, uint16_t se, int t)
{
	memcpy(&f->st[rn], &m, 8);
	memcpy((uint8_t *)&f->st[rn] + 8, &se, 2);
	set_tag(f, rn, t);
	set_top(f, rn);
}

int x87_fast_reg(struct fpu *f, uint8_t esc, uint8_t modrm)
{
	int top = fpu_top(f);
	int r0 = top, ri = (top + (modrm & 7)) & 7, rn = (top - 1) & 7;
	switch ((esc << 8) | (modrm & 0xf8)) {
	case 0xd9c8: case 0xddc8: { /* FXCH (and its DD alias) */
		if (tag(f, r0) == TAG_EMPTY || tag(f, ri) == TAG_EMPTY)
			return 0;
		uint8_t t[10];
		int t0 = tag(f, r0);
		memcpy(t, &f->st[r0], 10);
		memcpy(&f->st[r0], &f->st[ri], 10);
		memcpy(&f->st[ri], t, 10);
		set_tag(f, r0, tag(f, ri));
		set_tag(f, ri, t0);
		break;
	}
	case 0xd9c0: /* FLD ST(i) */
		if (tag(f, ri) == TAG_EMPTY || tag(f, rn) != TAG_EMPTY)
			return 0;
		copy_reg(f, rn, ri);
		set_top(f, rn);
		break;
	case 0xddd0: /* FST ST(i) */
		if (tag(f, r0) == TAG_EMPTY)
			return 0;
		copy_reg(f, ri, r0);
		break;
	case 0xddd8: case 0xd9d8: case 0xdfd0: case 0xdfd8: /* FSTP ST(i), aliases */
		if (tag(f, r0) == TAG_EMPTY)
			return 0;
		copy_reg(f, ri, r0);
		set_tag(f, r0, TAG_EMPTY);
		set_top(f, top + 1);
		break;
	case 0xd9e0: case 0xd9e8: case 0xd9f0: case 0xd9d0:
		switch (modrm) {
		case 0xe0: /* FCHS */
		case 0xe1: /* FABS */
			if (tag(f, r0) == TAG_EMPTY)
				return 0;
			if (modrm == 0xe0)
				((uint8_t *)&f->st[r0])[9] ^= 0x80;
			else
				((uint8_t *)&f->st[r0])[9] &= 0x7f;
			break;
		case 0xe8: /* FLD1 */
		case 0xee: /* FLDZ */
			if (tag(f, rn) != TAG_EMPTY)
				return 0;
			if (modrm == 0xe8)
				push_const(f, rn, 1ull << 63, 0x3fff, TAG_VALID);
			else
				push_const(f, rn, 0, 0, TAG_ZERO);
			break;
		case 0xf6: /* FDECSTP */
			set_top(f, top - 1);
			break;
		case 0xf7: /* FINCSTP */
			set_top(f, top + 1);
			break;
		case 0xd0: /* FNOP */
			return 1;
		default:
			return 0;
		}
		break;
	default:
		return 0;
	}
	f->fsw &= ~FSW_C1;
	return 1;
}
