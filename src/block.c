/*-------------------------------------------------------------------------
 *
 * block.c
 *	  The stored form of LP readings: one encoded block (codec.c) per
 *	  segment-day chunk, and the SQL functions that read and re-mark it.
 *
 * codec.c knows bytes and nothing of PostgreSQL; this file is its backend
 * glue.  The sink encodes each chunk it writes (energy_block_make), the
 * overlap stage decodes the chunks it compares and flips their superseded
 * marks without touching the rest (energy_block_decode, energy_block_remark),
 * and SQL reads blocks through three functions:
 *
 *	 energy_block_readings(block, day)	 one row per reading, for energy_data
 *										 and energy_resolve();
 *	 energy_block_marks(block, marks)	 the block with other marks, for
 *										 energy_resolve() on Citus;
 *	 energy_block_encode(at, value, status, superseded, day)
 *										 a 1.1 chunk's arrays as a block, for
 *										 the 1.1 -> 1.2 upgrade.
 *
 * Times are stored relative to the chunk's day (its midnight), which the
 * row already holds, so a regular day costs a few bytes of times.  A block
 * is untrusted input (a corrupt page, a hand-made bytea): the codec checks
 * it in full, and a problem is 22P03 / XX001, never a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port/pg_crc32c.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_block_readings);
PG_FUNCTION_INFO_V1(energy_block_marks);
PG_FUNCTION_INFO_V1(energy_block_encode);

/*
 * The blocks' checksum, as codec.c's reference computes it (CRC-32C, all
 * ones in and out), through PostgreSQL's implementation: the CPU's CRC
 * instruction where it has one (the Makefile builds codec.o with
 * EC_SERVER_CRC, so this one is linked in).
 */
uint32_t
ec_crc32c(const uint8_t *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return (uint32_t) crc;
}

/* The timestamp the times of a day's block are stored against. */
static inline int64
block_base(DateADT day)
{
	return (int64) day * USECS_PER_DAY;
}

/*
 * A codec problem as an error.  A block that does not decode is damaged
 * storage (XX001, as PostgreSQL reports a corrupt page), unless it came
 * from the caller (22P03, invalid binary representation).
 */
static void
block_error(EcErrorCode rc, bool stored)
{
	ereport(ERROR,
			(errcode(rc == EC_ERR_INPUT ? ERRCODE_INVALID_PARAMETER_VALUE :
					 stored ? ERRCODE_DATA_CORRUPTED :
					 ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("energy readings block is not valid: %s", ec_error_name(rc)),
			 errdetail("%s", ec_error_detail(rc))));
}

/*
 * Values the codec will take as exact: a decimal whose double is the
 * parser's.  The parser's doubles are correctly rounded, so this holds for
 * every exact value it gives; a value that somehow is not is kept as its
 * double (not exact), which is what the sum does with it anyway.
 */
static void
block_check_values(EcValue *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].exact && (v[i].scale < 0 || v[i].scale > EC_MAX_SCALE ||
						   ec_decimal_to_double(v[i].digits, v[i].scale) != v[i].value ||
						   (v[i].digits == 0 && signbit(v[i].value))))
		{
			/* -0 is exact for the codec too, with digits 0 */
			if (v[i].digits == 0 && v[i].value == 0.0)
				continue;
			v[i].exact = false;
			v[i].digits = 0;
			v[i].scale = 0;
		}
}

/*
 * Encode a chunk.  status is NULL (no reading has one) or n texts, each
 * NULL or not; marks NULL is "nothing superseded".  values may be adjusted
 * (see block_check_values) if the codec refuses them as given.
 */
bytea *
energy_block_make(int n, DateADT day, const Timestamp *at, EcValue *values,
				  text **status, const bool *marks)
{
	EcBlock		in;
	EcText	   *st = NULL;
	size_t		cap;
	size_t		len;
	bytea	   *out;
	EcErrorCode rc;

	in.n = (uint32_t) n;
	in.base = block_base(day);
	in.at = at;
	in.value = values;
	in.superseded = marks;
	if (status != NULL)
	{
		st = palloc(sizeof(EcText) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			st[i].ptr = status[i] ? VARDATA_ANY(status[i]) : NULL;
			st[i].len = status[i] ? VARSIZE_ANY_EXHDR(status[i]) : 0;
		}
	}
	in.status = st;
	cap = ec_encode_bound(&in);
	out = palloc(VARHDRSZ + cap);
	rc = ec_encode(&in, (uint8_t *) VARDATA(out), cap, &len);
	if (rc == EC_ERR_INPUT)
	{
		block_check_values(values, n);
		rc = ec_encode(&in, (uint8_t *) VARDATA(out), cap, &len);
	}
	if (rc != EC_OK)
		block_error(rc, false);
	SET_VARSIZE(out, VARHDRSZ + len);
	if (st)
		pfree(st);
	return out;
}

