"""The population walk: from the rows of the exports to the records each rule tested."""

import csv
import itertools
import json

import pytest

from evidence_lib.walk import WalkStep, _described, rule_steps
from tests.conftest import SAMPLE
from tests.corpus import check, edit_csv, read_csv, redeclare

FABRIKAM = SAMPLE.parent / "fabrikam-2026-Q3"


def data_rows(path) -> int:
    """Rows of an export counted without the workbench: JSON records, or non-blank CSV lines after the header."""
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8")))
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return sum(1 for row in list(csv.reader(handle))[1:] if any(cell.strip() for cell in row))


def adds_up(steps: tuple[WalkStep, ...]) -> bool:
    return all(after.count == before.count - after.left for before, after in itertools.pairwise(steps))


@pytest.fixture(scope="module", params=[SAMPLE, FABRIKAM], ids=["northwind", "fabrikam"])
def sample_validation(request):
    return check(request.param)


def test_every_walk_adds_up_and_ends_at_the_population(sample_validation):
    _evidence, validation = sample_validation
    judged = [r for r in validation.rules if r.status != "out_of_scope" and r.walk]
    assert len(judged) == len([r for r in validation.rules if r.status != "out_of_scope"])
    for result in judged:
        assert adds_up(result.walk), (result.rule.rule_id, result.walk)
        assert result.walk[-1] == WalkStep("tested", result.population), result.rule.rule_id
        assert all(step.reason for step in result.walk if step.left), result.rule.rule_id


def test_a_walk_starts_at_the_rows_of_the_exports_counted_without_the_workbench(sample_validation):
    evidence, validation = sample_validation
    folder = evidence.declaration.folder
    accounts = [folder / o.declared.path for o in evidence.outcomes if o.declared.evidence_type == "accounts"]
    tickets = [folder / o.declared.path for o in evidence.outcomes if o.declared.evidence_type == "change_tickets"]
    walks = {r.rule.rule_id: r.walk for r in validation.rules}
    assert walks["no_dormant_accounts"][0].count == sum(data_rows(p) for p in accounts)
    assert walks["approver_independent"][0].count == sum(data_rows(p) for p in tickets)


def test_the_walk_says_why_records_left(sample_validation):
    _, validation = sample_validation
    mfa = next(r for r in validation.rules if r.rule.rule_id == "mfa_enabled")
    disabled = mfa.walk[3]
    assert disabled.step == "enabled" and disabled.reason == f"{disabled.left} not enabled" and disabled.left > 0
    service = next(s for s in mfa.walk if s.step == "is not service")
    assert service.reason == f"{service.left} is service"


def test_rows_set_aside_are_a_step_of_the_walk(sample_copy):
    path = sample_copy / "accounts" / "okta_users.csv"
    user = read_csv(path)[1][5][0]
    edit_csv(path, "Okta User Status", "FROZEN", where={"Okta Username": user})
    redeclare(sample_copy, "accounts/okta_users.csv", bad_rows="quarantine")
    _, validation = check(sample_copy, rules=("no_dormant_accounts",))
    walk = next(r for r in validation.rules if r.rule.rule_id == "no_dormant_accounts").walk
    assert walk[1].step == "rows kept" and walk[1].left == 1 and walk[1].reason == "1 set aside as unreadable"
    assert adds_up(walk)


def test_a_condition_is_walked_clause_by_clause_and_scope_last():
    import pandas as pd

    frame = pd.DataFrame({"enabled": [True, True, False, True], "builtin": [False, True, False, False]})
    outside = pd.Series([False, False, False, True])
    steps = rule_steps(frame, {"enabled == True and builtin == False"}, {}, outside)
    assert [(s.step, s.count, s.left) for s in steps] == [
        ("records in the view", 4, 0), ("enabled", 3, 1), ("not builtin", 2, 1), ("not scoped out", 1, 1),
        ("tested", 1, 0)]
    assert _described('change_type != "emergency"', True) == "change type is not emergency"
    assert _described("has_owner == True", False) == "has no owner"


def test_rows_a_mapping_leaves_out_are_a_step_of_the_walk(sample_copy):
    path = sample_copy / "changes" / "github_merged_prs.json"
    pulls = json.loads(path.read_text(encoding="utf-8"))
    pulls[0]["merged_at"] = None  # closed without merging: not a deployment
    path.write_text(json.dumps(pulls), encoding="utf-8")
    _, validation = check(sample_copy, rules=("deployment_has_ticket",))
    walk = next(r for r in validation.rules if r.rule.rule_id == "deployment_has_ticket").walk
    assert walk[1].left == 1 and walk[1].reason.startswith("1 left out by the mapping: ")
    assert adds_up(walk)
