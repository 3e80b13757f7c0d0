"""Fabrikam, the second synthetic company: the same kind of planted cases, in other vendors' exports.

The company is built by `build_company` (its own seed), then told the way Fabrikam's systems tell
it: Google Workspace instead of Okta (an account is its e-mail address), GitLab instead of GitHub
(merge requests named group/project!iid). The planted cases follow: each expected exception and
near-miss is translated to the keys Fabrikam's exports produce, and a case the exports cannot
show (no creation time, no disabling time, no admin roles in the Google users download) is set
aside with its reason, where the reader finds it, beside a scope decision in evidence.yaml.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import timedelta

from evidence_lib.period import Period
from evidence_lib.synth import company as northwind
from evidence_lib.synth.company import Company, at, build_company

SEED = 11
NAME = "Fabrikam (synthetic)"
DOMAIN = "fabrikam.example"
SYSTEMS = {"okta": "google", "github": "gitlab"}  # the first company's systems -> Fabrikam's
DECIDED_BY = f"ciso@{DOMAIN}"
DECIDED_ON = "2026-07-01"

# (rule, system) -> why Fabrikam's evidence cannot test it: evidence.yaml's scope decisions, and the
# reason a planted case of that rule on that system is set aside rather than expected.
SCOPE: dict[tuple[str, str], str] = {
    ("account_in_access_review", "aws-dev"): "development account without customer data; outside the system "
                                             "description",
    ("admin_roles_approved", "aws-dev"): "development account without customer data; outside the system description",
    ("admin_roles_approved", "aws-prod"): "the IAM credential report carries no roles; administrator access to AWS is "
                                          "granted through IAM Identity Center from Google groups, reviewed with them",
    ("account_in_access_review", "billing-db"): "reviewed in the Finance quarterly access certification, tested "
                                                "separately",
    ("admin_roles_approved", "billing-db"): "reviewed in the Finance quarterly access certification, tested "
                                            "separately",
    ("admin_roles_approved", "google"): "the Google Workspace users download carries no admin roles; super "
                                        "administrators are listed under Admin roles in the Admin console and "
                                        "certified there",
    ("no_account_before_hire", "google"): "the Google Workspace users download carries no creation times; "
                                          "accounts are created by the HR onboarding workflow on the start date",
    ("deprovisioned_within_sla", "google"): "the Google Workspace users download carries no suspension times; "
                                            "suspensions are evidenced from the Admin audit log, sampled separately",
    ("no_account_before_hire", "gitlab"): "the GitLab member export carries no creation times; accounts are "
                                          "created through Google single sign-on, tested on Google",
    ("no_dormant_accounts", "gitlab"): "the GitLab member export carries no sign-in times; dormancy is judged on "
                                       "Google, through which every GitLab sign-in passes (SAML SSO)",
}

# Near-misses whose boundary the exports cannot draw: Google writes an address once, as the
# account id, in lower case, so the messy spelling the first company's Okta export carries is gone.
UNWRITABLE_NEAR_MISSES = {
    ("no_orphan_accounts", "google"): "Google writes the address once, as the account id, in lower case: the messy "
                                      "spelling planted on it cannot be written",
}
_CREATED_AFTER_SIGN_OFF = ("the Google users download carries no creation times, so an account created after the "
                           "review's sign-off cannot show it did not exist then: it is an exception")


@dataclass
class SecondCompany:
    company: Company
    # planted cases the exports cannot show: (control, rule, system, record_key, kind, reason)
    set_aside: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)


def build_second_company(people_count: int, period: Period, seed: int = SEED) -> SecondCompany:
    """Fabrikam: the builder's company, rebranded, on Fabrikam's systems, with its cases translated."""
    company = build_company(people_count, period, seed=seed)
    _rebrand(company, northwind.DOMAIN.split(".")[0], DOMAIN.split(".")[0])
    _tell_namesakes_apart(company)
    ids = _move_systems(company)
    second = SecondCompany(company)
    company.expected = _translate(company.expected, ids, "expected", second)
    company.near_misses = _translate(company.near_misses, ids, "near_miss", second)
    _created_after_sign_off(company, second)
    _plant_creation_on_aws(company, period, second)
    company.expected, company.near_misses = sorted(set(company.expected)), sorted(set(company.near_misses))
    second.set_aside.sort()
    return second


def _replaced(value, old: str, new: str):
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _replaced(v, old, new) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_replaced(v, old, new) for v in value)
    if is_dataclass(value):
        for f in fields(value):
            setattr(value, f.name, _replaced(getattr(value, f.name), old, new))
    return value


def _rebrand(company: Company, old: str, new: str) -> None:
    """The builder writes its module's domain and organisation name; Fabrikam's replace them everywhere."""
    for name in ("people", "accounts", "service_registry", "reviews", "aliases", "tickets", "deployments",
                 "background", "training", "expected", "near_misses", "vulnerabilities",
                 "assets"):
        setattr(company, name, _replaced(getattr(company, name), old, new))


def _tell_namesakes_apart(company: Company) -> None:
    """Jira Cloud names people by display name: Fabrikam's namesakes carry a middle initial."""
    seen: Counter = Counter()
    for person in company.people:
        seen[person.name] += 1
        if seen[person.name] > 1:
            person.first = f"{person.first} {chr(ord('A') + seen[person.name] - 2)}."
    names = Counter(p.name for p in company.people)
    if max(names.values()) > 1:
        raise ValueError("two people still share a display name")


