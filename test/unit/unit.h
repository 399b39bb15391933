/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  What the parser's test programs share: an allocator that counts, the
 *	  push side of the parser's loop, and reading a file whole.
 *
 * Included by test_parser.c and test_nem.c, each its own program, so the
 * definitions are static.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENERGY_UNIT_H
#define ENERGY_UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include "parser.h"

/* ---------- allocator: malloc, with live/peak accounting ---------- */

static size_t live_blocks;
static size_t live_bytes;
static size_t peak_bytes;

typedef struct Hdr
{
	size_t		size;
	size_t		pad;
} Hdr;

static void *
t_alloc(size_t size, void *arg)
{
	Hdr		   *h = malloc(sizeof(Hdr) + size);

	(void) arg;
	if (h == NULL)
		abort();
	h->size = size;
	live_blocks++;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return h + 1;
}

static void *
t_realloc(void *ptr, size_t size, void *arg)
{
	Hdr		   *h = (Hdr *) ptr - 1;
	size_t		old = h->size;

	(void) arg;
	h = realloc(h, sizeof(Hdr) + size);
	if (h == NULL)
		abort();
	h->size = size;
	live_bytes = live_bytes - old + size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
	return h + 1;
}

static void
t_free(void *ptr, void *arg)
{
	Hdr		   *h = (Hdr *) ptr - 1;

	(void) arg;
	live_blocks--;
	live_bytes -= h->size;
	free(h);
}

static const EpAllocator talloc = {t_alloc, t_realloc, t_free, NULL};

/*
 * The answer to EP_NEED_MORE: the next `chunk` bytes of data (all that is
 * left when chunk is 0), or ep_finish() when nothing is left.  *off is how
 * much has been pushed.
 */
static void
feed(EpParser *p, const char *data, size_t len, size_t chunk, size_t *off)
{
	size_t		n = chunk ? chunk : len;

	if (*off >= len)
	{
		ep_finish(p);
		return;
	}
	if (n > len - *off)
		n = len - *off;
	ep_push(p, data + *off, n);
	*off += n;
}

/* A whole file, NUL-terminated (for the tests' string functions), or NULL. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *d;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc(n + 1);
	if (fread(d, 1, n, f) != (size_t) n)
		n = 0;
	d[n] = '\0';
	fclose(f);
	*len = n;
	return d;
}

#endif							/* ENERGY_UNIT_H */
