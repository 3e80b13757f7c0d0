"""Evidence Workbench: SOC 2 evidence from exports, tested against GX suites.

The names a notebook needs; everything else stays importable from its module (validate from
evidence_lib.validate, the inventory table from evidence_lib.inventory). Nothing heavy is imported here:
a kernel replaying the run's recorded cells (recorded.py) imports neither pandas nor GX.
"""

from evidence_lib.errors import EvidenceError, LoadError
from evidence_lib.period import parse_period
from evidence_lib.present import ControlArea

__all__ = ["ControlArea", "EvidenceError", "LoadError", "load_folder", "parse_period"]


def __getattr__(name: str):
    # load_folder imports pandas: only when asked for
    if name == "load_folder":
        from evidence_lib.sources.folder import load_folder

        return load_folder
    raise AttributeError(f"module 'evidence_lib' has no attribute {name!r}")
