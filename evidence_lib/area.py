"""A control area tested: some controls, one period's evidence loaded, integrity and rules judged.

What a notebook shows (present.py) and what it writes to the package (area_files.py) both read a
`TestedArea`; neither loads, validates nor decides a status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evidence_lib.controls import Catalog, load_catalog
from evidence_lib.errors import EvidenceError
from evidence_lib.masking import PiiMask, load_mask_key, mask_for
from evidence_lib.period import Period, parse_period
from evidence_lib.recorded import from_project
from evidence_lib.results import ERROR, PASS, Status, Validation
from evidence_lib.shared_validation import as_of_stamp, find_area
from evidence_lib.sources.folder import EvidenceSet, load_folder
from evidence_lib.validate import validate


def judge_area(evidence: EvidenceSet, period: Period, control_ids: tuple[str, ...], *, as_of: str | None,
               parameters: dict | None, catalog: Catalog) -> Validation | None:
    """The controls' verdicts on the evidence (None for an area testing no control): what a notebook
    computes, and what a run prepares for it once (shared_validation.py)."""
    if not control_ids:
        return None
    return validate(evidence, period, as_of=as_of_stamp(as_of), parameters=parameters or {}, catalog=catalog,
                    controls=tuple(control_ids))


class AreaError(EvidenceError):
    """A notebook was opened with parameters that cannot name a control area (papermill does not type-check)."""


@dataclass
class TestedArea:
    """One notebook's subject: some controls, tested on one period's evidence."""

    control_ids: tuple[str, ...]
    period: Period
    evidence_dir: Path
    evidence: EvidenceSet
    validation: Validation | None
    catalog: Catalog
    mask: PiiMask | None = None
    run_id: str | None = None
    #: the key of the run's shared validation this area was taken from (shared_validation.py), else None
    shared_key: str | None = None
    #: charts the run drew from that same validation (name -> PNG), so the kernel need not import matplotlib
    prepared_charts: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def open(cls, control_ids, *, period: str, evidence_dir: str, as_of: str | None = None,
             parameters: dict | None = None, mask_pii: bool = False, mask_key_file: str | None = None,
             run_id: str | None = None, prepared_only: bool = False) -> TestedArea | None:
        """Load and test. Papermill does not type-check parameters, so they are checked here.

        prepared_only: only the run's prepared result (shared_validation.py), else None: a run's worker
        recording the notebook's cells never loads or validates the evidence itself (its kernel would
        then do it again)."""
        if not isinstance(period, str):
            raise AreaError(f"period must be text such as '2026-Q3', got {period!r}")
        if as_of is not None and not isinstance(as_of, str):
            raise AreaError(f"as_of must be an ISO date or time as text, e.g. '2026-10-01', got {as_of!r}")
        if mask_key_file is not None and not isinstance(mask_key_file, str):
            raise AreaError(f"mask_key_file must be a path as text, got {mask_key_file!r}")
        catalog = load_catalog()
        unknown = [c for c in control_ids if c not in {x.control_id for x in catalog.controls}]
        if unknown:
            raise AreaError(f"unknown control(s) {unknown}; the catalog has "
                            f"{[c.control_id for c in catalog.controls]}")
        parsed = parse_period(period)
        folder = from_project(evidence_dir)
        shared = find_area(folder, parsed.label, as_of, parameters or {}, tuple(control_ids))
        if shared is not None:
            evidence, validation = shared.evidence, shared.validation
        elif prepared_only:
            return None
        else:
            evidence = load_folder(folder)
            validation = judge_area(evidence, parsed, tuple(control_ids), as_of=as_of, parameters=parameters,
                                    catalog=catalog)
        # The key comes from outside the evidence (a key file, else random for this session only):
        # a key derived from what the package publishes lets anyone confirm a guessed name.
        key_file = None if mask_key_file is None else str(from_project(mask_key_file))
        mask = mask_for(evidence, load_mask_key(key_file)) if mask_pii else None
        return cls(tuple(control_ids), parsed, folder, evidence, validation, catalog, mask, run_id,
                   shared_key=shared.key if shared else None, prepared_charts=shared.charts if shared else {})

    @property
    def status(self) -> Status:
        """The area's verdict: its validation's, or for the inventory alone whether every file loaded."""
        if self.validation is not None:
            return self.validation.status
        return ERROR if self.evidence.problems or self.evidence.undeclared else PASS

    def tested(self) -> Validation:
        if self.validation is None:
            raise AreaError("this area tests no controls: open it with at least one control id")
        return self.validation

    def masked(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame as it may be shown: names and e-mail addresses pseudonymised when masking is on."""
        return self.mask.frame(frame) if self.mask else frame
