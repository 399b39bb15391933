/*-------------------------------------------------------------------------
 *
 * parse_csv.c
 *	  The byte scanner: the input buffer, records and fields, quoting, line
 *	  ends, UTF-8 (see parser_int.h for the other parts).
 *
 * This is the only code that looks at every input byte, so it is written
 * for that, and it knows nothing of what the fields mean: the formats get
 * a record split into fields and turn them into values.
 *
 * Design notes (the "why"):
 *
 *	- Records are found by a small state machine whose whole state lives in
 *	  the parser, as offsets relative to the first unconsumed byte.  When a
 *	  chunk ends in the middle of a record the scan stops and later resumes
 *	  exactly where it was, so each byte is classified once no matter how the
 *	  input was cut, and a record split at any byte (inside CRLF, quotes, a
 *	  UTF-8 sequence) parses as if it had come in one piece.  A CR that is
 *	  the last buffered byte is not taken as a line end until we know whether
 *	  an LF follows, for the same reason.
 *	- The hot loops classify bytes with 256-entry tables; ordinary ASCII
 *	  bytes cost one load and one compare.  Bytes >= 0x80 and NUL only set a
 *	  flag; the record is validated as UTF-8 afterwards, and only then.
 *	- Fields are handed out as pointers into the input buffer.  Only quoted
 *	  fields containing "" need a copy (into one scratch buffer).
 *	- Memory is bounded by max_record plus the caller's chunk: a record that
 *	  grows past max_record is reported at once and the rest of its line is
 *	  discarded as it arrives.
 *
 *-------------------------------------------------------------------------
 */
#include "parser_int.h"

#include <stdint.h>
#include <string.h>

/* scanner states */
enum
{
	S_FSTART,					/* before a field, skipping blanks */
	S_UNQ,						/* inside an unquoted field */
	S_QUOTED,					/* inside quotes */
	S_QSEEN,					/* just after a quote inside quotes */
	S_AFTERQ,					/* blanks after a closing quote */
	S_JUNK						/* text after a closing quote */
};

/* scanner results */
enum
{
	SCAN_RECORD,
	SCAN_NEED_MORE,
	SCAN_END,
	SCAN_TOO_LONG,
	SCAN_EOF_QUOTE
};

/* byte classes for the scanner tables */
#define C_PLAIN		0
#define C_STOP		1			/* delimiter, quote or line end */
#define C_SPECIAL	2			/* NUL or >= 0x80: needs UTF-8 validation */

/*
 * Byte class tables.  They are built at compile time with designated
 * initialisers so that there is no init-once race and no per-call setup.
 */
static const unsigned char cls_unq[256] = {
	[0] = C_SPECIAL,
	[','] = C_STOP,
	['\r'] = C_STOP,
	['\n'] = C_STOP,
};

static const unsigned char cls_quo[256] = {
	[0] = C_SPECIAL,
	['"'] = C_STOP,
	['\r'] = C_STOP,
	['\n'] = C_STOP,
};

/*
 * Range initialisers are a GNU extension, so the high half is marked by
 * looking at the byte instead: the compiler folds "c >= 0x80" into the
 * table test cheaply, and the tables stay standard C11.
 */
#define UNQ_CLASS(c)	((c) >= 0x80 ? C_SPECIAL : cls_unq[(c)])
#define QUO_CLASS(c)	((c) >= 0x80 ? C_SPECIAL : cls_quo[(c)])

/*
 * SWAR helpers for the unquoted scan: HASZERO flags (in bit 7) each zero
 * byte of a word; the lowest flag is always exact, which is all we need
 * since we only want the first interesting byte.  Borrows only run
 * towards more significant bytes, so the word must hold the first byte in
 * its least significant position: big-endian machines swap after loading.
 */
#define BCAST(c)	((uint64_t) 0x0101010101010101ULL * (uint8_t) (c))
#define HASZERO(v)	(((v) - BCAST(1)) & ~(v) & BCAST(0x80))

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LOAD_LE(x)	((x) = __builtin_bswap64(x))
#else
#define LOAD_LE(x)	((void) 0)
#endif

static inline size_t
first_flagged_byte(uint64_t t)
{
	return (size_t) __builtin_ctzll(t) / 8;
}

