"""What notebooks show and keep: PII masking, the exception table, the notebooks themselves."""

import ast
import json

import nbformat
import pandas as pd
import papermill
import pytest

from evidence_lib.area import AreaError
from evidence_lib.controls import load_catalog
from evidence_lib.masking import PiiMask
from evidence_lib.notebook_outputs import is_checked
from evidence_lib.present import ControlArea
from evidence_lib.project import NOTEBOOKS_DIR
from evidence_lib.run import INVENTORY_NOTEBOOK
from tests.conftest import PERIOD, SAMPLE
from tests.corpus import count_rows, declaration

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_mask_replaces_names_and_emails_with_stable_pseudonyms():
    mask = PiiMask(b"k" * 32, readable={"svc-backup"})
    frame = pd.DataFrame({"account_id": ["ana@corp.example", "ana@corp.example", "svc-backup"],
                          "display_name": ["Ana Silva", "Ana Silva", None],
                          "email": ["ANA@corp.example", None, ""], "days": [1, 2, 3]})
    masked = mask.frame(frame)
    assert masked["account_id"].iloc[0] == masked["account_id"].iloc[1] == masked["email"].iloc[0]
    assert masked["account_id"].iloc[0].startswith("user-") and masked["account_id"].iloc[0].endswith("@corp.example")
    assert masked["account_id"].iloc[2] == "svc-backup"  # a technical account the mask was told to keep readable
    assert masked["display_name"].iloc[0].startswith("person-") and pd.isna(masked["display_name"].iloc[2])
    assert masked["days"].tolist() == [1, 2, 3] and frame["display_name"].iloc[0] == "Ana Silva"
    assert PiiMask(b"o" * 32).text("ana@corp.example") != masked["account_id"].iloc[0]


@pytest.fixture(scope="module")
def masked_access():
    return ControlArea.open(["CC6.1", "CC6.2"], period=PERIOD, evidence_dir=str(SAMPLE), mask_pii=True)


def test_masked_results_keep_their_keys_joinable_and_show_no_personal_data(masked_access):
    text = json.dumps(masked_access.results()["controls"], ensure_ascii=False) + masked_access.exception_rows().to_csv()
    names = masked_access.evidence.frame("hr_roster")["name"].dropna().tolist()
    assert len(names) == 180 and not [n for n in names if n in text]
    assert "@northwind.example" in text and "noah.garcia@northwind.example" not in text
    rows = masked_access.exception_rows()
    orphan_keys = set(rows.loc[rows["rule"] == "no_orphan_accounts", "record_key"])
    assert len(orphan_keys) == 5  # masking keeps distinct keys distinct


def test_parameters_are_checked_before_anything_runs():
    with pytest.raises(AreaError, match="period must be text"):
        ControlArea.open(["CC6.1"], period=2026, evidence_dir=str(SAMPLE))
    with pytest.raises(AreaError, match="unknown control"):
        ControlArea.open(["CC9.9"], period=PERIOD, evidence_dir=str(SAMPLE))


