"""`evidence sample`: a seeded draw from a rule's tested population (results.json `population_keys`).

The packages here are written by hand with PackageBuilder (no notebooks run): one notebook's results.json
with a population this file chose. The expected draws follow the documented method with numpy directly.
"""

import csv
import hashlib
import json

import numpy as np
import pytest

from evidence_lib.package import MANIFEST, PackageBuilder, verify
from evidence_lib.sampling import (
    FREQUENCY_SIZES,
    FROM_EXCEPTION,
    FROM_POPULATION,
    NOT_STORED,
    SampleError,
    draw_sample,
    write_sample,
)

#: 30 accounts over two systems, written unsorted; three are exceptions
POPULATION = [["okta", f"user{n:02d}@northwind.example"] for n in range(20, 0, -1)] + \
             [["github", f"dev{n:02d}"] for n in range(10)]
EXCEPTIONS = [{"system": "okta", "account_id": "user03@northwind.example", "mfa_enabled": False},
              {"system": "github", "account_id": "dev07", "mfa_enabled": False},
              {"system": "okta", "account_id": "user17@northwind.example", "mfa_enabled": False}]


def write_package(out, *, population_keys=POPULATION, masked=False, exceptions=EXCEPTIONS, population_rows=None):
    builder = PackageBuilder(out, "2026-Q3")
    rule = {"rule": "mfa_enabled", "text": "MFA", "status": "exceptions", "population": len(POPULATION),
            "exception_count": len(exceptions), "reason": "", "exceptions": exceptions}
    if population_keys is not None:
        rule["population_keys"] = population_keys
    if population_rows is not None:
        rule["population_rows"] = population_rows
    results = {"status": "exceptions", "controls": [{"control": "CC6.1", "title": "Access", "status": "exceptions",
                                                     "rules": [rule]}], "pii_masked": masked}
    (builder.work_dir / "10_access").mkdir()
    (builder.work_dir / "10_access" / "results.json").write_text(json.dumps(results))
    return builder.finish({"schema_version": 2, "period": {"label": "2026-Q3"}})


@pytest.fixture
def package(tmp_path):
    return write_package(tmp_path / "out")


def by_the_method(seed, size):
    """The documented draw, re-done here: sorted keys, numpy default_rng(seed).permutation, first `size`."""
    keys = sorted(tuple(k) for k in POPULATION)
    return [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))[:size]]


def test_the_same_seed_draws_the_same_sample_by_the_documented_method(package):
    first = draw_sample(package, "mfa_enabled", seed=2026, size=5)
    again = draw_sample(package, "mfa_enabled", seed=2026, size=5)
    assert first == again
    assert [(s, k) for s, k, _ in first.selected] == by_the_method(2026, 5)
    other = draw_sample(package, "mfa_enabled", seed=7, size=5)
    assert [(s, k) for s, k, _ in other.selected] == by_the_method(7, 5) != by_the_method(2026, 5)


def test_a_sample_draws_only_from_the_population_without_repeats_and_flags_exceptions(package):
    drawn = draw_sample(package, "mfa_enabled", seed=11, size=100)  # larger than the population
    keys = [(s, k) for s, k, _ in drawn.selected]
    assert sorted(keys) == sorted(tuple(k) for k in POPULATION)
    flagged = {(s, k) for s, k, exception in drawn.selected if exception}
    assert flagged == {(e["system"], e["account_id"]) for e in EXCEPTIONS}
    assert drawn.population_size == 30


def test_sizes_by_frequency_take_the_upper_bound_of_the_guidance(package):
    assert FREQUENCY_SIZES == {"annual": 1, "quarterly": 2, "monthly": 5, "weekly": 15, "daily": 40,
                               "recurring": 60}
    assert len(draw_sample(package, "mfa_enabled", seed=1, frequency="quarterly").selected) == 2
    assert len(draw_sample(package, "mfa_enabled", seed=1, frequency="weekly").selected) == 15
    with pytest.raises(SampleError, match="not both"):
        draw_sample(package, "mfa_enabled", seed=1, size=3, frequency="daily")