/*
 * Room for len more bytes at the end of the buffer.  Compaction is done
 * only when the consumed prefix is at least as large as what remains (or
 * when we must grow anyway), so that feeding tiny chunks into a long
 * pending record does not cost a memmove per byte: the bytes moved are
 * paid for by bytes consumed.
 */
char *
ep_reserve(EpParser *p, size_t len)
{
	size_t		pending;

	/* after a file error the buffer is frozen so that err->raw stays valid */
	if (p->has_file_err || p->finished)
		return NULL;

	pending = p->end - p->start;
	if (p->start > 0 && (p->start >= pending || p->end + len > p->cap))
	{
		if (pending > 0)
			memmove(p->buf, p->buf + p->start, pending);
		p->start = 0;
		p->end = pending;
	}
	if (p->end + len > p->cap)
	{
		size_t		ncap = p->cap < 65536 ? 65536 : p->cap * 2;

		while (ncap < p->end + len)
			ncap *= 2;
		p->buf = ep_realloc(p, p->buf, ncap);
		p->cap = ncap;
	}
	return p->buf + p->end;
}

/* The n bytes read into ep_reserve's room are input now. */
void
ep_commit(EpParser *p, size_t n)
{
	p->end += n;
	Assert(p->end <= p->cap);
}

void
ep_push(EpParser *p, const char *data, size_t len)
{
	char	   *dst;

	if (len == 0 || (dst = ep_reserve(p, len)) == NULL)
		return;
	memcpy(dst, data, len);
	ep_commit(p, len);
}

/*
 * Length of the valid UTF-8 character at s (1..4), or 0 if the bytes there
 * are not one (NUL counts as invalid: PostgreSQL text cannot hold it).
 * Overlongs, surrogates, code points above U+10FFFF and truncated sequences
 * are all rejected, as PostgreSQL's pg_utf8_islegal() does.
 */
static int
utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
	{
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] > 0x9F)
			return 0;			/* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;			/* > U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * Offset of the first byte that does not start a valid character, or
 * (size_t) -1 when the whole text is valid.  Only called for records in
 * which the scanner saw NUL or a high byte.
 */
size_t
ep_utf8_first_bad(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		int			l;

		if (s[i] != 0 && s[i] < 0x80)
		{
			i++;
			continue;
		}
		l = utf8_char_len(s + i, n - i);
		if (l == 0)
			return i;
		i += l;
	}
	return (size_t) -1;
}

/*
 * Write text into an EpError.value: printable, never more than
 * EP_VALUE_MAX bytes, never cutting a character or an escape in half.
 * Bytes that are not printable UTF-8 become \xNN so that logs and reject
 * tables never receive raw control or invalid bytes.
 */
