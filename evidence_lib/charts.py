"""Charts of the views behind the rules, where a person would rather look than read.

Each draws one rule's threshold as a dashed line, so every chart reads the same way.
"""

from __future__ import annotations

from evidence_lib.results import ERROR, EXCEPTIONS, OUT_OF_SCOPE, PASS, Validation

STATUS_COLOURS = {PASS: "#1b7f3b", EXCEPTIONS: "#b35c00", ERROR: "#b00020", OUT_OF_SCOPE: "#5f6368"}


def chart_png(name: str, validation: Validation) -> bytes:
    """One chart of CHARTS drawn from the validation, as the report shows it (palette_png)."""
    import matplotlib.pyplot as plt

    figure = CHARTS[name](validation)
    try:
        return palette_png(figure)
    finally:
        plt.close(figure)


def palette_png(figure) -> bytes:
    """The chart as a PNG of at most 256 colours, as the notebook's inline backend would draw it (tight box).

    A chart is flat colours and antialiased edges. Pillow's octree quantizer keeps few colours (a
    palette PNG of 25 to 100 colours, the palette holding only those, is two thirds of the median-cut
    one and under a third of matplotlib's full-colour PNG), but it rounds every colour: each palette
    entry is set back to the colour most of its pixels had, so flat colours (white, black, each status
    colour and series) stay exact and only antialiased edge pixels move (by at most 15 of 255 a
    channel). Each chart is stored twice in a package (the report and the executed notebook).
    """
    from io import BytesIO

    from PIL import Image

    drawn, packed = BytesIO(), BytesIO()
    figure.savefig(drawn, format="png", bbox_inches="tight")
    image = Image.open(drawn).convert("RGB")
    quantized = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    quantized.putpalette(_modal_palette(image, quantized))
    # only the entries in use: the octree leaves most of its 256 unused
    quantized = quantized.remap_palette(sorted(index for _, index in quantized.getcolors()))
    quantized.save(packed, format="png", optimize=True)
    return packed.getvalue()


def _modal_palette(image, quantized) -> list[int]:
    """The quantized image's palette with each entry replaced by the commonest original colour it stands for."""
    import numpy as np

    index = np.asarray(quantized, dtype=np.int64).ravel()
    pixels = np.asarray(image, dtype=np.int64).reshape(-1, 3)
    pairs, counts = np.unique((index << 24) | (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2],
                              return_counts=True)
    # per palette index, its commonest colour: sort by index, then by count, highest first
    ordered = pairs[np.lexsort((-counts, pairs >> 24))]
    commonest = ordered[np.unique(ordered >> 24, return_index=True)[1]]
    palette = np.asarray(quantized.getpalette()[:768], dtype=np.int64).reshape(-1, 3)
    colours = commonest & 0xFFFFFF
    palette[commonest >> 24] = np.stack([colours >> 16, (colours >> 8) & 0xFF, colours & 0xFF], axis=1)
    return palette.astype(np.uint8).ravel().tolist()


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


def vendor_review_age_chart(validation: Validation):
    from evidence_lib.vendor_views import review_cutoff

    vendors = validation.views["vendors"]
    needing = vendors[vendors["needs_review_as_critical"] | vendors["needs_review_for_customer_data"]]
    needing = needing.sort_values(["review_age_days", "name"], na_position="first")
    months = validation.parameters["vendor_review_months"]
    # The limit in days: from the earliest day a review may be dated to the period end (365 or 366 for 12 months).
    limit = (validation.period.end - review_cutoff(validation.period, months).date()).days
    figure, axes = _figure(f"Age of the latest counted review at the period end, per vendor that needs one "
                           f"(within {months} months)")
    ages = needing["review_age_days"]
    late = ages.isna() | (needing["review_age_months"] > months)
    axes.barh(needing["name"].astype(str), ages.fillna(0),
              color=[STATUS_COLOURS[ERROR] if x else STATUS_COLOURS[PASS] for x in late])
    unreviewed = needing.loc[ages.isna(), "name"].astype(str)
    axes.scatter([0] * len(unreviewed), unreviewed, marker="x", color=STATUS_COLOURS[ERROR],
                 label="no counted review")
    return _finish(figure, axes, limit=(limit, f"{months} months ({limit} days)"), vertical=True, dates=False,
                   xlabel=f"days from the latest counted review to the period end "
                          f"({len(unreviewed)} vendor(s) with none marked x)", ylabel="vendor")


