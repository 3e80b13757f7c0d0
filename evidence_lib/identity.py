"""Tie accounts and the people named in evidence to people in the HR roster.

Accounts resolve by an explicit alias, by e-mail, or by username = e-mail local part. Explicit
beats inferred: an alias file entry wins over anything the account's own fields suggest. A
local part is only trusted inside the company's own e-mail domains: `noah.garcia@evil.example`
is not Noah García. An account that matches nobody, or more than one person, stays in the frame
as `unresolved` or `ambiguous` — never dropped — so the controls can report it.

People named in free-form fields (a ticket's author, implementer, approver) resolve the same
way, and also by the roster's display name, so that "approver = author" is judged on people,
not on how their names happen to be spelled.
"""

from __future__ import annotations

import re

import pandas as pd

_PLUS_TAG = re.compile(r"\+[^@]*@")
_SPACES = re.compile(r"\s+")


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """table[key] for each key, aligned to the keys; keeps the table's dtype even when empty."""
    return pd.Series(table.reindex(keys.values).array, index=keys.index)


def _norm(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.casefold()


def _local_part(values: pd.Series) -> pd.Series:
    return values.str.replace(r"@.*$", "", regex=True)  # vectorised; str.split would loop in Python


def _domain(values: pd.Series) -> pd.Series:
    return values.str.extract(r"@([^@]*)$", expand=False).fillna("")


def company_domains(roster: pd.DataFrame, declared: tuple[str, ...] = ()) -> frozenset[str]:
    """The company's own e-mail domains: as declared in evidence.yaml, else those of the HR roster."""
    if declared:
        return frozenset(d.strip().casefold().lstrip("@") for d in declared)
    emails = _norm(roster["email"].dropna())
    return frozenset(d for d in _domain(emails) if d)


def canonical_email(values: pd.Series, domains: frozenset[str]) -> pd.Series:
    """Case and white space folded; a plus-address (first.last+tag@) inside the company's domains
    is the same mailbox as first.last@ (Google Workspace and Microsoft 365 deliver it there)."""
    folded = _norm(values).where(values.notna(), "")
    tagged = folded.str.contains("+", regex=False) & _domain(folded).isin(domains)
    return folded.where(~tagged, folded.str.replace(_PLUS_TAG, "@", regex=True))


def _unique_lookup(keys: pd.Series, values: pd.Series) -> tuple[pd.Series, set]:
    """key -> value for keys that occur once; the set of keys that occur more than once."""
    frame = pd.DataFrame({"key": keys.values, "value": values.values}).dropna(subset=["key"])
    frame = frame[frame["key"] != ""]
    counts = frame.groupby("key")["value"].nunique()
    ambiguous = set(counts.index[counts > 1])
    unique = frame[~frame["key"].isin(ambiguous)].drop_duplicates("key")
    return pd.Series(unique["value"].values, index=unique["key"].values, dtype=object), ambiguous


class _Resolution:
    """Owner and how it was found, filled in order of trust: the first match for a row wins."""

    def __init__(self, index: pd.Index):
        self.owner = pd.Series(pd.NA, index=index, dtype="object")
        self.how = pd.Series("unresolved", index=index, dtype="object")

    def assign(self, keys: pd.Series, table: pd.Series, ambiguous: set, label: str, allowed=None) -> None:
        open_ = self.owner.isna() & (self.how != "ambiguous")
        if allowed is not None:
            open_ &= allowed
        found = lookup(keys, table)
        hit = open_ & found.notna()
        self.owner[hit] = found[hit]
        self.how[hit] = label
        self.how[open_ & ~hit & keys.isin(ambiguous)] = "ambiguous"


def resolve_owners(accounts: pd.DataFrame, roster: pd.DataFrame, aliases: pd.DataFrame | None = None,
                   domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """The accounts with `owner_employee_id` and `resolved_by` added; same rows, same order."""
    own = company_domains(roster, domains)
    emails = canonical_email(roster["email"], own)
    by_email, ambiguous_email = _unique_lookup(emails, roster["employee_id"])
    inside = _domain(emails).isin(own)
    by_local, ambiguous_local = _unique_lookup(_local_part(emails[inside]), roster["employee_id"][inside])
    found = _Resolution(accounts.index)

    if aliases is not None and len(aliases):
        alias_key = _norm(aliases["system"]) + "\x1f" + _norm(aliases["account_id"])
        alias_email = pd.Series(canonical_email(aliases["email"], own).values,
                                index=alias_key.values).groupby(level=0).first()
        account_key = _norm(accounts["system"]) + "\x1f" + _norm(accounts["account_id"])
        found.assign(lookup(account_key, alias_email).fillna(""), by_email, ambiguous_email, "alias")

    account_email = canonical_email(accounts["email"], own)
    id_as_email = canonical_email(accounts["account_id"], own).where(
        lambda s: s.str.contains("@", regex=False), "")
    found.assign(account_email, by_email, ambiguous_email, "email")
    found.assign(id_as_email, by_email, ambiguous_email, "email")
    # An account that carries an address in another domain says whose it is: someone outside
    # the company. Its local part must not make it look like an employee's.
    foreign = pd.Series(False, index=accounts.index)
    for field in ("email", "username", "account_id"):
        value = _norm(accounts[field]).where(accounts[field].notna(), "")
        domain = _domain(value)
        foreign |= (domain != "") & ~domain.isin(own)
    for field in ("username", "account_id"):
        names = _norm(accounts[field]).where(accounts[field].notna(), "")
        found.assign(_local_part(names), by_local, ambiguous_local, "username", allowed=~foreign)

    resolved = accounts.copy()
    resolved["owner_employee_id"] = found.owner.astype("str")
    resolved["resolved_by"] = found.how
    return resolved


def resolve_people(values: pd.Series, roster: pd.DataFrame, aliases: pd.DataFrame | None = None,
                   domains: tuple[str, ...] = ()) -> pd.Series:
    """The employee id each value names (an e-mail, a display name or an aliased login); <NA> if nobody.

    Inside the company's domains an address resolves to its mailbox owner (plus-addresses
    included); a display name resolves when exactly one person in the roster has it.
    """
    own = company_domains(roster, domains)
    by_email, _ = _unique_lookup(canonical_email(roster["email"], own), roster["employee_id"])
    by_name, _ = _unique_lookup(_display_name(roster["name"]), roster["employee_id"])
    found = _Resolution(values.index)
    email = canonical_email(values, own)
    found.assign(email, by_email, set(), "email")
    if aliases is not None and len(aliases):
        alias_email = pd.Series(canonical_email(aliases["email"], own).values,
                                index=_norm(aliases["account_id"]).values).groupby(level=0).first()
        found.assign(lookup(email, alias_email).fillna(""), by_email, set(), "alias")
    found.assign(_display_name(values), by_name, set(), "name")
    return found.owner.astype("str")


def person_ids(records: pd.DataFrame, roster: pd.DataFrame, domains: tuple[str, ...] = ()) -> pd.Series:
    """The employee id of each row of people-keyed evidence (training, screening): its employee id
    when the roster has it, else its e-mail's owner; <NA> when it names nobody in the roster."""
    known = set(roster["employee_id"].dropna())
    by_id = records["employee_id"].where(records["employee_id"].isin(known))
    if "email" not in records:
        return by_id.astype("str")
    by_email = resolve_people(records["email"], roster, domains=domains)
    return by_id.fillna(by_email).astype("str")


def _display_name(values: pd.Series) -> pd.Series:
    return values.astype("str").str.replace(_SPACES, " ", regex=True).str.strip().str.casefold().where(
        values.notna(), "")