void
ep_escape_value(char *dst, const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		o = 0;
	size_t		i = 0;
	static const char hex[] = "0123456789ABCDEF";

	while (i < n)
	{
		unsigned char c = s[i];
		int			l;

		if (c >= 0x20 && c < 0x7F)
		{
			if (o + 1 > EP_VALUE_MAX)
				break;
			dst[o++] = (char) c;
			i++;
			continue;
		}
		l = (c >= 0x80) ? utf8_char_len(s + i, n - i) : 0;
		/* C1 controls (U+0080..U+009F) are valid but not printable */
		if (l == 2 && c == 0xC2 && s[i + 1] < 0xA0)
			l = 0;
		if (l > 0)
		{
			if (o + l > EP_VALUE_MAX)
				break;
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		if (o + 4 > EP_VALUE_MAX)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[c >> 4];
		dst[o++] = hex[c & 15];
		i++;
	}
	dst[o] = '\0';
}

/*
 * Find the end of the record at buf[start].  Returns one of SCAN_*.  This is
 * the byte loop, the one place every input byte passes through, so it stays
 * one function, as COPY's CopyReadLineText does; what it does is explained
 * here rather than split into calls.
 *
 * States (st), a record being a run of fields separated by commas:
 *	S_FSTART	before a field: blanks are skipped; '"' opens a quoted field;
 *				anything else starts an unquoted one.
 *	S_UNQ		inside an unquoted field.  Scanned eight bytes at a time (SWAR)
 *				while none is a comma, CR, LF, NUL or >= 0x80.  A comma ends
 *				the field (trailing blanks trimmed); CR or LF ends the record.
 *	S_QUOTED	inside quotes: commas and line ends are data (a line end
 *				counts a physical line, for error messages); '"' leads to
 *				S_QSEEN.
 *	S_QSEEN		just after a quote inside quotes: '"' is an escaped quote
 *				(the field gets FF_DQ and is unescaped later); a comma or
 *				line end closes the field; blanks lead to S_AFTERQ; anything
 *				else is text after a closing quote, S_JUNK.
 *	S_AFTERQ	blanks after a closing quote, allowed before a comma or line
 *				end; anything else leads to S_JUNK.
 *	S_JUNK		text after a closing quote.  Scanned to the end of the field
 *				so the record can be reported whole; quote_col remembers
 *				the column for the error (EP_ERR_QUOTE).
 *
 * Byte classes (UNQ_CLASS, QUO_CLASS): C_PLAIN bytes only advance; C_STOP
 * bytes (comma, quote, CR, LF, as the state cares) change state; C_SPECIAL
 * bytes (NUL, >= 0x80) advance and set "special", so that the record is
 * validated as UTF-8 afterwards, once, and only if it needs it.
 *
 * A line end: LF ends the record; CR ends it too, with an LF after it
 * taken as part of the same line end.  A CR that is the last buffered byte
 * is left for the next call (unless the input is finished), since its LF
 * may be in the next chunk.
 *
 * Exits: "record" stores the last field and returns SCAN_RECORD (rec_len
 * without the line end, eol_len its length); "need_more" saves every local
 * into the parser and returns SCAN_NEED_MORE, so the next call resumes at
 * the same byte in the same state; "out" (the bytes ran out) decides
 * between too long (SCAN_TOO_LONG: max_record bytes without a line end),
 * more input, a quote never closed (SCAN_EOF_QUOTE), the end of the input
 * (SCAN_END) and a last record without a line end.
 *
 * Why macros and gotos: STORE_FIELD runs at every field end, in seven places,
 * and must write to p-> while the state stays in locals; a function taking
 * all of them would cost more than the field.  The state lives in locals
 * because the buffer is char data, which may alias anything: working
 * through p-> would force the compiler to reload state after every store.
 * The gotos are the state machine's edges, like CopyReadLineText's.
 */
static int
scan_record(EpParser *p)
{
	const unsigned char *b = (const unsigned char *) p->buf + p->start;
	size_t		avail = p->end - p->start;
	size_t		lim = avail;
	bool		capped = false;
	size_t		i,
				nf,
				fbeg,
				fend,
				rawbeg,
				quote_col;
	int			st;
	unsigned char fflags;
	bool		special;
	uint64_t	nlines;
	size_t		eol = 0;
	size_t		maxf = p->max_fields;
	unsigned char c;
	int			k;

	Assert(p->start <= p->end && p->end <= p->cap);
	if (!p->scanning)
	{
		p->scanning = true;
		p->st = S_FSTART;
		p->pos = 0;
		p->nf = 0;
		p->fbeg = p->fend = p->rawbeg = 0;
		p->fflags = 0;
		p->special = false;
		p->quote_col = 0;
		p->nlines = 0;
	}
	i = p->pos;
	st = p->st;
	nf = p->nf;
	fbeg = p->fbeg;
	fend = p->fend;
	rawbeg = p->rawbeg;
	fflags = p->fflags;
	special = p->special;
	quote_col = p->quote_col;
	nlines = p->nlines;

	if (avail > p->max_record)
	{
		lim = p->max_record + 1;
		capped = true;
	}

#define STORE_FIELD(s_, e_, fl_) \
	do { \
		if (nf < maxf) \
		{ \
			p->f[nf].start = (s_); \
			p->f[nf].end = (e_); \
			p->f[nf].flags = (fl_); \
			p->f[nf].raw = rawbeg; \
		} \
		nf++; \
	} while (0)

	for (;;)
	{
		if (i >= lim)
			goto out;
		c = b[i];
		switch (st)
		{
			case S_FSTART:
				if (c == ' ' || c == '\t')
				{
					i++;
					continue;
				}
				if (c == '"')
				{
					fflags = FF_QUOTED;
					i++;
					fbeg = i;
					st = S_QUOTED;
					continue;
				}
				fbeg = i;
				fflags = 0;
				st = S_UNQ;
				goto unq;

			case S_UNQ:
		unq:

				/*
				 * Eight bytes at a time while they are all ordinary.  The
				 * stopping byte is taken from the word itself rather than
				 * reloaded: the load would sit on the critical path of every
				 * field.
				 */
				for (;;)
				{
					if (i + 8 <= lim)
					{
						uint64_t	x;
						uint64_t	t;
						size_t		pos;

						memcpy(&x, b + i, 8);
						LOAD_LE(x);
						t = HASZERO(x ^ BCAST(',')) | HASZERO(x ^ BCAST('\r')) |
							HASZERO(x ^ BCAST('\n')) | HASZERO(x) |
							(x & BCAST(0x80));
						if (t == 0)
						{
							i += 8;
							continue;
						}
						pos = first_flagged_byte(t);
						i += pos;
						c = (unsigned char) (x >> (pos * 8));
						break;
					}
					if (i >= lim)
						goto out;
					c = b[i];
					if (UNQ_CLASS(c) != C_PLAIN)
						break;
					i++;
				}
				if (c == 0 || c >= 0x80)
				{
					special = true;
					i++;
					goto unq;
				}
				if (c == ',')
				{
					size_t		e = i;

					while (e > fbeg && (b[e - 1] == ' ' || b[e - 1] == '\t'))
						e--;
					STORE_FIELD(fbeg, e, 0);
					i++;
					rawbeg = i;
					/* the common next field: unquoted, no leading blank */
					if (i < lim && b[i] != ' ' && b[i] != '\t' && b[i] != '"')
					{
						fbeg = i;
						goto unq;
					}
					st = S_FSTART;
					continue;
				}
				goto line_end;

			case S_QUOTED:
				while ((k = QUO_CLASS(c)) == C_PLAIN)
				{
					if (++i >= lim)
						goto out;
					c = b[i];
				}
				if (k == C_SPECIAL)
				{
					special = true;
					i++;
					continue;
				}
				if (c == '"')
				{
					fend = i;
					i++;
					st = S_QSEEN;
					continue;
				}
				/* line end inside quotes: data, but it is a new line */
				if (c == '\r' || b[i - 1] != '\r')
					nlines++;
				i++;
				continue;

			case S_QSEEN:
				if (c == '"')
				{
					fflags |= FF_DQ;
					i++;
					st = S_QUOTED;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				if (c == ' ' || c == '\t')
				{
					i++;
					st = S_AFTERQ;
					continue;
				}
				if (c == '\r' || c == '\n')
					goto line_end;
				if (quote_col == 0)
					quote_col = nf + 1;
				st = S_JUNK;
				continue;

			case S_AFTERQ:
				if (c == ' ' || c == '\t')
				{
					i++;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				if (c == '\r' || c == '\n')
					goto line_end;
				if (quote_col == 0)
					quote_col = nf + 1;
				st = S_JUNK;
				continue;

			case S_JUNK:
				k = UNQ_CLASS(c);
				if (k == C_PLAIN)
				{
					i++;
					continue;
				}
				if (k == C_SPECIAL)
				{
					special = true;
					i++;
					continue;
				}
				if (c == ',')
				{
					STORE_FIELD(fbeg, fend, fflags);
					i++;
					rawbeg = i;
					st = S_FSTART;
					continue;
				}
				goto line_end;
		}
	}

line_end:
	/* b[i] is CR or LF in a state where it ends the record */
	if (c == '\n')
		eol = 1;
	else if (i + 1 < avail)
		eol = (b[i + 1] == '\n') ? 2 : 1;
	else if (p->finished)
		eol = 1;
	else
		goto need_more;
	goto record;

out:
	if (capped && i >= lim)
	{
		p->nlines = nlines;
		p->pos = i;
		return SCAN_TOO_LONG;
	}
	if (!p->finished)
		goto need_more;
	if (st == S_QUOTED)
	{
		p->nf = nf;
		p->nlines = nlines;
		p->rec_len = avail;
		return SCAN_EOF_QUOTE;
	}
	if (avail == 0)
	{
		p->scanning = false;
		return SCAN_END;
	}
	eol = 0;
	/* FALLTHROUGH */

record:
	switch (st)
	{
		case S_FSTART:
			STORE_FIELD(i, i, 0);
			break;
		case S_UNQ:
			{
				size_t		e = i;

				while (e > fbeg && (b[e - 1] == ' ' || b[e - 1] == '\t'))
					e--;
				STORE_FIELD(fbeg, e, 0);
			}
			break;
		default:
			STORE_FIELD(fbeg, fend, fflags);
			break;
	}
	p->nf = nf;
	p->special = special;
	p->quote_col = quote_col;
	p->nlines = nlines;
	p->rec_len = i;
	p->eol_len = eol;
	p->scanning = false;
	return SCAN_RECORD;

need_more:
	p->pos = i;
	p->st = st;
	p->nf = nf;
	p->fbeg = fbeg;
	p->fend = fend;
	p->rawbeg = rawbeg;
	p->fflags = fflags;
	p->special = special;
	p->quote_col = quote_col;
	p->nlines = nlines;
	return SCAN_NEED_MORE;
#undef STORE_FIELD
}

/* Consume n bytes that belonged to a record (or were discarded). */
static inline void
consume(EpParser *p, size_t n, uint64_t lines)
{
	Assert(n <= p->end - p->start);
	p->start += n;
	p->consumed += n;
	p->line += lines;
}

/*
 * Turn the scanned field offsets into EpTexts.  Only fields with "" inside
 * quotes are copied (unescaped) into the scratch buffer, which is sized to
 * the record so that it never needs to grow while filling.
 */
static void
build_fields(EpParser *p, const char *base, size_t rec_len)
{
	size_t		n = p->nf < p->max_fields ? p->nf : p->max_fields;
	size_t		k;
	size_t		so = 0;
	bool		scratch_ready = false;

	for (k = 0; k < n; k++)
	{
		const char *s = base + p->f[k].start;
		size_t		l = p->f[k].end - p->f[k].start;

		if (p->f[k].flags & FF_DQ)
		{
			size_t		j;
			char	   *d;

			if (!scratch_ready)
			{
				if (p->scratch_cap < rec_len + 1)
				{
					size_t		ncap = rec_len + 1 < 256 ? 256 : rec_len + 1;

					if (p->scratch)
						p->alloc.free(p->scratch, p->alloc.arg);
					p->scratch = ep_alloc(p, ncap);
					p->scratch_cap = ncap;
				}
				scratch_ready = true;
			}
			d = p->scratch + so;
			/* unescape: every "" becomes " */
			{
				size_t		o = 0;

				for (j = 0; j < l; j++)
				{
					d[o++] = s[j];
					if (s[j] == '"' && j + 1 < l && s[j + 1] == '"')
						j++;
				}
				p->f[k].str.ptr = d;
				p->f[k].str.len = o;
				so += o;
			}
		}
		else
		{
			p->f[k].str.ptr = s;
			p->f[k].str.len = l;
		}
	}
}

/*
 * Column (1-based) of the field holding byte offset off of the record, or 0
 * when it lies beyond the fields we remember and so cannot be named.
 */
static int
column_of(EpParser *p, size_t off, size_t *fs, size_t *fe, size_t rec_len)
{
	size_t		n = p->nf < p->max_fields ? p->nf : p->max_fields;
	size_t		k = 0;

	while (k + 1 < n && p->f[k + 1].raw <= off)
		k++;
	if (k + 1 == p->max_fields && p->nf > p->max_fields)
		return 0;
	*fs = p->f[k].raw;
	*fe = (k + 1 < n) ? p->f[k + 1].raw - 1 : rec_len;
	return (int) k + 1;
}

/*
 * After a too-long record, drop the rest of its line as it arrives.
 * Returns false when the line end has not come yet (more input needed).
 */
bool
ep_discard_line_rest(EpParser *p)
{
	const char *b = p->buf + p->start;
	size_t		avail = p->end - p->start;
	size_t		k;

	for (k = 0; k < avail; k++)
		if (b[k] == '\n' || b[k] == '\r')
			break;
	if (k == avail)
	{
		consume(p, avail, 0);
		if (!p->finished)
			return false;
	}
	else if (b[k] == '\r')
	{
		if (k + 1 < avail)
			consume(p, k + 1 + (b[k + 1] == '\n'), 1);
		else if (p->finished)
			consume(p, k + 1, 1);
		else
		{
			/* keep the CR until we know whether LF follows */
			consume(p, k, 0);
			return false;
		}
	}
	else
		consume(p, k + 1, 1);
	p->discarding = false;
	return true;
}

/*
 * Step over a UTF-8 byte-order mark at the very start.  Returns false while
 * the bytes so far could still be the start of one.
 */
bool
ep_skip_bom(EpParser *p)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	size_t		avail = p->end - p->start;
	size_t		k;

	for (k = 0; k < avail && k < 3; k++)
		if ((unsigned char) p->buf[p->start + k] != bom[k])
			break;
	if (k == 3)
		consume(p, 3, 0);
	else if (k == avail && !p->finished)
		return false;
	p->bom_done = true;
	return true;
}

/*
 * Find the next complete record, consume it and split it into fields.
 * Returns false with *st set when there is none to parse: more input is
 * needed, the input ended, or the scan itself failed (too long, a quote
 * left open at the end); *err is then filled for EP_ERROR.
 */
bool
ep_next_record(EpParser *p, Record *rec, EpError *err, EpStatus *st)
{
	uint64_t	line = p->line;
	int			rc = scan_record(p);
	const char *base = p->buf + p->start;
	size_t		n;

	switch (rc)
	{
		case SCAN_NEED_MORE:
			*st = EP_NEED_MORE;
			return false;

		case SCAN_END:
			if (p->format == EP_FORMAT_NONE)
			{
				ep_set_error(p, err, EP_ERR_EMPTY, 0, 0, NULL, 0, NULL, 0,
							 "The file has no header line.");
				*st = ep_file_error(p, err);
			}
			else
				*st = EP_END;
			return false;

		case SCAN_TOO_LONG:
			n = p->pos;
			p->scanning = false;
			if (p->format == EP_FORMAT_NONE)
			{
				ep_set_error(p, err, EP_ERR_HEADER, line, 0, base, n, base, n,
							 "The header line is longer than %zu bytes.",
							 p->max_record);
				*st = ep_file_error(p, err);
				return false;
			}
			ep_set_error(p, err, EP_ERR_TOO_LONG, line, 0, base, n, base, n,
						 "Record is longer than %zu bytes.", p->max_record);
			consume(p, n, p->nlines);
			p->discarding = true;
			*st = EP_ERROR;
			return false;

		case SCAN_EOF_QUOTE:
			n = p->rec_len;
			p->scanning = false;
			if (p->format == EP_FORMAT_NONE)
			{
				ep_set_error(p, err, EP_ERR_HEADER, line, 0, base, n, base, n,
							 "The header line has a quote that is never closed.");
				*st = ep_file_error(p, err);
				return false;
			}
			ep_set_error(p, err, EP_ERR_QUOTE, line, (int) p->nf + 1,
						 base, n, base, n,
						 "A quoted field is not closed before the end of the file.");
			consume(p, n, p->nlines);
			*st = EP_ERROR;
			return false;
	}

	Assert(rc == SCAN_RECORD);
	Assert(p->rec_len + p->eol_len <= p->end - p->start);
	/* a complete record: consume it now, parse it from base */
	rec->base = base;
	rec->len = p->rec_len;
	rec->line = line;
	consume(p, p->rec_len + p->eol_len, p->nlines + 1);
	build_fields(p, base, rec->len);
	return true;
}

/*
 * The checks ep_check_bytes leaves to a call, for the records the scanner
 * flagged: the first byte that is not UTF-8 (or NUL) names its column, and
 * text after a closing quote the column the scanner remembered.
 */
bool
ep_check_bytes_flagged(EpParser *p, const Record *rec, EpError *err)
{
	if (p->special)
	{
		size_t		bad = ep_utf8_first_bad((const unsigned char *) rec->base, rec->len);

		if (bad != (size_t) -1)
		{
			size_t		fs = 0,
						fe = rec->len;
			int			col = column_of(p, bad, &fs, &fe, rec->len);

			if (col == 0)
			{
				fs = 0;
				fe = rec->len;
			}
			ep_set_error(p, err, EP_ERR_ENCODING, rec->line, col, rec->base + fs,
						 fe - fs, rec->base, rec->len,
						 rec->base[bad] == '\0' ?
						 "The record contains a NUL byte." :
						 "The record contains a byte sequence that is not valid UTF-8.");
			return false;
		}
	}

	if (p->quote_col != 0)
	{
		ep_set_error(p, err, EP_ERR_QUOTE, rec->line, (int) p->quote_col,
					 rec->base, rec->len, rec->base, rec->len,
					 "A closing quote is followed by text other than a comma.");
		return false;
	}
	return true;
}
