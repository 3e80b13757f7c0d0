# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PERIOD := 2026-Q3
SAMPLE := data/samples/$(PERIOD)
STAMP  := $(VENV)/.installed

.PHONY: demo test sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)  ## load the bundled sample company's evidence and test its controls
	$(BIN)/evidence check $(SAMPLE) --period $(PERIOD) --json out/$(PERIOD)-results.json || test $$? -eq 1

test: $(STAMP)  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest

sample: $(STAMP)  ## regenerate the bundled sample company (a golden file: never edit it by hand)
	rm -rf $(SAMPLE)
	$(BIN)/python -m evidence_lib.synth --people 180 --period $(PERIOD) --out $(SAMPLE)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
