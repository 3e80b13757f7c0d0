"""Control parameters: typed and ranged in the catalog, refused with a message naming parameter, value and range."""

from datetime import date

import pytest
import yaml

from evidence_lib.controls import load_catalog
from evidence_lib.parameters import ParameterError, ParameterSpec, parse_parameter_args, resolve_parameters
from evidence_lib.project import EXPECTATIONS_DIR
from tests.conftest import PERIOD, SAMPLE

DECLARED = yaml.safe_load((EXPECTATIONS_DIR / "controls.yaml").read_text(encoding="utf-8"))["parameters"]


def test_defaults_are_the_catalog_values_and_every_parameter_has_a_type():
    assert resolve_parameters({}) == {name: entry["default"] for name, entry in DECLARED.items()}
    assert load_catalog().defaults == resolve_parameters({})
    spec = load_catalog().parameters["dormant_days"]
    assert (spec.type, spec.min, spec.max) == ("int", 1, 3650)
    assert {s.type for s in load_catalog().parameters.values()} == {"int", "str", "date"}


@pytest.mark.parametrize("text, named, allowed", [
    ("dormant_days=90.5", "dormant_days = '90.5' is not a whole number", "from 1 to 3650"),
    ("dormant_days=-1", "dormant_days = -1 is out of range", "from 1 to 3650"),
    ("dormant_days=0", "dormant_days = 0 is out of range", "from 1 to 3650"),
    ("dormant_days=3651", "dormant_days = 3651 is out of range", "from 1 to 3650"),
    ("dormant_days=abc", "dormant_days = 'abc' is not a whole number", "from 1 to 3650"),
    ("deprovision_sla_days=", "deprovision_sla_days = '' is not a whole number", "from 0 to 365"),
    ("earliest_plausible_date=2026-02-30", "earliest_plausible_date = '2026-02-30' is not a date", "YYYY-MM-DD"),
    ("earliest_plausible_date=01/02/1990", "earliest_plausible_date = '01/02/1990' is not a date", "YYYY-MM-DD"),
    ("sla=3", "unknown parameter(s) 'sla'", "known: deprovision_sla_days, dormant_days"),
    ("dormant_days", "--param 'dormant_days': write NAME=VALUE", "deprovision_sla_days=3"),
])
def test_a_bad_param_on_the_command_line_is_exit_2_naming_it_and_nothing_is_written(run_cli, tmp_path, text, named,
                                                                                     allowed):
    out = tmp_path / "out"
    finished = run_cli("run", "--period", PERIOD, "--evidence-dir", SAMPLE, "--out", out, "--param", text)
    assert finished.exit_code == 2
    assert named in finished.stderr and allowed in finished.stderr
    assert finished.stderr.startswith("error: ") and len(finished.stderr.strip().splitlines()) == 1
    assert not out.exists()
    checked = run_cli("check", SAMPLE, "--period", PERIOD, "--param", text)
    assert checked.exit_code == 2 and named in checked.stderr
    assert checked.stdout == ""  # refused before the evidence was loaded


def test_command_line_text_is_read_by_the_declared_type():
    assert parse_parameter_args(["dormant_days=+30", "training_course=123", "earliest_plausible_date=2000-01-31",
                                 "deprovision_sla_days= 2 "]) == {
        "dormant_days": 30, "training_course": "123", "earliest_plausible_date": "2000-01-31",
        "deprovision_sla_days": 2}
    assert parse_parameter_args(["training_course=a=b"]) == {"training_course": "a=b"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"training_course": 123}, "training_course = 123 is not text"),
        ({"dormant_days": True}, "dormant_days = True is not a whole number"),
        ({"dormant_days": 90.0}, "dormant_days = 90.0 is not a whole number"),
        ({"dormant_days": "90"}, "dormant_days = '90' is not a whole number"),
        (
            {"future_tolerance_hours": 721},
            "future_tolerance_hours = 721 is out of range: allowed a whole number from 0 to 720",
        ),
        ({"earliest_plausible_date": 19900101}, "earliest_plausible_date = 19900101 is not a date"),
        ({"nope": 1}, "unknown parameter(s) 'nope'"),
    ],
)
def test_python_values_are_strict_about_type_and_range(overrides, message):
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(overrides)
    assert message in str(caught.value)


def test_a_date_parameter_travels_as_iso_text():
    assert resolve_parameters({"earliest_plausible_date": date(2000, 1, 2)})["earliest_plausible_date"] == "2000-01-02"
    assert resolve_parameters({"earliest_plausible_date": "2000-01-02"})["earliest_plausible_date"] == "2000-01-02"


def test_the_bounds_themselves_are_allowed():
    assert resolve_parameters({"dormant_days": 1, "deprovision_sla_days": 0})["dormant_days"] == 1
    assert resolve_parameters({"dormant_days": 3650})["dormant_days"] == 3650


@pytest.mark.parametrize("entry, message", [
    ({"default": 500, "type": "int", "min": 0, "max": 365}, "x = 500 is out of range"),
    ({"default": 5, "type": "float"}, "needs a default and a type"),
    ({"type": "int"}, "needs a default and a type"),
    ({"default": "a", "type": "str", "min": 1}, "min and max apply to int parameters only"),
])
def test_a_catalog_entry_that_contradicts_itself_is_refused(entry, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        ParameterSpec.from_catalog("x", entry)


def test_a_yaml_date_default_becomes_iso_text():
    assert ParameterSpec.from_catalog("d", {"default": date(1990, 1, 1), "type": "date"}).default == "1990-01-01"
