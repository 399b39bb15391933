/*-------------------------------------------------------------------------
 *
 * sum.c
 *	  The exact sum of a channel-day's values: EnergySum and its operations.
 *
 * Meter values are decimals with a few places; each one the parser could
 * represent exactly (digits * 10^-scale, scale <= 9) is added into a
 * 128-bit integer at scale 9, so a sum of any number of them is the exact
 * decimal sum.  Values with more places (not seen in real exports) go into
 * a compensated long double sum beside it.  The partials of a file
 * (aggregate.c) and the overlap stage's rewrite of them (resolve.c) sum the
 * values that count the same way, so both are here, in a leaf that calls
 * nothing of energy's: it used to live in aggregate.c, which made
 * aggregate.c, overlap.c and resolve.c a circle.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "energy.h"

#define FIXED_SCALE 9

static const int64 pow10_table[FIXED_SCALE + 1] = {
	INT64CONST(1000000000), INT64CONST(100000000), INT64CONST(10000000),
	INT64CONST(1000000), INT64CONST(100000), INT64CONST(10000),
	INT64CONST(1000), INT64CONST(100), INT64CONST(10), INT64CONST(1)
};

/*
 * Add a value to an exact sum: into the 128-bit integer when the parser
 * gave it exactly with at most FIXED_SCALE places, else into the
 * compensated extended sum.  The overlap stage's rewrite (resolve.c) sums
 * the values that count the same way.
 */
void
energy_sum_add(EnergySum *s, const EpDecimal *value)
{
	if (value->exact && value->scale <= FIXED_SCALE)
		s->fixed += (int128) value->digits * pow10_table[value->scale];
	else
	{
		/* Neumaier's variant of Kahan summation, in extended precision */
		long double x = (long double) value->value;
		long double t = s->float_sum + x;

		if (fabsl(s->float_sum) >= fabsl(x))
			s->float_comp += (s->float_sum - t) + x;
		else
			s->float_comp += (x - t) + s->float_sum;
		s->float_sum = t;
		s->has_float = true;
	}
}

/* The exact part as a numeric: the 128-bit integer printed at scale 9. */
static Datum
fixed_to_numeric(int128 v)
{
	char		digits[64];
	char		out[72];
	int			n = 0;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;
	int			pos = 0;

	do
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	while (n <= FIXED_SCALE)
		digits[n++] = '0';
	if (neg)
		out[pos++] = '-';
	for (int i = n - 1; i >= 0; i--)
	{
		out[pos++] = digits[i];
		if (i == FIXED_SCALE)
			out[pos++] = '.';
	}
	out[pos] = '\0';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(out),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* 2^n as an exact numeric. */
static Datum
numeric_pow2(int n)
{
	Datum		r = NumericGetDatum(int64_to_numeric(1));

	while (n > 0)
	{
		int			k = Min(n, 62);

		r = DirectFunctionCall2(numeric_mul, r,
								NumericGetDatum(int64_to_numeric(INT64CONST(1) << k)));
		n -= k;
	}
	return r;
}

/* An exact sum as a numeric (at scale FIXED_SCALE, or more). */
Datum
energy_sum_numeric(const EnergySum *s)
{
	Datum		sum = fixed_to_numeric(s->fixed);

	if (s->has_float)
	{
		/*
		 * The server's snprintf has no long double, so the extended sum is
		 * split into two doubles whose exact sum it is, each printed with
		 * enough digits to round-trip.  Finite doubles can add up past
		 * DBL_MAX (two readings of 1e308), where a long double still holds
		 * the sum but a double is infinite: such a sum is first scaled down
		 * by a power of two, and the numeric multiplied back up, exactly.
		 */
		long double total = s->float_sum + s->float_comp;
		int			exp2;
		int			shift = 0;
		double		hi;
		double		lo;
		double		parts[2];
		Datum		fsum = NumericGetDatum(int64_to_numeric(0));

		(void) frexpl(total, &exp2);
		if (exp2 > DBL_MAX_EXP - 2)
			shift = exp2 - (DBL_MAX_EXP - 2);
		total = ldexpl(total, -shift);
		hi = (double) total;
		lo = (double) (total - (long double) hi);
		parts[0] = hi;
		parts[1] = lo;

		for (int i = 0; i < 2; i++)
		{
			char		buf[64];

			snprintf(buf, sizeof(buf), "%.17g", parts[i]);
			fsum = DirectFunctionCall2(numeric_add, fsum,
									   DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
		}
		if (shift > 0)
			fsum = DirectFunctionCall2(numeric_mul, fsum, numeric_pow2(shift));
		sum = DirectFunctionCall2(numeric_add, sum, fsum);
	}
	return sum;
}
