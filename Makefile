# popvault -- one Makefile: build, check, asan, demo, install, deps.

PROG	= popvault
VERSION	= 0.1.0
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
PKGS	= openssl sqlite3 zlib libarchive
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libarchive is not linked: the tar format loads it (formats/tar_dl.h).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libarchive,$(PKGS)) \
	      2>/dev/null) -ldl

WARN	= -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wvla \
	  -Wno-unused-parameter
CSTD	= -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 \
	  -DPOPVAULT_VERSION='"$(VERSION)"'
OPT	?= -O2 -g
CFLAGS	?=
WERROR	?= -Werror
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) $(WERROR) -pthread -Icore -Iformats \
	  $(PKG_CFLAGS) $(CFLAGS)
LDLIBS	= $(PKG_LIBS)
# Every symbol bound at start: lazy binding saves the vector registers,
# which may hold a password being copied, on the stack
# (tests/unit/test_wipe.c); and the GOT read-only.
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now

BUILD	?= build

CORE_SRC = $(wildcard core/*.c)
FMT_SRC	 = $(wildcard formats/*.c)
CMD_SRC	 = $(wildcard cmd/*.c)
LIB_OBJ	 = $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC) $(FMT_SRC))
CMD_OBJ	 = $(patsubst %.c,$(BUILD)/%.o,$(CMD_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HDRS	 = $(wildcard core/*.h formats/*.h cmd/*.h tests/unit/*.h)

# Fuzz harnesses (tests/fuzz/, docs/fuzzing.md). Linked with replay.c
# they run saved inputs in "make check"; "make fuzz" links them with
# libFuzzer instead (FUZZ_ENGINE=libfuzzer) in build-fuzz/.
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60
FUZZ_ENGINE ?= replay
ifeq ($(FUZZ_ENGINE),libfuzzer)
FUZZ_MAIN = -fsanitize=fuzzer
else
FUZZ_MAIN = tests/fuzz/replay.c
endif

.PHONY: all check asan demo install deps clean lint unit bench fuzz \
	fuzz-bin

all: $(PROG)

$(PROG): $(BUILD)/$(PROG)
	cp $(BUILD)/$(PROG) $@

$(BUILD)/$(PROG): $(CMD_OBJ) $(BUILD)/libpopvault.a
	$(CC) $(ALL_CFLAGS) $(HARDEN_LDFLAGS) -o $@ $(CMD_OBJ) \
	    $(BUILD)/libpopvault.a $(LDLIBS)

$(BUILD)/libpopvault.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpopvault.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN_LDFLAGS) -Itests/unit -o $@ $< \
	    $(BUILD)/libpopvault.a $(LDLIBS)

unit: $(UNIT_BIN)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h tests/fuzz/replay.c \
    $(BUILD)/libpopvault.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -pthread -Itests/fuzz -o $@ $< $(FUZZ_MAIN) \
	    $(BUILD)/libpopvault.a $(LDLIBS)

fuzz-bin: $(FUZZ_BIN)

# Every test: C unit tests, then integration tests against a private
# Dovecot. Ends with the line "N passed, N failed".
check: deps $(BUILD)/$(PROG) $(UNIT_BIN) $(FUZZ_BIN)
	POPVAULT=$(CURDIR)/$(BUILD)/$(PROG) UNITDIR=$(CURDIR)/$(BUILD)/tests \
	    tests/run.sh

# The same tests under AddressSanitizer and UBSan, in a separate tree.
asan:
	$(MAKE) BUILD=build-asan CC=$${CC:-cc} \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    check

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
$(BENCH_DIR)/limitpop: tests/bench/limitpop.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) $(WERROR) \
	    $$(pkg-config --cflags openssl) -o $@ tests/bench/limitpop.c \
	    $$(pkg-config --libs openssl)

bench: deps $(BUILD)/$(PROG) $(BENCH_DIR)/limitpop
	POPVAULT=$(CURDIR)/$(BUILD)/$(PROG) \
	    LIMITPOP=$(CURDIR)/$(BENCH_DIR)/limitpop tests/bench/bench.sh

# Installs the Debian packages the build and the tests need (only those
# missing; needs root or sudo when something is missing).
deps:
	@tests/deps.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    -Icore -Iformats core formats cmd
	@ls docs/*.[15] >/dev/null 2>&1 && mandoc -Tlint docs/*.[15] || true

clean:
	rm -rf build build-asan build-clang build-fuzz $(PROG) demo-vault