/*
 * Decode a stored block into arrays the caller gets back in *out, each n
 * long (palloc'd in the current context); a NULL pointer in want is a part
 * not wanted.  Statuses point into the block, which must outlive them.
 */
int
energy_block_decode(const bytea *block, DateADT day, EcArrays *out)
{
	const uint8_t *data = (const uint8_t *) VARDATA_ANY(block);
	size_t		len = VARSIZE_ANY_EXHDR(block);
	uint32_t	n;
	EcErrorCode rc;
	EcArrays	want = *out;

	if ((rc = ec_count(data, len, &n)) != EC_OK)
		block_error(rc, true);
	if (want.at)
		out->at = palloc(sizeof(int64) * Max(n, 1));
	if (want.value)
		out->value = palloc(sizeof(EcValue) * Max(n, 1));
	if (want.value_double)
		out->value_double = palloc(sizeof(double) * Max(n, 1));
	if (want.status)
		out->status = palloc(sizeof(EcText) * Max(n, 1));
	if (want.superseded)
		out->superseded = palloc(sizeof(bool) * Max(n, 1));
	if ((rc = ec_decode(data, len, block_base(day), out)) != EC_OK)
		block_error(rc, true);
	return (int) n;
}

/*
 * The block with other superseded marks (NULL: none), the readings' bytes
 * kept as they are.
 */
bytea *
energy_block_remark(const bytea *block, const bool *marks)
{
	const uint8_t *data = (const uint8_t *) VARDATA_ANY(block);
	size_t		len = VARSIZE_ANY_EXHDR(block);
	uint32_t	n;
	size_t		cap;
	size_t		out_len;
	bytea	   *out;
	EcErrorCode rc;

	if ((rc = ec_count(data, len, &n)) != EC_OK)
		block_error(rc, true);
	cap = ec_set_marks_bound(len, n);
	out = palloc(VARHDRSZ + cap);
	if ((rc = ec_set_marks(data, len, marks, (uint8_t *) VARDATA(out), cap, &out_len)) != EC_OK)
		block_error(rc, true);
	SET_VARSIZE(out, VARHDRSZ + out_len);
	return out;
}

/*
 * energy_block_readings(block bytea, day date)
 *	  RETURNS TABLE (at timestamp, value float8, status text, superseded boolean)
 *
 * Every reading of a block in stored order, superseded ones included (the
 * view filters them; energy_resolve() needs them).  Materialize mode: a
 * block is at most a day of one channel.
 */
Datum
energy_block_readings(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *block = PG_GETARG_BYTEA_PP(0);
	DateADT		day = PG_GETARG_DATEADT(1);
	EcArrays	a = {0};
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	a.at = (int64 *) 1;
	a.value_double = (double *) 1;
	a.status = (EcText *) 1;
	a.superseded = (bool *) 1;
	n = energy_block_decode(block, day, &a);
	for (int i = 0; i < n; i++)
	{
		Datum		v[4];
		bool		nulls[4] = {false, false, false, false};

		v[0] = TimestampGetDatum(a.at[i]);
		v[1] = Float8GetDatum(a.value_double[i]);
		if (a.status[i].ptr == NULL)
		{
			nulls[2] = true;
			v[2] = (Datum) 0;
		}
		else
			v[2] = PointerGetDatum(cstring_to_text_with_len(a.status[i].ptr,
															(int) a.status[i].len));
		v[3] = BoolGetDatum(a.superseded[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
	}
	return (Datum) 0;
}

/*
 * energy_block_marks(block bytea, marks boolean[]) RETURNS bytea
 *
 * The block with these superseded marks (NULL: none superseded).  A marks
 * array must have one element per reading; a NULL element is false.
 */
Datum
energy_block_marks(PG_FUNCTION_ARGS)
{
	bytea	   *block;
	bool	   *marks = NULL;
	uint32_t	n;
	EcErrorCode rc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	block = PG_GETARG_BYTEA_PP(0);
	if ((rc = ec_count((const uint8_t *) VARDATA_ANY(block), VARSIZE_ANY_EXHDR(block), &n)) != EC_OK)
		block_error(rc, false);
	if (!PG_ARGISNULL(1))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *elems;
		bool	   *nulls;
		int			count;

		deconstruct_array(arr, BOOLOID, 1, true, TYPALIGN_CHAR, &elems, &nulls, &count);
		if (ARR_NDIM(arr) > 1 || count != (int) n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("marks have %d elements, the block %u readings", count, n)));
		marks = palloc(sizeof(bool) * Max(count, 1));
		for (int i = 0; i < count; i++)
			marks[i] = !nulls[i] && DatumGetBool(elems[i]);
	}
	PG_RETURN_BYTEA_P(energy_block_remark(block, marks));
}

