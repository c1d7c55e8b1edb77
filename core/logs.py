"""Log lines on stderr, apart from what commands print for people.

Three formats (`--log-format` or PTS_LOG_FORMAT): `json`, structlog JSON lines with the event
name first, then bound ids (project, build, request); `human`, one readable line per event;
`off`, none. By default (`auto`) the long-running services (`pts worker`, `pts loader`,
`pts gateway`) log JSON when stderr is not a terminal and human lines when it is; every other
command logs only warnings and errors, as human lines, beside the sentences it prints.

Other libraries' records (faust, aiokafka) go through `CollapsingHandler`, so a client that
retries a lost broker many times a second costs a few lines, not a flood.

structlog (and the rich it imports) is imported at the first line logged, not before: a
command that logs nothing starts without it (`bench/startup.py`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO

from pts.core.bounded import MAX_CHARS, bounded_value

if TYPE_CHECKING:
    import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _event_first(_logger: object, _method: str, event_dict: dict) -> dict:
    return {"event": event_dict.pop("event"), **event_dict}


# A traceback may be long and still worth reading whole; never megabytes.
MAX_EXCEPTION_CHARS = 16 * MAX_CHARS


def _bounded_fields(_logger: object, _method: str, event_dict: dict) -> dict:
    """Every field bounded (`pts.core.bounded`): a field that carries outside data (a reason,
    a key, a library's message) never makes a line of megabytes."""
    for name, value in event_dict.items():
        if not isinstance(value, (int, float, bool)) and value is not None:
            limit = MAX_EXCEPTION_CHARS if name == "exception" else MAX_CHARS
            event_dict[name] = bounded_value(value, limit)
    return event_dict


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    # sys.stderr as it is now, not as it was at configuration (tests and tools swap it).
    import structlog

    return structlog.PrintLogger(sys.stderr)


LogFormat = Literal["json", "human", "off"]
LOG_FORMATS = ("auto", "json", "human", "off")
SERVICES = frozenset({"worker", "loader", "gateway"})
"""The commands that run until stopped, and log as services do."""
_format: LogFormat = "json"  # what `configure` chose, for `stdlib_logging_config`
_pending: tuple[str, LogFormat] | None = None  # `configure`'s choice, not yet given structlog
_threshold: int | None = None  # the lowest level `configure` lets through, once called


@dataclass(frozen=True)
class LogChoice:
    """Where log lines go: their format and the lowest level written."""

    format: LogFormat
    level: str


def choose(asked: str, level: str, command: str | None, stderr_is_terminal: bool) -> LogChoice:
    """The format and level of `command`'s log lines, `asked` being `--log-format` (or
    PTS_LOG_FORMAT) and `level` PTS_LOG_LEVEL.

    >>> choose("auto", "info", "worker", stderr_is_terminal=False)
    LogChoice(format='json', level='info')
    >>> choose("auto", "info", "worker", stderr_is_terminal=True)
    LogChoice(format='human', level='info')
    >>> choose("auto", "info", "record", stderr_is_terminal=False)
    LogChoice(format='human', level='warning')
    >>> choose("json", "info", "topics", stderr_is_terminal=True)
    LogChoice(format='json', level='info')
    """
    if asked != "auto":
        return LogChoice(asked, level)  # type: ignore[arg-type]
    if command in SERVICES:
        return LogChoice("human" if stderr_is_terminal else "json", level)
    quieter = max(_LEVELS.get(level, logging.INFO), logging.WARNING)
    return LogChoice("human", logging.getLevelName(quieter).lower())


def _human_line(_logger: object, method: str, event_dict: dict) -> str:
    """`pts: warning: broker unreachable (bootstrap=127.0.0.1:9092)`: the event name read as
    words, then its fields."""
    event_dict.pop("timestamp", None)
    level = event_dict.pop("level", method)
    event = str(event_dict.pop("event", "")).replace("_", " ")
    trace = event_dict.pop("exception", None)
    fields = ", ".join(f"{name}={value}" for name, value in event_dict.items())
    line = f"pts: {level}: {event}" + (f" ({fields})" if fields else "")
    return f"{line}\n{trace}" if trace else line


def _renderer(fmt: LogFormat) -> structlog.typing.Processor:
    if fmt == "human":
        return _human_line
    import structlog

    return structlog.processors.JSONRenderer(sort_keys=False)


def configure(level: str = "info", fmt: LogFormat = "json") -> None:
    """Log lines on stderr in `fmt`, from `level` up (`off`: none). structlog is configured
    at the first line that passes, or now if it is imported already."""
    global _format, _pending, _threshold
    _format = fmt
    _threshold = logging.CRITICAL + 1 if fmt == "off" else _LEVELS.get(level, logging.INFO)
    _pending = (level, fmt)
    if "structlog" in sys.modules:
        _configure_pending()


def _configure_pending() -> None:
    global _pending
    if _pending is None:
        return
    (level, fmt), _pending = _pending, None
    import structlog

    threshold = logging.CRITICAL if fmt == "off" else _LEVELS.get(level, logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _bounded_fields,
            _event_first,
            _renderer(fmt),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        # `off`: what passes the filter (critical) is rendered, and returned, not written.
        logger_factory=structlog.ReturnLoggerFactory() if fmt == "off" else _stderr_logger,
        cache_logger_on_first_use=False,
    )


def configure_into_stdlib(level: str = "debug") -> None:
    """structlog's lines as records of the standard `logging` loggers of the same names
    (`pts.core.kafka`, ...), rendered as human lines: for a host that owns the terminal and
    handles those records itself (pytest's logging plugin shows them in its own sections).
    A NullHandler on `pts` keeps Python's last-resort handler from printing them raw."""
    global _pending, _threshold
    import structlog

    _pending, _threshold = None, None
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            _bounded_fields,
            _event_first,
            _human_line,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.DEBUG)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    pts_logger = logging.getLogger("pts")
    if not any(isinstance(h, logging.NullHandler) for h in pts_logger.handlers):
        pts_logger.addHandler(logging.NullHandler())


