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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_PLUS_TAG = re.compile(r"\+[^@]*@")
_SPACES = re.compile(r"\s+")


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """table[key] for each key, aligned to the keys; keeps the table's dtype even when empty."""
    if not table.index.is_unique:
        repeated = table.index[table.index.duplicated()].unique()
        raise ValueError(f"a lookup in an ambiguous table: {len(repeated)} key(s) stand for more than one "
                         f"value, e.g. {list(repeated[:3])}")
    found = table.reset_index(drop=True).reindex(positions(keys.values, table.index))
    return pd.Series(found.array, index=keys.index)


def _is_text(values) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def positions(keys, labels) -> np.ndarray:
    """Where each key first occurs among the labels, -1 where it does not; a missing key finds a
    missing label. Text is hashed in Arrow (no Python object per value), anything else by pandas."""
    if _is_text(keys) and _is_text(labels):
        found = pc.index_in(_arrow(keys), value_set=_arrow(labels))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    labels = pd.Index(labels)
    first = ~labels.duplicated()
    at = labels[first].get_indexer(pd.Index(keys))
    return np.append(np.flatnonzero(first), -1)[at]  # -1 (not found) takes the -1 appended


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(pd.Series(values).astype("str").array).cast(pa.large_string())


def casefold(values: pd.Series) -> pd.Series:
    """str.casefold of text: in Arrow where it is ASCII lower-casing, in Python only for the other rows."""
    folded = values.str.lower()
    other = ~values.str.isascii().fillna(True).to_numpy(dtype=bool)
    if other.any():
        folded = folded.copy()
        folded.iloc[other] = values.iloc[other].str.casefold().array
    return folded


def _norm(values: pd.Series) -> pd.Series:
    return casefold(values.astype("str").str.strip())


def _folded(values: pd.Series) -> pd.Series:
    """_norm, with "" for a missing value."""
    return _norm(values).where(values.notna(), "")


def _local_part(values: pd.Series) -> pd.Series:
    return values.str.replace(r"@.*$", "", regex=True)  # vectorised; str.split would loop in Python


def _domain(values: pd.Series) -> pd.Series:
    """What follows the last @ ("" without one): re.search(r"@([^@]*)$") in Arrow, no Python call per value."""
    text = _arrow(values)
    after = pc.replace_substring_regex(text, pattern="(?s)^.*@", replacement="")
    domain = pc.if_else(pc.fill_null(pc.match_substring(text, "@"), False), after, "")
    return pd.Series(pd.array(domain, dtype="str"), index=values.index)


def company_domains(roster: pd.DataFrame, declared: tuple[str, ...] = ()) -> frozenset[str]:
    """The company's own e-mail domains: as declared in evidence.yaml, else those of the HR roster."""
    if declared:
        return frozenset(d.strip().casefold().lstrip("@") for d in declared)
    emails = _norm(roster["email"].dropna())
    return frozenset(d for d in _domain(emails).unique() if d)


def canonical_email(values: pd.Series, domains: frozenset[str]) -> pd.Series:
    """Case and white space folded; a plus-address (first.last+tag@) inside the company's domains
    is the same mailbox as first.last@ (Google Workspace and Microsoft 365 deliver it there)."""
    folded = _folded(values)
    return _untagged(folded, _domain(folded), domains)


def _untagged(folded: pd.Series, domain: pd.Series, domains: frozenset[str]) -> pd.Series:
    tagged = (folded.str.contains("+", regex=False) & domain.isin(domains)).to_numpy(dtype=bool)
    if not tagged.any():
        return folded
    folded = folded.copy()
    folded.iloc[tagged] = folded.iloc[tagged].str.replace(_PLUS_TAG, "@", regex=True).array
    return folded


