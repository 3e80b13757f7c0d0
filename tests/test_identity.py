import pandas as pd

from evidence_lib.identity import resolve_owners

ROSTER = pd.DataFrame({
    "employee_id": ["E1", "E2", "E3", "E4"],
    "email": ["ana.diaz@x.io", "bo.li@x.io", "sam.roe@x.io", "sam.roe@other.io"],
})


def accounts(*rows):
    return pd.DataFrame(rows, columns=["system", "account_id", "username", "email"])


def test_email_is_matched_without_case_or_white_space():
    result = resolve_owners(accounts(("okta", "a", None, "  Ana.Diaz@X.IO "), ("okta", "b", None, "bo.li@x.io")),
                            ROSTER)
    assert result["owner_employee_id"].tolist() == ["E1", "E2"]
    assert result["resolved_by"].tolist() == ["email", "email"]


def test_username_is_the_email_local_part():
    result = resolve_owners(accounts(("aws", "Ana.Diaz", "Ana.Diaz", None)), ROSTER)
    assert result.loc[0, "owner_employee_id"] == "E1" and result.loc[0, "resolved_by"] == "username"


def test_an_alias_beats_what_the_account_itself_suggests():
    aliases = pd.DataFrame({"system": ["github"], "account_id": ["BoLi-gh"], "email": ["bo.li@x.io"]})
    result = resolve_owners(accounts(("github", "boli-gh", "ana.diaz", None)), ROSTER, aliases)
    assert result.loc[0, "owner_employee_id"] == "E2" and result.loc[0, "resolved_by"] == "alias"


def test_unmatched_and_ambiguous_accounts_stay_visible():
    result = resolve_owners(accounts(("aws", "ghost", "ghost", None), ("aws", "sam.roe", "sam.roe", None),
                                     ("okta", "x", None, "nobody@x.io")), ROSTER)
    assert len(result) == 3
    assert result["resolved_by"].tolist() == ["unresolved", "ambiguous", "unresolved"]
    assert result["owner_employee_id"].isna().all()


def test_sample_resolution_leaves_only_service_builtin_and_planted_orphans():
    from evidence_lib.sources.folder import load_folder
    from tests.conftest import SAMPLE

    evidence = load_folder(SAMPLE)
    resolved = resolve_owners(evidence.frame("accounts"), evidence.frame("hr_roster"),
                              evidence.frame("identity_aliases"))
    unresolved = set(map(tuple, resolved.loc[resolved["resolved_by"] != "email"]
                         .loc[lambda f: f["resolved_by"].isin(["unresolved", "ambiguous"]), ["system", "account_id"]]
                         .values))
    registry = set(map(tuple, evidence.frame("service_accounts")[["system", "account_id"]].values))
    expected = pd.read_csv(SAMPLE / "expected_exceptions.csv", keep_default_na=False)
    orphans = set(map(tuple, expected.loc[expected["rule"] == "no_orphan_accounts", ["system", "record_key"]].values))
    builtin = {("aws-prod", "<root_account>"), ("aws-dev", "<root_account>")}
    assert unresolved == registry | orphans | builtin


def test_a_local_part_in_another_domain_is_not_the_employee():
    result = resolve_owners(accounts(("okta", "ana.diaz@evil.example", "ana.diaz@evil.example",
                                      "ana.diaz@evil.example"),
                                     ("app", "ana.diaz", "ana.diaz", "ana.diaz@evil.example")), ROSTER,
                            domains=("x.io",))
    assert result["resolved_by"].tolist() == ["unresolved", "unresolved"]


def test_company_domains_default_to_the_rosters_and_plus_addresses_reach_the_mailbox():
    result = resolve_owners(accounts(("okta", "ana.diaz+ops@x.io", None, None),
                                     ("okta", "bo.li+x@elsewhere.io", None, None)), ROSTER)
    assert result["owner_employee_id"].tolist()[0] == "E1"
    assert result["resolved_by"].tolist()[1] == "unresolved"  # a plus-address outside the company is not


def test_case_is_folded_beyond_ascii():
    # Unicode's CaseFolding.txt folds ß (U+00DF) to "ss": lower-casing alone would leave "straße".
    roster = pd.DataFrame({"employee_id": ["E7"], "email": ["strasse@x.io"]})
    result = resolve_owners(accounts(("okta", "a", None, "STRAßE@X.IO"), ("aws", "Straße", "Straße", None)), roster)
    assert result["owner_employee_id"].tolist() == ["E7", "E7"]
    assert result["resolved_by"].tolist() == ["email", "username"]


def test_an_address_listed_twice_names_one_person_unless_two_people_have_it():
    roster = pd.DataFrame({"employee_id": ["E1", "E1", "E2", None, "E3", "E4"],
                           "email": ["ana.diaz@x.io", "Ana.Diaz@x.io ", "bo.li@x.io", "bo.li@x.io",
                                     "sam.roe@x.io", " SAM.ROE@x.io"]})
    result = resolve_owners(accounts(("okta", "a", None, "ana.diaz@x.io"), ("okta", "b", "bo.li", None),
                                     ("okta", "c", None, "sam.roe@x.io")), roster)
    # E1's two rows are one person; a row without an employee id is no second person; E3 and E4 are two
    assert result["resolved_by"].tolist() == ["email", "username", "ambiguous"]
    assert result["owner_employee_id"].tolist()[:2] == ["E1", "E2"]


def test_a_lookup_in_an_ambiguous_table_is_refused_naming_the_repeated_keys():
    import pandas as pd
    import pytest

    from evidence_lib.identity import lookup

    table = pd.Series(["p1", "p2", "p3"], index=pd.Index(["a@x.com", "b@x.com", "a@x.com"]))
    with pytest.raises(ValueError, match=r"1 key\(s\) stand for more than one value, e.g. \['a@x.com'\]"):
        lookup(pd.Series(["b@x.com"]), table)
    found = lookup(pd.Series(["b@x.com", "c@x.com"]), table.iloc[:2])
    assert found.iloc[0] == "p2" and pd.isna(found.iloc[1])  # a key not in the table finds nothing
