"""Evidence Workbench: SOC 2 evidence from exports, tested against GX suites.

The names a notebook needs; everything else stays importable from its module.
"""

from evidence_lib.errors import EvidenceError, LoadError
from evidence_lib.inventory import inventory
from evidence_lib.period import parse_period
from evidence_lib.sources.folder import load_folder
from evidence_lib.validate import validate

__all__ = ["EvidenceError", "LoadError", "inventory", "load_folder", "parse_period", "validate"]