def _move_systems(company: Company) -> dict[tuple[str, str], str]:
    """Okta -> Google (an account's id is its address), GitHub -> GitLab; the old key -> the new id."""
    ids: dict[tuple[str, str], str] = {}

    def new_id(system: str, account_id: str) -> str:
        if system == "okta" and "@" not in account_id:
            return f"{account_id}@{DOMAIN}"
        return account_id

    for account in company.accounts:
        ids[(account.system, account.account_id)] = new_id(account.system, account.account_id)
        if account.system == "okta":
            if account.last_login_at is None and account.enabled:
                raise ValueError(f"{account.account_id}: Google has no creation time to count dormancy from")
            account.email_as_exported = None
            account.email = account.account_id = ids[(account.system, account.account_id)]
        account.system = SYSTEMS.get(account.system, account.system)
    for row in (*company.service_registry, *company.reviews, *company.aliases):
        row["account_id"] = new_id(row["system"], row["account_id"])
        row["system"] = SYSTEMS.get(row["system"], row["system"])
    for deploy in company.deployments:
        if deploy.source == "github":
            old = deploy.deploy_id
            deploy.source, deploy.deploy_id = "gitlab", old.replace("#", "!")
            ids[("", old)] = deploy.deploy_id
    return ids


def _translate(cases, ids, kind: str, second: SecondCompany) -> list[tuple[str, str, str, str]]:
    kept = []
    for control, rule, system, key in cases:
        new_key = ids.get((system, key), key)
        new_system = SYSTEMS.get(system, system)
        why = SCOPE.get((rule, new_system)) or (kind == "near_miss" and UNWRITABLE_NEAR_MISSES.get((rule, new_system)))
        if why:
            second.set_aside.append((control, rule, new_system, new_key, kind, why))
        else:
            kept.append((control, rule, new_system, new_key))
    return kept


def _created_after_sign_off(company: Company, second: SecondCompany) -> None:
    """An enabled Google account created after the sign-off and (rightly) not reviewed: without creation
    times the export cannot show it, so the first company's near-miss is Fabrikam's exception."""
    reviewed = {(r["system"], r["account_id"]) for r in company.reviews}
    for account in company.accounts:
        if (account.system == "google" and account.enabled and account.created_at is not None
                and account.created_at > company.review_signed_off
                and (account.system, account.account_id) not in reviewed):
            case = ("CC6.3", "account_in_access_review", "google", account.account_id)
            if case in company.near_misses:
                company.near_misses.remove(case)
                second.set_aside.append((*case, "near_miss_now_expected", _CREATED_AFTER_SIGN_OFF))
            company.expected.append(case)


def _plant_creation_on_aws(company: Company, period: Period, second: SecondCompany) -> None:
    """no_account_before_hire lost its Okta cases to Google's export; AWS's credential report records
    creation times, so Fabrikam's are planted there: two accounts created five days before their
    owner's hire, one on the hire day (a near-miss), on people no other case uses."""
    used = {key for *_, key in company.expected + company.near_misses}
    used |= {case[3] for case in second.set_aside}
    people = {p.employee_id: p for p in company.people}
    hired = [a for a in company.accounts if a.system == "aws-prod" and a.owner
             and people[a.owner].status == "active" and people[a.owner].hire_date >= period.start
             and not {a.owner, a.account_id, people[a.owner].email} & used]
    if len(hired) < 3:
        raise ValueError("the company is too small to plant accounts created before hire: generate more people")
    first, second, boundary = sorted(hired, key=lambda a: a.owner)[:3]
    for account in (first, second):
        account.created_at = at(people[account.owner].hire_date - timedelta(days=5), 14)
        company.expected.append(("CC6.2", "no_account_before_hire", "aws-prod", account.account_id))
    boundary.created_at = at(people[boundary.owner].hire_date, 0, 30)
    company.near_misses.append(("CC6.2", "no_account_before_hire", "aws-prod", boundary.account_id))


__all__ = ["DOMAIN", "NAME", "SCOPE", "SEED", "UNWRITABLE_NEAR_MISSES", "SecondCompany", "build_second_company"]
