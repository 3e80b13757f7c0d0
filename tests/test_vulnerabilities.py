"""Vulnerability management (CC7.1): the findings exports load in their vendors' shapes, and the
view counts days to remediation the way the rule reads them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evidence_lib.errors import LoadError
from evidence_lib.period import parse_period
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from evidence_lib.views import asset_view, vulnerability_view

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"


def load(fmt: str, path: Path):
    return load_file(path, load_mapping(builtin_mappings()[fmt]))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", ["github_dependabot_alerts_json", "tenable_vm_findings_csv"])
def test_each_findings_shape_cites_its_vendor_documentation(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert mapping.evidence_type == "vulnerability_findings"
    assert text.startswith("# Source:") and "https://docs." in mapping.description and "\nsource: {url:" in text


def test_dependabot_alerts_as_github_documents_them():
    frame = load("github_dependabot_alerts_json", FIXTURES / "github_dependabot_alerts.json").frame
    assert column(frame, "finding_id") == ["https://github.com/octo-org/octo-repo/security/dependabot/2",
                                           "https://github.com/octo-org/hello-world/security/dependabot/1",
                                           "https://github.com/octo-org/hello-world/security/dependabot/3"]
    assert column(frame, "asset") == ["octo-org/octo-repo", "octo-org/hello-world", "octo-org/hello-world"]
    assert column(frame, "package") == ["django", "ansible", "lodash"]
    assert column(frame, "severity") == ["high", "medium", "critical"]
    assert column(frame, "state") == ["dismissed", "open", "fixed"]
    assert column(frame, "first_seen") == [utc("2022-06-15 07:43:03"), utc("2022-06-14 15:21:52"),
                                           utc("2022-07-01 09:00")]
    assert column(frame, "fixed_at") == [None, None, utc("2022-07-05 10:30")]
    assert column(frame, "dismissed_at") == [utc("2022-08-23 14:29:47"), None, None]
    assert column(frame, "dismissed_reason") == ["tolerable_risk", None, None]


def test_tenable_findings_leave_info_out_and_read_states():
    loaded = load("tenable_vm_findings_csv", FIXTURES / "tenable_vm_findings.csv")
    frame = loaded.frame
    assert column(frame, "finding_id") == ["5f0c1f2e-0001", "5f0c1f2e-0003", "5f0c1f2e-0004"]
    assert column(frame, "asset") == ["web-01.example.com", "db-01.example.com", "db-01.example.com"]
    assert column(frame, "severity") == ["critical", "medium", "high"]
    assert column(frame, "state") == ["fixed", "open", "open"]
    # Last Fixed counts only for a Fixed finding: a resurfaced one is open again.
    assert column(frame, "fixed_at") == [utc("2026-07-09 02:00"), None, None]
    assert loaded.provenance.rows_read == 4 and loaded.provenance.rows_kept == 3


def test_generic_findings_csv_and_an_unknown_severity_is_a_located_error(tmp_path):
    path = tmp_path / "findings.csv"
    path.write_text("finding_id,asset,severity,state,detected_at,resolved_at\n"
                    "V-1,api,high,resolved,2026-07-01T00:00:00Z,2026-07-20T00:00:00Z\n"
                    "V-2,api,Critical,open,2026-07-03T00:00:00Z,\n", encoding="utf-8")
    frame = load("generic_vulnerability_findings_csv", path).frame
    assert column(frame, "state") == ["fixed", "open"] and column(frame, "severity") == ["high", "critical"]
    assert column(frame, "fixed_at") == [utc("2026-07-20"), None]
    path.write_text("finding_id,asset,severity,state,detected_at\nV-3,api,urgent,open,2026-07-03T00:00:00Z\n",
                    encoding="utf-8")
    with pytest.raises(LoadError, match="severity"):
        load("generic_vulnerability_findings_csv", path)


def _finding(finding_id, severity, state, first_seen, fixed_at=None, dismissed_at=None):
    return {"finding_id": finding_id, "asset": "api", "title": None, "package": None, "severity": severity,
            "state": state,
            "first_seen": utc(first_seen), "fixed_at": utc(fixed_at) if fixed_at else pd.NaT,
            "dismissed_at": utc(dismissed_at) if dismissed_at else pd.NaT}


def test_the_view_keeps_critical_and_high_findings_open_in_the_period_and_counts_calendar_days():
    findings = pd.DataFrame([
        _finding("fixed-on-sla-day", "critical", "fixed", "2026-07-01 23:00", "2026-07-16 08:00"),
        _finding("fixed-before-period", "critical", "fixed", "2026-06-01", "2026-06-10"),
        _finding("medium", "medium", "open", "2026-01-01"),
        _finding("still-open", "high", "open", "2026-08-01 10:00"),
        _finding("dismissed", "high", "dismissed", "2026-06-20", dismissed_at="2026-07-02"),
        _finding("seen-after-export", "high", "open", "2026-10-05"),
    ])
    frame = vulnerability_view(findings, period=parse_period("2026-Q3"), as_of=utc("2026-10-01 06:00"))
    frame = frame.set_index("finding_id")
    assert sorted(frame.index) == ["dismissed", "fixed-on-sla-day", "still-open"]
    assert frame.loc["fixed-on-sla-day", "days_to_close"] == 15 and frame.loc["fixed-on-sla-day", "closed"]
    assert frame.loc["still-open", "days_open"] == 61 and not frame.loc["still-open", "closed"]
    assert frame.loc["dismissed", "days_to_close"] == 12


def test_generic_asset_inventory_and_the_asset_view(tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("hostname,type,in_scope,owner,last_scan\n"
                    "web-01.example.com,host,yes,platform,2026-09-01T04:00:00Z\n"
                    "lab-01.example.com,host,no,research,\n", encoding="utf-8")
    assets = load("generic_asset_inventory_csv", path).frame
    assert column(assets, "asset") == ["web-01.example.com", "lab-01.example.com"]
    assert column(assets, "in_scope") == [True, False]
    frame = asset_view(assets, as_of=utc("2026-10-01 06:00"))
    assert column(frame, "days_since_scan") == [30.0, None]
    findings = pd.DataFrame([_finding("shouted", "high", "open", "2026-09-20"),
                             _finding("unknown", "high", "open", "2026-09-20"),
                             _finding("out-of-scope", "high", "open", "2026-09-20")])
    findings["asset"] = ["WEB-01.example.com", "ftp.example.com", "lab-01.example.com"]
    for dated in ("fixed_at", "dismissed_at"):  # as a load types them: UTC, even when empty
        findings[dated] = pd.to_datetime(findings[dated], utc=True)
    view = vulnerability_view(findings, assets, period=parse_period("2026-Q3"), as_of=utc("2026-10-01 06:00"))
    assert column(view, "asset_in_scope") == [True, False, False]
