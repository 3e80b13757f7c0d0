"""A package's findings as NIST OSCAL 1.1 assessment results (JSON), for other compliance tooling.

One result for the period (start and end); the controls reviewed (a control scoped out whole is
excluded); a finding per control whose target status is `satisfied` (pass) or `not-satisfied`
(exceptions, or an error: reason `other`); an observation per rule, method TEST, with its status,
population and exception count as properties, the systems it names as subjects (components in the
result's local definitions) and its evidence as relevant-evidence links to back-matter resources
carrying each file's SHA-256; a risk per exception, `open`, or `deviation-approved` where management's
response is in force. UUIDs are version-5, derived from the run id and the names: the same package
always gives the same document.

Every run writes it into its package as `assessment-results.json` (`write_into_package`, before the
manifest, which hashes it like every other output); `evidence oscal` derives the same document again
from a finished package (one written before runs carried it, too). Since the manifest hashes the
document, the document cannot carry the manifest's own SHA-256: its back-matter names manifest.json,
whose SHA-256 is the run's last line and what `manifest.sig` signs.

Built from the manifest and each notebook's results.json; no OSCAL library is used. The fields the
model requires are those of the OSCAL 1.1 assessment-results model; tests/test_oscal.py validates a
real package's document with compliance-trestle's AssessmentResults.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from evidence_lib.package import MANIFEST, PackageError, verify, write_json_atomically

OSCAL_VERSION = "1.1.2"
#: namespace of the properties this tool adds (population, exception count, the workbench's status)
NS = "https://evidence-workbench.example/ns/oscal"
UUIDS = uuid.UUID("5b0a4f0e-6c1e-5d2b-9a57-3e1f0c2d4b61")
RESPONDED = "responded"
#: the document's name inside every package
ASSESSMENT_RESULTS = "assessment-results.json"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUIDS, "/".join(parts)))


def _prop(name: str, value) -> dict:
    return {"name": name, "ns": NS, "value": str(value)}


def assessment_results(run_dir: Path) -> dict:
    """The OSCAL assessment-results document of a finished package (which must pass `verify`): the
    document the run wrote into it, derived again from its manifest and results."""
    run_dir = Path(run_dir)
    checked = verify(run_dir)
    if not checked.ok:
        raise PackageError(f"{run_dir}: {len(checked.lines())} file(s) differ from manifest.json "
                           f"({'; '.join(checked.lines()[:3])}): run `evidence verify {run_dir}`")
    manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    return assessment_results_document(manifest, _notebook_results(run_dir))


def write_into_package(work_dir: Path, manifest: dict) -> Path:
    """Write the document of a package being finished (its notebooks' results.json are in place, its
    manifest is not yet written) into it as ASSESSMENT_RESULTS."""
    # as the finished manifest.json will read back: the document derived later from it is the same
    manifest = json.loads(json.dumps(manifest, default=str, ensure_ascii=False))
    path = Path(work_dir) / ASSESSMENT_RESULTS
    write_json_atomically(path, assessment_results_document(manifest, _notebook_results(Path(work_dir))),
                          compact=True)
    return path


def _notebook_results(package_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(package_dir.glob("*/results.json"))}


def assessment_results_document(manifest: dict, results: dict[str, dict]) -> dict:
    """The document from a manifest (without its outputs) and each notebook's results.json by notebook name."""
    run_id, period = manifest["run_id"], manifest["period"]
    resources = _resources(run_id, manifest)
    uses = _evidence_types()
    observations, risks, findings, systems = [], [], [], set()
    included, excluded = [], []
    for control in manifest["controls"]:
        if control["status"] == "out_of_scope":
            excluded.append({"control-id": control["control"]})
            continue
        included.append({"control-id": control["control"]})
        rules = _rules(results.get(control["notebook"], {}), control["control"])
        observed, at_risk = [], []
        for rule in control["rules"]:
            detail = rules.get(rule["rule"], {})
            names = sorted({str(e.get("system") or "") for e in detail.get("exceptions", [])} - {""})
            systems.update(names)
            observation = _observation(run_id, control["control"], rule, detail, names, manifest,
                                       _evidence_links(results.get(control["notebook"], {}),
                                                       uses.get(rule["rule"], ()), resources))
            observations.append(observation)
            observed.append({"observation-uuid": observation["uuid"]})
            for number, row in enumerate(detail.get("exceptions", []), start=1):
                risk = _risk(run_id, control["control"], rule["rule"], number, row, observation["uuid"])
                risks.append(risk)
                at_risk.append({"risk-uuid": risk["uuid"]})
        findings.append(_finding(run_id, control, observed, at_risk))
    result = {
        "uuid": _uuid(run_id, "result"),
        "title": f"SOC 2 evidence tests, {period['label']}",
        "description": f"Evidence Workbench run {run_id} of {period['label']} ({period['start']} to {period['end']}): "
                       f"{manifest['status']}.",
        "start": f"{period['start']}T00:00:00Z",
        "end": f"{period['end']}T23:59:59Z",
        "props": [_prop("run-id", run_id), _prop("workbench-status", manifest["status"])],
        "reviewed-controls": {"control-selections": [{
            **({"include-controls": included} if included else {"include-all": {}}),
            **({"exclude-controls": excluded} if excluded else {})}]},
        "findings": findings,
    }
    if systems:
        result["local-definitions"] = {"components": [
            {"uuid": _uuid(run_id, "system", s), "type": "service", "title": s,
             "description": f"The system {s}, as its exports name it.", "status": {"state": "operational"}}
            for s in sorted(systems)]}
    if observations:
        result["observations"] = observations
    if risks:
        result["risks"] = risks
    metadata = {"title": f"Assessment results: SOC 2 evidence, {period['label']}",
                "last-modified": manifest.get("finished_at") or manifest.get("started_at"),
                "version": run_id, "oscal-version": OSCAL_VERSION}
    if manifest.get("prepared_by"):
        party = _uuid(run_id, "preparer")
        metadata["roles"] = [{"id": "preparer", "title": "Preparer"}]
        metadata["parties"] = [{"uuid": party, "type": "person", "name": manifest["prepared_by"]}]
        metadata["responsible-parties"] = [{"role-id": "preparer", "party-uuids": [party]}]
    return {"assessment-results": {
        "uuid": _uuid(run_id, "assessment-results"),
        "metadata": metadata,
        "import-ap": {"href": f"#{resources[MANIFEST]['uuid']}",
                      "remarks": "No OSCAL assessment plan: the package's manifest.json records what was run."},
        "results": [result],
        "back-matter": {"resources": list(resources.values())},
    }}


