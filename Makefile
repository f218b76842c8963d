# popvault -- one Makefile: build, check, asan, demo, install, deps.

PROG	= popvault
VERSION	= 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc

# The libraries by pkg-config name, and the Debian package that holds each
# one's .pc file (tests/deps.sh installs them: "make deps").
PKGS	= openssl sqlite3 zlib libarchive
DEB_openssl	= libssl-dev
DEB_sqlite3	= libsqlite3-dev
DEB_zlib	= zlib1g-dev
DEB_libarchive	= libarchive-dev
# Asked of pkg-config once, when a recipe first needs them, not when this
# file is read: "make check" and "make demo" may install them first.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) \
	     2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) \
	     2>/dev/null))$(PKG_LIBS)

WARN	= -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla \
	  -Wno-unused-parameter
CSTD	= -std=c11
DEFS	= -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 \
	  -DPOPVAULT_VERSION='"$(VERSION)"'
OPT	?= -O2 -g
CPPFLAGS ?=
CFLAGS	?=
LDFLAGS	?=
WERROR	?= -Werror

# Hardening, on by default (docs/decisions.md, "Build"). _FORTIFY_SOURCE
# needs optimisation, and is left to CPPFLAGS when they set it (as
# dpkg-buildflags does); -U first, for compilers that predefine it.
FORTIFY	= $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS)),,$(if \
	  $(filter-out -O0,$(filter -O%,$(OPT) $(CFLAGS))), \
	  -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2))
HARDEN_CFLAGS	= -fstack-protector-strong
HARDEN_LDFLAGS	= -Wl,-z,relro,-z,now

# The user's CPPFLAGS, CFLAGS and LDFLAGS come last, so that they win.
ALL_CPPFLAGS = $(DEFS) -Icore -Iformats $(FORTIFY) $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) $(WERROR) -pthread $(HARDEN_CFLAGS) \
	  $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)
LDLIBS	= $(PKG_LIBS)
# Header dependencies: each object's .d, read at the end of this file.
DEPFLAGS = -MMD -MP

BUILD	?= build

