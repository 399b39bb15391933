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
 *	 energy_block_readings(block, day)	 one row per reading, for
 *										 energy_resolve() and callers;
 *	 energy_block_readings(block, day, meter_id, file_id)
 *										 the same for energy_data, whose
 *										 errors name the row's meter and file;
 *	 energy_block_marks(block, marks)	 the block with other marks, for
 *										 energy_resolve() on Citus;
 *	 energy_block_encode(at, value, status, superseded, day)
 *										 a 1.1 chunk's arrays as a block, for
 *										 the 1.1 -> 1.2 upgrade.
 *
 * Times are stored relative to the chunk's day (its midnight), which the
 * row already holds, so a regular day costs a few bytes of times.  A block
 * is untrusted input (a corrupt page, a hand-made bytea): the codec checks
 * it in full, statuses must be text in the database's encoding and times
 * valid timestamps, and a problem is an error, never a crash: XX001 (data
 * corrupted) for a block the server read from energy_reading, with a
 * context naming its meter, day and file, and 22P03 (invalid binary
 * representation) for bytes a caller passed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "energy.h"

PG_FUNCTION_INFO_V1(energy_block_readings);
PG_FUNCTION_INFO_V1(energy_block_readings_of);
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

/*
 * The timestamp the times of a day's block are stored against: the day's
 * midnight.  A day whose midnight is no timestamp (infinity, or beyond
 * 294276 AD) is refused: its product would overflow, and the times
 * decoded from it wrap around to other days without a word.
 */
static int64
block_base(DateADT day)
{
	if (day < DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE ||
		day >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("day %s is out of range for energy readings",
						DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(day)))),
				 errdetail("A block's times are stored relative to its day's midnight, which must be a valid timestamp.")));
	return (int64) day * USECS_PER_DAY;
}

/*
 * A codec problem as an error.  A block the server read from
 * energy_reading is damaged storage (XX001, as PostgreSQL reports a corrupt
 * page), and where says which (energy_block_where); bytes a caller passed
 * are 22P03 (invalid binary representation), or 22023 for readings the
 * encoder refuses.  elevel is ERROR but where the overlap stage goes on
 * without the block (resolve.c).
 */
