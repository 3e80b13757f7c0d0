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
    BACKUP_RESOURCES = "backup_resources"
    BACKUP_JOBS = "backup_jobs"
    RESTORE_TESTS = "restore_tests"
    VENDORS = "vendors"
    VENDOR_REVIEWS = "vendor_reviews"
    POLICIES = "policies"
    POLICY_ACKNOWLEDGEMENTS = "policy_acknowledgements"
    RISKS = "risks"
    RISK_REGISTER_REVIEWS = "risk_register_reviews"


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

POLICIES = Schema(
    EvidenceType.POLICIES,
    "The policy list of the policy tool or GRC platform: each policy's current version and its approval.",
    key=("policy_id",),
    columns=(
        _c("policy_id", "string", True),
        _c("title", "string"),
        _c("current_version", "string", True, description="the version staff must have acknowledged"),
        # Unknown reads as required: a policy whose audience the export does not say is tested, never skipped.
        _c("required_for_all", "bool", description="every person must acknowledge it", unmapped=True),
        _c("status", "enum", values=("active", "draft", "archived", "replaced", "outdated"), unmapped="active"),
        _c("approved_at", "datetime", description="when the current version was approved"),
        _c("approved_by", "string", description="who approved the current version"),
        _c("reviewed_at", "datetime", description="when the policy was last reviewed (no new version needed)"),
    ),
)

POLICY_ACKNOWLEDGEMENTS = Schema(
    EvidenceType.POLICY_ACKNOWLEDGEMENTS,
    "Acknowledgements of policies by people: who acknowledged which policy, which version, when.",
    # People are named by employee id, or by e-mail where the tool knows no employee ids.
    key=("employee_id", "email", "policy", "version", "acknowledged_at"),
    columns=(
        _c("employee_id", "string"),
        _c("email", "email"),
        _c("policy", "string", True, description="the policy's id or title, as the policy list names it"),
        _c("version", "string", description="the version acknowledged; blank: not shown to be the current one"),
        _c("acknowledged_at", "datetime", True),
    ),
)

VENDORS = Schema(
    EvidenceType.VENDORS,
    "The vendor inventory of the GRC or third-party risk tool: one row per vendor, in use, offboarded or prospective.",
    key=("vendor_id",),
    columns=(
        _c("vendor_id", "string", True),
        _c("name", "string", True, description="matched to reviews without case or surrounding spaces"),
        _c("critical", "bool", description="critical to the entity's service commitments"),
        _c("risk_level", "enum", values=("critical", "high", "medium", "low", "none")),
        _c("owner", "string", description="the business owner: an e-mail, a name or the tool's user id"),
        _c("handles_customer_data", "bool", description="the vendor stores or processes customer data"),
        _c("data_shared", "string", description="what data is shared with the vendor, in words"),
        _c("status", "enum", True, ("active", "offboarded", "prospective"),
           description="active: in use; offboarded: no longer used; prospective: not yet in use"),
        _c("onboarded_at", "date"),
        _c("offboarded_at", "date"),
    ),
)

VENDOR_REVIEWS = Schema(
    EvidenceType.VENDOR_REVIEWS,
    "Vendor due diligence: SOC 2 reports, ISO 27001 certificates and security reviews, with their dates and outcome.",
    key=("review_id",),
    columns=(
        _c("review_id", "string", True),
        _c("vendor_id", "string", description="the inventory's vendor id, where the export names it"),
        _c("vendor_name", "string", description="the vendor's name, matched without case or surrounding spaces"),
        _c("kind", "enum", True, ("soc2_type2", "soc2_type1", "iso27001", "security_review", "questionnaire", "other")),
        _c("report_date", "date", description="a report's period end or a certificate's issue date"),
        _c("reviewed_at", "datetime", description="when the entity completed its review"),
        _c("reviewer", "string"),
        _c("outcome", "enum", values=("approved", "approved_with_conditions", "rejected", "pending")),
    ),
)

