"""Follow a person, an account or a change across all the evidence of one folder, every fact cited.

The questions an analyst asks while preparing an audit — where did a leaver still have access, who
approved a change and which deployments shipped it, which rule exceptions name someone — answered
from the loaded evidence. Every fact is a table row carrying `source_file` and `source_row`: the
export and its row, to open and check. The folder is loaded once and validated once, the first time
a lookup needs its rule exceptions. Nothing here judges: the exceptions shown are the validation's.

A person is asked for by employee id, e-mail, login or name. A name that is not exactly one person's
is matched with difflib, and the answer says so: one close name is shown with its similarity;
several are listed as candidates and none is picked.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import pandas as pd

from evidence_lib.controls import load_catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.explain import Explanation, explain
from evidence_lib.identity import person_ids, resolve_owners, resolve_people
from evidence_lib.period import Period, parse_period
from evidence_lib.project import PROJECT_DIR
from evidence_lib.results import Validation, record_keys
from evidence_lib.sources.folder import EvidenceSet, check_period, load_folder
from evidence_lib.sources.schemas import SCHEMAS
from evidence_lib.validate import traced_frame, validate
from evidence_lib.views import TICKET_KEY, TRACE_COLUMNS

#: difflib similarity (0..1) from which a roster name is a candidate for the name asked about
NAME_CUTOFF = 0.75
#: a vendor's free-text column that named a ticket, in words (others are shown by their own name)
KEY_WORDS = {"title": "title", "body": "body", "description": "body", "head.ref": "branch",
             "source_branch": "branch"}
#: what names a person, an account or a change in an exception row (the view's columns)
NAMING = ("employee_id", "owner_employee_id", "system", "account_id", "ticket_id", "deploy_id", "file", "row")
_ROLES = re.compile(r"\s*[;,|]\s*")


class Match(StrEnum):
    """How surely a lookup found what it was asked for."""

    EXACT = "exact"  # by id, e-mail, login or the whole name of exactly one person
    CLOSE = "close"  # one name close to the one asked for: shown, and said so
    UNSURE = "unsure"  # several could be meant: candidates listed, none picked
    NOT_FOUND = "not found"


class Table(StrEnum):
    """The tables a lookup answers with, each row one cited fact."""

    CANDIDATES = "candidates"
    HR = "HR record"
    ACCOUNTS = "accounts"
    TRAINING = "training"
    SCREENING = "screening"
    TICKETS = "tickets"
    PEOPLE = "people on the ticket"
    DEPLOYMENTS = "deployments"
    REVIEWS = "access review decisions"
    REGISTRY = "service account registry"
    ALIASES = "identity aliases"
    EXCEPTIONS = "rule exceptions"
    ACCOUNT_CHANGES = "account changes"
    HR_CHANGES = "HR record changes"


class TrailError(EvidenceError):
    """A lookup asked in a way that cannot be answered (no period to validate, no subject to compare)."""


@dataclass(frozen=True)
class Lookup:
    """One question's answer: tables whose every row cites its export (`source_file`) and row (`source_row`)."""

    subject: str
    match: Match
    tables: dict[Table, pd.DataFrame] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __getitem__(self, table: Table) -> pd.DataFrame:
        return self.tables.get(table, pd.DataFrame(columns=list(TRACE_COLUMNS)))

    def facts(self) -> pd.DataFrame:
        """Every row of every table as (table, source_file, source_row, evidence): what each fact cites."""
        frames = [t.reindex(columns=[*TRACE_COLUMNS, "evidence"]).assign(table=str(name))
                  for name, t in self.tables.items()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["table", *TRACE_COLUMNS])

    def summary(self) -> str:
        """One line: the subject, how surely it was found, and how many facts of each kind."""
        counts = ", ".join(f"{len(t)} {name}" for name, t in self.tables.items())
        return f"{self.subject} [{self.match}]" + (f": {counts}" if counts else "")

    def __str__(self) -> str:
        lines = [self.subject, *self.notes]
        for name, table in self.tables.items():
            lines += ["", f"{name} ({len(table)})", table.to_string(index=False) if len(table) else "  none"]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        style = ("<style>.evidence-trail table{border-collapse:collapse}.evidence-trail th,.evidence-trail td"
                 "{text-align:left;padding:2px 8px;vertical-align:top}</style>")
        parts = [style, "<div class='evidence-trail'>", f"<h3>{html.escape(self.subject)}</h3>"]
        parts += [f"<p class='trail-note'>{html.escape(note)}</p>" for note in self.notes]
        for name, table in self.tables.items():
            parts.append(f"<h4>{html.escape(str(name))} ({len(table)})</h4>")
            parts.append(table.to_html(index=False, escape=True, na_rep="", border=0) if len(table) else "<p>none</p>")
        return "".join(parts) + "</div>"


