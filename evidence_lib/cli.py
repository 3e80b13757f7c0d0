"""The `evidence` command: a thin shell over library functions.

Exit codes are the interface a scheduler reads: 0 pass, 1 exceptions, 2 error (the user's or the
evidence's, named in one `error:` line each), 3 internal error (a bug: traceback in a file),
130 interrupted (Ctrl-C), 143 terminated (SIGTERM). A crash never exits 0, 1 or 2.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path

import click

from evidence_lib.errors import EvidenceError, shorten

EXIT_OK, EXIT_EXCEPTIONS, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM
PROBLEMS_SHOWN_PER_FILE = 20


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that a run stops its workers and removes its half-written package."""


class _Evidence(click.Group):
    """The command group, with one place that turns every way a command can end into an exit code."""

    def invoke(self, ctx: click.Context):
        previous = _on_sigterm(_raise_terminated)
        # Ctrl-C is always KeyboardInterrupt here, even when the parent started this process with SIGINT ignored
        # (a process inherits that, and Python then leaves it ignored): a run must stop and publish nothing.
        previous_sigint = _on_signal(signal.SIGINT, signal.default_int_handler)
        try:
            return super().invoke(ctx)
        except EvidenceError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("\ninterrupted: nothing was published", err=True)
            sys.exit(EXIT_SIGINT)
        except Terminated:
            click.echo("terminated: nothing was published", err=True)
            sys.exit(EXIT_SIGTERM)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: exit 3 with the traceback kept, never 0, 1 or 2
            _internal_error(exc)
        finally:
            _on_sigterm(previous)
            _on_signal(signal.SIGINT, previous_sigint)


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _on_sigterm(handler):
    """Install a SIGTERM handler (main thread only: CliRunner may call from another); the old one back."""
    return _on_signal(signal.SIGTERM, handler)


