"""Management responses: each exception open or responded, expired responses open, stale ones listed."""

import pytest
import yaml

from evidence_lib.sources.folder import load_folder
from evidence_lib.sources.responses_file import ResponsesError
from tests.corpus import check, expected_exceptions

RULES = ("mfa_enabled", "no_dormant_accounts")


def respond(folder, *entries) -> None:
    (folder / "responses.yaml").write_text(yaml.safe_dump({"responses": list(entries)}), encoding="utf-8")


def entry(row, **changes) -> dict:
    return {"control": row["control"], "rule": row["rule"], "system": row["system"], "key": row["record_key"],
            "classification": "execution", "response": "MFA enforced by policy on 2026-10-03",
            "remediation": "SEC-88", "approved_by": "CISO", "approved_at": "2026-10-03", **changes}


@pytest.fixture
def planted(sample_copy):
    """Two planted MFA exceptions and one planted dormant account, from the generator's answer key."""
    expected = expected_exceptions(sample_copy)
    mfa = expected[expected["rule"] == "mfa_enabled"].to_dict("records")
    dormant = expected[expected["rule"] == "no_dormant_accounts"].to_dict("records")
    return sample_copy, mfa, dormant


def rows_of(validation, rule_id):
    return next(r for r in validation.rules if r.rule.rule_id == rule_id)


def test_a_response_marks_its_exception_responded_and_an_expired_one_stays_open(planted):
    folder, mfa, dormant = planted
    respond(folder, entry(mfa[0]), entry(mfa[1], expires="2026-09-01", approved_at="2026-08-01"),
            entry(dormant[0], classification="timing", response="disabled on 2026-10-02"),
            entry(dormant[0], key="nobody-at-all", response="stale"))
    _, validation = check(folder, rules=RULES)
    mfa_result = rows_of(validation, "mfa_enabled")
    assert mfa_result.status == "exceptions"  # a response never changes the verdict: the auditor judges
    by_key = dict(zip(mfa_result.exceptions["account_id"], mfa_result.exceptions["response_status"]))
    assert by_key[mfa[0]["record_key"]] == "responded"
    assert by_key[mfa[1]["record_key"]] == "open (response expired)"
    assert sorted(set(by_key.values()) - {"responded", "open (response expired)"}) == (["open"] if len(mfa) > 2
                                                                                       else [])
    assert (mfa_result.responded, rows_of(validation, "no_dormant_accounts").responded) == (1, 1)
    assert [s.key for s in validation.stale_responses] == ["nobody-at-all"]
    control = next(c for c in validation.controls if c.control_id == mfa[0]["control"])
    document = validation.as_dict()
    written = next(c for c in document["controls"] if c["control"] == control.control_id)
    assert written["responded"] == 1 and written["open"] == sum(r.exception_count for r in control.rules) - 1
    assert "1 responded" in written["deficiency_summary"] and "mfa_enabled " in written["deficiency_summary"]
    assert "(high)" in written["deficiency_summary"]
    assert document["stale_responses"][0]["key"] == "nobody-at-all"


def test_the_responses_file_is_read_and_hashed_with_the_evidence(planted):
    folder, mfa, _ = planted
    respond(folder, entry(mfa[0]))
    evidence = load_folder(folder)
    assert evidence.ok and "responses.yaml" in evidence.files_read()


@pytest.mark.parametrize(("change", "message"), [
    ({"classification": "bad luck"}, "classification 'bad luck' is not one of"),
    ({"approved_at": "soon"}, "approved_at 'soon' is not a date"),
    ({"expires": "2026-01-01"}, "is before approved_at"),
    ({"response": ""}, "missing ['response']"),
    ({"owner": "x"}, "unknown key(s) ['owner']"),
])
def test_a_malformed_response_is_an_error_naming_the_entry(planted, change, message):
    folder, mfa, _ = planted
    respond(folder, entry(mfa[0]), entry(mfa[1], **change))
    with pytest.raises(ResponsesError, match="entry 2: ") as raised:
        load_folder(folder)
    assert message in str(raised.value)


def test_a_response_to_an_unknown_rule_or_the_wrong_control_is_an_error(planted):
    folder, mfa, _ = planted
    respond(folder, entry(mfa[0], rule="mfa_everywhere"), entry(mfa[1], control="CC8.1"))
    with pytest.raises(ResponsesError) as raised:
        check(folder, rules=RULES)
    assert "entry 1: unknown rule 'mfa_everywhere'" in str(raised.value)
    assert "entry 2: rule mfa_enabled tests CC6.1, not CC8.1" in str(raised.value)


def test_two_responses_to_one_exception_are_an_error(planted):
    folder, mfa, _ = planted
    respond(folder, entry(mfa[0]), entry(mfa[0], response="again"))
    with pytest.raises(ResponsesError, match="entry 2 answers the same exception as entry 1"):
        load_folder(folder)
