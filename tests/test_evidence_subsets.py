"""Any subset of evidence types may be missing: only the rules that need them are errors, with the reason.

Real companies hand over what they have. Whatever is left out, `validate` answers without a
traceback; a rule that needs a missing type is an error naming it; a rule that does not is judged
exactly as on the full sample. Optional evidence (service accounts, aliases) may be absent.
"""

import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.sources.schemas import SCHEMAS
from evidence_lib.validate import ERROR
from tests.conftest import SAMPLE
from tests.corpus import check, declaration, declare

RULES = {r.rule_id: r for r in load_catalog().rules}
SUBSETS = [
    *[(t,) for t in SCHEMAS],
    ("change_tickets", "deployments"),
    ("hr_roster", "training", "background_checks"),
    ("accounts", "access_reviews", "service_accounts", "identity_aliases"),
    tuple(t for t in SCHEMAS if t != "hr_roster"),
]


@pytest.fixture(scope="module")
def baseline():
    return {r.rule.rule_id: r for r in check(SAMPLE)[1].rules}


def _without(folder, types):
    spec = declaration(folder)
    dropped = [f for f in spec["files"] if f["type"] in types]
    spec["files"] = [f for f in spec["files"] if f["type"] not in types]
    spec["ignore"] = [*spec["ignore"], *(f["path"] for f in dropped)]
    spec["scope"] = [s for s in spec.get("scope", []) if s.get("system") in
                     {f.get("system") for f in spec["files"] if f.get("system")}]
    declare(folder, spec)


@pytest.mark.parametrize(
    "types", SUBSETS, ids=lambda t: "+".join(t) if len(t) < 4 else f"all-but-{len(SCHEMAS) - len(t)}"
)
def test_missing_evidence_errors_exactly_the_rules_that_need_it(baseline, sample_copy, types):
    if set(types) == set(SCHEMAS):
        pytest.skip("nothing declared is a declaration error, tested elsewhere")
    _without(sample_copy, set(types))
    _, validation = check(sample_copy)
    required = {t for t in types if not SCHEMAS[t].may_be_empty}
    optional = set(types) - required
    for control in validation.controls:
        for result in control.rules:
            needed = set(result.rule.evidence)
            if needed & required:
                assert result.status == ERROR, result.rule.rule_id
                assert any(f"no {t} evidence is declared" in result.reason for t in needed & required)
            elif not needed & optional:
                was = baseline[result.rule.rule_id]
                assert (result.status, result.exception_count) == (was.status, was.exception_count), \
                    result.rule.rule_id
            else:
                assert any(f"no {t} evidence declared" in result.reason for t in needed & optional)
