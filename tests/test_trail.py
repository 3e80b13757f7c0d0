"""The analyst's trail (trail.py) on the sample company, checked against the generator's ground truth:
the people, accounts, tickets and deployments evidence_lib.synth built the exports from, and its answer
key expected_exceptions.csv. The sample is loaded and validated once for the module."""

import shutil
import subprocess
import sys
import unicodedata
from collections import Counter

import nbformat
import pandas as pd
import pytest

from evidence_lib.period import parse_period
from evidence_lib.project import NOTEBOOKS_DIR, PROJECT_DIR
from evidence_lib.run import EXPLORE_NOTEBOOK, RunError, plan, plan_run
from evidence_lib.synth.company import build_company
from evidence_lib.synth_devices import device_evidence
from evidence_lib.trail import Lookup, Match, Table, Trail, TrailError
from tests.conftest import PERIOD, SAMPLE

EXPECTED = pd.read_csv(SAMPLE / "expected_exceptions.csv", dtype=str, keep_default_na=False)
LEAVERS = list(EXPECTED.loc[EXPECTED["rule"] == "terminated_accounts_disabled", ["system", "record_key"]]
               .itertuples(index=False, name=None))
SELF_APPROVED = list(EXPECTED.loc[EXPECTED["rule"] == "approver_independent", "record_key"])
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def trail() -> Trail:
    return Trail.open(SAMPLE)


@pytest.fixture(scope="module")
def truth():
    """The sample company as the generator built it (`make sample`: 180 people, seed 7)."""
    return build_company(180, parse_period(PERIOD), seed=7)


@pytest.fixture(scope="module")
def devices(tmp_path_factory):
    """The sample's devices as their generator made them (it writes the exports: into a copy, not the sample)."""
    folder = shutil.copytree(SAMPLE, tmp_path_factory.mktemp("devices") / "evidence")
    return device_evidence(folder, PERIOD).devices


@pytest.fixture(scope="module")
def previous(tmp_path_factory):
    """The sample as a previous period's evidence, edited so that since then (in okta): Uma Eriksen's account
    was added, gone.person's removed, Rosa Moreau's disabled and Björn Singh made Super Administrator."""
    folder = tmp_path_factory.mktemp("previous") / "evidence"
    shutil.copytree(SAMPLE, folder)
    declaration = folder / "evidence.yaml"
    declaration.write_text(declaration.read_text(encoding="utf-8").replace("period: 2026-Q3", "period: 2026-Q2"),
                           encoding="utf-8")
    okta = folder / "accounts" / "okta_users.csv"
    lines = okta.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if not line.startswith("uma.eriksen@")]
    lines = [line.replace(",DEPROVISIONED,", ",ACTIVE,") if line.startswith("rosa.moreau@") else line
             for line in lines]
    lines = [line.removesuffix("Super Administrator") if line.startswith("bjorn.singh@") else line for line in lines]
    lines.append("gone.person@northwind.example,Gone Person,gone.person@northwind.example,ACTIVE,"
                 "2021-01-04T09:00:00+00:00,2026-06-01T09:00:00+00:00,2021-01-04T09:00:00+00:00,true,")
    okta.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _named_in_truth(truth, devices, employee_id: str) -> set[tuple[str, str]]:
    """(system, record key) of everything the generator made that belongs to or names the person."""
    person = next(p for p in truth.people if p.employee_id == employee_id)
    names = {person.email, person.github_login} - {None}
    keys = {(a.system, a.account_id) for a in truth.accounts if a.owner == employee_id} | {("", employee_id)}
    keys |= {("", d.device_id) for d in devices if (d.email or "").casefold() == person.email.casefold()}
    keys |= {("", t.ticket_id) for t in truth.tickets if names & {t.author, t.implementer, t.approver}}
    keys |= {("", d.deploy_id) for d in truth.deployments if names & {d.author, d.deployed_by}}
    return keys


@pytest.mark.parametrize("system, account_id", LEAVERS)
def test_a_planted_leaver_shows_every_account_with_its_state_and_every_exception_naming_them(
        trail, truth, devices, system, account_id):
    owner = next(a.owner for a in truth.accounts if (a.system, a.account_id) == (system, account_id))
    person = next(p for p in truth.people if p.employee_id == owner)
    unique = Counter(p.name for p in truth.people)[person.name] == 1
    found = trail.person(person.name if unique else person.email)
    assert found.match == Match.EXACT and found.subject.startswith(f"{person.name} ({owner}), terminated")
    assert found[Table.HR]["termination_date"].iloc[0].date() == person.termination_date

    accounts = found[Table.ACCOUNTS]
    assert sorted(zip(accounts["system"], accounts["account_id"], accounts["state"])) == sorted(
        (a.system, a.account_id, "enabled" if a.enabled else "disabled") for a in truth.accounts if a.owner == owner)
    for account in (a for a in truth.accounts if a.owner == owner and a.disabled_at):
        row = accounts[(accounts["system"] == account.system) & (accounts["account_id"] == account.account_id)]
        assert row["disabled_at"].iloc[0] == pd.Timestamp(account.disabled_at)
        assert row["days_to_disable"].iloc[0] == (account.disabled_at.date() - person.termination_date).days

    rows = found[Table.EXCEPTIONS]
    shown = set(zip(rows["control"], rows["rule"], rows["system"].fillna(""), rows["record_key"]))
    assert ("CC6.2", "terminated_accounts_disabled", system, account_id) in shown
    naming = _named_in_truth(truth, devices, owner)
    assert shown == {tuple(r) for r in EXPECTED.itertuples(index=False)
                     if (r.system, r.record_key) in naming or ("", r.record_key) in naming}


