"""Judge a period's controls on loaded evidence: integrity first, then every control rule.

Orchestration only: views are built in views.py and integrity.py, suites run in judge.py, scope
decisions come from scope.py, and the verdicts are the typed results of results.py. A control
rule whose evidence failed to load, lost rows, failed integrity on a column it uses, or lacks a
column it needs is an error with the reason: never a pass.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from evidence_lib import backup_views, device_views, integrity, policy_views, risk_views, vendor_views
from evidence_lib import views as build
from evidence_lib.controls import Catalog, Rule, load_catalog
from evidence_lib.judge import SuiteRunner, default_runner, judge_view
from evidence_lib.parameters import resolve_parameters
from evidence_lib.period import Period
from evidence_lib.responses import apply_responses
from evidence_lib.results import (
    ERROR,
    EXCEPTIONS,
    OUT_OF_SCOPE,
    PASS,
    ControlResult,
    RuleResult,
    Status,
    Validation,
    record_keys,
    worst,
)
from evidence_lib.scope import Scope, ScopeError, scope_decisions
from evidence_lib.sources.folder import EvidenceSet
from evidence_lib.sources.schemas import SCHEMAS
from evidence_lib.trace import with_vendor_values
from evidence_lib.walk import evidence_steps

__all__ = ["ERROR", "EXCEPTIONS", "OUT_OF_SCOPE", "PASS", "ControlResult", "RuleResult", "ScopeError", "Status",
           "Validation", "default_as_of", "judge_view", "record_keys", "validate", "worst"]


def default_as_of(evidence: EvidenceSet, period: Period) -> pd.Timestamp:
    """When the evidence was exported (the latest declared time), else the day after the period."""
    declared = [pd.Timestamp(d.exported_at) for d in evidence.declaration.files if d.exported_at]
    if declared:
        return max(t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC") for t in declared)
    return pd.Timestamp(period.end, tz="UTC") + pd.Timedelta(days=1)


def validate(evidence: EvidenceSet, period: Period, *, as_of: pd.Timestamp | None = None,
             parameters: dict | None = None, catalog: Catalog | None = None,
             controls: tuple[str, ...] | None = None, runner: SuiteRunner | None = None) -> Validation:
    """Judge every control of the catalog (or only `controls`: what one notebook reports).

    Integrity rules run first, on the evidence the chosen rules use; a control rule whose
    evidence failed integrity, lost rows to quarantine, or failed to load is an error.
    """
    catalog = catalog or load_catalog()
    runner = runner or default_runner()
    checks = integrity.load_integrity(catalog.folder)
    chosen = [c for c in catalog.controls if controls is None or c.control_id in controls]
    as_of = as_of if as_of is not None else default_as_of(evidence, period)
    params = resolve_parameters(parameters, catalog=catalog)

    rules = [rule for control in chosen for rule in control.rules]
    scope = scope_decisions(evidence, catalog)
    missing = _missing_evidence(evidence)
    frames = {t: traced_frame(evidence, t) for t in SCHEMAS}
    domains = tuple(getattr(evidence.declaration, "domains", ()) or ())
    view_frames = _build_views(frames, period, as_of, params, {rule.view for rule in rules}, domains)

    used_types = {t for rule in rules for t in rule.evidence if t not in missing}
    integrity_result, doubts = _judge_integrity(evidence, checks, used_types, catalog, params, as_of, scope, runner)
    counted = build.courses_counted(frames["training"], str(params["training_course"]))
    facts = {"training_within_due_days": [_courses_note(counted)], "annual_training_current": [_courses_note(counted)]}
    for rule in rules:
        facts.setdefault(rule.rule_id, []).extend(
            f"no {t} evidence declared: none was used" for t in rule.evidence
            if SCHEMAS[t].may_be_empty and not evidence.loaded(t) and t not in missing)

    results: dict[str, RuleResult] = {}
    runnable: dict[str, list[Rule]] = {}
    for rule in rules:
        gaps = [missing[t] for t in rule.evidence if t in missing]
        if rule.rule_id in scope.whole_rules:
            results[rule.rule_id] = RuleResult(rule, OUT_OF_SCOPE, reason=scope.whole_rules[rule.rule_id])
        elif gaps:
            results[rule.rule_id] = RuleResult(rule, ERROR, reason="; ".join(gaps))
        else:
            runnable.setdefault(rule.view, []).append(rule)
    for view, view_rules in runnable.items():
        frame = view_frames[view]
        excluded = {r.rule_id: scope.excluded(r.rule_id, frame) for r in view_rules}
        for rule_id, result in judge_view(view, frame, view_rules, catalog, params, excluded, runner=runner).items():
            gaps = _doubts_for(rule_id, doubts, checks, scope) + _columns_lacking(rule_id, evidence, checks, scope)
            result = _walked_from_the_evidence(result, evidence, catalog.views[view])
            result = replace(result, exceptions=with_vendor_values(result.exceptions, evidence,
                                                                   checks.uses.get(rule_id, {})))
            results[rule_id] = _distrusted(result, scope.notes(rule_id) + facts.get(rule_id, []), evidence, gaps)
    judged = [ControlResult(c.control_id, c.title, [results[r.rule_id] for r in c.rules]) for c in chosen]
    validation = Validation(period, as_of, params, judged, view_frames, integrity=integrity_result,
                            view_keys={name: view.key for name, view in catalog.views.items()})
    return apply_responses(validation, evidence.responses, catalog)


def _walked_from_the_evidence(result: RuleResult, evidence: EvidenceSet, view) -> RuleResult:
    """The rule's walk from the rows of its view's record files, where the view has such files."""
    if not view.records or not result.walk:
        return result
    files = [loaded.provenance for loaded in evidence.loaded(view.records)]
    steps = evidence_steps(files, view.records, result.walk[0].count, view.selects)
    return replace(result, walk=tuple(steps) + result.walk[1:])


def traced_frame(evidence: EvidenceSet, evidence_type: str) -> pd.DataFrame:
    """All files of one type as one frame, each row naming its file (relative to the evidence folder)
    and its row there: `source_file`, `source_row`. Views carry them to every exception row."""
    frame = evidence.frame(evidence_type)
    files = [o.declared.relative for o in evidence.outcomes
             if o.loaded is not None and o.declared.evidence_type == evidence_type]
    sizes = [len(loaded.frame) for loaded in evidence.loaded(evidence_type)]
    frame.insert(0, "source_file", pd.Series([f for f, n in zip(files, sizes) for _ in range(n)], index=frame.index,
                                             dtype="str"))
    return frame


def _courses_note(counted: dict[str, int]) -> str:
    if not counted:
        return "no course title in the training evidence matches training_course"
    return "courses counted: " + ", ".join(f"{title} ({n})" for title, n in counted.items())


def _judge_integrity(evidence: EvidenceSet, checks: integrity.IntegrityCatalog, used_types: set[str],
                     catalog: Catalog, params: dict, as_of: pd.Timestamp, scope: Scope, runner: SuiteRunner):
    """The integrity rules that bear on the evidence in use: their result, and what they call into doubt."""
    # A rule on each row's own evidence (dates) checks whatever evidence is in use; the others
    # need all of theirs.
    wanted = [c for c in checks.rules if set(c.rule.evidence) & used_types
              and (c.row_level or set(c.rule.evidence) <= used_types)]
    if not wanted:
        return None, set()
    earliest = pd.Timestamp(str(params["earliest_plausible_date"]), tz="UTC")
    exempt = {rule_id: set(systems) for rule_id, systems in scope.systems.items()}
    frames = integrity.build_views(evidence, {c.rule.view for c in wanted}, used_types, as_of=as_of,
                                   earliest=earliest, roster=evidence.frame("hr_roster"), exempt=exempt,
                                   domains=tuple(getattr(evidence.declaration, "domains", ()) or ()))
    results: dict[str, RuleResult] = {}
    for view, frame in frames.items():
        view_rules = [c.rule for c in wanted if c.rule.view == view]
        for rule_id, result in judge_view(view, frame, view_rules, catalog, params, runner=runner).items():
            if result.status == ERROR and result.population == 0:
                result = RuleResult(result.rule, PASS, 0, reason="nothing of this kind in the evidence to check")
            results[rule_id] = result
    doubts = {a for c in wanted for a in integrity.affected_by(c, results[c.rule.rule_id].exceptions)}
    ordered = [results[c.rule.rule_id] for c in wanted]
    return ControlResult(integrity.INTEGRITY, checks.title, ordered), doubts


def _doubts_for(rule_id: str, doubts: set, checks: integrity.IntegrityCatalog, scope: Scope) -> list[str]:
    uses = checks.uses.get(rule_id, {})
    counts: dict[tuple[str, str], set[str]] = {}
    for doubt in doubts:
        bears = doubt.rule == rule_id if doubt.rule else doubt.column in uses.get(doubt.evidence, ())
        if bears and not (doubt.system and scope.exempt(rule_id, doubt.system)):
            what = f"{doubt.evidence}.{doubt.column}" if doubt.column else f"the evidence of {doubt.system}"
            counts.setdefault((doubt.integrity_rule, what), set()).add(doubt.system)
    return [f"{what} failed the integrity rule {check}" for check, what in sorted(counts)]


def _columns_lacking(
    rule_id: str, evidence: EvidenceSet, checks: integrity.IntegrityCatalog, scope: Scope
) -> list[str]:
    """Exports that carry no column for something the rule needs (no MFA status, no admin roles):
    the rule cannot pass on them, unless their system is scoped out of it."""
    lacking = []
    for evidence_type, columns in checks.needs.get(rule_id, {}).items():
        for outcome in evidence.outcomes:
            if outcome.loaded is None or outcome.declared.evidence_type != evidence_type:
                continue
            system = outcome.declared.system or ""
            carried = getattr(outcome.loaded.provenance, "columns_used", None)
            if carried is None or (system and scope.exempt(rule_id, system)):
                continue
            for column in sorted(columns - set(carried)):
                lacking.append(f"{outcome.declared.path} ({system or evidence_type}) has no column for {column}: "
                               f"add it to the export or map it, or scope {system or 'the rule'} out with a reason")
    return lacking


def _distrusted(result: RuleResult, notes: list[str], evidence: EvidenceSet, doubts: list[str]) -> RuleResult:
    """A rule cannot pass on evidence known to be incomplete or wrong: rows set aside from a file it
    uses, or a column it uses that failed integrity, make it an error (its exception rows are kept)."""
    reasons = list(doubts)
    for evidence_type in result.rule.evidence:
        reasons += evidence.control_total_gaps(evidence_type).values()
        for loaded in evidence.loaded(evidence_type):
            if loaded.provenance.rows_rejected:
                reasons.append(f"{loaded.provenance.rows_rejected} row(s) of {loaded.provenance.path} were set "
                               f"aside as unreadable (bad_rows: quarantine), so the rule did not see them")
    if reasons:
        reasons.append("fix the evidence and re-export; the exceptions found so far are listed")
        return replace(result, status=ERROR, reason="; ".join(reasons + notes))
    return replace(result, reason="; ".join(notes)) if notes else result


def _missing_evidence(evidence: EvidenceSet) -> dict[str, str]:
    """Evidence type -> why rules needing it cannot be judged."""
    reasons = {}
    for evidence_type in SCHEMAS:
        failed = evidence.failed(evidence_type)
        if failed:
            reasons[evidence_type] = "; ".join(
                f"{evidence_type} evidence failed to load: {o.problems[0]}" for o in failed)
        elif not evidence.loaded(evidence_type) and not SCHEMAS[evidence_type].may_be_empty:
            # Optional evidence (no service accounts, no aliases) may be absent; what it would have
            # told the rules is then simply not there: no account is registered, no alias links one.
            reasons[evidence_type] = f"no {evidence_type} evidence is declared in evidence.yaml"
    return reasons


def _build_views(frames: dict[str, pd.DataFrame], period: Period, as_of: pd.Timestamp, params: dict,
                 wanted: set[str], domains: tuple[str, ...] = ()) -> dict:
    course = str(params["training_course"])
    builders = {
        "accounts": lambda: build.account_view(frames["accounts"], frames["hr_roster"], frames["identity_aliases"],
                                               frames["service_accounts"], frames["access_reviews"],
                                               period=period, as_of=as_of, domains=domains),
        "deployments": lambda: build.deployment_view(frames["deployments"], frames["change_tickets"], period=period),
        "changes": lambda: build.change_view(frames["deployments"], frames["change_tickets"], period=period,
                                             roster=frames["hr_roster"], aliases=frames["identity_aliases"],
                                             domains=domains),
        "new_hires": lambda: build.new_hire_view(frames["hr_roster"], frames["background_checks"], frames["training"],
                                                 period=period, as_of=as_of, training_course=course, domains=domains),
        "staff": lambda: build.staff_view(frames["hr_roster"], frames["training"], period=period, as_of=as_of,
                                          training_course=course, domains=domains),
        "vulnerabilities": lambda: build.vulnerability_view(frames["vulnerability_findings"], frames["assets"],
                                                            period=period, as_of=as_of),
        "assets": lambda: build.asset_view(frames["assets"], as_of=as_of),
        "devices": lambda: device_views.device_view(frames["devices"], frames["hr_roster"], period=period,
                                                    as_of=as_of, params=params, domains=domains),
        "device_coverage": lambda: device_views.device_coverage_view(frames["hr_roster"], frames["devices"],
                                                                     as_of=as_of, domains=domains),
        "policies": lambda: policy_views.policy_view(frames["policies"], period=period),
        "policy_acknowledgements": lambda: policy_views.policy_acknowledgement_view(
            frames["hr_roster"], frames["policies"], frames["policy_acknowledgements"], period=period, as_of=as_of,
            domains=domains),
        "risks": lambda: risk_views.risk_view(frames["risks"], as_of=as_of, params=params),
        "risk_registers": lambda: risk_views.register_review_view(frames["risks"], frames["risk_register_reviews"],
                                                                  period=period, as_of=as_of),
        "vendors": lambda: vendor_views.vendor_view(frames["vendors"], frames["vendor_reviews"], frames["hr_roster"],
                                                    period=period, as_of=as_of, params=params, domains=domains),
        "vendor_reviews": lambda: vendor_views.vendor_review_view(frames["vendor_reviews"], frames["vendors"],
                                                                  period=period),
        "backup_coverage": lambda: backup_views.backup_coverage_view(frames["backup_resources"], frames["backup_jobs"],
                                                                     period=period, as_of=as_of),
        "backup_restore_tests": lambda: backup_views.restore_test_view(frames["restore_tests"], period=period),
        "backup_restore_testing": lambda: backup_views.restore_testing_view(frames["restore_tests"], period=period),
    }
    return {view: builders[view]() for view in builders if view in wanted}


