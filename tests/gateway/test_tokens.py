"""Tokens: Launchable's format, only a hash kept, refused when wrong, revoked or elsewhere."""

from __future__ import annotations

import pytest

from pts.core.errors import ConfigError
from pts.gateway.tokens import TokenBook, TokenRecord, new_token, parse_token


def test_a_new_token_is_launchables_format_and_only_its_hash_is_kept() -> None:
    token, record = new_token("pts", "shop")
    prefix, org_ws, secret = token.split(":", 2)  # as the CLI splits it
    assert (prefix, org_ws.split("/", 1)) == ("v1", ["pts", "shop"])
    assert secret.count(".") == 1 and len(secret) > 40
    kept = record.to_json()
    assert secret.encode() not in kept and secret.split(".")[1].encode() not in kept
    assert TokenRecord.from_json(kept) == record


def test_the_book_knows_the_project_of_a_good_token_only() -> None:
    token, record = new_token("pts", "shop")
    _, other = new_token("pts", "shop")
    book = TokenBook({record.token_id: record, other.token_id: other})
    assert book.project_of(parse_token(f"Bearer {token}")) == "shop"
    org_ws, _, secret = token.rpartition(":")
    token_id, _, random = secret.partition(".")
    for wrong in (
        f"v1:pts/shop:{token_id}.{random[:-1]}x",  # a wrong secret
        f"v1:pts/shop:{other.token_id}.{random}",  # another token's id
        f"v1:pts/cart:{secret}",  # another workspace
        f"v1:acme/shop:{secret}",  # another organization
    ):
        assert book.project_of(parse_token(f"Bearer {wrong}")) is None, wrong
    book.keep(record.revoke())
    assert book.project_of(parse_token(f"Bearer {token}")) is None


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic abc", "Bearer v1:pts:shop", "Bearer v1:pts/shop:nodot",
     "Bearer v1:pts/a/b:0123456789abcdef.x"],
)  # fmt: skip
def test_a_malformed_authorization_is_no_token(header: str | None) -> None:
    assert parse_token(header) is None


@pytest.mark.parametrize("project", ["", "a/b", "a:b", "two words", "-x", "x" * 129])
def test_a_project_that_cannot_be_a_workspace_gets_no_token(project: str) -> None:
    with pytest.raises(ConfigError, match="workspace"):
        new_token("pts", project)
