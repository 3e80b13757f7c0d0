"""Whatever bytes arrive, a loader returns a frame or our own error — never another exception — and
every data row it read is accounted for: kept, set aside (and listed) or left out by the mapping."""

import string

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence_lib.errors import EvidenceError
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping

MAPPINGS = {name: load_mapping(path) for name, path in builtin_mappings().items()}
CSV_MAPPINGS = sorted(n for n, m in MAPPINGS.items() if m.read.format == "csv")
JSON_MAPPINGS = sorted(n for n, m in MAPPINGS.items() if m.read.format == "json")

cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "N/A", "true", "2026-07-01", "ACTIVE", "1,2", '"']))


def _header(mapping):
    return sorted({s for rule in mapping.rules for s in rule.sources})


@st.composite
def csv_export(draw):
    """Mostly-plausible exports (the mapping's own header, random cells) and raw noise."""
    name = draw(st.sampled_from(CSV_MAPPINGS))
    if draw(st.booleans()):
        return name, draw(st.binary(max_size=400))
    header = _header(MAPPINGS[name])
    if draw(st.booleans()):
        header = draw(st.permutations(header + draw(st.lists(st.text(string.ascii_letters, max_size=6), max_size=2))))
    rows = draw(st.lists(st.lists(cell, min_size=len(header) - 1, max_size=len(header) + 1), max_size=6))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return name, "\n".join(lines).encode(encoding, errors="replace")


def assert_every_row_accounted_for(loaded) -> None:
    """rows read = kept + set aside + left out; each set-aside row listed once with its problem; no
    row both kept and set aside or left out."""
    provenance = loaded.provenance
    assert isinstance(loaded.frame, pd.DataFrame) and len(loaded.frame) == provenance.rows_kept
    filtered = [row for rows in provenance.filtered.values() for row in rows]
    assert provenance.rows_read == provenance.rows_kept + provenance.rows_rejected + len(filtered)
    assert len(loaded.rejected) == provenance.rows_rejected and loaded.rejected.index.is_unique
    if provenance.rows_rejected:
        assert loaded.rejected["problem"].str.len().gt(0).all()
    kept, aside = set(loaded.frame.index), set(loaded.rejected.index)
    assert not (kept & aside) and not (kept & set(filtered)) and not (aside & set(filtered))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(csv_export(), st.sampled_from(["fail", "quarantine"]))
def test_csv_loaders_return_a_frame_or_our_error(tmp_path, export, bad_rows):
    name, data = export
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    try:
        loaded = load_file(path, MAPPINGS[name], system="sys", bad_rows=bad_rows)
    except EvidenceError as error:
        assert str(error)
        return
    assert_every_row_accounted_for(loaded)


json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(JSON_MAPPINGS),
    st.one_of(st.binary(max_size=200), json_value.map(lambda v: __import__("json").dumps(v).encode())),
)
def test_json_loaders_return_a_frame_or_our_error(tmp_path, name, data):
    path = tmp_path / "export.json"
    path.write_bytes(data)
    try:
        loaded = load_file(path, MAPPINGS[name], system="sys", bad_rows="quarantine")
    except EvidenceError as error:
        assert str(error)
        return
    assert_every_row_accounted_for(loaded)
