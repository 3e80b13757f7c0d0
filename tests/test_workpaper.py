"""The package as a workpaper, on the sample company's run: where each exception came from, how each
population was reached, management's responses, and text written for people (no nan, no None)."""

import csv
import html
import io
import itertools
import json
import re

import yaml

from evidence_lib.package import MANIFEST
from tests.conftest import SAMPLE

LEFTOVERS = re.compile(r"(?<![\w.-])(nan|NaN|None|NaT|\[\])(?![\w-])")


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles and tags, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_no_nan_none_or_empty_list_text_anywhere_in_the_package(sample_run):
    _, run_dir = sample_run
    found = {}
    for path in run_dir.rglob("*"):
        if path.suffix == ".html":
            text = visible_text(path.read_text(encoding="utf-8"))
        elif path.suffix == ".csv":
            text = path.read_text(encoding="utf-8")
        else:
            continue
        hits = sorted({m.group(1) for m in LEFTOVERS.finditer(text)})
        if hits:
            found[path.relative_to(run_dir).as_posix()] = hits
    assert not found


def test_every_exception_names_its_export_and_row_and_the_row_holds_the_record(sample_run):
    _, run_dir = sample_run
    checked = 0
    declared = yaml.safe_load((SAMPLE / "evidence.yaml").read_text(encoding="utf-8"))["files"]
    systems = {f["path"]: f.get("system") or "" for f in declared}
    for path in run_dir.glob("*/exceptions.csv"):
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            if row["control"] == "IPE":
                continue
            assert row["source_file"] and row["source_row"].isdigit(), (path.name, row)
            export = SAMPLE / row["source_file"]
            assert export.is_file(), row["source_file"]
            if export.suffix == ".csv":
                encoding = "latin-1" if export.name == "billing_db_accounts.csv" else "utf-8-sig"
                lines = list(csv.reader(io.StringIO(export.read_text(encoding=encoding))))
                cells = {c.strip().casefold() for c in lines[int(row["source_row"]) - 1]}
                # a key of one column may hold ':' (an ARN); a key of several is their values joined with ':'; a
                # register's record is the system its file is declared as
                key = row["record_key"].casefold()
                held = cells | {systems.get(row["source_file"], "").casefold()}
                assert key in held or key.split(":")[-1] in held or key.split(":")[0] in held, \
                    (row["record_key"], row["source_row"])
            checked += 1
    assert checked == sum(1 for line in (SAMPLE / "expected_exceptions.csv").read_text().splitlines()[1:] if line)


def test_responses_show_responded_expired_and_stale_and_the_index_counts_them(sample_run):
    _, run_dir = sample_run
    responses = yaml.safe_load((SAMPLE / "responses.yaml").read_text())["responses"]
    responded, expired, stale = responses
    results = json.loads((run_dir / "10_access" / "results.json").read_text())
    rules = {r["rule"]: r for c in results["controls"] for r in c["rules"]}
    by_key = {(row.get("system"), row["account_id"]): row for row in rules["mfa_enabled"]["exceptions"]}
    assert by_key[(responded["system"], responded["key"])]["response_status"] == "responded"
    assert by_key[(responded["system"], responded["key"])]["response_remediation"] == responded["remediation"]
    dormant = {(row.get("system"), row["account_id"]): row for row in rules["no_dormant_accounts"]["exceptions"]}
    assert dormant[(expired["system"], expired["key"])]["response_status"] == "open (response expired)"
    assert rules["mfa_enabled"]["status"] == "exceptions"  # the auditor judges, not the response
    offboarding = json.loads((run_dir / "20_offboarding" / "results.json").read_text())
    assert [s["key"] for s in offboarding["stale_responses"]] == [stale["key"]]
    report = visible_text((run_dir / "20_offboarding" / "report.html").read_text(encoding="utf-8"))
    assert "Stale responses" in report and stale["key"] in report
    manifest = json.loads((run_dir / MANIFEST).read_text())
    cc61 = next(c for c in manifest["controls"] if c["control"] == "CC6.1")
    assert (cc61["responded"], cc61["open"]) == (1, cc61["exceptions"] - 1)
    assert "1 responded" in visible_text((run_dir / "index.html").read_text(encoding="utf-8"))


def test_every_rule_shows_its_population_walk_and_says_the_whole_population_was_tested(sample_run):
    _, run_dir = sample_run
    for path in run_dir.glob("*/results.json"):
        results = json.loads(path.read_text())
        report = visible_text((path.parent / "report.html").read_text(encoding="utf-8"))
        for control in results["controls"]:
            for rule in control["rules"]:
                walk = rule["walk"]
                assert walk[-1] == {"step": "tested", "count": rule["population"], "left": 0, "reason": ""}
                assert all(b["count"] == a["count"] - b["left"] for a, b in itertools.pairwise(walk))
        judged = sum(len(c["rules"]) for c in results["controls"]) + len((results.get("integrity") or {}).get(
            "rules", []))
        assert report.count("Population walk") == judged
        assert report.count("The whole population was tested") == judged