class Trail:
    """One folder's evidence, loaded once, to follow people, accounts and changes through."""

    def __init__(self, evidence: EvidenceSet, period: Period | None):
        self.evidence, self.period = evidence, period
        self.frames = {t: traced_frame(evidence, t) for t in SCHEMAS}
        self.roster = self.frames["hr_roster"]
        self.aliases = self.frames["identity_aliases"]
        self.domains = tuple(getattr(evidence.declaration, "domains", ()) or ())
        self._earlier: dict[Path, Trail] = {}
        self._resolved: dict[tuple[str, str | None], pd.Series] = {}

    @classmethod
    def open(cls, folder: str | Path, period: str | None = None) -> Trail:
        """Load a folder (a relative one is from the project folder); the period defaults to the declared one."""
        path = Path(folder)
        evidence = load_folder(path if path.is_absolute() else PROJECT_DIR / path)
        if period is not None:
            check_period(evidence.declaration, str(period))  # a folder declared for another period is refused
        label = period or evidence.declaration.period
        return cls(evidence, parse_period(str(label)) if label else None)

    def __repr__(self) -> str:
        return f"Trail({self.evidence.declaration.folder.name}, {self.period.label if self.period else 'no period'})"

    # -- what is computed once, on first need --------------------------------------------------

    @cached_property
    def validation(self) -> Validation:
        if self.period is None:
            raise TrailError("the evidence declares no period: open the trail with period='2026-Q3' to see "
                             "the rule exceptions")
        return validate(self.evidence, self.period)

    @cached_property
    def accounts(self) -> pd.DataFrame:
        """Every account of every system with `owner_employee_id` and `resolved_by` (identity.py)."""
        return resolve_owners(self.frames["accounts"], self.roster, self.aliases, self.domains)

    @cached_property
    def ticket_people(self) -> pd.DataFrame:
        """One row per person named on a ticket: `row` (of the tickets frame), role, as written, person."""
        tickets = self.frames["change_tickets"]
        parts = []
        for role in ("author", "implementer", "approver"):
            written = tickets[role].fillna("").astype(str).str.split(";").explode().str.strip()
            written = written[written != ""]
            parts.append(pd.DataFrame({"row": written.index, "role": role, "written": written.to_numpy()}))
        long = pd.concat(parts, ignore_index=True)
        long["person"] = resolve_people(long["written"], self.roster, self.aliases, self.domains).to_numpy()
        long["ticket_id"] = tickets.loc[long["row"], "ticket_id"].str.upper().to_numpy()
        return long

    @cached_property
    def shipments(self) -> pd.DataFrame:
        """One row per deployment and ticket it names that exists (title, body, branch: views.TICKET_KEY)."""
        deployments = self.frames["deployments"]
        known = set(self.frames["change_tickets"]["ticket_id"].str.upper())
        keys = deployments["ticket_ref"].fillna("").str.findall(TICKET_KEY).explode().dropna().str.upper()
        keys = keys[keys.isin(known)]
        linked = deployments.loc[keys.index].assign(ticket_id=keys.to_numpy())
        return linked.drop_duplicates(["source_file", "source_row", "ticket_id"])

    @cached_property
    def exceptions(self) -> pd.DataFrame:
        """Every rule exception of the validation, one row each, with the columns that name its subject."""
        frames = []
        for result in self.validation.rules:
            rows = result.exceptions
            if not len(rows):
                continue
            named = rows.reindex(columns=[*NAMING, *TRACE_COLUMNS, "source_values", "response_status"])
            frames.append(named.assign(
                control=result.rule.control_id, rule=result.rule.rule_id, severity=result.rule.severity,
                record_key=record_keys(rows, self.validation.view_keys[result.rule.view]),
                source_file=named["source_file"].fillna(named["file"]),
                source_row=named["source_row"].fillna(named["row"])))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*NAMING, *TRACE_COLUMNS])

    # -- the lookups ----------------------------------------------------------------------------

    def person(self, query: str) -> Lookup:
        """Everything the evidence says about one person: HR record, accounts, training, screening, tickets,
        deployments, review decisions and every rule exception naming them."""
        match, found, candidates, notes = self._find_person(query)
        if found is None:
            return Lookup(f"Person {str(query)!r}", match, {Table.CANDIDATES: candidates} if len(candidates) else {},
                          notes)
        hr = self.roster[self.roster["employee_id"] == found]
        accounts = self.accounts[self.accounts["owner_employee_id"] == found]
        tickets = self._tickets_of(found)
        deployments = self._deployments_of(found, set(tickets["ticket_id"].str.upper()))
        tables = {Table.HR: _cited(hr, ["employee_id", "name", "email", "worker_type", "status", "hire_date",
                                        "termination_date", "department", "title", "manager_id"]),
                  Table.ACCOUNTS: _account_rows(accounts, hr["termination_date"].iloc[0]),
                  Table.TRAINING: self._records_of("training", found, ["course", "status", "completed_at"]),
                  Table.SCREENING: self._records_of("background_checks", found,
                                                    ["status", "completed_at", "package", "report_id"]),
                  Table.TICKETS: tickets, Table.DEPLOYMENTS: deployments,
                  Table.REVIEWS: self._reviews_of(found, _account_keys(accounts))}
        tables[Table.EXCEPTIONS] = self._naming(people={found}, accounts=_account_keys(accounts),
                                                tickets=set(tickets["ticket_id"].str.upper()),
                                                deployments=set(deployments["deploy_id"]), rows=_rows(tables))
        name = hr["name"].iloc[0]
        return Lookup(f"{name} ({found}), {hr['status'].iloc[0]}", match, tables, notes)

    def account(self, system: str, account_id: str) -> Lookup:
        """One account (every row with that id in the system): its owner, registry entry, alias,
        review decisions and the rule exceptions naming it."""
        accounts = self.accounts
        hit = accounts[(_fold(accounts["system"]) == _fold_one(system))
                       & (_fold(accounts["account_id"]) == _fold_one(account_id))]
        subject = f"Account {account_id!r} in {system!r}"
        if not len(hit):
            ids = accounts.loc[_fold(accounts["system"]) == _fold_one(system), "account_id"].astype(str).tolist()
            close = difflib.get_close_matches(str(account_id), ids, n=5, cutoff=0.6)
            where = f"close ids: {', '.join(close)}" if close else \
                f"systems: {', '.join(sorted(accounts['system'].dropna().unique()))}"
            return Lookup(subject, Match.NOT_FOUND, notes=(f"no such account in the evidence; {where}",))
        owners = set(hit["owner_employee_id"].dropna())
        keys = _account_keys(hit)
        tables = {Table.ACCOUNTS: _account_rows(hit, None, owner=True),
                  Table.HR: _cited(self.roster[self.roster["employee_id"].isin(owners)],
                                   ["employee_id", "name", "email", "status", "hire_date", "termination_date"]),
                  Table.REGISTRY: _cited(_keyed(self.frames["service_accounts"], keys),
                                         ["system", "account_id", "owner", "purpose", "approved_by", "approved_at"]),
                  Table.ALIASES: _cited(_keyed(self.aliases, keys), ["system", "account_id", "email"]),
                  Table.REVIEWS: self._reviews_of(None, keys)}
        tables[Table.EXCEPTIONS] = self._naming(accounts=keys, rows=_rows(tables))
        created = ", ".join(str(c) for c in hit["created_at"].dropna()) or "when, the export does not say"
        notes = [] if owners else [f"belongs to nobody in the HR roster ({', '.join(sorted(set(hit['resolved_by'])))})"
                                   f"; created {created}"]
        return Lookup(subject, Match.EXACT, tables, tuple(notes))

    def change(self, ticket_id: str) -> Lookup:
        """One change: its ticket, the people on it, the deployments that shipped it (and by which
        column), and the rule exceptions naming it or its deployments."""
        wanted = str(ticket_id).strip().upper()
        tickets = self.frames["change_tickets"]
        hit = tickets[tickets["ticket_id"].str.upper() == wanted]
        if not len(hit):
            close = difflib.get_close_matches(wanted, tickets["ticket_id"].str.upper().tolist(), n=5, cutoff=0.7)
            return Lookup(f"Change {str(ticket_id)!r}", Match.NOT_FOUND,
                          notes=("no such ticket in the ticket exports" + (f"; close ids: {', '.join(close)}"
                                                                            if close else ""),))
        people = self.ticket_people[self.ticket_people["ticket_id"] == wanted]
        named = self.roster.drop_duplicates("employee_id").set_index("employee_id")["name"]
        people = people.assign(name=people["person"].map(named),
                               source_file=tickets.loc[people["row"], "source_file"].to_numpy(),
                               source_row=tickets.loc[people["row"], "source_row"].to_numpy())
        shipped = self.shipments[self.shipments["ticket_id"] == wanted]
        tables = {Table.TICKETS: _cited(hit, ["ticket_id", "title", "change_type", "status", "author", "implementer",
                                              "approver", "created_at", "approved_at", "resolved_at",
                                              "testing_evidence"]),
                  Table.PEOPLE: _cited(people, ["role", "written", "person", "name"]),
                  Table.DEPLOYMENTS: self._shipment_rows(shipped)}
        tables[Table.EXCEPTIONS] = self._naming(tickets={wanted}, deployments=set(shipped["deploy_id"]),
                                                rows=_rows({Table.TICKETS: hit}))
        return Lookup(f"Change {wanted}: {hit['title'].iloc[0]}", Match.EXACT, tables, _same_people(people))

    def explain(self, rule_id: str, key: str, system: str | None = None) -> Explanation:
        """Why a record is (or is not) an exception of a rule: each check with its value and threshold,
        and the export row the values came from (explain.py)."""
        return explain(self.validation, load_catalog(), rule_id, key, system)

    def compare(self, previous_folder: str | Path | None, *, person: str | None = None,
                system: str | None = None) -> Lookup:
        """What changed since the previous period's evidence, for one person or one system: accounts
        added, removed, disabled or enabled again, roles and admin rights changed (and, for a person,
        their HR record)."""
        if previous_folder is None:
            return Lookup("What changed since the previous period", Match.NOT_FOUND,
                          notes=("no previous period's evidence folder given: nothing to compare",))
        if (person is None) == (system is None):
            raise TrailError("compare one person or one system: give person= or system=, not both or neither")
        before = self._previous(previous_folder)
        labels = (before._label("previous period"), self._label("this period"))
        if system is not None:
            old = before.accounts[_fold(before.accounts["system"]) == _fold_one(system)]
            new = self.accounts[_fold(self.accounts["system"]) == _fold_one(system)]
            return Lookup(f"What changed in {system} from {labels[0]} to {labels[1]}", Match.EXACT,
                          {Table.ACCOUNT_CHANGES: account_changes(old, new, labels)})
        match, found, candidates, notes = self._find_person(person)
        if found is None:
            return Lookup(f"What changed for {str(person)!r}", match,
                          {Table.CANDIDATES: candidates} if len(candidates) else {}, notes)
        old = before.accounts[before.accounts["owner_employee_id"] == found]
        new = self.accounts[self.accounts["owner_employee_id"] == found]
        tables = {Table.ACCOUNT_CHANGES: account_changes(old, new, labels),
                  Table.HR_CHANGES: record_changes(before.roster[before.roster["employee_id"] == found],
                                                   self.roster[self.roster["employee_id"] == found], labels)}
        return Lookup(f"What changed for {found} from {labels[0]} to {labels[1]}", match, tables, notes)

    def save(self, results_dir: str | None) -> None:
        """results.json (the inventory of what was read) for `evidence run --with-explore`; nothing interactively."""
        if results_dir:
            from evidence_lib.area import TestedArea
            from evidence_lib.area_files import write_area_files
            from evidence_lib.controls import load_catalog

            period = self.period or parse_period("1970-01")
            write_area_files(TestedArea((), period, self.evidence.declaration.folder, self.evidence, None,
                                        load_catalog()), results_dir)

    # -- helpers of the lookups ------------------------------------------------------------------

    def _label(self, default: str) -> str:
        return self.period.label if self.period else default

    def _previous(self, folder: str | Path) -> Trail:
        path = Path(folder) if Path(folder).is_absolute() else PROJECT_DIR / folder
        if path.resolve() not in self._earlier:
            self._earlier[path.resolve()] = Trail.open(path)
        return self._earlier[path.resolve()]

    def _find_person(self, query) -> tuple[Match, str | None, pd.DataFrame, tuple[str, ...]]:
        """(how sure, employee id or None, candidates, notes) for an employee id, e-mail, login or name."""
        text = " ".join(str(query).split())
        roster = self.roster
        by_id = roster[roster["employee_id"].astype(str).str.casefold() == text.casefold()]
        if len(by_id) == 1:
            return Match.EXACT, by_id["employee_id"].iloc[0], by_id, ()
        found = resolve_people(pd.Series([text]), roster, self.aliases, self.domains).iloc[0]
        if pd.notna(found):
            return Match.EXACT, found, roster[roster["employee_id"] == found], ()
        names, wanted = _fold(roster["name"]), _fold_one(text)
        similarity = names.map(lambda name: round(difflib.SequenceMatcher(None, wanted, name).ratio(), 2))
        contains = names.map(lambda name: bool(wanted) and set(wanted.split()) <= set(name.split()))
        same = names == wanted
        chosen = same if same.any() else (similarity >= NAME_CUTOFF) | contains
        candidates = _cited(roster[chosen].assign(similarity=similarity[chosen]).sort_values(
            "similarity", ascending=False), ["employee_id", "name", "email", "status", "department", "similarity"])
        if len(candidates) == 1:
            row = candidates.iloc[0]
            if same.any():
                return Match.EXACT, row["employee_id"], candidates, ()
            return Match.CLOSE, row["employee_id"], candidates, (
                f"nobody is named {text!r}; the one close name is {row['name']} ({row['employee_id']}, "
                f"similarity {row['similarity']}): shown, check it is the person you meant",)
        if len(candidates) > 1:
            why = f"{len(candidates)} people are named {text!r}" if same.any() else \
                f"{text!r} is not one person's name: {len(candidates)} close names"
            return Match.UNSURE, None, candidates, (
                f"unsure: {why}; none picked, ask again by employee id or e-mail",)
        return Match.NOT_FOUND, None, candidates, (
            f"nobody in the HR roster matches {text!r} by employee id, e-mail, login or name; an account that "
            f"belongs to nobody is found with account(system, account_id)",)

    def _people(self, evidence_type: str, column: str | None = None) -> pd.Series:
        """Each record's person (employee id): the one its `column` names, or for people-keyed evidence
        (column None) the one its employee id or e-mail names. Resolved once per trail."""
        if (evidence_type, column) not in self._resolved:
            records = self.frames[evidence_type]
            self._resolved[evidence_type, column] = person_ids(records, self.roster, self.domains) \
                if column is None else resolve_people(records[column], self.roster, self.aliases, self.domains)
        return self._resolved[evidence_type, column]

    def _records_of(self, evidence_type: str, employee_id: str, columns: list[str]) -> pd.DataFrame:
        records = self.frames[evidence_type]
        return _cited(records[self._people(evidence_type) == employee_id], columns)

    def _tickets_of(self, employee_id: str) -> pd.DataFrame:
        mine = self.ticket_people[self.ticket_people["person"] == employee_id]
        roles = mine.groupby("row")["role"].agg(lambda r: ", ".join(sorted(set(r))))
        tickets = self.frames["change_tickets"].loc[roles.index].assign(role=roles.to_numpy())
        return _cited(tickets, ["ticket_id", "role", "title", "change_type", "status", "author", "implementer",
                                "approver", "approved_at"])

    def _deployments_of(self, employee_id: str, tickets: set[str]) -> pd.DataFrame:
        deployments = self.frames["deployments"]
        parts = [self._shipment_rows(self.shipments[self.shipments["ticket_id"].isin(tickets)])]
        for role in ("author", "deployed_by"):
            theirs = deployments[self._people("deployments", role) == employee_id]
            parts.append(_cited(theirs.assign(why=f"{role.replace('_', ' ')} {employee_id}"),
                                ["deploy_id", "deployed_at", "repository", "why"]))
        return pd.concat(parts, ignore_index=True)

    def _shipment_rows(self, shipped: pd.DataFrame) -> pd.DataFrame:
        """Deployments shipping tickets, with the column that named the ticket and whether in the period."""
        by_file = {o.declared.relative: o.loaded for o in self.evidence.outcomes if o.loaded is not None}
        linked_by = [_linked_by(by_file.get(f), r, t) for f, r, t in
                     zip(shipped["source_file"], shipped["source_row"], shipped["ticket_id"])]
        rows = shipped.assign(why="ships " + shipped["ticket_id"], linked_by=linked_by)
        if self.period is not None:
            start = pd.Timestamp(self.period.start, tz="UTC")
            end = pd.Timestamp(self.period.end, tz="UTC") + pd.Timedelta(days=1)
            rows = rows.assign(in_period=(rows["deployed_at"] >= start) & (rows["deployed_at"] < end))
        return _cited(rows, ["deploy_id", "deployed_at", "repository", "why", "linked_by", "in_period",
                             "ticket_ref"])

    def _reviews_of(self, employee_id: str | None, accounts: set[str]) -> pd.DataFrame:
        reviews = self.frames["access_reviews"]
        about = (_fold(reviews["system"]) + "\x1f" + _fold(reviews["account_id"])).isin(accounts)
        by = pd.Series(False, index=reviews.index)
        if employee_id is not None:
            by = self._people("access_reviews", "reviewer") == employee_id
        chosen = about | by
        rows = reviews[chosen].assign(about=about[chosen].map({True: "their account", False: "as reviewer"}))
        return _cited(rows, ["system", "account_id", "period", "decision", "reviewer", "decided_at",
                             "signed_off_at", "about"])

    def _naming(self, *, people=(), accounts=(), tickets=(), deployments=(), rows=()) -> pd.DataFrame:
        """The rule exceptions that name one of these people, accounts, tickets, deployments or source rows."""
        found = self.exceptions
        cited = pd.Series(list(zip(found["source_file"], pd.to_numeric(found["source_row"]))), index=found.index)
        hit = (found["employee_id"].isin(people) | found["owner_employee_id"].isin(people)
               | (_fold(found["system"]) + "\x1f" + _fold(found["account_id"])).isin(accounts)
               | found["ticket_id"].astype("str").str.upper().isin(tickets) | found["deploy_id"].isin(deployments)
               | cited.isin(rows))
        return _cited(found[hit], ["control", "rule", "severity", "record_key", "system", "response_status",
                                   "source_values"])


