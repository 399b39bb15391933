/*-------------------------------------------------------------------------
 *
 * test_codec.c
 *	  Server-free unit tests for the readings codec: every block must decode
 *	  to exactly the readings it was encoded from, and every corrupt block
 *	  must be refused, never crash.
 *
 * Values come from the parser itself (a small LP file of every number form
 * it accepts), so the round trip covers what a load really hands over;
 * the decoded doubles are also checked against strtod() of the text, and
 * the digits and scale of some against values worked out by hand.  Then
 * times, statuses and marks of every shape, seeded random blocks, and
 * every truncation and thousands of corruptions of valid blocks.  Blocks
 * are decoded from exact-size heap copies, so ASan sees any read past the
 * end.
 *
 * Usage: test/unit/test_codec [RANDOM_BLOCKS]  (default 5000)
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "parser.h"
#include "unit.h"

static int	passed;
static int	failed;

#define CHECK(cond, ...) check_at((cond), __LINE__, __VA_ARGS__)

static void
check_at(int ok, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		passed++;
		return;
	}
	failed++;
	if (failed > 50)
		return;					/* one bug can fail thousands of checks */
	fprintf(stderr, "FAIL (test_codec.c:%d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------- seeded random numbers (xorshift64*) ---------- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* 0 .. n - 1 */
static uint32_t
rnd_below(uint32_t n)
{
	return n == 0 ? 0 : (uint32_t) (rnd() % n);
}

/* ---------- a block of readings, owned ---------- */

typedef struct Readings
{
	uint32_t	n;
	int64_t		base;
	int64_t    *at;
	EcValue    *value;
	EcText	   *status;			/* NULL: none */
	bool	   *marks;			/* NULL: none */
} Readings;

static Readings
readings_new(uint32_t n, int64_t base)
{
	Readings	r;

	r.n = n;
	r.base = base;
	r.at = calloc(n + 1, sizeof(int64_t));
	r.value = calloc(n + 1, sizeof(EcValue));
	r.status = NULL;
	r.marks = NULL;
	return r;
}

static void
readings_free(Readings *r)
{
	free(r->at);
	free(r->value);
	free(r->status);
	free(r->marks);
}

static EcValue
exact(int64_t digits, int scale)
{
	EcValue		v;

	v.digits = digits;
	v.scale = (int16_t) scale;
	v.exact = true;
	v.value = digits == 0 ? 0.0 : ec_decimal_to_double(digits, scale);
	return v;
}

/* Encode into an exact-size heap buffer (NULL on error, *rc says why). */
static uint8_t *
encode(const Readings *r, size_t *len, EcErrorCode *rc)
{
	EcBlock		in = {r->n, r->base, r->at, r->value, r->status, r->marks};
	size_t		bound = ec_encode_bound(&in);
	uint8_t    *buf = malloc(bound);
	uint8_t    *exact_buf;

	*rc = ec_encode(&in, buf, bound, len);
	if (*rc != EC_OK)
	{
		free(buf);
		return NULL;
	}
	exact_buf = malloc(*len ? *len : 1);
	memcpy(exact_buf, buf, *len);
	free(buf);
	return exact_buf;
}

static bool
same_value(const EcValue *a, const EcValue *b)
{
	if (memcmp(&a->value, &b->value, sizeof(double)) != 0 || a->exact != b->exact)
		return false;
	if (a->exact)
		return a->digits == b->digits && a->scale == b->scale;
	return true;
}

static bool
same_text(const EcText *a, const EcText *b)
{
	if (a->ptr == NULL || b->ptr == NULL)
		return a->ptr == NULL && b->ptr == NULL;
	return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/*
 * Decode a block with every path (arrays, doubles only, the iterator) and
 * compare each reading with r; returns the number of differences.
 */
static int
compare_decoded(const uint8_t *block, size_t len, const Readings *r, const char *what)
{
	uint32_t	n = 0;
	EcArrays	out = {0};
	EcIter		it;
	int			bad = 0;
	EcErrorCode rc;

	rc = ec_count(block, len, &n);
	CHECK(rc == EC_OK && n == r->n, "%s: count %u, want %u (%s)", what, n, r->n, ec_error_name(rc));
	if (rc != EC_OK || n != r->n)
		return 1;
	out.at = malloc(sizeof(int64_t) * (n + 1));
	out.value = malloc(sizeof(EcValue) * (n + 1));
	out.value_double = malloc(sizeof(double) * (n + 1));
	out.status = malloc(sizeof(EcText) * (n + 1));
	out.superseded = malloc(sizeof(bool) * (n + 1));
	rc = ec_decode(block, len, r->base, &out);
	CHECK(rc == EC_OK, "%s: decode: %s", what, ec_error_name(rc));
	if (rc == EC_OK)
	{
		CHECK(out.has_marks == (r->marks != NULL), "%s: has_marks", what);
		for (uint32_t i = 0; i < n; i++)
		{
			EcText		none = {NULL, 0};
			const EcText *want = r->status ? &r->status[i] : &none;
			bool		mark = r->marks ? r->marks[i] : false;

			if (out.at[i] != r->at[i])
			{
				bad++;
				CHECK(0, "%s: at[%u] %lld, want %lld", what, i,
					  (long long) out.at[i], (long long) r->at[i]);
			}
			if (!same_value(&out.value[i], &r->value[i]) ||
				memcmp(&out.value_double[i], &r->value[i].value, sizeof(double)) != 0)
			{
				bad++;
				CHECK(0, "%s: value[%u] %.17g %lld/%d %d, want %.17g %lld/%d %d", what, i,
					  out.value[i].value, (long long) out.value[i].digits, out.value[i].scale,
					  out.value[i].exact, r->value[i].value, (long long) r->value[i].digits,
					  r->value[i].scale, r->value[i].exact);
			}
			if (!same_text(&out.status[i], want))
			{
				bad++;
				CHECK(0, "%s: status[%u]", what, i);
			}
			if (out.superseded[i] != mark)
			{
				bad++;
				CHECK(0, "%s: superseded[%u]", what, i);
			}
		}
	}
	/* the iterator, with and without values */
	rc = ec_iter_begin(block, len, &it);
	CHECK(rc == EC_OK, "%s: iter_begin: %s", what, ec_error_name(rc));
	if (rc == EC_OK)
	{
		EcValue		v;
		bool		m;
		uint32_t	i = 0;

		while (ec_iter_next(&it, (i % 3 == 1) ? NULL : &v, (i % 5 == 2) ? NULL : &m))
		{
			if (i < n && i % 3 != 1 && !same_value(&v, &r->value[i]))
				bad++;
			if (i < n && i % 5 != 2 && m != (r->marks ? r->marks[i] : false))
				bad++;
			i++;
		}
		CHECK(i == n, "%s: iterator gave %u values, want %u", what, i, n);
		CHECK(!ec_iter_next(&it, &v, &m), "%s: iterator past the end", what);
	}
	CHECK(bad == 0, "%s: %d readings differ", what, bad);
	free(out.at);
	free(out.value);
	free(out.value_double);
	free(out.status);
	free(out.superseded);
	return bad;
}

/* Encode, check the round trip; returns the encoded size (0 on error). */
static size_t
round_trip(const Readings *r, const char *what)
{
	size_t		len = 0;
	EcErrorCode rc;
	uint8_t    *b = encode(r, &len, &rc);

	CHECK(b != NULL, "%s: encode: %s", what, ec_error_name(rc));
	if (b == NULL)
		return 0;
	compare_decoded(b, len, r, what);
	free(b);
	return len;
}

/* ---------- values: every form the parser accepts ---------- */

typedef struct Form
{
	const char *text;
	bool		exact;			/* worked out by hand from the text */
	int64_t		digits;
	int			scale;
} Form;

static const Form forms[] = {
	{"0", true, 0, 0},
	{"0.000000", true, 0, 6},
	{"-0", true, 0, 0},
	{"-0.000", true, 0, 3},
	{"+0.0", true, 0, 1},
	{"1", true, 1, 0},
	{"+1.5", true, 15, 1},
	{"-21.880000", true, -21880000, 6},
	{"409646.700000", true, 409646700000, 6},
	{"0.001", true, 1, 3},
	{"2.500", true, 2500, 3},
	{"007.50", true, 750, 2},
	{"123456789012345", true, 123456789012345, 0},	/* 15 significant */
	{"0.123456789012345", true, 123456789012345, 15},
	{"-98765.4321098765", true, -987654321098765, 10},
	{"9007199254740993", true, 9007199254740993, 0},	/* 2^53 + 1 */
	{"999999999999999999", true, 999999999999999999, 0},	/* 18 digits */
	{"-0.999999999999999999", true, -999999999999999999, 18},
	{"0.000000000000000001", true, 1, 18},
	{"1234567890123456789", false, 0, 0},	/* 19 digits */
	{"0.0000000000000000001", false, 0, 0},	/* 19 places */
	/* an exponent moves the point: exact decimals still, by hand */
	{"1e3", true, 1000, 0},
	{"1.5E-3", true, 15, 4},
	{"-2.5e+10", true, -25000000000, 0},
	{"0e0", true, 0, 0},
	{"-0E5", true, 0, 0},
	{"2.5E+3", true, 2500, 0},
	{"1e-5", true, 1, 5},
	{"1e18", false, 0, 0},		/* 19 digits */
	{"1e-19", false, 0, 0},		/* 19 places */
	{"1.7976931348623157e308", false, 0, 0},	/* largest finite */
	{"-1.7976931348623157e308", false, 0, 0},
	{"2.2250738585072014e-308", false, 0, 0},	/* smallest normal */
	{"4.9406564584124654e-324", false, 0, 0},	/* smallest denormal */
	{"-4.9406564584124654e-324", false, 0, 0},
	{"179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", false, 0, 0},
};

#define NFORMS ((int) (sizeof(forms) / sizeof(forms[0])))

/* Parse every form as the Data Value of an LP row; fills vals[NFORMS]. */
static void
parse_forms(EcValue *vals)
{
	char	   *csv = malloc(64 * 1024);
	size_t		len = 0;
	EpParser   *p;
	EpRow		row;
	EpError		err;
	EpStatus	st;
	int			k = 0;
	size_t		off = 0;

	len += sprintf(csv + len, "MeterPoint Code,Serial Number,Plant Code,Date/Time,Data Type,Data Value,Units,Status\n");
	for (int i = 0; i < NFORMS; i++)
		len += sprintf(csv + len, "1,1,P,01/01/2020 00:%02d:00,Import,%s,kwh,\n", i % 60, forms[i].text);
	p = ep_create(&talloc, 0);
	while ((st = ep_next(p, &row, &err)) != EP_END)
	{
		if (st == EP_NEED_MORE)
			feed(p, csv, len, 0, &off);
		else if (st == EP_ROW && k < NFORMS)
		{
			vals[k].value = row.value.value;
			vals[k].digits = row.value.digits;
			vals[k].scale = (int16_t) row.value.scale;
			vals[k].exact = row.value.exact;
			k++;
		}
		else if (st == EP_ERROR)
			CHECK(0, "form %d refused by the parser: %s", k, err.detail);
	}
	ep_destroy(p);
	free(csv);
	CHECK(k == NFORMS, "parsed %d forms of %d", k, NFORMS);
}

static void
test_value_forms(void)
{
	EcValue		vals[NFORMS];
	Readings	r = readings_new(NFORMS, 0);

	memset(vals, 0, sizeof(vals));
	parse_forms(vals);
	for (int i = 0; i < NFORMS; i++)
	{
		double		want = strtod(forms[i].text, NULL);

		/* the parser's reading of the text, checked by hand */
		CHECK(vals[i].exact == forms[i].exact, "%s: exact %d", forms[i].text, vals[i].exact);
		if (forms[i].exact)
			CHECK(vals[i].digits == forms[i].digits && vals[i].scale == forms[i].scale,
				  "%s: %lld/%d", forms[i].text, (long long) vals[i].digits, vals[i].scale);
		CHECK(memcmp(&vals[i].value, &want, 8) == 0, "%s: double", forms[i].text);

		/* each alone, and with a neighbour on either side */
		{
			Readings	one = readings_new(1, 0);
			Readings	three = readings_new(3, 0);

			one.at[0] = 1800000000;
			one.value[0] = vals[i];
			round_trip(&one, forms[i].text);
			for (int k = 0; k < 3; k++)
			{
				three.at[k] = 1800000000LL * (k + 1);
				three.value[k] = exact(1234, 3);
			}
			three.value[1] = vals[i];
			round_trip(&three, forms[i].text);
			three.value[0] = vals[i];
			three.value[2] = vals[i];
			round_trip(&three, forms[i].text);
			readings_free(&one);
			readings_free(&three);
		}
		r.at[i] = 1800000000LL * (i + 1);
		r.value[i] = vals[i];
	}
	round_trip(&r, "every form in one block");

	/* -0 keeps its sign, and its places */
	{
		Readings	z = readings_new(2, 0);
		size_t		len;
		EcErrorCode rc;
		uint8_t    *b;
		EcValue		v[2];
		EcArrays	out = {NULL, v, NULL, NULL, NULL, false, NULL, NULL};

		z.value[0] = vals[3];	/* -0.000 */
		z.value[1] = vals[1];	/* 0.000000 */
		b = encode(&z, &len, &rc);
		CHECK(b && ec_decode(b, len, 0, &out) == EC_OK, "-0 block");
		CHECK(signbit(v[0].value) && v[0].scale == 3 && v[0].exact, "-0.000 decodes as -0.0 at scale 3");
		CHECK(!signbit(v[1].value) && v[1].scale == 6, "0.000000 decodes as 0.0 at scale 6");
		free(b);
		readings_free(&z);
	}

	/* the encoder refuses what would not round-trip */
	{
		Readings	bad = readings_new(1, 0);
		size_t		len;
		EcErrorCode rc;

		bad.value[0] = exact(15, 1);
		bad.value[0].value = 1.4;
		CHECK(encode(&bad, &len, &rc) == NULL && rc == EC_ERR_INPUT, "exact value with another double");
		bad.value[0] = exact(1, 19);
		CHECK(encode(&bad, &len, &rc) == NULL && rc == EC_ERR_INPUT, "scale 19");
		bad.value[0] = exact(1, -1);
		CHECK(encode(&bad, &len, &rc) == NULL && rc == EC_ERR_INPUT, "scale -1");
		bad.value[0] = exact(0, 2);
		bad.value[0].value = 1e-300;
		CHECK(encode(&bad, &len, &rc) == NULL && rc == EC_ERR_INPUT, "zero digits, nonzero double");
		readings_free(&bad);
	}
	readings_free(&r);
}

/* Doubles the 1.1 tables hold, back to decimals. */
static void
test_from_double(void)
{
	EcValue		v;
	double		in[5] = {0.5, 0.25, 2.0, -21.88, 0.0};
	EcValue		out[5];

	v = ec_value_from_double(0.1);
	CHECK(v.exact && v.digits == 1 && v.scale == 1, "0.1 -> 1/1");
	v = ec_value_from_double(409646.7);
	CHECK(v.exact && v.digits == 4096467 && v.scale == 1, "409646.7");
	v = ec_value_from_double(-0.0);
	CHECK(v.exact && v.digits == 0 && signbit(v.value), "-0.0");
	v = ec_value_from_double(1e300);
	CHECK(!v.exact && v.value == 1e300, "1e300 is not exact");
	v = ec_value_from_double(NAN);
	CHECK(!v.exact && isnan(v.value), "NaN is not exact");
	v = ec_value_from_double(1.0 / 3.0);
	CHECK(v.exact && v.digits == 3333333333333333 && v.scale == 16, "1/3 is 0.3333333333333333");
	v = ec_value_from_double(0.1 + 0.2);
	CHECK(!v.exact && v.value == 0.1 + 0.2, "0.30000000000000004 needs 17 digits: a double");
	v = ec_value_from_double(0.123456789012345);
	CHECK(v.exact && v.digits == 123456789012345 && v.scale == 15, "15 digits");

	ec_values_from_doubles(in, 5, out);
	CHECK(out[0].digits == 50 && out[0].scale == 2, "0.5 at the common scale 2");
	CHECK(out[1].digits == 25 && out[1].scale == 2, "0.25 at scale 2");
	CHECK(out[2].digits == 200 && out[2].scale == 2, "2 at scale 2");
	CHECK(out[3].digits == -2188 && out[3].scale == 2, "-21.88 at scale 2");
	CHECK(out[4].digits == 0 && out[4].scale == 2, "0 at scale 2");
	for (int i = 0; i < 5; i++)
		CHECK(out[i].value == in[i], "value %d unchanged", i);
}

/* ---------- times ---------- */

static void
fill_regular(Readings *r, int64_t start, int64_t step)
{
	for (uint32_t i = 0; i < r->n; i++)
	{
		r->at[i] = start + step * i;
		r->value[i] = exact((int64_t) rnd_below(2500), 3);
	}
}

static void
test_times(void)
{
	const int64_t day = 86400000000LL;
	int64_t		midnight = 5000 * day;	/* 2013-09-09 */
	size_t		len;

	for (int k = 0; k < 3; k++)
	{
		int			per_day = k == 0 ? 48 : (k == 1 ? 96 : 288);
		int64_t		step = day / per_day;
		Readings	r = readings_new(per_day, midnight);
		char		what[64];

		snprintf(what, sizeof(what), "%d a day", per_day);
		fill_regular(&r, midnight + step, step);
		len = round_trip(&r, what);
		/* the times of a regular day cost a handful of bytes */
		CHECK(len > 0 && len < (size_t) per_day * 2 + 20, "%s: %zu bytes", what, len);

		/* gaps: readings missing */
		for (uint32_t i = 10; i < r.n; i++)
			r.at[i] += 3 * step;
		snprintf(what, sizeof(what), "%d a day, a gap", per_day);
		round_trip(&r, what);
		/* a duplicate and a time out of order */
		r.at[5] = r.at[4];
		r.at[20] = r.at[2];
		snprintf(what, sizeof(what), "%d a day, duplicate, backward", per_day);
		round_trip(&r, what);
		/* irregular: microseconds */
		for (uint32_t i = 0; i < r.n; i++)
			r.at[i] = midnight + (int64_t) rnd_below(1000000000) * 97 + 13;
		snprintf(what, sizeof(what), "%d a day, irregular", per_day);
		round_trip(&r, what);
		/* base unrelated to the times, and negative */
		fill_regular(&r, -day * 30000 + 7, step);
		r.base = midnight;
		snprintf(what, sizeof(what), "%d a day, far from base", per_day);
		round_trip(&r, what);
		readings_free(&r);
	}

	/* times that overflow any step: raw */
	{
		Readings	r = readings_new(6, 0);
		int64_t		t[6] = {INT64_MIN, INT64_MAX, 0, INT64_MIN + 1, -1, INT64_MAX - 1};

		for (int i = 0; i < 6; i++)
		{
			r.at[i] = t[i];
			r.value[i] = exact(i, 0);
		}
		round_trip(&r, "extreme times");
		r.base = INT64_MAX;
		round_trip(&r, "extreme times, extreme base");
		r.base = INT64_MIN;
		r.at[0] = INT64_MAX;
		r.n = 1;
		round_trip(&r, "one time, overflowing base");
		readings_free(&r);
	}

	/* every unit: minutes, seconds, milliseconds, microseconds */
	{
		int64_t		units[4] = {60000000, 1000000, 1000, 1};

		for (int u = 0; u < 4; u++)
		{
			Readings	r = readings_new(50, 0);

			fill_regular(&r, units[u] * 7, units[u] * 3);
			r.at[30] += units[u];
			round_trip(&r, "units");
			readings_free(&r);
		}
	}

	/* empty and single */
	{
		Readings	r = readings_new(0, 0);

		round_trip(&r, "no readings");
		readings_free(&r);
		r = readings_new(1, 123);
		r.at[0] = 456;
		r.value[0] = exact(-5, 2);
		round_trip(&r, "one reading");
		readings_free(&r);
	}
}

/* ---------- values of every mix ---------- */

static void
test_values(void)
{
	Readings	r = readings_new(300, 0);

	fill_regular(&r, 0, 300000000);
	round_trip(&r, "random 3-decimal values");
	for (uint32_t i = 0; i < r.n; i++)
		r.value[i] = exact(0, 6);
	round_trip(&r, "all zero");
	for (uint32_t i = 0; i < r.n; i++)
		r.value[i] = exact((int64_t) rnd_below(10000), (int) rnd_below(19));
	round_trip(&r, "mixed scales");
	for (uint32_t i = 0; i < r.n; i++)
		r.value[i] = exact((i & 1) ? INT64_MAX : INT64_MIN + 1, 0);
	/* these doubles come from strtod: check they are what the codec computes */
	round_trip(&r, "extreme digits");
	r.value[0] = exact(INT64_MIN, 0);
	r.value[1] = exact(INT64_MAX, 18);
	round_trip(&r, "INT64_MIN digits, INT64_MAX at scale 18");
	for (uint32_t i = 0; i < r.n; i++)
	{
		uint64_t	bits = rnd();

		r.value[i].exact = false;
		r.value[i].digits = 0;
		r.value[i].scale = 0;
		memcpy(&r.value[i].value, &bits, 8);	/* NaNs, infinities too */
	}
	round_trip(&r, "random doubles");
	for (uint32_t i = 0; i < r.n; i++)
		r.value[i] = (i % 7 == 0) ? ec_value_from_double(-0.0) : exact((int64_t) i * 3 - 400, 3);
	round_trip(&r, "-0 among values");
	readings_free(&r);
}

/* ---------- statuses and marks ---------- */

static void
test_statuses_and_marks(void)
{
	Readings	r = readings_new(96, 0);
	char		names[80][16];
	EcText		empty = {"", 0};
	size_t		len;

	fill_regular(&r, 900000000, 900000000);
	r.status = calloc(96, sizeof(EcText));
	round_trip(&r, "statuses all NULL");
	for (int i = 0; i < 96; i++)
		r.status[i] = (EcText) {"A", 1};
	len = round_trip(&r, "one status throughout");
	CHECK(len > 0, "one status");
	for (int i = 0; i < 96; i++)
		r.status[i] = (i % 10 == 3) ? (EcText) {".....R....", 10} : (EcText) {NULL, 0};
	round_trip(&r, "a status now and then");
	r.status[4] = empty;
	round_trip(&r, "an empty status is not NULL");
	for (int i = 0; i < 80; i++)
		snprintf(names[i], sizeof(names[i]), "S%d", i);
	for (int i = 0; i < 96; i++)
		r.status[i] = (EcText) {names[i % 80], strlen(names[i % 80])};
	round_trip(&r, "more statuses than the dictionary");
	for (int i = 0; i < 96; i++)
		r.status[i] = (EcText) {names[(i / 3) % 80], strlen(names[(i / 3) % 80])};
	round_trip(&r, "more statuses than the dictionary, in runs");

	/* marks */
	r.marks = calloc(96, sizeof(bool));
	round_trip(&r, "marks all false (not NULL)");
	r.marks[0] = r.marks[95] = true;
	round_trip(&r, "marks at both ends");
	for (int i = 0; i < 96; i++)
		r.marks[i] = (i % 2) == 0;
	round_trip(&r, "alternating marks");
	for (int i = 0; i < 96; i++)
		r.marks[i] = true;
	round_trip(&r, "all marked");

	/* re-marking: only the tail changes */
	{
		uint8_t    *b;
		EcErrorCode rc;
		size_t		cap,
					nlen;
		uint8_t    *nb;
		bool		saved[96];

		free(r.marks);
		r.marks = NULL;
		b = encode(&r, &len, &rc);
		memset(saved, 0, sizeof(saved));
		saved[17] = saved[18] = saved[60] = true;
		cap = ec_set_marks_bound(len, 96);
		nb = malloc(cap);
		rc = ec_set_marks(b, len, saved, nb, cap, &nlen);
		CHECK(rc == EC_OK, "set marks: %s", ec_error_name(rc));
		r.marks = malloc(96);
		memcpy(r.marks, saved, 96);
		compare_decoded(nb, nlen, &r, "marks set");
		CHECK(memcmp(nb, b, len - 5) == 0, "marks set: the readings' bytes unchanged");
		for (size_t c = 0; c < nlen; c++)
		{
			uint8_t    *small = malloc(c ? c : 1);
			size_t		slen;

			CHECK(ec_set_marks(b, len, saved, small, c, &slen) == EC_ERR_SPACE, "set marks: %zu bytes is too small", c);
			free(small);
		}
		/* and back to none */
		{
			uint8_t    *ob = malloc(ec_set_marks_bound(nlen, 96));
			size_t		olen;

			rc = ec_set_marks(nb, nlen, NULL, ob, ec_set_marks_bound(nlen, 96), &olen);
			CHECK(rc == EC_OK && olen == len && memcmp(ob, b, len) == 0, "marks cleared: the original block");
			free(ob);
		}
		/* refuses a corrupt block */
		b[1] ^= 0x40;
		CHECK(ec_set_marks(b, len, saved, nb, cap, &nlen) != EC_OK, "set marks on a corrupt block");
		free(b);
		free(nb);
	}
	readings_free(&r);
}

/* ---------- the format itself ---------- */

/*
 * Stored blocks outlive the code that wrote them, so the bytes of one
 * block are fixed here, worked out by hand from the layout atop codec.c:
 * a change of format must come with a new version byte, not by accident.
 */
static void
test_golden(void)
{
	static const uint8_t want[] = {
		0x01,					/* version */
		0x04,					/* n */
		0x06,					/* flags: regular times in minutes, raw values */
		0x3c, 0x3c, 0x00,		/* start 30, interval 30 (zig-zag), no exceptions */
		0x16,					/* scale 3 + 19 x tz 1 */
		0x00, 0x07,				/* min 0, width 7 */
		0x8a, 0x0c, 0x80, 0x0c, /* 10, 25, 0, 100 in 7 bits each */
		0x00,					/* no value exceptions */
		0x01, 0x01, 'A',		/* dictionary: "A" */
		0x01, 0x04,				/* code 1 for 4 readings */
		0x00					/* no marks */
	};
	const uint8_t check[] = "123456789";
	Readings	r = readings_new(4, 5000 * 86400000000LL);
	uint8_t    *b;
	size_t		len;
	EcErrorCode rc;
	uint32_t	crc = ec_crc32c(want, sizeof(want));

	/* the published check value of CRC-32C */
	CHECK(ec_crc32c(check, 9) == 0xE3069283, "CRC-32C of 123456789");

	for (int i = 0; i < 4; i++)
		r.at[i] = r.base + 1800000000LL * (i + 1);
	r.value[0] = exact(100, 3);
	r.value[1] = exact(250, 3);
	r.value[2] = exact(0, 3);
	r.value[3] = exact(1000, 3);
	r.status = calloc(4, sizeof(EcText));
	for (int i = 0; i < 4; i++)
		r.status[i] = (EcText) {"A", 1};
	b = encode(&r, &len, &rc);
	CHECK(b != NULL && len == sizeof(want) + 4, "golden block: %zu bytes", len);
	if (b != NULL && len == sizeof(want) + 4)
	{
		CHECK(memcmp(b, want, sizeof(want)) == 0, "golden block: the bytes");
		CHECK(b[len - 4] == (crc & 0xFF) && b[len - 3] == ((crc >> 8) & 0xFF) &&
			  b[len - 2] == ((crc >> 16) & 0xFF) && b[len - 1] == (crc >> 24),
			  "golden block: the checksum, little-endian");
		compare_decoded(b, len, &r, "golden block");
	}
	free(b);
	readings_free(&r);
}

/* ---------- limits ---------- */

static void
test_limits(void)
{
	Readings	r = readings_new(EC_MAX_READINGS + 1, 0);
	size_t		len;
	EcErrorCode rc;
	uint8_t    *b;

	fill_regular(&r, 0, 1000000);
	CHECK(encode(&r, &len, &rc) == NULL && rc == EC_ERR_INPUT, "65536 readings refused");
	r.n = EC_MAX_READINGS;
	round_trip(&r, "65535 readings");

	/* every buffer shorter than the block is refused, none written past */
	r.n = 48;
	b = encode(&r, &len, &rc);
	for (size_t cap = 0; cap < len; cap++)
	{
		EcBlock		in = {r.n, r.base, r.at, r.value, NULL, NULL};
		uint8_t    *small = malloc(cap ? cap : 1);
		size_t		got;

		CHECK(ec_encode(&in, small, cap, &got) == EC_ERR_SPACE, "cap %zu", cap);
		free(small);
	}
	free(b);

	/* a block claiming more readings than allowed */
	{
		uint8_t		big[12] = {EC_VERSION, 0x80, 0x80, 0x04, 0, 0, 0, 0};
		uint32_t	n;

		CHECK(ec_count(big, 8, &n) == EC_ERR_CORRUPT, "65536 in a block refused");
		big[0] = 2;
		CHECK(ec_count(big, 8, &n) == EC_ERR_VERSION, "version 2 refused");
		CHECK(ec_count(big, 0, &n) == EC_ERR_CORRUPT, "empty block refused");
	}
	readings_free(&r);
}

/* ---------- random blocks ---------- */

static const char *status_pool[] = {"A", "E", "S14", ".....R....", "F52", "", "V"};

static void
random_readings(Readings *r)
{
	uint32_t	n;
	int			shape = (int) rnd_below(10);
	int64_t		step = (int64_t[]) {60000000, 300000000, 900000000, 1800000000, 1, 1000}[rnd_below(6)];
	int			vshape = (int) rnd_below(8);
	int			scale = (int) rnd_below(19);

	n = rnd_below(8) == 0 ? rnd_below(3) : (rnd_below(20) == 0 ? rnd_below(5000) : rnd_below(400));
	*r = readings_new(n, (int64_t) (rnd() % 2000000) * 86400000000LL / 1000 - 400000000000000LL);
	for (uint32_t i = 0; i < n; i++)
	{
		/* times */
		if (shape < 5)
			r->at[i] = r->base + step * (i + 1);
		else if (shape < 7)
			r->at[i] = r->base + step * (i + 1) + (rnd_below(20) == 0 ? step * rnd_below(5) : 0);
		else if (shape < 8)
			r->at[i] = i > 0 && rnd_below(4) == 0 ? r->at[rnd_below(i)] : r->base + step * i;
		else if (shape < 9)
			r->at[i] = (int64_t) rnd();
		else
			r->at[i] = r->base + (int64_t) rnd_below(86400) * 1000000;

		/* values */
		switch (vshape)
		{
			case 0:				/* random walk */
				{
					int64_t		prev = i > 0 && r->value[i - 1].exact ? r->value[i - 1].digits : 1000;

					r->value[i] = exact(prev + (int64_t) rnd_below(401) - 200, 3);
					break;
				}
			case 1:
				r->value[i] = exact((int64_t) rnd_below(5000), scale);
				break;
			case 2:
				r->value[i] = exact((int64_t) (rnd() >> rnd_below(64)) * (rnd_below(2) ? 1 : -1), scale);
				break;
			case 3:				/* spikes */
				r->value[i] = exact(rnd_below(30) == 0 ? (int64_t) rnd_below(1000000000) : (int64_t) rnd_below(100), scale);
				break;
			case 4:				/* mixed scales */
				r->value[i] = exact((int64_t) rnd_below(100000) - 50000, (int) rnd_below(19));
				break;
			default:			/* anything, a few exceptions */
				{
					int			k = (int) rnd_below(20);

					if (k == 0)
						r->value[i] = ec_value_from_double(-0.0), r->value[i].scale = (int16_t) rnd_below(19);
					else if (k == 1)
					{
						uint64_t	bits = rnd();

						r->value[i].exact = false;
						r->value[i].digits = 0;
						r->value[i].scale = 0;
						memcpy(&r->value[i].value, &bits, 8);
					}
					else
						r->value[i] = exact((int64_t) rnd_below(3000), scale);
					break;
				}
		}
	}
	if (rnd_below(3) == 0)
	{
		int			mode = (int) rnd_below(3);

		r->status = calloc(n + 1, sizeof(EcText));
		for (uint32_t i = 0; i < n; i++)
		{
			int			k = mode == 0 ? 0 : (int) rnd_below(mode == 1 ? 40 : 8);

			if (k < 7 && (mode != 1 || k < 2))
			{
				const char *s = status_pool[mode == 1 ? 2 : k];

				r->status[i] = (i > 0 && mode == 1 && rnd_below(4)) ? r->status[i - 1] :
					(EcText) {s, strlen(s)};
			}
			if (mode == 2 && k == 7)
				r->status[i] = (EcText) {NULL, 0};
		}
	}
	if (rnd_below(3) == 0)
	{
		int			mode = (int) rnd_below(3);

		r->marks = calloc(n + 1, sizeof(bool));
		for (uint32_t i = 0; i < n; i++)
			r->marks[i] = mode == 0 ? false : (mode == 1 ? rnd_below(30) == 0 : rnd_below(2) == 0);
	}
}

static void
test_random(int blocks)
{
	int			bad = 0;

	for (int k = 0; k < blocks; k++)
	{
		Readings	r;
		char		what[32];

		random_readings(&r);
		snprintf(what, sizeof(what), "random block %d", k);
		if (round_trip(&r, what) == 0)
			bad++;
		readings_free(&r);
	}
	CHECK(bad == 0, "random blocks: %d failed to encode", bad);
}

/* ---------- corruption ---------- */

/* Decode with every entry point; returns whether all of them refused. */
static bool
all_refuse(const uint8_t *block, size_t len, EcErrorCode *why)
{
	uint32_t	n = 0;
	EcErrorCode rc;
	EcIter		it;
	uint8_t    *out;
	size_t		olen;
	bool		refused = true;

	rc = ec_count(block, len, &n);
	if (rc == EC_OK)
	{
		EcArrays	a = {0};

		a.at = malloc(sizeof(int64_t) * (n + 1));
		a.value = malloc(sizeof(EcValue) * (n + 1));
		a.value_double = malloc(sizeof(double) * (n + 1));
		a.status = malloc(sizeof(EcText) * (n + 1));
		a.superseded = malloc(sizeof(bool) * (n + 1));
		rc = ec_decode(block, len, 0, &a);
		free(a.at);
		free(a.value);
		free(a.value_double);
		free(a.status);
		free(a.superseded);
	}
	*why = rc;
	if (rc == EC_OK)
		refused = false;
	if (ec_iter_begin(block, len, &it) == EC_OK)
	{
		EcValue		v;
		bool		m;

		while (ec_iter_next(&it, &v, &m))
			;
		refused = false;
	}
	out = malloc(ec_set_marks_bound(len, EC_MAX_READINGS));
	if (ec_set_marks(block, len, NULL, out, ec_set_marks_bound(len, EC_MAX_READINGS), &olen) == EC_OK)
		refused = false;
	free(out);
	return refused;
}

/* Forge the checksum of a corrupt block: reaches the structural checks. */
static void
forge_crc(uint8_t *b, size_t len)
{
	uint32_t	crc;

	if (len < 4)
		return;
	crc = ec_crc32c(b, len - 4);
	for (int k = 0; k < 4; k++)
		b[len - 4 + k] = (uint8_t) (crc >> (8 * k));
}

static void
test_corruption(int blocks)
{
	int			truncations = 0,
				corruptions = 0,
				forged = 0,
				forged_refused = 0;
	int			not_refused = 0;

	for (int k = 0; k < blocks; k++)
	{
		Readings	r;
		size_t		len;
		EcErrorCode rc;
		uint8_t    *b;

		random_readings(&r);
		if (r.n > 400)
			r.n = 400;			/* every truncation costs len^2 */
		b = encode(&r, &len, &rc);
		if (b == NULL)
		{
			readings_free(&r);
			continue;
		}
		/* every truncation */
		for (size_t cut = 0; cut < len; cut++)
		{
			uint8_t    *t = malloc(cut ? cut : 1);

			memcpy(t, b, cut);
			if (!all_refuse(t, cut, &rc))
				not_refused++;
			truncations++;
			/* and truncated with a forged checksum: must not crash */
			forge_crc(t, cut);
			(void) all_refuse(t, cut, &rc);
			free(t);
		}
		/* random corruptions of one to four bytes */
		for (int c = 0; c < 40; c++)
		{
			uint8_t    *t = malloc(len);
			int			nb = 1 + (int) rnd_below(4);
			bool		changed = false;

			memcpy(t, b, len);
			for (int j = 0; j < nb; j++)
			{
				size_t		at = rnd_below((uint32_t) len);
				uint8_t		x = (uint8_t) (rnd_below(2) ? 1u << rnd_below(8) : rnd_below(255) + 1);

				t[at] ^= x;
			}
			changed = memcmp(t, b, len) != 0;
			if (changed)
			{
				if (!all_refuse(t, len, &rc))
					not_refused++;
				corruptions++;
				/* past the checksum: any answer but a crash */
				forge_crc(t, len);
				if (memcmp(t, b, len) != 0)
				{
					forged++;
					if (all_refuse(t, len, &rc))
						forged_refused++;
				}
			}
			free(t);
		}
		free(b);
		readings_free(&r);
	}
	CHECK(not_refused == 0, "%d corrupt blocks were not refused", not_refused);
	printf("codec: %d truncations and %d corruptions refused; %d with a forged checksum decoded "
		   "without a crash (%d of them refused)\n",
		   truncations, corruptions, forged, forged_refused);
}

/* ---------- the status check ---------- */

/* Refuses a status with a byte 0xFF; counts its calls. */
static int	text_calls;

static bool
no_ff(const char *ptr, size_t len, void *arg)
{
	text_calls++;
	(void) arg;
	return memchr(ptr, 0xFF, len) == NULL;
}

/*
 * Every stored string is checked once (dictionary entries and inline
 * statuses, not each reading), by ec_decode with EcArrays.check and by
 * ec_check_texts, and one refused string refuses the block with
 * EC_ERR_TEXT; without a check the same block decodes.
 */
static void
test_text_check(void)
{
	/* 60 readings: "A" x 20, 34 distinct statuses, "A" x 3, then NULLs */
	Readings	r = readings_new(60, 0);
	char		names[40][8];
	size_t		len;
	EcErrorCode rc;
	uint8_t    *b;
	int			distinct;

	r.status = calloc(60, sizeof(EcText));
	for (uint32_t i = 0; i < 60; i++)
	{
		r.at[i] = 900000000LL * i;
		r.value[i] = exact(i, 0);
		if (i < 20)
			r.status[i] = (EcText) {"A", 1};
		else if (i < 54)
		{
			snprintf(names[i - 20], sizeof(names[0]), "S%u", i);
			r.status[i] = (EcText) {names[i - 20], strlen(names[i - 20])};
		}
		else if (i < 57)
			r.status[i] = (EcText) {"A", 1};
	}
	/* by hand: "A" and S20 .. S50 fill the dictionary of 32, S51 .. S53 inline */
	distinct = 32 + 3;
	b = encode(&r, &len, &rc);
	CHECK(b != NULL, "encode: %s", ec_error_name(rc));
	if (b != NULL)
	{
		EcArrays	a = {0};
		EcText		st[60];

		a.status = st;
		a.check = no_ff;
		text_calls = 0;
		CHECK(ec_decode(b, len, 0, &a) == EC_OK, "clean statuses decode with a check");
		CHECK(text_calls == distinct, "checked %d strings, want %d", text_calls, distinct);
		text_calls = 0;
		CHECK(ec_check_texts(b, len, no_ff, NULL) == EC_OK && text_calls == distinct,
			  "ec_check_texts checks %d strings", text_calls);
		free(b);
	}

	/* 0xFF in a dictionary entry, then in an inline status */
	for (int where = 0; where < 2; where++)
	{
		char		bad[4] = {'X', (char) 0xFF, 'Y', 0};

		if (where == 0)
			r.status[0] = (EcText) {bad, 3};
		else
		{
			r.status[0] = (EcText) {"A", 1};
			r.status[53] = (EcText) {bad, 3};
		}
		b = encode(&r, &len, &rc);
		CHECK(b != NULL, "encode: %s", ec_error_name(rc));
		if (b != NULL)
		{
			EcArrays	a = {0};
			EcText		st[60];

			a.status = st;
			a.check = no_ff;
			CHECK(ec_decode(b, len, 0, &a) == EC_ERR_TEXT, "%s status refused by the check",
				  where == 0 ? "dictionary" : "inline");
			CHECK(ec_check_texts(b, len, no_ff, NULL) == EC_ERR_TEXT,
				  "ec_check_texts refuses it too");
			a.check = NULL;
			CHECK(ec_decode(b, len, 0, &a) == EC_OK &&
				  st[where == 0 ? 0 : 53].len == 3 &&
				  memcmp(st[where == 0 ? 0 : 53].ptr, bad, 3) == 0,
				  "without a check the bytes decode as stored");
			free(b);
		}
	}
	readings_free(&r);
}

int
main(int argc, char **argv)
{
	int			blocks = argc > 1 ? atoi(argv[1]) : 5000;

	(void) read_file;			/* unit.h's, for the parser's tests */

	test_value_forms();
	test_from_double();
	test_times();
	test_values();
	test_statuses_and_marks();
	test_text_check();
	test_golden();
	test_limits();
	test_random(blocks);
	test_corruption(blocks / 25);
	CHECK(live_blocks == 0, "no parser memory leaked");

	printf("codec: %d passed, %d failed\n", passed, failed);
	return failed > 0 ? 1 : 0;
}
