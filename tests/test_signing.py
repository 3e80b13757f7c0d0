"""Signed packages and sign-offs (signing.py): an edited manifest with edited files passes the hashes, not the key.

One package is run with the stand-in notebooks of tests/test_redteam_run.py (a kernel each, a second
or two; in this process, as tests/test_reperform.py runs them) and signed; every test works on a private
copy of it.
"""

import hashlib
import json
import shutil
import stat

import pytest

from evidence_lib import run as run_module
from evidence_lib.package import MANIFEST, verify
from evidence_lib.run import run_period
from evidence_lib.signing import SigningError, check_signature, generate_keys, load_private_key, load_public_key
from evidence_lib.signoff import check_signoffs, sign_off
from tests.conftest import PERIOD, SAMPLE
from tests.test_redteam_run import stand_in_notebooks
from tests.test_reperform import in_process


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return generate_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory, keys):
    """(run result, its package): the stand-ins run on the sample, signed with `keys`."""
    root = tmp_path_factory.mktemp("signed")
    notebooks = stand_in_notebooks(root / "notebooks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "execute_tasks", in_process)
        result = run_period(PERIOD, evidence_dir=SAMPLE, out=root / "out", only=("CC1.4",), jobs=1,
                            notebooks_dir=notebooks, progress=False, sign=keys[0], preparer="Ana Ruiz")
    return result, result.run_dir


@pytest.fixture
def package(signed_run, tmp_path):
    copy = tmp_path / signed_run[1].name
    shutil.copytree(signed_run[1], copy)
    return copy


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites_it(tmp_path):
    private, public = generate_keys(tmp_path)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PUBLIC KEY" in public.read_bytes()
    before = private.read_bytes()
    with pytest.raises(SigningError, match="never overwritten"):
        generate_keys(tmp_path)
    assert private.read_bytes() == before


def test_a_private_key_others_can_read_is_refused(tmp_path):
    private, _ = generate_keys(tmp_path)
    private.chmod(0o644)
    with pytest.raises(SigningError, match="chmod 600"):
        load_private_key(private)


def test_a_signed_run_writes_manifest_sig_outside_the_hashed_outputs_and_it_verifies(signed_run, keys):
    result, run_dir = signed_run
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert (run_dir / "manifest.sig").is_file() and "manifest.sig" not in manifest["outputs"]
    assert verify(run_dir).ok
    assert check_signature(run_dir / MANIFEST, load_public_key(keys[1])) == ""
    assert result.manifest_sha256 == hashlib.sha256((run_dir / MANIFEST).read_bytes()).hexdigest()


def test_a_file_and_the_manifest_edited_together_pass_the_hashes_but_fail_verify_key(package, keys, run_cli):
    results = package / "40_people" / "results.json"
    results.chmod(0o644)
    results.write_text(results.read_text().replace('"pass"', '"exceptions"'))
    manifest_path = package / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["outputs"]["40_people/results.json"] = hashlib.sha256(results.read_bytes()).hexdigest()
    manifest_path.chmod(0o644)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    assert verify(package).ok  # the hashes alone cannot tell
    unkeyed = run_cli("verify", package)
    assert unkeyed.exit_code == 0, unkeyed.output
    keyed = run_cli("verify", package, "--key", keys[1])
    assert keyed.exit_code == 1
    assert "manifest.sig: does not verify" in keyed.output


def test_verify_key_passes_an_intact_package_and_fails_another_key_or_no_signature(package, keys, tmp_path, run_cli):
    intact = run_cli("verify", package, "--key", keys[1])
    assert intact.exit_code == 0, intact.output
    assert "signed by key" in intact.output
    _, other = generate_keys(tmp_path / "other")
    assert run_cli("verify", package, "--key", other).exit_code == 1
    (package / "manifest.sig").unlink()
    missing = run_cli("verify", package, "--key", keys[1])
    assert missing.exit_code == 1 and "no signature" in missing.output


def test_a_signed_signoff_verifies_with_the_reviewers_key_and_an_edited_record_does_not(package, tmp_path, run_cli):
    reviewer_private, reviewer_public = generate_keys(tmp_path / "reviewer")
    signed = run_cli("signoff", package, "--reviewer", "Dana Wu", "--sign", reviewer_private)
    assert signed.exit_code == 0, signed.output
    record = next((package / "signoffs").glob("*.json"))
    assert record.with_name(record.name + ".sig").is_file()
    assert check_signoffs(package, (load_public_key(reviewer_public),)).ok
    assert run_cli("verify", package, "--signoff-key", reviewer_public).exit_code == 0
    record.chmod(0o644)
    record.write_text(record.read_text().replace('"note": ""', '"note": "all fine"'))
    review = check_signoffs(package, (load_public_key(reviewer_public),))
    assert not review.ok and "does not verify" in review.problems[0]
    assert check_signoffs(package).ok  # without a key the record is still well-formed


def test_an_unsigned_signoff_fails_when_reviewer_keys_are_required(package, tmp_path):
    sign_off(package, "Dana Wu")
    _, public = generate_keys(tmp_path / "reviewer")
    review = check_signoffs(package, (load_public_key(public),))
    assert not review.ok and "no signature" in review.problems[0]


def test_run_sign_with_a_bad_key_fails_before_anything_is_written(tmp_path, run_cli):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    bad.chmod(0o600)
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--sign", bad)
    assert finished.exit_code == 2 and "not an unencrypted PEM private key" in finished.output
    assert not (out / PERIOD).exists() or not any((out / PERIOD).iterdir())
