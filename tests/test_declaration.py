"""evidence.yaml's typed fields: domains, placeholders, scope, period, where each export came from,
and the keys it may hold."""

from __future__ import annotations

import pytest

from evidence_lib.errors import DeclarationError
from evidence_lib.sources.folder import ScopeDecision, check_period, read_declaration
from tests.corpus import declaration, declare, redeclare

DEFAULT_PLACEHOLDERS = ("n/a", "na", "none", "null", "nil", "-", "--", "tbd", "tba", "unknown", "?", "#n/a")


def declared_with(folder, **top):
    spec = declaration(folder)
    spec.update(top)
    declare(folder, spec)
    return read_declaration(folder)


def refused(folder, **top) -> str:
    with pytest.raises(DeclarationError) as error:
        declared_with(folder, **top)
    return str(error.value)


def test_absent_new_fields_take_their_defaults(sample_copy):
    spec = declaration(sample_copy)
    for key in ("domains", "placeholders", "scope"):
        spec.pop(key, None)
    declare(sample_copy, spec)
    declared = read_declaration(sample_copy)
    assert declared.domains == () and declared.scope == ()
    assert declared.placeholders == DEFAULT_PLACEHOLDERS
    assert declared.period == "2026-Q3" and len(declared.sha256) == 64


def test_domains_are_stripped_casefolded_and_deduplicated(sample_copy):
    declared = declared_with(sample_copy, domains=[" Northwind.Example ", "@northwind.example", "nw-labs.co.uk"])
    assert declared.domains == ("northwind.example", "nw-labs.co.uk")


@pytest.mark.parametrize("bad", ["northwind", "a@b.example", "-x.example", "x..example", "", 42])
def test_a_domain_of_the_wrong_shape_is_refused(sample_copy, bad):
    assert "is not an e-mail domain — write the part after the @" in refused(sample_copy, domains=[bad])


def test_domains_must_be_a_list(sample_copy):
    assert "`domains:` must be a list" in refused(sample_copy, domains="northwind.example")


def test_placeholders_are_declared_words_casefolded(sample_copy):
    assert declared_with(sample_copy, placeholders=[" N/A", "Pending", "-", 0]).placeholders == ("n/a", "pending",
                                                                                               "-", "0")
    assert declared_with(sample_copy, placeholders=[]).placeholders == ()


def test_a_placeholder_yaml_reads_as_something_else_asks_for_quotes(sample_copy):
    (sample_copy / "evidence.yaml").write_text((sample_copy / "evidence.yaml").read_text()
                                               + "placeholders: [null, yes]\n")
    with pytest.raises(DeclarationError) as error:
        read_declaration(sample_copy)
    assert "placeholders: 'None' is not a word — quote each word, e.g. \"-\"" in str(error.value)


SCOPE = {"rule": "access_review_complete", "system": " Billing-DB ", "reason": "decommissioned on 2026-07-02",
         "decided_by": "CISO", "decided_on": "2026-07-03"}


def test_a_scope_decision_is_typed(sample_copy):
    declared = declared_with(sample_copy, scope=[SCOPE, {"control": "CC8.1", "reason": "no production changes",
                                                         "decided_by": "CTO", "decided_on": "2026-07-01"}])
    assert declared.scope == (
        ScopeDecision(rule="access_review_complete", control=None, system="billing-db",
                      reason="decommissioned on 2026-07-02", decided_by="CISO", decided_on="2026-07-03"),
        ScopeDecision(rule=None, control="CC8.1", system=None, reason="no production changes", decided_by="CTO",
                      decided_on="2026-07-01"),
    )


def test_an_unquoted_decision_date_reads_as_a_date(sample_copy):
    text = (sample_copy / "evidence.yaml").read_text()
    (sample_copy / "evidence.yaml").write_text(text + "scope:\n- {control: CC6.2, reason: r, decided_by: me, "
                                                      "decided_on: 2026-07-03}\n")
    assert read_declaration(sample_copy).scope[0].decided_on == "2026-07-03"


@pytest.mark.parametrize("change, message", [
    ({"control": "CC6.2"}, "scope[1] needs exactly one of `rule:` or `control:`"),
    ({"rule": None}, "scope[1] needs exactly one of `rule:` or `control:`"),
    ({"reason": " "}, "scope[1] lacks `reason:`"),
    ({"decided_by": None}, "scope[1] lacks `decided_by:`"),
    ({"decided_on": "last week"}, "scope[1]: decided_on 'last week' is not a date — write it as YYYY-MM-DD"),
    ({"decided_on": "2026-02-30"}, "scope[1]: decided_on '2026-02-30' is not a date"),
    ({"approved": "yes"}, "scope[1]: unknown key 'approved'"),
])
def test_an_incomplete_scope_decision_is_refused(sample_copy, change, message):
    assert message in refused(sample_copy, scope=[{**SCOPE, **change}])


def test_unknown_top_level_keys_are_refused_with_a_suggestion(sample_copy):
    text = refused(sample_copy, exportedAt="2026-10-01T06:00:00Z", owner="me")
    assert "unknown key 'exportedAt' — did you mean `exported_at`?" in text
    assert "unknown key 'owner'" in text and "known: company, period, exported_at" in text


@pytest.mark.parametrize("written, label", [("2026-q3", "2026-Q3"), (" 2026-Q3 ", "2026-Q3"), ("2026-08", "2026-08"),
                                            ("2026-07-15..2026-09-30", "2026-07-15..2026-09-30")])
def test_the_period_is_normalised(sample_copy, written, label):
    assert declared_with(sample_copy, period=written).period == label


