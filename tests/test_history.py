"""evidence history: packages of many periods read together. The packages are built here with
PackageBuilder (no notebook runs), so every expected value below is what was planted, counted by hand."""

import ast
import base64
import json
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from evidence_lib.history import entity_root, judge_window, read_runs, window_periods
from evidence_lib.history_report import write_history
from evidence_lib.package import INCOMPLETE_PREFIX, MANIFEST, PackageBuilder, verify
from evidence_lib.period import parse_period
from tests.test_redteam_run import with_stand_ins  # noqa: F401 - a fixture

Q1, Q2, Q3, Q4 = "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"
A, B, C, E, G = ("ana@x.example", "ben@x.example", "cy@x.example", "eve@x.example", "shared.support@x.example")
CC61, CC63 = ("CC6.1", "10_access"), ("CC6.3", "10_access")


def package(out: Path, period: str, run_id: str, rules: dict, *, status: str | None = None,
            responded: tuple = (), options: dict | None = None, populations: dict | None = None) -> Path:
    """A finished package of `period`: rules maps (control, notebook, rule) to (population, [record keys])
    or to "error"; every exception's system is okta; keys in `responded` carry a response; populations maps
    a rule to the record keys of its population, written to its notebook's results.json."""
    builder = PackageBuilder(out, period, run_id=run_id)
    controls, rows = {}, []
    for (control, notebook, rule), planted in rules.items():
        entry = controls.setdefault(control, {"control": control, "title": f"title of {control}", "status": "pass",
                                              "exceptions": 0, "rules": [], "notebook": notebook, "reason": ""})
        if planted == "error":
            entry["rules"].append({"rule": rule, "status": "error", "population": 0, "exception_count": 0,
                                   "reason": "the evidence failed its checks"})
            entry["status"] = "error"
            continue
        population, keys = planted
        entry["rules"].append({"rule": rule, "status": "exceptions" if keys else "pass", "population": population,
                               "exception_count": len(keys), "reason": ""})
        entry["exceptions"] += len(keys)
        if keys and entry["status"] == "pass":
            entry["status"] = "exceptions"
        rows += [{"notebook": notebook, "control": control, "rule": rule, "record_key": key, "system": "okta",
                  "account_id": key, "response_status": "responded" if key in responded else "open"} for key in keys]
    with builder.writing():
        for notebook in {c["notebook"] for c in controls.values()}:
            folder = builder.work_dir / notebook
            folder.mkdir()
            table = pd.DataFrame([r for r in rows if r["notebook"] == notebook],
                                 columns=["notebook", "control", "rule", "record_key", "system", "account_id",
                                          "response_status"])
            table.drop(columns=["notebook"]).to_csv(folder / "exceptions.csv", index=False)
            stored = [{"control": c["control"], "rules": [{"rule": r["rule"], "population_keys": [
                ["okta", key] for key in populations[r["rule"]]]} for r in c["rules"] if r["rule"] in populations]}
                for c in controls.values() if c["notebook"] == notebook] if populations else []
            (folder / "results.json").write_text(json.dumps({"controls": stored}))
        statuses = [c["status"] for c in controls.values()]
        overall = status or ("error" if "error" in statuses else "exceptions" if "exceptions" in statuses else "pass")
        parsed = parse_period(period)
        return builder.finish({"schema_version": 2, "status": overall, "exit_code": 0, "prepared_by": "test",
                               "period": {"label": parsed.label, "start": str(parsed.start), "end": str(parsed.end)},
                               "controls": sorted(controls.values(), key=lambda c: c["control"]),
                               "options": options or {"mask_pii": False, "mask_key": None}})


def mfa(population, *keys):
    return {(*CC61, "mfa_enabled"): (population, list(keys))}


def generic(population, *keys):
    return {(*CC61, "no_generic_accounts"): (population, list(keys))}


def dormant(planted):
    return {(*CC63, "no_dormant_accounts"): planted}


