"""Library log records collapse: a flood of one line costs that line and one summary."""

from __future__ import annotations

import io
import json
import logging
import time

import structlog

from pts.core.logs import SUPPRESSED_EVENT, CollapsingHandler, stdlib_logging_config


def json_handler(out: io.StringIO) -> CollapsingHandler:
    formatter = stdlib_logging_config(log_format="json")["formatters"]["json"]
    handler = CollapsingHandler(out, window_s=60)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=formatter["processors"], foreign_pre_chain=formatter["foreign_pre_chain"]
        )
    )
    return handler


def reconnect_error(port: int, logger: str = "aiokafka") -> logging.LogRecord:
    return logging.makeLogRecord(
        {"name": logger, "levelno": logging.ERROR, "levelname": "ERROR",
         "msg": "Unable connect to node with id 1: %s", "args": (f"refused {port}",)}
    )  # fmt: skip


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_repeats_become_one_line_and_a_count() -> None:
    out = io.StringIO()
    handler = json_handler(out)
    for port in range(500):
        handler.handle(reconnect_error(port))
    handler.handle(reconnect_error(1, logger="faust"))  # another logger: its own line
    assert [line["event"] for line in lines(out)] == [
        "Unable connect to node with id 1: refused 0",
        "Unable connect to node with id 1: refused 1",
    ]
    handler.sweep(time.monotonic() + 61)  # the window closes
    summary = lines(out)[-1]
    assert summary["event"] == SUPPRESSED_EVENT and summary["logger"] == "aiokafka"
    assert summary["suppressed"] == 499 and summary["level"] == "error"
    assert summary["similar_to"] == "Unable connect to node with id 1: %s"
    handler.handle(reconnect_error(7))  # a new window: the line is written again
    assert lines(out)[-1]["event"] == "Unable connect to node with id 1: refused 7"
    handler.close()
    assert len(lines(out)) == 4


def test_closing_reports_what_was_dropped() -> None:
    out = io.StringIO()
    handler = json_handler(out)
    for port in range(3):
        handler.handle(reconnect_error(port))
    handler.close()
    assert [line.get("suppressed") for line in lines(out)] == [None, 2]
