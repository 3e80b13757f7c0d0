"""Charts of the views behind the rules, where a person would rather look than read.

Each draws one rule's threshold as a dashed line, so every chart reads the same way.
"""

from __future__ import annotations

from evidence_lib.results import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS, Validation

STATUS_COLOURS = {PASS: "#1b7f3b", EXCEPTIONS: "#b35c00", ERROR: "#b00020", OUT_OF_SCOPE: "#5f6368"}


def palette_png(figure) -> bytes:
    """The chart as a PNG of at most 256 colours, as the notebook's inline backend would draw it (tight box).

    A chart is flat colours and antialiased edges: a palette image looks the same and is a third of
    the bytes of matplotlib's full-colour PNG, and each chart is stored twice in a package (the
    report and the executed notebook).
    """
    from io import BytesIO

    from PIL import Image

    drawn, packed = BytesIO(), BytesIO()
    figure.savefig(drawn, format="png", bbox_inches="tight")
    Image.open(drawn).convert("RGB").quantize(colors=256).save(packed, format="png", optimize=True)
    return packed.getvalue()


def _figure(title: str):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 3.6), dpi=96)
    axes.set_title(title, fontsize=11, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _finish(figure, axes, *, limit: tuple[float, str], xlabel: str, ylabel: str, vertical: bool = False,
            dates: bool = True):
    """The rule's threshold as a dashed line, axis labels and legend: every chart reads the same way."""
    value, label = limit
    (axes.axvline if vertical else axes.axhline)(value, color=STATUS_COLOURS[ERROR], linestyle="--", label=label)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.legend(fontsize=8)
    if dates:
        figure.autofmt_xdate()
    return figure


def days_since_login_chart(validation: Validation):
    accounts = validation.views["accounts"]
    tracked = accounts[accounts["enabled"] & accounts["days_since_login"].notna()]
    limit = validation.parameters["dormant_days"]
    figure, axes = _figure(f"Enabled accounts by days since last login (dormant after {limit} days)")
    by_system = {system: rows["days_since_login"].dropna() for system, rows in tracked.groupby("system")}
    longest = int(tracked["days_since_login"].max()) if tracked["days_since_login"].notna().any() else limit
    axes.hist(list(by_system.values()), bins=range(0, max(longest, limit) + 14, 7), stacked=True,
              label=list(by_system))
    return _finish(figure, axes, limit=(limit, f"{limit} days"), vertical=True, dates=False,
                   xlabel="days since last login (or since creation if never used)", ylabel="accounts")


def deprovision_lag_chart(validation: Validation):
    accounts = validation.views["accounts"]
    leavers = accounts[accounts["terminated_in_period"]].copy()
    sla = validation.parameters["deprovision_sla_days"]
    figure, axes = _figure(f"Days from termination to disabling, per leaver account (SLA {sla} day(s))")
    disabled = leavers[leavers["deprovision_lag_days"].notna()].sort_values("termination_date")
    late = disabled["deprovision_lag_days"] > sla
    axes.scatter(disabled["termination_date"], disabled["deprovision_lag_days"],
                 c=[STATUS_COLOURS[ERROR] if x else STATUS_COLOURS[PASS] for x in late], s=18)
    not_disabled = int(leavers["deprovision_lag_days"].isna().sum())
    return _finish(figure, axes, limit=(sla, f"SLA: {sla} day(s)"), ylabel="days to disable",
                   xlabel=f"termination date ({not_disabled} account(s) with no disable time are not plotted)")


def approval_lag_chart(validation: Validation):
    changes = validation.views["changes"]
    window = validation.parameters["emergency_review_days"]
    figure, axes = _figure("Approval time relative to first deployment, per change (above 0: approved after deploying)")
    for change_type, rows in changes.groupby("change_type"):
        axes.scatter(rows["first_deployed_at"], rows["approval_after_deploy_days"], s=14, label=change_type)
    axes.axhline(0, color="#555555", linewidth=0.8)
    unapproved = int(changes["approved_at"].isna().sum())
    return _finish(figure, axes, limit=(window, f"emergency window: {window} day(s)"),
                   xlabel=f"first deployment ({unapproved} unapproved change(s) not plotted)",
                   ylabel="days from deploy to approval")


def training_lag_chart(validation: Validation):
    hires = validation.views["new_hires"].sort_values("hire_date")
    due = validation.parameters["training_due_days"]
    figure, axes = _figure(f"Days from hire to security training, per new hire (due within {due} days)")
    trained = hires["training_completed_at"].notna()
    axes.scatter(hires.loc[trained, "hire_date"], hires.loc[trained, "training_days_after_hire"], s=16,
                 color=STATUS_COLOURS[PASS], label="trained")
    axes.scatter(hires.loc[~trained, "hire_date"], hires.loc[~trained, "training_days_after_hire"], s=16,
                 marker="x", color=STATUS_COLOURS[ERROR], label="not yet trained (days so far)")
    return _finish(figure, axes, limit=(due, f"due: {due} days"), xlabel="hire date", ylabel="days after hire")


def remediation_days_chart(validation: Validation):
    findings = validation.views["vulnerabilities"].sort_values("first_seen")
    critical, high = validation.parameters["vuln_sla_days_critical"], validation.parameters["vuln_sla_days_high"]
    figure, axes = _figure(f"Days from detection to closing (or open so far), per critical/high finding "
                           f"(SLA {critical}/{high} days)")
    days = findings["days_to_close"].fillna(findings["days_open"])
    for severity, marker in (("critical", "o"), ("high", "s")):
        rows = findings["severity"] == severity
        axes.scatter(findings.loc[rows, "first_seen"], days[rows], s=16, marker=marker, label=severity)
    axes.axhline(high, color=STATUS_COLOURS[EXCEPTIONS], linestyle=":", label=f"high SLA: {high} days")
    return _finish(figure, axes, limit=(critical, f"critical SLA: {critical} days"), xlabel="first detected",
                   ylabel="days to close")


def device_recovery_chart(validation: Validation):
    devices = validation.views["devices"]
    left = devices[devices["owner_left"].fillna(False).astype(bool)]
    leavers = left[left["return_days_after_termination"].notna()].sort_values("termination_date")
    undated = len(left) - len(leavers)
    due = validation.parameters["device_return_days"]
    figure, axes = _figure(f"Days from termination to wipe, retirement or return, per leaver's device "
                           f"(due within {due} days)")
    recovered = leavers["status"].isin(["wiped", "retired", "returned"])
    axes.scatter(leavers.loc[recovered, "termination_date"], leavers.loc[recovered, "return_days_after_termination"],
                 s=16, color=STATUS_COLOURS[PASS], label="recovered")
    axes.scatter(leavers.loc[~recovered, "termination_date"],
                 leavers.loc[~recovered, "return_days_after_termination"], s=16, marker="x",
                 color=STATUS_COLOURS[ERROR], label="still in use (days so far)")
    return _finish(figure, axes, limit=(due, f"due: {due} days"), ylabel="days after termination",
                   xlabel=f"termination date ({undated} recovered device(s) without a date not plotted)")


CHARTS = {"days_since_login": days_since_login_chart, "deprovision_lag": deprovision_lag_chart,
          "approval_lag": approval_lag_chart, "training_lag": training_lag_chart,
          "remediation_days": remediation_days_chart, "device_recovery": device_recovery_chart}