def backup_gap_chart(validation: Validation):
    resources = validation.views["backup_coverage"]
    judged = resources[resources["in_scope"]].sort_values(["longest_gap_days", "resource_name"])
    limit = validation.parameters["backup_gap_days"]
    figure, axes = _figure(f"Longest run of UTC days without a successful backup, per in-scope resource "
                           f"(at most {limit} day(s))")
    names = judged["resource_name"].fillna(judged["resource_arn"]).astype(str)
    late = judged["longest_gap_days"] > limit
    axes.barh(names, judged["longest_gap_days"],
              color=[STATUS_COLOURS[ERROR] if x else STATUS_COLOURS[PASS] for x in late])
    never = int((judged["successful_backup_days"] == 0).sum())
    return _finish(figure, axes, limit=(limit, f"limit: {limit} day(s)"), vertical=True, dates=False,
                   xlabel=f"days from the period start to the export ({never} resource(s) never backed up: "
                          f"the whole window)", ylabel="resource")


def risk_due_chart(validation: Validation):
    risks = validation.views["risks"]
    judged = risks[risks["judged"] & ~risks["treatment_done"]].sort_values(["days_past_due", "risk_id"])
    dated = judged[judged["days_past_due"].notna()]
    figure, axes = _figure("Days past (right of 0) or to go (left of 0) to the due date, extended where approved, "
                           "per open high risk")
    late = dated["days_past_due"] > 0
    labels = dated["system"].astype(str) + " " + dated["risk_id"].astype(str)
    axes.barh(labels, dated["days_past_due"], color=[STATUS_COLOURS[ERROR] if x else STATUS_COLOURS[PASS]
                                                     for x in late])
    axes.tick_params(axis="y", labelsize=6)
    undated = len(judged) - len(dated)
    return _finish(figure, axes, limit=(0, "due date"), vertical=True, dates=False, ylabel="risk",
                   xlabel=f"days past the due date ({undated} risk(s) without a due date not plotted)")


def policy_acknowledgement_chart(validation: Validation):
    rows = validation.views["policy_acknowledgements"]
    hires = rows[rows["hired_in_period"].fillna(False).astype(bool)].sort_values("hire_date")
    due = validation.parameters["policy_ack_days"]
    figure, axes = _figure(f"Days from hire to acknowledging each required policy's current version, per new hire "
                           f"(due within {due} days)")
    done = hires["first_acknowledged_at"].notna()
    axes.scatter(hires.loc[done, "hire_date"], hires.loc[done, "days_to_acknowledge"], s=16,
                 color=STATUS_COLOURS[PASS], label="acknowledged")
    axes.scatter(hires.loc[~done, "hire_date"], hires.loc[~done, "days_to_acknowledge"], s=16, marker="x",
                 color=STATUS_COLOURS[ERROR], label="not acknowledged (days so far)")
    return _finish(figure, axes, limit=(due, f"due: {due} days"), ylabel="days after hire",
                   xlabel="hire date (counted from the current version's approval where it came later)")


CHARTS = {"days_since_login": days_since_login_chart, "deprovision_lag": deprovision_lag_chart,
          "approval_lag": approval_lag_chart, "training_lag": training_lag_chart,
          "backup_gaps": backup_gap_chart,
          "remediation_days": remediation_days_chart, "device_recovery": device_recovery_chart,
          "vendor_review_age": vendor_review_age_chart,
          "risk_due": risk_due_chart,
          "policy_acknowledgement": policy_acknowledgement_chart}