def test_an_unreadable_period_is_refused(sample_copy):
    assert "period 'Q3 2026' is not a period" in refused(sample_copy, period="Q3 2026")


def test_an_unreadable_export_time_is_refused(sample_copy):
    assert "exported_at: 'soon' is not a date and time" in refused(sample_copy, exported_at="soon")
    assert declared_with(sample_copy, exported_at="2026-10-01T06:00:00Z").exported_at == "2026-10-01T06:00:00Z"


def test_check_period_refuses_another_period_unless_allowed(sample_copy):
    declared = read_declaration(sample_copy)
    check_period(declared, "2026-Q3")
    check_period(declared, "2026-q3")
    with pytest.raises(DeclarationError) as error:
        check_period(declared, "2026-Q4")
    assert ("evidence.yaml: the evidence is declared for period 2026-Q3, not for the requested 2026-Q4 — "
            "pass --period 2026-Q3 or --allow-period-mismatch") in str(error.value)
    check_period(declared, "2026-Q4", allow_mismatch=True)


def test_check_period_without_a_declared_period_accepts_any(sample_copy):
    spec = declaration(sample_copy)
    del spec["period"]
    declare(sample_copy, spec)
    check_period(read_declaration(sample_copy), "2026-Q4")


def test_a_declared_system_is_normalised(sample_copy):
    spec = declaration(sample_copy)
    spec["files"][1]["system"] = "  OKTA "
    declare(sample_copy, spec)
    assert read_declaration(sample_copy).files[1].system == "okta"


OKTA = "accounts/okta_users.csv"  # files[2] of the sample's evidence.yaml
OKTA_ENTRY = f"files[2] ({OKTA})"


def okta_declared(folder, **changes):
    redeclare(folder, OKTA, **changes)
    return next(d for d in read_declaration(folder).files if d.path == OKTA)


def okta_refused(folder, **changes) -> str:
    redeclare(folder, OKTA, **changes)
    with pytest.raises(DeclarationError) as error:
        read_declaration(folder)
    return str(error.value)


def test_where_an_export_came_from_is_typed(sample_copy):
    declared = okta_declared(sample_copy, source=" Okta admin console: Reports > User export (CSV) ",
                             extracted_by="it-ops@northwind.example", extracted_at="2026-10-01T06:05:00Z",
                             control_total={"count": 182, "source": "Okta admin console user count"})
    assert (declared.source, declared.extracted_by) == ("Okta admin console: Reports > User export (CSV)",
                                                        "it-ops@northwind.example")
    assert declared.exported_at == "2026-10-01T06:05:00Z"  # extracted_at is another name for exported_at
    assert (declared.control_total, declared.control_total_source) == (182, "Okta admin console user count")
    assert okta_declared(sample_copy, control_total=0).control_total == 0


def test_the_origin_fields_are_optional(sample_copy):
    spec = declaration(sample_copy)
    for key in ("source", "extracted_by", "control_total"):
        spec["files"][1].pop(key, None)
    declare(sample_copy, spec)
    declared = read_declaration(sample_copy).files[1]
    assert (declared.source, declared.extracted_by, declared.control_total, declared.control_total_source) == (
        None, None, None, None)
    assert declared.exported_at == "2026-10-01T06:00:00+00:00"  # the top level's


def test_extracted_at_at_the_top_level_is_every_files_export_time(sample_copy):
    spec = declaration(sample_copy)
    spec["extracted_at"] = spec.pop("exported_at")
    declare(sample_copy, spec)
    declared = read_declaration(sample_copy)
    assert declared.exported_at == "2026-10-01T06:00:00+00:00"
    assert {d.exported_at for d in declared.files} == {"2026-10-01T06:00:00+00:00"}


def test_exported_at_and_extracted_at_together_are_refused(sample_copy):
    text = okta_refused(sample_copy, exported_at="2026-10-01T06:05:00Z", extracted_at="2026-10-01T06:05:00Z")
    assert (f"{OKTA_ENTRY}: both exported_at and extracted_at are given — they name one time, when the export "
            "was taken: keep `exported_at:` only") in text
    assert "evidence.yaml: both exported_at and extracted_at are given" in refused(
        sample_copy, extracted_at="2026-10-01T06:00:00Z")


@pytest.mark.parametrize("change, message", [
    ({"extracted_at": "yesterday"}, "extracted_at: 'yesterday' is not a date and time — write it as ISO 8601"),
    ({"source": ""}, "source is empty — write it in words, e.g. `source: Okta admin console"),
    ({"source": None}, "source is empty"),
    ({"source": ["Okta", "export"]}, "source \"['Okta', 'export']\" is not text"),
    ({"extracted_by": True}, "extracted_by 'True' is not text — write it in words, e.g. `extracted_by: "),
    ({"control_total": -1}, "control_total '-1' is not a count of records — give the number an independent screen "
                            "shows (e.g. the HRIS headcount) as a whole number, e.g. `control_total: 58`"),
    ({"control_total": "182"}, "control_total '182' is quoted: a count is a number"),
    ({"control_total": 182.0}, "control_total '182.0' is not a count of records"),
    ({"control_total": True}, "control_total 'True' is not a count of records"),
    ({"control_total": None}, "control_total has no count"),
    ({"control_total": {"source": "Okta"}}, "control_total has no count — give the number"),
    ({"control_total": {"count": 182, "source": " "}}, "control_total: source is empty"),
    ({"control_total": {"count": 182, "screen": "Okta"}}, "control_total: unknown key 'screen' — known: count, source"),
])
def test_a_bad_origin_value_is_refused_at_its_file_entry(sample_copy, change, message):
    assert f"evidence.yaml: {OKTA_ENTRY}: {message}" in okta_refused(sample_copy, **change)