def test_every_control_has_its_notebook_and_the_notebook_declares_its_parameters():
    catalog = load_catalog()
    names = {p.name for p in NOTEBOOKS}
    assert INVENTORY_NOTEBOOK in names
    for control in catalog.controls:
        assert control.notebook in names
        declared = papermill.inspect_notebook(str(NOTEBOOKS_DIR / control.notebook))
        assert set(control.parameters) <= set(declared), control.control_id
        for name in control.parameters:
            assert ast.literal_eval(declared[name]["default"]) == catalog.defaults[name]
        source = "\n".join(c.source for c in nbformat.read(NOTEBOOKS_DIR / control.notebook, 4).cells)
        assert f'area.show_control("{control.control_id}")' in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_except_checked_cells(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    parameters = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1 and 'evidence_dir = "data/samples/2026-Q3"' in parameters[0].source
    checked = [c for c in code if is_checked(c)]
    assert checked and all(c.outputs and c.execution_count for c in checked)
    assert all(not c.outputs and c.execution_count is None for c in code if not is_checked(c))
    assert "papermill" not in notebook.metadata
    calls = [c for c in code if c not in parameters]
    assert all(len(c.source.splitlines()) <= 5 for c in calls), "notebook cells stay short calls into evidence_lib"


@pytest.fixture(scope="module")
def sample_validation():
    from evidence_lib import load_folder, parse_period
    from evidence_lib.validate import validate

    return validate(load_folder(SAMPLE), parse_period(PERIOD))


@pytest.mark.parametrize("name, threshold, points", [
    ("deprovision_lag", 1, 29),        # 31 leaver accounts, 2 still enabled (no disable time)
    ("training_lag", 30, 30),          # every new hire: trained, or days so far
    ("approval_lag", 2, None),
    ("days_since_login", 90, None),
    ("device_recovery", 14, 20),       # 21 leaver devices (expected_populations.csv), 1 wiped with no date
])
def test_each_chart_draws_its_rule_threshold_and_its_population(sample_validation, name, threshold, points):
    import matplotlib.pyplot as plt

    from evidence_lib.showing import CHARTS

    figure = CHARTS[name](sample_validation)
    axes = figure.axes[0]
    dashed = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and threshold in {*dashed[0].get_xdata(), *dashed[0].get_ydata()}
    if points is not None:
        assert sum(len(c.get_offsets()) for c in axes.collections) == points
    assert axes.get_title(loc="left") and axes.get_xlabel() and axes.get_ylabel()
    plt.close(figure)


def test_a_period_given_as_dates_reaches_the_notebook_as_text():
    quarter = ControlArea.open(["CC8.1"], period=PERIOD, evidence_dir=str(SAMPLE))
    dated = ControlArea.open(["CC8.1"], period="2026-07-01..2026-09-30", evidence_dir=str(SAMPLE))
    assert dated.tested.period.label == "2026-07-01..2026-09-30"
    assert dated.exception_rows().equals(quarter.exception_rows())


def test_plain_papermill_from_the_project_folder_runs_a_notebook_with_its_defaults(tmp_path):
    import subprocess
    import sys

    from evidence_lib.project import PROJECT_DIR

    executed = tmp_path / "inventory.ipynb"
    finished = subprocess.run([sys.executable, "-m", "papermill", "notebooks/00_inventory.ipynb", str(executed),
                               "-p", "period", PERIOD, "--no-progress-bar"], cwd=PROJECT_DIR, capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    checked = next(c for c in nbformat.read(executed, 4).cells if is_checked(c))
    files = declaration(SAMPLE)["files"]
    rows = sum(count_rows(SAMPLE / f["path"]) for f in files)
    assert checked.outputs[0]["text"].startswith(f"{len(files)} file(s), {rows} row(s) kept, 0 file(s) with problems")


def test_a_table_is_stored_as_one_compact_html_table_with_its_cells_escaped():
    from evidence_lib.showing import _table_html

    frame = pd.DataFrame({"account_id": ["<b>ann</b>", "bob & co"], "days": [1.5, None]})
    expected = ('<table class="dataframe evidence-table"><thead><tr style="text-align: left;"><th>account_id</th>'
                '<th>days</th></tr></thead><tbody><tr><td>&lt;b&gt;ann&lt;/b&gt;</td><td>1.5</td></tr>'
                '<tr><td>bob &amp; co</td><td></td></tr></tbody></table>')
    assert _table_html(frame).split("</style>", 1)[1] == expected


def test_what_a_cell_shows_is_published_as_one_mime_type():
    """HTML as text/html alone, a chart as image/png alone: no text/plain "<IPython.core.display.HTML object>"
    stored beside each in the executed notebook."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    from evidence_lib.present import Html

    InteractiveShell.instance()
    with capture_output() as captured:
        display(Html("<p>shown</p>"))
    assert [output.data for output in captured.outputs] == [{"text/html": "<p>shown</p>"}]


def test_a_chart_png_keeps_every_flat_colour_exact_and_carries_only_the_colours_it_uses(sample_validation):
    """Against matplotlib's own full-colour drawing of the same figure: the same size, the flat colours
    (background, text, bars) exactly, antialiased edge pixels within 16 of 255 a channel; a palette of only the
    colours used, and the PNG much smaller than the full-colour one."""
    import io

    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from evidence_lib.charts import STATUS_COLOURS, palette_png
    from evidence_lib.showing import CHARTS

    figure = CHARTS["vendor_review_age"](sample_validation)  # bars in the status colours
    full = io.BytesIO()
    figure.savefig(full, format="png", bbox_inches="tight")
    png = palette_png(figure)
    plt.close(figure)
    original = Image.open(io.BytesIO(full.getvalue())).convert("RGB")
    stored = Image.open(io.BytesIO(png))
    assert stored.mode == "P" and stored.size == original.size
    used = stored.getcolors()
    assert len(stored.getpalette()) // 3 == len(used) <= 256
    before, after = np.asarray(original, dtype=int), np.asarray(stored.convert("RGB"), dtype=int)
    assert np.abs(before - after).max() <= 16
    flat = [(255, 255, 255), (0, 0, 0), *(tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))
                                          for c in (STATUS_COLOURS["pass"], STATUS_COLOURS["error"]))]
    for colour in flat:  # background, text, and the bars: each is drawn, and every pixel of it is kept
        drawn = (before == colour).all(axis=2)
        assert drawn.sum() > 500 and (after[drawn] == colour).all(), colour
    assert len(png) < len(full.getvalue()) / 3