def tamper(run_dir: Path, relative: str) -> None:
    target = run_dir / relative
    target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    target.write_text(target.read_text() + "\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Four quarters of one company, planted:
    Q1   mfa {A, B} (A responded), generic {G}, dormant pass
    Q2   an earlier run (mfa {A, B, C}) superseded by a later one: mfa {A, C} (A responded), generic {}, dormant pass
    Q3   a run: mfa {A, E}, generic {G}, dormant in error; then a later run, tampered after it finished
    Q4   only a run that ended in error, and an unfinished run (.incomplete-)
    2025-Q4, outside the window: mfa {B}"""
    out = tmp_path_factory.mktemp("runs")
    made = {
        "q1": package(out, Q1, "20260405T060000Z-000001", {**mfa(100, A, B), **generic(100, G), **dormant((90, []))},
                      responded=(A,)),
        "q2_early": package(out, Q2, "20260705T060000Z-000002",
                            {**mfa(110, A, B, C), **generic(110), **dormant((95, []))}),
        "q2": package(out, Q2, "20260706T060000Z-000003", {**mfa(110, A, C), **generic(110), **dormant((95, []))},
                      responded=(A,)),
        "q3": package(out, Q3, "20261005T060000Z-000004", {**mfa(120, A, E), **generic(120, G), **dormant("error")}),
        "q3_tampered": package(out, Q3, "20261006T060000Z-000005", {**mfa(120), **generic(120), **dormant((99, []))}),
        "q4_error": package(out, Q4, "20270105T060000Z-000006", {(*CC61, "mfa_enabled"): "error", **dormant("error")}),
        "before": package(out, "2025-Q4", "20260105T060000Z-000007", {**mfa(90, B), **generic(90)}),
    }
    tamper(made["q3_tampered"], "10_access/exceptions.csv")
    (out / Q2 / "notes").mkdir()  # not a run: ignored
    (out / Q4 / "20270107T060000Z-00000f").mkdir()  # a run folder without its manifest: listed, not used
    (out / Q4 / f"{INCOMPLETE_PREFIX}20270106T060000Z-000008").mkdir()
    return {"out": out, **made}


@pytest.fixture(scope="module")
def history(runs):
    return judge_window(read_runs(runs["out"]), parse_period("2026-01-01..2026-12-31"))


def test_the_window_rests_on_the_latest_complete_verified_run_of_each_period(history, runs):
    assert {label: run.path for label, run in history.used.items()} == {Q1: runs["q1"], Q2: runs["q2"],
                                                                         Q3: runs["q3"]}
    assert [p.label for p in history.periods] == [Q1, Q2, Q3, Q4]
    notes = {run.path: run.note for run in history.runs}
    assert notes[runs["q2_early"]].startswith("earlier run, superseded by 20260706T060000Z-000003")
    assert notes[runs["before"]] == "outside the window"
    assert notes[runs["q4_error"]] == "not used: the run ended in error and judged no control"
    assert notes[runs["q3"]] == "used (its only verified runs ended in error)"
    assert not any(INCOMPLETE_PREFIX in str(run.path) for run in history.runs)


def test_a_tampered_package_is_listed_as_failing_verification_and_left_out(history, runs):
    assert [run.path.name for run in history.failed] == ["20261006T060000Z-000005", "20270107T060000Z-00000f"]
    assert "manifest.json not found" in history.failed[1].problem
    assert "changed: 10_access/exceptions.csv" in history.failed[0].note
    assert history.used[Q3].path == runs["q3"]  # the later, tampered run would have been chosen
    assert "notes" not in {run.path.name for run in history.runs}


def test_periods_without_verified_evidence_and_controls_not_judged_are_gaps(history):
    assert {(g["period"], g["control"]) for g in history.gaps} == {(Q4, ""), (Q3, "CC6.3")}
    assert "only runs that ended in error" in next(g["reason"] for g in history.gaps if g["period"] == Q4)


def test_recurring_remediated_and_new_exceptions_are_exactly_the_planted_ones(history):
    found = {tuple(row) for row in history.changes[["kind", "rule", "record_key", "from_period", "to_period"]]
             .itertuples(index=False)}
    assert found == {
        ("recurring", "mfa_enabled", A, Q1, Q2), ("remediated", "mfa_enabled", B, Q1, Q2),
        ("new", "mfa_enabled", C, Q1, Q2), ("remediated", "no_generic_accounts", G, Q1, Q2),
        ("recurring", "mfa_enabled", A, Q2, Q3), ("remediated", "mfa_enabled", C, Q2, Q3),
        ("new", "mfa_enabled", E, Q2, Q3), ("new", "no_generic_accounts", G, Q2, Q3),
    }
    assert set(history.changes["system"]) == {"okta"}
    responded = history.changes[history.changes["response_status"] == "responded"]
    assert set(zip(responded["kind"], responded["to_period"], strict=True)) == {("recurring", Q2)}


def test_an_exception_whose_record_left_the_population_is_not_remediated(tmp_path):
    """B's account is gone from Q2's population (results.json's population keys): B left, A was remediated."""
    package(tmp_path, Q1, "20260405T060000Z-000011", mfa(3, A, B), populations={"mfa_enabled": [A, B, C]})
    package(tmp_path, Q2, "20260705T060000Z-000012", mfa(2, C), populations={"mfa_enabled": [A, C]})
    judged = judge_window(read_runs(tmp_path))
    found = {tuple(row) for row in judged.changes[["kind", "record_key"]].itertuples(index=False)}
    assert found == {("remediated", A), ("left", B), ("new", C)}
    assert "1 remediated by 2026-Q2, 0 still found in 2026-Q2, 1 no longer in the population in 2026-Q2" in \
        judged.summaries["CC6.1"]


def test_the_matrix_has_each_rule_per_period_as_planted(history):
    cells = history.matrix.set_index(["rule", "period"])
    assert cells.loc[("mfa_enabled", Q1), ["status", "exceptions", "population"]].tolist() == ["exceptions", 2, 100]
    assert cells.loc[("mfa_enabled", Q2), ["exceptions", "population"]].tolist() == [2, 110]
    assert cells.loc[("no_generic_accounts", Q2), "status"] == "pass"
    assert cells.loc[("no_dormant_accounts", Q3), "status"] == "error"
    assert Q4 not in set(history.matrix["period"])
    assert history.status == "error"  # gaps and a tampered package


def test_each_control_has_a_summary_for_the_type_2_reader(history):
    assert history.summaries["CC6.3"].startswith("CC6.3 operated without exception in 2 of 4 quarter(s)")
    assert "no judged evidence for 2026-Q3, 2026-Q4" in history.summaries["CC6.3"]
    cc61 = history.summaries["CC6.1"]
    assert cc61.startswith("CC6.1 operated without exception in 0 of 4 quarter(s)")
    assert "2026-Q1: 3 exception(s) (mfa_enabled 2, no_generic_accounts 1), 2 remediated by 2026-Q2, " \
           "1 still found in 2026-Q2" in cc61


def test_a_run_masked_with_a_key_of_its_own_is_a_caution_beside_the_comparison(tmp_path):
    package(tmp_path, Q1, "20260405T060000Z-00000b", mfa(10, A), options={"mask_pii": True, "mask_key": "per-run"})
    package(tmp_path, Q2, "20260705T060000Z-00000c", mfa(10, B),
            options={"mask_pii": True, "mask_key": "user-supplied"})
    judged = judge_window(read_runs(tmp_path))
    assert len(judged.cautions) == 1 and judged.cautions[0].startswith("2026-Q1: ")
    assert "--mask-key" in judged.cautions[0]


def test_window_periods_are_the_months_or_quarters_wholly_inside_it():
    window = parse_period("2026-02-15..2026-09-30")
    assert [p.label for p in window_periods(window, "quarter")] == ["2026-Q2", "2026-Q3"]
    assert [p.label for p in window_periods(window, "month")] == [f"2026-{m:02d}" for m in range(3, 10)]


def test_the_history_package_is_offline_hashed_verifiable_and_never_overwritten(history, runs, tmp_path):
    first = write_history(history, tmp_path, runs_dir=runs["out"])
    second = write_history(history, tmp_path, runs_dir=runs["out"])
    assert first != second and first.parent == second.parent == tmp_path / "2026-01-01..2026-12-31"
    assert verify(first).ok
    manifest = json.loads((first / MANIFEST).read_text())
    assert set(manifest["outputs"]) == {"index.html", "history.json", "matrix.csv", "changes.csv", "exceptions.csv",
                                        "gaps.csv", "runs.csv"}
    assert {p["run_id"]: p["verified"] for p in manifest["packages"]}["20261006T060000Z-000005"] is False
    page = (first / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert page.count('src="data:image/png;base64,') == 2  # one trend chart per control
    charts = [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]
    assert {chart[25] for chart in charts} == {3}  # PNG colour type 3: a palette image, as a report's charts
    matrix = pd.read_csv(first / "matrix.csv")
    assert len(matrix) == len(history.matrix)
    changes = pd.read_csv(first / "changes.csv")
    assert sorted(changes["kind"].value_counts().items()) == [("new", 3), ("recurring", 2), ("remediated", 3)]
    tamper(first, "gaps.csv")
    assert verify(first).changed == ["gaps.csv"]


def test_evidence_history_cli_writes_beside_the_runs_and_skips_its_own_packages(runs, tmp_path, run_cli):
    out = tmp_path / "history"
    done = run_cli("history", runs["out"], "--window", "2026-01-01..2026-12-31", "--out", out)
    assert done.exit_code == 2, done.output  # a gap and a package failing verification
    assert "gap: 2026-Q4" in done.output and "fails verification: changed: 10_access/exceptions.csv" in done.output
    (written,) = (out / "2026-01-01..2026-12-31").iterdir()
    assert run_cli("verify", written).exit_code == 0
    beside = run_cli("history", runs["out"], "--window", "2026-Q1")  # default --out: the runs folder itself
    assert beside.exit_code == 1, beside.output  # Q1 verified, with exceptions
    again = judge_window(read_runs(runs["out"]), parse_period("2026-Q1"))
    assert [r.path.parent.name for r in again.runs].count("2026-Q1") == 1  # its own package is not a run


def test_entities_lay_runs_out_one_folder_each(tmp_path):
    package(tmp_path / "acme", Q1, "20260405T060000Z-00000a", mfa(10))
    assert [r.period.label for r in read_runs(entity_root(tmp_path, "acme"))] == [Q1]
    for bad in ("../acme", "", "a/b"):
        with pytest.raises(Exception, match="entity"):
            entity_root(tmp_path, bad)
    os.chmod(tmp_path, 0o755)


# -- the example Airflow DAG (Airflow is not a dependency: the file is parsed, its period mapping run) --

DAG_FILE = Path(__file__).resolve().parent.parent / "examples" / "airflow" / "evidence_dag.py"


def test_the_airflow_example_compiles_maps_data_intervals_to_periods_and_reads_an_entities_file(tmp_path):
    """`make airflow-test` runs the DAG itself under Airflow (examples/airflow/ci_dag_test.sh, in CI)."""
    from datetime import datetime

    import yaml

    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    compile(tree, str(DAG_FILE), "exec")
    called = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | \
             {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {"run_period", "plan_run", "history"} <= called
    wanted = [node for node in tree.body if (isinstance(node, ast.FunctionDef) and node.name in
                                             ("period_of", "load_entities"))
              or (isinstance(node, ast.Assign) and node.targets[0].id in ("RELATIVE_PERIOD", "ENTITIES",
                                                                           "ENTITY_KEYS"))]
    namespace: dict = {"Path": Path, "yaml": yaml}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(DAG_FILE), "exec"), namespace)
    # a quarterly interval 2026-07-01..2026-10-01 is Q3; the first one of the year is last year's Q4
    assert namespace["period_of"](datetime(2026, 10, 1, 6)) == "2026-Q3"
    assert namespace["period_of"](datetime(2026, 1, 1, 6)) == "2025-Q4"
    # EVIDENCE_AIRFLOW_ENTITIES: unset, the example's; a file's relative folders are read from its folder
    load_entities = namespace["load_entities"]
    assert load_entities(None) is namespace["ENTITIES"]
    (tmp_path / "entities.yaml").write_text('acme: {evidence: "exports/{period}", out: /srv/packages, only: [CC6.1]}\n')
    assert load_entities(str(tmp_path / "entities.yaml")) == {
        "acme": {"evidence": f"{tmp_path}/exports/{{period}}", "out": "/srv/packages", "only": ["CC6.1"]}}
    (tmp_path / "typo.yaml").write_text('acme: {evidence: "x/{period}", output: y}\n')
    with pytest.raises(ValueError, match=r"typo.yaml: entity 'acme' needs 'evidence' and 'out'"):
        load_entities(str(tmp_path / "typo.yaml"))


def test_history_reads_a_package_that_evidence_run_wrote(with_stand_ins, sample_copy, tmp_path, run_cli):  # noqa: F811
    """The real run's layout and manifest (stand-in notebooks, one control), as history reads them."""
    with_stand_ins()
    out = tmp_path / "out"
    finished = run_cli("run", "--period", "previous-quarter", "--as-of", "2026-10-01", "--evidence-dir", sample_copy,
                       "--out", out, "--jobs", 1, "--only", "CC1.4")
    assert finished.exit_code == 0, finished.output
    (out / Q3 / f"{INCOMPLETE_PREFIX}20261001T000000Z-abcdef").mkdir()  # a run killed half-way
    judged = judge_window(read_runs(out))
    assert [p.label for p in judged.periods] == [Q3] and not judged.failed and not judged.gaps
    assert judged.matrix[["control", "period", "status"]].values.tolist() == [["CC1.4", Q3, "pass"],
                                                                             ["CC2.2", Q3, "pass"]]
    assert judged.status == "pass"
