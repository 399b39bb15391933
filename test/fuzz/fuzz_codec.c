/*-------------------------------------------------------------------------
 *
 * fuzz_codec.c
 *	  libFuzzer harness for the readings codec.
 *
 * A stored block is untrusted input, so most of the work is decoding
 * arbitrary bytes through every entry point (ec_count, ec_decode,
 * ec_iter_*, ec_set_marks), from an exact-size heap copy so that ASan sees
 * any read past the end.  Random bytes almost never carry a valid
 * checksum, so the first byte of the input also chooses to forge one: then
 * the structural checks behind it are what the fuzzer explores.  A block
 * that decodes must re-encode, after ec_set_marks(), to the same readings.
 *
 * The other half is differential: readings built from the input's bytes
 * (times, digits, scales, doubles, statuses, marks) are encoded, and the
 * decoded block must give back exactly the same readings.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the input as a stream of numbers; zeros once it runs out. */
typedef struct Src
{
	const uint8_t *p;
	size_t		left;
} Src;

static uint64_t
take(Src *s, int nbytes)
{
	uint64_t	v = 0;

	for (int k = 0; k < nbytes; k++)
	{
		v <<= 8;
		if (s->left > 0)
		{
			v |= *s->p++;
			s->left--;
		}
	}
	return v;
}

/*
 * A status check that reads every byte it is given (ASan sees a string
 * that reaches past the block) and refuses one holding 0xFF.
 */
static bool
no_ff(const char *ptr, size_t len, void *arg)
{
	size_t	   *seen = arg;

	*seen += len;
	for (size_t k = 0; k < len; k++)
		if ((uint8_t) ptr[k] == 0xFF)
			return false;
	return true;
}

/* Every decoder on one block; returns whether ec_decode accepted it. */
static bool
decode_all(const uint8_t *block, size_t len)
{
	uint32_t	n;
	EcArrays	a = {0};
	EcIter		it;
	bool		ok = false;
	uint8_t    *out;
	size_t		cap,
				olen;

	if (ec_count(block, len, &n) == EC_OK)
	{
		a.at = malloc(sizeof(int64_t) * (n + 1));
		a.value = malloc(sizeof(EcValue) * (n + 1));
		a.value_double = malloc(sizeof(double) * (n + 1));
		a.status = malloc(sizeof(EcText) * (n + 1));
		a.superseded = malloc(sizeof(bool) * (n + 1));
		ok = ec_decode(block, len, 12345, &a) == EC_OK;
		if (ok)
		{
			/* statuses point into the block */
			for (uint32_t i = 0; i < n; i++)
				if (a.status[i].ptr != NULL &&
					((const uint8_t *) a.status[i].ptr < block ||
					 (const uint8_t *) a.status[i].ptr + a.status[i].len > block + len))
					abort();
		}
		free(a.at);
		free(a.value);
		free(a.value_double);
		free(a.status);
		free(a.superseded);
	}
	if (ec_iter_begin(block, len, &it) == EC_OK)
	{
		EcValue		v;
		bool		m;
		uint32_t	k = 0;

		if (!ok)
			abort();			/* the two checks must agree */
		while (ec_iter_next(&it, &v, &m))
			k++;
		if (k != n)
			abort();
	}
	else if (ok)
		abort();
	/* with a status check: what decodes is accepted or EC_ERR_TEXT, no more */
	{
		size_t		seen = 0;
		EcErrorCode rc = ec_check_texts(block, len, no_ff, &seen);

		if (ok ? (rc != EC_OK && rc != EC_ERR_TEXT) : rc == EC_OK)
			abort();
		if (seen > len)
			abort();			/* each stored string once, inside the block */
	}
	cap = ec_set_marks_bound(len, n);
	out = malloc(cap);
	if ((ec_set_marks(block, len, NULL, out, cap, &olen) == EC_OK) != ok)
		abort();
	free(out);
	return ok;
}

static void
decode_bytes(const uint8_t *data, size_t size, bool forge)
{
	uint8_t    *b = malloc(size + 4 + 1);

	memcpy(b, data, size);
	if (forge)
	{
		uint32_t	crc = ec_crc32c(b, size);

		for (int k = 0; k < 4; k++)
			b[size + k] = (uint8_t) (crc >> (8 * k));
		size += 4;
	}
	(void) decode_all(b, size);
	free(b);
}

static bool
same_value(const EcValue *a, const EcValue *b)
{
	if (memcmp(&a->value, &b->value, sizeof(double)) != 0 || a->exact != b->exact)
		return false;
	return !a->exact || (a->digits == b->digits && a->scale == b->scale);
}

