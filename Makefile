# postflow — top-level build.
#
# Conventions (no per-directory makefiles needed):
#   common/*.c                      -> $(OBJDIR)/libpostflow.a
#   PROG/*.c except *_main.c        -> $(OBJDIR)/lib<PROG>.a          (PROG = a program folder)
#   PROG/foo_bar_main.c             -> $(BINDIR)/foo-bar               (links lib<PROG>.a + libpostflow.a)
#   tests/unit/DIR/test_*.c         -> $(OBJDIR)/tests/DIR/test_*      (cmocka; links lib<DIR>.a + libpostflow.a)
#   tests/fuzz/fuzz_*.c             -> $(OBJDIR)/fuzz/fuzz_*           (clang libFuzzer, `make fuzz`)
#   bench/bench_*                   -> run by `make bench`
# VARIANT=asan builds everything with ASan+UBSan into build/asan (used by `make asan`).

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=
PYTHON     ?= /usr/bin/python3
VARIANT    ?= release
FUZZ_SECONDS ?= 30

PROGDIRS := $(patsubst %/,%,$(dir $(wildcard */*_main.c)))
PROGDIRS := $(sort $(PROGDIRS))

ifeq ($(VARIANT),asan)
OBJDIR   ?= build/asan
BINDIR   ?= build/asan/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPTFLAGS := -O1 -g
else
OBJDIR   ?= build/release
BINDIR   ?= bin
SANFLAGS :=
OPTFLAGS := -O2 -g -D_FORTIFY_SOURCE=2
endif

PKGS      := openssl hiredis libconfig libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lhiredis -lconfig -lpcre2-8)

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
HARDEN   := -fstack-protector-strong -fPIE -fno-strict-overflow
CPPFLAGS += -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -Icommon \
            -DPOSTFLOW_VERSION=\"$(shell cat VERSION 2>/dev/null || echo 0.0.0)\" \
            -DPOSTFLOW_SYSCONFDIR=\"$(SYSCONFDIR)\"
CFLAGS   ?=
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARN) $(HARDEN) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANFLAGS)
LDLIBS   += -lmilter -lev $(PKG_LIBS) -lpthread -lm

COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(OBJDIR)/%.o)
COMMON_LIB  := $(OBJDIR)/libpostflow.a

MAIN_SRCS := $(foreach d,$(PROGDIRS),$(wildcard $(d)/*_main.c))
BINARIES  := $(foreach m,$(MAIN_SRCS),$(BINDIR)/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(m)))))

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OBJDIR)/tests/%)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps deps-build check lint unit integration asan bench demo install clean fuzz print-binaries
all: $(BINARIES)

# ---- libraries -------------------------------------------------------------
# V=1 shows the full compiler command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(COMMON_LIB): $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# lib<PROG>.a: every .c of the program folder but its *_main.c files.
define proglib
$(1)_LIB_SRCS := $$(filter-out %_main.c,$$(wildcard $(1)/*.c))
$(OBJDIR)/lib$(1).a: $$($(1)_LIB_SRCS:%.c=$(OBJDIR)/%.o)
	@mkdir -p $$(dir $$@)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^
endef
$(foreach d,$(PROGDIRS),$(eval $(call proglib,$(d))))

# One binary per *_main.c: underscores in its name become dashes.
define progbin
$(BINDIR)/$(subst _,-,$(patsubst %_main.c,%,$(notdir $(1)))): $(OBJDIR)/$(1:.c=.o) $(OBJDIR)/lib$(patsubst %/,%,$(dir $(1))).a $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) $$(LDLIBS)
endef
$(foreach m,$(MAIN_SRCS),$(eval $(call progbin,$(m))))

# ---- unit tests (cmocka) ---------------------------------------------------
define unittest
$(OBJDIR)/tests/$(1)/%: tests/unit/$(1)/%.c $(if $(filter common,$(1)),,$(OBJDIR)/lib$(1).a) $(COMMON_LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  TEST    $$@")
	$$(Q)$$(CC) $$(CPPFLAGS) -I$(1) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$(filter %.c %.a,$$^) -lcmocka $$(LDLIBS)
endef
$(foreach d,$(sort $(patsubst tests/unit/%/,%,$(dir $(UNIT_SRCS)))),$(eval $(call unittest,$(d))))

unit: $(UNIT_BINS) $(BINARIES)
	@sh tests/run-unit.sh $(UNIT_BINS)

integration: $(BINARIES)
	@POSTFLOW_BIN=$(abspath $(BINDIR)) POSTFLOW_VARIANT=$(VARIANT) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# check and demo install what is missing first (fast when everything is there), then
# build in a sub-make so that pkg-config sees the freshly installed libraries.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

# The house rules (scripts/lint.sh): exported-name prefixes, file and function length, banned calls, shellcheck.
lint: all
	@sh scripts/lint.sh $(OBJDIR)

asan: deps
	@$(MAKE) --no-print-directory VARIANT=asan all
	@$(MAKE) --no-print-directory VARIANT=asan unit
	@$(MAKE) --no-print-directory VARIANT=asan integration

deps:
	sh scripts/install-deps.sh build test

# only what building needs (no test services, verifiers or benchmark peers)
deps-build:
	sh scripts/install-deps.sh build

# ---- fuzzing (clang + libFuzzer) -------------------------------------------
FUZZ_DIR := build/fuzz
FUZZ_LIB_SRCS := $(COMMON_SRCS) $(foreach d,$(PROGDIRS),$($(d)_LIB_SRCS))
FUZZ_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_CFLAGS := $(CPPFLAGS) $(foreach d,$(PROGDIRS),-I$(d)) -std=c11 -g -O1 \
               -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -MMD -MP
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
.SECONDARY: $(FUZZ_OBJS)   # keep the objects between runs (make would delete them as intermediates)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) -lmilter -lev $(PKG_LIBS) -lpthread -lm

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); \
	  mkdir -p $(FUZZ_DIR)/$$n.corpus; \
	  seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(FUZZ_DIR)/$$n.corpus $$seeds \
	       >$(FUZZ_DIR)/$$n.log 2>&1; then tail -40 $(FUZZ_DIR)/$$n.log; echo "fuzz: $$n FAILED"; exit 1; fi; \
	  tail -1 $(FUZZ_DIR)/$$n.log; \
	done

# ---- benchmarks, demo ------------------------------------------------------
bench: deps
	sh scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@POSTFLOW_BIN=$(abspath $(BINDIR)) sh bench/run.sh

# make demo KEEP=1 leaves the lab running and prints how to poke at it and how to stop it.
demo: deps
	@$(MAKE) --no-print-directory all
	@POSTFLOW_BIN=$(abspath $(BINDIR)) $(PYTHON) tests/lab/demo.py $(if $(filter 1,$(KEEP)),--keep)

# ---- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/postflow $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BINARIES) $(DESTDIR)$(SBINDIR)/
	[ -e $(DESTDIR)$(SYSCONFDIR)/postflow/postflow.conf ] || install -m 0640 conf/postflow.conf $(DESTDIR)$(SYSCONFDIR)/postflow/postflow.conf
	for r in shaping-rules.conf bounce-rules.conf; do \
	  [ -e $(DESTDIR)$(SYSCONFDIR)/postflow/$$r ] || install -m 0644 conf/$$r $(DESTDIR)$(SYSCONFDIR)/postflow/$$r; done
	for m in man/*.8; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man8/ || true; done
	for m in man/*.5; do [ -e "$$m" ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man5/ || true; done
	install -d $(DESTDIR)$(UNITDIR)
	for u in conf/systemd/*.service; do \
	  sed -e 's|/usr/sbin/|$(SBINDIR)/|g' -e 's|/etc/postflow/|$(SYSCONFDIR)/postflow/|g' $$u \
	    > $(DESTDIR)$(UNITDIR)/$$(basename $$u); done

print-binaries:
	@echo $(BINARIES)

clean:
	rm -rf build bin

-include $(shell find $(OBJDIR) $(FUZZ_DIR) -name '*.d' 2>/dev/null)
