"""Pure functions of the sinks: statement splitting, the read-only check, URL parsing."""

from __future__ import annotations

import pytest

from pts.core.errors import ConfigError, QueryRejected
from pts.sinks.server_store import ServerAddress, parse_clickhouse_url
from pts.sinks.sql import check_read_only, schema_statements, split_statements


def test_the_schema_splits_into_its_statements() -> None:
    statements = schema_statements()
    assert [s.split("(")[0].split("\n")[0].split()[-1] for s in statements] == [
        "pts", "pts.builds", "pts.commits", "pts.test_results", "pts.test_results",
        "pts.subset_responses", "pts.subset_responses", "pts.predictions", "pts.predictions",
        "pts.store_probe", "pts.test_results", "pts.subset_responses", "pts.subset_responses",
            "pts.champion_decisions",
    ]  # fmt: skip
    creates = [s for s in statements if s.startswith("CREATE ")]
    assert all("IF NOT EXISTS" in s for s in creates)
    upgrades = [s for s in statements if s.startswith("ALTER TABLE ")]
    assert len(creates) + len(upgrades) == len(statements)
    assert all("ADD COLUMN IF NOT EXISTS" in s for s in upgrades)
    assert not any(";" in s or "--" in s.split("\n")[0] for s in statements)


def test_splitting_respects_strings_identifiers_and_comments() -> None:
    sql = """
        SELECT 'a;b', "c;d", `e;f`, 'it''s;', 'back\\';slash';  -- one;
        /* two; */ SELECT 2 ;
        -- only a comment;
        ;
    """
    assert split_statements(sql) == [
        "SELECT 'a;b', \"c;d\", `e;f`, 'it''s;', 'back\\';slash'",
        "SELECT 2",
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select count() from pts.test_results final;",
        "WITH 1 AS x SELECT x",
        "  -- why\n  SHOW TABLES FROM pts",
        "DESCRIBE TABLE pts.builds",
        "DESC pts.builds",
        "EXPLAIN SELECT 1",
        "((SELECT 1) UNION ALL (SELECT 2))",
        "SELECT 'DROP TABLE x; INSERT'",
    ],
)
def test_read_only_statements_pass(sql: str) -> None:
    assert check_read_only(sql) == sql.split("\n")[-1].strip().rstrip(";")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("INSERT INTO t VALUES (1)", "'INSERT' is not read-only"),
        ("/* SELECT */ DROP TABLE t", "'DROP' is not read-only"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT 1 # ; DROP TABLE t", "2 statements"),  # `#` is not taken for a comment
        ("SELECT * FROM t INTO /* */ outfile 'x'", "INTO OUTFILE"),
        ("  ;  ", "empty"),
    ],
)
def test_anything_else_is_rejected_on_one_line(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejected, match=reason) as raised:
        check_read_only(sql)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELEC * FROM builds", "starts with 'SELEC' (did you mean SELECT?)"),
        ("(selct 1)", "starts with 'selct' (did you mean SELECT?)"),
        ("DESCRIBEE pts.builds", "starts with 'DESCRIBEE' (did you mean DESCRIBE?)"),
        ("hello world", "starts with 'hello'; a query starts with SELECT"),
    ],
)
def test_a_statement_no_sql_keyword_starts_is_a_syntax_error(sql: str, reason: str) -> None:
    with pytest.raises(QueryRejected) as raised:
        check_read_only(sql)
    said = str(raised.value)
    assert said.startswith("query rejected: syntax error: no SQL statement ") and reason in said
    assert "read-only" not in said


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://localhost", ServerAddress("localhost", 8123, "default", "", "default", False)),
        ("https://ch.example/", ServerAddress("ch.example", 8443, "default", "", "default", True)),
        (
            "http://ci:p%3Ass%40@10.0.0.5:18123/pts",
            ServerAddress("10.0.0.5", 18123, "ci", "p:ss@", "pts", False),
        ),
    ],
)
def test_clickhouse_urls_parse(url: str, address: ServerAddress) -> None:
    assert parse_clickhouse_url(url) == address


@pytest.mark.parametrize(
    "url", ["ch.example:8123", "tcp://ch.example:9000", "http://", "http://h:x/"]
)
def test_unreadable_clickhouse_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="clickhouse_url"):
        parse_clickhouse_url(url)
