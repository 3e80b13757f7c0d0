"""`evidence oscal`: a package's findings as OSCAL 1.1 assessment results.

The package is written by hand (PackageBuilder, no notebooks): four controls — one passing, one with
exceptions (one of them responded), one in error, one scoped out — so each finding's expected state is
known here. The required fields are those of the OSCAL 1.1 assessment-results model, as the NIST
metaschema and compliance-trestle's generated AssessmentResults classes list them; no OSCAL library is used.
"""

import hashlib
import json
import re

import pytest

from evidence_lib.oscal import assessment_results, write_assessment_results
from evidence_lib.package import MANIFEST, PackageBuilder, PackageError

UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
#: object -> the fields the OSCAL 1.1 assessment-results model requires of it
REQUIRED = {
    "assessment-results": ("uuid", "metadata", "import-ap", "results"),
    "metadata": ("title", "last-modified", "version", "oscal-version"),
    "import-ap": ("href",),
    "result": ("uuid", "title", "description", "start", "reviewed-controls"),
    "reviewed-controls": ("control-selections",),
    "finding": ("uuid", "title", "description", "target"),
    "target": ("type", "target-id", "status"),
    "observation": ("uuid", "description", "methods", "collected"),
    "risk": ("uuid", "title", "description", "statement", "status"),
    "subject": ("subject-uuid", "type"),
    "relevant-evidence": ("description",),
    "resource": ("uuid",),
    "component": ("uuid", "type", "title", "description", "status"),
    "property": ("name", "value"),
}
EVIDENCE = {"accounts/okta.csv": "a" * 64, "hr/roster.csv": "b" * 64, "changes/jira.csv": "c" * 64}
MFA_EXCEPTIONS = [
    {"system": "okta", "account_id": "ann@northwind.example", "response_status": "open", "response": ""},
    {"system": "okta", "account_id": "bob@northwind.example", "response_status": "responded",
     "response": "Service account, MFA not supported; compensating IP allow-list"},
]


def control(control_id, status, rules, notebook="10_access", **extra):
    return {"control": control_id, "title": f"Title {control_id}", "status": status, "notebook": notebook,
            "deficiency_summary": "", "reason": "", "rules": rules, **extra}


def rule(rule_id, status, population, exceptions):
    return {"rule": rule_id, "status": status, "population": population, "exception_count": exceptions,
            "reason": ""}


