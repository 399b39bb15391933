/*-------------------------------------------------------------------------
 *
 * codec.c
 *	  Encodes the readings of one segment-day into one compact, versioned,
 *	  checksummed block, and decodes it back, bit for bit.
 *
 * Why this shape.  Interval data is regular: a day of a channel is N
 * readings at a fixed interval, values are short decimals written with the
 * same number of places, and statuses and superseded marks are mostly
 * absent or repeated.  So the times are a start and an interval with a list
 * of exceptions; the values are integers at the file's decimal scale
 * (digits * 10^-scale: lossless, exactly as written), bit-packed at the
 * width of their range, either as they are or as deltas, whichever is
 * smaller for the block (measured: bench/codec_size.c); statuses are a
 * dictionary and runs, marks are runs or a bitmap.  Anything unusual
 * (gaps, repeated or backward times, mixed scales, -0, exponents, 19
 * digits, times that overflow) still round-trips, through an exception
 * path that costs only the blocks that need it.
 *
 * Every decoder input is untrusted: a block is checked in full (checksum
 * first, then every length, count, index and code against the block's own
 * bounds) before anything is handed out, so a corrupt block is an error,
 * never a crash, an out-of-bounds read or an allocation.  The codec
 * allocates nothing at all.
 *
 * One block (varint: unsigned LEB128, at most 10 bytes; zz: zig-zag, so a
 * small negative is a small varint; all fixed-width fields little-endian):
 *
 *   +---------+----------+-------+--------+--------+----------+-------+--------+
 *   | version | n        | flags | TIMES  | VALUES | STATUSES | MARKS | CRC32C |
 *   | 1 byte  | varint   | 1 B   |        |        |          |       | 4 B    |
 *   +---------+----------+-------+--------+--------+----------+-------+--------+
 *   flags: bit 0 times raw; bits 1-2 time unit (0 us, 1 ms, 2 s, 3 min);
 *          bit 3 values as deltas; bit 4 one scale per value; 5-7 zero.
 *   TIMES and VALUES are absent when n is 0.  CRC32C covers every byte
 *   before it.
 *
 *   TIMES, regular (t[i] - t[i-1] is the interval but at the exceptions;
 *   every quantity in time units, so 30 minutes is the varint 30):
 *   +----------------+-------------------+----------+---------------------+
 *   | zz start       | zz interval       | varint k | k x (varint gap,    |
 *   | (t[0] - base)  | (most common step)|          |  zz step - interval)|
 *   +----------------+-------------------+----------+---------------------+
 *     exception j is at index i_j = i_(j-1) + 1 + gap (i_0 = 0): a gap,
 *     a repeated or a backward time, each costs a few bytes.
 *   TIMES, raw (when that is smaller, or a step overflows): n x int64.
 *
 *   VALUES:
 *   +-----------+-------------------------------+-------+----------------+
 *   | varint    | zz min                  (raw) | width | packed:        |
 *   | s + 19 tz | zz first, zz min step (delta) | 0..64 | m x width bits |
 *   +-----------+-------------------------------+-------+----------------+
 *   +-----------------+----------+-------------------------------------+
 *   | [scales:        | varint e | e x (varint gap, tag,               |
 *   |  n x s bits]    |          |      [8 bytes: the double's bits])  |
 *   +-----------------+----------+-------------------------------------+
 *     Every value's digits are a multiple of 10^tz ("1.500000" at scale 6
 *     is 1500000): the stream holds digits / 10^tz (raw: less min, m = n;
 *     delta: less the previous, less min step, m = n - 1), packed least
 *     significant bit first.  s is the scale of every value, or with flag
 *     bit 4 the width (1 .. 5) of the per-value scales packed after the
 *     stream.  Exceptions (indices as for times, from -1) are values that
 *     are not digits at a scale: tag 0x20 | scale is a -0 written with that
 *     many places, tag 0x40 a double kept as its 8 bytes (an exponent, or
 *     more than 18 significant digits); the stream holds the previous value
 *     in their place (a zero step).
 *
 *   STATUSES:
 *   +------------+----------------------------+-------------------------+
 *   | varint d   | d x (varint len, bytes)    | runs, until n are       |
 *   | 0: all NULL| the dictionary, 1 .. d     | covered (none if d = 0) |
 *   +------------+----------------------------+-------------------------+
 *     a run is varint code, then varint length for codes 0 (NULL) to d,
 *     or for code d + 1 varint len and bytes: one inline status.
 *
 *   MARKS: one byte, 0 none (NULL), 1 runs, 2 bitmap;
 *     runs: varint lengths, alternating false and true, starting with
 *     false (the first may be 0) until n are covered; bitmap: ceil(n / 8)
 *     bytes, least significant bit first, the unused bits zero.
 *     Last before the checksum, so that ec_set_marks() rewrites only the
 *     tail.
 *
 * A day of 48 half-hourly 3-decimal kWh readings with no statuses takes
 * about 1.6 bytes a reading: see bench/codec_size.c for the figures.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_TIMES_RAW		0x01
#define FLAG_UNIT_SHIFT		1
#define FLAG_UNIT_MASK		0x06
#define FLAG_DELTA			0x08
#define FLAG_SCALES			0x10
#define FLAG_RESERVED		0xE0

#define TAG_NEGZERO			0x20
#define TAG_DOUBLE			0x40

#define MARKS_NONE			0
#define MARKS_RUNS			1
#define MARKS_BITMAP		2

#define CRC_LEN				4

/*
 * For write_values() alone.  ec_encode() once wrote every section itself,
 * and the compiler kept the bit packer out of line; with the sections in
 * helpers it inlined everything into one another, and encoding took 1.8%
 * more instructions (callgrind on bench/codec_size).  Keeping the values'
 * writer a call of its own gives 1.2% fewer than before the split.
 */
#if defined(__GNUC__)
#define EC_NOINLINE	__attribute__((noinline))
#else
#define EC_NOINLINE
#endif

/* Time units, by their flag code. */
static const int64_t unit_us[4] = {1, 1000, 1000000, 60000000};

static const double pow10_tab[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static const int64_t ipow10_tab[19] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000, 10000000000, 100000000000, 1000000000000, 10000000000000,
	100000000000000, 1000000000000000, 10000000000000000,
	100000000000000000, 1000000000000000000
};

/* ---------- checksum ---------- */

#ifndef EC_SERVER_CRC
/* CRC-32C (Castagnoli), reflected, the polynomial of iSCSI and ext4. */
static const uint32_t crc32c_tab[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};
#endif

/*
 * A block's checksum: so that a corrupt page is refused, not decoded into
 * other readings (a flipped bit in packed values leaves a block that
 * parses).
 */
/*
 * Built into the server (EC_SERVER_CRC), the backend supplies ec_crc32c()
 * with PostgreSQL's own CRC-32C, which uses the CPU's instruction where
 * there is one (block.c); the same function a byte at a time, below, serves
 * the unit tests, the fuzzer and the benchmarks, and is the reference.
 */
#ifndef EC_SERVER_CRC
uint32_t
ec_crc32c(const uint8_t *data, size_t len)
{
	uint32_t	crc = 0xFFFFFFFF;

	for (size_t k = 0; k < len; k++)
		crc = crc32c_tab[(crc ^ data[k]) & 0xFF] ^ (crc >> 8);
	return crc ^ 0xFFFFFFFF;
}
#endif

