/*-------------------------------------------------------------------------
 *
 * file.c
 *	  The file stage: where a load's bytes come from.  Opening a server file
 *	  safely, listing a folder, reading in chunks, and SHA-256.
 *
 * A server process must open what a user names with care: stat first and
 * refuse anything but a regular file (a FIFO would block the backend
 * forever, a device could have side effects), open non-blocking, and check
 * again with fstat what was really opened.  Failures are returned as values
 * (EnergyOpenError), not raised, so that a skip-mode directory load can
 * record an unreadable file and go on.
 *
 * Client data (energy_load_data) goes through the same EnergySource, so the
 * driver reads every file the same way, whatever its origin.
 *
 * Nothing here knows about the parser or the tables: the driver (loader.c)
 * pulls bytes from here and pushes them into the parser.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"

#include <zlib.h>

#include "energy.h"

/* Fill *oe from errno after a failed system call on path. */
static void
open_error_errno(EnergyOpenError *oe, const char *what, const char *path)
{
	int			save = errno;

	oe->sqlerrcode = (save == ENOENT || save == ENOTDIR) ? ERRCODE_UNDEFINED_FILE :
		(save == EACCES || save == EPERM) ? ERRCODE_INSUFFICIENT_PRIVILEGE :
		ERRCODE_IO_ERROR;
	oe->message = psprintf("could not %s file \"%s\": %s", what, path, strerror(save));
	oe->detail = NULL;
}

/* What a non-regular file is, in words, for the error's detail. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Nanoseconds since 1970 of a struct timespec. */
static int64
timespec_ns(const struct timespec *ts)
{
	return (int64) ts->tv_sec * INT64CONST(1000000000) + (int64) ts->tv_nsec;
}

/* Record how the file stands: size, inode, modification and change time. */
static void
source_set_stat(EnergySource *src, const struct stat *st)
{
	src->has_stat = true;
	src->size = (int64) st->st_size;
	src->inode = (int64) st->st_ino;
	src->mtime_ns = timespec_ns(&st->st_mtim);
	src->ctime_ns = timespec_ns(&st->st_ctim);
}

/*
 * The first half of opening a server file: lstat it and refuse anything but
 * a regular file reached without a symbolic link (see energy_source_open).
 * The file is not opened: a file that stands as energy_file recorded it is
 * unchanged without being read (loader.c), so a drop folder loaded again
 * and again costs a stat per file, not a read.
 */
bool
energy_source_stat(EnergySource *src, const char *path, const char *name,
				   EnergyOpenError *oe)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	src->name = name;
	src->path = path;
	src->fd = -1;

	if (lstat(path, &st) < 0)
	{
		open_error_errno(oe, "stat", path);
		return false;
	}
	if (S_ISLNK(st.st_mode))
	{
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is a symbolic link", path);
		oe->detail = pstrdup("Symbolic links are not followed; name the file itself.");
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is not a regular file", path);
		oe->detail = psprintf("It is %s; only regular files are loaded.", file_kind(st.st_mode));
		return false;
	}
	source_set_stat(src, &st);
	return true;
}

/*
 * The second half: open what energy_source_stat found, without ever
 * blocking.  O_NONBLOCK covers a file swapped for a FIFO in between, and
 * fstat checks what was really opened; its size, times and inode replace
 * lstat's, and are what the load records and checks again at the end of
 * its read (energy_source_check_unchanged).
 */