void
energy_block_report(int elevel, EcErrorCode rc, bool stored, const char *where)
{
	ereport(elevel,
			(errcode(rc == EC_ERR_INPUT ? ERRCODE_INVALID_PARAMETER_VALUE :
					 stored ? ERRCODE_DATA_CORRUPTED :
					 ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("energy readings block is not valid: %s", ec_error_name(rc)),
			 errdetail("%s", ec_error_detail(rc)),
			 where ? errcontext("energy_reading block of %s", where) : 0));
}

static void
block_error(EcErrorCode rc, bool stored)
{
	energy_block_report(ERROR, rc, stored, NULL);
}

/*
 * Which stored block an error is about: its meter, day and file, by code
 * and name where the caller may read energy_meter and energy_file (their
 * SELECT is PUBLIC's unless revoked), else by id.  Runs a statement: call
 * it before raising the error, never from an error callback.
 */
char *
energy_block_where(Oid nspid, int64 meter_id, int64 file_id, DateADT day)
{
	MemoryContext outer = CurrentMemoryContext;
	int			y,
				m,
				d;
	char	   *meter = psprintf("meter_id " INT64_FORMAT, meter_id);
	char	   *file = psprintf("file_id " INT64_FORMAT, file_id);
	Oid			meter_rel = get_relname_relid("energy_meter", nspid);
	Oid			file_rel = get_relname_relid("energy_file", nspid);

	if (OidIsValid(meter_rel) && OidIsValid(file_rel) &&
		pg_class_aclcheck(meter_rel, GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
		pg_class_aclcheck(file_rel, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
	{
		const char *ns = quote_identifier(get_namespace_name(nspid));
		Oid			types[2] = {INT8OID, INT8OID};
		Datum		args[2] = {Int64GetDatum(meter_id), Int64GetDatum(file_id)};

		SPI_connect();
		energy_spi_exec(psprintf("SELECT (SELECT m.meter_code FROM %1$s.energy_meter m "
								 "WHERE m.meter_id OPERATOR(pg_catalog.=) $1), "
								 "(SELECT f.file_name FROM %1$s.energy_file f "
								 "WHERE f.file_id OPERATOR(pg_catalog.=) $2)", ns),
						2, types, args, NULL, true, SPI_OK_SELECT,
						"naming a damaged block");
		if (SPI_processed == 1)
		{
			char	   *code = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			char	   *name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

			if (code != NULL)
				meter = MemoryContextStrdup(outer, psprintf("\"%s\"", code));
			if (name != NULL)
				file = MemoryContextStrdup(outer, psprintf("\"%s\"", name));
		}
		SPI_finish();
	}
	/* the day in ISO form, whatever DateStyle says: a stored day is AD */
	j2date(day + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	return psprintf("meter %s, day %04d-%02d-%02d, file %s", meter, y, m, d, file);
}

/*
 * The codec's status check: a status is handed to SQL as text, so it must
 * be valid in the database's encoding, without a NUL (pg_verifymbstr).
 */
static bool
block_text_ok(const char *ptr, size_t len, void *arg)
{
	return len <= (size_t) MaxAllocSize && pg_verifymbstr(ptr, (int) len, true);
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
 * Decode a block into arrays the caller gets back in *out, each *n long
 * (palloc'd in the current context); a NULL pointer in want is a part not
 * wanted.  Statuses point into the block, which must outlive them, and are
 * checked to be text (block_text_ok) whether wanted or not, once per
 * stored string; times are checked to be timestamps.  A block that does
 * not decode is its code, not an error: the caller reports it
 * (energy_block_report) or goes on without it.
 */
EcErrorCode
energy_block_try_decode(const bytea *block, DateADT day, EcArrays *out, int *n)
{
	const uint8_t *data = (const uint8_t *) VARDATA_ANY(block);
	size_t		len = VARSIZE_ANY_EXHDR(block);
	int64		base = block_base(day);
	uint32_t	count;
	EcErrorCode rc;
	EcArrays	want = *out;

	*n = 0;
	if ((rc = ec_count(data, len, &count)) != EC_OK)
		return rc;
	if (want.at)
		out->at = palloc(sizeof(int64) * Max(count, 1));
	if (want.value)
		out->value = palloc(sizeof(EcValue) * Max(count, 1));
	if (want.value_double)
		out->value_double = palloc(sizeof(double) * Max(count, 1));
	if (want.status)
		out->status = palloc(sizeof(EcText) * Max(count, 1));
	/* wanted or not: a block is refused whole, whoever reads it */
	out->check = block_text_ok;
	if (want.superseded)
		out->superseded = palloc(sizeof(bool) * Max(count, 1));
	if ((rc = ec_decode(data, len, base, out)) != EC_OK)
		return rc;
	/* raw times are any int64, and a regular block's arithmetic wraps */
	if (want.at)
		for (uint32_t i = 0; i < count; i++)
			if (!IS_VALID_TIMESTAMP(out->at[i]))
				return EC_ERR_CORRUPT;
	*n = (int) count;
	return EC_OK;
}

/* The same, a damaged block an error (XX001: a stored block). */
int
energy_block_decode(const bytea *block, DateADT day, EcArrays *out)
{
	int			n;
	EcErrorCode rc;

	if ((rc = energy_block_try_decode(block, day, out, &n)) != EC_OK)
		block_error(rc, true);
	return n;
}

/*
 * The block with other superseded marks (NULL: none), the readings' bytes
 * kept as they are; stored says whose bytes they are, for the error.  A
 * caller's block is checked as the decoder checks it, statuses included,
 * since what comes back may be stored.
 */
bytea *
energy_block_remark(const bytea *block, const bool *marks, bool stored)
{
	const uint8_t *data = (const uint8_t *) VARDATA_ANY(block);
	size_t		len = VARSIZE_ANY_EXHDR(block);
	uint32_t	n;
	size_t		cap;
	size_t		out_len;
	bytea	   *out;
	EcErrorCode rc;

	if ((rc = ec_count(data, len, &n)) != EC_OK)
		block_error(rc, stored);
	if (!stored && (rc = ec_check_texts(data, len, block_text_ok, NULL)) != EC_OK)
		block_error(rc, stored);
	cap = ec_set_marks_bound(len, n);
	out = palloc(VARHDRSZ + cap);
	if ((rc = ec_set_marks(data, len, marks, (uint8_t *) VARDATA(out), cap, &out_len)) != EC_OK)
		block_error(rc, stored);
	SET_VARSIZE(out, VARHDRSZ + out_len);
	return out;
}

/*
 * Every reading of a block as rows, in stored order, superseded ones
 * included.  Materialize mode: the rows go to a tuplestore, which keeps
 * work_mem of them in memory and spills the rest to a temporary file.
 * Each row's status is copied into text only to be copied again into the
 * tuplestore, so it is freed at once: a block's dictionary status covers
 * up to 65,535 readings, and keeping each copy until the call returns
 * made a 16 kB block cost a gigabyte of the backend's memory.  What stays
 * is the decoded arrays (about 40 bytes a reading) and one row.
 */
static void
block_rows(FunctionCallInfo fcinfo, bytea *block, DateADT day, bool stored,
		   int64 meter_id, int64 file_id)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	EcArrays	a = {0};
	int			n;
	EcErrorCode rc;

	InitMaterializedSRF(fcinfo, 0);
	a.at = (int64 *) 1;
	a.value_double = (double *) 1;
	a.status = (EcText *) 1;
	a.superseded = (bool *) 1;
	if ((rc = energy_block_try_decode(block, day, &a, &n)) != EC_OK)
		energy_block_report(ERROR, rc, stored,
							stored ? energy_block_where(get_func_namespace(fcinfo->flinfo->fn_oid),
														meter_id, file_id, day) : NULL);
	for (int i = 0; i < n; i++)
	{
		Datum		v[4];
		bool		nulls[4] = {false, false, false, false};
		text	   *status = NULL;

		CHECK_FOR_INTERRUPTS();
		v[0] = TimestampGetDatum(a.at[i]);
		v[1] = Float8GetDatum(a.value_double[i]);
		if (a.status[i].ptr == NULL)
		{
			nulls[2] = true;
			v[2] = (Datum) 0;
		}
		else
		{
			status = cstring_to_text_with_len(a.status[i].ptr, (int) a.status[i].len);
			v[2] = PointerGetDatum(status);
		}
		v[3] = BoolGetDatum(a.superseded[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
		if (status != NULL)
			pfree(status);
	}
}

/*
 * energy_block_readings(block bytea, day date)
 *	  RETURNS TABLE (at timestamp, value float8, status text, superseded boolean)
 *
 * Every reading of a block the caller passes: a block that does not decode
 * is 22P03, since nothing says where the bytes came from.
 */
Datum
energy_block_readings(PG_FUNCTION_ARGS)
{
	block_rows(fcinfo, PG_GETARG_BYTEA_PP(0), PG_GETARG_DATEADT(1), false, 0, 0);
	return (Datum) 0;
}

/*
 * energy_block_readings(block bytea, day date, meter_id bigint, file_id bigint)
 *	  RETURNS TABLE (at timestamp, value float8, status text, superseded boolean)
 *
 * The same for the block of energy_reading's row of this meter and day, in
 * a segment of this file (energy_data passes them): a block that does not
 * decode is damaged storage, XX001, and the error's context names the
 * meter, the day and the file.
 */
Datum
energy_block_readings_of(PG_FUNCTION_ARGS)
{
	block_rows(fcinfo, PG_GETARG_BYTEA_PP(0), PG_GETARG_DATEADT(1), true,
			   PG_GETARG_INT64(2), PG_GETARG_INT64(3));
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

		if (ARR_NDIM(arr) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("marks must be a one-dimensional array"),
					 errdetail("The array has %d dimensions.", ARR_NDIM(arr))));
		deconstruct_array(arr, BOOLOID, 1, true, TYPALIGN_CHAR, &elems, &nulls, &count);
		if (count != (int) n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("marks have %d elements, the block %u readings", count, n)));
		marks = palloc(sizeof(bool) * Max(count, 1));
		for (int i = 0; i < count; i++)
			marks[i] = !nulls[i] && DatumGetBool(elems[i]);
	}
	PG_RETURN_BYTEA_P(energy_block_remark(block, marks, false));
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

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a chunk's arrays must be one-dimensional"),
				 errdetail("An array has %d dimensions.", ARR_NDIM(arr))));
	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(arr, type, len, byval, align, elems, nulls, &n);
	if (expect >= 0 && n != expect)
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
