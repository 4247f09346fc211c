"""Log lines: Node-RED's format, and no line longer than logMaxLength characters of text."""

from __future__ import annotations

import io

from flowrt.log import MAX_LENGTH, Logger, LogRecord
from flowrt.testing import FlowTestHarness


def test_a_long_text_is_cut_with_its_original_length():
    stream = io.StringIO()
    log = Logger("info", stream, max_length=1000)
    log.warn("x" * 10_000_000)
    line = stream.getvalue()
    assert len(line) < 1200
    assert line.rstrip("\n").endswith("x... [truncated: 10000000 characters]")


def test_listeners_get_the_whole_text_and_short_texts_are_unchanged():
    stream = io.StringIO()
    seen: list[LogRecord] = []
    log = Logger("info", stream, max_length=10)
    log.listeners.append(seen.append)
    log.info("0123456789")
    log.info("0123456789A")
    assert stream.getvalue().splitlines()[0].endswith("] 0123456789")
    assert seen[1].text == "0123456789A"
    unlimited = io.StringIO()
    Logger("info", unlimited, max_length=0).info("y" * 50_000)
    assert "y" * 50_000 in unlimited.getvalue()


async def test_a_huge_node_warn_writes_a_bounded_line(capsys):
    nodes = [{"id": "fn", "type": "python-function", "func": 'node.warn("w" * 10_000_000)', "wires": [[]]}]
    async with FlowTestHarness(nodes, http=False) as h:
        h.runtime.log.stream = None  # write to stderr as `flowrt run` does
        h.node("fn").receive({})
        record = await h.node("fn").next_log("warn")
    assert len(record.text) == 10_000_000
    written = capsys.readouterr().err
    assert "[truncated: 10000000 characters]" in written
    assert max(len(line) for line in written.splitlines()) < MAX_LENGTH + 200
