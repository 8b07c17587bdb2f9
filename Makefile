# faultline — plain Makefile.
#
#   make              build build/libfaultline.so and build/faultline
#   make drill        build everything and run the bundled drill
#   make test         unit tests (cmocka) + integration tests (real programs)
#   make bench        benchmarks; results in bench/RESULTS.md
#   make SAN=address  (or SAN=thread) sanitizer build, in build-address/
#   make fuzz         libFuzzer harnesses (clang), each run FUZZ_SECONDS (60)
#
# Missing build dependencies are installed with apt-get when run as root;
# otherwise make stops with the exact command to run.

CC      ?= cc
SAN     ?=
O       := build$(if $(SAN),-$(SAN))
PREFIX  ?= /usr/local

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CSTD    := -std=c11 -D_GNU_SOURCE
OPT     := -O2 -g -ffp-contract=off
CFLAGS  ?=
FL_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
CFLAGS  += $(CSTD) $(OPT) $(WARN) -Iinclude -Icontroller -MMD -MP -DFL_VERSION='"$(FL_VERSION)"'
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer
ifeq ($(SAN),address)
CFLAGS  += -fsanitize=undefined -fno-sanitize-recover=undefined
endif
LDSAN   := -fsanitize=$(SAN) $(if $(filter address,$(SAN)),-fsanitize=undefined)
endif

# The shim is never built with a sanitizer: it is preloaded into programs
# that were not, and ASan must be the first library loaded. The controller
# and the unit tests are.
SHIM_CFLAGS := $(CSTD) $(OPT) $(WARN) -Iinclude -MMD -MP -fPIC \
	-fvisibility=hidden -fno-stack-protector -ftls-model=initial-exec
SHIM_LDFLAGS := -shared -Wl,--version-script=$(O)/libfaultline.map \
	-Wl,-z,now -Wl,-z,relro -ldl -lpthread

CTL_LIBS := -lcjson -luring -lseccomp -lm