def write_assessment_results(run_dir: Path, out: Path) -> Path:
    """Write the document to OUT (outside the package: it is never changed)."""
    run_dir, out = Path(run_dir).resolve(), Path(out)
    if out.resolve().is_relative_to(run_dir):
        raise PackageError(f"{out}: inside the package, which is never changed; write it beside the package")
    write_json_atomically(out, assessment_results(run_dir))
    return out


def _rules(results: dict, control_id: str) -> dict[str, dict]:
    for control in results.get("controls") or []:
        if control["control"] == control_id:
            return {r["rule"]: r for r in control["rules"]}
    return {}


def _resources(run_id: str, manifest: dict) -> dict[str, dict]:
    """Evidence file -> its back-matter resource, with the file's SHA-256; and manifest.json, which hashes
    this document and so cannot be hashed in it."""
    resources = {MANIFEST: {
        "uuid": _uuid(run_id, "resource", MANIFEST), "title": MANIFEST,
        "description": "The package's manifest: every input and output file with its SHA-256 (this document "
                       "among them), the parameters and tool versions. Its own SHA-256 is the last line "
                       "`evidence run` printed; manifest.sig, when present, is its Ed25519 signature.",
        "rlinks": [{"href": MANIFEST}]}}
    for name, digest in manifest["inputs"]["evidence"].items():
        resources[f"evidence/{name}"] = {
            "uuid": _uuid(run_id, "resource", f"evidence/{name}"), "title": f"evidence/{name}",
            "rlinks": [{"href": f"evidence/{name}", "hashes": [{"algorithm": "SHA-256", "value": digest}]}]}
    return resources