static void
round_trip(const uint8_t *data, size_t size)
{
	Src			s = {data, size};
	uint32_t	n = (uint32_t) take(&s, 2) % 1200;
	int			tshape = (int) take(&s, 1);
	int64_t		step = (int64_t) take(&s, 4) * (tshape & 1 ? 60000000 : 1);
	int64_t		base = (int64_t) take(&s, 8);
	int			vshape = (int) take(&s, 1);
	int			scale = (int) take(&s, 1) % (EC_MAX_SCALE + 1);
	bool		with_status = take(&s, 1) & 1;
	int			marks_shape = (int) take(&s, 1) % 3;
	int64_t    *at = malloc(sizeof(int64_t) * (n + 1));
	EcValue    *v = malloc(sizeof(EcValue) * (n + 1));
	EcText	   *st = malloc(sizeof(EcText) * (n + 1));
	bool	   *marks = malloc(n + 1);
	static const char pool[] = "AES14F52V.....R....";
	EcBlock		in;
	size_t		bound,
				len;
	uint8_t    *buf,
			   *block;
	EcErrorCode rc;

	for (uint32_t i = 0; i < n; i++)
	{
		uint8_t		k = (uint8_t) take(&s, 1);

		/* times: regular with deviations, or anything */
		if (tshape & 2)
			at[i] = (int64_t) take(&s, 8);
		else
			at[i] = (int64_t) ((uint64_t) (i == 0 ? base : at[i - 1]) + (uint64_t) step +
							   ((k & 0xF0) == 0xF0 ?
								(uint64_t) (int64_t) (int8_t) take(&s, 1) * (uint64_t) step : 0));

		/* values: digits at the scale, or one of the exceptions */
		if ((k & 0x0F) == 0x0F)
		{
			uint64_t	bits = take(&s, 8);

			memcpy(&v[i].value, &bits, 8);
			v[i].exact = false;
			v[i].digits = 0;
			v[i].scale = 0;
		}
		else
		{
			int			sc = (vshape & 1) ? (int) take(&s, 1) % (EC_MAX_SCALE + 1) : scale;
			uint64_t	u = take(&s, (vshape >> 1) % 8 + 1);
			int64_t		d = (int64_t) ((k & 0x08) ? ~u + 1 : u);

			v[i].digits = d;
			v[i].scale = (int16_t) sc;
			v[i].exact = true;
			v[i].value = d == 0 ? ((k & 0x0F) == 0x0E ? -0.0 : 0.0) :
				ec_decimal_to_double(d, sc);
		}
		st[i].ptr = NULL;
		st[i].len = 0;
		if (with_status && (k & 0x30))
		{
			size_t		off = take(&s, 1) % sizeof(pool);

			st[i].ptr = pool + off;
			st[i].len = take(&s, 1) % (sizeof(pool) - off);
		}
		marks[i] = marks_shape == 2 ? (k & 0x40) != 0 : false;
	}
	in.n = n;
	in.base = base;
	in.at = at;
	in.value = v;
	in.status = with_status ? st : NULL;
	in.superseded = marks_shape ? marks : NULL;
	bound = ec_encode_bound(&in);
	buf = malloc(bound);
	rc = ec_encode(&in, buf, bound, &len);
	if (rc != EC_OK)
		abort();
	block = malloc(len);
	memcpy(block, buf, len);
	free(buf);
	{
		EcArrays	a = {0};

		a.at = malloc(sizeof(int64_t) * (n + 1));
		a.value = malloc(sizeof(EcValue) * (n + 1));
		a.value_double = NULL;
		a.status = malloc(sizeof(EcText) * (n + 1));
		a.superseded = malloc(n + 1);
		if (ec_decode(block, len, base, &a) != EC_OK)
			abort();
		if (a.has_marks != (marks_shape != 0))
			abort();
		for (uint32_t i = 0; i < n; i++)
		{
			const EcText *want = with_status ? &st[i] : NULL;

			if (a.at[i] != at[i] || !same_value(&a.value[i], &v[i]))
				abort();
			if (want == NULL || want->ptr == NULL ? a.status[i].ptr != NULL :
				(a.status[i].ptr == NULL || a.status[i].len != want->len ||
				 memcmp(a.status[i].ptr, want->ptr, want->len) != 0))
				abort();
			if (a.superseded[i] != (marks_shape ? marks[i] : false))
				abort();
		}
		free(a.at);
		free(a.value);
		free(a.status);
		free(a.superseded);
	}
	(void) decode_all(block, len);
	free(block);
	free(at);
	free(v);
	free(st);
	free(marks);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3)
	{
		case 0:
			decode_bytes(data + 1, size - 1, false);
			break;
		case 1:
			decode_bytes(data + 1, size - 1, true);
			break;
		default:
			round_trip(data + 1, size - 1);
			break;
	}
	return 0;
}
