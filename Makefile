# exo: build, boot and test. `make help` lists the targets.
#
# Layout: every output goes under build/. Target (AArch64) objects live in
# build/<toolchain>/<image>/<source path>.o, so one source can be built for
# several images with different flags; host objects in build/host/.
# Each layer's sources are found by wildcard: adding a file needs no edit here.

TOOLCHAIN ?= clang
CPU ?= max
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
B := build
OUT := $(B)/$(TOOLCHAIN)

ARM64_LIBFDT := /usr/local/lib/aarch64-linux-gnu/libfdt.a

# --- set-up: install what is missing (tools/deps), once, before anything ---
ifeq ($(filter help clean distclean,$(MAKECMDGOALS)),)
NEEDED := /usr/bin/qemu-system-aarch64 /usr/bin/dtc /usr/bin/fdtput \
	/usr/include/libfdt.h $(ARM64_LIBFDT) /usr/include/criterion/criterion.h \
	/usr/bin/pytest-3 /usr/bin/ld.lld /usr/bin/clang /usr/bin/aarch64-linux-gnu-gcc \
	/usr/bin/gdb-multiarch
NEEDED += /usr/bin/rsvg-convert
ifneq ($(filter-out $(wildcard $(NEEDED)),$(NEEDED)),)
$(info exo: missing $(filter-out $(wildcard $(NEEDED)),$(NEEDED)); running tools/deps)
ifneq ($(shell tools/deps 1>&2; echo $$?),0)
$(error tools/deps could not install the dependencies (see above))
endif
endif
endif

# --- target toolchain -------------------------------------------------------
ifeq ($(TOOLCHAIN),clang)
TCC := clang --target=aarch64-none-elf
TLD := ld.lld
TARGET_STDINC := -nostdlibinc
else ifeq ($(TOOLCHAIN),gcc)
TCC := aarch64-linux-gnu-gcc
TLD := aarch64-linux-gnu-ld
# GCC has no -nostdlibinc: drop every default directory, keep its own headers
# (stdint.h, stdarg.h, ...) and never glibc's.
TARGET_STDINC = -nostdinc -isystem $(shell $(TCC) -print-file-name=include)
TARGET_GCC_ONLY := -mno-outline-atomics -fno-tree-loop-distribute-patterns
else
$(error TOOLCHAIN must be clang or gcc, not '$(TOOLCHAIN)')
endif

# libfdt's headers are in /usr/include beside glibc's: expose only them.
FDT_INC := $(B)/fdt-include
FDT_HEADERS := $(FDT_INC)/libfdt.h $(FDT_INC)/libfdt_env.h $(FDT_INC)/fdt.h
.SECONDARY: $(FDT_HEADERS)

TARGET_CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror -ffreestanding \
	-fno-common -fstack-protector-strong -fno-omit-frame-pointer \
	-mstrict-align -fno-asynchronous-unwind-tables -fno-unwind-tables \
	$(TARGET_STDINC) $(TARGET_GCC_ONLY) -Iinclude -I. -Ilib/libc -I$(FDT_INC) \
	-MMD -MP
# EL2 never touches FP/SIMD (guest state lives there) and runs at a fixed
# address.
EL2_CFLAGS = $(TARGET_CFLAGS) -mgeneral-regs-only -fno-pie
EL2_LDFLAGS := -nostdlib -static --no-pie -T el2/el2.ld

LIB_SRCS := $(wildcard lib/*.c)
EL2_SRCS := $(wildcard el2/*.c el2/arch/*.c el2/arch/*.S)
EL2_TEST_SRCS := $(wildcard tests/target/el2/*.c)

# Two EL2 builds: release (make run) and debug (the on-target tests): the
# debug one runs the frame DB self-test at boot, checks the stage-2
# invariant after every memory hypercall, and links the EL2 self-tests.
EL2_OBJS := $(patsubst %,$(OUT)/el2/%.o,$(EL2_SRCS) $(LIB_SRCS))
EL2_DEBUG_OBJS := $(patsubst %,$(OUT)/el2-debug/%.o,$(EL2_SRCS) $(LIB_SRCS) \
	$(EL2_TEST_SRCS))

EL2_IMAGE := $(OUT)/exo-el2.elf
EL2_TEST_IMAGE := $(OUT)/exo-el2-debug.elf

# A file per object tree whose content is that tree's compiler and flags,
# rewritten only when they change. Every object of the tree depends on it,
# so a flags change rebuilds the tree instead of linking objects built with
# the old flags (it happened twice: a stale EL1 object broke the tests).
# $(1) = the file, $(2) = the compiler and its flags.
flags_quote = '$(subst ','\'',$(strip $(1)))'
flags_stamp = $(shell mkdir -p $(dir $(1)) && { printf '%s\n' $(call flags_quote,$(2)) | cmp -s - $(1) || printf '%s\n' $(call flags_quote,$(2)) > $(1); } && echo $(1))

# --- host (unit tests, tools) ----------------------------------------------
HOST_CC := clang
HOST_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
HOST_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
	$(HOST_SAN) -Iinclude -I. -DEXO_HOST -MMD -MP
# lib/string.c defines the C library's names: on the host they are renamed
# so tests can compare them with glibc's.
STRING_FNS := memcpy memmove memset memcmp memchr strlen strnlen strchr \
	strrchr strcmp strncmp strncpy strstr strtoul
HOST_STRING_FLAGS := -fno-builtin $(foreach f,$(STRING_FNS),-D$(f)=exo_$(f))

# Portable code: plain C that compiles unchanged for the host.
HOST_PORTABLE_SRCS := lib/string.c lib/fmt.c lib/print.c lib/panic.c \
	lib/esr_names.c lib/exit_describe.c \
	$(filter-out el2/main.c,$(wildcard el2/*.c)) \
	$(filter-out libos/arch/%,$(wildcard libos/*.c libos/*/*.c))