def _evidence_types() -> dict[str, tuple[str, ...]]:
    """rule id -> the evidence types it tests, from the catalog."""
    from evidence_lib.controls import load_catalog

    return {rule.rule_id: rule.evidence for rule in load_catalog().rules}


def _evidence_links(results: dict, types: tuple[str, ...], resources: dict[str, dict]) -> list[dict]:
    """The files of the rule's evidence types its notebook read, as links to their resources. The resource
    carries the file's SHA-256; a link repeats it only where the notebook read other bytes than the run hashed
    (a finished run has none: it stops on such a file)."""
    links = []
    for row in results.get("inventory") or []:
        resource = resources.get(f"evidence/{row.get('file')}")
        if resource is not None and row.get("type") in types and row.get("sha256"):
            hashed = resource["rlinks"][0]["hashes"][0]["value"]
            read = "" if row["sha256"] == hashed else f", read with sha256 {row['sha256']}"
            links.append({"href": f"#{resource['uuid']}", "description": f"{row['file']} ({row['type']}{read})"})
    return links


def _observation(run_id: str, control_id: str, rule: dict, detail: dict, systems: list[str], manifest: dict,
                 evidence: list[dict]) -> dict:
    observation = {
        "uuid": _uuid(run_id, "observation", control_id, rule["rule"]),
        "title": f"{control_id} {rule['rule']}",
        "description": (detail.get("text") or rule["rule"]).rstrip(".")
                       + f": {rule['status']}, {rule['exception_count']} exception(s) in a population of "
                         f"{rule['population']}"
                       + (f" ({rule['reason']})" if rule.get("reason") else ""),
        "props": [_prop("rule", rule["rule"]), _prop("workbench-status", rule["status"]),
                  _prop("population", rule["population"]), _prop("exception-count", rule["exception_count"])],
        "methods": ["TEST"],
        "collected": manifest.get("finished_at") or manifest.get("started_at"),
    }
    if systems:
        observation["subjects"] = [{"subject-uuid": _uuid(run_id, "system", s), "type": "component", "title": s}
                                   for s in systems]
    if evidence:
        observation["relevant-evidence"] = evidence
    return observation


def _risk(run_id: str, control_id: str, rule_id: str, number: int, row: dict, observation: str) -> dict:
    key = ", ".join(f"{k}={v}" for k, v in row.items() if not str(k).startswith("response") and v not in (None, ""))
    approved = row.get("response_status") == RESPONDED
    return {
        "uuid": _uuid(run_id, "risk", control_id, rule_id, str(number)),
        "title": f"{control_id} {rule_id}: exception {number}",
        "description": key[:2000] or f"exception {number} of {rule_id}",
        "statement": f"The record did not meet {rule_id}."
                     + (f" Management's response: {row['response']}" if approved and row.get("response") else ""),
        "status": "deviation-approved" if approved else "open",
        "related-observations": [{"observation-uuid": observation}],
    }


def _finding(run_id: str, control: dict, observed: list[dict], at_risk: list[dict]) -> dict:
    status = control["status"]
    state = {"state": "satisfied", "reason": "pass"} if status == "pass" else \
        {"state": "not-satisfied", "reason": "fail" if status == "exceptions" else "other"}
    finding = {
        "uuid": _uuid(run_id, "finding", control["control"]),
        "title": f"{control['control']} {control['title']}",
        "description": control.get("deficiency_summary") or control.get("reason") or status,
        "props": [_prop("workbench-status", status)],
        "target": {"type": "objective-id", "target-id": control["control"], "status": state},
    }
    if observed:
        finding["related-observations"] = observed
    if at_risk:
        finding["related-risks"] = at_risk
    return finding
