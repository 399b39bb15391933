/*-------------------------------------------------------------------------
 *
 * parser_speed.c
 *	  Throughput benchmark for the streaming parser.
 *
 * The loader feeds the parser from COPY-sized reads, so this pushes a file
 * in 64 KiB chunks and pulls rows until the parser wants more, exactly the
 * loop the backend runs, and reports ns per row and MB/s.  It is built by
 * hand, not by the Makefile:
 *
 *	  gcc -O2 -Isrc bench/parser_speed.c src/parse_csv.c src/parse_value.c \
 *		  src/parse_lptou.c src/parse_nem.c src/parser.c -lm -o /tmp/parser_speed
 *	  /tmp/parser_speed /tmp/lp_2m.csv [repeats]
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parser.h"

#define CHUNK (64 * 1024)

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

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One pass over the in-memory file; returns rows (errors are counted
 * separately so a bad benchmark file is noticed, not silently timed).
 */
static long
run_once(const char *data, size_t len, long *errors, double *checksum)
{
	EpAllocator a = {b_alloc, b_realloc, b_free, NULL};
	EpParser   *p = ep_create(&a, 0);
	size_t		off = 0;
	long		rows = 0;
	EpRow		row;
	EpError		err;

	for (;;)
	{
		EpStatus	st = ep_next(p, &row, &err);

		if (st == EP_ROW)
		{
			rows++;
			*checksum += row.value.value;
		}
		else if (st == EP_ERROR)
		{
			(*errors)++;
			if (err.code == EP_ERR_EMPTY || err.code == EP_ERR_HEADER)
				break;
		}
		else if (st == EP_NEED_MORE)
		{
			size_t		n = len - off < CHUNK ? len - off : CHUNK;

			if (n == 0)
				ep_finish(p);
			else
				ep_push(p, data + off, n);
			off += n;
		}
		else
			break;
	}
	ep_destroy(p);
	return rows;
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char	   *data;
	long		len;
	int			repeats = 5;
	int			r;
	double		best = 1e30;
	long		rows = 0;
	long		errors = 0;
	double		checksum = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s FILE [repeats]\n", argv[0]);
		return 2;
	}
	if (argc > 2)
		repeats = atoi(argv[2]);
	f = fopen(argv[1], "rb");
	if (f == NULL)
	{
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(len > 0 ? len : 1);
	if (data == NULL || fread(data, 1, len, f) != (size_t) len)
	{
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);

	for (r = 0; r < repeats; r++)
	{
		double		t0 = now_sec();
		double		t;

		errors = 0;
		rows = run_once(data, len, &errors, &checksum);
		t = now_sec() - t0;
		if (t < best)
			best = t;
	}
	printf("rows %ld errors %ld bytes %ld (checksum %g)\n",
		   rows, errors, len, checksum);
	printf("best of %d: %.3f s, %.1f ns/row, %.1f MB/s\n",
		   repeats, best, rows ? best * 1e9 / rows : 0.0,
		   len / best / 1e6);
	free(data);
	return 0;
}
