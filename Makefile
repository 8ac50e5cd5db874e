# SPDX-License-Identifier: MIT
# qnet - plain GNU Make, no configure step.
#   make            build/qnet
#   make check      installs .ci/packages when missing (as root: tests/deps.sh), then unit tests,
#                   the same under ASan+UBSan, fuzz corpora, integration and interop tests
#   make demo       the main job, shown step by step
#   make fuzz       libFuzzer targets (clang)
#   make bench      hub throughput against vde_switch
#   make install    build/qnet, build/libslirp.so.0 (qnet's stack behind libslirp's API),
#                   include/libslirp.h and slirp.pc under $(DESTDIR)$(PREFIX)

CC      ?= cc
CLANG   ?= clang
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing
LDLIBS  += -ljson-c -lseccomp -lvdeplug
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

B       := build
SRCS    := $(sort $(wildcard src/core/*.c src/backends/*.c src/stack/*.c src/cli/*.c src/monitor/*.c \
		src/slirp/*.c))
LIBSRCS := $(SRCS)
OBJS    := $(LIBSRCS:%.c=$(B)/%.o)
SOBJS   := $(LIBSRCS:%.c=$(B)/san/%.o)
HDRS    := $(wildcard src/*/*.h include/*.h)
UNITS   := $(sort $(wildcard tests/unit/test_*.c))
UBINS   := $(UNITS:tests/unit/%.c=$(B)/tests/%)
USBINS  := $(UNITS:tests/unit/%.c=$(B)/san/tests/%)
FUZZ    := $(sort $(wildcard fuzz/fuzz_*.c))
FBINS   := $(FUZZ:fuzz/%.c=$(B)/fuzz/%)

.PHONY: all check unit unit-san fuzz fuzz-replay integration demo bench clean install
all: $(B)/qnet $(B)/libslirp.so.0 $(B)/slirp.pc

# libslirp.so.0: the stack, the libslirp shim and the few core utilities they use, built -fPIC;
# only libslirp 4.7's symbols are exported, with its version nodes (src/slirp/libslirp.map)
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
SLIRP_SRCS := $(sort $(wildcard src/stack/*.c src/slirp/*.c)) src/core/util.c src/core/log.c \
	      src/core/event.c
POBJS   := $(SLIRP_SRCS:%.c=$(B)/pic/%.o)

$(B)/pic/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=default -c -o $@ $<

$(B)/libslirp.so.0: $(POBJS) src/slirp/libslirp.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libslirp.so.0 -Wl,--version-script=src/slirp/libslirp.map \
		-Wl,--no-undefined -o $@ $(POBJS)
	ln -sf libslirp.so.0 $(B)/libslirp.so

PCSED   = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g'
$(B)/slirp.pc: src/slirp/slirp.pc.in Makefile
	@mkdir -p $(B)
	$(PCSED) $< >$@

# make install [PREFIX=/usr/local] [DESTDIR=]: the program, libqnet.a, libslirp.so.0 with its header
# and slirp.pc, and the man page qnet(1)
install: all $(B)/libqnet.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/slirp \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/qnet $(DESTDIR)$(PREFIX)/bin/qnet
	install -m 644 $(B)/libqnet.a $(DESTDIR)$(LIBDIR)/libqnet.a
	install -m 644 docs/qnet.1 $(DESTDIR)$(PREFIX)/share/man/man1/qnet.1
	install -m 755 $(B)/libslirp.so.0 $(DESTDIR)$(LIBDIR)/libslirp.so.0
	ln -sf libslirp.so.0 $(DESTDIR)$(LIBDIR)/libslirp.so
	install -m 644 include/libslirp.h include/libslirp-version.h $(DESTDIR)$(INCDIR)/slirp/
	$(PCSED) src/slirp/slirp.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/slirp.pc

$(B)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

$(B)/libqnet.a: $(OBJS)
	rm -f $@; ar rcs $@ $^

$(B)/san/libqnet.a: $(SOBJS)
	rm -f $@; ar rcs $@ $^

$(B)/qnet: $(B)/src/main.o $(B)/libqnet.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/san/qnet: $(B)/san/src/main.o $(B)/san/libqnet.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/libqnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Iinclude -o $@ $< $(B)/libqnet.a $(LDLIBS)

$(B)/san/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/san/libqnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Isrc -Iinclude -o $@ $< $(B)/san/libqnet.a $(LDLIBS)

# libFuzzer targets: the library is built once with clang, coverage and sanitizers.
FZFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -Iinclude
FOBJS   := $(LIBSRCS:%.c=$(B)/fz/%.o)

$(B)/fz/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FZFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(B)/fz/libqnet.a: $(FOBJS)
	rm -f $@; ar rcs $@ $^

$(B)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h tests/unit/sink.h) $(B)/fz/libqnet.a
	@mkdir -p $(dir $@)
	$(CLANG) $(FZFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(B)/fz/libqnet.a $(LDLIBS)

unit: $(UBINS)
	@tests/run-units.sh $(B)/tests $(UBINS)

unit-san: $(USBINS) $(B)/san/qnet
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run-units.sh $(B)/san/tests $(USBINS)

fuzz: $(FBINS)

fuzz-replay: $(FBINS)
	@tests/run-fuzz-replay.sh $(FBINS)

integration: $(B)/qnet $(B)/san/qnet
	@tests/integration/run.sh

# check/demo first install what is missing (as root; otherwise they say loudly what is missing).
check:
	@tests/deps.sh all
	@$(MAKE) --no-print-directory all
	@tests/check.sh

demo:
	@tests/deps.sh build
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

bench: all
	@bench/hub-bench.sh

clean:
	rm -rf $(B)