def _on_signal(signum: int, handler):
    """Install a handler for a signal (main thread only); returns the one it replaced, None if it installed none."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signum, handler)


def _internal_error(exc: Exception) -> None:
    text = "".join(traceback.format_exception(exc))
    try:
        handle, path = tempfile.mkstemp(prefix="evidence-internal-error-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(f"evidence {' '.join(sys.argv[1:])}\n\n{text}")
    except OSError:
        path = None
    lines = str(exc).strip().splitlines()
    message = f"internal error: {type(exc).__name__}: {shorten(lines[0] if lines else '')}"
    if path is None:
        click.echo(text, err=True)
    click.echo(f"{message} (traceback in {path or 'the lines above'})", err=True)
    sys.exit(EXIT_INTERNAL)


@click.group(cls=_Evidence)
@click.version_option(package_name="evidence-workbench")
def main() -> None:
    """Evidence Workbench: SOC 2 evidence from exports, tested and packaged for auditors.

    \b
    Exit codes of every command:
      0    everything passed (or the package is intact)
      1    exceptions found (or files differ from the manifest)
      2    error: bad arguments, evidence or parameters, a failed notebook, a failed write
      3    internal error: a bug; the traceback is written to a file named in the message
      130  interrupted (Ctrl-C): workers and kernels stopped, nothing published
      143  terminated (SIGTERM): likewise
    """
    from evidence_lib.notebook_runner import skip_unused_slow_imports

    skip_unused_slow_imports()


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--period", help="Also test the controls for this period: a quarter (2026-Q3), a month (2026-08), "
                                "previous-month or previous-quarter (before --as-of, else today).")
@click.option("--as-of", help="The date the evidence describes (default: the declared export time).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Override a control parameter, e.g. --param deprovision_sla_days=3 (repeatable).")
@click.option("--allow-period-mismatch", is_flag=True,
              help="Test evidence whose evidence.yaml declares another period than --period.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the full results to this file.")
def check(folder: Path, period: str | None, as_of: str | None, params: tuple[str, ...], allow_period_mismatch: bool,
          json_path: Path | None) -> None:
    """Load every export declared in FOLDER/evidence.yaml and report what was read.

    Prints one line per file (type, system, format, rows read and kept, sha256, problems),
    then every problem with its file, row and column. With --period, also runs the control
    suites and prints one line per rule (control, rule, population, exceptions, status).

    Exit codes: 0 all evidence loaded (and every control passed), 1 exceptions found,
    2 errors (evidence missing, unreadable, undeclared or of the wrong shape; a bad --param,
    --as-of or --period; evidence declared for another period), 3 internal error.

    Example: evidence check data/samples/2026-Q3 --period 2026-Q3 --json results.json
    """
    from evidence_lib.inventory import format_table, inventory
    from evidence_lib.parameters import parse_parameter_args
    from evidence_lib.run import check_as_of, check_evidence_period
    from evidence_lib.sources.folder import load_folder

    controls = None
    if period:  # every argument is checked before the (possibly long) load
        parsed = _period(period, as_of=as_of)
        _say_resolved(period, parsed.label)
        controls = (parsed, check_as_of(as_of, parsed), parse_parameter_args(params))
        check_evidence_period(folder, parsed, allow_mismatch=allow_period_mismatch)
    evidence = load_folder(folder, progress=sys.stderr.isatty())
    table = inventory(evidence)
    table["sha256"] = table["sha256"].str[:12]
    # A terminal's width: where each export came from is in the reports; its reconciliation shows here.
    shown = ["file", "type", "system", "format", "rows_read", "rows_kept", "sha256"]
    shown += ["reconciled"] if table["reconciled"].astype(bool).any() else []
    click.echo(format_table(table[[*shown, "problems"]], widths={"problems": 60, "file": 48}))
    problems = evidence.problems
    if problems:
        click.echo(f"\n{len(problems)} problem(s):", err=True)
        for line in _capped_per_file(problems, PROBLEMS_SHOWN_PER_FILE):
            click.echo(f"  {line}", err=True)
    else:
        click.echo(f"\n{len(table)} files, {int(table['rows_kept'].sum())} rows loaded, no problems.")
    code = EXIT_ERROR if problems else EXIT_OK
    if controls:
        code = max(code, _check_controls(evidence, *controls, json_path))
    sys.exit(code)


def _check_controls(evidence, period, as_of, overrides, json_path) -> int:
    import pandas as pd

    from evidence_lib.inventory import format_table
    from evidence_lib.package import write_json_atomically
    from evidence_lib.validate import ERROR, EXCEPTIONS, validate

    stamp = pd.Timestamp(as_of) if as_of else None
    if stamp is not None:
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    validation = validate(evidence, period, as_of=stamp, parameters=overrides)
    summary = validation.summary()
    click.echo(f"\nControls for {period.label} (as of {validation.as_of:%Y-%m-%d %H:%M} UTC):")
    # each rule's population walk is in --json and the reports: too wide for a terminal line
    click.echo(format_table(summary.drop(columns=["walk"], errors="ignore"), widths={"reason": 70}))
    counts = summary["status"].value_counts()
    click.echo(f"\n{len(summary)} rules: {counts.get('pass', 0)} pass, {counts.get(EXCEPTIONS, 0)} with "
               f"{int(summary['exceptions'].sum())} exception(s), {counts.get(ERROR, 0)} error(s).")
    if json_path:
        try:
            write_json_atomically(json_path, {"inventory": [o.loaded.provenance.as_dict() for o in evidence.outcomes
                                                            if o.loaded], **validation.as_dict()})
        except OSError as exc:
            raise EvidenceError(f"{json_path}: cannot write the results ({exc.strerror or exc})") from None
        click.echo(f"results written to {json_path}")
    return {ERROR: EXIT_ERROR, EXCEPTIONS: EXIT_EXCEPTIONS}.get(validation.status, EXIT_OK)


@main.command()
@click.option("--period", help="A quarter (2026-Q3), a month (2026-08), dates (2026-07-15..2026-09-30), or "
                                "previous-month / previous-quarter: the one before --as-of, else before today (UTC).")
@click.option("--start", help="First day of the period (YYYY-MM-DD), with --end instead of --period.")
@click.option("--end", help="Last day of the period (YYYY-MM-DD), inclusive.")
@click.option("--evidence-dir", type=click.Path(path_type=Path), default=None,
              help="Folder of exports with its evidence.yaml (default: data/samples/<period>).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
              help="Packages go to OUT/<period>/<run-id>/.")
@click.option(
    "--only", multiple=True, metavar="CONTROL", help="Run only the notebooks testing this control (repeatable)."
)
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Notebooks executed at once (default: one per CPU this process may use).")
@click.option("--mask-pii", is_flag=True, help="Mask names and e-mail addresses (stable pseudonyms) in the package.")
@click.option("--mask-key", "mask_key", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --mask-pii: a file holding the secret key of the pseudonyms, kept outside the package, "
                   "so that pseudonyms stay the same across runs (default: a random key for this run only).")
@click.option("--with-code", is_flag=True, help="Show the notebooks' code in the HTML reports.")
@click.option("--pdf", is_flag=True, help="Also print every report and the index to PDF (needs Chromium).")
@click.option("--with-explore", is_flag=True,
              help="Also run notebooks/90_explore.ipynb (follow a person, an account or a change) into the package.")
@click.option(
    "--as-of",
    help="The date the evidence describes (default: the declared export time); "
    "from the period's start to 400 days after its end.",
)
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a control parameter (repeatable)."
)
@click.option("--allow-period-mismatch", is_flag=True,
              help="Run on evidence whose evidence.yaml declares another period.")
@click.option("--preparer", metavar="NAME",
              help="Who prepared the package, recorded in manifest.json and shown in every report (default: "
                   "`git config user.name` of the evidence folder's repository, else the login name).")
@click.option("--sign", "sign", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="KEY",
              help="Sign manifest.json with this Ed25519 private key (`evidence keygen`): writes manifest.sig.")
def run(period, start, end, evidence_dir, out, only, jobs, mask_pii, mask_key, with_code, pdf, with_explore, as_of,
        params, allow_period_mismatch, preparer, sign) -> None:
    """Execute every notebook for PERIOD and write the evidence package.

    Writes OUT/<period>/<run-id>/ with index.html, manifest.json and, per notebook, executed.ipynb,
    report.html, results.json and exceptions.csv (with --pdf, index.pdf and report.pdf too). A
    finished run is never overwritten. Arguments are checked before anything is written; a run
    that cannot finish (a failed write, Ctrl-C, SIGTERM) publishes nothing. Unfinished runs left
    by a killed process are reported; remove them with `evidence clean`. The last line printed
    is the SHA-256 of manifest.json, the value a reviewer's `evidence signoff` records.

    Exit codes: 0 every control passed, 1 exceptions found, 2 errors (missing or bad evidence,
    a notebook that failed, a bad argument, a failed write), 3 internal error, 130 interrupted,
    143 terminated.

    Example: evidence run --period 2026-Q3 --jobs 2 --preparer "Ana Ruiz"
    """
    from evidence_lib.package import incomplete_runs
    from evidence_lib.parameters import parse_parameter_args
    from evidence_lib.project import SAMPLES_DIR
    from evidence_lib.run import run_period

    if not period and not (start and end):
        raise EvidenceError("give --period (2026-Q3, 2026-08) or both --start and --end (YYYY-MM-DD)")
    requested, period = period, _period(period or "", start, end, as_of=as_of).label
    _say_resolved(requested, period)
    overrides = parse_parameter_args(params)
    for leftover in incomplete_runs(out, period):
        click.echo(f"warning: {leftover} is an unfinished run (interrupted, or still running); "
                   f"`evidence clean {out} --period {period} --yes` removes it", err=True)
    result = run_period(period, evidence_dir=evidence_dir or SAMPLES_DIR / period, out=out, only=tuple(only),
                        jobs=jobs, mask_pii=mask_pii, mask_key_file=mask_key, with_code=with_code, as_of=as_of,
                        parameters=overrides, allow_period_mismatch=allow_period_mismatch, preparer=preparer,
                        pdf=pdf, with_explore=with_explore, sign=sign)
    for outcome in result.outcomes:
        click.echo(f"{outcome.name:<24} {outcome.status:<10} {outcome.seconds:6.1f}s  {outcome.error}")
    click.echo(f"\n{result.status}: package written in {result.seconds:.1f}s")
    click.echo(f"open {result.run_dir / 'index.html'}")
    if sign:
        click.echo(f"signed: {result.run_dir / 'manifest.sig'}")
    click.echo(f"manifest sha256: {result.manifest_sha256}")
    sys.exit(result.exit_code)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evidence", "evidence_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Check this evidence folder against the evidence the run read, instead of the package.")
@click.option("--key", "key", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="PUBKEY",
              help="Also check manifest.sig: the manifest was signed with this public key's private key.")
@click.option("--signoff-key", "signoff_keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="PUBKEY", help="Every sign-off must be signed with one of these reviewers' keys (repeatable).")
def verify(run_dir: Path, evidence_dir: Path | None, key: Path | None, signoff_keys: tuple[Path, ...]) -> None:
    """Re-hash every file of a finished package against its manifest.json, and check its sign-offs.

    Names every file changed, added or missing, and every sign-off (RUN_DIR/signoffs/) that does not
    name the current manifest.json; then says who reviewed the package and when, or "not yet reviewed".
    Exit code 0 when the package and its sign-offs are intact, 1 when not, 2 when RUN_DIR is not a
    package. With --evidence DIR, checks DIR (exports, evidence.yaml and custom mapping files)
    against the hashes of the evidence the run tested instead of the package's files. With --key,
    manifest.sig must verify with that public key: a manifest edited to match edited files fails.

    Example: evidence verify out/2026-Q3/20261125T101500Z-1a2b3c --key keys/evidence-signing.pub
    """
    from evidence_lib.package import MANIFEST
    from evidence_lib.package import verify as verify_package
    from evidence_lib.signing import check_signature, fingerprint, load_public_key
    from evidence_lib.signoff import check_signoffs

    public = load_public_key(key) if key else None
    verification = verify_package(run_dir, evidence_dir)
    review = check_signoffs(run_dir, tuple(load_public_key(k) for k in signoff_keys))
    unsigned = check_signature(Path(run_dir) / MANIFEST, public) if public else ""
    for line in verification.lines() + [f"sign-off: {problem}" for problem in review.problems]:
        click.echo(line)
    if public and unsigned:
        click.echo(f"signature: {unsigned}", err=True)
    elif public:
        click.echo(f"{run_dir}: manifest.json is signed by key {fingerprint(public)}")
    checked = f"{evidence_dir} (evidence of {run_dir})" if evidence_dir else str(run_dir)
    if verification.ok:
        click.echo(f"{checked}: every file matches manifest.json")
    else:
        click.echo(f"{checked}: {len(verification.lines())} file(s) differ from manifest.json", err=True)
    if not review.ok:
        click.echo(f"{run_dir}: {len(review.problems)} sign-off(s) do not name manifest.json sha256 "
                   f"{review.manifest_sha256}", err=True)
    for line in review.lines():
        click.echo(line)
    sys.exit(EXIT_OK if verification.ok and review.ok and not unsigned else EXIT_EXCEPTIONS)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--reviewer", required=True, metavar="NAME", help="Who reviewed the package.")
@click.option("--note", metavar="TEXT", help="What the review covered, or a reference to the working paper.")
@click.option("--sign", "sign", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="KEY",
              help="Sign the record with the reviewer's Ed25519 private key: writes <record>.json.sig beside it.")
def signoff(run_dir: Path, reviewer: str, note: str | None, sign: Path | None) -> None:
    """Sign off a finished package as its reviewer, without changing any of its files.

    Adds RUN_DIR/signoffs/<time>-<reviewer>.json, read-only and never over another file: the
    reviewer, the time (UTC), the note and the SHA-256 of manifest.json (which hashes every other
    file). `evidence verify` then says who reviewed the package, and fails if a sign-off names
    another manifest. A package that fails verification is not signed.

    Exit codes: 0 signed off, 2 not a package, a package that fails verification, no reviewer or
    the sign-off cannot be written, 3 internal error.

    Example: evidence signoff out/2026-Q3/20261125T101500Z-1a2b3c --reviewer "Dana Wu" --note "WP 12.3"
    """
    from evidence_lib.signoff import sign_off

    path, record = sign_off(run_dir, reviewer, note, key_file=sign)
    click.echo(f"{record.line()}")
    click.echo(f"sign-off written to {path}" + (f" (signed: {path.name}.sig)" if sign else ""))
    click.echo(f"manifest sha256: {record.manifest_sha256}")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--evidence", "evidence_dir", required=True,
              type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The evidence folder in hand: checked against the package's input hashes, then tested again.")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="Notebooks executed at once (default: one per CPU this process may use).")
@click.option("--json", "json_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the comparison (differences, tool versions side by side) to this file.")
def reperform(run_dir: Path, evidence_dir: Path, jobs: int, json_path: Path | None) -> None:
    """Re-run a package's notebooks on the evidence in hand and compare every rule with the package.

    Names each evidence file that differs from the hashes the package recorded, runs the same
    notebooks with the same parameters, as-of time and period (from manifest.json) into a temporary
    folder, and compares each rule's status, population and exception keys. Prints the tool versions
    of the package beside those of the re-performance, marking where they differ.

    Exit codes: 0 re-performed: identical, 1 differences (listed), 2 not a package, a package failing
    verification, or a run that cannot start.

    Example: evidence reperform out/2026-Q3/20261125T101500Z-1a2b3c --evidence data/samples/2026-Q3
    """
    from evidence_lib.notebook_runner import default_jobs
    from evidence_lib.package import write_json_atomically
    from evidence_lib.reperform import reperform as reperform_package

    result = reperform_package(run_dir, evidence_dir, jobs=jobs or default_jobs(), progress=sys.stderr.isatty())
    for line in result.lines():
        click.echo(line)
    if json_path:
        write_json_atomically(json_path, result.as_dict())
    sys.exit(EXIT_OK if result.identical else EXIT_EXCEPTIONS)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--rule", required=True, help="The rule whose tested population is sampled (e.g. mfa_enabled).")
@click.option("--size", type=int, default=None, help="Items to draw (the whole population when it is smaller).")
@click.option("--frequency", type=click.Choice(["annual", "quarterly", "monthly", "weekly", "daily", "recurring"]),
              default=None, help="Size by control frequency instead: 1, 2, 5, 15, 40, 60 (recurring: many a day).")
@click.option("--seed", type=int, required=True, help="The seed: the same package and seed give the same sample.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The CSV to write (default: beside the package, sample-<run-id>-<rule>-<time>-seed<S>.csv).")
def sample(run_dir: Path, rule: str, size: int | None, frequency: str | None, seed: int, out: Path | None) -> None:
    """Draw a reproducible random sample of a rule's tested population from a finished package.

    Sorts the rule's population keys (results.json), permutes them with numpy's seeded generator
    (default_rng(seed)) and keeps the first N. Writes a CSV beside the package, never inside it: each
    item's selection order, system, record key and whether it is an exception, with the seed, method,
    population size and SHA-256, and the manifest's SHA-256.

    Exit codes: 0 written, 2 no such rule, no stored population, a package failing verification.

    Example: evidence sample out/2026-Q3/20261125T101500Z-1a2b3c --rule mfa_enabled --frequency daily --seed 7
    """
    from evidence_lib.sampling import draw_sample, write_sample

    drawn = draw_sample(run_dir, rule, seed=seed, size=size, frequency=frequency)
    path = write_sample(drawn, run_dir, out)
    for number, (system, key, exception) in enumerate(drawn.selected, start=1):
        click.echo(f"{number:>4}  {system or '-':<14} {key}" + ("  (exception)" if exception else ""))
    click.echo(f"{len(drawn.selected)} of {drawn.population_size} drawn with seed {seed}; population sha256 "
               f"{drawn.population_sha256}")
    click.echo(f"sample written to {path}")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The JSON file to write (beside the package, never inside it).")
def oscal(run_dir: Path, out: Path) -> None:
    """Write a package's findings as NIST OSCAL 1.1 assessment results (JSON).

    One result for the period; a finding per control (satisfied / not-satisfied); an observation
    per rule (method TEST, population and exception count, evidence links with each file's SHA-256);
    a risk per exception (open, or deviation-approved where management's response is in force).

    Exit codes: 0 written, 2 not a package or a package failing verification.

    Example: evidence oscal out/2026-Q3/20261125T101500Z-1a2b3c --out assessment-results.json
    """
    from evidence_lib.oscal import write_assessment_results

    path = write_assessment_results(run_dir, out)
    click.echo(f"OSCAL assessment results written to {path}")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def keygen(folder: Path) -> None:
    """Make an Ed25519 key pair for signing packages and sign-offs: FOLDER/evidence-signing.key and .pub.

    The private key (file mode 600) stays with whoever signs (`evidence run --sign`, `evidence signoff
    --sign`); give the public key to the auditor (`evidence verify --key`). Existing keys are never
    overwritten.

    Exit codes: 0 written, 2 a key exists already or cannot be written.

    Example: evidence keygen ~/.evidence-keys
    """
    from evidence_lib.signing import fingerprint, generate_keys, load_public_key

    private, public = generate_keys(folder)
    click.echo(f"private key: {private} (keep it; mode 600)")
    click.echo(f"public key:  {public} (give it to the auditor)")
    click.echo(f"fingerprint: {fingerprint(load_public_key(public))}")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--period", help="Only this period's unfinished runs (default: every period under OUT).")
@click.option("--yes", is_flag=True, help="Remove them (without it, only list them).")
def clean(out: Path, period: str | None, yes: bool) -> None:
    """List, and with --yes remove, unfinished runs (OUT/<period>/.incomplete-<run-id>/).

    A run killed before it finished leaves its half-written package under that hidden name.
    Finished runs are never touched. Do not clean while a run of that period is in progress:
    its package is being written under the same kind of name.

    Exit codes: 0 done (or nothing to clean), 2 a folder could not be removed.

    Example: evidence clean out --period 2026-Q3 --yes
    """
    from evidence_lib.package import incomplete_runs, remove_incomplete

    found = incomplete_runs(out, _period(period).label if period else None)
    for path in found:
        click.echo(f"{'removing' if yes else 'unfinished'}: {path}")
    if yes:
        remove_incomplete(found)
    if not found:
        click.echo(f"{out}: no unfinished runs")
    elif not yes:
        click.echo(f"{len(found)} unfinished run(s); rerun with --yes to remove them")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--write", is_flag=True,
              help="Write FOLDER/evidence.yaml (never over an existing one: then evidence.yaml.proposed).")
@click.option("--period", help="The audit period the exports cover, for `period:` (2026-Q3, 2026-08).")
@click.option("--company", help="The company's name, for `company:`.")
@click.option("--ignore", "ignore", multiple=True, metavar="PATTERN",
              help="A file (or glob pattern) that is not evidence: not read, listed under `ignore:` (repeatable).")
def init(folder: Path, write: bool, period: str | None, company: str | None, ignore: tuple[str, ...]) -> None:
    """Recognise every export in FOLDER by its header and propose its evidence.yaml.

    Each CSV, XLSX (every sheet) and JSON file is scored against every built-in format; a file
    is placed when all the columns its best format requires are present. Prints the proposal
    (YAML, each choice explained in a comment) and, on stderr, the files it could not place
    with their closest format and the columns they lack.

    Exit codes: 0 every file placed, 2 some files not placed (or a bad argument), 3 internal error.

    Example: evidence init data/samples/2026-Q3 --period 2026-Q3 --ignore expected_exceptions.csv --write
    """
    from evidence_lib.sources.detect import propose, write_proposal

    proposal = propose(folder, ignore=ignore, period=period, company=company)
    if write:
        written = write_proposal(proposal)
        click.echo(f"proposal written to {written}"
                   + ("" if written.name == "evidence.yaml" else " (evidence.yaml exists and was left as it is)"))
    else:
        click.echo(proposal.to_yaml(), nl=False)
    for item in proposal.unplaced:
        click.echo(f"not placed: {folder / item.path}: {item.reason}", err=True)
    sys.exit(EXIT_OK if proposal.complete else EXIT_ERROR)


@main.command()
@click.argument("runs_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--window", help="The audit window: dates (2026-01-01..2026-12-31), a quarter or a month "
                               "(default: from the first verified period to the last).")
@click.option("--entity", metavar="NAME", help="Read RUNS_DIR/NAME/<period>/<run-id>/ (one folder per entity).")
@click.option("--every", type=click.Choice(["month", "quarter"]),
              help="The window's periods (default: month when every package is a month's, else quarter).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="The history package goes to OUT/<window>/<run-id>/ (default: RUNS_DIR[/NAME] itself).")
def history(runs_dir: Path, window: str | None, entity: str | None, every: str | None, out: Path | None) -> None:
    """Read every evidence package under RUNS_DIR and report the audit window across its periods.

    Verifies each package (one that fails is listed and not used; unfinished .incomplete-* runs are
    skipped), rests each period on its latest verified run that did not end in error, and writes a
    hashed package (index.html, history.json, matrix.csv, changes.csv, exceptions.csv, gaps.csv,
    runs.csv) that `evidence verify` checks: each control's rules period by period, the periods and
    controls without evidence (gaps), and the exceptions recurring, remediated or new between
    consecutive periods, with open and responded where responses.yaml gave them.

    Exit codes: 0 every period covered and no exceptions, 1 exceptions found, 2 evidence gaps or a
    package failing verification (or a bad argument), 3 internal error.

    Example: evidence history out --window 2026-01-01..2026-12-31
    """
    from evidence_lib.history_report import history as write_window_history
    from evidence_lib.results import EXIT_CODES

    judged, folder = write_window_history(runs_dir, window=window, entity=entity, out=out, every=every)
    for label in [p.label for p in judged.periods]:
        run = judged.used.get(label)
        click.echo(f"{label:<12} {'run ' + run.run_id + ' ' + run.status if run else 'gap: no verified evidence'}")
    for run in judged.failed:
        click.echo(f"not used: {run.path}: {run.problem}", err=True)
    for gap in judged.gaps:
        click.echo(f"gap: {gap['period']} {gap['control'] or 'every control'}: {gap['reason']}")
    kinds = judged.changes["kind"].value_counts()
    click.echo(f"\nwindow {judged.status}: {len(judged.gaps)} gap(s), {len(judged.failed)} package(s) failing "
               f"verification; "
               f"exceptions between periods: {kinds.get('recurring', 0)} recurring, "
               f"{kinds.get('remediated', 0)} remediated, {kinds.get('left', 0)} left (record gone from the "
               f"population), {kinds.get('new', 0)} new")
    click.echo(f"open {folder / 'index.html'}")
    sys.exit(EXIT_CODES[judged.status])

def _period(text: str, start: str | None = None, end: str | None = None, *, as_of: str | None = None):
    """parse_period, with a date that does not exist (2026-02-30) as the user's error it is; a relative
    period (previous-quarter) resolved against as_of, else today."""
    from evidence_lib.period import parse_period

    try:
        return parse_period(text, start, end, today=as_of)
    except ValueError as exc:
        raise EvidenceError(f"period {text or f'{start}..{end}'}: {exc}") from None


def _say_resolved(requested: str | None, label: str) -> None:
    """A relative period is printed as what it resolved to: the package records only the resolved label."""
    from evidence_lib.period import RELATIVE

    if requested and requested.strip().lower() in RELATIVE:
        click.echo(f"period: {requested.strip()} is {label}", err=True)


def _capped_per_file(problems, shown: int):
    """Every problem of a file up to `shown`, then how many more: a broken export can have
    a problem on each of its rows, and the first few tell the analyst what to fix."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.path] = counts.get(problem.path, 0) + 1
        if counts[problem.path] <= shown:
            yield str(problem)
    for path, count in counts.items():
        if count > shown:
            yield f"{path}: ... and {count - shown} more problem(s) in this file"


def _fail(exc: EvidenceError) -> None:
    problems = getattr(exc, "problems", None)
    for line in (map(str, problems) if problems else [str(exc)]):
        click.echo(f"error: {line}", err=True)
    sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
