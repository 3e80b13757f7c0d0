"""The published formats (docs/*.schema.json) hold for a real package, and reject what an auditor must not accept.

The package is the shared `sample_run` (one full run of the sample period); everything else here is fast.
"""

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from evidence_lib.run import MANIFEST_SCHEMA_VERSION
from evidence_lib.signoff import SIGNOFF_SCHEMA_VERSION, sign_off

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMAS = {"manifest": DOCS / "manifest.schema.json", "results": DOCS / "results.schema.json",
           "signoff": DOCS / "signoff.schema.json"}


def schema(name: str) -> dict:
    return json.loads(SCHEMAS[name].read_text(encoding="utf-8"))


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, document: dict) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(document)]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def package(sample_run):
    """(manifest, {notebook folder: results}) of the shared sample run."""
    _, run_dir = sample_run
    results = {p.parent.name: read_json(p) for p in sorted(run_dir.glob("*/results.json"))}
    return read_json(run_dir / "manifest.json"), results


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_a_valid_draft_2020_12_schema(name):
    document = schema(name)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(document)
    version = document["properties"]["schema_version"]["const"]
    assert document["$id"].endswith(f"/{version}") and f"schema version {version}" in document["title"]
    assert document["additionalProperties"] is False and "schema_version" in document["required"]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_readme_states_each_schema_version(name):
    version = schema(name)["properties"]["schema_version"]["const"]
    row = re.search(rf"\[`{name}\.schema\.json`\]\({name}\.schema\.json\) \| (\d+) \|",
                    (DOCS / "README.md").read_text(encoding="utf-8"))
    assert row and int(row[1]) == version


def test_the_manifest_of_a_real_package_validates(package):
    manifest, _ = package
    assert errors("manifest", manifest) == []
    assert manifest["schema_version"] == schema("manifest")["properties"]["schema_version"]["const"]
    assert manifest["schema_version"] == MANIFEST_SCHEMA_VERSION


@pytest.fixture(scope="module")
def signoff_record(sample_run, tmp_path_factory):
    """A sign-off of a copy of the shared sample package (the shared one stays unsigned)."""
    _, run_dir = sample_run
    copy_dir = tmp_path_factory.mktemp("signed") / run_dir.name
    shutil.copytree(run_dir, copy_dir)
    path, _ = sign_off(copy_dir, "Dana Wu", "WP 12.3")
    return read_json(path)


def test_a_real_signoff_validates(signoff_record):
    assert errors("signoff", signoff_record) == []
    assert signoff_record["schema_version"] == SIGNOFF_SCHEMA_VERSION == schema("signoff")["properties"][
        "schema_version"]["const"]


def test_every_results_json_of_a_real_package_validates(package):
    manifest, results = package
    assert set(results) == {n["name"] for n in manifest["notebooks"] if n["has_results"]}
    assert "00_inventory" in results and results["00_inventory"]["controls"] == []  # the shape without controls
    assert any(r["controls"] for r in results.values())
    version = schema("results")["properties"]["schema_version"]["const"]
    for name, document in results.items():
        assert errors("results", document) == [], name
        assert document["schema_version"] == version, name


