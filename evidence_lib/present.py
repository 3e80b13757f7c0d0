"""What a notebook opens: `ControlArea.open(controls, ...)`, whose methods are the notebook's cells.

Every notebook's kernel imports this module first, so it imports nothing heavy. When the run's worker
recorded the notebook's cells just before (recorded.py), the kernel replays them without importing
pandas or GX; otherwise the area is loaded, tested and shown here (showing.ShownArea).
"""

from __future__ import annotations

from evidence_lib.recorded import Html, RecordedArea, find_recording

__all__ = ["ControlArea", "Html"]


class ControlArea:
    """Opens the area a notebook shows: its cells are the methods of what `open` returns."""

    @classmethod
    def open(cls, control_ids, **options):
        """The run's recording of the notebook's cells when it matches these arguments, else the area
        loaded and tested (TestedArea.open's options; papermill does not type-check them: it checks them)."""
        recorded = find_recording(control_ids, options)
        if recorded is not None:
            return RecordedArea(recorded, lambda: _shown(control_ids, options))
        return _shown(control_ids, options)


def _shown(control_ids, options: dict):
    from evidence_lib.showing import ShownArea

    return ShownArea.open(control_ids, **options)
