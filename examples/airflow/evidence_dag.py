"""Example Airflow DAGs: one per entity (company or business unit), one run per period, then the window.

Copy this file into Airflow's dags/ folder, next to an environment where `evidence-workbench` is
installed (Airflow itself is not one of its dependencies). Edit ENTITIES: each entity's evidence
folder for a period (exports and evidence.yaml, delivered by whatever extracts them) and where its
packages go. Every DAG runs, per data interval:

    check_evidence  ->  run_period  ->  history

* The period is the data interval's: a quarterly schedule's interval 2026-07-01..2026-10-01 is
  2026-Q3 (evidence_lib.period resolves `previous-quarter` against the interval's end), a monthly
  one's 2026-08. Backfills (`airflow dags backfill`) run past periods the same way.
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

from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.decorators import dag, task
from airflow.exceptions import AirflowFailException

#: entity -> its evidence folder per period ({period} is replaced) and the folder of its packages
ENTITIES = {
    "northwind": {"evidence": "/srv/evidence/northwind/{period}", "out": "/srv/packages"},
    "contoso-eu": {"evidence": "/srv/evidence/contoso-eu/{period}", "out": "/srv/packages"},
}
#: quarterly: 06:00 UTC on the first day of each quarter, for the quarter that just ended
SCHEDULE = "0 6 1 1,4,7,10 *"
RELATIVE_PERIOD = "previous-quarter"  # with a monthly schedule ("0 6 1 * *"): "previous-month"


def period_of(data_interval_end) -> str:
    """The period a data interval covers: the month or quarter before the interval's end."""
    from evidence_lib.period import parse_period

    return parse_period(RELATIVE_PERIOD, today=data_interval_end.date()).label


def make_dag(entity: str, evidence: str, out: str):
    @dag(dag_id=f"evidence_{entity}", schedule=SCHEDULE, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=True, max_active_runs=2, tags=["soc2", "evidence"],
         default_args={"retries": 2, "retry_delay": timedelta(minutes=10)})
    def evidence_dag():
        @task
        def check_evidence(data_interval_end=None) -> str:
            from evidence_lib.run import plan_run

            period = period_of(data_interval_end)
            plan_run(period, evidence_dir=Path(evidence.format(period=period)), out=Path(out) / entity)
            return period

        @task
        def run_period(period: str) -> str:
            from evidence_lib.run import run_period as run

            result = run(period, evidence_dir=Path(evidence.format(period=period)), out=Path(out) / entity,
                         jobs=2, preparer=f"airflow:{entity}", progress=False)
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


for _entity, _folders in ENTITIES.items():
    globals()[f"evidence_{_entity}"] = make_dag(_entity, _folders["evidence"], _folders["out"])
