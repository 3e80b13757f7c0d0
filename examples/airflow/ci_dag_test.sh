#!/usr/bin/env bash
# CI (`make airflow-test`): run the example DAG end to end once with `airflow dags test` on a local SQLite
# metadata database, for one entity, the bundled sample company, over the data interval of 2026-Q3; then
# `evidence verify` must accept the period's package and the window report the DAG wrote.
#
# Airflow lives in its own virtual environment, .venv-airflow (`pip install -e .[airflow]`): its pins move
# with each release and it brings SQLAlchemy, which GX would pick up in the test environment.
# Environment: PYTHON (creates the venv, default python3), EVIDENCE (the `evidence` that verifies, default
# the Airflow venv's), AIRFLOW_VENV (default .venv-airflow). Its Airflow home is a temporary folder,
# removed when everything passed and kept (its path printed) when not.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=${AIRFLOW_VENV:-.venv-airflow}
EVIDENCE=${EVIDENCE:-$VENV/bin/evidence}
STAMP=$VENV/.installed
DAG_ID=evidence_sample
# Airflow 3 runs a cron schedule at its time (its data interval ends there): the run of 2026-10-01 06:00 UTC
# is for the quarter that just ended, 2026-Q3, the bundled sample's period
LOGICAL_DATE=2026-10-01T06:00:00+00:00
PERIOD=2026-Q3

started=$SECONDS
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[airflow]'
    touch "$STAMP"
fi
echo "airflow venv ready in $((SECONDS - started)) s"

AIRFLOW_HOME=$(mktemp -d "${TMPDIR:-/tmp}/evidence-airflow.XXXXXX")
trap 'status=$?; if [ $status -eq 0 ]; then chmod -R u+w "$AIRFLOW_HOME"; rm -rf "$AIRFLOW_HOME"; else echo "kept $AIRFLOW_HOME" >&2; fi' EXIT
export AIRFLOW_HOME
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/examples/airflow
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$AIRFLOW_HOME/airflow.db
export GX_ANALYTICS_ENABLED=false
export EVIDENCE_AIRFLOW_ENTITIES=$AIRFLOW_HOME/entities.yaml
OUT=$AIRFLOW_HOME/packages
# one entity, the sample company; no retries: a failure must fail now, not in ten minutes
cat > "$EVIDENCE_AIRFLOW_ENTITIES" <<EOF
sample: {evidence: "$ROOT/data/samples/{period}", out: "$OUT", retries: 0}
EOF

echo "Airflow $("$VENV/bin/airflow" version)"
started=$SECONDS
"$VENV/bin/airflow" db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
"$VENV/bin/airflow" dags test "$DAG_ID" "$LOGICAL_DATE"
echo "airflow dags test: $((SECONDS - started)) s"

# `airflow dags test` exits 1 when its run failed (Airflow 3); the metadata database must also say that the run
# and each of its three tasks succeeded (none skipped, none left out of the file the DAG parsed)
# (--output json is the last line: Airflow's CLI logs its warnings to stdout too)
"$VENV/bin/airflow" dags list-runs "$DAG_ID" --output json | tail -n 1 >"$AIRFLOW_HOME/runs.json"
run_id=$("$VENV/bin/python" -c 'import json, sys; runs = json.load(open(sys.argv[1]))
assert len(runs) == 1 and runs[0]["state"] == "success", f"the DAG run did not succeed: {runs}"
print(runs[0]["run_id"])' "$AIRFLOW_HOME/runs.json")
"$VENV/bin/airflow" tasks states-for-dag-run "$DAG_ID" "$run_id" --output json | tail -n 1 >"$AIRFLOW_HOME/tasks.json"
"$VENV/bin/python" -c 'import json, sys; tasks = {t["task_id"]: t["state"] for t in json.load(open(sys.argv[1]))}
print("tasks:", tasks)
assert tasks == dict.fromkeys(["check_evidence", "run_period", "history"], "success"), "a task did not succeed"
' "$AIRFLOW_HOME/tasks.json"

# exactly one package for the period, and one window report; evidence verify must accept both
packages=("$OUT"/sample/"$PERIOD"/*/)
windows=("$OUT"/sample/2026-01-01..*/*/)
if [ ${#packages[@]} -ne 1 ] || [ ! -d "${packages[0]}" ] || [ ${#windows[@]} -ne 1 ] || [ ! -d "${windows[0]}" ]; then
    echo "expected one package under $OUT/sample/$PERIOD and one window report, found:" >&2
    find "$OUT" -maxdepth 3 >&2
    exit 1
fi
"$EVIDENCE" verify "${packages[0]}"
"$EVIDENCE" verify "${windows[0]}"
echo "airflow-test: $DAG_ID ran $PERIOD end to end; evidence verify accepts its package and window report"
