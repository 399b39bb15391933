/*-------------------------------------------------------------------------
 *
 * codec.h
 *	  The compressed, lossless encoding of one block of readings: the
 *	  times, values, statuses and superseded marks of one segment-day.
 *
 * Like the parser, the codec is free of PostgreSQL headers: a stored block
 * is untrusted input (a corrupt page, a hand-edited bytea), so the decoder
 * must be testable and fuzzable as a plain C library.  Problems come back
 * as values (EcErrorCode), never as longjmps; the backend glue turns them
 * into ereport()s.  The codec never allocates: the encoder writes into a
 * buffer the caller sized with ec_encode_bound(), and the decoder fills
 * arrays the caller sized from ec_count(), or hands values out one at a
 * time (EcIter).  Statuses decode as pointers into the block itself.
 *
 * The byte layout is described atop codec.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_CODEC_H
#define ENERGY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version byte this code writes (and the only one it reads). */
#define EC_VERSION			1

/* Readings in one block at most: a day of one-second readings is more. */
#define EC_MAX_READINGS		65535

/* Decimals a value may carry: the parser's EpDecimal.scale range. */
#define EC_MAX_SCALE		18

/* Distinct statuses a block keeps in its dictionary; others are inline. */
#define EC_DICT_MAX			32

typedef enum EcErrorCode
{
	EC_OK = 0,
	EC_ERR_INPUT,				/* encoder: more than EC_MAX_READINGS readings,
								 * a scale out of 0..EC_MAX_SCALE, or an exact
								 * value whose double is not its decimal's */
	EC_ERR_SPACE,				/* output buffer smaller than needed */
	EC_ERR_VERSION,				/* first byte is no version this code reads */
	EC_ERR_CHECKSUM,			/* block's checksum does not match its bytes */
	EC_ERR_CORRUPT,				/* truncated, or a field out of range */
	EC_ERR_TEXT					/* a status its EcTextCheck refused */
} EcErrorCode;

/*
 * One value.  An exact value is digits * 10^-scale, as the file wrote it
 * ("0.000000" is digits 0, scale 6); its double must be that decimal
 * correctly rounded (the parser's EpDecimal.value), and a zero keeps the
 * sign of its double ("-0.0" decodes with value -0.0).  A value that is not
 * exact (an exponent, more than 18 significant digits) is kept as the bits
 * of its double; it decodes with digits 0 and scale 0, as the parser gives
 * it.  The same fields as EpDecimal, so the loader copies them across.
 */
typedef struct EcValue
{
	double		value;
	int64_t		digits;
	int16_t		scale;			/* 0 .. EC_MAX_SCALE */
	bool		exact;
} EcValue;

/*
 * A status: bytes, not NUL-terminated.  ptr NULL is "no status" (SQL NULL),
 * which is not the empty string (ptr set, len 0).
 */
typedef struct EcText
{
	const char *ptr;
	size_t		len;
} EcText;

/*
 * The readings of one block, for the encoder.  base is any timestamp the
 * reader knows without the block (the day's midnight): times are stored
 * relative to it, and decoding must be given the same base.
 */
typedef struct EcBlock
{
	uint32_t	n;				/* 0 .. EC_MAX_READINGS */
	int64_t		base;
	const int64_t *at;			/* n PostgreSQL Timestamps (microseconds) */
	const EcValue *value;		/* n values */
	const EcText *status;		/* n statuses, or NULL: no reading has one */
	const bool *superseded;		/* n marks, or NULL: no marks at all (the
								 * column's NULL; all false is not NULL) */
} EcBlock;

/*
 * A check of one status's bytes, which the codec takes as they are: the
 * backend's refuses what is not text in the database's encoding (or holds a
 * NUL), so that a crafted block cannot hand such bytes to SQL.  false makes
 * the block EC_ERR_TEXT.  Called once per stored string (each dictionary
 * entry, each inline status), not once per reading.
 */
typedef bool (*EcTextCheck) (const char *ptr, size_t len, void *arg);

/*
 * Where the decoder puts a block's readings: each array holds ec_count()
 * elements, and a NULL array is a part the caller does not want (it is
 * still checked).  has_marks is set to whether the block carries marks;
 * without marks, superseded is filled with false.
 */
typedef struct EcArrays
{
	int64_t    *at;
	EcValue    *value;
	double	   *value_double;	/* just the doubles, for energy_data */
	EcText	   *status;			/* ptr into the block, or NULL */
	bool	   *superseded;
	bool		has_marks;		/* out */
	EcTextCheck check;			/* in: NULL, or each status is checked */
	void	   *check_arg;
} EcArrays;

