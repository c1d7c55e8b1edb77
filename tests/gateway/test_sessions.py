"""Session and subset ids carry what they stand for: any replica reads them back."""

from __future__ import annotations

import pytest

from pts.core.errors import ConfigError
from pts.gateway.sessions import (
    SubsetRef,
    TestSession,
    UnknownId,
    parse_session_id,
    parse_subset_id,
    session_id,
    subset_id,
)


@pytest.mark.parametrize(
    "session",
    [
        TestSession("b1"),
        TestSession("release-2.0.1+build.7", {"os": "linux", "py": "3.11"}),
        TestSession("nightly", observation=True),
    ],
)
def test_a_session_id_reads_back_as_its_session(session: TestSession) -> None:
    sid = session_id(session)
    assert parse_session_id(sid) == session
    assert "/" not in sid and "." not in sid  # a path segment, and part of a subset id


def test_flavors_are_keyed_as_pts_keys_them() -> None:
    assert TestSession("b", {"py": "3.11", "os": "linux"}).flavor == "os=linux,py=3.11"
    with pytest.raises(ConfigError):
        _ = TestSession("b", {"os": "two words"}).flavor


@pytest.mark.parametrize("text", ["7", "s", "s!!", "sW10", "x" + session_id(TestSession("b"))])
def test_an_id_the_gateway_did_not_issue_is_unknown(text: str) -> None:
    with pytest.raises(UnknownId):
        parse_session_id(text)


def test_a_subset_id_names_where_the_answer_lies() -> None:
    ref = SubsetRef(2, 1234, "go-test", session_id(TestSession("b1", {"os": "linux"})))
    assert parse_subset_id(subset_id(ref)) == ref
    assert parse_subset_id("subset/" + subset_id(ref)) == ref  # as split-subset passes it
    for bad in ("42", "1.2.pytest", "1.2.py test.s1", "a.2.pytest.s1"):
        with pytest.raises(UnknownId):
            parse_subset_id(bad)
