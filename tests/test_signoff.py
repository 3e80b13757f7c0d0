"""A reviewer's sign-off: added beside a finished package without changing it, checked by `evidence verify`.

Every test signs a private copy of the shared `sample_run` package; none runs notebooks.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import stat
from datetime import UTC, datetime

import pytest

from evidence_lib.package import MANIFEST, hash_tree, verify
from evidence_lib.signoff import SignoffError, check_signoffs, sign_off, slug
from tests.conftest import ROOT

SIGNED_AT = datetime(2026, 10, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def package(sample_run, tmp_path):
    """A copy of the sample package (its files read-only, as `evidence run` left them)."""
    _, run_dir = sample_run
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    return copy


def manifest_sha256(run_dir) -> str:
    return hashlib.sha256((run_dir / MANIFEST).read_bytes()).hexdigest()


def test_a_signoff_is_a_new_read_only_record_naming_the_manifest_and_no_file_changes(package):
    before = hash_tree(package)
    path, record = sign_off(package, "Dana  Wu", "Tested CC6.2's population walk; WP 12.3", now=SIGNED_AT)
    assert path == package / "signoffs" / "20261002T093000Z-dana-wu.json"
    assert {p: d for p, d in hash_tree(package).items() if not p.startswith("signoffs/")} == before
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert json.loads(path.read_text()) == {
        "schema_version": 1, "run_id": package.name, "manifest_sha256": manifest_sha256(package),
        "reviewer": "Dana Wu", "signed_at": "2026-10-02T09:30:00+00:00",
        "note": "Tested CC6.2's population walk; WP 12.3"}
    assert record.reviewer == "Dana Wu"
    assert verify(package).ok  # the manifest never hashes sign-offs: they come after it
    review = check_signoffs(package)
    assert review.ok and review.lines() == [
        "reviewed by Dana Wu at 2026-10-02T09:30:00+00:00: Tested CC6.2's population walk; WP 12.3"]
    assert [p.name for p in (package / "signoffs").iterdir()] == [path.name]  # no temporary file left


def test_two_signoffs_in_the_same_second_never_overwrite_each_other(package):
    first, _ = sign_off(package, "Dana Wu", now=SIGNED_AT)
    second, _ = sign_off(package, "Dana Wu", "again", now=SIGNED_AT)
    assert first != second and second.name == "20261002T093000Z-dana-wu-2.json"
    assert json.loads(first.read_text())["note"] == "" and json.loads(second.read_text())["note"] == "again"
    assert len(check_signoffs(package).signoffs) == 2


def test_verify_says_not_yet_reviewed_then_who_reviewed_and_when(package, run_cli):
    unsigned = run_cli("verify", package)
    assert unsigned.exit_code == 0 and unsigned.stdout.splitlines()[-2:] == [
        f"{package}: every file matches manifest.json", "not yet reviewed"]
    signed = run_cli("signoff", package, "--reviewer", "Dana Wu", "--note", "WP 12.3")
    assert signed.exit_code == 0, signed.output
    assert signed.stdout.splitlines()[-1] == f"manifest sha256: {manifest_sha256(package)}"
    (record,) = (package / "signoffs").iterdir()
    signed_at = json.loads(record.read_text())["signed_at"]
    assert datetime.fromisoformat(signed_at).utcoffset().total_seconds() == 0
    checked = run_cli("verify", package)
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[-1] == f"reviewed by Dana Wu at {signed_at}: WP 12.3"


def test_a_signoff_naming_another_manifest_fails_verify_and_is_listed(package, run_cli):
    path, _ = sign_off(package, "Dana Wu", now=SIGNED_AT)
    signed = manifest_sha256(package)
    manifest = package / MANIFEST
    manifest.chmod(0o644)
    document = json.loads(manifest.read_text())
    document["status"], document["exit_code"] = "pass", 0  # the package re-stated after review
    manifest.write_text(json.dumps(document, indent=2))
    checked = run_cli("verify", package)
    assert checked.exit_code == 1
    lines = checked.stdout.splitlines()
    assert lines[0] == (f"sign-off: signoffs/{path.name}: Dana Wu's sign-off names manifest sha256 {signed[:12]}…, "
                        f"not this package's {manifest_sha256(package)[:12]}…: it approves another version of "
                        f"the package")
    assert lines[-1] == "not yet reviewed"
    assert "1 sign-off(s) do not name manifest.json sha256" in checked.stderr


def test_a_signoff_copied_from_another_package_fails_verify(package, tmp_path, run_cli):
    other = tmp_path / "other" / package.name
    shutil.copytree(package, other)
    other_manifest = other / MANIFEST
    other_manifest.chmod(0o644)
    other_manifest.write_text(other_manifest.read_text().replace('"status"', '"status" ', 1))  # same content, new bytes
    moved, _ = sign_off(other, "Lee Park", now=SIGNED_AT)
    (package / "signoffs").mkdir()
    shutil.copy(moved, package / "signoffs" / moved.name)
    review = check_signoffs(package)
    assert not review.ok and review.signoffs == [] and moved.name in review.problems[0]
    assert run_cli("verify", package).exit_code == 1


def test_anything_else_under_signoffs_is_a_problem_and_the_package_files_still_verify(package, run_cli):
    (package / "signoffs").mkdir()
    (package / "signoffs" / "notes.txt").write_text("looked fine")
    (package / "signoffs" / "forged.json").write_text(json.dumps({"reviewer": "Dana Wu"}))
    checked = run_cli("verify", package)
    assert checked.exit_code == 1
    assert checked.stdout.splitlines()[:2] == [
        "sign-off: signoffs/forged.json: not a sign-off record (a sign-off has exactly the keys schema_version, "
        "run_id, manifest_sha256, reviewer, signed_at, note)",
        "sign-off: signoffs/notes.txt: not a sign-off record (sign-offs are signoffs/<time>-<reviewer>.json)"]
    assert f"{package}: every file matches manifest.json" in checked.stdout


def test_a_changed_package_or_a_folder_that_is_not_one_is_not_signed(package, tmp_path, run_cli):
    report = package / "10_access" / "report.html"
    report.chmod(0o644)
    report.write_text(report.read_text() + "<!-- edited -->")
    refused = run_cli("signoff", package, "--reviewer", "Dana Wu")
    assert refused.exit_code == 2
    assert "changed: 10_access/report.html" in refused.stderr and "cannot be signed off" in refused.stderr
    assert not (package / "signoffs").exists()
    elsewhere = run_cli("signoff", tmp_path / "nothing", "--reviewer", "Dana Wu")
    assert elsewhere.exit_code == 2 and "manifest.json not found" in elsewhere.stderr
    missing = run_cli("signoff", package)
    assert missing.exit_code == 2 and "--reviewer" in missing.output


@pytest.mark.parametrize("reviewer, note", [("", None), ("  \n ", None), ("x" * 201, None), ("Dana Wu", "n" * 2001)])
def test_a_blank_reviewer_or_an_overlong_note_is_refused(package, reviewer, note):
    with pytest.raises(SignoffError):
        sign_off(package, reviewer, note)
    assert not (package / "signoffs").exists()


def test_a_signoff_that_cannot_be_written_adds_nothing(package, monkeypatch, run_cli):
    def no_links(source, target):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(target))

    monkeypatch.setattr(os, "link", no_links)
    failed = run_cli("signoff", package, "--reviewer", "Dana Wu")
    assert failed.exit_code == 2 and "cannot write the sign-off (Read-only file system)" in failed.stderr
    assert list((package / "signoffs").iterdir()) == []


def test_reviewer_slugs_are_plain_file_name_parts():
    assert [slug(n) for n in ("Dana Wu", "Zoë O'Brien", "../../etc", "李雷")] == [
        "dana-wu", "zoe-o-brien", "etc", "reviewer"]


def test_the_readme_signoff_example_shows_what_signoff_and_verify_print(package, run_cli):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("$ evidence signoff out/2026-Q3/<run-id>"):]
    example = example[:example.index("```")].splitlines()
    signoff_lines, verify_lines = example[1:example.index("$ evidence verify out/2026-Q3/<run-id>")], \
        example[example.index("$ evidence verify out/2026-Q3/<run-id>") + 1:]
    signed = run_cli("signoff", package, "--reviewer", "Dana Wu", "--note", "WP 12.3: populations re-performed")
    checked = run_cli("verify", package)
    for shown, printed in ((signoff_lines, signed.stdout), (verify_lines, checked.stdout)):
        assert [bool(re.fullmatch(_pattern(line, package), out)) for line, out in
                zip(shown, printed.splitlines(), strict=True)] == [True] * len(shown), (shown, printed)


def _pattern(line: str, package) -> str:
    """A README line as a pattern: the package path for out/2026-Q3/<run-id>, any UTC time, any sha256."""
    pattern = re.escape(line).replace(re.escape("out/2026-Q3/<run-id>"), re.escape(str(package)))
    pattern = pattern.replace(re.escape("2026-10-02T09:30:00+00:00"), r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    pattern = pattern.replace(re.escape("20261002T093000Z"), r"\d{8}T\d{6}Z")
    return pattern.replace(re.escape("3f5c…"), "[0-9a-f]{64}")
