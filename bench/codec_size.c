/*-------------------------------------------------------------------------
 *
 * codec_size.c
 *	  Bytes per reading and speed of the readings codec, on generated days
 *	  and on real files.
 *
 * The figure that matters is what a reading costs on disk, so this reports
 * the encoded block alone and the block with an estimate of its heap row
 * (tuple header, line pointer, the row's other columns).  Generated days:
 * 48, 96 and 288 readings of 3-decimal kWh, as a random walk in
 * 0.000 .. 2.500 and as independent values (bench/gen's NEM12 pool), with
 * statuses mostly absent.  Files given on the command line (LP, TOU or
 * NEM12, as energy_load reads them) are parsed with the parser, cut into
 * blocks the way the loader cuts them (one per meter, channel and day, in
 * file order) and encoded.  Next to each, the size that zig-zag varint
 * deltas, and a patched frame of reference (outliers listed apart), would
 * take for the values instead of the chosen bit packing: the alternatives
 * the format was chosen against.  Built by hand or with make:
 *
 *	  make bench/codec_size
 *	  bench/codec_size [FILE ...]
 *
 * Speeds are single-core and include the checksum; they are not a test.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "parser.h"

/*
 * A heap row of energy_reading holding one block: 24 bytes of tuple header,
 * a 4-byte line pointer, meter_id, segment_id, day (padded to 8), line;
 * plus the block's varlena header (1 byte up to 126 bytes, else 4).
 */
#define ROW_OVERHEAD	(24 + 4 + 8 + 8 + 8 + 8)

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
b_alloc(size_t size, void *arg)
{
	void	   *p = malloc(size);

	(void) arg;
	if (p == NULL)
		abort();
	return p;
}

static void *
b_realloc(void *ptr, size_t size, void *arg)
{
	void	   *p = realloc(ptr, size);

	(void) arg;
	if (p == NULL)
		abort();
	return p;
}

static void
b_free(void *ptr, void *arg)
{
	(void) arg;
	free(ptr);
}

/* ---------- accounting ---------- */

typedef struct Tally
{
	uint64_t	blocks;
	uint64_t	readings;
	uint64_t	bytes;			/* encoded blocks */
	uint64_t	row_bytes;		/* blocks with their rows */
	uint64_t	varint_values;	/* values as zig-zag varint deltas */
	uint64_t	packed_values;	/* values as the codec packs them */
	uint64_t	pfor_values;	/* values as patched frame of reference */
	uint64_t	delta_blocks;
} Tally;

static int
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

static uint64_t
zz(int64_t v)
{
	return ((uint64_t) v << 1) ^ (uint64_t) (v < 0 ? -1 : 0);
}

static int
bits(uint64_t v)
{
	int			w = 0;

	while (v)
	{
		w++;
		v >>= 1;
	}
	return w;
}

