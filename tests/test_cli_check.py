"""`evidence check` on the sample company, and on copies of it broken in every way we know."""

import re

import openpyxl
import pytest
import yaml

from tests.conftest import SAMPLE
from tests.corpus import count_rows


def test_sample_loads_every_file_with_its_rows(run_cli):
    result = run_cli("check", SAMPLE)
    assert result.exit_code == 0, result.output
    declared = yaml.safe_load((SAMPLE / "evidence.yaml").read_text())["files"]
    lines = result.output.splitlines()
    for entry in declared:
        line = next(text for text in lines if text.startswith(entry["path"] + " "))
        rows = count_rows(SAMPLE / entry["path"])
        assert f" {rows} " in line and line.count(f" {rows} ") >= 1, (entry["path"], rows, line)
        # a file without an optional column says which; no file has a problem
        assert line.rstrip().endswith(("ok", "skipped)")) or " ok (no column for: " in line, line
    assert f"{len(declared)} files" in result.output and "no problems" in result.output


def _declaration(folder):
    return yaml.safe_load((folder / "evidence.yaml").read_text())


def _declare(folder, spec):
    (folder / "evidence.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _redeclare(folder, index, **changes):
    """Change one file's entry in the folder's evidence.yaml."""
    spec = _declaration(folder)
    spec["files"][index].update(changes)
    _declare(folder, spec)


def _rewrite(path, transform, encoding="utf-8"):
    path.write_text(transform(path.read_text(encoding=encoding)), encoding=encoding)


def _check(run_cli, folder):
    result = run_cli("check", folder)
    return result.exit_code, result.output


def test_missing_declared_file(run_cli, sample_copy):
    (sample_copy / "people" / "screening_results.csv").unlink()
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "people/screening_results.csv: the declared file does not exist" in out
    assert "remove it from evidence.yaml" in out


def test_empty_file(run_cli, sample_copy):
    (sample_copy / "accounts" / "okta_users.csv").write_bytes(b"")
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "okta_users.csv: the file is empty" in out


def test_header_only(run_cli, sample_copy):
    _rewrite(sample_copy / "changes" / "jira_changes.csv", lambda t: t.splitlines()[0] + "\r\n")
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "jira_changes.csv: the file has a header but no data rows" in out


def test_unknown_column_set_names_missing_and_closest(run_cli, sample_copy):
    # A required column's source (an absent optional column loads: tests/test_mapping_variants.py).
    _rewrite(sample_copy / "accounts" / "okta_users.csv", lambda t: t.replace("Okta Username", "Okta User-name", 1),
             encoding="utf-8-sig")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert ("okta_users.csv:row 1:column 'Okta Username': missing column 'Okta Username' (needed for 'account_id', "
            "format okta_users_csv) — closest present: 'Okta User-name'") in out


def test_unparseable_date_names_row_and_column(run_cli, sample_copy):
    path = sample_copy / "changes" / "servicenow_change_request.csv"
    lines = path.read_text().splitlines()
    row = lines[4].split(",")
    created = row[9]
    lines[4] = lines[4].replace(created, "2026-13-45 10:00:00")
    path.write_text("\r\n".join(lines) + "\r\n")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "servicenow_change_request.csv:row 5:column 'sys_created_on': cannot read '2026-13-45 10:00:00' " \
           "as created_at (datetime)" in out
    assert "%Y-%m-%d %H:%M:%S" in out


def test_duplicate_keys(run_cli, sample_copy):
    path = sample_copy / "people" / "screening_results.csv"
    lines = path.read_text().splitlines()
    path.write_text("\r\n".join(lines + [lines[3]]) + "\r\n")
    code, out = _check(run_cli, sample_copy)
    key = lines[3].split(",")[0]
    assert code == 2
    assert f"screening_results.csv:row {len(lines) + 1}:column 'employee_id': duplicate key employee_id={key} " \
           f"(first at row 4)" in out


def test_unknown_vendor_format(run_cli, sample_copy):
    _redeclare(sample_copy, 1, format="okta_user_csv")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    # The closest format first; other close names may follow as more vendor formats ship.
    assert "unknown vendor format 'okta_user_csv' — did you mean okta_users_csv" in out


def test_declaration_not_yaml(run_cli, sample_copy):
    (sample_copy / "evidence.yaml").write_text("files:\n  - path: a.csv\n   type: [unclosed\n")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "evidence.yaml:row 3: not valid YAML" in out
    assert "Traceback" not in out


def test_declaration_unknown_evidence_type(run_cli, sample_copy):
    _redeclare(sample_copy, 0, type="hr_rooster")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "files[1] (hr/workday_workers.xlsx): unknown evidence type 'hr_rooster' — use one of hr_roster" in out


def test_xlsx_data_on_another_sheet(run_cli, sample_copy):
    path = sample_copy / "hr" / "workday_workers.xlsx"
    book = openpyxl.load_workbook(path)
    book["Workers"].title = "Worker Data"
    book.save(path)
    _redeclare(sample_copy, 0, sheet="Report Info")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "sheet 'Report Info' does not hold this export's columns; sheet 'Worker Data' does — " \
           "declare `sheet: Worker Data` for this file in evidence.yaml" in out


def test_xlsx_declared_sheet_missing(run_cli, sample_copy):
    path = sample_copy / "hr" / "workday_workers.xlsx"
    book = openpyxl.load_workbook(path)
    book["Workers"].title = "Export"
    book.save(path)
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "the workbook has no sheet 'Workers' — declare one of ['Report Info', 'Export']" in out


def test_csv_unexpected_delimiter(run_cli, sample_copy):
    _rewrite(sample_copy / "people" / "lms_completions.csv", lambda t: t.replace(",", ";"))
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "lms_completions.csv:row 1: the header splits on semicolons, not on commas — " \
           "declare `delimiter: \";\"` for this file in evidence.yaml" in out


def test_csv_unexpected_encoding(run_cli, sample_copy):
    spec = _declaration(sample_copy)
    billing = next(f for f in spec["files"] if f["path"].endswith("billing_db_accounts.csv"))
    del billing["encoding"]
    _declare(sample_copy, spec)
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "billing_db_accounts.csv:row " in out and "is not valid utf-8 (byte 0x" in out
    assert "declare it for this file in evidence.yaml, e.g. `encoding: cp1252`" in out


def test_declared_encoding_is_honoured_and_accents_survive():
    from evidence_lib.sources.folder import load_folder

    accounts = load_folder(SAMPLE).frame("accounts")
    names = set(accounts.loc[accounts["system"] == "billing-db", "display_name"].dropna())
    assert any(ch in name for name in names for ch in "éíñüöçáãëïåø"), names


def test_undeclared_file_is_reported(run_cli, sample_copy):
    (sample_copy / "accounts" / "slack_users.csv").write_text("id,email\n1,a@b.example\n")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    assert "accounts/slack_users.csv: file present but not declared in evidence.yaml" in out


def test_unreadable_typed_value_lists_every_bad_row(run_cli, sample_copy):
    path = sample_copy / "accounts" / "okta_users.csv"
    _rewrite(path, lambda t: t.replace(",ACTIVE,", ",ENABLED,", 3), encoding="utf-8-sig")
    code, out = _check(run_cli, sample_copy)
    assert code == 2
    located = re.findall(r"okta_users.csv:row (\d+):column 'Okta User Status': cannot read 'ENABLED' as enabled", out)
    assert len(located) == 3 and len(set(located)) == 3
    assert "map it under `values:` in the mapping" in out


def test_quarantine_keeps_bad_rows_aside_and_counts_them(run_cli, sample_copy):
    _rewrite(sample_copy / "accounts" / "okta_users.csv", lambda t: t.replace(",ACTIVE,", ",ENABLED,", 2),
             encoding="utf-8-sig")
    _redeclare(sample_copy, 1, bad_rows="quarantine")
    code, out = _check(run_cli, sample_copy)
    assert code == 0, out
    line = next(text for text in out.splitlines() if text.startswith("accounts/okta_users.csv"))
    assert " 182        180 " in line and "2 row(s) set aside as data-quality exceptions" in line

    from evidence_lib.sources.folder import load_folder

    okta = next(o for o in load_folder(sample_copy).outcomes if o.declared.system == "okta").loaded
    assert len(okta.rejected) == 2
    assert okta.rejected["problem"].str.contains("cannot read 'ENABLED' as enabled").all()
    assert okta.provenance.rows_read == okta.provenance.rows_kept + okta.provenance.rows_rejected


def test_missing_folder_and_missing_declaration(run_cli, tmp_path):
    code, out = _check(run_cli, tmp_path / "nowhere")
    assert code == 2 and "the evidence folder does not exist" in out
    code, out = _check(run_cli, tmp_path)
    assert code == 2 and "the folder has no evidence.yaml" in out


def test_mapping_declared_for_another_evidence_type(run_cli, sample_copy):
    _redeclare(sample_copy, 1, format="generic_hris_csv")
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "format 'generic_hris_csv' maps hr_roster, but the file is declared as accounts" in out


@pytest.mark.parametrize("garbage", [b"\x00\x01\x02\xff" * 10, b"PK\x03\x04 not really a zip"])
def test_corrupt_xlsx(run_cli, sample_copy, garbage):
    (sample_copy / "hr" / "workday_workers.xlsx").write_bytes(garbage)
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "not a readable XLSX workbook" in out and "save it again as .xlsx" in out


def test_malformed_json(run_cli, sample_copy):
    path = sample_copy / "accounts" / "github_org_members.json"
    path.write_text(path.read_text()[:-10])
    code, out = _check(run_cli, sample_copy)
    assert code == 2 and "github_org_members.json:row " in out and "not valid JSON" in out
