"""Evidence that fails to load errors exactly the rules that need it; every other verdict stays as it was.

Its own file so that pytest-xdist (--dist loadfile) runs it beside test_validate.py: each case validates the
whole catalog on a broken copy of the sample.
"""

import pytest
import yaml

from evidence_lib.controls import load_catalog
from evidence_lib.period import parse_period
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import validate
from tests.conftest import SAMPLE

PERIOD = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def baseline():
    return validate(load_folder(SAMPLE), PERIOD)


def _declared_files():
    return [(f["path"], f["type"]) for f in yaml.safe_load((SAMPLE / "evidence.yaml").read_text())["files"]]


# Each evidence type's first declared file fails one way, deleted or emptied in turn: both ways across every format
# (xlsx, csv, json). One file a type, not every file: a second file of a type goes through the same loader and the
# same rules.
def _first_file_of_each_type():
    first = {}
    for path, evidence_type in _declared_files():
        first.setdefault(evidence_type, path)
    return [(path, evidence_type) for evidence_type, path in first.items()]


FAILURES = [(path, evidence_type, ("delete", "empty")[i % 2])
            for i, (path, evidence_type) in enumerate(_first_file_of_each_type())]


@pytest.mark.parametrize("path, evidence_type, how", FAILURES, ids=[f"{p}-{h}" for p, _, h in FAILURES])
def test_failed_evidence_errors_exactly_the_rules_that_need_it(baseline, sample_copy, path, evidence_type, how):
    target = sample_copy / path
    target.unlink() if how == "delete" else target.write_bytes(b"")
    rules = load_catalog().rules
    needs = {r.rule_id for r in rules if evidence_type in r.evidence}
    assert needs, evidence_type
    # The controls with a rule that reads the type, whole (their other rules must keep their verdicts);
    # test_evidence_subsets shows across the whole catalog that the rest never read it.
    touched = tuple(sorted({r.control_id for r in rules if r.rule_id in needs}))
    broken = validate(load_folder(sample_copy), PERIOD, controls=touched)
    before = {r.rule.rule_id: r for r in baseline.rules}
    assert {r.rule.control_id for r in broken.rules} - {"IPE"} == set(touched)
    for result in broken.rules:
        if result.rule.rule_id in needs:
            assert result.status == "error", result.rule.rule_id
            assert f"{evidence_type} evidence failed to load" in result.reason and path in result.reason
        else:
            assert (result.status, result.exception_count) == (before[result.rule.rule_id].status,
                                                                before[result.rule.rule_id].exception_count)
