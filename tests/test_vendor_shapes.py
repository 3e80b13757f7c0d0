"""Vendor export shapes written from each vendor's own documentation (tests/fixtures/vendors/).

Each fixture is a small export in the vendor's documented columns, order and formats, with some
realistic mess; each test states the canonical values row by row, written by hand from the
fixture, never taken from the loader's output.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evidence_lib.errors import LoadError
from evidence_lib.sources.load import load_file
from evidence_lib.sources.mapping import builtin_mappings, load_mapping
from evidence_lib.sources.schemas import SCHEMAS

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
CITED = ("github_pull_requests_rest_json", "github_pr_list_cli_json", "gitlab_merge_requests_json")


def load(fmt: str, fixture: str, **kwargs):
    return load_file(FIXTURES / fixture, load_mapping(builtin_mappings()[fmt]), **kwargs)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def column(frame: pd.DataFrame, name: str) -> list:
    """A column's values with every kind of missing as None, so lists compare plainly."""
    return [None if pd.isna(v) else v for v in frame[name].tolist()]


@pytest.mark.parametrize("name", CITED)
def test_each_shape_is_a_valid_mapping_citing_its_source(name):
    path = builtin_mappings()[name]
    mapping = load_mapping(path)
    assert mapping.name == name and mapping.description
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Source:") and "http" in mapping.description  # the citation, twice
    assert "\nsource: {url:" in text


# --- deployments ------------------------------------------------------------------------------


def test_github_rest_list_a_closed_unmerged_pull_is_no_deployment():
    with pytest.raises(LoadError) as error:
        load("github_pull_requests_rest_json", "github_pull_requests_rest.json")
    message = str(error.value)
    # Record 3 (#1350) was closed without merging: merged_at is null.
    assert "row 3:column 'merged_at': no value for required 'deployed_at'" in message
    assert "row 1:" not in message and "row 2:" not in message and "row 4:" not in message


def test_github_rest_list_merged_pulls_with_unmerged_set_aside():
    loaded = load("github_pull_requests_rest_json", "github_pull_requests_rest.json", bad_rows="quarantine")
    frame = loaded.frame
    assert frame.index.tolist() == [1, 2, 4]
    assert loaded.rejected.index.tolist() == [3]
    assert column(frame, "deploy_id") == ["acme/api#1347", "acme/api#1348", "acme/web#88"]
    assert column(frame, "deployed_at") == [utc("2026-07-02 16:29:58"), utc("2026-07-03 08:14:59"),
                                            utc("2026-07-07 09:00:00")]
    assert column(frame, "repository") == ["acme/api", "acme/api", "acme/web"]
    assert column(frame, "author") == ["octocat", "dependabot[bot]", "octocat"]
    assert column(frame, "ticket_ref") == ["ENG-101: rotate signing keys Implements ENG-101. eng-101-keys",
                                           "Bump lodash dependabot/npm/lodash-4.17.21",
                                           "Fix checkout totals Fixes ENG-204 and OPS-9 fix/totals"]
    assert column(frame, "environment") == ["production"] * 3
    # The list endpoint has no merged_by: recorded as absent, never guessed.
    assert column(frame, "deployed_by") == [None] * 3
    assert "deployed_by" in loaded.provenance.absent_columns


def test_gh_pr_list_json():
    loaded = load("github_pr_list_cli_json", "github_pr_list_cli.json")
    frame = loaded.frame
    assert frame.index.tolist() == [1, 2, 3, 4]
    assert column(frame, "deploy_id") == ["https://github.com/acme/api/pull/1347",
                                          "https://github.com/acme/api/pull/1348",
                                          "https://github.com/acme/api/pull/1351",
                                          "https://github.com/acme/web/pull/88"]
    assert column(frame, "deployed_at") == [utc("2026-07-02 16:29:58"), utc("2026-07-03 08:14:59"),
                                            utc("2026-07-05 23:59:59"), utc("2026-07-07 09:00:00")]
    assert column(frame, "author") == ["octocat", "app/dependabot", "kit", "octocat"]
    assert column(frame, "deployed_by") == ["kit", "octocat", None, "kit"]  # mergedBy null: no merger named
    assert column(frame, "ticket_ref") == ["ENG-101: rotate signing keys Implements ENG-101. eng-101-keys",
                                           "Bump lodash dependabot/npm/lodash-4.17.21",
                                           "OPS-9 DNS TTLs Merged by the merge queue ops-9-dns",
                                           "Fix checkout totals Fixes ENG-204 fix/totals"]
    assert column(frame, "repository") == [None] * 4  # gh pr list names no repository
    assert loaded.provenance.columns_used["deployed_by"] == "mergedBy.login"


def test_gitlab_merge_requests_json():
    loaded = load("gitlab_merge_requests_json", "gitlab_merge_requests.json")
    frame = loaded.frame
    assert column(frame, "deploy_id") == ["my-group/my-project!12", "my-group/my-project!13", "my-group/infra!4"]
    assert column(frame, "deployed_at") == [utc("2026-08-03 11:16:17.520"), utc("2026-08-04 05:00:00"),
                                            utc("2026-08-05 16:20:00")]
    assert column(frame, "author") == ["admin", "ana.diaz", "bo.li"]
    assert column(frame, "deployed_by") == ["DouweM", "ana.diaz", None]
    assert column(frame, "ticket_ref") == ["CHG-7: enable WAF rules Change ticket CHG-7 chg-7-waf",
                                           "Update README docs", "Pin base image See CHG-9 pin-image"]
    assert loaded.provenance.columns_used["deployed_by"] == "merge_user.username"  # the current field first