/* ---------- integers ---------- */

/* Zig-zag: 0, -1, 1, -2 ... as 0, 1, 2, 3 ..., so small deltas are small. */
static inline uint64_t
zz_enc(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v < 0 ? -1 : 0);
}

static inline int64_t
zz_dec(uint64_t u)
{
	return (int64_t) ((u >> 1) ^ (~(u & 1) + 1));
}

static inline int
varint_len(uint64_t v)
{
	int			n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

/* Bits needed for v: 0 for 0, 64 for values with the top bit set. */
static inline int
bit_width(uint64_t v)
{
	int			w = 0;

	while (v)
	{
		w++;
		v >>= 1;
	}
	return w;
}

/* Bytes that m values of w bits take, packed. */
static inline size_t
packed_len(uint64_t m, int w)
{
	return (size_t) ((m * (uint64_t) w + 7) / 8);
}

/* a - b, false when it overflows int64. */
static inline bool
sub_ok(int64_t a, int64_t b, int64_t *r)
{
	if ((b > 0 && a < INT64_MIN + b) || (b < 0 && a > INT64_MAX + b))
		return false;
	*r = a - b;
	return true;
}

static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int k = 7; k >= 0; k--)
		v = (v << 8) | p[k];
	return v;
}

/* ---------- writer: bounded; running past the end only sets a flag ---------- */

typedef struct EcWriter
{
	uint8_t    *p;
	uint8_t    *end;
	bool		full;
	/* bit packing */
	uint64_t	acc;
	int			nacc;
} EcWriter;

static inline void
wr_byte(EcWriter *w, uint8_t b)
{
	if (w->p < w->end)
		*w->p++ = b;
	else
		w->full = true;
}

static inline void
wr_varint(EcWriter *w, uint64_t v)
{
	while (v >= 0x80)
	{
		wr_byte(w, (uint8_t) (v | 0x80));
		v >>= 7;
	}
	wr_byte(w, (uint8_t) v);
}

static inline void
wr_bytes(EcWriter *w, const void *src, size_t n)
{
	if ((size_t) (w->end - w->p) < n)
	{
		w->full = true;
		w->p = w->end;
		return;
	}
	if (n > 0)
		memcpy(w->p, src, n);
	w->p += n;
}

static inline void
wr_le64(EcWriter *w, uint64_t v)
{
	for (int k = 0; k < 8; k++)
		wr_byte(w, (uint8_t) (v >> (8 * k)));
}

/* Append the low `width` bits of x (the rest must be zero). */
static inline void
wr_bits(EcWriter *w, uint64_t x, int width)
{
	if (width > 56)
	{
		wr_bits(w, x & 0xFFFFFFFF, 32);
		wr_bits(w, x >> 32, width - 32);
		return;
	}
	if (width == 0)
		return;
	w->acc |= x << w->nacc;		/* nacc < 8, so this keeps every bit */
	w->nacc += width;
	while (w->nacc >= 8)
	{
		wr_byte(w, (uint8_t) w->acc);
		w->acc >>= 8;
		w->nacc -= 8;
	}
}

/* The last, partial byte of a packed run, its unused bits zero. */
static inline void
wr_bits_flush(EcWriter *w)
{
	if (w->nacc > 0)
		wr_byte(w, (uint8_t) w->acc);
	w->acc = 0;
	w->nacc = 0;
}

/* ---------- reader: every read checked against the block's end ---------- */

typedef struct EcReader
{
	const uint8_t *p;
	const uint8_t *end;
	bool		bad;
} EcReader;