HOST_TEST_SRCS := $(wildcard tests/host/*.c)
HOST_OBJS := $(patsubst %,$(B)/host/%.o,$(HOST_PORTABLE_SRCS) $(HOST_TEST_SRCS))
HOST_TESTS := $(B)/host/exo-host-tests
# The threaded tests of EL2's memory transactions (tests/host/tsan/, one
# program with its own main): ThreadSanitizer, which cannot share a binary
# with ASan, over el2/mem.c and what it calls, the fake arch and the model
# checker's machine and checks. No Criterion: its runner crashes under TSan
# (docs/testing.md, "Threads").
TSAN_TESTS := $(B)/host/exo-tsan-tests
TSAN_CFLAGS := $(filter-out $(HOST_SAN),$(HOST_CFLAGS)) -fsanitize=thread
TSAN_SRCS := el2/mem.c el2/frames.c el2/frames_selftest.c el2/s2.c \
	el2/lost.c el2/vm_event.c el2/sched.c el2/irq.c el2/gic.c el2/timing.c \
	el2/hyp_lock.c el2/vmid.c lib/panic.c lib/print.c lib/fmt.c \
	tests/host/fake_arch.c tests/host/mem_machine.c \
	tests/host/model_machine.c tests/host/model_check.c \
	$(wildcard tests/host/tsan/*.c)
TSAN_OBJS := $(patsubst %,$(B)/host-tsan/%.o,$(TSAN_SRCS))

EL2_FLAGS := $(call flags_stamp,$(OUT)/el2/.flags,$(TCC) $(EL2_CFLAGS))
EL2_DEBUG_FLAGS := $(call flags_stamp,$(OUT)/el2-debug/.flags,$(TCC) $(EL2_CFLAGS) -DEXO_DEBUG)
HOST_FLAGS := $(call flags_stamp,$(B)/host/.flags,$(HOST_CC) $(HOST_CFLAGS) $(HOST_STRING_FLAGS))
TSAN_FLAGS := $(call flags_stamp,$(B)/host-tsan/.flags,$(HOST_CC) $(TSAN_CFLAGS))

# ---------------------------------------------------------------------------
.PHONY: all images run test host-test tsan-test target-test clean help
all: images $(HOST_TESTS) $(TSAN_TESTS)
images: $(EL2_IMAGE) $(EL2_TEST_IMAGE)

help:
	@echo "make            build everything ($(OUT)/, build/host/)"
	@echo "make run        build and boot the default system in QEMU (CPU=$(CPU))"
	@echo "make test       all tests: host unit tests, then on-target tests"
	@echo "make host-test  host unit tests only (Criterion, ASan+UBSan; then the ThreadSanitizer tests)"
	@echo "make tsan-test  EL2's memory calls from several threads at once, under ThreadSanitizer"
	@echo "make target-test on-target tests only (pytest in QEMU)"
	@echo "make bench      benchmarks: table, build/bench/results.json (minutes)"
	@echo "make layers     check the one-way rule: LAYER_CHECKS of tools/layers"
	@echo "make mutants    plant each known bug (tests/mutants/mutants.txt), report which the suite caught"
	@echo "make soak HOURS=n   frame-churn storms with the invariant on, leaks and worst gap"
	@echo "make bench-docs rewrite docs/performance.md's tables (clang build)"
	@echo "make run SYSTEM=name   boot guests/name.dts (or tests/target/systems/)"
	@echo "make run SNAPSHOT=1    also draw physical memory: build/memory.svg"
	@echo "make run TIMEOUT=s     stop after s seconds (default 60), naming the guests still running"
	@echo "make debug      boot halted with a GDB stub; prints the gdb command"
	@echo "make compile_commands.json   for clangd and other editors"
	@echo "options: TOOLCHAIN=clang|gcc  V=1 (full commands)  CPU=max|cortex-a72"

# TIMEOUT: seconds before tools/run stops QEMU and names the guests still
# running.
TIMEOUT ?= 60
SMP ?= 4
run: boot-deps
	$(Q)tools/run --cpu $(CPU) --smp $(SMP) --timeout $(TIMEOUT) --pkg $(RUN_PKG) \
		$(RUN_FLAGS) $(EL2_IMAGE)

test: all bench-native
	$(Q)tools/run-tests --host $(HOST_TESTS) --tsan $(TSAN_TESTS) --build $(OUT) --bench

host-test: $(HOST_TESTS) $(TSAN_TESTS)
	$(Q)tools/run-tests --host $(HOST_TESTS) --tsan $(TSAN_TESTS) --no-target

# The threaded tests alone (seconds; EXO_TSAN_SEED=<n> for another seed).
tsan-test: $(TSAN_TESTS) libos-tsan-test
	$(Q)tools/run-tests --tsan $(TSAN_TESTS) --no-host --no-target

target-test: images
	$(Q)tools/run-tests --build $(OUT) --no-host

clean:
	rm -rf $(B)

# --- rules -----------------------------------------------------------------
$(FDT_INC)/%.h: /usr/include/%.h
	@mkdir -p $(@D)
	$(Q)ln -sf $< $@

$(OUT)/el2/%.c.o: %.c $(EL2_FLAGS) | $(FDT_HEADERS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<  [el2 $(TOOLCHAIN)]")
	$(Q)$(TCC) $(EL2_CFLAGS) $(if $(filter lib/string.c,$<),-fno-builtin) -c $< -o $@

$(OUT)/el2/%.S.o: %.S $(EL2_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AS      $<  [el2 $(TOOLCHAIN)]")
	$(Q)$(TCC) $(EL2_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(OUT)/el2-debug/%.c.o: %.c $(EL2_DEBUG_FLAGS) | $(FDT_HEADERS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<  [el2-debug $(TOOLCHAIN)]")
	$(Q)$(TCC) $(EL2_CFLAGS) -DEXO_DEBUG $(if $(filter lib/string.c,$<),-fno-builtin) -c $< -o $@

$(OUT)/el2-debug/%.S.o: %.S $(EL2_DEBUG_FLAGS)
	@mkdir -p $(@D)
	$(Q)$(TCC) $(EL2_CFLAGS) -DEXO_DEBUG -D__ASSEMBLY__ -c $< -o $@

$(EL2_IMAGE): $(EL2_OBJS) el2/el2.ld $(ARM64_LIBFDT)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TLD) $(EL2_LDFLAGS) -o $@ $(EL2_OBJS) $(ARM64_LIBFDT)

$(EL2_TEST_IMAGE): $(EL2_DEBUG_OBJS) el2/el2.ld $(ARM64_LIBFDT)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(TLD) $(EL2_LDFLAGS) -o $@ $(EL2_DEBUG_OBJS) $(ARM64_LIBFDT)

$(B)/host-tsan/%.c.o: %.c $(TSAN_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSANCC  $<")
	$(Q)$(HOST_CC) $(TSAN_CFLAGS) -c $< -o $@

$(TSAN_TESTS): $(TSAN_OBJS)
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(HOST_CC) -fsanitize=thread -o $@ $^

$(B)/host/%.c.o: %.c $(HOST_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  HOSTCC  $<")
	$(Q)$(HOST_CC) $(HOST_CFLAGS) $(if $(filter lib/string.c,$<),$(HOST_STRING_FLAGS)) -c $< -o $@

# The host tests' compile flags and objects, for a test that relinks them
# with one file changed (tests/target/test_replay.py).
.PHONY: host-link-info
host-link-info:
	@echo "cc: $(HOST_CC)"
	@echo "cflags: $(HOST_CFLAGS)"
	@echo "objs: $(HOST_OBJS)"
	@echo "ldflags: $(HOST_SAN)"
	@echo "libs: $(HOST_TEST_LIBS)"

HOST_TEST_LIBS := -lcriterion -lfdt
$(HOST_TESTS): $(HOST_OBJS)
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(HOST_CC) $(HOST_SAN) -o $@ $^ $(HOST_TEST_LIBS)

# The threaded host tests (libos on several vCPUs: threads stand for vCPUs)
# again under ThreadSanitizer, with the portable libos and lib code and the
# fakes they need, and a small runner in place of Criterion (whose shared
# arena cannot be set up under ThreadSanitizer); `make tsan-test` runs it
# after EL2's (above).
LIBOS_TSAN_DIR := $(B)/host-tsan-libos
LIBOS_TSAN_TESTS := $(LIBOS_TSAN_DIR)/exo-libos-tsan-tests
LIBOS_TSAN_CFLAGS := $(filter-out $(HOST_SAN),$(HOST_CFLAGS)) -fsanitize=thread \
	-DEXO_TSAN_TESTS -Itests/host/tsan_libos
LIBOS_TSAN_SRCS := lib/string.c lib/fmt.c lib/print.c lib/panic.c \
	$(filter-out libos/arch/%,$(wildcard libos/*.c libos/*/*.c)) \
	tests/host/test_libos_smp.c tests/host/console_capture.c \
	tests/host/fake_libos_el2.c tests/host/fake_libos_irq.c \
	tests/host/fake_libos_arch.c tests/host/walker.c tests/host/tsan_halt.c \
	tests/host/tsan_libos/main.c
