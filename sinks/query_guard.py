"""What a query may touch, judged on ClickHouse's own parse of it (`EXPLAIN AST`), not on a
lexer: only the tables of database `pts` (as `pts.x`, or unqualified: every query runs with `pts`
as its current database), read by FROM, JOIN or `x IN <table>`; no table function (file, url,
numbers, remote, ...); no function that reads outside the store (dictionaries, joinGet, ...) or
tells about the server rather than the history (hostName, getSetting, currentUser, version,
...), whatever the case it is written in; and of the SHOW statements only `SHOW TABLES FROM pts`
and `SHOW CREATE TABLE pts.x` (`DESCRIBE pts.x` shows a table's columns). `SHOW TABLES` without
FROM is refused: its parse is the same as SHOW DATABASES'. (`sql.check_read_only` refuses a
SETTINGS clause: the server client appends its own, so the parse cannot tell them apart.)

>>> ast = '''SelectWithUnionQuery (children 1)
...  ExpressionList (children 1)
...   SelectQuery (children 2)
...    TablesInSelectQuery (children 1)
...     TablesInSelectQueryElement (children 1)
...      TableExpression (children 1)
...       Function file (children 1)'''
>>> check_ast(ast)
Traceback (most recent call last):
...
pts.core.errors.QueryRejected: query rejected: it reads the table function file(); ...
>>> check_ast('''SelectWithUnionQuery (children 1)
...  ExpressionList (children 1)
...   SelectQuery (children 1)
...    ExpressionList (children 1)
...     Function in (children 1)
...      ExpressionList (children 2)
...       Literal UInt64_0
...       Identifier system.one''')
Traceback (most recent call last):
...
pts.core.errors.QueryRejected: query rejected: it reads system.one (IN system.one); ...
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pts.core.errors import QueryRejected

STATEMENTS = ("SelectWithUnionQuery", "SelectIntersectExceptQuery", "DescribeQuery")
DATABASE = "pts"
# Functions that read or run something outside the store, wherever they appear.
OUTSIDE = {
    "file", "url", "s3", "s3Cluster", "hdfs", "remote", "remoteSecure", "cluster",
    "clusterAllReplicas", "executable", "input", "mysql", "postgresql", "jdbc", "odbc",
    "azureBlobStorage", "gcs", "mongodb", "redis", "sqlite", "urlCluster", "fileCluster",
    "dictionary", "merge", "view", "loop", "generateRandom",
    "joinGet", "joinGetOrNull", "hasColumnInTable", "getMaxTableNameLengthForDatabase",
    "catboostEvaluate", "modelEvaluate",
}  # fmt: skip
OUTSIDE_PREFIXES = ("dict", "region")
"""dictGet*, dictHas, dictIsIn, ...; regionToName, regionIn, ... (the server's dictionaries)."""
# Functions that tell about the server, its settings, users or this request, not the history;
# with their aliases (`SELECT name, alias_to FROM system.functions`).
REVEALING = {
    "getServerSetting", "getSetting", "getSettingOrDefault", "getMergeTreeSetting",
    "hostName", "hostname", "FQDN", "fullHostName", "tcpPort", "getServerPort",
    "currentUser", "user", "current_user", "session_user", "authenticatedUser", "authUser",
    "currentProfiles", "enabledProfiles", "defaultProfiles",
    "currentRoles", "enabledRoles", "defaultRoles",
    "serverUUID", "uptime", "getMacro", "shardNum", "shardCount", "displayName",
    "filesystemAvailable", "filesystemCapacity", "filesystemUnreserved",
    "getOSKernelVersion", "version", "revision", "buildId", "showCertificate",
    "queryID", "query_id", "initialQueryID", "initial_query_id", "currentQueryID",
    "current_query_id", "initialQueryStartTime", "initial_query_start_time",
    "connectionId", "connection_id", "getClientHTTPHeader", "currentRequestURL",
    "serverTimezone", "serverTimeZone", "zookeeperSessionUptime", "hasThreadFuzzer",
    "transactionID", "transactionLatestSnapshot", "transactionOldestSnapshot",
    "addressToLine", "addressToLineWithInlines", "addressToSymbol", "demangle",
}  # fmt: skip
IN_FUNCTIONS = {
    "in", "notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn", "globalNullIn",
    "globalNotNullIn",
}  # fmt: skip
"""`x IN <table>`: their second argument, when a name, is a table."""
_OUTSIDE = {name.lower() for name in OUTSIDE}
_REVEALING = {name.lower() for name in REVEALING}
_IN = {name.lower() for name in IN_FUNCTIONS}
_NODE = re.compile(r"^( *)(\w+)(?: (\S+))?")
_SHOWN = (
    f"SHOW TABLES FROM {DATABASE} and SHOW CREATE TABLE {DATABASE}.<table> run (DESCRIBE "
    f"{DATABASE}.<table> shows a table's columns)"
)


@dataclass
class Node:
    """One line of `EXPLAIN AST`: `Function hostName (children 1)` is kind `Function`, name
    `hostName`; its children are the lines under it, one space deeper."""

    kind: str
    name: str
    line: str
    children: list[Node] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def parse_ast(ast: str) -> Node | None:
    """The tree of an `EXPLAIN AST` text; None when it holds no node.

    >>> root = parse_ast("SelectWithUnionQuery (children 1)\\n ExpressionList\\n")
    >>> root.kind, [child.kind for child in root.children]
    ('SelectWithUnionQuery', ['ExpressionList'])
    """
    root: Node | None = None
    stack: list[tuple[int, Node]] = []
    for line in ast.splitlines():
        match = _NODE.match(line)
        if match is None:
            continue
        depth = len(match.group(1))
        node = Node(match.group(2), match.group(3) or "", line.strip())
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        elif root is None:
            root = node
        else:
            continue  # a second root: not something EXPLAIN AST writes
        stack.append((depth, node))
    return root


def check_ast(ast: str) -> None:
    """Raise `QueryRejected` unless the parsed query only reads tables of database `pts`."""
    root = parse_ast(ast)
    if root is None:
        raise QueryRejected("query rejected: ClickHouse could not parse it")
    _check_statement(root)
    for node in root.walk():
        _check_node(node)


def _check_statement(node: Node) -> None:
    if node.kind in STATEMENTS:
        return
    if node.kind == "Explain":
        for child in node.children:
            if child.kind not in ("Set", "Identifier"):  # EXPLAIN PIPELINE header = 1, FORMAT
                _check_statement(child)
        return
    if node.kind.startswith("Show") or node.kind == "SHOW":
        first = node.children[0] if node.children else None
        if node.kind == "ShowTables" and first and first.line == f"Identifier {DATABASE}":
            return  # SHOW TABLES FROM pts
        if node.kind == "ShowCreateTableQuery" and node.name == DATABASE:  # ... pts.builds
            return
        raise QueryRejected(
            f"query rejected: this SHOW statement may show more than the history; only {_SHOWN}"
        )
    raise QueryRejected(f"query rejected: a {node.kind} statement is not a read")


def _check_node(node: Node) -> None:
    if node.kind == "Function":
        name = node.name.lower()
        if name in _OUTSIDE or name.startswith(OUTSIDE_PREFIXES):
            raise QueryRejected(f"query rejected: {node.name}() reads outside the history store")
        if name in _REVEALING:
            raise QueryRejected(
                f"query rejected: {node.name}() tells about the server, not the history"
            )
        if name in _IN:
            _check_in(node)
    elif node.kind == "TableExpression":
        if node.children and node.children[0].kind == "Function":
            raise QueryRejected(
                f"query rejected: it reads the table function {node.children[0].name}(); only "
                f"the tables of database {DATABASE} may be read"
            )
    elif node.kind == "TableIdentifier" and not _in_history(node.name):
        raise QueryRejected(
            f"query rejected: it reads {node.name}; only the tables of database {DATABASE} "
            "may be read"
        )


def _check_in(node: Node) -> None:
    """`x IN db.table` reads the table: it must be one of the history's."""
    arguments = node.children[0].children if node.children else []
    if len(arguments) == 2 and arguments[1].kind == "Identifier":
        table = arguments[1].name
        if not _in_history(table):
            raise QueryRejected(
                f"query rejected: it reads {table} (IN {table}); only the tables of database "
                f"{DATABASE} may be read"
            )


def _in_history(name: str) -> bool:
    """Whether a table name is one of database `pts`: unqualified (pts is the current
    database), or `pts.x`; `pts.x.y` could be database `pts.x`, so it is not."""
    return "." not in name or (name.startswith(f"{DATABASE}.") and name.count(".") == 1)
