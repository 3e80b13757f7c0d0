# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PERIOD := 2026-Q3
SAMPLE := data/samples/$(PERIOD)
SECOND := data/samples/fabrikam-$(PERIOD)
STAMP  := $(VENV)/.installed

.PHONY: demo test sample notebook-outputs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# byte-compiled once: where PYTHONDONTWRITEBYTECODE is set, every kernel would compile the project again
	$(BIN)/python -m compileall -q evidence_lib >/dev/null
	touch $@

demo: $(STAMP)  ## run every notebook on the sample company's period and write its evidence package under out/
	$(BIN)/evidence run --period $(PERIOD) --evidence-dir $(SAMPLE) --out out --jobs 2 || test $$? -eq 1

test: $(STAMP)  ## lint, then the whole test suite (what CI runs)
	$(BIN)/ruff check evidence_lib tests benchmarks examples
	$(BIN)/python -m pytest -n 2 --dist loadfile

sample: $(STAMP)  ## regenerate the bundled sample companies (golden files: never edit them by hand)
	rm -rf $(SAMPLE) $(SECOND)
	$(BIN)/python -m evidence_lib.synth --people 180 --period $(PERIOD) --out $(SAMPLE)
	$(BIN)/python -m evidence_lib.synth --people 180 --period $(PERIOD) --vendors second --out $(SECOND)

notebook-outputs: $(STAMP)  ## re-record the expected output of the cells nbval checks (read the diff!)
	$(BIN)/python -m evidence_lib.notebook_outputs

clean:
	rm -rf $(VENV) .venv-airflow .pytest_cache .hypothesis

.PHONY: airflow-test
airflow-test: $(STAMP)  ## the example Airflow DAG end to end once (airflow dags test, SQLite) in its own .venv-airflow; this venv's evidence verify checks what it wrote
	PYTHON=$(PYTHON) EVIDENCE=$(BIN)/evidence examples/airflow/ci_dag_test.sh
