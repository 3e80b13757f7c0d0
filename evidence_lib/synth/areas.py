"""The control areas added after the first company's exports, in the order the generator adds them."""

from __future__ import annotations

from pathlib import Path

from evidence_lib import synth_backups, synth_devices, synth_policies, synth_risk, synth_vendors
from evidence_lib.period import Period


def add_control_areas(folder: Path, period: Period, *, availability_in_scope: bool = True) -> None:
    """Write each later area's exports into a company's folder, from a seeded generator of its own read off the
    roster already there: the exports written before that area existed stay byte-identical. Without Availability
    in the audit scope, A1.2 and A1.3 are scoped out in evidence.yaml, decided and said, instead of exported."""
    synth_devices.add_to_folder(folder, synth_devices.device_evidence(folder, period))
    synth_vendors.add_to_folder(folder, synth_vendors.vendor_evidence(folder, period))
    synth_risk.add_to_folder(folder, synth_risk.risk_evidence(folder, period))
    synth_policies.add_to_folder(folder, synth_policies.policy_evidence(folder, period))
    synth_backups.add_to_folder(folder, synth_backups.backup_evidence(folder, period,
                                                                      availability_in_scope=availability_in_scope))
