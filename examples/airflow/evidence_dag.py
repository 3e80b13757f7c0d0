"""Example Airflow DAGs: one per entity (company or business unit), one run per period, then the window.

Copy this file into Airflow's dags/ folder, next to an environment where `evidence-workbench[airflow]`
is installed (Airflow 3; Airflow is an optional extra). Edit ENTITIES, or point the environment
variable EVIDENCE_AIRFLOW_ENTITIES at a YAML or JSON file of the same shape: each entity's evidence
folder for a period (exports and evidence.yaml, delivered by whatever extracts them) and where its
packages go; optionally `only` (control ids, as `evidence run --only`) and `retries` (default 2).
A relative folder in that file is read from the file's folder. `make airflow-test` runs one with the
bundled sample (examples/airflow/ci_dag_test.sh). Every DAG runs, per data interval:

    check_evidence  ->  run_period  ->  history

* The period is the one before the data interval's end: a quarterly schedule's run at 2026-10-01
  (Airflow 3's cron schedule; an interval 2026-07-01..2026-10-01 where cron data intervals are on) is
  2026-Q3 (evidence_lib.period resolves `previous-quarter` against the interval's end), a monthly
  one's 2026-08. Backfills (`airflow backfill create --dag-id ... --from-date ... --to-date ...`) run
  past periods the same way.
* check_evidence plans the run (evidence_lib.run.plan_run): a missing folder, an evidence.yaml of
  another period or a bad parameter fails here, and nothing is written.
* run_period executes every notebook of the period and writes the package OUT/<entity>/<period>/<run-id>/.
  The unit Airflow schedules is (entity, period), not (entity, period, notebook): a package is
  written whole in one hidden folder and renamed into place, so its notebooks must share one disk;
  within a period they already run in parallel (`jobs`). Entities and periods are what spreads over
  Celery or Kubernetes workers. evidence_lib.run.run_notebook remains the per-notebook unit for a
  deployment with a shared volume that wants a task per notebook.
* A retry never overwrites a package: every run gets a new run id, a finished run is never replaced,
  and an attempt killed half-way leaves only an `.incomplete-*` folder, which `evidence history`
  skips and `evidence clean` removes. A run that found exceptions (exit code 1) is a success for
  Airflow: the exceptions are the evidence. Only an error status fails the task.
* history re-reads every package of the entity for the year up to this period (each one verified)
  and writes the window report beside them (OUT/<entity>/<window>/<run-id>/).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum
import yaml
from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

#: entity -> its evidence folder per period ({period} is replaced) and the folder of its packages
ENTITIES = {
    "northwind": {"evidence": "/srv/evidence/northwind/{period}", "out": "/srv/packages"},
    "contoso-eu": {"evidence": "/srv/evidence/contoso-eu/{period}", "out": "/srv/packages"},
}
ENTITY_KEYS = {"evidence", "out", "only", "retries"}
#: quarterly: 06:00 UTC on the first day of each quarter, for the quarter that just ended
SCHEDULE = "0 6 1 1,4,7,10 *"
RELATIVE_PERIOD = "previous-quarter"  # with a monthly schedule ("0 6 1 * *"): "previous-month"


def period_of(data_interval_end) -> str:
    """The period a data interval covers: the month or quarter before the interval's end."""
    from evidence_lib.period import parse_period

    return parse_period(RELATIVE_PERIOD, today=data_interval_end.date()).label


def load_entities(path: str | None) -> dict[str, dict]:
    """ENTITIES, or those of the YAML/JSON file at path (EVIDENCE_AIRFLOW_ENTITIES), its relative folders
    read from the file's folder."""
    if not path:
        return ENTITIES
    file = Path(path)
    try:
        entities = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:  # a folder holding {period} in a flow mapping {...} must be quoted
        raise ValueError(f"{file}: not YAML or JSON: {error}") from error
    if not isinstance(entities, dict) or not entities:
        raise ValueError(f"{file}: give a mapping of entity name -> {{evidence: ..., out: ...}}")
    for name, folders in entities.items():
        if not isinstance(folders, dict) or not {"evidence", "out"} <= folders.keys() <= ENTITY_KEYS:
            raise ValueError(f"{file}: entity {name!r} needs 'evidence' and 'out' (optional: 'only', 'retries'),"
                             f" got {folders!r}")
        if not isinstance(folders.get("only", []), list):
            raise ValueError(f"{file}: entity {name!r}: give 'only' as a list of control ids, e.g. [CC6.1]")
        for key in ("evidence", "out"):
            folders[key] = str(file.parent / folders[key])  # an absolute folder stays as it is
    return entities


def make_dag(entity: str, evidence: str, out: str, only: tuple[str, ...] = (), retries: int = 2):
    @dag(dag_id=f"evidence_{entity}", schedule=SCHEDULE, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=True, max_active_runs=2, tags=["soc2", "evidence"],
         default_args={"retries": retries, "retry_delay": timedelta(minutes=10)})
    def evidence_dag():
        @task
        def check_evidence(data_interval_end=None) -> str:
            from evidence_lib.run import plan_run

            period = period_of(data_interval_end)
            plan_run(period, evidence_dir=Path(evidence.format(period=period)), out=Path(out) / entity, only=only)
            return period

        @task
        def run_period(period: str) -> str:
            from evidence_lib.run import run_period as run

            result = run(period, evidence_dir=Path(evidence.format(period=period)), out=Path(out) / entity,
                         only=only, jobs=2, preparer=f"airflow:{entity}", progress=False)
            if result.status == "error":
                raise AirflowFailException(f"{result.run_dir}: the run ended in error (see its index.html)")
            return str(result.run_dir)

        @task
        def history(run_dir: str, data_interval_end=None) -> str:
            from evidence_lib.history_report import history as write_history
            from evidence_lib.period import parse_period

            period = parse_period(period_of(data_interval_end))  # the window: the year so far
            judged, folder = write_history(Path(out), entity=entity, window=f"{period.start.year}-01-01..{period.end}")
            return f"{folder} ({judged.status})"

        history(run_period(check_evidence()))

    return evidence_dag()


for _entity, _folders in load_entities(os.environ.get("EVIDENCE_AIRFLOW_ENTITIES")).items():
    globals()[f"evidence_{_entity}"] = make_dag(_entity, _folders["evidence"], _folders["out"],
                                                tuple(_folders.get("only", ())), _folders.get("retries", 2))