@pytest.mark.parametrize("ticket_id", SELF_APPROVED)
def test_a_change_without_independent_approval_shows_its_people_and_the_deployments_that_shipped_it(
        trail, truth, ticket_id):
    ticket = next(t for t in truth.tickets if t.ticket_id == ticket_id)
    by_email = {p.email: p.employee_id for p in truth.people}
    found = trail.change(ticket_id)
    assert found.match == Match.EXACT and found[Table.TICKETS]["ticket_id"].tolist() == [ticket_id]

    people = found[Table.PEOPLE]
    roles = {"author": ticket.author, "implementer": ticket.implementer, "approver": ticket.approver}
    assert set(zip(people["role"], people["person"])) == {(role, by_email[email]) for role, email in roles.items()
                                                          if email}
    if ticket.approver in (ticket.author, ticket.implementer):
        twice = "approver and author" if ticket.approver == ticket.author else "approver and implementer"
        assert f"{by_email[ticket.approver]} is {twice} of this change" in found.notes
    else:
        assert "the ticket names no approver" in found.notes

    shipped = {d.deploy_id: d for d in truth.deployments if d.ships == ticket_id}
    deployments = found[Table.DEPLOYMENTS]
    assert set(deployments["deploy_id"]) == set(shipped) and deployments["in_period"].all()
    for deploy_id, linked_by in zip(deployments["deploy_id"], deployments["linked_by"]):
        d = shipped[deploy_id]
        named = {"title": d.title, "body": d.body, "branch": d.branch, "ticket": d.ticket}
        expected = {key for key, text in named.items() if ticket_id.casefold() in (text or "").casefold()}
        assert {part.split(" ")[0] for part in linked_by.split(", ")} == expected, deploy_id

    rows = found[Table.EXCEPTIONS]
    assert set(zip(rows["rule"], rows["record_key"])) == set(
        zip(*EXPECTED.loc[EXPECTED["record_key"] == ticket_id, ["rule", "record_key"]].T.values))


def test_a_shared_or_misspelt_name_is_reported_unsure_and_nobody_is_picked(trail, truth):
    name, count = Counter(p.name for p in truth.people).most_common(1)[0]
    assert count > 1
    ids = {p.employee_id for p in truth.people if p.name == name}
    for asked in (name, name[:-1], name.split()[0]):
        found = trail.person(asked)
        assert found.match == Match.UNSURE and set(found.tables) == {Table.CANDIDATES}, asked
        assert ids <= set(found[Table.CANDIDATES]["employee_id"])
        assert found.notes[0].startswith("unsure:") and "none picked" in found.notes[0]
        assert "unsure:" in found._repr_html_() and "unsure:" in str(found)

    close = trail.person("Kemy Ueda")  # one letter off the only Kemi Ueda
    assert close.match == Match.CLOSE and close.subject.startswith("Kemi Ueda (E10153)")
    assert "nobody is named 'Kemy Ueda'" in close.notes[0] and "similarity" in close.notes[0]
    assert trail.person("Zebedee Quartermain").match == Match.NOT_FOUND


def test_a_person_is_found_by_id_email_login_or_name_without_accents(trail, truth):
    names = Counter(p.name for p in truth.people)
    person = next(p for p in truth.people if names[p.name] == 1 and p.github_login and not p.name.isascii())
    plain = unicodedata.normalize("NFKD", person.name).encode("ascii", "ignore").decode()
    local, domain = person.email.split("@")
    for asked in (person.employee_id.lower(), person.email.upper(), f"{local}+audit@{domain}", person.github_login,
                  plain, person.name):
        found = trail.person(asked)
        assert found.match == Match.EXACT and f"({person.employee_id})" in found.subject, asked


def test_hostile_text_is_escaped_in_html_and_kept_verbatim_in_text(trail):
    for found in (trail.person(HOSTILE), trail.account("okta", HOSTILE), trail.change(HOSTILE)):
        page = found._repr_html_()
        assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    made = Lookup(HOSTILE, Match.EXACT, {Table.HR: pd.DataFrame({"name": [HOSTILE], "source_file": [HOSTILE],
                                                                 "source_row": [1]})}, (HOSTILE,))
    page = made._repr_html_()
    assert "<script" not in page and "<img" not in page and page.count("&lt;script&gt;") == 4
    assert str(made).count(HOSTILE) == 4