SUPPRESSED_EVENT = "log_lines_suppressed"
_MAX_WINDOWS = 1000  # distinct lines tracked at once; more and the quiet ones are let go early


@dataclass
class _Window:
    opened: float
    suppressed: int = 0


class CollapsingHandler(logging.StreamHandler):
    """Writes a record, then drops the records of the same logger, level and message template
    for `window_s` seconds; when the window closes it writes one `log_lines_suppressed` line
    with how many it dropped. A flood of reconnect errors costs two lines a window per kind.

    >>> import io
    >>> out = io.StringIO()
    >>> handler = CollapsingHandler(out, window_s=60)
    >>> for port in range(100):
    ...     _ = handler.handle(logging.makeLogRecord(
    ...         {"name": "aiokafka", "msg": "Unable to connect to %s", "args": (port,)}))
    >>> handler.close()
    >>> print(out.getvalue().strip())
    Unable to connect to 0
    log_lines_suppressed
    >>> handler.pending
    {}
    """

    def __init__(self, stream: TextIO | None = None, window_s: float = 60.0) -> None:
        super().__init__(stream)
        self.window_s = window_s
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._windows_lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def pending(self) -> dict[tuple[str, int, str], int]:
        """Lines dropped so far in the open windows, by (logger, level, template)."""
        with self._windows_lock:
            return {key: w.suppressed for key, w in self._windows.items() if w.suppressed}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._windows_lock:
            window = self._windows.get(key)
            if window is not None and now - window.opened < self.window_s:
                window.suppressed += 1
                self._start_sweeper()
                return
            summaries = self._close_windows(now, also=key)
            self._windows[key] = _Window(now)
        for summary in summaries:
            super().emit(summary)
        super().emit(record)

    def sweep(self, now: float | None = None) -> None:
        """Write the summaries of the windows that have closed by `now` (all, when None)."""
        with self._windows_lock:
            summaries = self._close_windows(
                time.monotonic() if now is None else now, every=now is None
            )
        for summary in summaries:
            super().emit(summary)

    def close(self) -> None:
        self._closed.set()
        self.sweep()
        super().close()

    def _close_windows(
        self, now: float, also: tuple[str, int, str] | None = None, every: bool = False
    ) -> list[logging.LogRecord]:
        crowded = len(self._windows) >= _MAX_WINDOWS
        summaries = []
        for key, window in list(self._windows.items()):
            if every or key == also or crowded or now - window.opened >= self.window_s:
                del self._windows[key]
                if window.suppressed:
                    summaries.append(_summary(key, window.suppressed, now - window.opened))
        return summaries

    def _start_sweeper(self) -> None:
        # A thread, so that the last window of a flood that has stopped is still reported.
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_until_closed, daemon=True,
                                             name="pts-log-sweeper")  # fmt: skip
            self._sweeper.start()

    def _sweep_until_closed(self) -> None:
        while not self._closed.wait(min(self.window_s, 5.0)):
            self.sweep(time.monotonic())


def _summary(key: tuple[str, int, str], suppressed: int, over_s: float) -> logging.LogRecord:
    name, level, template = key
    record = logging.makeLogRecord(
        {"name": name, "levelno": level, "levelname": logging.getLevelName(level),
         "msg": SUPPRESSED_EVENT}
    )  # fmt: skip
    record.pts_fields = {"similar_to": template, "suppressed": suppressed,
                         "over_s": round(over_s, 1)}  # fmt: skip
    return record


def _record_fields(_logger: object, _method: str, event_dict: dict) -> dict:
    """Fields a pts handler attached to a library's record (a suppression summary's count)."""
    record = event_dict.get("_record")
    event_dict.update(getattr(record, "pts_fields", None) or {})
    return event_dict


def stdlib_logging_config(
    level: str = "warning", window_s: float = 60.0, log_format: str | None = None
) -> dict:
    """A logging.config dict that renders other libraries' log records (faust, aiokafka) as
    the same lines on stderr as `configure` chose (JSON, human, or none; `log_format` says
    which instead), repeats collapsed for `window_s` (`CollapsingHandler`)."""
    import structlog

    chosen = log_format or _format

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    _bounded_fields,
                    _event_first,
                    _renderer(chosen),
                ],
                "foreign_pre_chain": [
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info,
                    _record_fields,
                ],
            }
        },
        "handlers": {
            "stderr": {
                "()": CollapsingHandler,
                "formatter": "json",
                "stream": "ext://sys.stderr",
                "window_s": window_s,
            }
        },
        "root": {
            "handlers": [] if chosen == "off" else ["stderr"],
            "level": "CRITICAL" if chosen == "off" else level.upper(),
        },
    }


_METHOD_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _ignored(*_args: Any, **_kwargs: Any) -> None:
    return None


class _Logger:
    """structlog's logger of a name, made at the first line that passes `configure`'s level:
    until then, neither structlog nor its configuration is paid for."""

    __slots__ = ("_name", "_logger")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        level = _METHOD_LEVELS.get(method)
        if level is not None and _threshold is not None and level < _threshold:
            return _ignored
        if self._logger is None:
            _configure_pending()
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """The logger of `name` (a module's): structlog's, once a line is logged."""
    return _Logger(name)  # type: ignore[return-value]