LIBOS_TSAN_OBJS := $(patsubst %,$(LIBOS_TSAN_DIR)/%.o,$(LIBOS_TSAN_SRCS))
LIBOS_TSAN_FLAGS := $(call flags_stamp,$(LIBOS_TSAN_DIR)/.flags,$(HOST_CC) $(LIBOS_TSAN_CFLAGS))

$(LIBOS_TSAN_DIR)/%.c.o: %.c $(LIBOS_TSAN_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TSANCC  $<")
	$(Q)$(HOST_CC) $(LIBOS_TSAN_CFLAGS) $(if $(filter lib/string.c,$<),$(HOST_STRING_FLAGS)) -c $< -o $@

$(LIBOS_TSAN_TESTS): $(LIBOS_TSAN_OBJS)
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(HOST_CC) -fsanitize=thread -o $@ $^ -lfdt

.PHONY: libos-tsan-test
libos-tsan-test: $(LIBOS_TSAN_TESTS)
	$(Q)TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(LIBOS_TSAN_TESTS) \
		--filter 'libos_smp/*'

-include $(LIBOS_TSAN_OBJS:.o=.d)

# --- system manifests and boot packages (docs/manifest.md) ------------------
# guests/<name>.dts -> build/guests/<name>.dtb. A boot package is packed by a
# rule whose recipe is $(call mkpkg,<out.pkg>,<manifest.dtb>,<guest ELFs>):
#   $(OUT)/default.pkg: $(B)/guests/default.dtb $(ELFS) tools/mkpkg
#   	$(call mkpkg,$@,$<,$(ELFS))
MANIFEST_DTBS := $(patsubst %.dts,$(B)/%.dtb,$(wildcard guests/*.dts \
	tests/target/systems/*.dts))
.PHONY: manifests
manifests: $(MANIFEST_DTBS)
all host-test: manifests

$(B)/%.dtb: %.dts
	@mkdir -p $(@D)
	@$(if $(Q),echo "  DTC     $<")
	$(Q)dtc -I dts -O dtb -o $@ $<

mkpkg = @mkdir -p $(dir $(1)); $(if $(Q),echo "  MKPKG   $(1)";) \
	tools/mkpkg -o $(1) $(2) $(3)
# --- end of manifests and boot packages --------------------------------------


# === guests: EL1 runtime and guest images (owner: el1) =====================
# Every directory guests/<name>/ or tests/target/guests/<name>/ holding *.c
# becomes $(OUT)/guests/<name>.elf: a static PIE (linked at 0, relocated by
# el1/start.S) of its sources, the el1 runtime, libos, lib and the arm64
# libfdt.
# tools/check-pie rejects an image that is not ET_DYN or has a relocation
# other than R_AARCH64_RELATIVE. docs/el1.md describes the image.

# EL1 starts with the MMU off (all memory Device: -mstrict-align) at an
# address only known at run time (-fpie). Its C never touches FP/SIMD
# (-mgeneral-regs-only), so el1/vectors.S saves no FP/SIMD register: those
# belong to the EL0 task running, switched lazily (el1/el0_task.c).
EL1_CFLAGS = $(TARGET_CFLAGS) -fpie -mgeneral-regs-only
EL1_LDFLAGS := -nostdlib -static -pie --no-dynamic-linker -z text \
	-z norelro -z max-page-size=4096 --build-id=none -T el1/el1.ld

EL1_FLAGS := $(call flags_stamp,$(OUT)/el1/.flags,$(TCC) $(EL1_CFLAGS))
EL1_SRCS := $(wildcard el1/*.c el1/*.S)
# The library OS: every guest links it (el1 turns the MMU on through it).
LIBOS_SRCS := $(wildcard libos/*.c libos/*/*.c libos/arch/*.S)
el1_obj = $(patsubst %,$(OUT)/el1/%.o,$(1))
EL1_RT_OBJS := $(call el1_obj,$(EL1_SRCS) $(LIBOS_SRCS) $(LIB_SRCS))

GUEST_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard guests/*/*.c \
	tests/target/guests/*/*.c))))
GUEST_NAMES := $(notdir $(GUEST_DIRS))
ifneq ($(words $(GUEST_NAMES)),$(words $(sort $(GUEST_NAMES))))
$(error two guest directories share a name: $(GUEST_DIRS))
endif
GUEST_IMAGES := $(patsubst %,$(OUT)/guests/%.elf,$(GUEST_NAMES))
CHECK_PIE := tools/check-pie

images: $(GUEST_IMAGES)
guests: $(GUEST_IMAGES)
.PHONY: guests

$(OUT)/el1/%.c.o: %.c $(EL1_FLAGS) | $(FDT_HEADERS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<  [el1 $(TOOLCHAIN)]")
	$(Q)$(TCC) $(EL1_CFLAGS) $(if $(filter lib/string.c,$<),-fno-builtin) -c $< -o $@

$(OUT)/el1/%.S.o: %.S $(EL1_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  AS      $<  [el1 $(TOOLCHAIN)]")
	$(Q)$(TCC) $(EL1_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# $(1) = guest directory. The image is deleted if check-pie rejects it.
define GUEST_RULE
$(OUT)/guests/$(notdir $(1)).elf: $(call el1_obj,$(wildcard $(1)/*.c $(1)/*.S)) \
		$(EL1_RT_OBJS) el1/el1.ld $(ARM64_LIBFDT) $(CHECK_PIE)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(TLD) $$(EL1_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(ARM64_LIBFDT)
	$$(Q)$$(CHECK_PIE) $$@ || { rm -f $$@; exit 1; }
endef
$(foreach d,$(GUEST_DIRS),$(eval $(call GUEST_RULE,$(d))))
# === end of guests ==========================================================

# === manifest check: before QEMU, at packing (docs/manifest.md) ============
# build/host/exo-mancheck (tools/mancheck.c) reads a packed package with
# EL2's parser and libos's policy list and start-up estimate, and prints
# each error naming the .dts. $(call check_manifest,<pkg>,<dts>) is one
# command of a packing recipe: it removes the package and fails the build
# when the manifest would fail at boot; a manifest whose root has
# `exo,expect-errors;` (a test system broken on purpose: EL2 must report it
# at boot) gets warnings only.
MANCHECK := $(B)/host/exo-mancheck
MANCHECK_SRCS := tools/mancheck.c el2/manifest.c el2/dtb_bounds.c el2/elf.c el2/bootpkg.c \
	lib/fmt.c $(wildcard libos/heap/*.c) libos/pool/pool.c \
	libos/mm/boot_need.c libos/mmu/granule.c libos/startup.c

$(MANCHECK): $(patsubst %,$(B)/host/%.o,$(MANCHECK_SRCS))
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(HOST_CC) $(HOST_SAN) -o $@ $^ -lfdt

check_manifest = $(MANCHECK) --dts $(2) $(1) || { rm -f $(1); exit 1; }
# === end of manifest check ==================================================

# === systems: a boot package per manifest ===================================
# (After the guests: the rules' prerequisites need GUEST_IMAGES defined.)
# guests/<name>.dts and tests/target/systems/<name>.dts each become
# $(OUT)/systems/<name>.pkg holding the manifest and the guest images it
# names (the `image` of each node under /guests), so a package is rebuilt
# only when its manifest or one of its own images changes, and a broken
# guest or manifest stops only the systems that use it.
# `make run SYSTEM=<name>` boots one.
SYSTEM ?= default
SYSTEM_DTS := $(wildcard guests/*.dts tests/target/systems/*.dts)
SYSTEM_PKGS := $(patsubst %.dts,$(OUT)/systems/%.pkg,$(notdir $(SYSTEM_DTS)))
images: $(SYSTEM_PKGS)

# build/<dir>/<name>.images.mk sets SYSTEM_IMAGES_<name> to the image names
# the manifest gives (compiled to a scratch DTB, read with fdtget; names
# outside mkpkg's [A-Za-z0-9._+-] are dropped). It is made even from a
# manifest dtc rejects (an empty list): the package's own .dtb rule then
# reports dtc's error, once. An image no guest directory builds is left out
# of the package rather than failing the build: EL2 reports it at boot
# (`no entry '<x>' in the boot package`, docs/manifest.md).
$(B)/%.images.mk: %.dts
	@mkdir -p $(@D)
	@$(if $(Q),echo "  IMAGES  $<")
	$(Q)dtc -q -I dts -O dtb -o $@.dtb $< 2>/dev/null; \
	for g in $$(fdtget -l $@.dtb /guests 2>/dev/null); do \
		fdtget -ts $@.dtb /guests/$$g image 2>/dev/null; echo; \
	done | tr ' ' '\n' | grep -E '^[A-Za-z0-9._+-]+$$' | sort -u | \
	{ printf 'SYSTEM_IMAGES_%s :=' '$(notdir $*)'; \
	  while read -r i; do printf ' %s' "$$i"; done; echo; } > $@.tmp
	$(Q)rm -f $@.dtb; mv $@.tmp $@

# Which systems' image lists this make reads (generating one compiles its
# manifest): those of the packages named as goals, or all of them for a goal
# that may pack every system (all, images, test, ...). run and debug read
# none: they build through a second make for $(SYSTEM)'s package alone.
PACKLESS_GOALS := run debug help clean compile_commands.json host-test tsan-test \
	libos-tsan-test \
	manifests guests $(B)/%
ifeq ($(MAKECMDGOALS),)
SYSTEMS_READ := $(SYSTEM_DTS)
else ifneq ($(filter-out $(PACKLESS_GOALS),$(MAKECMDGOALS)),)
SYSTEMS_READ := $(SYSTEM_DTS)
else
SYSTEMS_READ := $(filter $(patsubst %.pkg,\%/%.dts,$(notdir $(filter \
	$(OUT)/systems/%.pkg $(OUT)/snapshot/%.pkg,$(MAKECMDGOALS)))),$(SYSTEM_DTS))
endif
-include $(patsubst %.dts,$(B)/%.images.mk,$(SYSTEMS_READ))

# $(1) = system name: its package's guest images.
system_images = $(filter $(GUEST_IMAGES),$(addprefix $(OUT)/guests/,\
	$(SYSTEM_IMAGES_$(1))))

# $(1) = manifest source, $(2) = system name. The host-side manifest check
# reads the package just packed (it needs the images' sizes).
define SYSTEM_RULE
$(OUT)/systems/$(2).pkg: $(B)/$(basename $(1)).dtb \
		$(call system_images,$(2)) tools/mkpkg $(MANCHECK)
	$$(call mkpkg,$$@,$$<,$$(call system_images,$(2)))
	$$(Q)$$(call check_manifest,$$@,$(1))
endef
$(foreach f,$(SYSTEM_DTS),$(eval $(call SYSTEM_RULE,$(f),$(basename $(notdir $(f))))))

# make run / make debug: a second make builds only what booting $(SYSTEM)
# needs (the release EL2, its manifest, images and package), with one job
# per core unless the user chose -j. It waits for any other goal given
# (`make images run`), so two makes never build one file at once.
BOOT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BOOT_GOALS = $(EL2_IMAGE) $(if $(SYSTEM_SRC),$(if $(filter run,$(MAKECMDGOALS)),\
	$(RUN_PKG)) $(if $(filter debug,$(MAKECMDGOALS)),$(OUT)/systems/$(SYSTEM).pkg))
.PHONY: boot-deps
boot-deps: $(filter-out run debug,$(MAKECMDGOALS))
	$(Q)$(MAKE) --no-print-directory $(if $(Q),-s) \
		$(if $(filter -j%,$(MAKEFLAGS)),,-j$(BOOT_JOBS)) \
		$(BOOT_GOALS)
# === end of systems =========================================================

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# === bench: native timings and on-target path lengths (docs/performance.md)
# `make bench` runs everything (minutes); tools/run-tests runs the smoke
# version. Native benchmarks are host C at -O2 without sanitizers: the
# libos heap policies, the stage-1 engine and the frame DB, and the same
# heap driver linked once per peer allocator (separate binaries, so no
# symbols clash).
BENCH_DIR := $(B)/bench
BENCH_CC := $(HOST_CC)
# DWARF 4: Debian's valgrind (3.19, the bench's Cachegrind figures) cannot
# read clang 14's DWARF 5.
BENCH_CFLAGS := -std=c11 -O2 -gdwarf-4 -Wall -Wextra -Werror -Iinclude -I. \
	-DEXO_HOST -DNDEBUG -MMD -MP
BENCH_FLAGS := $(call flags_stamp,$(BENCH_DIR)/obj/.flags,$(BENCH_CC) $(BENCH_CFLAGS))
BENCH_HEAP_SRCS := $(wildcard libos/heap/*.c) lib/fmt.c
BENCH_TABLE_SRCS := $(wildcard libos/mmu/*.c) el2/frames.c lib/fmt.c
BENCH_PEERS := glibc jemalloc mimalloc tcmalloc
BENCH_PEER_LIBS_glibc :=
BENCH_PEER_LIBS_jemalloc := -ljemalloc
BENCH_PEER_LIBS_mimalloc := -lmimalloc
BENCH_PEER_LIBS_tcmalloc := -ltcmalloc_minimal
BENCH_NATIVE := $(BENCH_DIR)/heapbench-exo $(BENCH_DIR)/tablebench \
	$(patsubst %,$(BENCH_DIR)/heapbench-%,$(BENCH_PEERS))

# The bench guest (guests/bench/) also links the libos heap policies.
$(OUT)/guests/bench.elf: $(call el1_obj,$(wildcard libos/heap/*.c))

.PHONY: bench bench-native
bench-native: $(BENCH_NATIVE)
.SECONDARY: $(BENCH_DIR)/obj/tests/bench/native/heapbench.c.o

bench: bench-native guests images
	$(Q)tools/bench --build $(OUT) --out $(BENCH_DIR)

# docs/performance.md's tables, from boots of the bench system (its
# on-target figures), of the several-CPU and victim-gap systems tools/bench
# makes, and the last `make bench` (native and scale figures, in
# results.json). The on-target tables are for the clang build (tools/bench
# refuses another); tests/target/test_perf_docs.py holds them to what the
# bench guest measures.
.PHONY: bench-docs
bench-docs: $(EL2_IMAGE) $(OUT)/systems/bench.pkg
	$(Q)tools/bench --update-docs --build $(OUT) --out $(BENCH_DIR)

$(BENCH_DIR)/obj/%.c.o: %.c $(BENCH_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BENCHCC $<")
	$(Q)$(BENCH_CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_DIR)/obj/exo/%.c.o: %.c $(BENCH_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BENCHCC $<  [exo]")
	$(Q)$(BENCH_CC) $(BENCH_CFLAGS) -DBENCH_EXO -c $< -o $@

$(BENCH_DIR)/heapbench-exo: $(patsubst %,$(BENCH_DIR)/obj/exo/%.o,\
		tests/bench/native/heapbench.c $(BENCH_HEAP_SRCS))
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(BENCH_CC) -o $@ $^

$(BENCH_DIR)/tablebench: $(patsubst %,$(BENCH_DIR)/obj/%.o,\
		tests/bench/native/tablebench.c $(BENCH_TABLE_SRCS))
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(BENCH_CC) -o $@ $^

$(BENCH_DIR)/heapbench-%: $(BENCH_DIR)/obj/tests/bench/native/heapbench.c.o
	@$(if $(Q),echo "  HOSTLD  $@")
	$(Q)$(BENCH_CC) -o $@ $^ $(BENCH_PEER_LIBS_$*) -ldl
# === end of bench =============================================
# === fuzz: libFuzzer targets (owner: fuzz; docs/testing.md, "Fuzzing") =====
# tests/fuzz/fuzz_<name>.c -> build/fuzz/fuzz_<name>, built with clang
# -fsanitize=fuzzer,address,undefined over the portable sources (objects in
# build/fuzz/obj/, instrumented for coverage). fuzz_heap links lib/ and
# libos/heap/; every other target lib/, the C files directly in el2/ and
# tests/host/fake_arch.c. Seeds are generated (tests/fuzz/mkseeds) from
# real build outputs into build/fuzz/seeds/<name>/; what `make fuzz` finds
# goes to build/fuzz/corpus/<name>/, crashes to build/fuzz/crashes/.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS=hvc elf]  open-ended search,
#       time-bounded, growing build/fuzz/corpus/
#   make test   runs each target for a fixed number of inputs from a fixed
#       seed (FUZZ_TEST_RUNS, FUZZ_TEST_SEED) over the seeds and
#       tests/fuzz/corpus/ only, into a scratch corpus: no clock decides
#       anything, so one commit gives one result.
FUZZ_DIR := $(B)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TEST_SEED ?= 1
# Inputs per target: about 5 s each on the 2-core machine (docs/testing.md).
FUZZ_TEST_RUNS ?= bootpkg:45000 elf:25000 heap:7000 hvc:5000 manifest:150000 \
	model:5000
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-Iinclude -I. -DEXO_HOST -MMD -MP
FUZZ_FLAGS := $(call flags_stamp,$(FUZZ_DIR)/obj/.flags,$(HOST_CC) $(FUZZ_CFLAGS))
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_LIB_SRCS := lib/string.c lib/fmt.c lib/print.c lib/panic.c \
	lib/esr_names.c lib/exit_describe.c
FUZZ_EL2_SRCS := $(FUZZ_LIB_SRCS) $(filter-out el2/main.c,$(wildcard el2/*.c)) \
	tests/host/fake_arch.c tests/host/fake_pmu.c
FUZZ_HEAP_SRCS := $(FUZZ_LIB_SRCS) $(wildcard libos/heap/*.c)
# fuzz_model drives the model checker of the host tests (its machine and
# properties are theirs: tests/host/model_check.c).
FUZZ_MODEL_SRCS := $(FUZZ_EL2_SRCS) tests/host/model_check.c tests/host/model_machine.c \
	tests/host/mem_machine.c
# Loops over every frame or table entry (the frame DB, the stage-2 walker,
# mem.c's scrub check, the hypercall harness's own checks) would spend most
# of an execution in compare tracing that guides nothing: edges only there.
FUZZ_EDGE_ONLY := el2/frames.c el2/s2.c el2/mem.c tests/fuzz/fuzz_hvc.c \
	tests/fuzz/fuzz_heap.c tests/host/model_check.c tests/host/model_machine.c
fuzz_objs = $(patsubst %,$(FUZZ_DIR)/obj/%.o,$(1))
# Real images the seeds are made from (they are built if missing).
FUZZ_SEED_INPUTS := $(B)/guests/default.dtb $(OUT)/guests/hello.elf \
	$(OUT)/systems/default.pkg

.PHONY: fuzz fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_BINS) fuzz-seeds
fuzz-seeds: $(FUZZ_DIR)/seeds/.stamp

fuzz: fuzz-build
	$(Q)tools/run-tests --no-host --no-target --fuzz $(FUZZ_DIR) \
		--fuzz-seconds $(FUZZ_SECONDS) $(if $(FUZZ_TARGETS),--fuzz-only "$(FUZZ_TARGETS)")

# make test runs each target briefly (tools/run-tests reads EXO_FUZZ*).
test: fuzz-build
test: export EXO_FUZZ := $(FUZZ_DIR)
test: export EXO_FUZZ_RUNS := $(FUZZ_TEST_RUNS)
test: export EXO_FUZZ_SEED := $(FUZZ_TEST_SEED)

$(FUZZ_DIR)/obj/%.c.o: %.c $(FUZZ_FLAGS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(HOST_CC) $(FUZZ_CFLAGS) $(if $(filter lib/string.c,$<),$(HOST_STRING_FLAGS)) \
		$(if $(filter $(FUZZ_EDGE_ONLY),$<),-fno-sanitize-coverage=trace-cmp) \
		$(if $(filter libos/heap/%,$<),-fsanitize-coverage-ignorelist=tests/fuzz/heap-check.ignore) \
		-c $< -o $@

# $(1) = target name, $(2) = the sources it links besides its harness.
define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): $(call fuzz_objs,tests/fuzz/fuzz_$(1).c $(2))
	@$$(if $$(Q),echo "  FUZZLD  $$@")
	$$(Q)$$(HOST_CC) $$(FUZZ_LDFLAGS) -o $$@ $$^ -lfdt
endef
fuzz_srcs = $(if $(filter heap,$(1)),$(FUZZ_HEAP_SRCS),$(if $(filter model,$(1)),$(FUZZ_MODEL_SRCS),$(FUZZ_EL2_SRCS)))
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(n),$(call fuzz_srcs,$(n)))))

$(FUZZ_DIR)/seeds/.stamp: tests/fuzz/mkseeds $(FUZZ_SEED_INPUTS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  SEEDS   $(@D)")
	$(Q)tests/fuzz/mkseeds --out $(@D) --dtb $(B)/guests/default.dtb \
		--elf $(OUT)/guests/hello.elf --pkg $(OUT)/systems/default.pkg
	@touch $@
# make fuzz-coverage: fuzz_hvc over its seeds and regression inputs; prints
# el2/mem.c's covered edges per function and fails if a memory transaction
# (mem_frame_*, mem_revoke) has none (tools/fuzzcov). make fuzz runs it first.
.PHONY: fuzz-coverage
fuzz-coverage: fuzz-build
	$(Q)tools/fuzzcov $(FUZZ_DIR)/fuzz_hvc $(FUZZ_DIR)/seeds/hvc tests/fuzz/corpus/hvc
fuzz: fuzz-coverage
# === end of fuzz ============================================================
# === end of bench ===========================================================

# === usability: snapshot, debug, editor support (docs/debugging.md) ========
# `make run SNAPSHOT=1` boots $(SYSTEM) with `exo,memory-snapshot;` added to
# its manifest's root (a wrapper .dts that includes it) and draws the
# snapshot EL2 prints as build/memory.svg and build/memory.png (tools/memmap).
SNAPSHOT ?= 0
SYSTEM_SRC = $(firstword $(filter %/$(SYSTEM).dts,$(SYSTEM_DTS)))
SNAP_DIR := $(B)/snapshot
ifeq ($(SNAPSHOT),1)
RUN_PKG = $(OUT)/snapshot/$(SYSTEM).pkg
RUN_FLAGS = --memmap $(B)/memory.svg --system $(B)/$(basename $(SYSTEM_SRC)).dtb
else
RUN_PKG = $(OUT)/systems/$(SYSTEM).pkg
RUN_FLAGS = --system $(B)/$(basename $(SYSTEM_SRC)).dtb
endif

$(SNAP_DIR)/%.dts: $(SYSTEM_DTS)
	@mkdir -p $(@D)
	$(Q)src='$(firstword $(filter %/$*.dts,$(SYSTEM_DTS)))'; \
	test -n "$$src" || { echo "exo: no manifest $*.dts in guests/ or tests/target/systems/"; exit 1; }; \
	printf '/include/ "%s"\n/ { exo,memory-snapshot; };\n' "$$src" > $@

.SECONDARY: $(SNAP_DIR)/$(SYSTEM).dts $(SNAP_DIR)/$(SYSTEM).dtb
$(SNAP_DIR)/%.dtb: $(SNAP_DIR)/%.dts
	@$(if $(Q),echo "  DTC     $@")
	$(Q)dtc -i . -I dts -O dtb -o $@ $<

$(OUT)/snapshot/$(SYSTEM).pkg: $(SNAP_DIR)/$(SYSTEM).dtb \
		$(call system_images,$(SYSTEM)) tools/mkpkg $(MANCHECK)
	$(call mkpkg,$@,$<,$(call system_images,$(SYSTEM)))
	$(Q)$(call check_manifest,$@,$(SYSTEM_SRC))

# `make debug`: QEMU halted at the first instruction with a GDB stub on
# GDB_PORT (0: any free port); tools/run writes a gdb script with EL2's
# symbols and GUEST's (default: the manifest's first guest) whose
# breakpoints stop in that guest only, and prints the command that runs it.
# A GUEST the manifest lacks is an error; QEMU ends with gdb or with make.
GDB_PORT ?= 1234
GUEST ?=
.PHONY: debug
debug: boot-deps
	$(Q)tools/run --cpu $(CPU) --pkg $(OUT)/systems/$(SYSTEM).pkg \
		--system $(B)/$(basename $(SYSTEM_SRC)).dtb --gdb $(GDB_PORT) \
		$(if $(GUEST),--guest $(GUEST)) $(EL2_IMAGE)

# compile_commands.json for clangd: one entry per source and per flavour
# (EL2, EL1, host), with the flags this Makefile uses. Built by asking make
# for each command (-n -B), so no build happens and no tool is needed.
.PHONY: compile_commands.json
compile_commands.json:
	$(Q)$(MAKE) --no-print-directory -n -B V=1 TOOLCHAIN=$(TOOLCHAIN) \
		$(EL2_IMAGE) $(EL2_TEST_IMAGE) $(GUEST_IMAGES) $(HOST_TESTS) $(MANCHECK) 2>/dev/null | \
		tools/compdb --dir $(CURDIR) > $@.tmp && mv $@.tmp $@
	@echo "exo: wrote $@ ($$(grep -c '"file"' $@) entries)"
# === end of usability =======================================================

# === layers: the one-way rule, checked (tools/layers; docs/architecture.md) ==
# `make layers` checks that dependencies run guests -> el1 -> libos -> lib ->
# include and el2 -> lib -> include: every #include (includes), every
# undefined symbol of the built objects (symbols), inside EL2's core no
# loop of files calling each other (calls), and no file name used twice but
# the same concept at two layers (names). Each word of LAYER_CHECKS is one
# item of make test (tools/run-tests reads EXO_LAYER_CHECKS).
LAYER_CHECKS := includes symbols calls names
.PHONY: layers
layers: images
	$(Q)tools/layers $(patsubst %,--%,$(LAYER_CHECKS)) --build $(OUT)
test: export EXO_LAYER_CHECKS := $(LAYER_CHECKS)
# === end of layers ==========================================================

# === mutants: planted bugs the suite must catch (docs/testing.md) ==========
# `make mutants` plants each bug of tests/mutants/mutants.txt in a scratch
# copy of the tree (build/mutants/tree), runs the fast part of the suite
# and reports which were caught (minutes each; not part of make test, which
# only checks that every mutant still applies). MUTANTS="a b" picks some.
.PHONY: mutants
mutants:
	$(Q)tools/mutants $(MUTANTS)
# === end of mutants =========================================================

# === soak: hours of frame churn with the invariant on (docs/testing.md) =====
# `make soak HOURS=n` boots tests/target/systems/soak.dts again and again with
# new seeds (tools/soak) until n hours are up, then prints the totals; it
# exits non-zero on any leak, panic, CHECK or invariant failure. Not in
# make test (tests/target/test_soak.py runs one fixed-seed boot there).
# ROUNDS=r overrides the hypercalls per storm life (soak.dts: 200).
HOURS ?= 1
ROUNDS ?=
.PHONY: soak
soak: images
	$(Q)tools/soak --hours $(HOURS) $(if $(ROUNDS),--rounds $(ROUNDS))
# === end of soak ============================================================