def test_the_documented_command_line_validates_a_real_manifest(sample_run):
    _, run_dir = sample_run
    checked = subprocess.run([sys.executable, "-W", "ignore", "-m", "jsonschema", "-i", str(run_dir / "manifest.json"),
                              str(SCHEMAS["manifest"])], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- what must not validate: each mutation of a real document breaks it ---------------------------------

def _first_rule(controls: list[dict]) -> dict:
    return next(r for c in controls for r in c["rules"])


def _first_path(hashes: dict) -> str:
    return next(iter(hashes))


def _set(key, value):
    def mutate(document):
        document[key] = value
    return mutate


def _delete(key):
    def mutate(document):
        del document[key]
    return mutate


def _short_output_hash(manifest):
    path = _first_path(manifest["outputs"])
    manifest["outputs"][path] = manifest["outputs"][path][:63]


def _upper_case_evidence_hash(manifest):
    path = _first_path(manifest["inputs"]["evidence"])
    manifest["inputs"]["evidence"][path] = manifest["inputs"]["evidence"][path].upper()


def _output_outside_the_package(manifest):
    manifest["outputs"]["../elsewhere/report.html"] = "0" * 64


def _negative_population(document):
    _first_rule(document["controls"])["population"] = -1


def _fractional_exception_count(document):
    _first_rule(document["controls"])["exception_count"] = 1.5


def _control_without_status(manifest):
    del manifest["controls"][0]["status"]


def _exit_code_contradicting_status(manifest):
    manifest["status"], manifest["exit_code"] = "error", 0


MANIFEST_MUTATIONS = {
    "status passed": _set("status", "passed"),
    "sha256 of 63 characters": _short_output_hash,
    "sha256 in upper case": _upper_case_evidence_hash,
    "output path with ..": _output_outside_the_package,
    "negative population": _negative_population,
    "fractional exception count": _fractional_exception_count,
    "missing schema_version": _delete("schema_version"),
    "schema_version 1 (before prepared_by)": _set("schema_version", 1),
    "missing prepared_by": _delete("prepared_by"),
    "empty prepared_by": _set("prepared_by", ""),
    "prepared_by on two lines": _set("prepared_by", "Ana\nRuiz"),
    "sign-off among the hashed outputs": lambda m: m["outputs"].update({"signoffs/x.json": "0" * 64}),
    "missing outputs": _delete("outputs"),
    "unknown top-level key": _set("counts", {}),
    "control without status": _control_without_status,
    "exit code contradicting status": _exit_code_contradicting_status,
    "finished_at not a time": _set("finished_at", "yesterday"),
    "impossible date": lambda m: m["period"].update(end="2026-02-30"),
}


@pytest.mark.parametrize("mutation", sorted(MANIFEST_MUTATIONS))
def test_a_mutated_manifest_does_not_validate(package, mutation):
    manifest = copy.deepcopy(package[0])
    MANIFEST_MUTATIONS[mutation](manifest)
    assert errors("manifest", manifest), f"{mutation}: still valid"


def _exception_row_not_an_object(results):
    rule = next(r for c in results["controls"] for r in c["rules"] if r["exceptions"])
    rule["exceptions"][0] = "a row flattened to text"


def _short_inventory_hash(results):
    row = next(r for r in results["inventory"] if r["sha256"])
    row["sha256"] = row["sha256"][:63]


def _negative_rows_kept(results):
    results["inventory"][0]["rows_kept"] = -3


def _controls_without_as_of(results):
    del results["as_of"], results["parameters"], results["integrity"]


RESULTS_MUTATIONS = {
    "status passed": _set("status", "passed"),
    "rule status passed": lambda r: _first_rule(r["controls"]).update(status="passed"),
    "negative population": _negative_population,
    "missing schema_version": _delete("schema_version"),
    "missing files_read": _delete("files_read"),
    "unknown top-level key": _set("verdict", "pass"),
    "exception row not an object": _exception_row_not_an_object,
    "inventory sha256 of 63 characters": _short_inventory_hash,
    "negative rows kept": _negative_rows_kept,
    "controls tested with no as-of date": _controls_without_as_of,
    "pii_masked as text": _set("pii_masked", "no"),
}


@pytest.mark.parametrize("mutation", sorted(RESULTS_MUTATIONS))
def test_a_mutated_results_json_does_not_validate(package, mutation):
    _, results = package
    name = next(n for n, r in results.items() if any(rule["exceptions"] for c in r["controls"] for rule in c["rules"]))
    document = copy.deepcopy(results[name])
    RESULTS_MUTATIONS[mutation](document)
    assert errors("results", document), f"{mutation}: still valid"


SIGNOFF_MUTATIONS = {
    "manifest sha256 of 63 characters": lambda d: d.update(manifest_sha256=d["manifest_sha256"][:63]),
    "no reviewer": _delete("reviewer"),
    "blank reviewer": _set("reviewer", " "),
    "signed_at not in UTC": _set("signed_at", "2026-10-02T09:30:00+02:00"),
    "signed_at not a time": _set("signed_at", "after lunch"),
    "note missing": _delete("note"),
    "schema_version 2": _set("schema_version", 2),
    "unknown key": _set("approved", True),
    "run id not a run id": _set("run_id", "latest"),
}


@pytest.mark.parametrize("mutation", sorted(SIGNOFF_MUTATIONS))
def test_a_mutated_signoff_does_not_validate(signoff_record, mutation):
    document = copy.deepcopy(signoff_record)
    SIGNOFF_MUTATIONS[mutation](document)
    assert errors("signoff", document), f"{mutation}: still valid"
