"""Runtime logging in Node-RED's style: `23 Nov 10:00:00 - [warn] [function:name] text`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

LEVELS = {"fatal": 10, "error": 20, "warn": 30, "info": 40, "debug": 50, "trace": 60}
#: Default of the `logMaxLength` setting: longest text of one written log line, in characters.
MAX_LENGTH = 10_000


def truncate(text: str, max_length: int | None) -> str:
    """`text` cut to `max_length` characters, saying how long it was (as debug's `...`)."""
    if not max_length or len(text) <= max_length:
        return text
    return f"{text[:max_length]}... [truncated: {len(text)} characters]"


@dataclass
class LogRecord:
    level: str
    text: str
    node_id: str | None = None
    node_type: str | None = None
    node_name: str | None = None
    timestamp: float = field(default_factory=time.time)

    def format(self, max_length: int | None = None) -> str:
        stamp = time.strftime("%d %b %H:%M:%S", time.localtime(self.timestamp))
        where = ""
        if self.node_type:
            where = f"[{self.node_type}:{self.node_name or self.node_id}] "
        return f"{stamp} - [{self.level}] {where}{truncate(self.text, max_length)}"


class Logger:
    """Writes records at or above `level` to a stream and to any listeners.

    Written lines are cut to `max_length` characters of text (0: never); listeners get the
    whole record."""

    def __init__(
        self, level: str = "info", stream: TextIO | None = None, max_length: int = MAX_LENGTH
    ) -> None:
        self.set_level(level)
        self.stream = stream
        self.max_length = max_length
        self.listeners: list[Callable[[LogRecord], Any]] = []

    def set_level(self, level: str) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
        self.level = level
        self._threshold = LEVELS[level]

    def enabled(self, level: str) -> bool:
        return LEVELS[level] <= self._threshold

    def emit(self, record: LogRecord) -> None:
        for listener in self.listeners:
            listener(record)
        if LEVELS[record.level] <= self._threshold:
            stream = self.stream or sys.stderr
            print(record.format(self.max_length), file=stream, flush=True)

    def log(self, level: str, text: str, node: Any = None) -> None:
        if node is None:
            self.emit(LogRecord(level, text))
        else:
            self.emit(LogRecord(level, text, node.id, node.type, getattr(node, "name", None)))

    def error(self, text: str) -> None:
        self.log("error", text)

    def warn(self, text: str) -> None:
        self.log("warn", text)

    def info(self, text: str) -> None:
        self.log("info", text)

    def debug(self, text: str) -> None:
        self.log("debug", text)