# -- pure helpers ----------------------------------------------------------------------------------

def _fold(values: pd.Series) -> pd.Series:
    return values.map(_fold_one, na_action="ignore").fillna("")


def _fold_one(text: object) -> str:
    """Case, accents and runs of white space folded: 'Noah  García' reads as 'noah garcia'."""
    plain = unicodedata.normalize("NFKD", str(text))
    return " ".join("".join(c for c in plain if not unicodedata.combining(c)).casefold().split())


def _cited(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns a table shows, then where each row came from."""
    return frame.reindex(columns=[*columns, *TRACE_COLUMNS]).reset_index(drop=True)


def _rows(tables: dict) -> set[tuple[str, int]]:
    return {(f, int(r)) for t in tables.values() for f, r in zip(t["source_file"], t["source_row"]) if pd.notna(r)}


def _account_keys(accounts: pd.DataFrame) -> set[str]:
    return set(_fold(accounts["system"]) + "\x1f" + _fold(accounts["account_id"]))


def _keyed(records: pd.DataFrame, keys: set[str]) -> pd.DataFrame:
    return records[(_fold(records["system"]) + "\x1f" + _fold(records["account_id"])).isin(keys)]


def _state(accounts: pd.DataFrame) -> pd.Series:
    return accounts["enabled"].map({True: "enabled", False: "disabled"}).fillna("unknown")


def _account_rows(accounts: pd.DataFrame, termination, *, owner: bool = False) -> pd.DataFrame:
    """Each account's state and dates; for a leaver, the days from termination to disabling."""
    rows = accounts.assign(state=_state(accounts))
    columns = ["system", "account_id", "state", "created_at", "last_login_at", "disabled_at"]
    if termination is not None and pd.notna(termination):
        disabled = rows["disabled_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
        rows["days_to_disable"] = (disabled - termination).dt.days.astype("float64")
        columns.append("days_to_disable")
    columns += ["is_admin", "roles", "mfa_enabled"] + (["owner_employee_id"] if owner else []) + ["resolved_by"]
    return _cited(rows, columns)


def _linked_by(loaded, row, ticket: str) -> str:
    """Which of the export's own columns named the ticket (title, body, branch...), else 'ticket reference'."""
    if loaded is None or pd.isna(row) or int(row) not in loaded.raw.index:
        return "ticket reference"
    used = str(loaded.provenance.columns_used.get("ticket_ref", ""))
    cells = loaded.raw.loc[int(row)]
    found = [h for h in used.split("+") if h in cells.index
             and ticket in {k.upper() for k in TICKET_KEY.findall(str(cells[h]))}]
    return ", ".join(f"{KEY_WORDS[h]} ({h})" if h in KEY_WORDS else h for h in found) or "ticket reference"


def _same_people(people: pd.DataFrame) -> tuple[str, ...]:
    """Facts worth saying about who is on a ticket: one person in two roles, a name that is nobody."""
    notes = []
    known = people.dropna(subset=["person"])
    for person, roles in known.groupby("person")["role"]:
        if roles.nunique() > 1:
            notes.append(f"{person} is {' and '.join(sorted(set(roles)))} of this change")
    notes += [f"{r['role']} {r['written']!r} is nobody in the HR roster" for _, r in people.iterrows()
              if pd.isna(r["person"])]
    if "approver" not in set(people["role"]):
        notes.append("the ticket names no approver")
    return tuple(notes)


def _roles(value) -> frozenset[str]:
    return frozenset(r.casefold() for r in _ROLES.split(str(value)) if r) if pd.notna(value) else frozenset()


def account_changes(before: pd.DataFrame, after: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """Accounts added, removed, disabled, enabled again, with changed roles or admin rights, between two
    exports of the same accounts (matched by system and id, case-insensitively). A change cites the row
    of the later export; a removal cites the earlier one (`evidence` says which period's)."""
    def keyed(frame):
        key = _fold(frame["system"]) + "\x1f" + _fold(frame["account_id"])
        return frame.assign(key=key + "\x1f" + key.groupby(key).cumcount().astype(str)).set_index("key")

    old, new = keyed(before), keyed(after)
    changes = []
    for key in [*old.index, *new.index.difference(old.index)]:
        was, now = (old.loc[key] if key in old.index else None), (new.loc[key] if key in new.index else None)
        if was is None or now is None:
            row, label = (now, labels[1]) if was is None else (was, labels[0])
            state = "enabled" if row["enabled"] else "disabled"
            changes.append((row, "added" if was is None else "removed", "" if was is None else state,
                            state if was is None else "", label))
            continue
        if bool(was["enabled"]) != bool(now["enabled"]):
            changes.append((now, "disabled" if was["enabled"] else "enabled again",
                            _state(was.to_frame().T).iloc[0], f"{_state(now.to_frame().T).iloc[0]} "
                            f"{'' if pd.isna(now['disabled_at']) else now['disabled_at']}".strip(), labels[1]))
        if _roles(was["roles"]) != _roles(now["roles"]):
            changes.append((now, "roles changed", _text(was["roles"]), _text(now["roles"]), labels[1]))
        if bool(was["is_admin"]) != bool(now["is_admin"]):
            changes.append((now, "admin granted" if now["is_admin"] else "admin removed", str(bool(was["is_admin"])),
                            str(bool(now["is_admin"])), labels[1]))
    return pd.DataFrame([{"system": r["system"], "account_id": r["account_id"], "change": change, "before": was,
                          "after": now, "evidence": label, "source_file": r["source_file"],
                          "source_row": r["source_row"]} for r, change, was, now, label in changes],
                        columns=["system", "account_id", "change", "before", "after", "evidence", *TRACE_COLUMNS])


def record_changes(before: pd.DataFrame, after: pd.DataFrame, labels: tuple[str, str],
                   fields: tuple[str, ...] = ("status", "termination_date", "title", "department",
                                              "manager_id")) -> pd.DataFrame:
    """A person's HR record fields that differ between two rosters (citing the later row), or their
    arrival or departure from the roster."""
    columns = ["field", "before", "after", "evidence", *TRACE_COLUMNS]
    if before.empty or after.empty:
        row, label = (after, labels[1]) if before.empty else (before, labels[0])
        what = "not in the roster" if row.empty else ("added to the roster" if before.empty else "left the roster")
        rows = [] if row.empty else [("record", "" if before.empty else "present", what, label,
                                      row["source_file"].iloc[0], row["source_row"].iloc[0])]
        return pd.DataFrame(rows, columns=columns)
    was, now = before.iloc[0], after.iloc[0]
    rows = [(f, _text(was[f]), _text(now[f]), labels[1], now["source_file"], now["source_row"])
            for f in fields if _text(was[f]) != _text(now[f])]
    return pd.DataFrame(rows, columns=columns)


def _text(value) -> str:
    return "" if pd.isna(value) else str(value)