/* Elements of a one-dimensional array argument, checked to be n long. */
static int
block_arg_array(FunctionCallInfo fcinfo, int arg, Oid type, Datum **elems,
				bool **nulls, int expect)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(arg);
	int16		len;
	bool		byval;
	char		align;
	int			n;

	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(arr, type, len, byval, align, elems, nulls, &n);
	if (ARR_NDIM(arr) > 1 || (expect >= 0 && n != expect))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("a chunk's arrays differ in length: %d and %d", expect, n)));
	return n;
}

/* Times and values have no NULL: a chunk's arrays never held one. */
static void
block_no_nulls(const bool *nulls, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a chunk's %s is null", what)));
}

/*
 * energy_block_encode(at timestamp[], value float8[], status text[],
 *					   superseded boolean[], day date) RETURNS bytea
 *
 * A 1.1 chunk as a block, for the upgrade.  1.1 kept values as float8, so
 * each becomes the shortest decimal that gives its double back (what the
 * file most likely wrote, and exactly the double either way), all at one
 * scale so the block needs none per value.
 */
Datum
energy_block_encode(PG_FUNCTION_ARGS)
{
	Datum	   *at_d;
	Datum	   *val_d;
	bool	   *nulls;
	int			n;
	Timestamp  *at;
	double	   *dv;
	EcValue    *v;
	text	  **status = NULL;
	bool	   *marks = NULL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4))
		PG_RETURN_NULL();
	n = block_arg_array(fcinfo, 0, TIMESTAMPOID, &at_d, &nulls, -1);
	if (n > EC_MAX_READINGS)
		block_error(EC_ERR_INPUT, false);
	block_no_nulls(nulls, n, "time");
	at = palloc(sizeof(Timestamp) * Max(n, 1));
	for (int i = 0; i < n; i++)
		at[i] = DatumGetTimestamp(at_d[i]);
	block_arg_array(fcinfo, 1, FLOAT8OID, &val_d, &nulls, n);
	block_no_nulls(nulls, n, "value");
	dv = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
		dv[i] = DatumGetFloat8(val_d[i]);
	v = palloc(sizeof(EcValue) * Max(n, 1));
	ec_values_from_doubles(dv, (uint32_t) n, v);
	if (!PG_ARGISNULL(2))
	{
		Datum	   *st;

		block_arg_array(fcinfo, 2, TEXTOID, &st, &nulls, n);
		status = palloc(sizeof(text *) * Max(n, 1));
		for (int i = 0; i < n; i++)
			status[i] = nulls[i] ? NULL : DatumGetTextPP(st[i]);
	}
	if (!PG_ARGISNULL(3))
	{
		Datum	   *m;
		int			nm;

		/* as 1.1 read them: a missing or NULL element is false */
		nm = block_arg_array(fcinfo, 3, BOOLOID, &m, &nulls, -1);
		marks = palloc0(sizeof(bool) * Max(n, 1));
		for (int i = 0; i < Min(n, nm); i++)
			marks[i] = !nulls[i] && DatumGetBool(m[i]);
	}
	PG_RETURN_BYTEA_P(energy_block_make(n, PG_GETARG_DATEADT(4), at, v, status, marks));
}
