"""One exception family. User-facing errors print as one line naming the file, field or topic."""

from __future__ import annotations


class PtsError(Exception):
    """Root of every error pts raises on purpose."""

    exit_code = 1


class ConfigError(PtsError):
    """A setting or a command-line argument is invalid."""

    exit_code = 2


class ReportError(PtsError):
    """A test report is malformed, not JUnit XML, or missing; nothing from it is published
    (the other reports of the same command are)."""

    exit_code = 2

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class GitError(PtsError):
    """git could not tell what a build changes."""

    exit_code = 2


class DecodeError(PtsError):
    """A message does not decode; carries the raw bytes for the dead-letter topic."""

    def __init__(self, reason: str, raw: bytes | None) -> None:
        self.reason, self.raw = reason, raw
        super().__init__(reason)


class BrokerUnavailable(PtsError):
    """The Kafka cluster did not answer within the bounded retry."""

    exit_code = 3


class SubsetTimeout(PtsError):
    """No subset answer arrived within the timeout."""

    exit_code = 3


class StoreError(PtsError):
    """The history store (ClickHouse) refused a statement."""


class QueryRejected(StoreError):
    """A query is not read-only."""

    exit_code = 2


class DatasetError(PtsError):
    """A CI history to evaluate on is missing or malformed."""

    exit_code = 2


class WorkerUnreachable(PtsError):
    """No worker answers on PTS_WORKER_HTTP_HOST:PTS_WORKER_HTTP_PORT (`pts status`)."""

    exit_code = 3
