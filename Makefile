# SPDX-License-Identifier: GPL-2.0
#
# hmap: kernel modules (with BTF), BPF objects and skeletons, user tools,
# selftests, and a QEMU harness that boots Debian 12's kernel to run them.
#
#   make            build everything (KDIR=... to build for another kernel)
#   make demo       install deps, build, run the demo in the VM (HOST=1: here)
#   make check      install deps, build, run all tests; last line "N passed, N failed"
#                   (DEBUG=0: without the second run on a debug kernel)
#   make vm         shell in the VM; make vm CMD="..." runs one command
#   make bench      benchmarks (print figures; QUICK=1: small sizes, one pass;
#                   BIG=1: also 16M-entry dumps)
#   make mutate     plant known bugs one at a time; every one must be caught
#   make install    hmapctl, libhmap, headers, man pages (PREFIX, DESTDIR, LIBDIR)
#   make deb        Debian packages into build/deb (see packaging/rules.mk)
#   V=1             show commands

SHELL	:= /bin/bash
.SHELLFLAGS := -o pipefail -c
SRC	:= $(CURDIR)
BUILD	?= $(SRC)/build

# Kernels: every one installed with both an image in /boot and headers in
# /usr/src (Debian 12's 6.1, and 6.12 and 6.12-rt from bookworm-backports
# once make deps has run).  Modules are built for each of them into
# BUILD/kmod/<kver>; KVER=... builds and tests one.  The BPF objects and user
# tools are built once, against the oldest kernel's BTF, and work on all
# (CO-RE; libhmap adapts the one per-kernel difference, the kptr tag, at load).
KVERS_ALL := $(shell printf '%s\n' $(foreach v,$(patsubst /boot/vmlinuz-%,%,$(wildcard /boot/vmlinuz-*)),\
	$(if $(wildcard /usr/src/linux-headers-$(v)/Makefile),$(v))) | sort -V)
ifeq ($(origin KVER),undefined)
KVERS	:= $(KVERS_ALL)
# The demo's kernel: the newest, preferring the generic flavour over -rt.
KVER	:= $(or $(lastword $(filter-out %-rt-amd64,$(KVERS_ALL))),$(lastword $(KVERS_ALL)))
else
KVERS	:= $(KVER)
endif
BPF_KVER := $(firstword $(KVERS_ALL) $(KVER))
VMLINUZ	?= /boot/vmlinuz-$(KVER)
KDIR	?= /usr/src/linux-headers-$(KVER)
KMOD_OUT ?= $(BUILD)/kmod/$(KVER)
KSRC_TAR ?= $(firstword $(sort $(wildcard /usr/src/linux-source-*.tar.xz)))

# Base BTF for module BTF: the headers' own vmlinux where they ship one (6.12
# does, and kbuild then adds module BTF itself), else the BTF extracted from
# the kernel image, else the running kernel's.
btf_of = $(if $(wildcard /usr/src/linux-headers-$(1)/vmlinux),/usr/src/linux-headers-$(1)/vmlinux,$(BUILD)/vmlinux-$(1))
ifeq ($(origin KDIR),file)
VMLINUX_BTF ?= $(call btf_of,$(KVER))
else
VMLINUX_BTF ?= $(if $(wildcard $(KDIR)/vmlinux),$(KDIR)/vmlinux,/sys/kernel/btf/vmlinux)
endif
BPF_BTF	:= $(call btf_of,$(BPF_KVER))

CLANG	?= clang-19
BPFTOOL	?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC	?= gcc

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

KSRC	:= $(BUILD)/linux-source
KBUILD_TREE := $(BUILD)/kbuild/$(KVER)
# The kernel's own resolve_btfids where its kbuild package ships one (6.12),
# else one built from linux-source.
RESOLVE_BTFIDS := $(or $(wildcard $(KDIR)/tools/bpf/resolve_btfids/resolve_btfids),$(KSRC)/tools/bpf/resolve_btfids/resolve_btfids)
HARNESS	:= $(KSRC)/tools/testing/selftests/kselftest_harness.h

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I$(BUILD) -I$(SRC)/kmod -I$(SRC)/bpf -I$(SRC)/selftests/progs
USER_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-I$(BUILD)/bpf -I$(SRC)/kmod -I$(SRC)/user -I$(SRC)/bpf
USER_LIBS := -lbpf -lelf -lz

