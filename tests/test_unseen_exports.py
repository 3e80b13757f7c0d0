"""A company this project has never seen: exports in vendors' documented shapes, nothing hand-written.

The exports are the vendor fixtures (tests/fixtures/vendors/, each written from its vendor's
documentation), dropped into one folder as an analyst would receive them. `evidence init` must
place every file, the proposal must load without a problem, and every control must be judged —
a verdict, or an error that says what the evidence lacks — never a traceback, never a rule that
failed because the mapping had to be written by hand.
"""

import shutil

import pytest

from evidence_lib.period import parse_period
from evidence_lib.sources.detect import propose, write_proposal
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import ERROR, validate
from tests.conftest import ROOT, SAMPLE

FIXTURES = ROOT / "tests" / "fixtures" / "vendors"
EXPORTS = {  # as received, under the names the vendors' tools give them
    "hr/bamboohr_employees.csv": FIXTURES / "bamboohr_employees.csv",
    "it/google_workspace_users.csv": FIXTURES / "google_workspace_users.csv",
    "it/okta_users_api.json": FIXTURES / "okta_users_api.json",
    "changes/jira_cloud_all_fields.csv": FIXTURES / "jira_cloud_all_fields.csv",
    "changes/gitlab_merge_requests.json": FIXTURES / "gitlab_merge_requests.json",
    "people/lms_completions_by_email.csv": FIXTURES / "lms_completions_by_email.csv",
    "people/screening_by_email.csv": FIXTURES / "screening_by_email.csv",
    "review/q3_access_review.csv": SAMPLE / "access_review" / "q_access_review.csv",
}


@pytest.fixture(scope="module")
def received(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unseen") / "exports"
    for name, source in EXPORTS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / name)
    return folder


def test_init_places_every_export_of_a_company_never_seen(received):
    proposal = propose(received, period="2026-Q3")
    assert [u.path for u in proposal.unplaced] == []
    placed = {p.path: p.evidence_type for p in proposal.files}
    assert placed == {
        "hr/bamboohr_employees.csv": "hr_roster", "it/google_workspace_users.csv": "accounts",
        "it/okta_users_api.json": "accounts", "changes/jira_cloud_all_fields.csv": "change_tickets",
        "changes/gitlab_merge_requests.json": "deployments", "people/lms_completions_by_email.csv": "training",
        "people/screening_by_email.csv": "background_checks", "review/q3_access_review.csv": "access_reviews"}


def test_the_proposal_loads_and_every_control_is_judged_without_hand_work(received):
    write_proposal(propose(received, period="2026-Q3"))
    evidence = load_folder(received)
    assert [str(p) for p in evidence.problems] == []
    validation = validate(evidence, parse_period("2026-Q3"))
    for result in validation.rules:
        assert "failed to load" not in result.reason, (result.rule.rule_id, result.reason)
        if result.status == ERROR:  # only what the evidence cannot show, said plainly
            assert result.reason, result.rule.rule_id
    judged = [r for c in validation.controls for r in c.rules if r.status != ERROR]
    assert len(judged) >= 10, validation.summary()