@pytest.fixture
def package(tmp_path):
    builder = PackageBuilder(tmp_path / "out", "2026-Q3")
    controls = [control("CC6.1", "exceptions", [rule("mfa_enabled", "exceptions", 40, 2),
                                                 rule("no_generic_accounts", "pass", 40, 0)]),
                control("CC6.2", "pass", [rule("no_orphan_accounts", "pass", 38, 0)], "20_offboarding"),
                control("CC8.1", "error", [rule("deployment_has_ticket", "error", 0, 0)], "30_change_management"),
                control("CC7.1", "out_of_scope", [rule("vulnerabilities_remediated_within_sla", "out_of_scope", 0, 0)],
                        "50_vulnerabilities")]
    inventory = [{"file": "accounts/okta.csv", "type": "accounts", "sha256": "a" * 64},
                 {"file": "hr/roster.csv", "type": "hr_roster", "sha256": "b" * 64}]
    notebook = {"controls": [{"control": "CC6.1", "title": "Title CC6.1", "status": "exceptions", "rules": [
        {"rule": "mfa_enabled", "text": "Every account has MFA.", "exceptions": MFA_EXCEPTIONS},
        {"rule": "no_generic_accounts", "text": "No generic accounts.", "exceptions": []}]}],
        "inventory": inventory}
    (builder.work_dir / "10_access").mkdir()
    (builder.work_dir / "10_access" / "results.json").write_text(json.dumps(notebook))
    return builder.finish({"schema_version": 2, "status": "error", "prepared_by": "Ana Ruiz",
                           "period": {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"},
                           "started_at": "2026-10-01T06:00:00+00:00", "finished_at": "2026-10-01T06:03:00+00:00",
                           "inputs": {"evidence": EVIDENCE}, "controls": controls})


def assert_has(kind, obj):
    missing = [f for f in REQUIRED[kind] if obj.get(f) in (None, "", [])]
    assert not missing, f"{kind} lacks {missing}: {obj}"


def test_the_document_has_every_field_the_model_requires_and_its_references_resolve(package):
    document = assessment_results(package)
    assert list(document) == ["assessment-results"]
    root = document["assessment-results"]
    assert_has("assessment-results", root)
    assert_has("metadata", root["metadata"])
    assert root["metadata"]["oscal-version"].startswith("1.1")
    assert DATE_TIME.match(root["metadata"]["last-modified"])
    assert_has("import-ap", root["import-ap"])
    [result] = root["results"]
    assert_has("result", result)
    assert (result["start"], result["end"]) == ("2026-07-01T00:00:00Z", "2026-09-30T23:59:59Z")
    assert_has("reviewed-controls", result["reviewed-controls"])
    resources = {r["uuid"]: r for r in root["back-matter"]["resources"]}
    components = {c["uuid"] for c in result["local-definitions"]["components"]}
    for component in result["local-definitions"]["components"]:
        assert_has("component", component)
    observations = {o["uuid"]: o for o in result["observations"]}
    risks = {r["uuid"]: r for r in result["risks"]}
    for observation in observations.values():
        assert_has("observation", observation)
        assert observation["methods"] == ["TEST"] and DATE_TIME.match(observation["collected"])
        for subject in observation.get("subjects", []):
            assert_has("subject", subject)
            assert subject["subject-uuid"] in components
        for link in observation.get("relevant-evidence", []):
            assert_has("relevant-evidence", link)
            assert link["href"][1:] in resources
        for prop in observation["props"]:
            assert_has("property", prop)
    for risk in risks.values():
        assert_has("risk", risk)
        assert all(r["observation-uuid"] in observations for r in risk["related-observations"])
    for finding in result["findings"]:
        assert_has("finding", finding)
        assert_has("target", finding["target"])
        assert finding["target"]["type"] in ("objective-id", "statement-id")
        assert all(r["observation-uuid"] in observations for r in finding.get("related-observations", []))
        assert all(r["risk-uuid"] in risks for r in finding.get("related-risks", []))
    assert root["import-ap"]["href"][1:] in resources
    uuids = re.findall(r'"(?:uuid|subject-uuid)": "([^"]+)"', json.dumps(document))
    assert uuids and all(UUID.match(u) for u in uuids)
    declared = [root["uuid"], result["uuid"], *observations, *risks, *resources, *components,
                *(f["uuid"] for f in result["findings"])]
    assert len(declared) == len(set(declared))


def test_every_reviewed_control_has_a_finding_with_its_state_and_a_scoped_out_one_is_excluded(package):
    result = assessment_results(package)["assessment-results"]["results"][0]
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in result["findings"]}
    assert states == {"CC6.1": "not-satisfied", "CC6.2": "satisfied", "CC8.1": "not-satisfied"}
    selections = result["reviewed-controls"]["control-selections"]
    assert [c["control-id"] for c in selections[0]["include-controls"]] == ["CC6.1", "CC6.2", "CC8.1"]
    assert [c["control-id"] for c in selections[0]["exclude-controls"]] == ["CC7.1"] and len(selections) == 1


def test_an_observation_per_rule_and_a_risk_per_exception_deviation_approved_when_responded(package):
    result = assessment_results(package)["assessment-results"]["results"][0]
    titles = [o["title"] for o in result["observations"]]
    assert titles == ["CC6.1 mfa_enabled", "CC6.1 no_generic_accounts", "CC6.2 no_orphan_accounts",
                      "CC8.1 deployment_has_ticket"]
    mfa = result["observations"][0]
    props = {p["name"]: p["value"] for p in mfa["props"]}
    assert (props["population"], props["exception-count"]) == ("40", "2")
    assert [s["title"] for s in mfa["subjects"]] == ["okta"]
    assert [link["description"].split(" ")[0] for link in mfa["relevant-evidence"]] == ["accounts/okta.csv"]
    assert [(r["status"], "bob@" in r["description"]) for r in result["risks"]] == [("open", False),
                                                                                  ("deviation-approved", True)]


def test_back_matter_carries_each_input_and_the_manifest_with_its_sha256(package):
    root = assessment_results(package)["assessment-results"]
    hashes = {r["title"]: r["rlinks"][0]["hashes"][0] for r in root["back-matter"]["resources"]}
    assert {name: h["value"] for name, h in hashes.items()} == {
        MANIFEST: hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest(),
        **{f"evidence/{p}": d for p, d in EVIDENCE.items()}}
    assert {h["algorithm"] for h in hashes.values()} == {"SHA-256"}


def test_the_same_package_gives_the_same_document_written_beside_it_never_inside(package, run_cli, tmp_path):
    out = tmp_path / "assessment-results.json"
    finished = run_cli("oscal", package, "--out", out)
    assert finished.exit_code == 0, finished.output
    assert json.loads(out.read_text()) == assessment_results(package)
    with pytest.raises(PackageError, match="inside the package"):
        write_assessment_results(package, package / "assessment-results.json")
