"""Flavor options: canonical whatever the order, and clear errors for what cannot be one."""

from __future__ import annotations

import pytest

from pts.core.errors import ConfigError
from pts.core.flavors import flavored, of_flavor, parse_flavors, unflavored


def test_the_order_of_the_options_does_not_matter() -> None:
    assert parse_flavors(["py=3.11", "os=linux"]) == parse_flavors(["os=linux", "py=3.11"])
    assert parse_flavors([]) == ""


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (["os"], "must be key=value"),
        (["os=linux mac"], "must be key=value"),
        (["os=a,b"], "must be key=value"),
        (["os=linux", "os=mac"], "given twice"),
    ],
)
def test_what_cannot_be_a_flavor_is_refused(options: list[str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_flavors(options)


def test_a_parameterized_id_keeps_its_brackets() -> None:
    test = "tests/test_a.py::test_x[a-b]"
    flavor = parse_flavors(["os=linux"])
    assert unflavored(flavored(test, flavor), flavor) == test
    assert of_flavor(test, "") and not of_flavor(flavored(test, flavor), "")
    assert of_flavor(flavored(test, flavor), flavor)
