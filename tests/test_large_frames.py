"""The fast path for large views (judge.py): population keys kept compact, scoped-out rows blanked
before GX, compound keys compared as codes — each must give what the plain computation gives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.judge import judge_view
from evidence_lib.views import account_view

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_large.py"


@pytest.fixture(scope="module")
def large():
    spec = importlib.util.spec_from_file_location("validate_large", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frames = module.company(4000, seed=3)
    view = account_view(frames["accounts"], frames["hr_roster"], frames["identity_aliases"],
                        frames["service_accounts"], frames["access_reviews"], period=module.PERIOD,
                        as_of=module.AS_OF)
    # Keys whose order differs between bytes, case and accents, and one account listed twice.
    odd = ["Zed", "zed", "éclair", "eclair", "ä", "a", "B", "\U0001f600", "a:1", "a:10"]
    view.loc[: len(odd) - 1, "account_id"] = odd
    view.loc[len(odd), ["system", "account_id"]] = view.loc[len(odd) + 1, ["system", "account_id"]].values
    view["account_name_folded"] = view["account_id"].str.strip().str.casefold()  # as account_view derives it
    return module, view


def test_population_keys_are_the_sorted_keys_of_the_population(large):
    module, view = large
    catalog = load_catalog()
    rules = [r for r in catalog.rules if r.view == "accounts"]
    results = judge_view("accounts", view, rules, catalog, catalog.defaults)
    human = view["enabled"] & ~view["builtin"] & ~view["is_service"]
    expected = tuple(sorted(zip(view.loc[human, "system"], view.loc[human, "account_id"])))
    keys = results["mfa_enabled"].population_keys
    assert len(keys) == results["mfa_enabled"].population == human.sum()
    assert keys == expected and tuple(keys) == expected and list(keys) == list(expected)
    assert keys[0] == expected[0] and keys[-1] == expected[-1] and keys[3:7] == expected[3:7]
    # the account listed twice (shown once), and each odd id whose case-folded twin is in the same system
    twins = view.loc[: 9].groupby(["system", "account_name_folded"])["account_id"].transform("size") > 1
    assert results["account_id_unique"].exception_count == 1 + view.loc[: 9][twins]["account_id"].nunique()
    hand = module.pandas_rules(view, catalog.defaults)
    assert {(s, a) for s, a in zip(results["account_id_unique"].exceptions["system"],
                                   results["account_id_unique"].exceptions["account_id"])} == \
        hand["account_id_unique"]


def test_rows_scoped_out_are_neither_counted_nor_judged(large):
    module, view = large
    catalog = load_catalog()
    rules = [r for r in catalog.rules if r.view == "accounts"]
    excluded = {rule_id: view["system"] == system for rule_id, system in module.SCOPED_OUT.items()}
    scoped = judge_view("accounts", view, rules, catalog, catalog.defaults, excluded)
    whole = judge_view("accounts", view, rules, catalog, catalog.defaults)
    hand = module.pandas_rules(view, catalog.defaults)
    for rule in rules:
        found = set(zip(scoped[rule.rule_id].exceptions["system"], scoped[rule.rule_id].exceptions["account_id"]))
        assert found == hand[rule.rule_id], rule.rule_id
        system = module.SCOPED_OUT.get(rule.rule_id)
        if system:
            kept = whole[rule.rule_id].exceptions  # judged on every row, then the system's rows removed
            assert found == {(s, a) for s, a in zip(kept["system"], kept["account_id"]) if s != system}
            assert all(s != system for s, _ in scoped[rule.rule_id].population_keys)
            assert scoped[rule.rule_id].walk[-1].count == scoped[rule.rule_id].population