static inline uint8_t
rd_byte(EcReader *r)
{
	if (r->p >= r->end)
	{
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* At most 10 bytes, and no bits past the 64th. */
static inline uint64_t
rd_varint(EcReader *r)
{
	uint64_t	v = 0;

	for (int shift = 0; shift < 70; shift += 7)
	{
		uint8_t		b;

		if (r->p >= r->end)
			break;
		b = *r->p++;
		if (shift == 63 && b > 1)
			break;
		v |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
			return v;
	}
	r->bad = true;
	return 0;
}

/* n bytes in place, or NULL (and bad) when fewer are left. */
static inline const uint8_t *
rd_bytes(EcReader *r, uint64_t n)
{
	const uint8_t *s = r->p;

	if ((uint64_t) (r->end - r->p) < n)
	{
		r->bad = true;
		r->p = r->end;
		return NULL;
	}
	r->p += n;
	return s;
}

/*
 * Value k of a packed run of `width`-bit values that is len bytes long; the
 * caller has checked that the value lies inside.  Reads a whole 8-byte word
 * where the run has one, byte by byte at its end.
 */
static inline uint64_t
get_bits(const uint8_t *p, size_t len, uint64_t bitpos, int width)
{
	size_t		byte;
	int			shift;
	uint64_t	word;

	if (width == 0)
		return 0;
	if (width > 56)
		return get_bits(p, len, bitpos, 32) |
			(get_bits(p, len, bitpos + 32, width - 32) << 32);
	byte = (size_t) (bitpos >> 3);
	shift = (int) (bitpos & 7);
	if (byte + 8 <= len)
	{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(&word, p + byte, 8);
#else
		word = load_le64(p + byte);
#endif
	}
	else
	{
		word = 0;
		for (size_t k = len; k > byte; k--)
			word = (word << 8) | p[k - 1];
	}
	return (word >> shift) & (((uint64_t) 1 << width) - 1);
}

/* ---------- values as decimals and doubles ---------- */

/*
 * digits * 10^-scale, correctly rounded: one division when both are exact
 * doubles (as the parser's own fast path computes it), else strtod() on
 * the decimal's text, which is correctly rounded too.
 */
double
ec_decimal_to_double(int64_t digits, int scale)
{
	uint64_t	m = digits < 0 ? -(uint64_t) digits : (uint64_t) digits;
	char		buf[48];

	if (m < ((uint64_t) 1 << 53) && scale >= 0 && scale <= 22)
	{
		double		v = (double) m / pow10_tab[scale];

		return digits < 0 ? -v : v;
	}
	snprintf(buf, sizeof(buf), "%s%llue-%d", digits < 0 ? "-" : "",
			 (unsigned long long) m, scale);
	return strtod(buf, NULL);
}

/* What a stored value decodes to, from its digits and scale. */
static inline EcValue
exact_value(int64_t digits, int scale)
{
	EcValue		v;

	v.digits = digits;
	v.scale = (int16_t) scale;
	v.exact = true;
	v.value = digits == 0 ? 0.0 : ec_decimal_to_double(digits, scale);
	return v;
}

/* The decimal with the fewest places whose double is v, if any. */
EcValue
ec_value_from_double(double v)
{
	EcValue		r;

	r.value = v;
	r.digits = 0;
	r.scale = 0;
	r.exact = false;
	if (!isfinite(v))
		return r;
	if (v == 0.0)
	{
		r.exact = true;
		return r;
	}
	for (int s = 0; s <= EC_MAX_SCALE; s++)
	{
		double		x = v * pow10_tab[s];
		int64_t		d;

		if (fabs(x) >= 9007199254740992.0)	/* 2^53 */
			break;
		d = (int64_t) llround(x);
		/* x is within an ulp or so of the digits: try the neighbours too */
		for (int64_t k = 0; k < 3; k++)
		{
			int64_t		c = d + (k == 0 ? 0 : (k == 1 ? -1 : 1));

			if (c != 0 && ec_decimal_to_double(c, s) == v)
			{
				r.digits = c;
				r.scale = (int16_t) s;
				r.exact = true;
				return r;
			}
		}
	}
	return r;
}

void
ec_values_from_doubles(const double *v, uint32_t n, EcValue *out)
{
	int			common = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		out[i] = ec_value_from_double(v[i]);
		if (out[i].exact && out[i].scale > common)
			common = out[i].scale;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		int			k = common - out[i].scale;
		int64_t		d = out[i].digits;
		int64_t		lim;

		if (!out[i].exact || k == 0)
			continue;
		lim = INT64_MAX / ipow10_tab[k];
		if (d > lim || d < -lim)
			continue;			/* keeps its own scale */
		d *= ipow10_tab[k];
		if (d != 0 && ec_decimal_to_double(d, common) != v[i])
			continue;
		out[i].digits = d;
		out[i].scale = (int16_t) common;
	}
}

/* ---------- encoder ---------- */

/*
 * Choices made from a first look at the readings, then written in one
 * pass.  Kept in one place so that the size estimate and the writing can
 * never disagree on them.
 */
typedef struct EcPlan
{
	/* times */
	bool		times_raw;
	int			unit;			/* code: unit_us[unit] */
	int64_t		start;			/* (t[0] - base) / unit */
	int64_t		interval;		/* in units */
	int64_t		interval_us;
	/* values */
	bool		delta;
	int			scale;			/* the block's scale, if one */
	bool		scales;			/* one scale per value */
	int			scale_width;
	int			tz;				/* every digits is a multiple of 10^tz */
	int64_t		vmin;			/* raw: the least digits */
	int64_t		first;			/* delta: the first digits */
	int64_t		dmin;			/* delta: the least step */
	int			width;
	/* statuses */
	uint32_t	ndict;
	EcText		dict[EC_DICT_MAX];
	/* marks */
	int			marks_mode;
} EcPlan;

/* A value that goes to the exceptions rather than the stream. */
static inline bool
is_exception(const EcValue *v)
{
	return !v->exact || (v->digits == 0 && signbit(v->value));
}

static inline bool
text_eq(const EcText *a, const EcText *b)
{
	if (a->ptr == NULL || b->ptr == NULL)
		return a->ptr == b->ptr;
	return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/*
 * Times: the most common step (Boyer-Moore majority vote: exact when a
 * step is most of them, and any candidate is still correct), the coarsest
 * unit that divides the start and every step, and whether the exceptions
 * cost more than 8 bytes a time.
 */
static void
plan_times(const EcBlock *in, EcPlan *pl)
{
	uint32_t	n = in->n;
	int64_t		cand = 0;
	uint32_t	votes = 0;
	int			u = 3;
	int64_t		x;
	uint64_t	size;

	pl->times_raw = true;
	pl->unit = 0;
	if (!sub_ok(in->at[0], in->base, &x))
		return;
	while (x % unit_us[u] != 0)
		u--;
	for (uint32_t i = 1; i < n; i++)
	{
		int64_t		d;

		if (!sub_ok(in->at[i], in->at[i - 1], &d))
			return;
		while (d % unit_us[u] != 0)
			u--;
		if (votes == 0)
		{
			cand = d;
			votes = 1;
		}
		else if (d == cand)
			votes++;
		else
			votes--;
	}
	pl->unit = u;
	pl->start = x / unit_us[u];
	pl->interval_us = cand;
	pl->interval = cand / unit_us[u];
	size = varint_len(zz_enc(pl->start)) + varint_len(zz_enc(pl->interval));
	{
		uint32_t	nexc = 0;
		uint32_t	last = 0;
		uint64_t	exc = 0;

		for (uint32_t i = 1; i < n; i++)
		{
			int64_t		d = in->at[i] - in->at[i - 1];	/* checked above */
			int64_t		e;

			if (d == cand)
				continue;
			if (!sub_ok(d, cand, &e))
				return;
			exc += varint_len(i - last - 1) + varint_len(zz_enc(e / unit_us[u]));
			last = i;
			nexc++;
		}
		size += varint_len(nexc) + exc;
	}
	pl->times_raw = size > 8 * (uint64_t) n;
}

/*
 * Values: the scale of most values, the largest power of ten that divides
 * every digits (files write "1.500000" for a reading of 0.1 resolution),
 * the range of the digits so divided and of their steps (exceptions stand
 * as the previous digits), and from those the smaller of the raw and delta
 * packings.  Refuses values that are not what they claim to be, which would
 * not round-trip.
 */
static EcErrorCode
plan_values(const EcBlock *in, EcPlan *pl, uint64_t *nexc_out)
{
	uint32_t	n = in->n;
	int			cand = 0;
	uint32_t	votes = 0;
	int			maxscale = 0;
	int			tz = EC_MAX_SCALE;
	bool		nonzero = false;
	int64_t		prev = 0;
	int64_t		vmin = INT64_MAX,
				vmax = INT64_MIN,
				dmin = INT64_MAX,
				dmax = INT64_MIN;
	uint64_t	nexc = 0;
	uint64_t	raw_bytes,
				delta_bytes;
	int			raw_w,
				delta_w;
	int64_t		f;

	for (uint32_t i = 0; i < n; i++)
	{
		const EcValue *v = &in->value[i];

		if (v->exact)
		{
			if (v->scale < 0 || v->scale > EC_MAX_SCALE)
				return EC_ERR_INPUT;
			if (v->digits == 0 ? v->value != 0.0 :
				ec_decimal_to_double(v->digits, v->scale) != v->value)
				return EC_ERR_INPUT;
		}
		if (is_exception(v))
		{
			nexc++;
			continue;
		}
		while (tz > 0 && v->digits % ipow10_tab[tz] != 0)
			tz--;
		nonzero |= v->digits != 0;
		if (v->scale > maxscale)
			maxscale = v->scale;
		if (votes == 0)
		{
			cand = v->scale;
			votes = 1;
		}
		else if (v->scale == cand)
			votes++;
		else
			votes--;
	}
	if (!nonzero)
		tz = 0;					/* zeros: any power divides them */
	f = ipow10_tab[tz];

	for (uint32_t i = 0; i < n; i++)
	{
		const EcValue *v = &in->value[i];
		int64_t		cur = is_exception(v) ? prev : v->digits / f;

		if (cur < vmin)
			vmin = cur;
		if (cur > vmax)
			vmax = cur;
		if (i > 0)
		{
			int64_t		d = (int64_t) ((uint64_t) cur - (uint64_t) prev);

			if (d < dmin)
				dmin = d;
			if (d > dmax)
				dmax = d;
		}
		prev = cur;
	}

	/* one scale, or a scale per value when they differ */
	pl->scale = cand;
	pl->scales = false;
	pl->scale_width = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!is_exception(&in->value[i]) && in->value[i].scale != cand)
		{
			pl->scales = true;
			pl->scale_width = bit_width((uint64_t) maxscale);
			if (pl->scale_width == 0)
				pl->scale_width = 1;
			break;
		}
	pl->tz = tz;
	pl->first = is_exception(&in->value[0]) ? 0 : in->value[0].digits / f;

	raw_w = bit_width((uint64_t) vmax - (uint64_t) vmin);
	raw_bytes = varint_len(zz_enc(vmin)) + packed_len(n, raw_w);
	if (n > 1)
	{
		delta_w = bit_width((uint64_t) dmax - (uint64_t) dmin);
		delta_bytes = varint_len(zz_enc(pl->first)) + varint_len(zz_enc(dmin)) +
			packed_len(n - 1, delta_w);
	}
	else
	{
		delta_w = 0;
		delta_bytes = UINT64_MAX;
	}
	pl->delta = delta_bytes < raw_bytes;
	pl->vmin = vmin;
	pl->dmin = dmin;
	pl->width = pl->delta ? delta_w : raw_w;
	*nexc_out = nexc;
	return EC_OK;
}

/* The dictionary: the first EC_DICT_MAX distinct statuses, in order. */
static void
plan_statuses(const EcBlock *in, EcPlan *pl)
{
	const EcText *last = NULL;

	pl->ndict = 0;
	if (in->status == NULL)
		return;
	for (uint32_t i = 0; i < in->n && pl->ndict < EC_DICT_MAX; i++)
	{
		const EcText *s = &in->status[i];
		uint32_t	k;

		if (s->ptr == NULL || (last != NULL && text_eq(s, last)))
			continue;
		last = s;
		for (k = 0; k < pl->ndict; k++)
			if (text_eq(s, &pl->dict[k]))
				break;
		if (k == pl->ndict)
			pl->dict[pl->ndict++] = *s;
	}
}

/* The code of a status: 0 NULL, 1 .. ndict, or ndict + 1 (inline). */
static inline uint32_t
status_code(const EcPlan *pl, const EcText *s, uint32_t hint)
{
	if (s->ptr == NULL)
		return 0;
	if (hint > 0 && hint <= pl->ndict && text_eq(s, &pl->dict[hint - 1]))
		return hint;
	for (uint32_t k = 0; k < pl->ndict; k++)
		if (text_eq(s, &pl->dict[k]))
			return k + 1;
	return pl->ndict + 1;
}

size_t
ec_encode_bound(const EcBlock *in)
{
	size_t		n = in->n;
	size_t		b = 512 + 48 * n;	/* see the layout atop this file */

	if (in->status != NULL)
		for (size_t i = 0; i < n; i++)
			if (in->status[i].ptr != NULL)
				b += 2 * in->status[i].len;
	return b;
}

/*
 * MARKS: one mode byte, then runs or a bitmap, whichever is smaller (a day
 * is mostly one run, a reload superseding alternate readings is not).
 * Shared by ec_encode() and ec_set_marks(), so that a rewritten tail is
 * byte for byte what encoding would have written.
 */
static void
write_marks(EcWriter *w, const bool *marks, uint32_t n)
{
	uint64_t	runs_bytes = 0;
	uint32_t	run = 0;
	bool		cur = false;

	if (marks == NULL)
	{
		wr_byte(w, MARKS_NONE);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		if (marks[i] != cur)
		{
			runs_bytes += varint_len(run);
			run = 0;
			cur = marks[i];
		}
		run++;
	}
	runs_bytes += varint_len(run);
	if (runs_bytes <= (n + 7) / 8)
	{
		wr_byte(w, MARKS_RUNS);
		run = 0;
		cur = false;
		for (uint32_t i = 0; i < n; i++)
		{
			if (marks[i] != cur)
			{
				wr_varint(w, run);
				run = 0;
				cur = marks[i];
			}
			run++;
		}
		wr_varint(w, run);
	}
	else
	{
		wr_byte(w, MARKS_BITMAP);
		for (uint32_t i = 0; i < n; i += 8)
		{
			uint8_t		b = 0;

			for (uint32_t k = 0; k < 8 && i + k < n; k++)
				if (marks[i + k])
					b |= (uint8_t) (1 << k);
			wr_byte(w, b);
		}
	}
}

/*
 * The checksum of every byte written since start; none once the writer is
 * full, as the caller then refuses the block (EC_ERR_SPACE).
 */
static void
write_crc(EcWriter *w, const uint8_t *start)
{
	uint32_t	crc;

	if (w->full)
		return;
	crc = ec_crc32c(start, (size_t) (w->p - start));
	for (int k = 0; k < 4; k++)
		wr_byte(w, (uint8_t) (crc >> (8 * k)));
}

/*
 * The header: version, count, and the flags that say how the plan wrote
 * the sections after it, so that the decoder never guesses.
 */
static void
write_head(EcWriter *w, uint32_t n, const EcPlan *pl)
{
	wr_byte(w, EC_VERSION);
	wr_varint(w, n);
	wr_byte(w, (uint8_t) ((pl->times_raw ? FLAG_TIMES_RAW : (pl->unit << FLAG_UNIT_SHIFT)) |
						  (pl->delta ? FLAG_DELTA : 0) | (pl->scales ? FLAG_SCALES : 0)));
}

/*
 * TIMES: eight bytes a time when the plan found that smaller (or a step
 * overflows); else a start and an interval in the plan's unit, and only
 * the steps that are not the interval, each as the gap since the previous
 * exception and its difference from the interval.  A regular day costs a
 * few bytes whatever its length.
 */
static void
write_times(EcWriter *w, const EcBlock *in, const EcPlan *pl)
{
	uint32_t	n = in->n;
	int64_t		unit;
	uint32_t	last = 0;
	uint32_t	k = 0;

	if (pl->times_raw)
	{
		for (uint32_t i = 0; i < n; i++)
			wr_le64(w, (uint64_t) in->at[i]);
		return;
	}
	unit = unit_us[pl->unit];
	wr_varint(w, zz_enc(pl->start));
	wr_varint(w, zz_enc(pl->interval));
	for (uint32_t i = 1; i < n; i++)
		if (in->at[i] - in->at[i - 1] != pl->interval_us)
			k++;
	wr_varint(w, k);
	for (uint32_t i = 1; i < n; i++)
	{
		int64_t		d = in->at[i] - in->at[i - 1];

		if (d == pl->interval_us)
			continue;
		wr_varint(w, i - last - 1);
		wr_varint(w, zz_enc((d - pl->interval_us) / unit));
		last = i;
	}
}

/*
 * VALUES: the digits as one bit-packed stream (raw or deltas, at the
 * plan's width, divided by 10^tz), the per-value scales when they differ,
 * then the values that are not digits at a scale (-0, doubles) as
 * exceptions.  The stream holds the previous digits in an exception's
 * place, so that it stays one width and one pass for the decoder.
 */
static EC_NOINLINE void
write_values(EcWriter *w, const EcBlock *in, const EcPlan *pl, uint64_t nexc)
{
	uint32_t	n = in->n;
	uint64_t	prev = (uint64_t) pl->first;
	int64_t		f = ipow10_tab[pl->tz];

	/* the stream */
	wr_varint(w, (uint64_t) ((pl->scales ? pl->scale_width : pl->scale) + 19 * pl->tz));
	if (pl->delta)
	{
		wr_varint(w, zz_enc(pl->first));
		wr_varint(w, zz_enc(pl->dmin));
	}
	else
		wr_varint(w, zz_enc(pl->vmin));
	wr_byte(w, (uint8_t) pl->width);
	for (uint32_t i = 0; i < n; i++)
	{
		const EcValue *v = &in->value[i];
		uint64_t	cur = is_exception(v) ? prev : (uint64_t) (v->digits / f);

		if (!pl->delta)
			wr_bits(w, cur - (uint64_t) pl->vmin, pl->width);
		else if (i > 0)
			wr_bits(w, cur - prev - (uint64_t) pl->dmin, pl->width);
		prev = cur;
	}
	wr_bits_flush(w);
	if (pl->scales)
	{
		for (uint32_t i = 0; i < n; i++)
		{
			const EcValue *v = &in->value[i];

			wr_bits(w, is_exception(v) ? 0 : (uint64_t) v->scale, pl->scale_width);
		}
		wr_bits_flush(w);
	}

	/* the exceptions */
	wr_varint(w, nexc);
	if (nexc > 0)
	{
		int64_t		last = -1;

		for (uint32_t i = 0; i < n; i++)
		{
			const EcValue *v = &in->value[i];

			if (!is_exception(v))
				continue;
			wr_varint(w, (uint64_t) ((int64_t) i - last - 1));
			last = i;
			if (v->exact)
				wr_byte(w, (uint8_t) (TAG_NEGZERO | v->scale));
			else
			{
				uint64_t	bits;

				memcpy(&bits, &v->value, 8);
				wr_byte(w, TAG_DOUBLE);
				wr_le64(w, bits);
			}
		}
	}
}

/*
 * STATUSES: the plan's dictionary, then runs of codes covering the n
 * readings; a status outside the dictionary is written inline, once.
 * Statuses repeat along a day, so a run costs two varints whatever its
 * length.  Nothing follows the count when every status is NULL.
 */
static void
write_statuses(EcWriter *w, const EcBlock *in, const EcPlan *pl)
{
	uint32_t	n = in->n;
	uint32_t	i = 0;
	uint32_t	hint = 0;

	wr_varint(w, pl->ndict);
	for (uint32_t k = 0; k < pl->ndict; k++)
	{
		wr_varint(w, pl->dict[k].len);
		wr_bytes(w, pl->dict[k].ptr, pl->dict[k].len);
	}
	if (pl->ndict == 0)
		return;
	while (i < n)
	{
		uint32_t	code = status_code(pl, &in->status[i], hint);
		uint32_t	j = i + 1;

		if (code == pl->ndict + 1)
		{
			wr_varint(w, code);
			wr_varint(w, in->status[i].len);
			wr_bytes(w, in->status[i].ptr, in->status[i].len);
			i++;
			continue;
		}
		while (j < n && status_code(pl, &in->status[j], code) == code)
			j++;
		wr_varint(w, code);
		wr_varint(w, j - i);
		hint = code;
		i = j;
	}
}

/*
 * Plan the block, then write its sections in the order of the layout atop
 * this file, each by its own writer; MARKS last, so that ec_set_marks()
 * can rewrite the tail alone.  The writer is bounded: a block that does
 * not fit in cap is EC_ERR_SPACE, never an overrun.
 */
EcErrorCode
ec_encode(const EcBlock *in, uint8_t *out, size_t cap, size_t *len)
{
	uint32_t	n = in->n;
	EcPlan		pl;
	EcWriter	w = {out, out + cap, false, 0, 0};
	uint64_t	nexc = 0;
	EcErrorCode rc;

	*len = 0;
	if (n > EC_MAX_READINGS)
		return EC_ERR_INPUT;
	memset(&pl, 0, sizeof(pl));
	if (n > 0)
	{
		plan_times(in, &pl);
		if ((rc = plan_values(in, &pl, &nexc)) != EC_OK)
			return rc;
	}
	plan_statuses(in, &pl);

	write_head(&w, n, &pl);
	if (n > 0)
	{
		write_times(&w, in, &pl);
		write_values(&w, in, &pl, nexc);
	}
	write_statuses(&w, in, &pl);
	write_marks(&w, in->superseded, n);
	write_crc(&w, out);
	if (w.full)
		return EC_ERR_SPACE;
	*len = (size_t) (w.p - out);
	return EC_OK;
}

/* ---------- decoder ---------- */

/* Where each part of a checked block is, for the decoders. */
typedef struct EcLayout
{
	uint32_t	n;
	const uint8_t *end;			/* the checksum */
	/* times */
	bool		times_raw;
	const uint8_t *t_raw;
	int64_t		t_unit;
	uint64_t	t_start;
	uint64_t	t_interval;
	uint32_t	t_nexc;
	const uint8_t *t_exc;
	/* values */
	bool		delta;
	int			scale;
	bool		has_scales;
	int			scale_width;
	uint64_t	first;
	uint64_t	vbase;
	uint64_t	factor;			/* 10^tz */
	int			width;
	const uint8_t *packed;
	size_t		packed_len;
	const uint8_t *scales;
	size_t		scales_len;
	uint32_t	v_nexc;
	const uint8_t *v_exc;
	/* statuses */
	uint32_t	ndict;
	EcText		dict[EC_DICT_MAX];
	const uint8_t *runs;
	/* marks */
	const uint8_t *marks_section;	/* its mode byte */
	int			marks_mode;
	const uint8_t *marks;
} EcLayout;

/* An exception's index: gap after the previous one, within 0 .. n - 1. */
static inline bool
next_index(EcReader *r, int64_t *idx, uint32_t n)
{
	uint64_t	gap = rd_varint(r);

	if (r->bad || gap >= n || *idx + 1 + (int64_t) gap >= (int64_t) n)
		return false;
	*idx += 1 + (int64_t) gap;
	return true;
}

/* The start of a block: its version and count, nothing else. */
static EcErrorCode
parse_head(EcReader *r, uint32_t *n)
{
	uint64_t	v;

	if (r->p >= r->end)
		return EC_ERR_CORRUPT;
	if (*r->p != EC_VERSION)
		return EC_ERR_VERSION;
	r->p++;
	v = rd_varint(r);
	if (r->bad || v > EC_MAX_READINGS)
		return EC_ERR_CORRUPT;
	*n = (uint32_t) v;
	return EC_OK;
}

EcErrorCode
ec_count(const uint8_t *block, size_t len, uint32_t *n)
{
	EcReader	r = {block, block + len, false};

	*n = 0;
	return parse_head(&r, n);
}

/*
 * TIMES, checked: raw times must all be there; a regular section's
 * exception list must fit the n - 1 steps and each exception's index stay
 * inside the block, because ec_decode() then walks it without a check.
 * The start, interval and differences are any int64: the decoder's
 * arithmetic wraps, so no value of theirs can do harm.
 */
static EcErrorCode
parse_times(EcReader *r, EcLayout *L)
{
	uint32_t	n = L->n;
	uint64_t	k;
	int64_t		idx = 0;

	if (L->times_raw)
	{
		/* n x 8 bytes left (n <= EC_MAX_READINGS: the product fits) */
		if ((L->t_raw = rd_bytes(r, 8 * (uint64_t) n)) == NULL)
			return EC_ERR_CORRUPT;
		return EC_OK;
	}
	L->t_start = rd_varint(r);
	L->t_interval = rd_varint(r);
	k = rd_varint(r);
	/* at most one exception per step after the first time */
	if (r->bad || k >= n)
		return EC_ERR_CORRUPT;
	L->t_nexc = (uint32_t) k;
	L->t_exc = r->p;
	for (uint64_t j = 0; j < k; j++)
	{
		/* each index increasing and below n: ec_decode() stores at[index] */
		if (!next_index(r, &idx, n))
			return EC_ERR_CORRUPT;
		(void) rd_varint(r);
	}
	/* the last difference must have been whole */
	if (r->bad)
		return EC_ERR_CORRUPT;
	return EC_OK;
}

/*
 * VALUES, checked: every field that later indexes a table, sizes a shift
 * or bounds a read (the power of ten, the scales, the bit width, the
 * packed stream's and the scales' lengths, the exceptions' indices, tags
 * and payloads) is checked against its range and the bytes left, because
 * ec_iter_next() reads the stream with no check of its own.
 */
static EcErrorCode
parse_values(EcReader *r, EcLayout *L)
{
	uint32_t	n = L->n;
	uint64_t	k;
	uint8_t		b;
	int64_t		idx = -1;

	k = rd_varint(r);
	/* k / 19 indexes ipow10_tab, which ends at 10^EC_MAX_SCALE */
	if (r->bad || k / 19 > EC_MAX_SCALE)
		return EC_ERR_CORRUPT;
	L->factor = (uint64_t) ipow10_tab[k / 19];
	b = (uint8_t) (k % 19);
	if (L->has_scales)
	{
		/* the per-value scales' width: 5 bits hold EC_MAX_SCALE */
		if (b < 1 || b > 5)
			return EC_ERR_CORRUPT;
		L->scale_width = b;
		L->scale = 0;
	}
	else
	{
		L->scale = b;			/* k % 19: at most EC_MAX_SCALE already */
		L->scale_width = 0;
	}
	if (L->delta)
	{
		/* a first value and n - 1 steps: n - 1 below cannot wrap */
		if (n < 2)
			return EC_ERR_CORRUPT;
		L->first = (uint64_t) zz_dec(rd_varint(r));
	}
	else
		L->first = 0;
	L->vbase = (uint64_t) zz_dec(rd_varint(r));
	b = rd_byte(r);
	/* a width above 64 would shift past the word in get_bits() */
	if (r->bad || b > 64)
		return EC_ERR_CORRUPT;
	L->width = b;
	/* the whole stream inside: get_bits() reads it unchecked */
	L->packed_len = packed_len(L->delta ? n - 1 : n, L->width);
	if ((L->packed = rd_bytes(r, L->packed_len)) == NULL)
		return EC_ERR_CORRUPT;
	if (L->has_scales)
	{
		/* the scales too, and each of them a scale that pow10_tab has */
		L->scales_len = packed_len(n, L->scale_width);
		if ((L->scales = rd_bytes(r, L->scales_len)) == NULL)
			return EC_ERR_CORRUPT;
		for (uint32_t i = 0; i < n; i++)
			if (get_bits(L->scales, L->scales_len, (uint64_t) i * L->scale_width,
						 L->scale_width) > EC_MAX_SCALE)
				return EC_ERR_CORRUPT;
	}
	else
	{
		L->scales = NULL;
		L->scales_len = 0;
	}
	k = rd_varint(r);
	/* at most one exception per value */
	if (r->bad || k > n)
		return EC_ERR_CORRUPT;
	L->v_nexc = (uint32_t) k;
	L->v_exc = r->p;
	for (uint64_t j = 0; j < k; j++)
	{
		uint8_t		tag;

		/* each index increasing and below n: the iterator meets it in turn */
		if (!next_index(r, &idx, n))
			return EC_ERR_CORRUPT;
		tag = rd_byte(r);
		if (r->bad)
			return EC_ERR_CORRUPT;
		if (tag == TAG_DOUBLE)
		{
			/* the double's 8 bytes must be there */
			if (rd_bytes(r, 8) == NULL)
				return EC_ERR_CORRUPT;
		}
		/* a -0 with a scale in range; no other tag exists */
		else if ((tag & ~0x1F) != TAG_NEGZERO || (tag & 0x1F) > EC_MAX_SCALE)
			return EC_ERR_CORRUPT;
	}
	return EC_OK;
}

/*
 * STATUSES, checked: the dictionary fits its fixed array, every string
 * (entry or inline) lies inside the block, every code names an entry,
 * and the runs cover exactly n readings, so that ec_decode() can hand out
 * pointers into the block and fill n statuses without a check.  Each
 * stored string goes to check, when there is one, exactly once.
 */
static EcErrorCode
parse_statuses(EcReader *r, EcLayout *L, EcTextCheck check, void *check_arg)
{
	uint32_t	n = L->n;
	uint64_t	d = rd_varint(r);
	uint32_t	covered = 0;

	/* d entries go into L->dict[EC_DICT_MAX] */
	if (r->bad || d > EC_DICT_MAX)
		return EC_ERR_CORRUPT;
	L->ndict = (uint32_t) d;
	for (uint32_t k = 0; k < L->ndict; k++)
	{
		uint64_t	slen = rd_varint(r);

		/* the entry's slen bytes must be left */
		L->dict[k].len = (size_t) slen;
		if (r->bad || (L->dict[k].ptr = (const char *) rd_bytes(r, slen)) == NULL)
			return EC_ERR_CORRUPT;
		if (check != NULL && !check(L->dict[k].ptr, L->dict[k].len, check_arg))
			return EC_ERR_TEXT;
	}
	L->runs = r->p;
	if (L->ndict == 0)
		return EC_OK;
	while (covered < n)
	{
		uint64_t	code = rd_varint(r);
		uint64_t	run;

		/* 0 NULL, 1 .. d an entry, d + 1 inline: dict[code - 1] */
		if (r->bad || code > L->ndict + 1)
			return EC_ERR_CORRUPT;
		if (code == L->ndict + 1)
		{
			uint64_t	slen = rd_varint(r);
			const uint8_t *s;

			/* the inline status's slen bytes must be left */
			if (r->bad || (s = rd_bytes(r, slen)) == NULL)
				return EC_ERR_CORRUPT;
			if (check != NULL && !check((const char *) s, (size_t) slen, check_arg))
				return EC_ERR_TEXT;
			run = 1;
		}
		else
			run = rd_varint(r);
		/* a run covers at least one reading and none past the n-th */
		if (r->bad || run == 0 || run > n - covered)
			return EC_ERR_CORRUPT;
		covered += (uint32_t) run;
	}
	return EC_OK;
}

/*
 * MARKS, checked: a known mode; runs that cover exactly n readings, or a
 * bitmap of exactly ceil(n / 8) bytes whose unused bits are zero, so that
 * the iterator reads no further and a block has one spelling of its marks
 * (ec_set_marks() then writes what encoding would).
 */
static EcErrorCode
parse_marks(EcReader *r, EcLayout *L)
{
	uint32_t	n = L->n;

	L->marks_section = r->p;
	L->marks_mode = rd_byte(r);
	if (r->bad)
		return EC_ERR_CORRUPT;
	L->marks = r->p;
	if (L->marks_mode == MARKS_RUNS)
	{
		uint64_t	covered = rd_varint(r);

		/* the first (false) run may be 0, but not past n */
		if (r->bad || covered > n)
			return EC_ERR_CORRUPT;
		while (covered < n)
		{
			uint64_t	run = rd_varint(r);

			/* each later run at least one reading and none past the n-th */
			if (r->bad || run == 0 || run > n - covered)
				return EC_ERR_CORRUPT;
			covered += run;
		}
	}
	else if (L->marks_mode == MARKS_BITMAP)
	{
		/* ceil(n / 8) bytes must be left; the bits past n must be zero */
		const uint8_t *bm = rd_bytes(r, (n + 7) / 8);

		if (bm == NULL || (n % 8 != 0 && (bm[n / 8] >> (n % 8)) != 0))
			return EC_ERR_CORRUPT;
	}
	else if (L->marks_mode != MARKS_NONE)
		return EC_ERR_CORRUPT;
	return EC_OK;
}

/*
 * Check a whole block and find its parts.  Everything a decoder later
 * reads is checked here: lengths against the bytes left, counts against n,
 * exception indices increasing within 0 .. n - 1, codes and runs covering
 * exactly n readings, nothing left over.  A block that passes decodes
 * without another check.  With check, each stored status (dictionary
 * entry or inline) is also given to it once.
 *
 * This checks the frame (version, count, checksum, flags), then each
 * section in the layout's order with its own parser, each reading from
 * where the one before stopped; every one refuses rather than reads past
 * the checksum, which is where the reader ends.
 */
static EcErrorCode
parse_block(const uint8_t *block, size_t len, EcLayout *L,
			EcTextCheck check, void *check_arg)
{
	EcReader	r = {block, block + len, false};
	EcErrorCode rc;
	uint32_t	n;
	uint8_t		flags;
	uint32_t	stored;

	/* the version, and a count of at most EC_MAX_READINGS */
	if ((rc = parse_head(&r, &n)) != EC_OK)
		return rc;
	/* version, count, flags, CRC: then len - 4 cannot wrap */
	if (len < CRC_LEN + 3)
		return EC_ERR_CORRUPT;
	stored = (uint32_t) block[len - 4] | (uint32_t) block[len - 3] << 8 |
		(uint32_t) block[len - 2] << 16 | (uint32_t) block[len - 1] << 24;
	if (ec_crc32c(block, len - CRC_LEN) != stored)
		return EC_ERR_CHECKSUM;
	/* the reader ends at the CRC; the count must end before */
	r.end = L->end = block + len - CRC_LEN;
	if (r.p > r.end)
		return EC_ERR_CORRUPT;
	L->n = n;
	flags = rd_byte(&r);
	/* no unknown flag, and no unit with raw times */
	if (r.bad || (flags & FLAG_RESERVED) ||
		((flags & FLAG_TIMES_RAW) && (flags & FLAG_UNIT_MASK)))
		return EC_ERR_CORRUPT;
	L->times_raw = (flags & FLAG_TIMES_RAW) != 0;
	L->t_unit = unit_us[(flags & FLAG_UNIT_MASK) >> FLAG_UNIT_SHIFT];
	L->delta = (flags & FLAG_DELTA) != 0;
	L->has_scales = (flags & FLAG_SCALES) != 0;
	L->t_nexc = 0;
	L->v_nexc = 0;

	/* an empty block has no times or values, so nothing for a flag to say */
	if (n == 0 && (flags & ~FLAG_RESERVED) != 0)
		return EC_ERR_CORRUPT;
	if (n > 0)
	{
		if ((rc = parse_times(&r, L)) != EC_OK)
			return rc;
		if ((rc = parse_values(&r, L)) != EC_OK)
			return rc;
	}
	if ((rc = parse_statuses(&r, L, check, check_arg)) != EC_OK)
		return rc;
	if ((rc = parse_marks(&r, L)) != EC_OK)
		return rc;

	/* nothing between the marks and the checksum */
	if (r.p != r.end)
		return EC_ERR_CORRUPT;
	return EC_OK;
}

/* ---------- values, one at a time ---------- */

static inline uint32_t
iter_next_exc(EcIter *it, int64_t prev_idx)
{
	EcReader	r = {it->exc, it->exc_end, false};
	uint64_t	gap;

	if (it->exc_left == 0)
		return UINT32_MAX;
	gap = rd_varint(&r);
	it->exc = r.p;
	return (uint32_t) (prev_idx + 1 + (int64_t) gap);
}

static void
iter_init(const EcLayout *L, EcIter *it)
{
	memset(it, 0, sizeof(*it));
	it->n = L->n;
	it->packed = L->packed;
	it->packed_len = L->packed_len;
	it->width = L->width;
	it->delta = L->delta;
	it->first = L->first;
	it->base = L->vbase;
	it->factor = L->factor;
	it->scale = L->scale;
	it->scales = L->scales;
	it->scales_len = L->scales_len;
	it->scale_width = L->scale_width;
	it->exc = L->v_exc;
	it->exc_end = L->end;
	it->exc_left = L->v_nexc;
	it->exc_at = iter_next_exc(it, -1);
	it->marks_mode = L->marks_mode;
	it->marks = L->marks;
	it->marks_end = L->end;
	it->run_left = 0;
	it->run_value = true;		/* the first run read flips it to false */
}

EcErrorCode
ec_iter_begin(const uint8_t *block, size_t len, EcIter *it)
{
	EcLayout	L;
	EcErrorCode rc;

	memset(it, 0, sizeof(*it));
	if ((rc = parse_block(block, len, &L, NULL, NULL)) != EC_OK)
		return rc;
	iter_init(&L, it);
	return EC_OK;
}

EcErrorCode
ec_check_texts(const uint8_t *block, size_t len, EcTextCheck check, void *arg)
{
	EcLayout	L;

	return parse_block(block, len, &L, check, arg);
}

bool
ec_iter_next(EcIter *it, EcValue *value, bool *superseded)
{
	uint32_t	i = it->i;
	uint64_t	cur;

	if (i >= it->n)
		return false;
	it->i++;

	/* the stream's digits (a placeholder at an exception) */
	if (!it->delta)
	{
		cur = it->base + get_bits(it->packed, it->packed_len, it->bitpos, it->width);
		it->bitpos += it->width;
	}
	else if (i == 0)
		cur = it->first;
	else
	{
		cur = it->prev + it->base +
			get_bits(it->packed, it->packed_len, it->bitpos, it->width);
		it->bitpos += it->width;
	}
	it->prev = cur;

	if (value != NULL)
	{
		if (i == it->exc_at)
		{
			EcReader	r = {it->exc, it->exc_end, false};
			uint8_t		tag = rd_byte(&r);

			if (tag == TAG_DOUBLE)
			{
				const uint8_t *p = rd_bytes(&r, 8);
				uint64_t	bits = p ? load_le64(p) : 0;

				memcpy(&value->value, &bits, 8);
				value->digits = 0;
				value->scale = 0;
				value->exact = false;
			}
			else
			{
				value->value = -0.0;
				value->digits = 0;
				value->scale = (int16_t) (tag & 0x1F);
				value->exact = true;
			}
			it->exc = r.p;
			it->exc_left--;
			it->exc_at = iter_next_exc(it, i);
		}
		else
		{
			int			scale = it->scales == NULL ? it->scale :
				(int) get_bits(it->scales, it->scales_len,
							   (uint64_t) i * it->scale_width, it->scale_width);

			*value = exact_value((int64_t) (cur * it->factor), scale);
		}
	}
	else if (i == it->exc_at)
	{
		/* skip the exception */
		EcReader	r = {it->exc, it->exc_end, false};

		if (rd_byte(&r) == TAG_DOUBLE)
			(void) rd_bytes(&r, 8);
		it->exc = r.p;
		it->exc_left--;
		it->exc_at = iter_next_exc(it, i);
	}

	/* the mark: advanced whether or not the caller wants it */
	{
		bool		mark = false;

		if (it->marks_mode == MARKS_BITMAP)
			mark = (it->marks[i / 8] >> (i % 8)) & 1;
		else if (it->marks_mode == MARKS_RUNS)
		{
			while (it->run_left == 0)
			{
				EcReader	r = {it->marks, it->marks_end, false};

				it->run_left = (uint32_t) rd_varint(&r);
				it->marks = r.p;
				it->run_value = !it->run_value;
				if (r.bad)
				{
					it->run_left = UINT32_MAX;	/* cannot happen: checked */
					break;
				}
			}
			mark = it->run_value;
			it->run_left--;
		}
		if (superseded != NULL)
			*superseded = mark;
	}
	return true;
}

/* ---------- whole blocks ---------- */

EcErrorCode
ec_decode(const uint8_t *block, size_t len, int64_t base, EcArrays *out)
{
	EcLayout	L;
	EcErrorCode rc;
	uint32_t	n;

	out->has_marks = false;
	if ((rc = parse_block(block, len, &L, out->check, out->check_arg)) != EC_OK)
		return rc;
	n = L.n;
	out->has_marks = L.marks_mode != MARKS_NONE;

	/* times: wrapping arithmetic, exact for what the encoder wrote */
	if (out->at != NULL && n > 0)
	{
		if (L.times_raw)
			for (uint32_t i = 0; i < n; i++)
				out->at[i] = (int64_t) load_le64(L.t_raw + 8 * (size_t) i);
		else
		{
			EcReader	r = {L.t_exc, L.end, false};
			uint64_t	unit = (uint64_t) L.t_unit;
			uint64_t	step = (uint64_t) zz_dec(L.t_interval) * unit;
			uint64_t	t = (uint64_t) base + (uint64_t) zz_dec(L.t_start) * unit;
			uint32_t	left = L.t_nexc;
			uint32_t	next = UINT32_MAX;

			if (left > 0)
				next = 1 + (uint32_t) rd_varint(&r);
			out->at[0] = (int64_t) t;
			for (uint32_t i = 1; i < n; i++)
			{
				if (i == next)
				{
					t += step + (uint64_t) zz_dec(rd_varint(&r)) * unit;
					next = --left > 0 ? next + 1 + (uint32_t) rd_varint(&r) : UINT32_MAX;
				}
				else
					t += step;
				out->at[i] = (int64_t) t;
			}
		}
	}

	/* values and marks */
	if (out->value != NULL || out->value_double != NULL || out->superseded != NULL)
	{
		EcIter		it;
		EcValue		v;
		bool		m;
		bool		want = out->value != NULL || out->value_double != NULL;

		iter_init(&L, &it);
		for (uint32_t i = 0; i < n; i++)
		{
			(void) ec_iter_next(&it, want ? &v : NULL, &m);
			if (out->value != NULL)
				out->value[i] = v;
			if (out->value_double != NULL)
				out->value_double[i] = v.value;
			if (out->superseded != NULL)
				out->superseded[i] = m;
		}
	}

	/* statuses */
	if (out->status != NULL)
	{
		uint32_t	i = 0;

		if (L.ndict == 0)
			for (; i < n; i++)
			{
				out->status[i].ptr = NULL;
				out->status[i].len = 0;
			}
		else
		{
			EcReader	r = {L.runs, L.end, false};

			while (i < n)
			{
				uint32_t	code = (uint32_t) rd_varint(&r);
				EcText		s = {NULL, 0};
				uint32_t	run = 1;

				if (code == L.ndict + 1)
				{
					s.len = (size_t) rd_varint(&r);
					s.ptr = (const char *) rd_bytes(&r, s.len);
				}
				else
				{
					if (code > 0)
						s = L.dict[code - 1];
					run = (uint32_t) rd_varint(&r);
				}
				for (uint32_t k = 0; k < run && i < n; k++)
					out->status[i++] = s;
			}
		}
	}
	return EC_OK;
}

size_t
ec_set_marks_bound(size_t len, uint32_t n)
{
	return len + 2 + (n + 7) / 8;
}

EcErrorCode
ec_set_marks(const uint8_t *block, size_t len, const bool *superseded,
			 uint8_t *out, size_t cap, size_t *out_len)
{
	EcLayout	L;
	EcErrorCode rc;
	size_t		keep;
	EcWriter	w = {out, out + cap, false, 0, 0};

	*out_len = 0;
	if ((rc = parse_block(block, len, &L, NULL, NULL)) != EC_OK)
		return rc;
	keep = (size_t) (L.marks_section - block);
	wr_bytes(&w, block, keep);
	write_marks(&w, superseded, L.n);
	write_crc(&w, out);
	if (w.full)
		return EC_ERR_SPACE;
	*out_len = (size_t) (w.p - out);
	return EC_OK;
}

/* ---------- errors ---------- */

const char *
ec_error_name(EcErrorCode code)
{
	switch (code)
	{
		case EC_OK:
			return "ok";
		case EC_ERR_INPUT:
			return "input";
		case EC_ERR_SPACE:
			return "space";
		case EC_ERR_VERSION:
			return "version";
		case EC_ERR_CHECKSUM:
			return "checksum";
		case EC_ERR_CORRUPT:
			return "corrupt";
		case EC_ERR_TEXT:
			return "status";
	}
	return "unknown";
}

const char *
ec_error_detail(EcErrorCode code)
{
	switch (code)
	{
		case EC_OK:
			return "No error.";
		case EC_ERR_INPUT:
			return "The readings cannot be encoded: too many, a scale out of range, or a value whose double is not its decimal's.";
		case EC_ERR_SPACE:
			return "The output buffer is too small for the encoded block.";
		case EC_ERR_VERSION:
			return "The block's version byte is not one this library reads.";
		case EC_ERR_CHECKSUM:
			return "The block's checksum does not match its bytes.";
		case EC_ERR_CORRUPT:
			return "The block is truncated or holds a field out of range.";
		case EC_ERR_TEXT:
			return "A status in the block is not valid text in the database's encoding, or holds a zero byte.";
	}
	return "Unknown error.";
}