bool
energy_source_open_file(EnergySource *src, EnergyOpenError *oe)
{
	struct stat st;
	struct timespec now;
	int			fd;

	Assert(src->path != NULL && src->fd < 0);
	clock_gettime(CLOCK_REALTIME, &now);
	src->opened_ns = timespec_ns(&now);
	fd = OpenTransientFile(src->path, O_RDONLY | PG_BINARY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0 && errno == ELOOP)
	{
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is a symbolic link", src->path);
		oe->detail = pstrdup("It changed while it was being opened.");
		return false;
	}
	if (fd < 0)
	{
		open_error_errno(oe, "open", src->path);
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
	{
		CloseTransientFile(fd);
		oe->sqlerrcode = ERRCODE_WRONG_OBJECT_TYPE;
		oe->message = psprintf("\"%s\" is not a regular file", src->path);
		oe->detail = pstrdup("It changed while it was being opened.");
		return false;
	}
	src->fd = fd;
	source_set_stat(src, &st);
	return true;
}

/*
 * Open a regular file without ever blocking: stat refuses FIFOs and devices
 * before open() could wait on them or trigger a device's side effects;
 * O_NONBLOCK covers a file swapped for a FIFO in between, and fstat checks
 * what was really opened.  Returns false and fills *oe on failure.
 *
 * The file itself is never reached through a symbolic link (lstat, and
 * O_NOFOLLOW for a link planted in between): whoever may only write into a
 * drop folder could otherwise point a name there at any file the server can
 * read, and see its first line in an error or in energy_rejects.  The
 * folders on the way are followed, as the caller named them.
 */
bool
energy_source_open(EnergySource *src, const char *path, const char *name,
				   EnergyOpenError *oe)
{
	return energy_source_stat(src, path, name, oe) &&
		energy_source_open_file(src, oe);
}

/*
 * How long before its opening a file's last change must be for its stat
 * to be trusted as its identity later: a file system stamps times from a
 * clock that moves in ticks (a jiffy on Linux, two seconds on FAT), so a
 * file rewritten at the same size within the tick of our read would show
 * the times we recorded.  Git's index calls such entries "racily clean"
 * and hashes them again; so do we, by not recording their stat.
 */
#define STAT_SETTLE_NS	(INT64CONST(2) * 1000000000)

/*
 * Whether the opened file's stat may stand for its content next time: its
 * last modification and change both well before we opened it.
 */
bool
energy_source_stat_settled(const EnergySource *src)
{
	/* an archive's member: the archive's stat */
	if (src->outer != NULL)
		src = src->outer;
	return src->has_stat && src->fd >= 0 &&
		src->mtime_ns <= src->opened_ns - STAT_SETTLE_NS &&
		src->ctime_ns <= src->opened_ns - STAT_SETTLE_NS;
}

/*
 * Whether the open file no longer stands as it did when it was opened (its
 * size, inode, modification or change time differ).
 */
bool
energy_source_changed(EnergySource *src)
{
	struct stat st;

	if (src->outer != NULL)
		src = src->outer;
	if (src->fd < 0)
		return false;
	if (fstat(src->fd, &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", src->path)));
	return (int64) st.st_size != src->size ||
		(int64) st.st_ino != src->inode ||
		timespec_ns(&st.st_mtim) != src->mtime_ns ||
		timespec_ns(&st.st_ctim) != src->ctime_ns;
}

/*
 * A file read to its end must still be the file that was opened: one that
 * was written to while we read it would leave rows of two versions under
 * one hash, so it is an error, never a silent mix.  The load can be run
 * again once the writer is done.
 */
void
energy_source_check_unchanged(EnergySource *src, uint64 bytes_read)
{
	if (src->fd < 0)
		return;
	if (energy_source_changed(src) || (int64) bytes_read != src->size)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("file \"%s\" changed while it was being read", src->path),
				 errdetail("It had %lld bytes when it was opened; %llu were read.",
						   (long long) src->size, (unsigned long long) bytes_read),
				 errhint("Load it again once whatever writes it has finished; deliver files by renaming them into the folder.")));
}

/* Client data: read from memory, under the name the client gave. */
void
energy_source_from_data(EnergySource *src, const char *name,
						const char *data, size_t len)
{
	memset(src, 0, sizeof(*src));
	src->name = name;
	src->path = NULL;
	src->fd = -1;
	src->data = data;
	src->size = (int64) len;
}

/* Close a server file; nothing to do for client data. */
void
energy_source_close(EnergySource *src)
{
	if (src->fd < 0)
		return;
	if (CloseTransientFile(src->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", src->path)));
	src->fd = -1;
}

/*
 * Read the next chunk into buf (at most size bytes); 0 at the end.
 * Interruptible between reads, so a long load answers cancel promptly.
 */
static size_t gzip_read(EnergySource *src, char *buf, size_t size);
static void gzip_rewind(EnergySource *src);

size_t
energy_source_read(EnergySource *src, char *buf, size_t size)
{
	CHECK_FOR_INTERRUPTS();
	if (src->outer != NULL)
		return gzip_read(src, buf, size);
	if (src->fd < 0)
	{
		size_t		n;

		Assert(src->pos <= (size_t) src->size);
		n = Min(size, (size_t) src->size - src->pos);
		memcpy(buf, src->data + src->pos, n);
		src->pos += n;
		return n;
	}
	for (;;)
	{
		ssize_t		n = read(src->fd, buf, size);

		if (n >= 0)
			return (size_t) n;
		if (errno != EINTR)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", src->path)));
		CHECK_FOR_INTERRUPTS();
	}
}

/* Back to the first byte, for a second pass. */
void
energy_source_rewind(EnergySource *src)
{
	if (src->outer != NULL)
		gzip_rewind(src);
	else if (src->fd < 0)
		src->pos = 0;
	else if (lseek(src->fd, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not seek in file \"%s\": %m", src->path)));
}

/*
 * SHA-256, the identity of a file's content in energy_file.  The context is
 * tracked by the resource owner, so an error mid-load does not leak it.
 */
pg_cryptohash_ctx *
energy_sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialise SHA-256: %s", pg_cryptohash_error(ctx));
	return ctx;
}

void
energy_sha256_update(pg_cryptohash_ctx *ctx, const char *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
}

/* Write the digest and free the context. */
void
energy_sha256_end(pg_cryptohash_ctx *ctx, uint8 *digest)
{
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * Hash the whole source ahead of parsing, then rewind: only when it may be
 * unchanged, so that an unchanged file costs one read and no writes.
 */
void
energy_source_digest(EnergySource *src, char *buf, size_t size, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = energy_sha256_begin();
	size_t		n;

	while ((n = energy_source_read(src, buf, size)) > 0)
		energy_sha256_update(ctx, buf, n);
	energy_sha256_end(ctx, digest);
	energy_source_rewind(src);
}

/*
 * Byte order, as the contract says "sorted by name", whatever the locale.
 */
/*
 * Whether a name from the file system is text the database can store.  A
 * folder may hold names in another encoding (a Latin-1 "é" from a Windows
 * share); stored as they are, they would make a dump that cannot be
 * restored.
 */
bool
energy_name_valid(const char *name)
{
	return pg_verify_mbstr(GetDatabaseEncoding(), name, (int) strlen(name), true);
}

/*
 * A name that is not valid text, made printable and storable: every byte
 * that does not start a valid character of the database encoding, and
 * every byte of a control character, becomes \xNN.  Only for messages and reject rows of names that are refused.
 */
char *
energy_name_escape(const char *name)
{
	StringInfoData buf;
	int			enc = GetDatabaseEncoding();
	int			len = (int) strlen(name);
	int			i = 0;

	initStringInfo(&buf);
	while (i < len)
	{
		int			l = pg_encoding_verifymbchar(enc, name + i, len - i);

		if (l > 0 && (unsigned char) name[i] >= 0x20 && (unsigned char) name[i] != 0x7F &&
			!(l == 2 && enc == PG_UTF8 && (unsigned char) name[i] == 0xC2 &&
			  (unsigned char) name[i + 1] <= 0x9F))
		{
			appendBinaryStringInfo(&buf, name + i, l);
			i += l;
		}
		else
			appendStringInfo(&buf, "\\x%02X", (unsigned char) name[i++]);
	}
	return buf.data;
}

/*
 * Why a base name cannot be a file's identity, or NULL when it can.  A name
 * is shown in energy_file and in messages, and printed by psql and by
 * applications: a newline, a tab or an escape sequence in it would forge
 * lines or drive a terminal.  So control characters (C0, DEL, and C1 in
 * UTF-8, where an 8-bit CSI can start an escape sequence) are refused, and
 * so are "." and "..", which name folders, never a file, and in UTF-8 the
 * invisible characters that change how a name is shown.
 */
/*
 * Whether the UTF-8 sequence at p is a character that changes how a name is
 * shown without being seen itself: the bidirectional embeddings, overrides
 * and isolates (U+202A-U+202E, U+2066-U+2069, the marks U+200E, U+200F,
 * U+061C), which can show "exe.csv" as "vsc.exe" (CVE-2021-42574's trick),
 * and the zero-width characters (U+200B-U+200D, U+2060-U+2064, U+FEFF,
 * U+180E), which make two names that print alike differ.  A file's name
 * is its identity in energy_file: what a person reads must be what it is.
 */
static bool
invisible_format_char(const unsigned char *p)
{
	if (p[0] == 0xE2 && p[1] == 0x80)
		return (p[2] >= 0x8B && p[2] <= 0x8F) || (p[2] >= 0xAA && p[2] <= 0xAE);
	if (p[0] == 0xE2 && p[1] == 0x81)
		return (p[2] >= 0xA0 && p[2] <= 0xA4) || (p[2] >= 0xA6 && p[2] <= 0xA9);
	if (p[0] == 0xEF && p[1] == 0xBB)
		return p[2] == 0xBF;
	if (p[0] == 0xD8)
		return p[1] == 0x9C;
	if (p[0] == 0xE1 && p[1] == 0xA0)
		return p[2] == 0x8E;
	return false;
}

const char *
energy_name_refusal(const char *name)
{
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);

	if (name[0] == '\0')
		return "It is empty, or ends with \"/\" or \"\\\".";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "\".\" and \"..\" name folders, not files.";
	for (const unsigned char *p = (const unsigned char *) name; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7F ||
			(utf8 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return "File names must not contain control characters.";
		if (utf8 && invisible_format_char(p))
			return "File names must not contain invisible formatting characters (direction overrides, zero-width characters).";
	}
	return NULL;
}

/*
 * A path the server cannot open, MAXPGPATH bytes or more, is the caller's
 * mistake (22023), not the internal error that the failed system call
 * would raise.
 */
void
energy_path_check(const char *path, const char *what)
{
	if (strlen(path) >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", what),
				 errdetail("It has %zu bytes; the server takes paths of at most %d.",
						   strlen(path), MAXPGPATH - 1)));
}

/*
 * A file's identity is its base name, whichever way it arrives and from
 * whichever system: what follows the last '/' or '\', so that
 * "C:\exports\x.csv" from a Windows client and "exports/x.csv" name the
 * file energy_load would call x.csv.  A path the server could not open
 * (MAXPGPATH bytes or more) and a name that cannot be an identity
 * (energy_name_refusal) are SQLSTATE 22023; what is refused is named with
 * its control characters escaped.  what is the argument's name, for the
 * message; check_name is false for a name only looked up.
 */
char *
energy_name_base(const char *path, const char *what, bool check_name)
{
	const char *base = path;
	const char *refusal;

	energy_path_check(path, what);
	for (const char *p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	/* a name to find (an unload) may be one stored before these rules */
	refusal = (check_name || base[0] == '\0') ? energy_name_refusal(base) : NULL;
	if (refusal != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"%s\" does not name a file", what, energy_name_escape(path)),
				 errdetail_internal("%s", refusal)));
	return pstrdup(base);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * A CSV export by its name: *.csv, any case.  A folder's other files load
 * only if their content is a meter file (AEMO's files come as .V01, .dat or
 * with no extension at all).
 */
bool
energy_name_is_csv(const char *name)
{
	size_t		len = strlen(name);

	return len > 4 && pg_strcasecmp(name + len - 4, ".csv") == 0;
}

/*
 * The names of a folder's entries, hidden ones (.name) left out, sorted,
 * so that a folder of one meter's daily exports loads oldest first.
 * Returns how many; *names is palloc'd in the current context.
 */
int
energy_list_directory(const char *dirpath, char ***names)
{
	DIR		   *dir = AllocateDir(dirpath);
	struct dirent *de;
	char	  **list = NULL;
	int			n = 0,
				cap = 0;

	while ((de = ReadDir(dir, dirpath)) != NULL)
	{
		if (de->d_name[0] == '.')
			continue;
		if (n == cap)
		{
			cap = cap ? cap * 2 : 64;
			list = list ? repalloc(list, sizeof(char *) * cap) : palloc(sizeof(char *) * cap);
		}
		list[n++] = pstrdup(de->d_name);
	}
	FreeDir(dir);

	if (n > 1)
		qsort(list, n, sizeof(char *), name_cmp);
	*names = list;
	return n;
}

/* ---------------------------------------------------------------------
 * gzip: a .gz file is the archive of one member
 * ---------------------------------------------------------------------
 */

/*
 * Whether a name is a gzip file's: *.gz, any case.  A folder's *.gz files
 * load as the file inside; so does energy_load_data's content named so.
 */
bool
energy_name_is_gzip(const char *name)
{
	size_t		len = strlen(name);

	return len > 3 && pg_strcasecmp(name + len - 3, ".gz") == 0;
}

/* Whether a name is an archive's, which an archive must not hold. */
static bool
name_is_archive(const char *name)
{
	size_t		len = strlen(name);

	return energy_name_is_gzip(name) ||
		(len > 4 && pg_strcasecmp(name + len - 4, ".zip") == 0);
}

/*
 * The member of a .gz file is the file of the archive's name without
 * ".gz": x.csv.gz holds x.csv, whether gzipped or not one file.  The name
 * stored in the gzip header (gzip -N) is not used: it is what another
 * system called the file once, and the name the file arrives under is the
 * one an operator sees and delivers again.  A member name that is empty,
 * or is itself an archive's (x.csv.gz.gz), is refused: NULL, and why.
 */
char *
energy_gzip_member_name(const char *archive_name, const char **refusal)
{
	size_t		len = strlen(archive_name);
	char	   *member;

	Assert(energy_name_is_gzip(archive_name));
	member = pnstrdup(archive_name, len - 3);
	*refusal = energy_name_refusal(member);
	if (*refusal == NULL && name_is_archive(member))
		*refusal = "An archive inside an archive is not loaded; unpack the outer one.";
	return *refusal ? NULL : member;
}

/* zlib's memory comes from the current memory context: freed with it. */
static voidpf
gzip_alloc(voidpf opaque, uInt items, uInt size)
{
	return MemoryContextAllocExtended((MemoryContext) opaque, (Size) items * size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
gzip_free(voidpf opaque, voidpf address)
{
	pfree(address);
}

/*
 * A member read through zlib from its archive's source: the same
 * EnergySource as a plain file for the driver, which hashes and parses the
 * member's bytes, so a file gzipped or not has one hash.  zlib checks each
 * gzip member's CRC-32 and length; memory is the input buffer and zlib's
 * window, whatever the member's size.
 */
void
energy_source_gzip(EnergySource *member, EnergySource *outer,
				   const char *member_name, size_t inbuf_size)
{
	z_stream   *zs;

	memset(member, 0, sizeof(*member));
	member->name = member_name;
	member->path = outer->path;
	member->fd = -1;
	member->size = -1;			/* unknown until inflated */
	member->outer = outer;
	/* the archive's stat stands for the member's (see file_stat_unchanged) */
	member->has_stat = outer->has_stat;
	member->inode = outer->inode;
	member->mtime_ns = outer->mtime_ns;
	member->ctime_ns = outer->ctime_ns;
	member->opened_ns = outer->opened_ns;
	member->inbuf_size = inbuf_size;
	member->inbuf = palloc(inbuf_size);
	zs = palloc0(sizeof(z_stream));
	zs->zalloc = gzip_alloc;
	zs->zfree = gzip_free;
	zs->opaque = (voidpf) CurrentMemoryContext;
	/* 16 + MAX_WBITS: a gzip header and trailer, checked */
	if (inflateInit2(zs, 16 + MAX_WBITS) != Z_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialise zlib: %s", zs->msg ? zs->msg : "out of memory")));
	member->zs = zs;
}

/* The archive's name, for messages: its path, or the name a client gave. */
static const char *
archive_label(const EnergySource *src)
{
	return src->outer->path ? src->outer->path : src->outer->name;
}

/*
 * A damaged or hostile archive: 22P04 (bad COPY file format) or 54000 (a
 * limit).  Raised at once, or, while the driver checks a member before
 * loading any of it (skip mode), kept in the source: the member is then a
 * reject, with nothing of it loaded.
 */
static void
gzip_error(EnergySource *src, int sqlerrcode, const char *what, const char *detail)
{
	src->failed = true;
	src->fail_code = sqlerrcode;
	src->fail_message = psprintf("archive \"%s\", member \"%s\": %s",
								 archive_label(src), src->name, what);
	src->fail_detail = detail ? pstrdup(detail) : NULL;
	if (!src->defer_errors)
		energy_source_raise(src);
}

/* The ERROR of a member found damaged (gzip_error). */
void
energy_source_raise(EnergySource *src)
{
	Assert(src->failed);
	ereport(ERROR,
			(errcode(src->fail_code),
			 errmsg_internal("%s", src->fail_message),
			 src->fail_detail ? errdetail_internal("%s", src->fail_detail) : 0));
}

/* The next compressed bytes from the archive into zlib's input. */
static void
gzip_fill(EnergySource *src)
{
	size_t		n = energy_source_read(src->outer, src->inbuf, src->inbuf_size);

	if (n == 0)
		src->outer_eof = true;
	src->raw_read += n;
	src->zs->next_in = (Bytef *) src->inbuf;
	src->zs->avail_in = (uInt) n;
}

/*
 * The next inflated bytes, at most size; 0 at the member's end.  Bombs stop
 * as soon as the count passes: the output of one call is at most size, and
 * the limits are checked after each.
 */
static size_t
gzip_read(EnergySource *src, char *buf, size_t size)
{
	z_stream   *zs = src->zs;
	uint64		max_inflated = (uint64) energy_max_inflated_kb * 1024;

	if (src->stream_end || src->failed)
		return 0;
	zs->next_out = (Bytef *) buf;
	zs->avail_out = (uInt) Min(size, (size_t) UINT_MAX);
	while (zs->avail_out > 0)
	{
		int			rc;

		if (zs->avail_in == 0 && !src->outer_eof)
			gzip_fill(src);
		rc = inflate(zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
		{
			/*
			 * gzip allows members one after another (cat a.gz b.gz): what
			 * gzip -d gives, one file.
			 */
			if (zs->avail_in == 0 && !src->outer_eof)
				gzip_fill(src);
			if (zs->avail_in == 0 && src->outer_eof)
			{
				src->stream_end = true;
				break;
			}
			if (inflateReset(zs) != Z_OK)
			{
				gzip_error(src, ERRCODE_BAD_COPY_FILE_FORMAT, "the archive is damaged", zs->msg);
				return 0;
			}
			continue;
		}
		if (rc == Z_MEM_ERROR)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (rc == Z_BUF_ERROR && zs->avail_in == 0 && src->outer_eof)
		{
			gzip_error(src, ERRCODE_BAD_COPY_FILE_FORMAT, "the archive is truncated",
					   "Its compressed data ends inside the member.");
			return 0;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
		{
			/* Z_DATA_ERROR: a bad header, deflate stream, CRC or length */
			gzip_error(src, ERRCODE_BAD_COPY_FILE_FORMAT, "the archive is damaged",
					   zs->msg ? psprintf("zlib: %s.", zs->msg) : NULL);
			return 0;
		}
	}
	size -= zs->avail_out;
	if (src->inflated == 0 && size >= 2 &&
		((buf[0] == '\x1f' && buf[1] == '\x8b') ||
		 (size >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0)))
	{
		gzip_error(src, ERRCODE_BAD_COPY_FILE_FORMAT, "the member is itself an archive",
				   "An archive inside an archive is not loaded; unpack the outer one.");
		return 0;
	}
	src->inflated += size;
	if (src->inflated > max_inflated)
	{
		gzip_error(src, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
				   "the member inflates past energy.max_inflated_size",
				   psprintf("It had inflated to more than %llu bytes; energy.max_inflated_size is %d kB.",
							(unsigned long long) max_inflated, energy_max_inflated_kb));
		return 0;
	}
	if (src->inflated > (uint64) 1000 * Max(energy_source_raw_bytes(src), 1))
	{
		gzip_error(src, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
				   "the member inflates by more than 1000 times (a decompression bomb)",
				   psprintf("%llu compressed bytes had inflated to %llu.",
							(unsigned long long) energy_source_raw_bytes(src),
							(unsigned long long) src->inflated));
		return 0;
	}
	return size;
}

/* Back to the member's first byte: the archive's, and zlib's start. */
static void
gzip_rewind(EnergySource *src)
{
	energy_source_rewind(src->outer);
	if (inflateReset(src->zs) != Z_OK)
		elog(ERROR, "could not reset zlib");
	src->zs->avail_in = 0;
	src->raw_read = 0;
	src->outer_eof = false;
	src->stream_end = false;
	src->inflated = 0;
}

/* The archive's bytes read so far (pg_stat_progress_copy's bytes). */
uint64
energy_source_raw_bytes(const EnergySource *src)
{
	return src->outer ? src->raw_read - src->zs->avail_in : 0;
}