/* Encode one block and add it up, with the alternatives' value sizes. */
static void
tally_block(Tally *t, const EcBlock *in, uint8_t *buf, size_t cap)
{
	size_t		len;
	EcErrorCode rc = ec_encode(in, buf, cap, &len);
	uint64_t	vint = 0;
	int64_t		vmin = INT64_MAX,
				vmax = INT64_MIN,
				dmin = INT64_MAX,
				dmax = INT64_MIN;
	uint64_t	raw,
				delta;

	if (rc != EC_OK)
	{
		fprintf(stderr, "encode: %s\n", ec_error_detail(rc));
		exit(1);
	}
	t->blocks++;
	t->readings += in->n;
	t->bytes += len;
	t->row_bytes += len + ROW_OVERHEAD + (len <= 126 ? 1 : 4);
	/* the alternatives get the block's power of ten too */
	int64_t		f = 1000000000000000000LL;
	bool		nonzero = false;

	for (uint32_t i = 0; i < in->n; i++)
	{
		while (f > 1 && in->value[i].digits % f != 0)
			f /= 10;
		nonzero |= in->value[i].digits != 0;
	}
	if (!nonzero)
		f = 1;
	for (uint32_t i = 0; i < in->n; i++)
	{
		int64_t		v = in->value[i].digits / f;
		int64_t		d = i ? v - in->value[i - 1].digits / f : v;

		vint += varint_len(zz(d));
		if (v < vmin)
			vmin = v;
		if (v > vmax)
			vmax = v;
		if (i > 0 && d < dmin)
			dmin = d;
		if (i > 0 && d > dmax)
			dmax = d;
	}
	raw = varint_len(zz(vmin)) + ((uint64_t) in->n * bits((uint64_t) (vmax - vmin)) + 7) / 8;
	delta = in->n > 1 ? varint_len(zz(in->value[0].digits / f)) + varint_len(zz(dmin)) +
		((uint64_t) (in->n - 1) * bits((uint64_t) (dmax - dmin)) + 7) / 8 : raw + 1;
	/*
	 * Patched frame of reference, as an estimate: the best width for the
	 * raw values when those above it go to a list (2 bytes of index and
	 * the value as a varint each).
	 */
	{
		uint64_t	best = UINT64_MAX;

		for (int w = 0; w <= 64 && in->n > 0; w++)
		{
			uint64_t	cost = varint_len(zz(vmin)) + 2 + ((uint64_t) in->n * w + 7) / 8;

			for (uint32_t i = 0; i < in->n; i++)
			{
				uint64_t	x = (uint64_t) (in->value[i].digits / f - vmin);

				if (w < 64 && (x >> w) != 0)
					cost += 2 + varint_len(x);
			}
			if (cost < best)
				best = cost;
		}
		t->pfor_values += in->n > 0 ? best : 0;
	}
	t->varint_values += vint;
	t->packed_values += raw <= delta ? raw : delta;
	t->delta_blocks += delta < raw;
}

static void
tally_print(const char *what, const Tally *t)
{
	double		r = (double) t->readings;

	if (t->readings == 0)
	{
		printf("%-34s no readings\n", what);
		return;
	}
	printf("%-34s %8llu blocks %10llu readings  block %5.2f B/reading  with row %5.2f  "
		   "(values packed %4.2f, as varint deltas %4.2f, patched %4.2f; delta chosen in %3.0f%%)\n",
		   what, (unsigned long long) t->blocks, (unsigned long long) t->readings,
		   t->bytes / r, t->row_bytes / r, t->packed_values / r, t->varint_values / r,
		   t->pfor_values / r,
		   100.0 * t->delta_blocks / (t->blocks ? t->blocks : 1));
}

/* ---------- generated days ---------- */

typedef enum Shape
{
	WALK,						/* random walk 0.000 .. 2.500 */
	INDEPENDENT					/* bench/gen's NEM12 pool: 5 x^2, >= 0.001 */
} Shape;

static void
gen_day(int per_day, Shape shape, int64_t midnight, int64_t *at, EcValue *v,
		EcText *st, bool *any_status)
{
	int64_t		step = 86400000000LL / per_day;
	static int64_t walk = 500;

	*any_status = false;
	for (int i = 0; i < per_day; i++)
	{
		int64_t		d;

		at[i] = midnight + step * (i + 1);	/* interval ends, as NEM12 */
		if (shape == WALK)
		{
			walk += (int64_t) (rnd() % 301) - 150;
			if (walk < 0)
				walk = -walk;
			if (walk > 2500)
				walk = 5000 - walk;
			d = walk;
		}
		else
		{
			double		x = (double) (rnd() >> 11) / 9007199254740992.0;

			d = (int64_t) (x * x * 5000.0 + 0.5);
			if (d < 1)
				d = 1;
		}
		v[i].digits = d;
		v[i].scale = 3;
		v[i].exact = true;
		v[i].value = ec_decimal_to_double(d, 3);
		st[i].ptr = NULL;
		st[i].len = 0;
		if (rnd() % 100 == 0)
		{
			st[i].ptr = "E";
			st[i].len = 1;
			*any_status = true;
		}
	}
}

