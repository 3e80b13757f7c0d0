"""The README is kept true by running it: the formats it lists and the output it shows."""

import re

from evidence_lib.sources.mapping import builtin_mappings
from tests.conftest import ROOT, SAMPLE

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_lists_every_built_in_format_and_no_other():
    section = README[README.index("Built-in vendor formats"):README.index("### A mapping of your own")]
    listed = set(re.findall(r"`([a-z0-9_]+_(?:csv|json|xlsx))`", section))
    assert listed == set(builtin_mappings())


def test_the_check_example_shows_what_evidence_check_prints(run_cli):
    example = README[README.index("$ evidence check data/samples/2026-Q3"):]
    example = example[:example.index("```")]
    shown = [line for line in example.splitlines()[1:] if line.strip() and line.strip() != "..."]
    printed = run_cli("check", SAMPLE, "--period", "2026-Q3").output.splitlines()
    assert shown and all(line in printed for line in shown), [line for line in shown if line not in printed]