BACKUP_RESOURCES = Schema(
    EvidenceType.BACKUP_RESOURCES,
    "The resources that must be backed up (A1.2), listed apart from the backup jobs: a resource never backed up "
    "still appears.",
    key=("resource_arn",),
    columns=(
        _c("resource_arn", "string", True, description="the resource's identifier (an ARN), as the jobs name it"),
        _c("resource_name", "string"),
        _c("resource_type", "string"),
        # Unknown reads as in scope: a resource whose scope the list does not say is tested, never skipped.
        _c("in_scope", "bool", description="in the scope of the system description", unmapped=True),
        _c("owner", "string"),
    ),
)

BACKUP_JOBS = Schema(
    EvidenceType.BACKUP_JOBS,
    "Backup jobs from the backup system, successful or not, as exported on the export date.",
    key=("backup_job_id",),
    columns=(
        _c("backup_job_id", "string", True),
        _c("resource_arn", "string", True, description="the resource backed up"),
        _c("resource_type", "string"),
        _c("state", "enum", True, ("created", "pending", "running", "aborting", "aborted", "completed", "failed",
                                   "expired", "partial"),
           description="completed: a recovery point was made; every other state is not a backup"),
        _c("created_at", "datetime", True, description="when the job started: the point in time it saves"),
        _c("completed_at", "datetime"),
        _c("status_message", "string"),
    ),
)

RESTORE_TESTS = Schema(
    EvidenceType.RESTORE_TESTS,
    "Restores run to test recovery (A1.3), successful or not.",
    key=("restore_id",),
    columns=(
        _c("restore_id", "string", True),
        _c("resource", "string", description="the resource restored (or the copy the restore created)"),
        _c("resource_type", "string"),
        _c("tested_at", "datetime", True, description="when the restore started"),
        _c("completed_at", "datetime"),
        _c("outcome", "enum", True, ("succeeded", "failed", "aborted", "running", "pending")),
        _c("validation", "enum", values=("successful", "failed", "timed_out", "validating"),
           description="the restored copy's validation, where the export says (AWS restore testing)"),
        _c("tester", "string"),
        _c("message", "string"),
    ),
)

RISKS = Schema(
    EvidenceType.RISKS,
    "The risk register as exported: one row per risk, open or closed, with its rating, owner, treatment and deadline.",
    key=("system", "risk_id"),
    declared=("system",),  # which register (GRC tool) the export is from
    columns=(
        _c("system", "string", True),
        _c("risk_id", "string", True),
        _c("title", "string"),
        _c("status", "enum", True, ("open", "closed"), description="closed: retired, archived or no longer tracked"),
        _c("residual_rating", "enum", values=("critical", "high", "medium", "low"),
           description="the register's own rating after treatment, each vendor's scale mapped onto these four"),
        _c("residual_score", "string",
           description="a numeric score (likelihood x impact) where the register gives no rating: high at or above "
                       "high_risk_min_score"),
        _c("owner", "string", description="who is accountable for the risk: an e-mail, a name or the tool's user"),
        _c("treatment", "enum", values=("mitigate", "accept", "transfer", "avoid", "untreated")),
        _c("due_date", "date", description="when the treatment is due (or an acceptance is to be revisited)"),
        _c("treatment_completed_at", "datetime", description="when the treatment was completed"),
        _c("last_reviewed_at", "datetime", description="when the risk itself was last reassessed"),
        _c("extended_due_date", "date", description="the new due date of an extension"),
        _c("extension_approver", "string", description="who approved the extension"),
        _c("extension_approved_at", "datetime"),
    ),
)

RISK_REGISTER_REVIEWS = Schema(
    EvidenceType.RISK_REGISTER_REVIEWS,
    "Reviews of a risk register as a whole (the periodic risk assessment): when, and by whom.",
    key=("system", "reviewed_at"),
    declared=("system",),
    columns=(
        _c("system", "string", True, description="the register reviewed, as its risk export is declared"),
        _c("reviewed_at", "datetime", True),
        _c("reviewer", "string", True),
        _c("approved_by", "string"),
        _c("notes", "string"),
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
        BACKUP_RESOURCES,
        BACKUP_JOBS,
        RESTORE_TESTS,
        VENDORS,
        VENDOR_REVIEWS,
        POLICIES,
        POLICY_ACKNOWLEDGEMENTS,
        RISKS,
        RISK_REGISTER_REVIEWS,
    )
}
