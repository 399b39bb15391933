# energy: PGXS build.  The version comes from energy.control so that the
# two can never disagree.
EXTENSION = energy
EXTVERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" energy.control)

MODULE_big = energy
OBJS = \
	src/energy.o \
	src/loader.o \
	src/catalog.o \
	src/file.o \
	src/parser.o \
	src/parse_csv.o \
	src/parse_value.o \
	src/parse_lptou.o \
	src/parse_nem.o \
	src/glue.o \
	src/dictionary.o \
	src/chunk.o \
	src/block.o \
	src/codec.o \
	src/sum.o \
	src/aggregate.o \
	src/overlap.o \
	src/resolve.o \
	src/lock.o \
	src/forget.o \
	src/sink.o \
	src/citus.o \
	src/spi.o \
	src/view.o \
	src/lookup.o \
	src/billing.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# pg_regress (PG 15) reads test/sql/*.sql and compares with expected/*.out.
REGRESS = $(sort $(patsubst test/sql/%.sql,%,$(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
# pg_isolation_regress reads test/specs/*.spec.  Its expected outputs live
# in test/expected/, not the top-level expected/: PostgreSQL 15's
# pg_isolation_regress looks only in <inputdir>/expected (pg_regress's
# --expecteddir, which would let both share expected/, arrived in 16).
ISOLATION = $(sort $(patsubst test/specs/%.spec,%,$(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test

PG_CPPFLAGS = -I$(srcdir)/src
# .gz files are inflated with zlib, which PostgreSQL itself links.
SHLIB_LINK += -lz

# Every object depends on every header of src/: PGXS tracks no header
# dependencies, and a struct that changes size in energy.h must never meet
# an object built against the old one.
$(OBJS): $(wildcard src/*.h)

# Built into the server, the codec takes its checksum from PostgreSQL's
# CRC-32C (block.c), which uses the CPU's instruction; standalone (unit
# tests, fuzzer, benchmarks) it keeps its own.
src/codec.o src/codec.bc: CPPFLAGS += -DEC_SERVER_CRC
EXTRA_CLEAN = test/unit/test_parser test/unit/test_nem test/unit/test_codec test/fuzz/fuzz_parser \
	test/fuzz/fuzz_codec bench/codec_size results output_iso

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The parser has no server dependency: its unit tests and fuzzer build with
# the plain compiler, no cluster needed.
UNIT_CFLAGS = -std=c11 -O1 -g -DEP_ASSERTS -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all -Isrc

# The parser's files, in data-flow order (see src/parser_int.h).
PARSER_SRCS = src/parse_csv.c src/parse_value.c src/parse_lptou.c src/parse_nem.c src/parser.c
PARSER_DEPS = $(PARSER_SRCS) src/parser.h src/parser_int.h

test/unit/test_parser: test/unit/test_parser.c test/unit/unit.h $(PARSER_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_parser.c $(PARSER_SRCS) -lm

# NEM12/NEM13 files against a reference reader's output (test/data/nem).
test/unit/test_nem: test/unit/test_nem.c test/unit/unit.h $(PARSER_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_nem.c $(PARSER_SRCS) -lm

# The readings codec, server-free too; the parser supplies its values.
test/unit/test_codec: test/unit/test_codec.c test/unit/unit.h src/codec.c src/codec.h $(PARSER_DEPS)
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_codec.c src/codec.c $(PARSER_SRCS) -lm

.PHONY: unittest fuzz fuzz-codec
unittest: test/unit/test_parser test/unit/test_nem test/unit/test_codec
	test/unit/test_parser
	test/unit/test_nem
	test/unit/test_codec

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
test/fuzz/fuzz_parser: test/fuzz/fuzz_parser.c $(PARSER_DEPS)
	$(FUZZ_CC) -g -O1 -DEP_ASSERTS -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ test/fuzz/fuzz_parser.c $(PARSER_SRCS)

test/fuzz/fuzz_codec: test/fuzz/fuzz_codec.c src/codec.c src/codec.h
	$(FUZZ_CC) -g -O1 -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ test/fuzz/fuzz_codec.c src/codec.c -lm

# Fuzz for FUZZ_SECONDS seconds; any crash, leak or sanitizer report fails.
fuzz: test/fuzz/fuzz_parser
	test/fuzz/run $(FUZZ_SECONDS)

# The codec's decoder and round trip, alone (test/fuzz/run codec SECONDS).
fuzz-codec: test/fuzz/fuzz_codec
	test/fuzz/run codec $(FUZZ_SECONDS)

# Bytes per reading and speed of the codec (not a test: see bench/README.md).
bench/codec_size: bench/codec_size.c src/codec.c src/codec.h $(PARSER_DEPS)
	$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Isrc -o $@ bench/codec_size.c src/codec.c $(PARSER_SRCS) -lm

# The version this tree builds, for scripts and the README.
.PHONY: print-version
print-version:
	@echo $(EXTVERSION)

# The regress, isolation and pgTAP tests read their files from a per-run,
# world-readable folder (the server runs as another user) that
# scripts/test-data makes: psql finds it in ENERGY_TEST_DATA, the isolation
# specs in the setting energy_test.data.  scripts/test makes one per run and
# removes it; a bare `make installcheck` makes its own (left in /tmp).
ifneq ($(filter installcheck,$(MAKECMDGOALS)),)
ifeq ($(ENERGY_TEST_DATA),)
ENERGY_TEST_DATA := $(shell scripts/test-data)
endif
endif
ifneq ($(ENERGY_TEST_DATA),)
export ENERGY_TEST_DATA
export PGOPTIONS := $(PGOPTIONS) -c energy_test.data=$(ENERGY_TEST_DATA)
endif

# TAP tests (test/t/*.pl) start their own clusters; initdb refuses to run as
# root, so scripts/test runs this target as the postgres user.
PROVE_TESTS = test/t/*.pl
.PHONY: taptest
taptest:
	$(prove_installcheck)