def test_every_fact_cites_a_file_and_a_row_that_exist(trail):
    lookups = [trail.person("E10153"), trail.person("grace.varga@northwind.example"), trail.change("ENG-160"),
               trail.change("CHG0030052"), trail.account("billing-db", "test"),
               trail.account("github", "rosamor-10165")]
    loaded = {o.declared.relative: o.loaded for o in trail.evidence.outcomes if o.loaded is not None}
    keys = {Table.ACCOUNTS: "account_id", Table.TICKETS: "ticket_id", Table.REVIEWS: "account_id",
            Table.EXCEPTIONS: "record_key"}
    checked = 0
    for found in lookups:
        facts = found.facts()
        assert len(facts) and facts["source_file"].notna().all() and facts["source_row"].notna().all()
        assert all(int(row) in loaded[file].frame.index for file, row in zip(facts["source_file"], facts["source_row"]))
        for table, column in ((t, c) for t, c in keys.items() if t in found.tables):
            # a CSV row is its line: the line must say what the fact says
            for file, row, key in zip(found[table]["source_file"], found[table]["source_row"], found[table][column]):
                if file.endswith(".csv"):
                    line = (SAMPLE / file).read_bytes().decode("latin-1").splitlines()[int(row) - 1]
                    assert key.casefold() in line.casefold(), (file, row, key)
                    checked += 1
    assert checked > 20


def test_what_changed_since_the_previous_period_for_a_system_and_for_a_person(trail, previous):
    changes = trail.compare(previous, system="okta")[Table.ACCOUNT_CHANGES]
    assert sorted(zip(changes["account_id"], changes["change"])) == [
        ("bjorn.singh@northwind.example", "admin granted"), ("bjorn.singh@northwind.example", "roles changed"),
        ("gone.person@northwind.example", "removed"), ("rosa.moreau@northwind.example", "disabled"),
        ("uma.eriksen@northwind.example", "added")]
    removed = changes[changes["change"] == "removed"].iloc[0]
    assert removed["evidence"] == "2026-Q2" and removed["before"] == "enabled"
    line = (previous / removed["source_file"]).read_text(encoding="utf-8").splitlines()[int(removed["source_row"]) - 1]
    assert line.startswith("gone.person@")
    assert set(changes.loc[changes["change"] != "removed", "evidence"]) == {"2026-Q3"}

    rosa = trail.compare(previous, person="Rosa Moreau")
    assert rosa.subject == "What changed for E10165 from 2026-Q2 to 2026-Q3"
    assert rosa[Table.ACCOUNT_CHANGES][["system", "change", "before"]].values.tolist() == [
        ["okta", "disabled", "enabled"]]
    assert rosa[Table.HR_CHANGES].empty
    assert trail.compare(None, person="Rosa Moreau").notes == (
        "no previous period's evidence folder given: nothing to compare",)
    with pytest.raises(TrailError):
        trail.compare(previous)


def test_the_explore_notebook_is_packaged_only_when_asked_for(tmp_path):
    assert EXPLORE_NOTEBOOK not in plan() and plan(with_explore=True)[EXPLORE_NOTEBOOK] == []
    assert plan_run(PERIOD, evidence_dir=SAMPLE, out=tmp_path, with_explore=True).notebooks[EXPLORE_NOTEBOOK] == ()
    with pytest.raises(RunError, match="--mask-pii"):
        plan_run(PERIOD, evidence_dir=SAMPLE, out=tmp_path, with_explore=True, mask_pii=True)


def test_the_explore_notebook_runs_with_plain_papermill_and_answers_the_questions(tmp_path, previous):
    executed = tmp_path / "explore.ipynb"
    finished = subprocess.run(
        [sys.executable, "-m", "papermill", f"notebooks/{EXPLORE_NOTEBOOK}", str(executed), "-p", "period", PERIOD,
         "-p", "person", "Rosa Moreau", "-p", "previous_evidence_dir", str(previous), "--no-progress-bar"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    shown = {c.source: "".join(o.get("data", {}).get("text/html", "") + o.get("text", "") for o in c.outputs)
             for c in nbformat.read(executed, 4).cells if c.cell_type == "code"}
    person = shown["trail.person(person)"]
    assert "rosamor-10165" in person and "terminated_accounts_disabled" in person and "<td>enabled</td>" in person
    assert "Change ENG-160" in shown["trail.change(ticket)"] and "northwind/web#1068" in shown["trail.change(ticket)"]
    assert "<td>disabled</td>" in shown["trail.compare(previous_evidence_dir, person=person)"]
    assert "unsure:" in shown["trail.person(person.split()[0])"]  # Rosa: several people
    assert (NOTEBOOKS_DIR / EXPLORE_NOTEBOOK).is_file()
