"""Numbers typed by users are ASCII digits: '²' or '٣' pass str.isdigit() but are refused as values, never a crash."""

from __future__ import annotations

import pytest
from returns.result import Failure

from g5kpure.errors import InvalidInput
from g5kpure.oar import parse_walltime
from g5kpure.reference import check_vlan_id


@pytest.mark.parametrize("text", ["²", "٣", "1²", "¹:30"])
def test_vlan_id_with_non_ascii_digits_is_refused(text: str) -> None:
    got = check_vlan_id(text)
    assert isinstance(got, Failure)
    assert isinstance(got.failure(), InvalidInput)
    assert got.failure().value == text


@pytest.mark.parametrize("text", ["²", "1:²", "٣:00:00"])
def test_planning_walltime_with_non_ascii_digits_is_refused(text: str) -> None:
    got = parse_walltime(text)
    assert isinstance(got, Failure)
    assert got.failure().name == "walltime"


def test_ascii_forms_still_accepted() -> None:
    assert check_vlan_id("4").unwrap() == "4"
    assert parse_walltime("1:30").unwrap() == 5400