CORE_SRC = $(wildcard core/*.c)
FMT_SRC	 = $(wildcard formats/*.c)
CMD_SRC	 = $(wildcard cmd/*.c)
LIB_OBJ	 = $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC) $(FMT_SRC))
CMD_OBJ	 = $(patsubst %.c,$(BUILD)/%.o,$(CMD_SRC))

# The test hooks (core/util.h; fmt_register_for_tests in formats/format.h)
# exist only in objects compiled with -DPOPVAULT_TEST_HOOKS: the files of
# HOOK_SRC, compiled a second time into $(BUILD)/hooks/. They replace their
# release objects in the test library that $(PROG)-test, the binary "make
# check" runs, and the unit tests link. "make" and "make install" build
# and install $(PROG), which has none.
HOOK_SRC = core/util.c formats/registry.c
HOOK_OBJ = $(patsubst %.c,$(BUILD)/hooks/%.o,$(HOOK_SRC))
TEST_LIB_OBJ = $(filter-out $(patsubst %.c,$(BUILD)/%.o,$(HOOK_SRC)), \
	  $(LIB_OBJ)) $(HOOK_OBJ)

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRC))
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Beside each unit test: t.c, the helpers of t.h (every test); beside
# test_formats only: fmtrun.c (it replaces C library functions) and
# fmt_testdir.c, a format of the test tree; beside test_pop3auth and
# test_imap: scramsrv.c, the server side of SCRAM-SHA-256.
UNIT_HELP_SRC = tests/unit/t.c tests/unit/fmtrun.c tests/unit/fmt_testdir.c \
	  tests/unit/scramsrv.c
UNIT_HELP_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(UNIT_HELP_SRC))

# Fuzz harnesses (tests/fuzz/, docs/fuzzing.md). Linked with replay.c
# they run saved inputs in "make check"; "make fuzz" links them with
# libFuzzer instead (FUZZ_ENGINE=libfuzzer) in build-fuzz/.
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(FUZZ_SRC))
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
REPLAY_OBJ = $(BUILD)/tests/fuzz/replay.o
FUZZ_SECONDS ?= 60
FUZZ_ENGINE ?= replay
ifeq ($(FUZZ_ENGINE),libfuzzer)
FUZZ_MAIN =
FUZZ_LINK = -fsanitize=fuzzer
else
FUZZ_MAIN = $(REPLAY_OBJ)
FUZZ_LINK =
endif

# Every object compiled with ALL_CPPFLAGS, one way or the other.
OBJ	 = $(LIB_OBJ) $(CMD_OBJ) $(UNIT_OBJ) $(UNIT_HELP_OBJ) $(FUZZ_OBJ) \
	   $(REPLAY_OBJ)

.PHONY: all check asan demo install deps clean lint unit bench fuzz \
	fuzz-bin mutants pkgcheck

all: $(PROG)

$(PROG): $(BUILD)/$(PROG)
	cp $(BUILD)/$(PROG) $@

$(BUILD)/$(PROG): $(CMD_OBJ) $(BUILD)/libpopvault.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) \
	    $(BUILD)/libpopvault.a $(LDLIBS)

$(BUILD)/$(PROG)-test: $(CMD_OBJ) $(BUILD)/libpopvault-test.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) \
	    $(BUILD)/libpopvault-test.a $(LDLIBS)

$(BUILD)/libpopvault.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/libpopvault-test.a: $(TEST_LIB_OBJ)
	rm -f $@
	ar rcs $@ $(TEST_LIB_OBJ)

$(OBJ): $(BUILD)/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(HOOK_OBJ): $(BUILD)/hooks/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	@echo "CC $< (test hooks)"
	@$(CC) $(ALL_CPPFLAGS) -DPOPVAULT_TEST_HOOKS $(ALL_CFLAGS) \
	    $(DEPFLAGS) -c -o $@ $<

# Before the first compile: every library's pkg-config file is there, or
# the build stops naming the Debian package to install. After "deps" when
# that runs too (check, demo, bench), so that a fresh machine gets its
# packages first; "make deps" and "make clean" never ask.
PKG_MISSING = $(shell for p in $(PKGS); do \
	      pkg-config --exists $$p 2>/dev/null || echo $$p; done)
NO_PKGCONFIG = pkg-config is missing: install the Debian package \
	    pkg-config, or run "make deps"
PKG_ERROR = no development files for $(PKG_MISSING) (pkg-config): \
	    install the Debian package$(if $(word 2,$(PKG_MISSING)),s) \
	    $(foreach p,$(PKG_MISSING),$(DEB_$(p))), or run "make deps" \
	    (it installs what the build and the tests need)
pkgcheck: | $(if $(filter deps check demo bench,$(MAKECMDGOALS)),deps)
	$(if $(shell command -v pkg-config 2>/dev/null),,$(error \
	    $(NO_PKGCONFIG)))
	$(if $(PKG_MISSING),$(error $(PKG_ERROR)))
	@:

$(UNIT_BIN): $(BUILD)/tests/%: $(BUILD)/tests/unit/%.o \
    $(BUILD)/tests/unit/t.o $(BUILD)/libpopvault-test.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) \
	    $(BUILD)/libpopvault-test.a $(LDLIBS)

$(BUILD)/tests/test_formats: $(BUILD)/tests/unit/fmtrun.o \
    $(BUILD)/tests/unit/fmt_testdir.o
$(BUILD)/tests/test_pop3auth $(BUILD)/tests/test_imap: \
    $(BUILD)/tests/unit/scramsrv.o

unit: $(UNIT_BIN)

$(FUZZ_BIN): $(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(FUZZ_MAIN) \
    $(BUILD)/libpopvault.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(FUZZ_LINK) -o $@ $< \
	    $(FUZZ_MAIN) $(BUILD)/libpopvault.a $(LDLIBS)

fuzz-bin: $(FUZZ_BIN)

# Every test: C unit tests, then integration tests against a private
# Dovecot, run against $(PROG)-test (the test hooks); POPVAULT_RELEASE
# names the hook-free $(PROG) for the tests of the release build. Ends
# with the line "N passed, N failed, N skipped". Tests run JOBS at a time
# (default: processors + 1); ONLY=SUBSTRING or TESTS="..." pick some.
check: deps $(BUILD)/$(PROG) $(BUILD)/$(PROG)-test $(UNIT_BIN) $(FUZZ_BIN)
	POPVAULT=$(CURDIR)/$(BUILD)/$(PROG)-test \
	    POPVAULT_RELEASE=$(CURDIR)/$(BUILD)/$(PROG) \
	    UNITDIR=$(CURDIR)/$(BUILD)/tests tests/run.sh

# The same tests under AddressSanitizer and UBSan, in a separate tree.
asan:
	$(MAKE) BUILD=build-asan CC=$${CC:-cc} \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    check

# The mutation check: each guard of tests/mutants/mutants.txt turned off
# in a copy of the tree (build-mutants/), rebuilt, and the tests named
# for it run; fails if any mutant survives them or no longer applies.
# MUTANTS="name ..." runs some (tests/mutants/run.sh).
mutants: deps
	tests/mutants/run.sh

# libFuzzer with ASan and UBSan: every harness for FUZZ_SECONDS on a
# copy of its seed corpus in build-fuzz/corpus/ (tests/ is never
# written); fails if any finds something (saved in build-fuzz/artifacts/).
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang FUZZ_ENGINE=libfuzzer \
	    OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    fuzz-bin
	tests/fuzz/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

demo: deps $(PROG)
	tests/demo.sh

install: $(BUILD)/$(PROG)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/$(PROG) $(DESTDIR)$(BINDIR)/$(PROG)
	@for m in docs/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" \
	    $(DESTDIR)$(MANDIR)/man1/ || true; done
	@for m in docs/*.5; do [ -f "$$m" ] && install -m 0644 "$$m" \
	    $(DESTDIR)$(MANDIR)/man5/ || true; done

# The benchmark of issue 7: popvault beside a raw pipelined "limit" client,
# mpop and getmail6 against a private Dovecot over TLS. Environment:
# BENCH_N, BENCH_REPS, BENCH_OUT, ... (see tests/bench/bench.sh). Results
# in build/bench/results.md.
BENCH_DIR = $(BUILD)/bench
$(BENCH_DIR)/limitpop: tests/bench/limitpop.c | pkgcheck
	@mkdir -p $(dir $@)
	$(CC) $(DEFS) $(FORTIFY) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) \
	    $$(pkg-config --cflags openssl) -o $@ tests/bench/limitpop.c \
	    $$(pkg-config --libs openssl)

bench: deps $(BUILD)/$(PROG) $(BENCH_DIR)/limitpop
	POPVAULT=$(CURDIR)/$(BUILD)/$(PROG) \
	    LIMITPOP=$(CURDIR)/$(BENCH_DIR)/limitpop tests/bench/bench.sh

# Installs the Debian packages the build and the tests need (only those
# missing; needs root or sudo when something is missing), then unpacks
# the POP3 servers of the matrix (tests/lib/servers/setup-all.sh).
deps:
	@tests/deps.sh
	@tests/lib/servers/setup-all.sh

# The manual pages, cppcheck, then the include graph (no cycle between
# modules, core/ and formats/ never include cmd/: tests/lint/includes.py).
# A mandoc warning or error fails (its style notes depend on the manuals
# installed; test_manpage.sh wants none).
lint:
	mandoc -Tlint -Wwarning docs/*.1 docs/*.5
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    -Icore -Iformats core formats cmd
	tests/lint/includes.py

clean:
	rm -rf build build-asan build-clang build-fuzz build-mutants $(PROG) \
	    demo-vault

-include $(OBJ:.o=.d) $(HOOK_OBJ:.o=.d)
