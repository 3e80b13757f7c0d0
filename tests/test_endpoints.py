"""Endpoints (CC6.8): the MDM exports load in their vendors' shapes, versions compare by number, and on a
generated company the rules find exactly the device exceptions evidence_lib.synth_devices planted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from evidence_lib.controls import load_catalog
from evidence_lib.device_views import at_least, device_coverage_view, device_view, os_minimums, version_key
from evidence_lib.parameters import ParameterError, resolve_parameters
from evidence_lib.period import parse_period
from evidence_lib.project import EXPECTATIONS_DIR
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from tests.corpus import company_with_area

FIXTURES = Path(__file__).parent / "fixtures" / "devices"
PERIOD = parse_period("2026-Q3")
CITED = ("jamf_pro_computers_inventory_json", "intune_managed_devices_json", "kandji_devices_json")
GUESSED = ("jamf_pro_computer_search_csv", "intune_devices_csv")


def load(fmt: str, fixture: str):
    return load_file(FIXTURES / fixture, load_mapping(builtin_mappings()[fmt]))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def column(frame: pd.DataFrame, name: str) -> list:
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED + GUESSED)
def test_each_device_shape_cites_its_vendor_page_and_says_which_headers_are_guessed(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    text = path.read_text(encoding="utf-8")
    assert mapping.evidence_type == "devices" and text.startswith("# Source:") and "\nsource: {url:" in text
    assert "https://" in mapping.description
    assert ("GUESS" in text and "found: false" in text) == (name in GUESSED)


def test_jamf_pro_computers_inventory_as_the_api_documents_it():
    frame = load("jamf_pro_computers_inventory_json", "jamf_pro_computers_inventory.json").frame
    assert column(frame, "device_id") == ["1", "2"]
    assert column(frame, "serial_number") == ["5555555", "C02XYZ"]
    assert column(frame, "email") == ["madison.anderson@example.com", None]
    assert column(frame, "platform") == ["macos", "macos"]
    assert column(frame, "os_version") == ["14.6.1", "13.6.7"]
    assert column(frame, "disk_encrypted") == [True, None]  # UNKNOWN is not reported, never on or off
    assert column(frame, "status") == ["active", "retired"]
    assert column(frame, "last_check_in") == [utc("2026-09-30 14:02:11"), utc("2026-06-01 08:00")]
    assert column(frame, "firewall_enabled") == [None, None]  # not in the inventory record


def test_intune_managed_devices_as_graph_documents_them():
    frame = load("intune_managed_devices_json", "intune_managed_devices.json").frame
    assert column(frame, "device_id") == ["705c034c-034c-705c-4c03-5c704c035c70",
                                          "a1b2c3d4-0000-0000-0000-000000000002"]
    assert column(frame, "platform") == ["windows", "macos"]
    assert column(frame, "email") == ["email address value@example.com", None]  # a blank emailAddress is missing
    assert column(frame, "disk_encrypted") == [True, False]
    assert column(frame, "status") == ["active", "retired"]
    assert column(frame, "last_check_in") == [utc("2017-01-01 08:02:49.320597"), utc("2026-09-02 10:00")]


def test_kandji_list_devices_with_details_merged():
    frame = load("kandji_devices_json", "kandji_devices.json").frame
    assert column(frame, "device_id") == ["fc60decb-30cb-4db1-b3ec-2fa8ea1b83ed",
                                          "f27bcd08-f653-4930-83b0-51970e923b98"]
    assert column(frame, "platform") == ["macos", "ios"]
    assert column(frame, "email") == ["test.user@example.com", None]
    assert column(frame, "disk_encrypted") == [True, None]
    assert column(frame, "status") == ["active", "retired"]
    assert column(frame, "os_version") == ["13.4", "17.5.1"]


def test_jamf_search_and_intune_device_list_csv_exports():
    jamf = load("jamf_pro_computer_search_csv", "jamf_computer_search.csv").frame
    assert column(jamf, "email") == ["ana.ruiz@example.com", "ben@example.com"]
    assert column(jamf, "disk_encrypted") == [True, False]
    assert column(jamf, "screen_lock") == [True, None] and column(jamf, "firewall_enabled") == [True, False]
    assert column(jamf, "status") == ["active", "returned"]
    assert column(jamf, "status_changed_at") == [None, utc("2026-09-03 15:00")]
    intune = load("intune_devices_csv", "intune_devices.csv").frame
    assert column(intune, "platform") == ["windows", "windows"]
    assert column(intune, "status") == ["active", "wiped"]
    assert column(intune, "edr_last_seen") == [utc("2026-09-29 10:00"), None]


def test_generic_devices_csv(tmp_path):
    path = tmp_path / "devices.csv"
    path.write_text("device_id,employee_id,platform,os_version,encrypted,screen_lock,firewall,status,status_date\n"
                    "D1,E1,mac,14.6,yes,yes,yes,in use,\n", encoding="utf-8")
    frame = load_file(path, load_mapping(builtin_mappings()["generic_devices_csv"])).frame
    assert column(frame, "platform") == ["macos"] and column(frame, "status") == ["active"]
    assert column(frame, "employee_id") == ["E1"] and column(frame, "disk_encrypted") == [True]


def test_versions_compare_numerically_by_component_never_as_text():
    assert version_key("14.6.1 (23G93)") == (14, 6, 1) and version_key("Sonoma") is None and version_key(None) is None
    assert at_least((14, 10), (14, 6)) and not at_least((10, 0, 9200), (10, 0, 22631))
    assert "10.0.9200" > "10.0.22631"  # what a text comparison would wrongly pass
    assert at_least((14, 6), (14, 6, 0)) and at_least((14, 6, 0), (14, 6))
    with pytest.raises(ParameterError, match="min_os_macos"):
        os_minimums({"min_os_macos": "14.x"})


def _roster():
    return pd.DataFrame({
        "employee_id": ["E1", "E2", "E3"], "name": ["Ann", "Bo", "Cy"],
        "email": ["ann@example.com", "bo@example.com", "cy@example.com"],
        "worker_type": ["employee", "employee", "employee"], "status": ["active", "active", "terminated"],
        "hire_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01"]),
        "termination_date": pd.to_datetime([None, None, "2026-08-01"]), "department": ["IT", "IT", "IT"],
    })


def _devices(rows):
    names = ["device_id", "employee_id", "email", "platform", "os_version", "disk_encrypted", "screen_lock",
             "firewall_enabled", "edr_last_seen", "status", "status_changed_at"]
    frame = pd.DataFrame(rows, columns=names)
    for dated in ("edr_last_seen", "status_changed_at"):
        frame[dated] = pd.to_datetime(frame[dated], utc=True)
    frame["device_name"] = frame["serial_number"] = None
    frame["last_check_in"] = pd.to_datetime(pd.Series([None] * len(frame)), utc=True)
    return frame


def test_blank_settings_and_versions_fail_closed_and_leavers_count_days():
    devices = _devices([
        ("D1", None, "ANN@example.com", "macos", None, None, True, None, None, "active", None),
        ("D2", None, "cy@example.com", "windows", "10.0.22631", True, True, True, "2026-09-30", "wiped", None),
        ("D3", None, "cy@example.com", "linux", "6.1", True, True, True, "2026-09-30", "active", None),
    ])
    params = resolve_parameters({})
    view = device_view(devices, _roster(), period=PERIOD, as_of=utc("2026-10-01 06:00"), params=params)
    view = view.set_index("device_id")
    assert view.loc["D1", "disk_encryption"] == "not reported" and view.loc["D1", "firewall_state"] == "not reported"
    assert view.loc["D1", "os_check"] == "not reported" and pd.isna(view.loc["D1", "days_since_edr"])
    assert view.loc["D3", "os_check"] == "no minimum configured for the platform"
    assert view.loc["D2", "owner_left"] and pd.isna(view.loc["D2", "return_days_after_termination"])  # no date
    assert view.loc["D3", "return_days_after_termination"] == 61  # still in use: the days so far
    coverage = device_coverage_view(_roster(), devices, as_of=utc("2026-10-01 06:00")).set_index("employee_id")
    assert coverage["managed_devices"].to_dict() == {"E1": 1.0, "E2": 0.0}


def test_the_devices_suites_open_in_plain_gx_and_name_cc68():
    catalog = load_catalog()
    rules = {r.rule_id: r for r in catalog.control("CC6.8").rules}
    for name in ("devices.json", "device_coverage.json"):
        spec = json.loads((EXPECTATIONS_DIR / name).read_text(encoding="utf-8"))
        assert len(gx.ExpectationSuite(**spec).expectations) == len(spec["expectations"])
        for expectation in spec["expectations"]:
            meta = expectation["meta"]
            assert meta["controls"] == ["CC6.8"] and meta["rule"] == rules[meta["rule_id"]].text
    assert catalog.control("CC6.8").iso27001 and catalog.control("CC6.8").notebook == "60_endpoints.ipynb"


# -- the generated company ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from evidence_lib.synth_devices import add_to_folder, device_evidence

    folder = tmp_path_factory.mktemp("company")
    planted, validation = company_with_area(folder, PERIOD, device_evidence, add_to_folder, ("CC6.8",))
    return folder, planted, {r.rule.rule_id: r for c in validation.controls for r in c.rules}


def _found(results) -> set[tuple[str, str, str, str]]:
    found = set()
    for rule_id, result in results.items():
        key = "employee_id" if rule_id == "employee_has_managed_device" else "device_id"
        found |= {("CC6.8", rule_id, "", str(k)) for k in result.exceptions[key]}
    return found


def test_found_exceptions_equal_the_planted_ones_and_near_misses_are_clean(company):
    _, planted, results = company
    assert _found(results) == set(planted.expected)
    assert not _found(results) & set(planted.near_misses)
    assert {rule for _, rule, _, _ in planted.expected} == set(results)  # every rule has a planted exception


def test_populations_are_the_generators(company):
    _, planted, results = company
    assert {(c, rule, n) for c, rule, n, _ in planted.populations} == {
        ("CC6.8", rule_id, r.population) for rule_id, r in results.items()}


def test_the_folder_declares_the_exports_and_appends_the_expectations(company):
    folder, planted, _ = company
    with (folder / "expected_exceptions.csv").open(encoding="utf-8") as handle:
        rows = {tuple(row) for row in csv.reader(handle)}
    assert set(planted.expected) <= rows
    assert "jamf_pro_computer_search_csv" in (folder / "evidence.yaml").read_text(encoding="utf-8")


def test_the_exports_are_deterministic(company, tmp_path):
    import shutil

    from evidence_lib.synth_devices import INTUNE_FILE, JAMF_FILE, device_evidence

    folder, planted, _ = company
    copy = tmp_path / "again"
    shutil.copytree(folder, copy)
    again = device_evidence(copy, PERIOD)
    assert again.expected == planted.expected and again.near_misses == planted.near_misses
    for name in (JAMF_FILE, INTUNE_FILE):
        assert (copy / name).read_bytes() == (folder / name).read_bytes()
