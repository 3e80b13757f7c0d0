"""Every rule's population is the generator's: an independent oracle, not the code's earlier output.

The generator counts, from its own ground truth (the people, accounts, reviews, tickets and
deployments it made, the period and export time it chose, what each export can show), how many
records each rule applies to, and writes it as expected_populations.csv beside the expected
exceptions. Here validation, run in-process on both sample companies, must find those
populations exactly; a rule in the catalog without an expected population fails.
"""

import ast

import pandas as pd
import pytest
import yaml

from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.synth.populations import POPULATION_COLUMNS, POPULATION_FILE
from tests.conftest import ROOT, SAMPLE
from tests.corpus import check

SAMPLES = {"northwind": SAMPLE, "fabrikam": ROOT / "data" / "samples" / "fabrikam-2026-Q3"}
# (sample, rule) -> why the code's population is known to be wrong: a bug reported, marked xfail(strict=True)
KNOWN_WRONG: dict[tuple[str, str], str] = {}


def _catalog_rules() -> list[tuple[str, str]]:
    """(control, rule) for every rule controls.yaml declares, integrity rules included (control IPE)."""
    spec = yaml.safe_load((EXPECTATIONS_DIR / "controls.yaml").read_text(encoding="utf-8"))
    return ([("IPE", rule) for rule in spec["integrity"]["rules"]]
            + [(control, rule) for control, c in spec["controls"].items() for rule in c["rules"]])


RULES = _catalog_rules()


def _expected(sample: str) -> pd.DataFrame:
    return pd.read_csv(SAMPLES[sample] / POPULATION_FILE, keep_default_na=False, dtype={"population": "int64"})


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[tuple[str, str], int]]:
    """Each sample's (control, rule) -> population, validated once for the whole module."""
    found = {}
    for sample, folder in SAMPLES.items():
        _, validation = check(folder)
        found[sample] = {(r.rule.control_id, r.rule.rule_id): r.population for r in validation.rules}
    return found


def _cases():
    for sample in SAMPLES:
        for control, rule in RULES:
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[(sample, rule)])] \
                if (sample, rule) in KNOWN_WRONG else []
            yield pytest.param(sample, control, rule, marks=marks, id=f"{sample}-{rule}")


@pytest.mark.parametrize(("sample", "control", "rule"), list(_cases()))
def test_population_is_the_generators(measured, sample, control, rule):
    expected = _expected(sample).set_index(["control", "rule"])
    assert (control, rule) in expected.index, f"{rule}: the generator records no expected population for it"
    oracle = expected.loc[(control, rule)]
    assert measured[sample].get((control, rule)) == oracle["population"], f"{rule}: {oracle['basis']}"


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_catalog_rule_and_only_those_has_an_expected_population(sample):
    expected = _expected(sample)
    assert list(expected.columns) == POPULATION_COLUMNS
    assert sorted(zip(expected["control"], expected["rule"])) == sorted(RULES)
    # a rule is tested on records, or scoped out of the company's audit and says why
    scoped_out = expected["basis"].str.startswith("out of scope: ")
    assert (expected["population"] > 0).where(~scoped_out, expected["population"] == 0).all()
    assert (expected["basis"].str.len() > 0).all()


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_population_file_is_an_answer_key_not_evidence(sample):
    declared = yaml.safe_load((SAMPLES[sample] / "evidence.yaml").read_text(encoding="utf-8"))
    assert POPULATION_FILE in declared["ignore"]
    assert POPULATION_FILE not in {f["path"] for f in declared["files"]}


def test_the_oracle_never_asks_the_code_under_test():
    """The generator counts from its own records: it imports nothing from views, validation or sources."""
    judged = {"evidence_lib.views", "evidence_lib.validate", "evidence_lib.judge", "evidence_lib.identity",
              "evidence_lib.integrity", "evidence_lib.walk", "evidence_lib.scope", "evidence_lib.sources"}
    for path in (ROOT / "evidence_lib" / "synth").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        asked = {m for m in imported if any(m == j or m.startswith(j + ".") for j in judged)}
        assert not asked, (path.name, asked)


@pytest.mark.parametrize("sample", SAMPLES)
def test_planted_cases_fit_inside_their_rules_population(sample):
    """Two answer keys, one world: a rule's planted exceptions and near-misses are records it applies to."""
    population = _expected(sample).set_index("rule")["population"]
    for name in ("expected_exceptions.csv", "near_misses.csv"):
        cases = pd.read_csv(SAMPLES[sample] / name, keep_default_na=False, dtype=str)
        counts = cases.drop_duplicates().groupby("rule").size()
        assert (counts <= population.reindex(counts.index)).all(), (name, counts)
