"""Validation at scale: the access suites through GX against hand-written pandas, same frames.

    python benchmarks/validate_large.py [--accounts 1000000] [--repeat 3]

Builds canonical evidence frames for a large company directly (vectorised, seeded), builds
the accounts view once, then times (a) evidence_lib's GX validation of every access rule and
(b) plain pandas code that checks the same rules on the same view, checks that both find
the same exceptions, and prints the view's time and both validation times, each with the process's peak
resident memory so far, and their ratio.
Not a test: numbers depend on the machine; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import pandas as pd

from evidence_lib.controls import load_catalog
from evidence_lib.judge import judge_view
from evidence_lib.period import parse_period
from evidence_lib.views import account_view

PERIOD = parse_period("2026-Q3")
AS_OF = pd.Timestamp("2026-10-01 06:00", tz="UTC")
SYSTEMS = np.array(["okta", "aws-prod", "github", "billing-db"])


def _text(values) -> pd.Series:
    return pd.Series(values).astype("str")  # Arrow-backed text: no Python object per value


def company(accounts: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = accounts // 2
    number = _text(np.arange(people))
    ids = "E" + number
    emails = "p" + number + "@x.io"
    hire = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 3100, people), unit="D")
    terminated = rng.random(people) < 0.08
    termination = pd.Series(pd.NaT, index=range(people), dtype="datetime64[us]")
    termination[terminated] = pd.Timestamp("2026-07-01") + pd.to_timedelta(rng.integers(0, 91, terminated.sum()),
                                                                             unit="D")
    roster = pd.DataFrame({"employee_id": ids, "name": ids, "email": emails, "worker_type": "employee",
                           "status": pd.Categorical(np.where(terminated, "terminated", "active")).astype("str"),
                           "hire_date": hire.values, "termination_date": termination.values})
    owner = rng.integers(0, people, accounts)
    system = pd.Series(pd.Categorical.from_codes(rng.integers(0, len(SYSTEMS), accounts), SYSTEMS)).astype("str")
    orphan = rng.random(accounts) < 0.002
    email = emails.take(owner).reset_index(drop=True).where(~orphan, _text(np.arange(accounts)) + "@gone.io")
    # Violation rates of a real company: a fraction of a percent per rule.
    early = np.where(rng.random(accounts) < 0.002, -3, rng.integers(0, 30, accounts))
    created = hire.values[owner] + pd.to_timedelta(early, unit="D").values
    owner_terminated = terminated[owner]
    enabled = ~owner_terminated | (rng.random(accounts) < 0.01)
    idle_hours = np.where(rng.random(accounts) < 0.005, 120 * 24, rng.integers(0, 80 * 24, accounts))
    last_login = AS_OF - pd.to_timedelta(idle_hours, unit="h")
    disabled = termination.values[owner] + pd.to_timedelta(rng.integers(0, 48, accounts), unit="h").values
    github = (system == "github").to_numpy()
    frame = pd.DataFrame({
        "system": system, "account_id": system + ":" + _text(np.arange(accounts)),
        "username": None, "email": email, "display_name": None, "enabled": enabled,
        "mfa_enabled": rng.random(accounts) > 0.01, "is_admin": rng.random(accounts) < 0.02, "roles": None,
        "builtin": False, "created_at": pd.to_datetime(created).tz_localize("UTC"),
        "last_login_at": pd.Series(last_login).where(~github).array,
        "disabled_at": pd.to_datetime(np.where(enabled, np.datetime64("NaT"), disabled)).tz_localize("UTC"),
    }).astype({"enabled": "boolean", "mfa_enabled": "boolean", "is_admin": "boolean", "builtin": "boolean",
               "last_login_at": "datetime64[us, UTC]"})
    reviewed = frame[frame["system"] != "billing-db"].sample(frac=0.995, random_state=seed)
    reviews = pd.DataFrame({"system": reviewed["system"].values, "period": PERIOD.label,
                            "account_id": reviewed["account_id"].values, "reviewer": "r@x.io",
                            "decision": np.where(rng.random(len(reviewed)) < 0.01, "revoke", "approve"),
                            "signed_off_at": pd.Timestamp("2026-09-26 17:00", tz="UTC")})
    registry = pd.DataFrame({"system": ["okta"], "account_id": ["svc-x"], "owner": ["p0@x.io"], "purpose": ["x"]})
    aliases = pd.DataFrame({"system": pd.Series([], dtype="str"), "account_id": pd.Series([], dtype="str"),
                            "email": pd.Series([], dtype="str")})
    return {"accounts": frame, "hr_roster": roster, "access_reviews": reviews, "service_accounts": registry,
            "identity_aliases": aliases}


# What the company's evidence.yaml scopes out, as a real one would: billing-db is outside the
# access review, and GitHub's export carries no logins to judge dormancy on. Left in scope, a
# quarter of all accounts would be exceptions of each of those rules.
SCOPED_OUT = {"account_in_access_review": "billing-db", "admin_roles_approved": "billing-db",
              "no_dormant_accounts": "github"}


GENERIC = r"^(?:admin|administrator|root|test|testing|shared|guest|demo|temp|tmp|generic|team)(?:[._0-9-]|$)"


def pandas_rules(v: pd.DataFrame, p: dict) -> dict[str, set]:
    """The access rules of the catalog, hand-written: the baseline GX is measured against."""
    human = v["enabled"] & ~v["builtin"] & ~v["is_service"]
    key = lambda mask: set(zip(v.loc[mask, "system"], v.loc[mask, "account_id"]))
    leaver = v["terminated_in_period"] & ~v["enabled"]
    scope = v["in_review_scope"] & (v["system"] != SCOPED_OUT["account_in_access_review"])
    return {
        "mfa_enabled": key(human & ~v["mfa"]),
        "account_id_unique": key(v.duplicated(["system", "account_name_folded"], keep=False)),
        "no_generic_accounts": key(human & v["local_name"].str.contains(GENERIC))
        | key(v["builtin"] & v["used_in_period"]),
        "no_orphan_accounts": key(human & v["owner_status"].isin(["unresolved", "ambiguous"])),
        "no_account_before_hire": key(
            v["has_owner"]
            & v["creation_recorded"]
            & (v["created_days_before_hire"].isna() | (v["created_days_before_hire"] > 0))
        ),
        "terminated_accounts_disabled": key((v["owner_status"] == "terminated") & v["enabled"]),
        "deprovisioned_within_sla": key(
            leaver & (v["deprovision_lag_days"].isna() | (v["deprovision_lag_days"] > p["deprovision_sla_days"]))
        ),
        "account_in_access_review": key(scope & (v["review_decision"] == "missing")),
        "revoked_accounts_disabled": key((v["review_decision"] == "revoke") & v["enabled"]),
        "admin_roles_approved": key(scope & v["is_admin"] & (v["review_decision"] != "approve")),
        "no_dormant_accounts": key(
            v["enabled"] & (v["system"] != SCOPED_OUT["no_dormant_accounts"])
            & (v["days_since_login"].isna() | (v["days_since_login"] > p["dormant_days"]))
        ),
    }


def peak_rss() -> str:
    """The process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    catalog = load_catalog()
    params = catalog.defaults
    rules = [r for r in catalog.rules if r.view == "accounts"]

    t0 = time.perf_counter()
    frames = company(args.accounts)
    t1 = time.perf_counter()
    print(f"{args.accounts:,} accounts, {len(frames['hr_roster']):,} people generated in {t1 - t0:.1f}s; "
          f"{peak_rss()}", flush=True)
    view = account_view(frames.pop("accounts"), frames.pop("hr_roster"), frames.pop("identity_aliases"),
                        frames.pop("service_accounts"), frames.pop("access_reviews"), period=PERIOD, as_of=AS_OF)
    t2 = time.perf_counter()
    print(f"accounts view built in {t2 - t1:.1f}s ({view.memory_usage(deep=True).sum() / 2**30:.2f} GiB, "
          f"{len(view.columns)} columns); {peak_rss()}", flush=True)
    view_peak = peak_rss()
    excluded = {rule_id: view["system"] == system for rule_id, system in SCOPED_OUT.items()}

    judge_view("accounts", view.head(1000), rules, catalog, params)  # import GX and warm its context up
    gx_times, pandas_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours = judge_view("accounts", view, rules, catalog, params, excluded)
        gx_times.append(time.perf_counter() - start)
        gx_peak = peak_rss()
        start = time.perf_counter()
        hand = pandas_rules(view, params)
        pandas_times.append(time.perf_counter() - start)
    for rule_id, keys in hand.items():
        found = set(zip(ours[rule_id].exceptions["system"], ours[rule_id].exceptions["account_id"]))
        assert found == keys, f"{rule_id}: GX found {len(found)}, pandas {len(keys)}"
        assert len(ours[rule_id].population_keys) == ours[rule_id].population, rule_id
    gx, pd_ = statistics.median(gx_times), statistics.median(pandas_times)
    total = sum(len(k) for k in hand.values())
    print(f"{len(rules)} access rules, {total:,} exceptions, identical in both")
    print(f"accounts view      : {t2 - t1:7.2f}s  {view_peak}")
    print(f"evidence_lib (GX) : {gx:7.2f}s  (median of {args.repeat}); {gx_peak}")
    print(f"hand-written pandas: {pd_:7.2f}s  {peak_rss()}")
    print(f"ratio              : {gx / pd_:7.2f}x")
    print(f"{peak_rss()} (the whole run: generation, view, {args.repeat} validations of each kind)")


if __name__ == "__main__":
    main()