SHIM_SRC := $(filter-out shim/libfaultline.map.c,$(wildcard shim/*.c))
SHIM_OBJ := $(patsubst shim/%.c,$(O)/shim/%.o,$(SHIM_SRC))
CTL_SRC  := $(wildcard controller/*.c controller/market/*.c)
CTL_OBJ  := $(patsubst %.c,$(O)/%.o,$(CTL_SRC))
CTL_LIBOBJ := $(filter-out $(O)/controller/main.o,$(CTL_OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(patsubst tests/helpers/%.c,$(O)/tests/helpers/%,$(HELPER_SRC))
# The example wallet stack: one program per file, sharing common.c.
WALLET_LIB := examples/wallet/common.c
EXAMPLE_SRC := $(filter-out $(WALLET_LIB),$(wildcard examples/wallet/*.c))
EXAMPLE_BIN := $(patsubst examples/wallet/%.c,$(O)/examples/wallet/%,$(EXAMPLE_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(O)/bench/%,$(BENCH_SRC))

.PHONY: all deps drill test unit integration bench clean install fuzz schema
all: deps $(O)/libfaultline.so $(O)/faultline $(HELPER_BIN) $(EXAMPLE_BIN)

deps:
	@scripts/deps.sh build

$(O)/libfaultline.so: $(SHIM_OBJ) $(O)/libfaultline.map
	$(CC) -o $@ $(SHIM_OBJ) $(SHIM_LDFLAGS)

$(O)/libfaultline.map: shim/libfaultline.map.c shim/symbols.h
	@mkdir -p $(dir $@)
	$(CC) -E -P -Ishim -o $@ shim/libfaultline.map.c

$(O)/shim/%.o: shim/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -c -o $@ $<

# The seccomp supervisor decides with the shim's pure functions.
SHIM_PURE_OBJ = $(patsubst shim/%.c,$(O)/pure/%.o,$(wildcard shim/pure_*.c))
$(O)/faultline: $(CTL_OBJ) $(SHIM_PURE_OBJ)
	$(CC) -o $@ $^ $(LDSAN) $(CTL_LIBS)

$(O)/pure/%.o: shim/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ishim -c -o $@ $<

$(O)/controller/%.o: controller/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Under SAN=thread the market model (controller/market/) is built without
# ThreadSanitizer: it is pure arithmetic on memory no other thread sees (the
# controller is one thread; the model has no threads, locks or atomics), so
# there is nothing there for TSan to find, and instrumenting it made the
# unit test of the two 24 h histories (40 modelled days) 6x slower, past
# its 300 s limit. Everything that has threads stays instrumented.
ifeq ($(SAN),thread)
$(O)/controller/market/%.o: CFLAGS := $(filter-out -fsanitize=thread,$(CFLAGS))
endif

# ---- eBPF (bpf/): CO-RE objects, skeletons and vmlinux.h, all generated
# into $(O)/.output. vmlinux.h comes from this kernel's BTF; CO-RE relocates
# the objects to whatever kernel loads them. The controller objects that
# include a skeleton depend on it explicitly.
BPF_OUT    := $(O)/.output
BPF_SRC    := $(wildcard bpf/*.bpf.c)
BPF_SKEL   := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.skel.h,$(BPF_SRC))
BPF_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CLANG  ?= clang
BPFTOOL    ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
CTL_LIBS   += -lbpf

$(BPF_OUT)/vmlinux.h: | deps
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c bpf/fl_bpf.h $(BPF_OUT)/vmlinux.h
	$(BPF_CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I$(BPF_OUT) -Ibpf -c $< -o $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name fl_$* > $@.tmp && mv $@.tmp $@

# nr -> name for this architecture, from the C library's <sys/syscall.h>.
$(BPF_OUT)/syscall_names.h: | deps
	@mkdir -p $(dir $@)
	printf '#include <sys/syscall.h>\n' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9][0-9]*\)$$/[\2] = "\1",/p' > $@.tmp
	mv $@.tmp $@

$(O)/controller/bpf.o $(O)/controller/bpf_report.o: $(BPF_SKEL) $(BPF_OUT)/syscall_names.h
$(O)/controller/bpf.o $(O)/controller/bpf_report.o: CFLAGS += -I$(BPF_OUT) -Ibpf
# the objects stay: bpftool and the fuzz build both read them
.SECONDARY: $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(BPF_SRC))
# ---- end eBPF

# Unit tests link the controller's objects (not main) and, for the shim's
# pure parts, the shim sources that have no interposers (shim/core_*.c).
SHIM_PURE := $(wildcard shim/pure_*.c)
# tests/unit/skip77.h is force-included: a case that skips makes the binary exit 77.
$(O)/tests/%: tests/unit/%.c tests/unit/skip77.h $(CTL_LIBOBJ) $(SHIM_PURE) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ishim -include tests/unit/skip77.h -o $@ $< $(CTL_LIBOBJ) $(SHIM_PURE) $(LDSAN) $(CTL_LIBS) -lcmocka -lpthread

$(O)/tests/helpers/%: tests/helpers/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -Iinclude -MMD -MP -o $@ $< -lpthread

# The seccomp tests' target: a static binary (no PT_INTERP, no shim).
$(O)/tests/helpers/scstatic: tests/helpers/scstatic.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -MMD -MP -static -pthread -o $@ $<

# Never sanitized: the wallet runs with the shim preloaded (see the shim).
$(O)/examples/wallet/common.o: $(WALLET_LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -MMD -MP -c -o $@ $<

$(O)/examples/wallet/%: examples/wallet/%.c $(O)/examples/wallet/common.o | deps
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(OPT) $(WARN) -MMD -MP -o $@ $< $(O)/examples/wallet/common.o -lcjson -lpthread -lm

$(O)/bench/%: bench/%.c $(CTL_LIBOBJ) $(SHIM_PURE_OBJ) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ishim -o $@ $< $(CTL_LIBOBJ) $(SHIM_PURE_OBJ) $(LDSAN) $(CTL_LIBS) -lpthread

drill: all
	@scripts/drill.sh $(O)

test: all $(UNIT_BIN)
	@scripts/deps.sh test
	@O=$(O) SAN=$(SAN) tests/run.sh

unit: all $(UNIT_BIN)
	@scripts/deps.sh test
	@O=$(O) SAN=$(SAN) tests/run.sh unit

integration: all
	@scripts/deps.sh test
	@O=$(O) SAN=$(SAN) tests/run.sh integration

bench: all $(BENCH_BIN)
	@scripts/deps.sh bench
	@O=$(O) bench/run.sh

install: all
	install -D -m 0755 $(O)/faultline $(DESTDIR)$(PREFIX)/bin/faultline
	install -D -m 0644 $(O)/libfaultline.so $(DESTDIR)$(PREFIX)/lib/faultline/libfaultline.so
	install -d $(DESTDIR)$(PREFIX)/share/faultline/scenarios/history
	install -m 0644 scenarios/*.json $(DESTDIR)$(PREFIX)/share/faultline/scenarios/
	install -m 0644 scenarios/history/*.json $(DESTDIR)$(PREFIX)/share/faultline/scenarios/history/
	install -d $(DESTDIR)$(PREFIX)/share/faultline/schema
	install -m 0644 schema/profile.schema.json schema/scenario.schema.json $(DESTDIR)$(PREFIX)/share/faultline/schema/
	install -D -m 0644 man/faultline.1 $(DESTDIR)$(PREFIX)/share/man/man1/faultline.1

# schema/*.schema.json are generated from the loader's tables (faultline
# schema); test_schema checks the checked-in files are current.
schema: $(O)/faultline
	$(O)/faultline schema profile >schema/profile.schema.json
	$(O)/faultline schema scenario >schema/scenario.schema.json

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): the controller's sources and
# the shim's pure parts built once with clang for fuzzing, in build-fuzz/.
FZ := build-fuzz
FZ_CFLAGS := $(CSTD) -g -O1 $(WARN) -Iinclude -Icontroller -Ishim -MMD -MP \
	-DFL_VERSION='"$(FL_VERSION)"' -fsanitize=address,undefined -fno-omit-frame-pointer
FZ_SRC := $(filter-out controller/main.c,$(CTL_SRC)) $(wildcard shim/pure_*.c)
FZ_OBJ := $(patsubst %.c,$(FZ)/obj/%.o,$(FZ_SRC))
FZ_BIN := $(patsubst tests/fuzz/%.c,$(FZ)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FZ)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	clang $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/obj/controller/bpf.o $(FZ)/obj/controller/bpf_report.o: $(BPF_SKEL) $(BPF_OUT)/syscall_names.h
$(FZ)/obj/controller/bpf.o $(FZ)/obj/controller/bpf_report.o: FZ_CFLAGS += -I$(BPF_OUT) -Ibpf

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FZ_OBJ) $(CTL_LIBS)

.SECONDARY: $(FZ_OBJ)

fuzz: $(FZ_BIN)
	@scripts/fuzz.sh $(FZ)

clean:
	rm -rf build build-*

-include $(shell find $(O) -name '*.d' 2>/dev/null)
