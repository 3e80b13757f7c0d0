"""`--mask-pii` against a re-identification attack, on the sample company's evidence.

The attacker holds everything the package publishes (the masked tables and every evidence
SHA-256) and, at best, the first and last names of every employee. The oracle is independent of
evidence_lib.masking: the attack hashes its guesses with hmac/hashlib itself, the way the old
`evidence_secret` mask did.
"""

import hashlib
import hmac
import itertools
import re
import unicodedata

import pandas as pd
import pytest

from evidence_lib.area import TestedArea
from evidence_lib.area_files import exception_table
from evidence_lib.errors import EvidenceError
from evidence_lib.inventory import inventory
from evidence_lib.masking import PiiMask, load_mask_key, mask_for
from evidence_lib.package import hash_tree
from evidence_lib.period import parse_period
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import validate
from tests.conftest import PERIOD, SAMPLE

PSEUDONYM = re.compile(r"(?:person|user)-([0-9a-f]{8})")


def ascii_fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@pytest.fixture(scope="module")
def evidence():
    return load_folder(SAMPLE)


@pytest.fixture(scope="module")
def published_tables(evidence):
    """Every frame a masked run can show: each export, each view and each rule's exception rows."""
    validation = validate(evidence, parse_period(PERIOD))
    types = sorted({o.declared.evidence_type for o in evidence.outcomes})
    return ([evidence.frame(t) for t in types] + list(validation.views.values())
            + [r.exceptions for r in validation.rules if r.exception_count])


@pytest.fixture(scope="module")
def mask(evidence):
    return mask_for(evidence, load_mask_key(None))


@pytest.fixture(scope="module")
def people(evidence):
    """What identifies the sample's people: roster names and e-mails, local parts, GitHub logins."""
    roster = evidence.frame("hr_roster")
    emails = roster["email"].dropna().str.casefold()
    names = roster["name"].dropna()
    return {"names": set(names) | {ascii_fold(n) for n in names}, "emails": set(emails),
            "local parts": {e.split("@")[0] for e in emails},
            "logins": set(evidence.frame("identity_aliases")["account_id"].dropna())}


def attacker_keys(evidence) -> list[bytes]:
    """Every key an attacker can derive from the published hashes."""
    per_file = list(inventory(evidence)["sha256"])  # results.json's inventory
    per_path = list(hash_tree(SAMPLE).values())  # the run summary's inputs
    singles = {h.encode() for h in per_file + per_path} | {bytes.fromhex(h) for h in per_file + per_path}
    joined = {"".join(order(hashes)) for hashes in (per_file, per_path) for order in (list, sorted)}
    return [b"", *singles, *(j.encode() for j in joined)]


def guessed_pseudonyms(evidence) -> tuple[dict[str, str], int]:
    """pseudonym -> guess for every first × last name of the roster, in every spelling, under every key."""
    names = evidence.frame("hr_roster")["name"].dropna()
    firsts, lasts = {n.split()[0] for n in names}, {n.split()[-1] for n in names}
    domain = evidence.frame("hr_roster")["email"].dropna().iloc[0].split("@")[1]
    spellings = []
    for first, last in itertools.product(firsts, lasts):
        local = ascii_fold(f"{first}.{last}").casefold()
        spellings += [f"{first} {last}", ascii_fold(f"{first} {last}"), local, f"{local}@{domain}"]
    normalised = {s.strip().casefold() for s in spellings} | {ascii_fold(s).strip().casefold() for s in spellings}
    keys = attacker_keys(evidence)
    table = {hmac.new(k, g.encode(), hashlib.sha256).hexdigest()[:8]: g for k in keys for g in normalised}
    return table, len(keys) * len(normalised)


def cells(tables: list[pd.DataFrame]) -> list[str]:
    return [str(v) for t in tables for v in t.to_numpy().ravel()]


def reidentified(tables: list[pd.DataFrame], guesses: dict[str, str]) -> set[str]:
    shown = {p for v in cells(tables) for p in PSEUDONYM.findall(v)}
    return {guesses[p] for p in shown if p in guesses}


def test_a_name_guessing_attack_with_every_published_hash_reidentifies_nobody(evidence, published_tables, mask):
    guesses, tried = guessed_pseudonyms(evidence)
    assert tried > 100_000  # sample: 34 first × 30 last names, 4 spellings, 2 foldings, 41 keys = 136,284
    assert reidentified([mask.frame(t) for t in published_tables], guesses) == set()
    # The same attack breaks a mask keyed by the published hashes, as the red team's did (500 of 608).
    published_key = "".join(sorted(set(inventory(evidence)["sha256"]))).encode()
    weak = PiiMask(published_key, known=[])
    assert len(reidentified([weak.frame(t) for t in published_tables], guesses)) > 100


