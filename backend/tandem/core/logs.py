"""Logs: one JSON object per line for log collectors, or a readable line for a person at a
terminal (`TANDEM_LOG_FORMAT=auto|text|json`; auto picks text when stderr is a terminal).

What goes in a log line is chosen by the code that logs it: ids, routes, statuses, durations and
exception class names; never bodies, query strings, emails, tokens or anything a person wrote.
Both formats carry the same fields.
"""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

import orjson

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is emitted.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


# The fallback for what orjson refuses (an integer past 64 bits, a key that is not a string):
# one encoder, made once (json.dumps with options builds a new one for every line).
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def _encode(entry: dict[str, object]) -> str:
    # orjson: every request writes a line, and it is a fifth of the json module's cost here.
    try:
        return orjson.dumps(entry, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _ENCODER.encode(entry)


class _Stamps:
    """A record's time as `2026-11-30T19:13:05.123+00:00`: the date and time of day made once
    a second, the milliseconds appended (what isoformat(timespec="milliseconds") writes)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._prefix}.{int((created - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._stamp = _Stamps()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self._stamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        current = getattr(record, "request_id", None) or request_id.get()
        if current is not None:
            entry["request_id"] = current
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The class only: a message or traceback could quote a person's data.
            entry["exception"] = record.exc_info[0].__name__
        return _encode(entry)


class TextFormatter(logging.Formatter):
    """`09:41:07 INFO  GET /api/me 200 3.1 ms` for requests; `time LEVEL logger: message
    key=value` for the rest. Local time: the person reading it is next to the machine."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        fields = {k: v for k, v in fields.items() if not k.startswith("_")}
        at = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        head = f"{at} {record.levelname:<7}"
        if record.getMessage() == "request" and {"method", "route", "status"} <= fields.keys():
            line = (
                f"{head} {fields.pop('method')} {fields.pop('route')} {fields.pop('status')}"
                f" {fields.pop('duration_ms', '?')} ms"
            )
            fields.pop("request_id", None)
        else:
            line = f"{head} {record.name}: {record.getMessage()}"
        current = fields.pop("request_id", None) or request_id.get()
        if current is not None and record.getMessage() != "request":
            fields["request_id"] = current
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info and record.exc_info[0] is not None:
            line += f" exception={record.exc_info[0].__name__}"
        return line


FORMATS = ("auto", "text", "json")


def formatter_for(log_format: str, stream: TextIO) -> logging.Formatter:
    """JSON unless asked for text, or `auto` and a person is watching the terminal."""
    if log_format == "text" or (log_format == "auto" and _is_terminal(stream)):
        return TextFormatter()
    return JsonFormatter()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def configure(level: str = "INFO", log_format: str = "auto", stream: TextIO | None = None) -> None:
    # Neither format writes where a line was logged from, nor the thread or process: not
    # collecting them (the logging HOWTO's "Optimization") saves a walk of the stack and a few
    # lookups on every line, one of which every request writes.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(log_format, stream))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
