"""Backups and recovery (A1.2, A1.3): the AWS Backup and generic exports load in their documented shapes, gaps
are counted in UTC days over the scope list (never only over the jobs), and on a generated company the rules find
exactly the exceptions evidence_lib.synth_backups planted; a company without Availability reads out of scope."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from evidence_lib.backup_views import backup_coverage_view, restore_test_view, restore_testing_view
from evidence_lib.controls import load_catalog
from evidence_lib.errors import LoadError
from evidence_lib.period import parse_period
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.results import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from tests.corpus import write_generated_company

FIXTURES = Path(__file__).parent / "fixtures" / "backups"
PERIOD = parse_period("2026-Q3")
AS_OF = pd.Timestamp("2026-10-01 06:00", tz="UTC")
CITED = ("aws_backup_jobs_json", "aws_backup_restore_jobs_json", "aws_tagged_resources_json")
OUR_OWN = ("generic_backup_log_csv", "generic_backup_resources_csv", "generic_restore_tests_csv")
CONTROLS = ("A1.2", "A1.3")
KEYS = {"resource_backed_up_without_gap": "resource_arn", "restore_test_succeeded": "restore_id",
        "restore_tested_in_period": "period"}


def load(fmt: str, path: Path):
    return load_file(path, load_mapping(builtin_mappings()[fmt]))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED + OUR_OWN)
def test_each_backup_shape_cites_its_vendor_page_or_says_it_is_our_own(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert mapping.evidence_type in ("backup_jobs", "backup_resources", "restore_tests")
    assert text.startswith("# Source:")
    if name in CITED:
        assert "\nsource: {url: \"https://docs.aws.amazon.com/" in text and "https://" in mapping.description
    else:
        assert text.startswith("# Source: none")
    assert "GUESS" not in text  # every AWS field read is in AWS's API reference


def test_aws_backup_jobs_as_the_cli_example_prints_them_with_cli_v2_timestamps():
    frame = load("aws_backup_jobs_json", FIXTURES / "aws_backup_jobs.json").frame
    assert column(frame, "backup_job_id") == ["a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
                                              "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"]
    assert column(frame, "resource_arn") == ["arn:aws:ec2:us-west-2:123456789012:instance/i-12345678901234567",
                                             "arn:aws:elasticfilesystem:us-west-2:123456789012:file-system/fs-12345678"]
    assert column(frame, "state") == ["created", "completed"]
    assert column(frame, "resource_type") == ["EC2", "EFS"]
    assert column(frame, "created_at") == [utc("2020-09-21 20:58:12.929"), utc("2020-09-21 20:55:24.770")]
    assert column(frame, "completed_at") == [None, utc("2020-09-21 20:55:44.488")]


def test_unix_seconds_as_the_api_and_cli_v1_write_them_are_a_located_error_never_a_guess():
    with pytest.raises(LoadError, match=r"row 1:column 'CreationDate': cannot read '1600721892.929'"):
        load("aws_backup_jobs_json", FIXTURES / "aws_backup_jobs_unix_seconds.json")


def test_aws_restore_jobs_as_the_api_documents_them():
    frame = load("aws_backup_restore_jobs_json", FIXTURES / "aws_backup_restore_jobs.json").frame
    assert column(frame, "restore_id") == ["a1b2c3d4-5678-90ab-cdef-EXAMPLE44444",
                                           "a1b2c3d4-5678-90ab-cdef-EXAMPLE55555"]
    assert column(frame, "outcome") == ["succeeded", "failed"]
    assert column(frame, "validation") == ["successful", None]
    assert column(frame, "tested_at") == [utc("2020-09-21 21:00:00.5"), utc("2020-09-22 21:00")]
    assert column(frame, "tester")[0].endswith(":restore-testing-plan:quarterly_restore_test-a1b2c3d4")
    assert column(frame, "message")[1] == "Insufficient capacity for the requested instance type"


def test_tagged_resources_list_every_resource_in_scope():
    frame = load("aws_tagged_resources_json", FIXTURES / "aws_tagged_resources.json").frame
    assert column(frame, "resource_arn") == [
        "arn:aws:elasticfilesystem:us-west-2:123456789012:file-system/fs-12345678",
        "arn:aws:ec2:us-west-2:123456789012:instance/i-12345678901234567"]
    assert column(frame, "in_scope") == [True, True]


def test_generic_backup_log_scope_list_and_restore_tests(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("job_id,resource,status,started_at,finished_at,message\n"
                   "J1,db-1,Success,2026-09-30T23:40:00Z,2026-10-01T00:20:00Z,\n"
                   "J2,db-1,Warning,2026-09-29T23:40:00Z,2026-09-29T23:50:00Z,skipped files\n", encoding="utf-8")
    jobs = load("generic_backup_log_csv", log).frame
    assert column(jobs, "state") == ["completed", "partial"]
    assert column(jobs, "completed_at") == [utc("2026-10-01 00:20"), utc("2026-09-29 23:50")]
    scope = tmp_path / "scope.csv"
    scope.write_text("resource,name,in_scope\ndb-1,Billing,yes\nftp-1,FTP,no\nweb-1,Web,\n", encoding="utf-8")
    assert column(load("generic_backup_resources_csv", scope).frame, "in_scope") == [True, False, None]
    tests = tmp_path / "tests.csv"
    tests.write_text("test_id,resource,tested_at,outcome,tester\nRT-1,db-1,2026-08-01T10:00:00Z,Passed,ann@x.example\n",
                     encoding="utf-8")
    assert column(load("generic_restore_tests_csv", tests).frame, "outcome") == ["succeeded"]


# -- the views ------------------------------------------------------------------------------------------

def _jobs(rows):
    frame = pd.DataFrame(rows, columns=["backup_job_id", "resource_arn", "state", "created_at", "completed_at"])
    for dated in ("created_at", "completed_at"):
        frame[dated] = pd.to_datetime(frame[dated], utc=True)
    return frame


def _resources(names, in_scope=None):
    return pd.DataFrame({"resource_arn": names, "resource_name": names, "resource_type": "RDS", "owner": None,
                         "in_scope": pd.array(in_scope or [True] * len(names), dtype="boolean")})


def _coverage(names, rows, in_scope=None):
    view = backup_coverage_view(_resources(names, in_scope), _jobs(rows), period=parse_period("2026-09"), as_of=AS_OF)
    return view.set_index("resource_arn")


def test_a_resource_without_any_job_keeps_the_whole_window_as_its_gap():
    view = _coverage(["db-1", "db-2"], [("J1", "db-1", "completed", "2026-09-30 23:00", "2026-09-30 23:30")])
    assert view.loc["db-2", "longest_gap_days"] == 30  # 2026-09-01 to the export day 2026-10-01
    assert view.loc["db-2", "successful_backup_days"] == 0
    assert view.loc["db-1", "longest_gap_days"] == 29  # the stretch before its only backup counts


def test_failed_and_partial_jobs_are_not_backups_and_a_job_counts_for_the_day_it_started():
    days = [f"2026-09-{d:02d}" for d in range(1, 31)]
    rows = [(f"J{d}", "db-1", "completed", f"{d} 23:55", None) for d in days]
    rows[9] = ("J10", "db-1", "failed", "2026-09-10 23:55", "2026-09-11 00:10")
    rows[19] = ("J20", "db-1", "partial", "2026-09-20 23:55", "2026-09-21 00:10")
    rows += [(f"K{d}", "db-2", "completed", f"{d} 23:55", f"{d} 23:55") for d in days]
    rows[-1] = ("K30", "db-2", "completed", "2026-09-30 23:55", "2026-10-01 00:40")  # across midnight
    view = _coverage(["db-1", "db-2"], rows)
    assert view.loc["db-1", "longest_gap_days"] == 2 and view.loc["db-1", "failed_backups"] == 2
    assert view.loc["db-2", "longest_gap_days"] == 1  # each day has its backup; the last one ends on the export day


def test_a_blank_in_scope_reads_in_scope():
    view = _coverage(["db-1", "ftp-1"], [("J1", "db-1", "completed", "2026-09-30 23:00", None)], [None, False])
    assert view.loc["db-1", "in_scope"] and not view.loc["ftp-1", "in_scope"]


def _restore_tests(rows):
    frame = pd.DataFrame(rows, columns=["restore_id", "tested_at", "outcome", "validation"])
    frame["tested_at"] = pd.to_datetime(frame["tested_at"], utc=True)
    frame["completed_at"] = frame["tested_at"]
    frame["resource"] = frame["resource_type"] = frame["tester"] = frame["message"] = None
    return frame


def test_restore_results_count_validation_and_only_the_period():
    tests = _restore_tests([("R1", "2026-07-01 00:00", "succeeded", "successful"),
                            ("R2", "2026-08-01 00:00", "succeeded", "failed"),
                            ("R3", "2026-08-02 00:00", "running", None),
                            ("R4", "2026-09-30 23:59", "succeeded", None),
                            ("R5", "2026-10-01 01:00", "failed", None)])
    view = restore_test_view(tests, period=PERIOD).set_index("restore_id")
    assert view["restore_result"].to_dict() == {"R1": "succeeded", "R2": "restored, validation failed",
                                                "R3": "not finished by the export", "R4": "succeeded"}
    summary = restore_testing_view(tests, period=PERIOD)
    assert summary.to_dict("records")[0]["successful_restore_tests"] == 2


def test_a_period_without_a_successful_restore_test_is_an_exception():
    from evidence_lib.judge import judge_view

    catalog = load_catalog()
    rules = [r for r in catalog.control("A1.3").rules if r.rule_id == "restore_tested_in_period"]
    tests = _restore_tests([("R1", "2026-08-01 00:00", "failed", None)])
    frame = restore_testing_view(tests, period=PERIOD)
    result = judge_view("backup_restore_testing", frame, rules, catalog, {})["restore_tested_in_period"]
    assert result.status == EXCEPTIONS and result.exceptions["period"].tolist() == ["2026-Q3"]


def test_the_backup_suites_open_in_plain_gx_and_name_their_controls():
    catalog = load_catalog()
    rules = {r.rule_id: r for c in CONTROLS for r in catalog.control(c).rules}
    for name in ("backup_coverage.json", "backup_restore_tests.json", "backup_restore_testing.json"):
        spec = json.loads((EXPECTATIONS_DIR / name).read_text(encoding="utf-8"))
        assert len(gx.ExpectationSuite(**spec).expectations) == len(spec["expectations"])
        for expectation in spec["expectations"]:
            meta = expectation["meta"]
            rule = rules[meta["rule_id"]]
            assert meta["controls"] == [rule.control_id] and meta["rule"] == rule.text
    assert catalog.control("A1.2").iso27001 == ("A.8.13",) and catalog.control("A1.3").iso27001 == ("A.5.30", "A.8.13")
    assert {catalog.control(c).notebook for c in CONTROLS} == {"73_backups.ipynb"}


# -- the generated companies ----------------------------------------------------------------------------

def _validated(folder: Path):
    """A1.2 and A1.3 judged in-process on the folder's roster and backup evidence only: the company's other
    exports (accounts, tickets, ...) and their per-system scope decisions are taken out of evidence.yaml first, as
    loading them is most of the time."""
    import yaml

    from evidence_lib.sources.folder import load_folder
    from evidence_lib.validate import validate

    path = folder / "evidence.yaml"
    declaration = yaml.safe_load(path.read_text(encoding="utf-8"))
    kept = ("hr_roster", "backup_resources", "backup_jobs", "restore_tests")
    declaration["files"] = [f for f in declaration["files"] if f["type"] in kept]
    # decisions scoping one system out of an account rule name systems no longer declared
    declaration["scope"] = [d for d in declaration.get("scope") or () if not d.get("system")]
    path.write_text(yaml.safe_dump(declaration, sort_keys=False), encoding="utf-8")
    validation = validate(load_folder(folder), PERIOD, controls=CONTROLS)
    return validation, {r.rule.rule_id: r for c in validation.controls for r in c.rules}


def _found(results) -> set[tuple[str, str, str, str]]:
    return {(r.rule.control_id, rule_id, "", str(k)) for rule_id, r in results.items()
            for k in r.exceptions[KEYS[rule_id]]}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from evidence_lib.synth_backups import add_to_folder, backup_evidence

    folder = tmp_path_factory.mktemp("northwind")
    write_generated_company(folder, PERIOD)
    planted = backup_evidence(folder, PERIOD)
    add_to_folder(folder, planted)
    return (folder, planted, *_validated(folder))


def test_found_exceptions_equal_the_planted_ones_and_near_misses_are_clean(company):
    _, planted, _, results = company
    assert _found(results) == set(planted.expected)
    assert not _found(results) & set(planted.near_misses)
    assert {r.status for r in results.values()} == {EXCEPTIONS, PASS}


def test_populations_and_dated_values_are_the_generators(company):
    _, planted, validation, results = company
    assert {(c, rule, n) for c, rule, n, _ in planted.populations} == {
        (r.rule.control_id, rule_id, r.population) for rule_id, r in results.items()}
    dates = next(r for r in validation.integrity.rules if r.rule.rule_id == "dates_plausible")
    assert dates.status == PASS and dates.population == planted.date_values  # only the backup evidence is used


def test_the_folder_declares_the_exports_and_appends_the_expectations(company):
    folder, planted, _, _ = company
    with (folder / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        rows = {tuple(row) for row in csv.reader(handle)}
    assert set(planted.expected) <= rows
    text = (folder / "evidence.yaml").read_text(encoding="utf-8")
    assert all(f in text for f in ("aws_backup_jobs_json", "generic_backup_log_csv", "aws_backup_restore_jobs_json"))


def test_the_exports_are_deterministic(company, tmp_path):
    from evidence_lib.synth_backups import FILES, backup_evidence

    folder, planted, _, _ = company
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    again = backup_evidence(copy, PERIOD)
    assert again.expected == planted.expected and again.near_misses == planted.near_misses
    for name in FILES:
        assert (copy / name).read_bytes() == (folder / name).read_bytes()


def test_the_second_vendor_set_finds_exactly_its_planted_exceptions(tmp_path):
    from evidence_lib.synth_backups import add_to_folder, backup_evidence

    write_generated_company(tmp_path, PERIOD, "second")
    planted = backup_evidence(tmp_path, PERIOD)
    add_to_folder(tmp_path, planted)
    _, results = _validated(tmp_path)
    assert _found(results) == set(planted.expected)
    assert all(owner.endswith("@fabrikam.example")
               for owner in pd.read_csv(tmp_path / "backups" / "backup_scope.csv")["owner"])


def test_a_company_without_availability_reads_out_of_scope_with_who_and_why(tmp_path):
    from evidence_lib.synth_backups import FILES, add_to_folder, backup_evidence

    write_generated_company(tmp_path, PERIOD)
    before = (tmp_path / "expected_exceptions.csv").read_bytes()
    decided = backup_evidence(tmp_path, PERIOD, availability_in_scope=False)
    add_to_folder(tmp_path, decided)
    assert not any((tmp_path / name).exists() for name in FILES) and not decided.files
    assert (tmp_path / "expected_exceptions.csv").read_bytes() == before
    validation, results = _validated(tmp_path)
    assert set(results) == set(KEYS)
    for result in results.values():
        assert result.status == OUT_OF_SCOPE != ERROR
        assert "Availability is not among" in result.reason and "decided by ciso@northwind.example" in result.reason
    assert {c.status for c in validation.controls} == {OUT_OF_SCOPE}
