# tests/exercises/course.mk - the grader's helpers for a course, included by
# grade.mk.
#
#   make hint EX=ch03/bounded_pool       the next hint for an exercise (RESET=1: from the first)
#   make next                            the first exercise not at full marks, and why
#   make gradescope                      grade/autograder.zip, for Gradescope
#
# How each works: tests/exercises/README.md.

RESET ?=

.PHONY: hint next gradescope

hint: ## the next hint for an exercise: make hint EX=ch03/bounded_pool (RESET=1 starts over)
	@python3 tests/exercises/hint.py $(EX) $(if $(filter-out 0,$(RESET)),--reset)

next: ## grade quietly and name the first exercise not at full marks
	@bash tests/exercises/next --src $(SRC)

gradescope: ## build grade/autograder.zip (setup.sh, run_autograder and the workbook) for Gradescope
	@bash tests/exercises/gradescope/build --out grade/autograder.zip
