"""assessment-results.json, which every run writes into its package, and `evidence oscal`, which derives it
again: a package's findings as OSCAL 1.1 assessment results.

Most tests use a package written by hand (PackageBuilder, no notebooks): four controls — one passing, one
with exceptions (one of them responded), one in error, one scoped out — so each finding's expected state is
known here. The required fields are those of the OSCAL 1.1 assessment-results model, as the NIST metaschema
lists them. compliance-trestle's AssessmentResults model (a test dependency) validates both that document
and the one in the shared sample run's package, whose findings are checked against the sample's answer key.
"""

import hashlib
import json
import re

import pandas as pd
import pytest
import yaml
from trestle.oscal.assessment_results import Model as OscalDocument

from evidence_lib.controls import load_catalog
from evidence_lib.oscal import (
    ASSESSMENT_RESULTS,
    assessment_results,
    assessment_results_document,
    write_assessment_results,
    write_into_package,
)
from evidence_lib.package import MANIFEST, PackageBuilder, PackageError, hash_tree, verify
from tests.conftest import SAMPLE

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
    manifest = {"schema_version": 2, "run_id": builder.run_id, "status": "error", "prepared_by": "Ana Ruiz",
                "period": {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"},
                "started_at": "2026-10-01T06:00:00+00:00", "finished_at": "2026-10-01T06:03:00+00:00",
                "inputs": {"evidence": EVIDENCE}, "controls": controls}
    write_into_package(builder.work_dir, manifest)  # as manifest.write_package does for every run
    return builder.finish(manifest)


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


def test_back_matter_carries_each_input_with_its_sha256_and_names_the_manifest_that_hashes_the_document(package):
    root = assessment_results(package)["assessment-results"]
    links = {r["title"]: r["rlinks"][0] for r in root["back-matter"]["resources"]}
    assert {name: link["hashes"][0]["value"] for name, link in links.items() if name != MANIFEST} == {
        f"evidence/{p}": d for p, d in EVIDENCE.items()}
    assert {link["hashes"][0]["algorithm"] for name, link in links.items() if name != MANIFEST} == {"SHA-256"}
    # the manifest hashes this document, so the document cannot hash the manifest
    assert links[MANIFEST] == {"href": MANIFEST}
    manifest = json.loads((package / MANIFEST).read_text())
    assert manifest["outputs"][ASSESSMENT_RESULTS] == hashlib.sha256(
        (package / ASSESSMENT_RESULTS).read_bytes()).hexdigest()


def test_the_package_holds_the_document_and_evidence_oscal_derives_the_same_beside_it_never_inside(
        package, run_cli, tmp_path):
    out = tmp_path / "assessment-results.json"
    finished = run_cli("oscal", package, "--out", out)
    assert finished.exit_code == 0, finished.output
    assert json.loads(out.read_text()) == assessment_results(package) == json.loads(
        (package / ASSESSMENT_RESULTS).read_text())
    with pytest.raises(PackageError, match="inside the package"):
        write_assessment_results(package, package / "assessment-results.json")


def test_trestle_validates_the_document_of_every_kind_of_finding(package):
    document = OscalDocument.model_validate(json.loads((package / ASSESSMENT_RESULTS).read_text()))
    [result] = document.assessment_results.results
    states = {f.target.target_id: (_text(f.target.status.state), _text(f.target.status.reason))
              for f in result.findings}
    assert states == {"CC6.1": ("not-satisfied", "fail"), "CC6.2": ("satisfied", "pass"),
                      "CC8.1": ("not-satisfied", "other")}


def test_the_sample_runs_document_validates_with_trestle_and_lists_every_control_with_its_finding(sample_run):
    """The shared sample run's package; the expected findings come from the sample's answer key: a control
    with planted exceptions is not satisfied, with a risk per planted exception, deviation-approved where
    responses.yaml answers it (and the response has not lapsed)."""
    _, run_dir = sample_run
    assert verify(run_dir).ok
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["outputs"][ASSESSMENT_RESULTS] == hash_tree(run_dir)[ASSESSMENT_RESULTS]
    raw = json.loads((run_dir / ASSESSMENT_RESULTS).read_text())
    assert raw == assessment_results(run_dir)
    document = OscalDocument.model_validate(raw).assessment_results
    [result] = document.results
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)
    responses = yaml.safe_load((SAMPLE / "responses.yaml").read_text())["responses"]
    risks = {str(r.uuid): r for r in result.risks}
    found = {}
    for finding in result.findings:
        statuses = [_text(risks[str(r.risk_uuid)].status) for r in finding.related_risks or []]
        found[finding.target.target_id] = (_text(finding.target.status.state), _text(finding.target.status.reason),
                                           len(statuses), statuses.count("deviation-approved"))
    wanted = {}
    for control in load_catalog().controls:
        planted = expected[expected["control"] == control.control_id]
        responded = sum(1 for r in responses if r["control"] == control.control_id and "expires" not in r
                        and ((planted["rule"] == r["rule"]) & (planted["record_key"] == r["key"])).any())
        wanted[control.control_id] = (("not-satisfied", "fail") if len(planted) else ("satisfied", "pass")) + (
            len(planted), responded)
    assert found == wanted
    included = [c.control_id for c in result.reviewed_controls.control_selections[0].include_controls]
    assert included == sorted(wanted)
    hashes = {r.title: r.rlinks[0].hashes[0].value for r in document.back_matter.resources if r.rlinks[0].hashes}
    answer_key = {"expected_exceptions.csv", "near_misses.csv", "expected_populations.csv"}
    assert hashes == {f"evidence/{f}": h for f, h in hash_tree(SAMPLE).items() if f not in answer_key}


def _text(value) -> str:
    """A trestle enum member, constrained string (pydantic root models, nested: RiskStatus(root=TokenDatatype(
    root='open'))) or plain string, as text."""
    while hasattr(value, "root"):
        value = value.root
    return str(getattr(value, "value", value))


def test_an_evidence_link_names_its_file_and_leaves_the_sha256_to_the_resource_it_points_to(package):
    """The link's resource carries the file's SHA-256 (the run's hash); the link's description repeats a hash
    only where the notebook read other bytes than those (it names what it read)."""
    root = assessment_results(package)["assessment-results"]
    by_uuid = {r["uuid"]: r for r in root["back-matter"]["resources"]}
    [link] = root["results"][0]["observations"][0]["relevant-evidence"]
    assert link["description"] == "accounts/okta.csv (accounts)"
    assert by_uuid[link["href"].lstrip("#")]["rlinks"][0]["hashes"][0]["value"] == "a" * 64

    manifest = json.loads((package / MANIFEST).read_text())
    results = {p.parent.name: json.loads(p.read_text()) for p in package.glob("*/results.json")}
    results["10_access"]["inventory"][0]["sha256"] = "d" * 64  # read, say, after the run hashed it
    changed = assessment_results_document(manifest, results)["assessment-results"]["results"][0]
    [link] = changed["observations"][0]["relevant-evidence"]
    assert link["description"] == f"accounts/okta.csv (accounts, read with sha256 {'d' * 64})"
