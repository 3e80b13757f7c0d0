"""Canonical schemas: what each evidence type looks like once a vendor export is mapped.

Schemas are data. A loader types every column by its `kind`; the views and suites only ever
see these names, whatever the vendor called them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # string | email | bool | enum | date | datetime
    required: bool = False
    values: tuple[str, ...] = ()  # the allowed values of an enum
    description: str = ""
    unmapped: object = None  # the value when a vendor's export has no such column at all


class EvidenceType(StrEnum):
    """What an evidence file holds. A str, so evidence.yaml's `type:` and JSON read and compare as its value."""

    HR_ROSTER = "hr_roster"
    ACCOUNTS = "accounts"
    CHANGE_TICKETS = "change_tickets"
    DEPLOYMENTS = "deployments"
    TRAINING = "training"
    BACKGROUND_CHECKS = "background_checks"
    ACCESS_REVIEWS = "access_reviews"
    SERVICE_ACCOUNTS = "service_accounts"
    IDENTITY_ALIASES = "identity_aliases"
    VULNERABILITY_FINDINGS = "vulnerability_findings"
    ASSETS = "assets"
    DEVICES = "devices"


@dataclass(frozen=True)
class Schema:
    evidence_type: EvidenceType
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Duplicate keys are a load error, except where duplicates are themselves a finding
    # (two accounts with one id in one system is a CC6.1 exception, not unreadable evidence).
    key_must_be_unique: bool = True
    # Columns the evidence declaration supplies rather than the file (an accounts export
    # rarely says which system it came from).
    declared: tuple[str, ...] = field(default=())
    # Evidence that may rightly have no rows (no service accounts, no aliases): a header-only
    # export is valid, 0 rows, shown. Population-defining evidence is never empty.
    may_be_empty: bool = False

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, kind, required=False, values=(), description="", unmapped=None):
    return Column(name, kind, required, tuple(values), description, unmapped)


HR_ROSTER = Schema(
    EvidenceType.HR_ROSTER,
    "Everyone employed or contracted in the period, with hire and termination dates.",
    key=("employee_id",),
    columns=(
        _c("employee_id", "string", True),
        _c("name", "string", True),
        _c("email", "email", True),
        _c("worker_type", "enum", True, ("employee", "contractor")),
        _c("status", "enum", True, ("active", "leave", "terminated")),
        _c("hire_date", "date", True),
        _c("termination_date", "date"),
        _c("department", "string"),
        _c("title", "string"),
        _c("manager_id", "string"),
    ),
)

ACCOUNTS = Schema(
    EvidenceType.ACCOUNTS,
    "The accounts of one system as exported on the export date.",
    key=("system", "account_id"),
    key_must_be_unique=False,
    declared=("system",),
    columns=(
        _c("system", "string", True),
        _c("account_id", "string", True),
        _c("username", "string"),
        _c("email", "email"),
        _c("display_name", "string"),
        _c("enabled", "bool", True),
        _c("mfa_enabled", "bool", description="missing where the system cannot say"),
        _c("is_admin", "bool"),
        _c("roles", "string"),
        _c("builtin", "bool", description="an account the platform itself creates (AWS root)", unmapped=False),
        _c("created_at", "datetime"),
        _c("last_login_at", "datetime"),
        _c("disabled_at", "datetime"),
    ),
)

CHANGE_TICKETS = Schema(
    EvidenceType.CHANGE_TICKETS,
    "Change requests with their approval trail.",
    key=("ticket_id",),
    columns=(
        _c("ticket_id", "string", True),
        _c("title", "string"),
        _c("change_type", "enum", True, ("standard", "normal", "emergency")),
        _c("status", "string"),
        _c("author", "email", True),
        _c("implementer", "email"),
        _c("approver", "email"),
        _c("approved_at", "datetime"),
        _c("created_at", "datetime", True),
        _c("resolved_at", "datetime"),
        _c("testing_evidence", "string"),
    ),
)

DEPLOYMENTS = Schema(
    EvidenceType.DEPLOYMENTS,
    "Every change that reached production in the period: the population CC8.1 samples from.",
    key=("deploy_id",),
    columns=(
        _c("deploy_id", "string", True),
        _c("deployed_at", "datetime", True),
        _c("repository", "string"),
        _c("author", "string"),
        _c("deployed_by", "string"),
        _c("ticket_ref", "string", description="free text in which the ticket key is found"),
        _c("environment", "string"),
    ),
)

TRAINING = Schema(
    EvidenceType.TRAINING,
    "Security awareness training completions from the LMS.",
    # People are named by employee id, or by e-mail where the LMS knows no employee ids.
    key=("employee_id", "email", "course", "completed_at"),
    columns=(
        _c("employee_id", "string"),
        _c("email", "email"),
        _c("course", "string", True),
        _c("completed_at", "datetime", True),
        # Only a completion counts as training; an export without a status column lists completions only.
        _c("status", "enum", values=("completed", "failed", "in_progress", "not_started", "expired"),
           unmapped="completed"),
    ),
)

