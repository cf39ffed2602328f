# The README's commands:
#   make setup  create .venv with what the notebooks need (requirements.txt), once
#   make run    execute every notebook headless (executed copies in executed/, logs in logs/)
#   make test   lint (ruff, and mypy on dl101/ and maintainers/), then run the test suite
# run, test and the maintainers' targets also install the tools in requirements-dev.txt.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TOOLS_INSTALLED := $(VENV)/.installed-dev

.PHONY: setup run outputs full-results seeds test lint clean-venv

setup: $(INSTALLED)

run: $(TOOLS_INSTALLED)
	$(BIN)/python -m maintainers.run_notebooks $(NOTEBOOKS)

# Maintainers: run every notebook in the cpu profile and commit it with its outputs. The logs go
# to a new folder, so that a notebook compared with its partner (experiment 0) never shows a
# partner run other than the one committed beside it.
outputs: $(TOOLS_INSTALLED)
	DL101_LOG_DIR=$(CURDIR)/logs/outputs/$$(date +%Y%m%d-%H%M%S) \
	$(BIN)/python -m maintainers.run_notebooks --in-place --profile cpu $(NOTEBOOKS)
	$(BIN)/python -m maintainers.results_section

# Maintainers: run notebooks in the full profile (hours each on a CPU), then publish what they
# measured in results/full/. Logs go to logs/full, apart from the everyday runs.
FULL_LOGS = $(CURDIR)/logs/full
FULL_EXECUTED = executed/full
full-results: $(TOOLS_INSTALLED)
	DL101_LOG_DIR=$(FULL_LOGS) $(BIN)/python -m maintainers.run_notebooks --profile full --output-dir $(FULL_EXECUTED) $(NOTEBOOKS)
	$(BIN)/python -m maintainers.results_archive --profile full --log-dir $(FULL_LOGS) --executed-dir $(FULL_EXECUTED)
	$(BIN)/python -m maintainers.results_section

# Maintainers: the seed study, every distinct CIFAR-10 run and keras_mnist with seeds 0-4 in the cpu profile
# (hours on a CPU; it resumes where it stopped), then its page, results/seed_study/README.md.
seeds: $(TOOLS_INSTALLED)
	$(BIN)/python -m maintainers.seed_study $(SEED_STUDY_ARGS); status=$$?; \
	$(BIN)/python -m maintainers.seed_study_report && exit $$status

test: $(TOOLS_INSTALLED) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TOOLS_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Each reinstalls whenever its pins change.
$(INSTALLED): requirements.txt constraints.txt
	@$(PYTHON) dl101/python_check.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(TOOLS_INSTALLED): $(INSTALLED) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

clean-venv:
	rm -rf $(VENV)
