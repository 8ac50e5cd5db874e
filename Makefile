# SPDX-License-Identifier: MIT
# qnet - plain GNU Make, no configure step.
#   make            build/qnet
#   make check      installs .ci/packages when missing (as root: tests/deps.sh), then unit tests,
#                   the same under ASan+UBSan, fuzz corpora, integration and interop tests
#   make demo       the main job, shown step by step
#   make fuzz       libFuzzer targets (clang)
#   make bench      hub throughput against vde_switch

CC      ?= cc
CLANG   ?= clang
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing
LDLIBS  += -ljson-c -lvdeplug
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

B       := build
SRCS    := $(sort $(wildcard src/core/*.c src/backends/*.c src/stack/*.c src/cli/*.c src/monitor/*.c))
LIBSRCS := $(SRCS)
OBJS    := $(LIBSRCS:%.c=$(B)/%.o)
SOBJS   := $(LIBSRCS:%.c=$(B)/san/%.o)
HDRS    := $(wildcard src/*/*.h)
UNITS   := $(sort $(wildcard tests/unit/test_*.c))
UBINS   := $(UNITS:tests/unit/%.c=$(B)/tests/%)
USBINS  := $(UNITS:tests/unit/%.c=$(B)/san/tests/%)
FUZZ    := $(sort $(wildcard fuzz/fuzz_*.c))
FBINS   := $(FUZZ:fuzz/%.c=$(B)/fuzz/%)

.PHONY: all check unit unit-san fuzz fuzz-replay integration demo bench clean
all: $(B)/qnet

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
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(B)/libqnet.a $(LDLIBS)

$(B)/san/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/san/libqnet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(SAN) -Isrc -o $@ $< $(B)/san/libqnet.a $(LDLIBS)

# libFuzzer targets: the library is built once with clang, coverage and sanitizers.
FZFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc
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