BACKGROUND_CHECKS = Schema(
    EvidenceType.BACKGROUND_CHECKS,
    "Pre-employment screening results.",
    key=("employee_id", "email"),
    columns=(
        _c("employee_id", "string"),
        _c("email", "email"),
        _c("name", "string"),
        _c("status", "enum", True, ("clear", "consider", "pending", "cancelled")),
        _c("completed_at", "date"),
        _c("package", "string"),
        _c("report_id", "string"),
    ),
)

ACCESS_REVIEWS = Schema(
    EvidenceType.ACCESS_REVIEWS,
    "The period's user access review: one decision per reviewed account, with its sign-off.",
    key=("system", "account_id", "period"),
    declared=("system",),
    columns=(
        _c("system", "string", True),
        _c("period", "string", True),
        _c("account_id", "string", True),
        _c("reviewer", "email", True),
        _c("decision", "enum", True, ("approve", "revoke", "modify")),
        _c("decided_at", "datetime"),
        _c("signed_off_at", "datetime"),
        _c("role", "string"),
    ),
)

SERVICE_ACCOUNTS = Schema(
    EvidenceType.SERVICE_ACCOUNTS,
    "The registry of approved non-human accounts, each with an accountable owner.",
    key=("system", "account_id"),
    declared=("system",),
    may_be_empty=True,
    columns=(
        _c("system", "string", True),
        _c("account_id", "string", True),
        _c("owner", "email", True),
        _c("purpose", "string", True),
        _c("approved_by", "email"),
        _c("approved_at", "date"),
    ),
)

IDENTITY_ALIASES = Schema(
    EvidenceType.IDENTITY_ALIASES,
    "Explicit account-to-person links for accounts that carry no e-mail (GitHub logins).",
    key=("system", "account_id"),
    declared=("system",),
    may_be_empty=True,
    columns=(
        _c("system", "string", True),
        _c("account_id", "string", True),
        _c("email", "email", True),
    ),
)

VULNERABILITY_FINDINGS = Schema(
    EvidenceType.VULNERABILITY_FINDINGS,
    "Vulnerability findings from a scanner or dependency alerts, open and closed, as exported on the export date.",
    key=("finding_id",),
    columns=(
        _c("finding_id", "string", True),
        _c("asset", "string", True, description="the host, image or repository the finding is on"),
        _c("title", "string"),
        _c("package", "string"),
        _c("severity", "enum", True, ("critical", "high", "medium", "low")),
        _c("state", "enum", True, ("open", "fixed", "dismissed")),
        _c("first_seen", "datetime", True, description="when the finding was first detected"),
        _c("fixed_at", "datetime"),
        _c("dismissed_at", "datetime"),
        _c("dismissed_reason", "string"),
    ),
)

ASSETS = Schema(
    EvidenceType.ASSETS,
    "The inventory of assets vulnerability scanning covers (hosts, images, repositories), with their last scan.",
    key=("asset",),
    columns=(
        _c("asset", "string", True),
        _c("asset_type", "string"),
        _c("in_scope", "bool", description="in the scope of the system description", unmapped=True),
        _c("owner", "string"),
        _c("last_scanned_at", "datetime"),
    ),
)

DEVICES = Schema(
    EvidenceType.DEVICES,
    "Endpoints from the MDM (and the EDR fields the export carries): one row per device, in use or recovered.",
    key=("device_id",),
    columns=(
        _c("device_id", "string", True),
        _c("device_name", "string"),
        _c("serial_number", "string"),
        _c("employee_id", "string", description="the assigned user's employee id, where the MDM records it"),
        _c("email", "email", description="the assigned user's e-mail"),
        _c("platform", "enum", True, ("macos", "windows", "linux", "ios", "ipados", "android", "chromeos", "tvos")),
        _c("os_version", "string", description="version text, compared numerically component by component"),
        _c("disk_encrypted", "bool"),
        _c("screen_lock", "bool", description="a screen lock (password after idle) is enforced"),
        _c("firewall_enabled", "bool"),
        _c("edr_last_seen", "datetime", description="when the EDR agent last reported"),
        _c("last_check_in", "datetime", description="when the device last checked in with the MDM"),
        _c("status", "enum", True, ("active", "wiped", "retired", "returned", "lost"),
           description="active: in use; wiped, retired or returned: recovered from its user"),
        _c("status_changed_at", "datetime", description="when the device was wiped, retired or returned"),
    ),
)

SCHEMAS: dict[EvidenceType, Schema] = {
    s.evidence_type: s
    for s in (
        HR_ROSTER,
        ACCOUNTS,
        CHANGE_TICKETS,
        DEPLOYMENTS,
        TRAINING,
        BACKGROUND_CHECKS,
        ACCESS_REVIEWS,
        SERVICE_ACCOUNTS,
        IDENTITY_ALIASES,
        VULNERABILITY_FINDINGS,
        ASSETS,
        DEVICES,
    )
}