class _Table:
    """key -> value for the keys that occur once or always with the same value (the first row's value);
    the keys that occur with more than one value are ambiguous. Keys are hashed in Arrow."""

    def __init__(self, keys: pd.Series, values: pd.Series):
        keys, values = keys.reset_index(drop=True), values.reset_index(drop=True)
        given = (keys.notna() & (keys != "")).to_numpy(dtype=bool)
        key_code, key_text = pd.factorize(keys[given].astype("str"))
        value_code, _ = pd.factorize(values[given])
        known, base = value_code >= 0, value_code.max(initial=0) + 1  # as nunique: a missing value is no value
        pairs = pd.unique(key_code[known].astype(np.int64) * base + value_code[known])
        ambiguous = np.bincount(pairs // base, minlength=len(key_text)) > 1
        _, first = np.unique(key_code, return_index=True)
        self.keys = _arrow(pd.Series(key_text[~ambiguous]))
        self.values = values[given].astype("str").iloc[first[~ambiguous]].reset_index(drop=True)
        self.ambiguous = _arrow(pd.Series(key_text[ambiguous]))

    def find(self, keys: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """Each key's value (positional, <NA> if none) and whether the key is ambiguous."""
        text = _arrow(keys)
        at = pc.index_in(text, value_set=self.keys).fill_null(-1).to_numpy(zero_copy_only=False)
        found = self.values.array.take(at, allow_fill=True)
        return pd.Series(found), pc.is_in(text, value_set=self.ambiguous).to_numpy(zero_copy_only=False)


class _Resolution:
    """Owner and how it was found, filled in order of trust: the first match for a row wins."""

    HOW = ("unresolved", "ambiguous", "alias", "email", "username", "name")

    def __init__(self, index: pd.Index):
        self.index = index
        self.owner = pd.Series(np.nan, index=range(len(index)), dtype="str")
        self.how = np.zeros(len(index), dtype=np.int8)  # a position in HOW

    def assign(self, keys: pd.Series, table: _Table, label: str, allowed=None, ambiguous: bool = True) -> None:
        open_ = self.owner.isna().to_numpy() & (self.how != self.HOW.index("ambiguous"))
        if allowed is not None:
            open_ &= np.asarray(allowed, dtype=bool)
        found, is_ambiguous = table.find(keys)
        hit = open_ & found.notna().to_numpy()
        self.owner = self.owner.mask(hit, found)
        self.how[hit] = self.HOW.index(label)
        if ambiguous:
            self.how[open_ & ~hit & is_ambiguous] = self.HOW.index("ambiguous")

    def owners(self) -> pd.Series:
        return pd.Series(self.owner.array, index=self.index)

    def resolved_by(self) -> pd.Series:
        return pd.Series(np.array(self.HOW, dtype=object)[self.how], index=self.index, dtype=object)


def resolve_owners(accounts: pd.DataFrame, roster: pd.DataFrame, aliases: pd.DataFrame | None = None,
                   domains: tuple[str, ...] = ()) -> pd.DataFrame:
    """The accounts with `owner_employee_id` and `resolved_by` added; same rows, same order."""
    own = company_domains(roster, domains)
    emails = canonical_email(roster["email"], own)
    by_email = _Table(emails, roster["employee_id"])
    inside = _domain(emails).isin(own)
    by_local = _Table(_local_part(emails[inside]), roster["employee_id"][inside])
    found = _Resolution(accounts.index)

    if aliases is not None and len(aliases):
        alias_key = _norm(aliases["system"]) + "\x1f" + _norm(aliases["account_id"])
        alias_email = pd.Series(canonical_email(aliases["email"], own).values,
                                index=alias_key.values).groupby(level=0).first()
        account_key = _norm(accounts["system"]) + "\x1f" + _norm(accounts["account_id"])
        found.assign(_Table(pd.Series(alias_email.index), pd.Series(alias_email.values)).find(account_key)[0]
                     .fillna(""), by_email, "alias")

    # Each field folded once; its domain serves the plus-address rule and the foreign-address rule.
    folded = {field: _folded(accounts[field]) for field in ("email", "username", "account_id")}
    domain = {field: _domain(text) for field, text in folded.items()}
    account_email = _untagged(folded["email"], domain["email"], own)
    id_as_email = _untagged(folded["account_id"], domain["account_id"], own)
    id_as_email = id_as_email.where(id_as_email.str.contains("@", regex=False), "")
    found.assign(account_email, by_email, "email")
    found.assign(id_as_email, by_email, "email")
    # An account that carries an address in another domain says whose it is: someone outside
    # the company. Its local part must not make it look like an employee's.
    foreign = np.zeros(len(accounts), dtype=bool)
    for field in ("email", "username", "account_id"):
        foreign |= ((domain[field] != "") & ~domain[field].isin(own)).to_numpy(dtype=bool)
    for field in ("username", "account_id"):
        found.assign(_local_part(folded[field]), by_local, "username", allowed=~foreign)

    resolved = accounts.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    resolved["owner_employee_id"] = found.owners()
    resolved["resolved_by"] = found.resolved_by()
    return resolved


def resolve_people(values: pd.Series, roster: pd.DataFrame, aliases: pd.DataFrame | None = None,
                   domains: tuple[str, ...] = ()) -> pd.Series:
    """The employee id each value names (an e-mail, a display name or an aliased login); <NA> if nobody.

    Inside the company's domains an address resolves to its mailbox owner (plus-addresses
    included); a display name resolves when exactly one person in the roster has it.
    """
    own = company_domains(roster, domains)
    by_email = _Table(canonical_email(roster["email"], own), roster["employee_id"])
    by_name = _Table(_display_name(roster["name"]), roster["employee_id"])
    found = _Resolution(values.index)
    email = canonical_email(values, own)
    found.assign(email, by_email, "email", ambiguous=False)
    if aliases is not None and len(aliases):
        alias_email = pd.Series(canonical_email(aliases["email"], own).values,
                                index=_norm(aliases["account_id"]).values).groupby(level=0).first()
        found.assign(lookup(email, alias_email).fillna(""), by_email, "alias", ambiguous=False)
    found.assign(_display_name(values), by_name, "name", ambiguous=False)
    return found.owners()


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
