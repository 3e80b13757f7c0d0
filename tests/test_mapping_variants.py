"""Real exports that differ from a built-in format: candidate columns, absent optional columns,
per-file overrides in evidence.yaml, header-only evidence that may be empty, finding the header row.

Every case edits a copy of the sample company as a person would (rename a header, drop a
column, add a title row) and loads it in-process; expected values come from the sample file itself.
"""

from __future__ import annotations

import pytest
import yaml

from evidence_lib.sources.folder import load_folder
from tests.corpus import declaration, declare, read_csv, redeclare, write_csv

OKTA = "accounts/okta_users.csv"
OKTA_MAPPING = "evidence_lib/sources/mappings/okta_users_csv.yaml"


def outcome(folder, path):
    return next(o for o in load_folder(folder).outcomes if o.declared.path == path)


def loaded(folder, path):
    found = outcome(folder, path)
    assert found.ok, "\n".join(map(str, found.problems))
    return found.loaded


def problems(folder, path) -> str:
    found = outcome(folder, path)
    assert not found.ok, f"{path} loaded"
    return "\n".join(map(str, found.problems))


def rename_column(path, old, new):
    header, rows, encoding = read_csv(path)
    header[header.index(old)] = new
    write_csv(path, header, rows, encoding)


def drop_column(path, name):
    header, rows, encoding = read_csv(path)
    at = header.index(name)
    write_csv(path, header[:at] + header[at + 1:], [r[:at] + r[at + 1:] for r in rows], encoding)


def column_values(path, name) -> list[str]:
    header, rows, _ = read_csv(path)
    return [r[header.index(name)] for r in rows if r]


def own_okta_mapping(folder, **columns) -> None:
    """The built-in Okta mapping with some columns changed, as a mapping of the company's own."""
    from tests.conftest import ROOT

    spec = yaml.safe_load((ROOT / OKTA_MAPPING).read_text())
    spec["columns"].update(columns)
    (folder / "okta_own.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    redeclare(folder, OKTA, format="okta_own.yaml")


# --- candidate source columns ---------------------------------------------------------------


@pytest.mark.parametrize("written", [{"from": ["Primary Email", "Email", "Work Email"]},
                                     ["Primary Email", "Email", "Work Email"]])
def test_the_first_candidate_present_wins_and_is_recorded(sample_copy, written):
    emails = [e.strip().lower() for e in column_values(sample_copy / OKTA, "Primary Email")]  # blank: none
    rename_column(sample_copy / OKTA, "Primary Email", "Email")
    own_okta_mapping(sample_copy, email=written)
    okta = loaded(sample_copy, OKTA)
    assert okta.frame["email"].fillna("").tolist() == emails
    assert okta.provenance.columns_used["email"] == "Email"
    assert okta.provenance.absent_columns == ()


def test_an_earlier_candidate_wins_over_a_later_one(sample_copy):
    header, rows, encoding = read_csv(sample_copy / OKTA)
    write_csv(sample_copy / OKTA, header + ["Work Email"], [r + ["other@elsewhere.example"] for r in rows], encoding)
    own_okta_mapping(sample_copy, email=["Work Email", "Primary Email"])
    okta = loaded(sample_copy, OKTA)
    assert set(okta.frame["email"]) == {"other@elsewhere.example"}
    assert okta.provenance.columns_used["email"] == "Work Email"


def test_every_column_used_is_recorded(sample_copy):
    used = loaded(sample_copy, OKTA).provenance.columns_used
    assert used["account_id"] == "Okta Username" and used["email"] == "Primary Email"
    assert used["system"] == "declared"
    aws = loaded(sample_copy, "accounts/aws_prod_credential_report.csv").provenance.columns_used
    assert aws["enabled"] == "password_enabled+access_key_1_active+access_key_2_active"
    github = loaded(sample_copy, "accounts/github_org_members.json").provenance.columns_used
    assert github["enabled"] == "constant"


def test_no_candidate_present_names_every_candidate_and_the_closest_header(sample_copy):
    rename_column(sample_copy / OKTA, "Okta Username", "Okta User-name")
    own_okta_mapping(sample_copy, account_id=["Okta Username", "Username", "Login"], username="Okta User-name")
    text = problems(sample_copy, OKTA)
    assert ("okta_users.csv:row 1:column 'Okta Username | Username | Login': no column for 'account_id' "
            "(format okta_users_csv): none of 'Okta Username', 'Username', 'Login' is present — "
            "closest present: 'Okta User-name'") in text
