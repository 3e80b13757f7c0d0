"""The sample company's backup and restore-test exports (A1.2, A1.3), planted exceptions and near-misses.

Given a folder written by evidence_lib.synth, reads its HR roster and export time through the project's own
loader and writes the backup scope list (generic CSV), the AWS Backup jobs (`aws backup list-backup-jobs`,
CLI v2 JSON) of its cloud resources, a generic backup log of its on-premises ones, the AWS Backup restore
jobs of its restore testing plan and a generic restore-test log, drawn from a numpy Generator of its own
(fixed seed): the same folder gives the same bytes. Returns the evidence.yaml entries, the planted
exceptions and the near-misses in expected_exceptions.csv's shape (control, rule, system, record key)
and the populations each rule must count.

    result = backup_evidence(folder, parse_period("2026-Q3"))
    add_to_folder(folder, result)   # evidence.yaml and the three expected_*.csv files, appended

A company for which Availability is not in scope gets no exports but an explicit scope decision:

    add_to_folder(folder, backup_evidence(folder, period, availability_in_scope=False))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evidence_lib.period import Period, parse_period
from evidence_lib.synth.area_folder import add_area, write_csv

SEED = 12  # A1.2
BACKUPS, RESTORES = "A1.2", "A1.3"
GAP_RULE = "resource_backed_up_without_gap"
TEST_RULE, TESTED_RULE = "restore_test_succeeded", "restore_tested_in_period"
BACKUP_GAP_DAYS = 1  # the catalog's default the sample is planted against
SCOPE_FILE = "backups/backup_scope.csv"
AWS_JOBS_FILE = "backups/aws_backup_jobs.json"
LOG_FILE = "backups/backup_log.csv"
AWS_RESTORES_FILE = "backups/aws_restore_jobs.json"
RESTORE_LOG_FILE = "backups/restore_tests.csv"
FILES = (SCOPE_FILE, AWS_JOBS_FILE, LOG_FILE, AWS_RESTORES_FILE, RESTORE_LOG_FILE)
ACCOUNT, REGION = "111122223333", "eu-west-1"
VAULT = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:production"
TESTING_PLAN = f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:quarterly_restore_test-5e1c"
NOT_IN_SCOPE_REASON = ("Availability is not among the trust services criteria of this SOC 2 report (Security only): "
                       "backups and recovery testing are not tested")
# (name, AWS resource type, ARN tail) of the cloud resources; on-premises ones are named as the log names them
CLOUD = [("prod-postgres", "RDS", "rds:{r}:{a}:db:prod-postgres"), ("billing-db", "RDS", "rds:{r}:{a}:db:billing-db"),
         ("customer-files", "EFS", "elasticfilesystem:{r}:{a}:file-system/fs-0a1b2c3d"),
         ("app-volume", "EBS", "ec2:{r}:{a}:volume/vol-0123456789abcdef0"),
         ("sessions", "DynamoDB", "dynamodb:{r}:{a}:table/sessions"),
         ("reports", "S3", "s3:::company-reports"), ("web-1", "EC2", "ec2:{r}:{a}:instance/i-0aa11bb22cc33dd44"),
         ("audit-log", "DynamoDB", "dynamodb:{r}:{a}:table/audit-log"), ("search", "EBS", "ec2:{r}:{a}:volume/vol-0fe")]
ON_PREMISES = ["fileserver-01", "erp-db-01", "build-cache-01"]


@dataclass
class Job:
    job_id: str
    resource: str
    resource_type: str
    state: str  # AWS's words: COMPLETED, FAILED, PARTIAL, ...
    created_at: pd.Timestamp
    completed_at: pd.Timestamp | None


@dataclass
class RestoreTest:
    restore_id: str
    resource: str
    resource_type: str
    tested_at: pd.Timestamp
    completed_at: pd.Timestamp | None
    status: str  # COMPLETED, FAILED, ABORTED
    validation: str | None = None  # SUCCESSFUL, FAILED (AWS restore testing only)
    tester: str = ""
    message: str = ""


@dataclass
class BackupEvidence:
    files: list[dict]
    expected: list[tuple[str, str, str, str]]
    near_misses: list[tuple[str, str, str, str]]
    populations: list[tuple[str, str, int, str]]
    jobs: list[Job] = field(default_factory=list)
    restore_tests: list[RestoreTest] = field(default_factory=list)
    scope: list[dict] = field(default_factory=list)  # evidence.yaml scope decisions, instead of exports

    @property
    def date_values(self) -> int:
        """How many dates the backup and restore exports carry: what dates_plausible adds to its population."""
        stamps = [s for j in self.jobs for s in (j.created_at, j.completed_at)]
        stamps += [s for t in self.restore_tests for s in (t.tested_at, t.completed_at)]
        return sum(s is not None for s in stamps)


def _roster_and_as_of(folder: Path, period: Period) -> tuple[pd.DataFrame, pd.Timestamp, tuple[str, ...]]:
    """The folder's HR roster, export time and domains. Only the roster files are loaded (a tenth of the time of
    the whole folder): the backup exports need nothing else."""
    from evidence_lib.sources.folder import EvidenceSet, read_declaration
    from evidence_lib.sources.load import load_file
    from evidence_lib.sources.mapping import load_mapping, resolve_mapping
    from evidence_lib.validate import default_as_of

    declaration = read_declaration(folder)
    rosters = [load_file(folder / d.relative, load_mapping(resolve_mapping(d.format, folder, str(folder))),
                         read_overrides=d.read_overrides, placeholders=declaration.placeholders)
               for d in declaration.files if d.evidence_type == "hr_roster"]
    roster = pd.concat([r.frame.reset_index(drop=True) for r in rosters], ignore_index=True)
    as_of = default_as_of(EvidenceSet(declaration=declaration, outcomes=[], undeclared=[]), period)
    return roster, as_of, tuple(declaration.domains or ())


def backup_evidence(folder: Path, period: Period | str, *, seed: int = SEED,
                    availability_in_scope: bool = True) -> BackupEvidence:
    """Write the backup and restore-test exports into `folder` and say what they plant (nothing else in the
    folder changes); or, when Availability is not in scope, write nothing and return the scope decisions
    that take A1.2 and A1.3 out of testing (add_to_folder declares them)."""
    period = parse_period(period) if isinstance(period, str) else period
    roster, as_of, domains = _roster_and_as_of(Path(folder), period)
    domain = domains[0] if domains else str(roster["email"].dropna().iloc[0]).split("@")[-1]
    if not availability_in_scope:
        decided = {"reason": NOT_IN_SCOPE_REASON, "decided_by": f"ciso@{domain}",
                   "decided_on": period.start.isoformat()}
        untested = [(control, rule, 0, "out of scope: Availability is not in the report's criteria")
                    for control, rule in ((BACKUPS, GAP_RULE), (RESTORES, TESTED_RULE), (RESTORES, TEST_RULE))]
        return BackupEvidence([], [], [], untested, scope=[{"control": c, **decided} for c in (BACKUPS, RESTORES)])
    people = sorted(roster.loc[roster["status"] == "active", "email"].dropna().astype(str))
    plan = _Plan(np.random.default_rng(seed), period, as_of, people)
    plan.plant_backups()
    plan.plant_restore_tests()
    files = plan.write(Path(folder))
    return BackupEvidence(files, sorted(plan.expected), sorted(plan.near_misses), plan.populations(), plan.jobs,
                          plan.tests)


def _arn(tail: str) -> str:
    return f"arn:aws:{tail.format(r=REGION, a=ACCOUNT)}"


class _Plan:
    def __init__(self, rng: np.random.Generator, period: Period, as_of: pd.Timestamp, people: list[str]):
        self.rng, self.period, self.as_of, self.people = rng, period, as_of, people
        self.start = pd.Timestamp(period.start, tz="UTC")
        self.export_day = as_of.tz_convert("UTC").normalize()
        self.jobs: list[Job] = []
        self.tests: list[RestoreTest] = []
        self.resources: list[dict] = []
        self.expected: set[tuple[str, str, str, str]] = set()
        self.near_misses: set[tuple[str, str, str, str]] = set()

    def expect(self, control: str, rule: str, key: str) -> None:
        self.expected.add((control, rule, "", key))

    def near(self, control: str, rule: str, key: str) -> None:
        self.near_misses.add((control, rule, "", key))

    def _job(self, resource: str, kind: str, day: pd.Timestamp, state: str = "COMPLETED", *,
             at: pd.Timedelta | None = None, minutes: float | None = None) -> Job:
        """A job started on `day` (UTC) at `at` (default: the nightly window 23:00-23:50) lasting `minutes`."""
        at = at if at is not None else pd.Timedelta(minutes=23 * 60 + int(self.rng.integers(0, 50)))
        minutes = minutes if minutes is not None else float(self.rng.integers(12, 75))
        created = (day + at).floor("s")
        job = Job(f"{len(self.jobs) + 1:08d}-5a1e-4c3b-9d2e-{int(self.rng.integers(16**11, 16**12)):012x}",
                  resource, kind, state, created, (created + pd.Timedelta(minutes=minutes)).floor("s"))
        self.jobs.append(job)
        return job

    def _nightly(self, resource: str, kind: str, *, skip: set[int] = frozenset(), first: int = -2,
                 last: int | None = None, states: dict[int, str] | None = None) -> None:
        """One nightly job a day from `first` days after the period start to `last` (default: the day before the
        export: tonight's job has not run yet); `skip` days have none, `states` days end otherwise."""
        last = last if last is not None else (self.export_day - self.start).days - 1
        for offset in range(first, last + 1):
            if offset not in skip:
                state = (states or {}).get(offset, "COMPLETED")
                self._job(resource, kind, self.start + pd.Timedelta(days=offset), state)

    def _resource(self, arn: str, name: str, kind: str, *, in_scope: bool = True) -> str:
        owner = self.people[len(self.resources) * 7 % len(self.people)] if self.people else ""
        self.resources.append({"resource_arn": arn, "resource_name": name, "resource_type": kind,
                               "in_scope": "yes" if in_scope else "no", "owner": owner})
        return arn

    def plant_backups(self) -> None:
        days = (self.export_day - self.start).days  # from the period start to the export, in UTC days
        mid = days // 2
        cloud = [self._resource(_arn(tail), name, kind) for name, kind, tail in CLOUD]
        kinds = {arn: kind for arn, (_, kind, _) in zip(cloud, CLOUD, strict=True)}
        local = [self._resource(name, name, "server") for name in ON_PREMISES]
        # Clean: nightly, every day; a failed job retried successfully the same evening is a near-miss.
        for arn in cloud[:2] + local[:1]:
            self._nightly(arn, kinds.get(arn, "server"))
        retried = cloud[2]
        self._nightly(retried, kinds[retried], skip={mid})
        self._job(retried, kinds[retried], self.start + pd.Timedelta(days=mid), "FAILED",
                  at=pd.Timedelta(hours=21), minutes=5)
        self._job(retried, kinds[retried], self.start + pd.Timedelta(days=mid), at=pd.Timedelta(hours=22))
        self.near(BACKUPS, GAP_RULE, retried)
        # Near-miss: a job started at 23:55 that completes after midnight counts for the day it started; read by
        # its completion day, the day before would look unprotected.
        late = cloud[3]
        self._nightly(late, kinds[late], skip={mid})
        self._job(late, kinds[late], self.start + pd.Timedelta(days=mid), at=pd.Timedelta(hours=23, minutes=55),
                  minutes=45)
        self.near(BACKUPS, GAP_RULE, late)
        # Near-miss: a gap of exactly backup_gap_days in UTC days though 47 hours apart (00:00:30, then 23:59:30
        # the next day), and the first backup of the period exactly backup_gap_days after its start.
        edge = cloud[4]
        self._nightly(edge, kinds[edge], skip={mid, mid + 1}, first=BACKUP_GAP_DAYS)
        self._job(edge, kinds[edge], self.start + pd.Timedelta(days=mid), at=pd.Timedelta(seconds=30), minutes=20)
        just_before_midnight = pd.Timedelta(hours=23, minutes=59, seconds=30)
        self._job(edge, kinds[edge], self.start + pd.Timedelta(days=mid + 1), at=just_before_midnight, minutes=20)
        self.near(BACKUPS, GAP_RULE, edge)
        # Exceptions: three nights failed in a row (a failed job is not a backup); a partial job is not one either;
        # backups stopped five days before the export; the first backup three days into the period.
        failed, partial, stopped, late_start = cloud[5], cloud[6], cloud[7], cloud[8]
        self._nightly(failed, kinds[failed], states={mid: "FAILED", mid + 1: "FAILED", mid + 2: "FAILED"})
        self._nightly(partial, kinds[partial], states={mid: "PARTIAL"})
        self._nightly(stopped, kinds[stopped], last=days - 5)
        self._nightly(late_start, kinds[late_start], first=3)
        for arn in (failed, partial, stopped, late_start):
            self.expect(BACKUPS, GAP_RULE, arn)
        # On-premises, in the generic log: one night missing; one server never backed up at all.
        missed, never = local[1], local[2]
        self._nightly(missed, "server", skip={mid + 3})
        self.expect(BACKUPS, GAP_RULE, missed)
        self.expect(BACKUPS, GAP_RULE, never)
        # Near-miss: a resource the scope list marks out of scope, never backed up, is not judged.
        retired = self._resource("legacy-ftp-01", "legacy-ftp-01", "server", in_scope=False)
        self.near(BACKUPS, GAP_RULE, retired)

    def _test(self, day_offset: int, hour: float, status: str, *, validation: str | None = None, aws: bool = True,
              message: str = "") -> RestoreTest:
        number = len(self.tests) + 1
        tested = (self.start + pd.Timedelta(days=day_offset) + pd.Timedelta(hours=hour)).floor("s")
        _, kind, tail = CLOUD[number % len(CLOUD)]
        if aws:
            resource = _arn(tail) + f"-restore-{number}"
            restore_id = f"{number:08d}-7e2f-4d1a-8b3c-restoretest{number:02d}"
            tester = TESTING_PLAN
        else:
            resource, kind, restore_id = ON_PREMISES[number % 2], "server", f"RT-{number:03d}"
            tester = self.people[number * 5 % len(self.people)] if self.people else ""
        test = RestoreTest(restore_id, resource, kind, tested, tested + pd.Timedelta(minutes=40), status, validation,
                           tester, message)
        self.tests.append(test)
        return test

    def plant_restore_tests(self) -> None:
        last_day = (pd.Timestamp(self.period.end, tz="UTC") - self.start).days
        before = self._test(-20, 10, "FAILED", message="before the period")  # outside the population
        self.near(RESTORES, TEST_RULE, before.restore_id)
        # Near-misses: the first second of the period and its last hour; succeeded both.
        self.near(RESTORES, TEST_RULE, self._test(0, 0, "COMPLETED", validation="SUCCESSFUL").restore_id)
        self._test(30, 10, "COMPLETED", validation="SUCCESSFUL")
        self.near(RESTORES, TEST_RULE, self._test(last_day, 23, "COMPLETED", validation="SUCCESSFUL").restore_id)
        self._test(15, 14, "COMPLETED", aws=False)
        self._test(45, 9, "COMPLETED", aws=False)
        # Exceptions: a restore that failed; one restored but failing validation; a manual test that failed.
        self.expect(RESTORES, TEST_RULE, self._test(60, 3, "FAILED", message="Insufficient capacity").restore_id)
        self.expect(RESTORES, TEST_RULE, self._test(61, 3, "COMPLETED", validation="FAILED",
                                                     message="validation script returned 1").restore_id)
        self.expect(RESTORES, TEST_RULE, self._test(62, 15, "FAILED", aws=False,
                                                     message="restored database would not start").restore_id)
        # Near-miss: a failed restore after the period ends (before the export) is not the period's.
        after = self._test(last_day + 1, 1, "FAILED", message="after the period")
        self.near(RESTORES, TEST_RULE, after.restore_id)

    def populations(self) -> list[tuple[str, str, int, str]]:
        in_scope = sum(r["in_scope"] == "yes" for r in self.resources)
        end = pd.Timestamp(self.period.end, tz="UTC") + pd.Timedelta(days=1)
        tested = sum(self.start <= t.tested_at < end for t in self.tests)
        return [(BACKUPS, GAP_RULE, in_scope, "in-scope resources of the backup scope list"),
                (RESTORES, TESTED_RULE, 1, "the period"),
                (RESTORES, TEST_RULE, tested, "restore tests started in the period")]

    def write(self, folder: Path) -> list[dict]:
        write_csv(folder / SCOPE_FILE, ["resource_arn", "resource_name", "resource_type", "in_scope", "owner"],
                  [list(r.values()) for r in self.resources])
        cloud = [j for j in self.jobs if j.resource.startswith("arn:")]
        local = [j for j in self.jobs if not j.resource.startswith("arn:")]
        _json(folder / AWS_JOBS_FILE, {"BackupJobs": [_aws_job(j) for j in cloud]})
        words = {"COMPLETED": "Success", "FAILED": "Failed", "PARTIAL": "Warning"}
        write_csv(folder / LOG_FILE, ["job_id", "resource", "status", "started_at", "finished_at", "message"],
                  [[j.job_id, j.resource, words[j.state], _iso(j.created_at), _iso(j.completed_at),
                    "" if j.state == "COMPLETED" else "job ended without a restore point"] for j in local])
        aws_tests = [t for t in self.tests if t.tester == TESTING_PLAN]
        _json(folder / AWS_RESTORES_FILE, {"RestoreJobs": [_aws_restore(t) for t in aws_tests]})
        outcomes = {"COMPLETED": "passed", "FAILED": "failed", "ABORTED": "aborted"}
        write_csv(folder / RESTORE_LOG_FILE,
                  ["test_id", "resource", "tested_at", "completed_at", "outcome", "tester", "notes"],
                  [[t.restore_id, t.resource, _iso(t.tested_at), _iso(t.completed_at), outcomes[t.status], t.tester,
                    t.message] for t in self.tests if t.tester != TESTING_PLAN])
        in_scope = sum(r["in_scope"] == "yes" for r in self.resources)
        return [
            {"path": SCOPE_FILE, "type": "backup_resources", "format": "generic_backup_resources_csv",
             "source": "System description: production data stores that must be backed up (CMDB export)",
             "extracted_by": "Cloud platform team",
             "control_total": {"count": len(self.resources), "source": f"CMDB: {in_scope} in scope, 1 retired"}},
            {"path": AWS_JOBS_FILE, "type": "backup_jobs", "format": "aws_backup_jobs_json",
             "source": "aws backup list-backup-jobs (AWS CLI v2), daily exports of the period merged",
             "extracted_by": "Cloud platform team"},
            {"path": LOG_FILE, "type": "backup_jobs", "format": "generic_backup_log_csv",
             "source": "On-premises backup server: job history export (CSV)", "extracted_by": "IT operations"},
            {"path": AWS_RESTORES_FILE, "type": "restore_tests", "format": "aws_backup_restore_jobs_json",
             "source": "aws backup list-restore-jobs --by-restore-testing-plan-arn (AWS CLI v2)",
             "extracted_by": "Cloud platform team"},
            {"path": RESTORE_LOG_FILE, "type": "restore_tests", "format": "generic_restore_tests_csv",
             "source": "IT operations restore-test register (CSV)", "extracted_by": "IT operations"},
        ]


def _iso(stamp) -> str:
    """ISO 8601 with an offset, as AWS CLI v2 prints a timestamp."""
    return "" if stamp is None else pd.Timestamp(stamp).tz_convert("UTC").isoformat()


def _aws_job(job: Job) -> dict:
    record = {"BackupJobId": job.job_id, "BackupVaultName": "production", "BackupVaultArn": VAULT,
              "ResourceArn": job.resource, "ResourceType": job.resource_type, "State": job.state,
              "CreationDate": _iso(job.created_at), "CompletionDate": _iso(job.completed_at)}
    if job.state == "COMPLETED":
        record["RecoveryPointArn"] = f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{job.job_id}"
    else:
        record["StatusMessage"] = "Backup job failed" if job.state == "FAILED" else "Some files were not backed up"
    return record


def _aws_restore(test: RestoreTest) -> dict:
    record = {"AccountId": ACCOUNT, "RestoreJobId": test.restore_id, "Status": test.status,
              "CreationDate": _iso(test.tested_at), "CompletionDate": _iso(test.completed_at),
              "CreatedResourceArn": test.resource, "ResourceType": test.resource_type,
              "CreatedBy": {"RestoreTestingPlanArn": test.tester}}
    if test.validation:
        record["ValidationStatus"] = test.validation
    if test.message:
        record["StatusMessage"] = test.message
    return record


def _json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def add_to_folder(folder: Path, result: BackupEvidence) -> None:
    """Declare the exports in evidence.yaml and append what they plant to the answer files."""
    add_area(folder, result, dates_described="backup job and restore test dates", scope=result.scope)
