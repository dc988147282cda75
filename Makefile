# The workbook's one Makefile (non-recursive). `make help` lists the targets.
#
#   make ch05                      build chapter 5 into ch05/
#   make SAN=address,undefined     the same programs, sanitized, into build/asan/
#   make SAN=thread                ... into build/tsan/
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS may be set on the command line;
# what the programs cannot build without (C17, -pthread, the header path) is
# added to them in WB_* variables below.

CC       ?= cc
CFLAGS   ?= -O2 -g -Wall -Wextra -Wpedantic -Wshadow
CPPFLAGS ?=
LDFLAGS  ?=
LDLIBS   ?=
PORT     ?= 8000

# --- sanitizer builds -------------------------------------------------------
SAN ?=
ifeq ($(SAN),)
  OUT :=
else ifeq ($(SAN),address,undefined)
  OUT := build/asan/
else ifeq ($(SAN),thread)
  OUT := build/tsan/
else
  $(error SAN must be empty, address,undefined or thread)
endif
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer -O1)
WERROR   ?=

WB_CFLAGS   := -std=c17 -pthread -Icommon -D_GNU_SOURCE $(SANFLAGS) $(if $(WERROR),-Werror)
WB_LDFLAGS  := -pthread $(SANFLAGS)
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

# --- the programs -------------------------------------------------------------
# Every chapters/chNN/NAME.c with a main() is a program chNN/NAME. A .c file
# without one is a module of its chapter (blocking_get.c), linked into the
# programs of that chapter that include its header (#include
# "blocking_get.h"). A program that includes <curl/curl.h> is linked with
# libcurl; no list to keep up to date.
CHAPTERS  := $(sort $(notdir $(wildcard chapters/ch[0-9][0-9])))
SRCS      := $(wildcard chapters/ch[0-9][0-9]/*.c)
MAINS     := $(shell grep -l '^int main' $(SRCS) /dev/null 2>/dev/null)
PROGS     := $(patsubst chapters/%.c,$(OUT)%,$(MAINS))
CURL_SRCS := $(shell grep -l '^\#include <curl/curl.h>' $(MAINS) /dev/null 2>/dev/null)
CURL_PROGS := $(patsubst chapters/%.c,$(OUT)%,$(CURL_SRCS))
ch_mods    = $(foreach m,$(filter-out $(MAINS),$(wildcard $(dir $(1))*.c)),\
               $(if $(shell grep -l '^\#include "$(notdir $(m:.c=.h))"' $(1) 2>/dev/null),$(m)))

# Exercises and solutions are built in place (exercises/ch04/fib_server).
# In each folder, a .c file with a main() is a program; the others are
# modules, each linked into the programs that include its header (fib.c
# into fib_server.c, which has #include "fib.h"), so that a mistake in one
# module breaks only the programs that use it.
EX_DIRS  := $(sort $(dir $(wildcard exercises/ch[0-9][0-9]/*.c solutions/ch[0-9][0-9]/*.c)))
EX_MAINS := $(shell grep -l '^int main' $(wildcard $(addsuffix *.c,$(EX_DIRS))) /dev/null 2>/dev/null)
EX_PROGS := $(patsubst %.c,$(OUT)%,$(EX_MAINS))
ex_mods   = $(foreach m,$(filter-out $(EX_MAINS),$(wildcard $(dir $(1))*.c)),\
              $(if $(shell grep -l '^\#include "$(notdir $(m:.c=.h))"' $(1) 2>/dev/null),$(m)))

# The exercises graded under injected yields link tests/exercises/yield_shim.c:
# their lock, unlock, wait, signal, create and join calls go through it
# (-Wl,--wrap=NAME). It does nothing unless WB_YIELD_SEED is set.
YIELD_SHIM  := tests/exercises/yield_shim.c
YIELD_PROGS := $(foreach d,exercises solutions,$(OUT)$(d)/ch03/bounded_pool)
$(YIELD_PROGS): WB_YIELD = $(YIELD_SHIM) -Wl,--wrap=pthread_mutex_lock,--wrap=pthread_mutex_unlock,--wrap=pthread_cond_wait,--wrap=pthread_cond_signal,--wrap=pthread_cond_broadcast,--wrap=pthread_create,--wrap=pthread_join
$(YIELD_PROGS): $(YIELD_SHIM)

# When the flags change, everything rebuilds: the flags are kept in a file
# that is rewritten only when they differ. -Werror is left out: it changes
# no program, and a `make` without it (the grader builds the chapter programs
# its suites use) must not rebuild programs that `make test` is running.
FLAGS_FILE := build/.flags-$(if $(SAN),$(notdir $(OUT:/=)),plain)
FLAGS_NOW  := $(CC) $(CPPFLAGS) $(CFLAGS) $(filter-out -Werror,$(WB_CFLAGS)) $(LDFLAGS) $(LDLIBS)
$(shell mkdir -p $(dir $(FLAGS_FILE)); \
        [ "$$(cat $(FLAGS_FILE) 2>/dev/null)" = '$(FLAGS_NOW)' ] || echo '$(FLAGS_NOW)' > $(FLAGS_FILE))

# A program is compiled from its file and its modules in one command, and the
# headers of all of them go into its .d file (with -MF, gcc would keep only the
# last source's list), so a change to any of those headers rebuilds it.
COMPILE = $(CC) $(CPPFLAGS) $(WB_CFLAGS) $(CFLAGS)
DEPEND  = $(CC) $(CPPFLAGS) $(WB_CFLAGS) $(CFLAGS) -MM -MP -MT $@

.DEFAULT_GOAL := all
.PHONY: all help $(CHAPTERS) exercises solutions serve demo test clean deps check-deps bench-lab format slides slides-pdf fuzz

all: $(PROGS) $(EX_PROGS) ## build every chapter, exercise and solution

$(CURL_PROGS): WB_CURL_CFLAGS = $(CURL_CFLAGS)
$(CURL_PROGS): WB_CURL_LIBS = $(CURL_LIBS)
.SECONDEXPANSION:
$(PROGS): $(OUT)%: chapters/%.c $$(call ch_mods,chapters/$$*.c) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(DEPEND) $(WB_CURL_CFLAGS) $< $(call ch_mods,$<) >$@.d
	$(COMPILE) $(WB_CURL_CFLAGS) -o $@ $< $(call ch_mods,$<) $(LDFLAGS) $(WB_LDFLAGS) $(WB_CURL_LIBS) $(LDLIBS)

$(EX_PROGS): $(OUT)%: %.c $$(call ex_mods,$$*.c) $(FLAGS_FILE)
	@mkdir -p $(@D)
	$(DEPEND) $< $(call ex_mods,$<) >$@.d
	$(COMPILE) -o $@ $< $(call ex_mods,$<) $(WB_YIELD) $(LDFLAGS) $(WB_LDFLAGS) $(LDLIBS)

# One phony target per chapter: `make ch03`. A chapter whose programs fetch
# from the lab server (they call wb_require_lab) ends by checking that one
# answers, and says how to start it when none does (LAB_PROBE= leaves that out).
LAB_PROBE    ?= 1
LAB_SRCS     := $(shell grep -l 'wb_require_lab' $(SRCS) /dev/null 2>/dev/null)
LAB_CHAPTERS := $(sort $(notdir $(patsubst %/,%,$(dir $(LAB_SRCS)))))
lab_probe = curl -s -o /dev/null --max-time 2 "$${LAB_URL:-http://127.0.0.1:8000}/stats" || \
    echo "$(1): built; no lab server answers at $${LAB_URL:-http://127.0.0.1:8000} yet:" \
         "start one with 'make serve' in another terminal (or set LAB_URL)"
define chapter_rule
$(1): $(filter $(OUT)$(1)/%,$(PROGS))
	$(if $(LAB_PROBE),$(if $(filter $(1),$(LAB_CHAPTERS)),@$$(call lab_probe,$(1))))
endef
$(foreach c,$(CHAPTERS),$(eval $(call chapter_rule,$(c))))

exercises: $(filter $(OUT)exercises/%,$(EX_PROGS)) ## build the exercise skeletons in place
solutions: $(filter $(OUT)solutions/%,$(EX_PROGS)) ## build the reference solutions in place

-include $(PROGS:=.d) $(EX_PROGS:=.d)

# --- running things -----------------------------------------------------------
serve: ch00/labserver ## run the lab server on port 8000 (PORT=N for another), in the foreground
	./ch00/labserver -p $(PORT)

demo: check-deps ## the tour against a private lab server (CH=05: one chapter)
	@$(MAKE) --no-print-directory all
	@bash chapters/tour.sh $(CH)

test: check-deps ## build with -Werror and run every suite, plain and under the sanitizers
	@bash tests/run-all

bench-lab: ch00/labserver ## compare the lab server with nginx under wrk (installs both)
	@bash chapters/ch00/bench.sh

.PHONY: bench
bench: ch00/labserver ## every fetching model on 100, 1,000 and 10,000 URLs of 1 s: bench/models.csv, .svg
	@$(MAKE) --no-print-directory LAB_PROBE= ch03 ch05 ch06 # it starts labs of its own
	@bash chapters/ch06/compare_models --out bench

deps: ## install the Debian packages the workbook needs (as root)
	@bash tests/deps install

check-deps:
	@bash tests/deps check

# --- slides -------------------------------------------------------------------
# slides/chNN.md -> slides/build/chNN.html. A deck is rebuilt when its
# Markdown, a source it quotes (file="...") or a program it runs (run="...")
# changes; the programs are built first.
DECKS     := $(sort $(wildcard slides/ch[0-9][0-9].md))
DECK_HTML := $(patsubst slides/%.md,slides/build/%.html,$(DECKS))
DECK_PDF  := $(DECK_HTML:.html=.pdf)
SLIDE_TOOLS := slides/build-deck slides/code.lua slides/workbook.css slides/defaults.yaml
deck_sources  = $(shell sed -nE 's/.*file="([^"]+)".*/\1/p' $(1) | sort -u)
deck_programs = $(shell grep -oE 'run="[^"]*"' $(1) | grep -oE '[a-z./]*ch[0-9][0-9]/[a-z_]+' | sed -nE 's,^(\./)?((solutions/)?ch[0-9][0-9]/[a-z_]+)$$,\2,p' | sort -u)

slides: $(DECK_HTML) slides/build/index.html ## build every deck into slides/build/ (self-contained HTML)

slides-pdf: $(DECK_PDF) ## a PDF handout per deck, one page per slide (slides/build/chNN.pdf)
	@bash slides/index.sh $(DECKS) > slides/build/index.html

$(DECK_HTML): slides/build/%.html: slides/%.md $(SLIDE_TOOLS) ch00/labserver \
              $$(call deck_sources,slides/$$*.md) $$(call deck_programs,slides/$$*.md)
	@bash slides/build-deck $< $@

$(DECK_PDF): slides/build/%.pdf: slides/build/%.html slides/pdf.mjs slides/browser.mjs
	@node slides/pdf.mjs $< $@

slides/build/index.html: $(DECKS) slides/index.sh
	@mkdir -p $(@D)
	@bash slides/index.sh $(DECKS) > $@

# --- fuzzing --------------------------------------------------------------------
FUZZ_SECONDS ?= 60
fuzz: ## run every fuzzing harness (tests/fuzz/) for FUZZ_SECONDS each (default 60)
	@bash tests/fuzz/run $(FUZZ_SECONDS)

# Every C file the workbook has, for the formatter (and tests/style.bats).
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find chapters common exercises solutions tests -name '*.[ch]')

format: ## format every C file in place with clang-format (the repository's .clang-format)
	clang-format -i --style=file $(C_FILES)

clean: ## remove every built program and the sanitizer builds
	rm -rf $(CHAPTERS) build grade slides/build
	rm -f $(EX_PROGS) $(EX_PROGS:=.d)

help: ## list the targets
	@echo 'make targets:'
	@grep -hE '^[a-z][a-z0-9 $$()-]*:.*## ' $(MAKEFILE_LIST) | \
	    sed -E 's/^([^:]*):.*## (.*)/\1|\2/' | awk -F'|' '{ printf "  %-12s %s\n", $$1, $$2 }'
	@echo '  chNN         build one chapter into chNN/ (chapters: $(CHAPTERS))'
	@echo 'variables: SAN=address,undefined | SAN=thread, CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, PORT, CH'

# Grading (make grade) lives beside the exercise suites.
-include tests/exercises/grade.mk