def test_the_csv_is_written_beside_the_package_with_seed_and_hashes_and_never_overwritten(package, run_cli):
    finished = run_cli("sample", package, "--rule", "mfa_enabled", "--size", 4, "--seed", 42)
    assert finished.exit_code == 0, finished.output
    written = list(package.parent.glob("sample-*-mfa_enabled-*-seed42.csv"))
    assert len(written) == 1 and verify(package).ok  # beside, not inside: the package is unchanged
    with written[0].open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["system"], r["record_key"]) for r in rows] == by_the_method(42, 4)
    assert [r["selection"] for r in rows] == ["1", "2", "3", "4"]
    lines = "".join(f"{s}\t{k}\n" for s, k in sorted(tuple(k) for k in POPULATION))
    assert {r["population_sha256"] for r in rows} == {hashlib.sha256(lines.encode()).hexdigest()}
    assert {r["manifest_sha256"] for r in rows} == {hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest()}
    assert {(r["seed"], r["population"]) for r in rows} == {("42", "30")}
    with pytest.raises(SampleError, match="never overwritten"):
        write_sample(draw_sample(package, "mfa_enabled", seed=42, size=4), package, written[0])
    with pytest.raises(SampleError, match="never inside"):
        write_sample(draw_sample(package, "mfa_enabled", seed=42, size=4), package, package / "sample.csv")


def test_no_sample_from_a_masked_package_one_without_keys_an_edited_one_or_an_unknown_rule(tmp_path):
    masked = write_package(tmp_path / "masked", population_keys=None, masked=True)
    with pytest.raises(SampleError, match="masks PII"):
        draw_sample(masked, "mfa_enabled", seed=1, size=2)
    older = write_package(tmp_path / "older", population_keys=None)
    with pytest.raises(SampleError, match="stores no population keys"):
        draw_sample(older, "mfa_enabled", seed=1, size=2)
    short = write_package(tmp_path / "short", population_keys=POPULATION[:-1])
    with pytest.raises(SampleError, match="29 population keys for a population of 30"):
        draw_sample(short, "mfa_enabled", seed=1, size=2)
    with pytest.raises(SampleError, match="its rules: mfa_enabled"):
        draw_sample(short, "no_such_rule", seed=1, size=2)
    results = short / "10_access" / "results.json"
    results.chmod(0o644)
    results.write_text(results.read_text().replace("dev07", "dev99"))
    with pytest.raises(SampleError, match=r"differ from manifest\.json"):
        draw_sample(short, "mfa_enabled", seed=1, size=2)


#: the columns the catalog's mfa_enabled shows (expectations/controls.yaml), system apart, then the export row
MFA_SHOWN = ["account_id", "display_name", "owner_employee_id", "mfa", "last_login_at", "source_file", "source_row"]


def shown_row(system, account_id, mfa):
    number = int("".join(c for c in account_id if c.isdigit()))
    return {"system": system, "account_id": account_id, "display_name": f"Name of {account_id}",
            "owner_employee_id": f"E{10000 + number}", "mfa": mfa, "last_login_at": "2026-09-01T00:00:00Z",
            "source_file": f"accounts/{system}.csv", "source_row": number + 2, "response_status": "open"}


def read_rows(path):
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_each_drawn_exception_carries_the_columns_the_rule_shows_and_a_passing_record_says_they_are_not_stored(
        tmp_path):
    exceptions = [shown_row(s, k, False) for s, k in [("okta", "user03@northwind.example"), ("github", "dev07")]]
    package = write_package(tmp_path / "out", exceptions=exceptions)
    drawn = draw_sample(package, "mfa_enabled", seed=3, size=30)  # the whole population, in drawn order
    rows = read_rows(write_sample(drawn, package))
    assert list(rows[0])[:5 + len(MFA_SHOWN)] == ["selection", "system", "record_key", "exception", "values",
                                                  *MFA_SHOWN]
    for row in rows:
        if row["exception"] == "yes":
            planted = next(e for e in exceptions if (e["system"], e["account_id"]) == (row["system"],
                                                                                      row["record_key"]))
            assert row["values"] == FROM_EXCEPTION
            assert {c: row[c] for c in MFA_SHOWN} == {c: str(planted[c]) for c in MFA_SHOWN}
        else:
            assert row["values"] == NOT_STORED and not any(row[c] for c in MFA_SHOWN)
    assert sum(r["exception"] == "yes" for r in rows) == 2


def test_where_the_package_stores_population_rows_every_drawn_record_carries_its_shown_values(tmp_path):
    population = [shown_row(s, k, (s, k) != ("github", "dev07")) for s, k in POPULATION]
    package = write_package(tmp_path / "out", exceptions=[population[-3]], population_rows=population[::-1])
    rows = read_rows(write_sample(draw_sample(package, "mfa_enabled", seed=5, size=6), package))
    assert [(r["system"], r["record_key"]) for r in rows] == by_the_method(5, 6)
    by_key = {(p["system"], p["account_id"]): p for p in population}
    for row in rows:
        assert row["values"] == FROM_POPULATION
        assert {c: row[c] for c in MFA_SHOWN} == {c: str(by_key[(row["system"], row["record_key"])][c])
                                                  for c in MFA_SHOWN}
