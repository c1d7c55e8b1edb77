"""What a query may touch, judged on ClickHouse's own parse of it (`EXPLAIN AST`), not on a
lexer: only the history's tables, no table function (file, url, numbers, remote, ...), no
function that reads outside the store. (`sql.check_read_only` refuses a SETTINGS clause: the
server client appends its own, so the parse cannot tell them apart.)

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
"""

from __future__ import annotations

import re

from pts.core.errors import QueryRejected

STATEMENTS = ("SelectWithUnionQuery", "SelectIntersectExceptQuery", "DescribeQuery", "Explain")
DATABASE = "pts"
# Functions that read or run something outside the store, wherever they appear.
OUTSIDE = {
    "file", "url", "s3", "s3Cluster", "hdfs", "remote", "remoteSecure", "cluster",
    "clusterAllReplicas", "executable", "input", "mysql", "postgresql", "jdbc", "odbc",
    "azureBlobStorage", "gcs", "mongodb", "redis", "sqlite", "urlCluster", "fileCluster",
    "dictionary", "merge", "view", "loop", "generateRandom",
}  # fmt: skip
_NODE = re.compile(r"^( *)(\w+)(?: (\S+))?")


def check_ast(ast: str) -> None:
    """Raise `QueryRejected` unless the parsed query only reads tables of database `pts`."""
    lines = [line for line in ast.splitlines() if line.strip()]
    if not lines:
        raise QueryRejected("query rejected: ClickHouse could not parse it")
    root = _NODE.match(lines[0])
    kind = root.group(2) if root else ""
    if kind not in STATEMENTS and not kind.startswith("Show"):
        raise QueryRejected(f"query rejected: a {kind} statement is not a read")
    for number, line in enumerate(lines):
        node = _NODE.match(line)
        if node is None:
            continue
        depth, kind, name = len(node.group(1)), node.group(2), node.group(3) or ""
        if kind == "Function" and name in OUTSIDE:
            raise QueryRejected(f"query rejected: {name}() reads outside the history store")
        if kind == "TableExpression" and number + 1 < len(lines):
            child = _NODE.match(lines[number + 1])
            if child and len(child.group(1)) > depth and child.group(2) == "Function":
                raise QueryRejected(
                    f"query rejected: it reads the table function {child.group(3)}(); only "
                    f"the tables of database {DATABASE} may be read"
                )
        if kind == "TableIdentifier" and "." in name and not name.startswith(f"{DATABASE}."):
            raise QueryRejected(
                f"query rejected: it reads {name}; only the tables of database {DATABASE} "
                "may be read"
            )