def test_no_name_email_local_part_or_login_of_a_person_is_left_in_any_cell(published_tables, mask, people):
    text = "\n".join(ascii_fold(v).casefold() for v in cells([mask.frame(t) for t in published_tables]))
    for kind, values in people.items():
        assert len(values) > 50, kind
        left = sorted(v for v in values if ascii_fold(v).casefold() in text)
        assert not left, f"{kind} still readable: {left[:5]}"


def test_people_named_inside_free_text_are_replaced_by_their_own_pseudonyms(evidence, mask):
    aliases = evidence.frame("identity_aliases")
    login, email = aliases[["account_id", "email"]].iloc[0]
    roster = evidence.frame("hr_roster")
    name = roster.loc[roster["email"].str.casefold() == email.casefold(), "name"].iloc[0]
    local = email.split("@")[0]
    changes = pd.DataFrame({"ticket_id": ["ENG-900"], "title": [
        f"Revert {name}'s change (pair with {local}, review @{login}; cc {ascii_fold(name).upper()} <{email}>)"]})
    title = mask.frame(changes)["title"].iloc[0]
    for value in (name, local, login, email):
        assert value.casefold() not in title.casefold()
    assert mask.text(name) in title and mask.text(local) in title and mask.text(login) in title
    assert mask.text(email) in title and title.count(mask.text(name)) == 2  # accents and case: one person
    assert title.startswith("Revert ") and mask.frame(changes)["ticket_id"].iloc[0] == "ENG-900"


def test_keys_stay_readable_and_technical_accounts_may(evidence, mask):
    accounts = mask.frame(evidence.frame("accounts"))
    assert {"<root_account>", "northwind-bot"} <= set(accounts["account_id"])
    assert set(accounts["system"]) == set(evidence.frame("accounts")["system"])
    roster = mask.frame(evidence.frame("hr_roster"))
    assert roster["employee_id"].equals(evidence.frame("hr_roster")["employee_id"])


def test_one_key_gives_one_pseudonym_per_person_across_tables_so_rows_still_join(evidence, mask):
    reviews, accounts = evidence.frame("access_reviews"), evidence.frame("accounts")
    joined = reviews.merge(accounts, on=["system", "account_id"])
    masked_reviews, masked_accounts = mask.frame(reviews), mask.frame(accounts)
    assert len(joined) > 200 and len(masked_reviews.merge(masked_accounts, on=["system", "account_id"])) == len(joined)
    # A reviewer (access review) is the same person as their Okta account (accounts).
    okta = accounts["system"] == "okta"
    reviewers = set(reviews["reviewer"].dropna())
    assert reviewers <= set(accounts.loc[okta, "account_id"])
    assert set(masked_reviews["reviewer"].dropna()) <= set(masked_accounts.loc[okta, "account_id"])


def test_two_keys_give_unrelated_pseudonyms(evidence):
    accounts = evidence.frame("accounts")
    first, second = (mask_for(evidence, load_mask_key(None)).frame(accounts) for _ in range(2))
    shown = [set(PSEUDONYM.findall(" ".join(f["account_id"]))) for f in (first, second)]
    assert len(shown[0]) > 300 and not shown[0] & shown[1]


@pytest.mark.parametrize("content", [b"", b"\n", b"too short 15 b.", b" " * 40])
def test_a_key_file_shorter_than_16_bytes_is_refused_naming_the_file(tmp_path, content):
    path = tmp_path / "mask.key"
    path.write_bytes(content)
    with pytest.raises(EvidenceError, match=re.escape(str(path))):
        load_mask_key(str(path))


def test_a_missing_key_file_is_refused_naming_the_file(tmp_path):
    with pytest.raises(EvidenceError, match=r"nowhere\.key"):
        load_mask_key(str(tmp_path / "nowhere.key"))


def test_a_key_file_gives_the_same_pseudonyms_in_every_notebook_of_a_run(tmp_path):
    path = tmp_path / "mask.key"
    path.write_text("0f" * 32 + "\n")
    assert load_mask_key(str(path)) == ("0f" * 32).encode()
    access, offboarding = (TestedArea.open(controls, period=PERIOD, evidence_dir=str(SAMPLE), mask_pii=True,
                                            mask_key_file=str(path)) for controls in (["CC6.1"], ["CC6.2"]))
    assert access.mask.text("noah.garcia@northwind.example") == offboarding.mask.text("noah.garcia@northwind.example")


def test_without_a_key_file_each_session_masks_with_its_own_random_key(people):
    first, second = (TestedArea.open(["CC6.2"], period=PERIOD, evidence_dir=str(SAMPLE), mask_pii=True)
                     for _ in range(2))
    rows = exception_table(first).to_csv()
    assert len(exception_table(first)) > 5 and PSEUDONYM.search(rows)
    assert not [n for n in people["names"] | people["emails"] if n in rows]
    assert first.mask.text("noah.garcia@northwind.example") != second.mask.text("noah.garcia@northwind.example")
