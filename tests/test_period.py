"""Periods: labels, and the relative periods a scheduler names (previous-month, previous-quarter),
resolved against a fixed day so that the tests never depend on today's date."""

import json
from datetime import date

import pytest

from evidence_lib.errors import EvidenceError
from evidence_lib.package import MANIFEST
from evidence_lib.period import parse_period, resolve_relative
from tests.conftest import PERIOD, SAMPLE
from tests.test_redteam_run import only_run, with_stand_ins  # noqa: F401 - a fixture

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(("text", "today", "label", "start", "end"), [
    ("previous-month", TODAY, "2026-10", date(2026, 10, 1), date(2026, 10, 31)),
    ("previous-month", date(2026, 1, 1), "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
    ("previous-month", date(2026, 3, 31), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
    ("previous-month", date(2028, 3, 1), "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("previous-quarter", TODAY, "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("previous-quarter", date(2026, 1, 1), "2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
    ("previous-quarter", date(2026, 3, 31), "2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
    ("previous-quarter", date(2026, 4, 1), "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("Previous-Quarter", date(2026, 10, 1), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
])
def test_a_relative_period_is_the_month_or_quarter_before_the_given_day(text, today, label, start, end):
    assert parse_period(text, today=today) == parse_period(label)
    assert (parse_period(text, today=today).start, parse_period(text, today=today).end) == (start, end)


def test_a_relative_period_resolves_against_an_iso_as_of_time():
    assert resolve_relative("previous-quarter", "2026-10-01T06:00:00Z") == "2026-Q3"
    assert resolve_relative("previous-month", "2026-10-01") == "2026-09"


def test_an_as_of_that_is_not_a_date_is_the_users_error():
    with pytest.raises(EvidenceError, match="not a date"):
        parse_period("previous-month", today="last tuesday")


def test_absolute_periods_ignore_the_day():
    assert parse_period("2026-Q1", today=TODAY).label == "2026-Q1"
    assert parse_period("2026-08", today=TODAY).label == "2026-08"


def test_check_prints_the_resolved_period_and_holds_the_evidence_to_it(run_cli):
    # as of 2026-07-05 the previous quarter is Q2, and the sample declares Q3: refused before loading
    checked = run_cli("check", SAMPLE, "--period", "previous-quarter", "--as-of", "2026-07-05")
    assert checked.exit_code == 2
    assert "previous-quarter is 2026-Q2" in checked.output
    assert "2026-Q2" in checked.output.split("previous-quarter is 2026-Q2", 1)[1]


def test_run_records_the_resolved_period_in_the_manifest(with_stand_ins, sample_copy, tmp_path, run_cli):  # noqa: F811
    with_stand_ins()
    out = tmp_path / "out"
    finished = run_cli("run", "--period", "previous-quarter", "--as-of", "2026-10-01", "--evidence-dir", sample_copy,
                       "--out", out, "--jobs", 1, "--only", "CC1.4")
    assert finished.exit_code == 0, finished.output
    assert f"previous-quarter is {PERIOD}" in finished.output
    manifest = json.loads((only_run(out) / MANIFEST).read_text())
    assert manifest["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    assert manifest["options"]["as_of"] == "2026-10-01"