BPF_SRCS := $(wildcard $(SRC)/bpf/*.bpf.c) $(wildcard $(SRC)/selftests/progs/*.bpf.c)
BPF_OBJS := $(patsubst %.bpf.c,$(BUILD)/bpf/%.bpf.o,$(notdir $(BPF_SRCS)))
BPF_SKELS := $(BPF_OBJS:.bpf.o=.skel.h)

LIB_SRCS := $(wildcard $(SRC)/user/lib*.c)
LIB_OBJS := $(patsubst $(SRC)/user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
VM_TESTS := $(patsubst $(SRC)/selftests/vm/%.c,$(BUILD)/selftests/%,$(wildcard $(SRC)/selftests/vm/test_*.c))
BENCHES := $(patsubst $(SRC)/selftests/bench/%.c,$(BUILD)/selftests/%,$(wildcard $(SRC)/selftests/bench/bench_*.c))

vpath %.bpf.c $(SRC)/bpf $(SRC)/selftests/progs

.PHONY: check-run demo-run mutate-run all deps modules kmod bpf user selftests check demo vm bench bench-run clean kdir-check \
	debug-kernel debug-modules mutate
.DELETE_ON_ERROR:

all: modules bpf user selftests

deps:
	$(Q)$(SRC)/.ci/install-deps

# ---- kernel source pieces: resolve_btfids and the kselftest harness ------
$(KSRC)/.extracted:
	$(Q)test -n "$(KSRC_TAR)" || { echo "error: no /usr/src/linux-source-*.tar.xz: run make deps (apt-get install linux-source-6.1)" >&2; exit 1; }
	$(call msg,EXTRACT,$(notdir $(KSRC_TAR)))
	$(Q)mkdir -p $(KSRC)
	$(Q)tar -xJf $(KSRC_TAR) -C $(KSRC) --strip-components=1 \
		--wildcards '*/tools' '*/scripts' '*/include'
	$(Q)touch $@

$(KSRC)/tools/bpf/resolve_btfids/resolve_btfids: $(KSRC)/.extracted
	$(call msg,BUILD,resolve_btfids)
	$(Q)$(MAKE) -s -C $(KSRC)/tools/bpf/resolve_btfids >/dev/null

$(HARNESS): $(KSRC)/.extracted

$(BUILD)/vmlinux-%: /boot/vmlinuz-% $(SRC)/kmod/scripts/extract-vmlinux.py
	$(call msg,EXTRACT,vmlinux from $<)
	$(Q)mkdir -p $(BUILD)
	$(Q)python3 $(SRC)/kmod/scripts/extract-vmlinux.py $< $@

/boot/vmlinuz-%:
	@echo "error: $@ not found: run make deps (apt-get install linux-image-amd64)" >&2; exit 1

# ---- modules ---------------------------------------------------------------
kdir-check:
	$(Q)test -f "$(KDIR)/Makefile" || { \
		echo "error: KDIR=$(KDIR) is not a kernel build tree." >&2; \
		echo "       Install headers (make deps) or pass KDIR=/lib/modules/\$$(uname -r)/build." >&2; \
		exit 1; }

KMOD_SRCS := $(wildcard $(SRC)/kmod/*.c $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/kmod/Kbuild $(SRC)/Kbuild

# Kbuild writes next to its sources, so build in a tree of symlinks under BUILD.
# Its .ko files are moved out to BUILD/kmod and given BTF there: no copy
# without BTF is left to load by mistake.  BTF is added exactly once: a tree
# with a vmlinux (a self-built kernel) makes kbuild add it, and a second
# pahole + resolve_btfids pass would re-sort the kfunc set's ids but not
# their flags.  Each module's kfunc sets are then checked against the flags
# its sources declare (the .mod file lists its objects).
modules:
	$(Q)test -n "$(KVERS)" || { echo "error: no kernel with headers installed: run make deps" >&2; exit 1; }
	$(Q)for k in $(KVERS); do $(MAKE) KVER=$$k kmod || exit 1; done

# One kernel: KVER, KDIR, VMLINUX_BTF, KMOD_OUT.
kmod: $(KMOD_OUT)/.built
$(KMOD_OUT)/.built: $(KMOD_SRCS) $(VMLINUX_BTF) $(RESOLVE_BTFIDS) | kdir-check
	$(Q)mkdir -p $(KBUILD_TREE)/kmod
	$(Q)ln -sfn $(SRC)/Kbuild $(KBUILD_TREE)/Kbuild
	$(Q)for f in $(SRC)/kmod/*.c $(SRC)/kmod/*.h $(SRC)/kmod/Kbuild; do ln -sfn $$f $(KBUILD_TREE)/kmod/; done
	$(Q)ln -sfn $(SRC)/kmod/uapi $(KBUILD_TREE)/kmod/uapi
	$(call msg,KBUILD,$(KDIR))
	$(Q)$(MAKE) -C $(KDIR) M=$(KBUILD_TREE) $(if $(V),V=$(V)) $(if $(HMAP_BENCH),HMAP_BENCH=y) modules 2>&1 | \
		{ grep -v 'Skipping BTF generation' || true; }
	$(Q)test -f $(KBUILD_TREE)/kmod/hmap.ko || { echo "error: kbuild produced no hmap.ko" >&2; exit 1; }
	$(Q)mkdir -p $(KMOD_OUT)
	$(Q)for ko in $(KBUILD_TREE)/kmod/*.ko; do \
		mv $$ko $(KMOD_OUT)/ || exit 1; \
		if readelf -S $(KMOD_OUT)/$$(basename $$ko) | grep -qE '\] \.BTF( |$$)'; then \
			continue; \
		fi; \
		printf '  %-8s %s\n' BTF "$$(basename $$ko)" && \
		$(SRC)/kmod/scripts/module-btf.sh $(VMLINUX_BTF) $(RESOLVE_BTFIDS) $(KMOD_OUT)/$$(basename $$ko) || \
			{ rm -f $(KMOD_OUT)/$$(basename $$ko); exit 1; }; \
	done
	$(Q)for ko in $(KMOD_OUT)/*.ko; do \
		$(SRC)/kmod/scripts/check-kfunc-flags.py --btf-base $(VMLINUX_BTF) --headers $(KDIR) --bpftool $(BPFTOOL) \
			$$ko $$(sed 's/\.o$$/.c/' $(KBUILD_TREE)/kmod/$$(basename $$ko .ko).mod) || exit 1; \
	done
	$(Q)$(SRC)/kmod/scripts/check-ibt-seal.sh $(KMOD_OUT)/*.ko
	$(Q)touch $@

# ---- BPF ---------------------------------------------------------------------
$(BUILD)/vmlinux.h: $(BPF_BTF)
	$(call msg,GEN,vmlinux.h from $(BPF_KVER))
	$(Q)$(BPFTOOL) btf dump file $< format c > $@

# libhmap's own programs need no vmlinux.h (nor a kernel image to make one):
# linux/bpf.h and the UAPI header are enough, so the library builds anywhere
# (a Debian buildd, a distro chroot).
ADMIN_BPF_CFLAGS := $(filter-out -I$(BUILD),$(BPF_CFLAGS)) -I/usr/include/$(shell $(CC) -dumpmachine)
$(BUILD)/bpf/hmap_admin.bpf.o: $(SRC)/bpf/hmap_admin.bpf.c $(SRC)/bpf/hmap.bpf.h $(SRC)/kmod/uapi/hmap.h
	$(call msg,CLANG,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(ADMIN_BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: %.bpf.c $(BUILD)/vmlinux.h $(SRC)/bpf/hmap.bpf.h $(SRC)/kmod/uapi/hmap.h $(wildcard $(SRC)/selftests/progs/*.h)
	$(call msg,CLANG,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$(notdir $@))
	$(Q)$(BPFTOOL) gen skeleton $< name $(notdir $(basename $(basename $<))) > $@

bpf: $(BPF_OBJS) $(BPF_SKELS)

# ---- user space --------------------------------------------------------------
$(BUILD)/user/%.o: $(SRC)/user/%.c $(wildcard $(SRC)/user/*.h) $(SRC)/kmod/uapi/hmap.h $(BUILD)/bpf/hmap_admin.skel.h
	$(call msg,CC,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/user/libhmap.a: $(LIB_OBJS)
	$(call msg,AR,$(notdir $@))
	$(Q)ar rcs $@ $^

user: $(BUILD)/user/libhmap.a $(if $(wildcard $(SRC)/user/hmapctl/main.c),$(BUILD)/hmapctl)

# hmapctl: user/hmapctl/*.c, split as bpftool is (main.c dispatches).
HMAPCTL_OBJS := $(patsubst $(SRC)/user/%.c,$(BUILD)/user/%.o,$(wildcard $(SRC)/user/hmapctl/*.c))
$(HMAPCTL_OBJS): $(wildcard $(SRC)/user/hmapctl/*.h)
$(BUILD)/hmapctl: $(HMAPCTL_OBJS) $(BUILD)/user/libhmap.a
	$(call msg,LINK,$(notdir $@))
	$(Q)$(CC) -o $@ $^ $(USER_LIBS)

# ---- selftests ---------------------------------------------------------------
UNIT_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -fno-strict-aliasing -Wall -Wextra -Wno-sign-compare \
	-Wno-unused-parameter -I$(dir $(HARNESS)) -I$(SRC)/kmod

$(BUILD)/selftests/engine_test: $(SRC)/selftests/unit/engine_test.c $(SRC)/kmod/hmap_engine.c \
		$(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/unit_harness.h $(SRC)/selftests/unit/utab.h $(HARNESS)
	$(call msg,CC-ASAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNIT_CFLAGS) -DHMAP_SEQ_END_HOOK=engine_test_seq_end -DHMAP_LOOKUP_RETRIES=1 $(filter %.c,$^) -lpthread -lm -o $@

# Threads stopped at exact instructions (a PROT_NONE page, the seq-end hook).
$(BUILD)/selftests/lookup_race_test: $(SRC)/selftests/unit/lookup_race_test.c $(SRC)/kmod/hmap_engine.c \
		$(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/unit_harness.h $(SRC)/selftests/unit/utab.h $(HARNESS)
	$(call msg,CC-ASAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNIT_CFLAGS) -DHMAP_SEQ_END_HOOK=lookup_race_seq_end $(filter %.c,$^) -lpthread -o $@

$(BUILD)/selftests/grow_test: $(SRC)/selftests/unit/grow_test.c $(SRC)/kmod/hmap_grow.c \
		$(SRC)/kmod/hmap_engine.c $(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/grow_user.h \
		$(SRC)/selftests/unit/unit_harness.h $(SRC)/selftests/unit/utab.h $(HARNESS)
	$(call msg,CC-ASAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNIT_CFLAGS) -DHGR_POOL_HOOKS -I$(SRC)/selftests/unit $(filter %.c,$^) -lpthread -o $@

# hmap_grow.c compiled into the test, with hooks at its atomics.
$(BUILD)/selftests/grow_stats_test: $(SRC)/selftests/unit/grow_stats_test.c $(SRC)/kmod/hmap_grow.c \
		$(SRC)/kmod/hmap_engine.c $(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/grow_user.h \
		$(SRC)/selftests/unit/unit_harness.h $(HARNESS)
	$(call msg,CC-ASAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNIT_CFLAGS) -I$(SRC)/selftests/unit $< $(SRC)/kmod/hmap_engine.c -lpthread -o $@

$(BUILD)/selftests/reader_test: $(SRC)/selftests/unit/reader_test.c $(SRC)/user/libhmap_reader.c \
		$(SRC)/kmod/hmap_grow.c $(SRC)/kmod/hmap_engine.c $(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) \
		$(SRC)/user/libhmap_reader.h $(SRC)/user/libhmap.h $(SRC)/selftests/unit/grow_user.h \
		$(SRC)/selftests/unit/unit_harness.h $(SRC)/selftests/unit/utab.h $(HARNESS)
	$(call msg,CC-ASAN,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(UNIT_CFLAGS) -DHMAP_READER_MAX_MAPS=4 -DHMAP_READER_ENTER_HOOK=reader_test_enter_hook -I$(SRC)/selftests/unit -I$(SRC)/user $(filter %.c,$^) -lpthread -o $@

$(BUILD)/selftests/test_%: $(SRC)/selftests/vm/test_%.c $(BUILD)/user/libhmap.a $(BPF_SKELS) \
		$(wildcard $(SRC)/selftests/vm/*.h) $(HARNESS)
	$(call msg,CC,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -Wno-sign-compare -Wno-misleading-indentation \
		-I$(dir $(HARNESS)) -I$(SRC)/selftests/vm -I$(SRC)/selftests/progs $(filter %.c,$^) \
		$(BUILD)/user/libhmap.a $(USER_LIBS) -lpthread -o $@

$(BUILD)/selftests/bench_%: $(SRC)/selftests/bench/bench_%.c $(BUILD)/user/libhmap.a $(BPF_SKELS)
	$(call msg,CC,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -O3 -fno-strict-aliasing -I$(SRC)/selftests/vm $(filter %.c,$^) \
		$(BUILD)/user/libhmap.a $(USER_LIBS) -lpthread -lm -o $@

$(BUILD)/selftests/bench_grow_native: $(SRC)/selftests/bench/bench_grow_native.c \
		$(SRC)/kmod/hmap_grow.c $(SRC)/kmod/hmap_engine.c $(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/grow_user.h
	$(call msg,CC,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -fno-strict-aliasing -I$(SRC)/kmod -I$(SRC)/selftests/unit $(filter %.c,$^) -lpthread -o $@

# The dump natively: the engine's table read by libhmap's reader, against the
# host kernel's BPF_MAP_LOOKUP_BATCH.
$(BUILD)/selftests/bench_dump_native: $(SRC)/selftests/bench/bench_dump_native.c $(SRC)/kmod/hmap_engine.c \
		$(BUILD)/user/libhmap.a $(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h) $(SRC)/selftests/unit/utab.h \
		$(SRC)/selftests/bench/dump_sum.h
	$(call msg,CC,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -fno-strict-aliasing -I$(SRC)/selftests/unit $(filter %.c,$^) \
		$(BUILD)/user/libhmap.a $(USER_LIBS) -o $@

$(BUILD)/selftests/bench_native: $(SRC)/selftests/bench/bench_native.cc $(SRC)/kmod/hmap_engine.c \
		$(wildcard $(SRC)/kmod/*.h $(SRC)/kmod/uapi/*.h)
	$(call msg,CXX,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O3 -g -fno-strict-aliasing -I$(SRC)/kmod -c $(SRC)/kmod/hmap_engine.c -o $@-engine.o
	$(Q)$(CXX) -O3 -g -std=c++17 -fno-strict-aliasing -I$(SRC)/kmod $< $@-engine.o -o $@ \
		$$(pkg-config --libs absl_hash absl_raw_hash_set)

$(BUILD)/selftests/test_%: $(SRC)/selftests/vm/test_%.sh
	$(call msg,INSTALL,$(notdir $@))
	$(Q)mkdir -p $(@D)
	$(Q)install -m 0755 $< $@

VM_TESTS += $(patsubst $(SRC)/selftests/vm/%.sh,$(BUILD)/selftests/%,$(wildcard $(SRC)/selftests/vm/test_*.sh))

selftests: $(BUILD)/selftests/engine_test $(BUILD)/selftests/lookup_race_test $(BUILD)/selftests/grow_test $(BUILD)/selftests/grow_stats_test $(BUILD)/selftests/reader_test $(VM_TESTS) $(BUILD)/selftests/bench_dump $(BUILD)/hmapctl

# ---- the debug kernel --------------------------------------------------------
# KASAN, lockdep, PROVE_RCU, atomic-sleep, preempt and list debugging and
# kmemleak, built once per machine from Debian's linux-source and cached
# outside the checkout (selftests/debug/debug-kernel.sh says where), and the
# modules built against it into BUILD/dbg/kmod.  make check (run-all.sh)
# builds both after the stock kernel's suites, then boots it; DEBUG=0 leaves
# it out (and says so in the totals).
DEBUG_KERNEL := $(SRC)/selftests/debug/debug-kernel.sh

debug-kernel:
	$(Q)$(DEBUG_KERNEL) >/dev/null

debug-modules: $(RESOLVE_BTFIDS)
	$(Q)tree=$$($(DEBUG_KERNEL)) && \
		$(MAKE) BUILD=$(BUILD)/dbg KSRC=$(KSRC) KDIR=$$tree KMOD_OUT=$(BUILD)/dbg/kmod \
			KVER=$$(cat $$tree/include/config/kernel.release) kmod

# ---- running -----------------------------------------------------------------
VM := $(SRC)/selftests/vm/vm.sh
VM_ENV = HMAP_SRC=$(SRC) HMAP_BUILD=$(BUILD) KVER=$(KVER)

# The kernel lists are read when make starts, and deps may install kernels:
# so everything after deps runs in a sub-make, which reads them again.
check: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) check-run

check-run:
	$(Q)$(VM_ENV) HMAP_KVERS="$(KVERS)" HMAP_DEBUG=$(DEBUG) $(SRC)/selftests/run-all.sh

demo: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) demo-run

demo-run:
ifeq ($(HOST),1)
	$(Q)$(VM_ENV) sh $(SRC)/selftests/vm/demo.sh
else
	$(Q)$(VM_ENV) $(VM) -- sh $(SRC)/selftests/vm/demo.sh
endif

vm: all
	$(Q)$(VM_ENV) $(VM) $(if $(SMP),--smp $(SMP)) $(if $(MEM),--mem $(MEM)) \
		$(if $(CMD),-- sh -c '$(CMD)',--interactive)

# Benchmarks use their own build: its hmap_rehash.ko has the stop_the_world
# baseline parameter, which the tested module does not.  QUICK=1: small
# sizes and one pass, what make check's bench smoke runs (the figures then
# mean nothing).  BIG=1 adds the 16M-entry dumps with and without huge
# pages (a 6 GiB VM).  Exits non-zero if any benchmark failed.
bench: deps
	$(Q)$(MAKE) BUILD=$(BUILD)/bench HMAP_BENCH=1 bench-run

$(BENCHES): $(SRC)/selftests/bench/bench_util.h $(SRC)/selftests/vm/hmap_test_util.h \
	$(SRC)/selftests/bench/dump_sum.h

bench-run: all $(BENCHES) $(BUILD)/selftests/bench_native $(BUILD)/selftests/bench_grow_native
	$(Q)$(VM_ENV) HMAP_BENCH_QUICK=$(if $(filter 1,$(QUICK)),1,0) \
		HMAP_BENCH_BIG=$(if $(filter 1,$(BIG)),1,0) $(SRC)/selftests/bench/run.sh

# Plant known bugs one at a time and check the suites catch each (on demand).
mutate: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) mutate-run

mutate-run:
	$(Q)KVER=$(KVER) $(SRC)/selftests/mutate.sh $(MUTANTS)

clean:
	rm -rf $(BUILD)

# libhmap.so, man pages, make install, DKMS and Debian packages.
include $(SRC)/packaging/rules.mk