static void
bench_generated(int per_day, Shape shape, int days)
{
	int64_t    *at = malloc(sizeof(int64_t) * per_day);
	EcValue    *v = malloc(sizeof(EcValue) * per_day);
	EcText	   *st = malloc(sizeof(EcText) * per_day);
	EcValue    *vout = malloc(sizeof(EcValue) * per_day);
	int64_t    *atout = malloc(sizeof(int64_t) * per_day);
	double	   *dout = malloc(sizeof(double) * per_day);
	EcText	   *stout = malloc(sizeof(EcText) * per_day);
	size_t		cap = 64 + 48 * (size_t) per_day + 1024;
	uint8_t    *blocks = malloc(cap * (size_t) days);
	size_t	   *lens = malloc(sizeof(size_t) * days);
	Tally		t;
	char		what[80];
	double		t0,
				enc,
				dec_all,
				dec_double,
				dec_iter;
	int64_t		midnight = 5000LL * 86400000000LL;
	volatile double sink = 0;

	memset(&t, 0, sizeof(t));
	t0 = now_sec();
	for (int d = 0; d < days; d++)
	{
		bool		any;
		EcBlock		in;

		gen_day(per_day, shape, midnight + d * 86400000000LL, at, v, st, &any);
		in.n = per_day;
		in.base = midnight + d * 86400000000LL;
		in.at = at;
		in.value = v;
		in.status = any ? st : NULL;
		in.superseded = NULL;
		tally_block(&t, &in, blocks + cap * d, cap);
		lens[d] = 0;
		(void) ec_encode(&in, blocks + cap * d, cap, &lens[d]);
	}
	(void) t0;

	/* encode speed, on the last day's readings over and over */
	{
		EcBlock		in = {per_day, midnight, at, v, NULL, NULL};
		uint8_t    *buf = malloc(cap);
		size_t		len;
		int			reps = 2000000 / per_day;

		t0 = now_sec();
		for (int k = 0; k < reps; k++)
			(void) ec_encode(&in, buf, cap, &len);
		enc = (double) reps * per_day / (now_sec() - t0);
		free(buf);
	}
	/* decode speeds, over all the days */
	t0 = now_sec();
	for (int d = 0; d < days; d++)
	{
		EcArrays	a = {atout, vout, NULL, stout, NULL, false, NULL, NULL};

		(void) ec_decode(blocks + cap * d, lens[d], midnight + d * 86400000000LL, &a);
		sink += vout[per_day - 1].value;
	}
	dec_all = (double) days * per_day / (now_sec() - t0);
	t0 = now_sec();
	for (int d = 0; d < days; d++)
	{
		EcArrays	a = {NULL, NULL, dout, NULL, NULL, false, NULL, NULL};

		(void) ec_decode(blocks + cap * d, lens[d], 0, &a);
		sink += dout[per_day - 1];
	}
	dec_double = (double) days * per_day / (now_sec() - t0);
	t0 = now_sec();
	for (int d = 0; d < days; d++)
	{
		EcIter		it;
		EcValue		x;
		bool		m;
		int64_t		sum = 0;

		(void) ec_iter_begin(blocks + cap * d, lens[d], &it);
		while (ec_iter_next(&it, &x, &m))
			if (!m)
				sum += x.digits;
		sink += (double) sum;
	}
	dec_iter = (double) days * per_day / (now_sec() - t0);

	snprintf(what, sizeof(what), "%d a day, %s", per_day,
			 shape == WALK ? "random walk" : "independent");
	tally_print(what, &t);
	printf("%-34s encode %5.1f M readings/s; decode all %5.1f M/s, doubles only %5.1f M/s, "
		   "digits for sums %5.1f M/s\n", "", enc / 1e6, dec_all / 1e6, dec_double / 1e6,
		   dec_iter / 1e6);
	free(at);
	free(v);
	free(st);
	free(vout);
	free(atout);
	free(dout);
	free(stout);
	free(blocks);
	free(lens);
}

/* ---------- files ---------- */

/* Days since 2000-01-01 of a proleptic Gregorian date (Howard Hinnant's). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t		era;
	int64_t		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 - 10957;
}

static int64_t
timestamp(const EpTimestamp *ts)
{
	return ((days_from_civil(ts->year, ts->month, ts->day) * 24 + ts->hour) * 60 +
			ts->minute) * 60000000LL + ts->second * 1000000LL + ts->usec;
}

typedef struct Pending
{
	char		key[512];
	int64_t		day;
	uint32_t	n;
	int64_t    *at;
	EcValue    *v;
	EcText	   *st;
	char	   *stbuf;			/* statuses' bytes, 64 per reading */
	bool		any_status;
} Pending;

