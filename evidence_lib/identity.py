"""Tie accounts to people: by an explicit alias, by e-mail, or by username = e-mail local part.

Explicit beats inferred: an alias file entry wins over anything the account's own fields
suggest. An account that matches nobody, or more than one person, stays in the frame as
`unresolved` or `ambiguous` — never dropped — so the controls can report it.
"""

from __future__ import annotations

import pandas as pd


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """table[key] for each key, aligned to the keys; keeps the table's dtype even when empty."""
    return pd.Series(table.reindex(keys.values).array, index=keys.index)


def _norm(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.casefold()


def _local_part(values: pd.Series) -> pd.Series:
    return values.str.replace(r"@.*$", "", regex=True)  # vectorised; str.split would loop in Python


def _unique_lookup(keys: pd.Series, values: pd.Series) -> tuple[pd.Series, set]:
    """key -> value for keys that occur once; the set of keys that occur more than once."""
    frame = pd.DataFrame({"key": keys.values, "value": values.values}).dropna(subset=["key"])
    frame = frame[frame["key"] != ""]
    counts = frame.groupby("key")["value"].nunique()
    ambiguous = set(counts.index[counts > 1])
    unique = frame[~frame["key"].isin(ambiguous)].drop_duplicates("key")
    return pd.Series(unique["value"].values, index=unique["key"].values, dtype=object), ambiguous


def resolve_owners(accounts: pd.DataFrame, roster: pd.DataFrame, aliases: pd.DataFrame | None = None) -> pd.DataFrame:
    """The accounts with `owner_employee_id` and `resolved_by` added; same rows, same order."""
    emails = _norm(roster["email"])
    by_email, ambiguous_email = _unique_lookup(emails, roster["employee_id"])
    by_local, ambiguous_local = _unique_lookup(_local_part(emails), roster["employee_id"])

    owner = pd.Series(pd.NA, index=accounts.index, dtype="object")
    how = pd.Series("unresolved", index=accounts.index, dtype="object")

    def assign(keys: pd.Series, table: pd.Series, ambiguous: set, label: str) -> None:
        open_ = owner.isna() & (how != "ambiguous")
        found = lookup(keys, table)
        hit = open_ & found.notna()
        owner[hit] = found[hit]
        how[hit] = label
        how[open_ & ~hit & keys.isin(ambiguous)] = "ambiguous"

    if aliases is not None and len(aliases):
        alias_key = _norm(aliases["system"]) + "\x1f" + _norm(aliases["account_id"])
        alias_email = pd.Series(_norm(aliases["email"]).values, index=alias_key.values).groupby(level=0).first()
        account_key = _norm(accounts["system"]) + "\x1f" + _norm(accounts["account_id"])
        aliased = lookup(account_key, alias_email).fillna("")
        assign(aliased, by_email, ambiguous_email, "alias")

    account_email = _norm(accounts["email"]).where(accounts["email"].notna(), "")
    id_as_email = _norm(accounts["account_id"]).where(lambda s: s.str.contains("@", regex=False), "")
    assign(account_email, by_email, ambiguous_email, "email")
    assign(id_as_email, by_email, ambiguous_email, "email")
    for field in ("username", "account_id"):
        names = _norm(accounts[field]).where(accounts[field].notna(), "")
        local = _local_part(names)
        assign(local, by_local, ambiguous_local, "username")

    resolved = accounts.copy()
    resolved["owner_employee_id"] = owner.astype("str")
    resolved["resolved_by"] = how
    return resolved
