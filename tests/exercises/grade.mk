# tests/exercises/grade.mk - grading, included by the top Makefile.
#
#   make grade                     grade exercises/ (the student's work)
#   make grade SRC=solutions       grade the reference solutions
#   make grade EX=ch04/syslog      one exercise only
#   make grade STRESS=50 EX=...    50 runs, each with its own seed: the pass rate of each test
#   make grade EX=... SEED=S       replay the run of seed S
#   make grade-check               the grader's checks in `make test`
#
# Results: a table on the terminal, grade/results.json (Gradescope),
# grade/junit/*.xml (JUnit), grade/tap/*.tap (bats' own output).
# How points are counted: tests/exercises/README.md.

SRC ?= exercises
EX  ?=
STRESS ?=
SEED ?=

.PHONY: grade grade-check

grade: ## score exercises/ (or SRC=solutions; EX=ch04/syslog for one; STRESS=N runs, SEED=S replays one)
	@bash tests/exercises/$(if $(STRESS),stress --runs $(STRESS),grade) --src $(SRC) \
	    $(foreach e,$(EX),--only $(e)) $(if $(SEED),--seed $(SEED))

grade-check: ## check that each solution scores full marks and each skeleton zero
	@bash tests/exercises/grade-check

# make hint, make next, make gradescope: tests/exercises/course.mk
-include tests/exercises/course.mk