static void
flush(Pending *p, Tally *t, uint8_t *buf, size_t cap)
{
	EcBlock		in;

	if (p->n == 0)
		return;
	in.n = p->n;
	in.base = p->day * 86400000000LL;
	in.at = p->at;
	in.value = p->v;
	in.status = p->any_status ? p->st : NULL;
	in.superseded = NULL;
	tally_block(t, &in, buf, cap);
	p->n = 0;
	p->any_status = false;
}

static void
bench_file(const char *path)
{
	static const EpAllocator alloc = {b_alloc, b_realloc, b_free, NULL};
	FILE	   *f = fopen(path, "rb");
	EpParser   *ps;
	EpRow		row;
	EpError		err;
	EpStatus	s;
	char		chunk[65536];
	Pending		p;
	Tally		t;
	size_t		cap = 64 + 48 * (size_t) EC_MAX_READINGS + 64 * (size_t) EC_MAX_READINGS * 2;
	uint8_t    *buf = malloc(cap);
	uint64_t	file_bytes = 0;
	const char *base = strrchr(path, '/');

	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	memset(&p, 0, sizeof(p));
	memset(&t, 0, sizeof(t));
	p.at = malloc(sizeof(int64_t) * EC_MAX_READINGS);
	p.v = malloc(sizeof(EcValue) * EC_MAX_READINGS);
	p.st = malloc(sizeof(EcText) * EC_MAX_READINGS);
	p.stbuf = malloc(64 * (size_t) EC_MAX_READINGS);
	ps = ep_create(&alloc, 0);
	while ((s = ep_next(ps, &row, &err)) != EP_END)
	{
		if (s == EP_NEED_MORE)
		{
			size_t		got = fread(chunk, 1, sizeof(chunk), f);

			file_bytes += got;
			if (got > 0)
				ep_push(ps, chunk, got);
			else
				ep_finish(ps);
		}
		else if (s == EP_ROW && !row.value.is_null)
		{
			char		key[512];
			int64_t		day = days_from_civil(row.day.year, row.day.month, row.day.day);
			EcValue    *v;

			snprintf(key, sizeof(key), "%.*s|%.*s|%.*s|%.*s", (int) row.meter.len, row.meter.ptr,
					 (int) row.serial.len, row.serial.ptr, (int) row.data_type.len,
					 row.data_type.ptr, (int) row.units.len, row.units.ptr);
			if (p.n == EC_MAX_READINGS || day != p.day || strcmp(key, p.key) != 0)
			{
				flush(&p, &t, buf, cap);
				memcpy(p.key, key, sizeof(key));
				p.day = day;
			}
			p.at[p.n] = timestamp(&row.at);
			v = &p.v[p.n];
			v->value = row.value.value;
			v->digits = row.value.digits;
			v->scale = (int16_t) row.value.scale;
			v->exact = row.value.exact;
			p.st[p.n].ptr = NULL;
			p.st[p.n].len = 0;
			if (row.status.len > 0)
			{
				size_t		l = row.status.len < 64 ? row.status.len : 64;

				memcpy(p.stbuf + 64 * (size_t) p.n, row.status.ptr, l);
				p.st[p.n].ptr = p.stbuf + 64 * (size_t) p.n;
				p.st[p.n].len = l;
				p.any_status = true;
			}
			p.n++;
		}
	}
	flush(&p, &t, buf, cap);
	ep_destroy(ps);
	fclose(f);
	tally_print(base ? base + 1 : path, &t);
	if (t.readings > 0)
		printf("%-34s the file: %.2f B/reading\n", "", (double) file_bytes / t.readings);
	free(p.at);
	free(p.v);
	free(p.st);
	free(p.stbuf);
	free(buf);
}

int
main(int argc, char **argv)
{
	int			per_day[3] = {48, 96, 288};

	printf("bytes per reading: the encoded block, and with an estimate of its heap row "
		   "(%d B + varlena header)\n", ROW_OVERHEAD);
	for (int k = 0; k < 3; k++)
	{
		int			days = 3650000 / per_day[k] / 10;

		bench_generated(per_day[k], WALK, days);
		bench_generated(per_day[k], INDEPENDENT, days);
	}
	for (int i = 1; i < argc; i++)
		bench_file(argv[i]);
	return 0;
}