/*
 * Values and marks one at a time, without arrays: the aggregate's path
 * (exact sums from digits and scale, leaving out superseded readings).
 * Opaque: fields are the codec's.
 */
typedef struct EcIter
{
	uint32_t	n;
	uint32_t	i;
	/* the integer stream: digits, or their deltas, less a base, packed */
	const uint8_t *packed;
	size_t		packed_len;
	uint64_t	bitpos;
	int			width;
	bool		delta;
	uint64_t	first;			/* delta mode: the first stream value */
	uint64_t	base;			/* the minimum, or the minimum delta */
	uint64_t	factor;			/* 10^k: digits are stream values times it */
	uint64_t	prev;
	/* scales: one for the block, or one per value, packed */
	int			scale;
	const uint8_t *scales;
	size_t		scales_len;
	int			scale_width;
	/* values that are not digits at a scale: -0 and doubles */
	const uint8_t *exc;
	const uint8_t *exc_end;
	uint32_t	exc_left;
	uint32_t	exc_at;
	/* superseded marks */
	int			marks_mode;
	const uint8_t *marks;
	const uint8_t *marks_end;
	uint32_t	run_left;
	bool		run_value;
} EcIter;

/*
 * Bytes that ec_encode() needs at most for these readings (O(n) when they
 * have statuses, O(1) otherwise).  Never less than the encoded size.
 */
extern size_t ec_encode_bound(const EcBlock *in);

/* Encode into out[0 .. cap); *len is the encoded size. */
extern EcErrorCode ec_encode(const EcBlock *in, uint8_t *out, size_t cap,
							 size_t *len);

/*
 * The number of readings a block says it holds (at most EC_MAX_READINGS),
 * from its first bytes only: to size the arrays of ec_decode().  The block
 * is checked in full by the decoders.
 */
extern EcErrorCode ec_count(const uint8_t *block, size_t len, uint32_t *n);

/* Check the whole block and fill the arrays that are not NULL. */
extern EcErrorCode ec_decode(const uint8_t *block, size_t len, int64_t base,
							 EcArrays *out);

/*
 * Check the whole block, and each stored status with check (the decoder's
 * checks without decoding): for a block that is passed on as it is.
 */
extern EcErrorCode ec_check_texts(const uint8_t *block, size_t len,
								  EcTextCheck check, void *arg);

/* Check the whole block and stand before its first value. */
extern EcErrorCode ec_iter_begin(const uint8_t *block, size_t len,
								 EcIter *it);

/*
 * The next value and its mark; false after the last.  Never fails: the
 * block was checked by ec_iter_begin().
 */
extern bool ec_iter_next(EcIter *it, EcValue *value, bool *superseded);

/*
 * The block with other marks (NULL: none): the bytes before the marks are
 * copied as they are, then the new marks and checksum are written, so the
 * writer flips marks of stored copies without decoding their readings.
 * The block is checked in full first.  out needs ec_set_marks_bound()
 * bytes; it may not overlap block.
 */
extern size_t ec_set_marks_bound(size_t len, uint32_t n);
extern EcErrorCode ec_set_marks(const uint8_t *block, size_t len,
								const bool *superseded, uint8_t *out,
								size_t cap, size_t *out_len);

/*
 * The double of a decimal, correctly rounded (what strtod() gives for its
 * text, and what the parser gives): one division when |digits| < 2^53,
 * strtod() on the decimal's text above.
 */
extern double ec_decimal_to_double(int64_t digits, int scale);

/*
 * For values known only as doubles (the 1.1 tables store float8): the
 * decimal with the fewest places (at most EC_MAX_SCALE, and |digits| below
 * 2^53, so at most 15 or 16 significant digits) whose correctly rounded
 * double is v, as an exact value; else (an exponent or 17 digits needed,
 * NaN, infinite) a value that is not exact, kept as its double.  -0.0 is
 * digits 0 with value -0.0.
 */
extern EcValue ec_value_from_double(double v);

/*
 * The same for an array, at one scale for all (the largest the shortest
 * forms need), so that the block needs no per-value scales: what a file
 * that wrote every value with the same decimals had.
 */
extern void ec_values_from_doubles(const double *v, uint32_t n, EcValue *out);

/* A short name ("corrupt") and a sentence for messages. */
extern const char *ec_error_name(EcErrorCode code);
extern const char *ec_error_detail(EcErrorCode code);

/* CRC-32C of bytes: the block's checksum (the fuzzer forges it). */
extern uint32_t ec_crc32c(const uint8_t *data, size_t len);

#endif							/* ENERGY_CODEC_H */
