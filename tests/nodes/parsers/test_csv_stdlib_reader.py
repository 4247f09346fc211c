"""The csv node's stdlib paths (RFC 4180 mode: rows read by the C `csv` reader, object rows
written by the C `csv` writer) give exactly the messages the hand-written parser and writer
give, on thousands of random inputs: quotes (well placed and misplaced), separators inside
quotes, CR, LF and CRLF, blank lines, trailing separators, unicode, numbers, every option that
changes how cells are read. Each comparison runs the same input twice, once with the stdlib
path switched off (the function that decides it answering None), and counts how often the stdlib
path was taken, so the comparisons cannot pass vacuously."""

from __future__ import annotations

import random

import flowrt.nodes.parsers.csv  # noqa: F401  (registers the node type)
import pytest
from flowrt.nodes.parsers import csv as csvnode

from flowrt.testing import FlowTestHarness

PLAIN = ["a", "b1", "12", "-3.5", "007", "0", "1e3", " x ", "é", "\u2028", "\x85", "true", "Infinity"]
PLAIN += ["99999999999999999", "-0", "0.50", "+4", "日本", "a b", "1_000", ".5", "x\x0by"]
NOISE = ['"', '""', '"a"b', 'a"b', '"x"y', "\r", "\n", "\r\n", ",", ";", "\t", "|", " "]
SEPARATORS = [",", ";", "\t", " ", "|"]
LINE_ENDS = ["\n", "\r\n", "\r"]


def quoted(rng: random.Random, sep: str) -> str:
    inner = "".join(rng.choice(PLAIN + [sep, '"', "\n", "\r\n", ""]) for _ in range(rng.randrange(4)))
    return '"' + inner.replace('"', '""') + '"'


def well_formed(rng: random.Random, sep: str) -> str:
    """CSV whose quotes are all well placed (the stdlib path's domain), blank lines and all."""
    rows = []
    for _ in range(rng.randrange(1, 8)):
        width = rng.randrange(0, 6)
        cells = [
            rng.choice(["", quoted(rng, sep)] + PLAIN) if rng.random() < 0.8 else quoted(rng, sep)
            for _ in range(width)
        ]
        rows.append(sep.join(cells) + (sep if rng.random() < 0.15 else ""))
    text = "".join(row + rng.choice(LINE_ENDS) for row in rows)
    return text if rng.random() < 0.7 else text.rstrip("\r\n")


def anything(rng: random.Random, sep: str) -> str:
    """Random pieces, misplaced quotes included (mostly the hand-written path's)."""
    return "".join(rng.choice(PLAIN + NOISE + [sep, quoted(rng, sep)]) for _ in range(rng.randrange(12)))


def random_text(rng: random.Random, sep: str) -> str:
    return well_formed(rng, sep) if rng.random() < 0.7 else anything(rng, sep)


@pytest.fixture
def counted(monkeypatch):
    """Count how often the stdlib reader's rows were used."""
    used = {"fast": 0, "all": 0}
    real = csvnode._fast_rows

    def fast_rows(*args):
        rows = real(*args)
        used["all"] += 1
        used["fast"] += rows is not None
        return rows

    monkeypatch.setattr(csvnode, "_fast_rows", fast_rows)
    return used


def parse_both(monkeypatch, text: str, **options) -> tuple:
    def run():
        try:
            return ("ok", csvnode.rfc_parse(text, **options))
        except csvnode.CSVParseError as err:
            return ("error", str(err))

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(csvnode, "_fast_rows", lambda *args: None)
        slow = run()
    return fast, slow


@pytest.mark.parametrize("seed", range(6))
def test_rfc_parse_reads_the_same_rows(monkeypatch, counted, seed):
    rng = random.Random(seed)
    for _ in range(600):
        sep = rng.choice(SEPARATORS)
        text = random_text(rng, sep)
        options = {
            "separator": sep,
            "data_has_header_row": False,
            "headers": rng.choice([None, ["h1", "h2", "h3"], ["a", None, "c", "", "e", "a"]]),
            "parse_numeric": rng.random() < 0.6,
            "include_null": rng.random() < 0.3,
            "include_empty": rng.random() < 0.3,
            "cursor": rng.choice([0, 0, 0, min(2, len(text))]),
        }
        fast, slow = parse_both(monkeypatch, text, **options)
        assert repr(fast) == repr(slow), (text, options)  # repr: 1 and 1.0 differ
    assert counted["fast"] > counted["all"] // 3, counted  # the stdlib path was taken often


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ('a,"b,c"\r\n"d""e",f\n', True),
        ('"multi\r\nline",x\r"",\n\n', True),
        ('a"b,c', False),  # a quote inside an unquoted cell
        ('"a"b,c', False),  # data after a closing quote
        (' "a",b', False),  # a quote after a space
        ('"never closed', False),
        ("plain,cells\nonly\n", True),
        ("a\x00b,c", None),  # NUL: whatever this Python's reader does, both paths agree
    ],
)
def test_which_texts_the_reader_takes(monkeypatch, counted, text, fast):
    options = {"separator": ",", "data_has_header_row": False, "include_empty": False}
    got, expected = parse_both(monkeypatch, text, **options)
    assert repr(got) == repr(expected)
    if fast is not None:
        assert counted["fast"] == int(fast)


def test_a_cell_over_the_readers_field_limit(monkeypatch, counted):
    text = "x," + "y" * 200_000 + "\n"
    options = {"separator": ",", "data_has_header_row": False, "include_empty": False}
    got, expected = parse_both(monkeypatch, text, **options)
    assert got == expected and got[1]["data"][0]["col2"] == "y" * 200_000
    assert counted["fast"] == 0


def test_numbers_as_the_hand_written_path_reads_them():
    cells = PLAIN + [
        "1",
        "-1",
        "123456789012345",
        "1234567890123456",
        "00",
        "0x1F",
        " 7",
        "-",
        "1.",
        "Infinityx",
    ]
    for cell in cells:
        expected = csvnode._rows_to_objects([[cell]], ["v"], True, False, False)
        assert repr([{"v": csvnode._numeric_cell(cell)}]) == repr(expected), cell


# ----- through the node: the messages out ------------------------------------------------------
CONFIGS = [
    {"hdrin": True, "strings": True},
    {"hdrin": True, "strings": False, "include_null_values": True},
    {"hdrin": False, "strings": True, "temp": "a,,c"},
    {"hdrin": False, "strings": True, "include_empty_strings": True, "sep": ";"},
    {
        "hdrin": True,
        "strings": True,
        "sep": "\\t",
        "include_null_values": True,
        "include_empty_strings": True,
    },
]


async def node_outputs(config: dict, payloads: list[str]) -> list[dict]:
    flow = [
        {"id": "n1", "type": "csv", "spec": "rfc", "multi": "mult", "wires": [["n2"]], **config},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        for payload in payloads:
            h.node("n1").receive({"payload": payload, "_msgid": "m"})
        return await h.node("n2").inputs(len(payloads))


@pytest.mark.parametrize("config", CONFIGS)
async def test_the_node_sends_the_same_messages(monkeypatch, counted, config):
    rng = random.Random(repr(config))
    sep = csvnode._unescape(config.get("sep", ","))
    payloads = ["h1" + sep + "h2" + sep + "h3\n" + random_text(rng, sep) for _ in range(150)]
    fast = await node_outputs(config, payloads)
    with monkeypatch.context() as m:
        m.setattr(csvnode, "_fast_rows", lambda *args: None)
        slow = await node_outputs(config, payloads)
    assert repr(fast) == repr(slow)
    assert counted["fast"] > 0


# ----- writing: object rows through the C writer -------------------------------------------------
VALUES = ["", "x", "a,b", 'q"uote', "line\nend", "cr\rhere", "tab\tx", ";", " ", "é", 0, 7, -2.5, 1e21]
VALUES += [3.0, True, False, None, float("nan"), 2**60, "|", "\r\n", 0.1, 1e-7, 0.0001, 123456.789, -0.0]
VALUES += [1e15, 1e16, 0.30000000000000004, 2**53, -(2**53), 123456789012345, float("-inf"), {"o": 1}, [1, 2]]


def random_rows(rng: random.Random, columns: list[str]) -> list[dict]:
    return [
        {c: rng.choice(VALUES) for c in rng.sample(columns, rng.randrange(len(columns) + 1))}
        for _ in range(rng.randrange(1, 6))
    ]


async def stringify(config: dict, payloads: list) -> list[dict]:
    flow = [
        {"id": "n1", "type": "csv", "spec": "rfc", "wires": [["n2"]], **config},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        for payload in payloads:
            h.node("n1").receive({"payload": payload, "_msgid": "m"})
        return await h.node("n2").inputs(len(payloads))


WRITE_CONFIGS = [
    {"hdrout": "all"},
    {"hdrout": "none", "temp": "a,b,c"},
    {"hdrout": "once", "temp": "a,,c", "sep": ";"},
    {"hdrout": "all", "sep": "\\t", "ret": "\\n"},
    {"hdrout": "all", "temp": "c", "sep": "|"},
    {"hdrout": "all", "temp": "a", "sep": "::"},  # not one character: the hand-written writer
]


@pytest.mark.parametrize("config", WRITE_CONFIGS)
async def test_object_rows_are_written_the_same(monkeypatch, config):
    rng = random.Random(repr(config))
    payloads = [random_rows(rng, ["a", "b", "c"]) for _ in range(150)]
    payloads = [rows if rows[0] else [{"a": 1}] + rows for rows in payloads]  # keys for the header
    real = csvnode._object_lines
    used = []

    def object_lines(*args):
        lines = real(*args)
        used.append(lines is not None)
        return lines

    monkeypatch.setattr(csvnode, "_object_lines", object_lines)
    fast = await stringify(config, payloads)
    with monkeypatch.context() as m:
        m.setattr(csvnode, "_object_lines", lambda *args: None)
        slow = await stringify(config, payloads)
    assert repr(fast) == repr(slow)
    assert any(used) == (config.get("sep") != "::")


# ----- whole columns at once: tables with a non-empty cell under every header --------------------
COLUMN_KINDS = {
    "ints": ["0", "7", "-12", "123456789012345"],
    "numbers": ["0", "1.5", "-2.25", "3", "0.0", "10.000"],
    "words": ["item-1", "true", "false", "é", "x y"],
    "mixed": ["1", "a", "007", "-0", "-0.0", "1e3", "Infinity", "+4", " 7", "1٣", '"q,""x"""', '"a\nb"'],
    "tricky numbers": ["1", "2", "-0.0", "1234567890123456", "00"],
    "tricky words": ["Infinity", "abc", "NaN"],
}


def dense_table(rng: random.Random, sep: str) -> tuple[str, list]:
    kinds = [rng.choice(list(COLUMN_KINDS)) for _ in range(rng.randrange(1, 5))]
    lines = [sep.join(rng.choice(COLUMN_KINDS[k]) for k in kinds) for _ in range(rng.randrange(1, 30))]
    end = rng.choice(LINE_ENDS)
    return end.join(lines) + rng.choice([end, ""]), [f"h{i}" for i in range(len(kinds))]


@pytest.mark.parametrize("seed", range(4))
def test_tables_read_a_column_at_a_time(monkeypatch, seed):
    real = csvnode._dense_objects
    used = []

    def dense_objects(*args):
        objects = real(*args)
        used.append(objects is not None)
        return objects

    monkeypatch.setattr(csvnode, "_dense_objects", dense_objects)
    rng = random.Random(seed)
    for _ in range(300):
        sep = rng.choice([",", ";", "\t"])
        text, headers = dense_table(rng, sep)
        for parse_numeric in (True, False):
            options = {"separator": sep, "data_has_header_row": False, "parse_numeric": parse_numeric}
            options |= {"include_empty": False, "headers": rng.choice([headers, None])}
            fast, slow = parse_both(monkeypatch, text, **options)
            assert repr(fast) == repr(slow), (text, options)
    assert sum(used) > len(used) // 2


@pytest.mark.parametrize("seed", range(3))
async def test_number_columns_are_written_the_same(monkeypatch, seed):
    rng = random.Random(seed)
    numbers = [v for v in VALUES if type(v) in (int, float)]
    payloads = [
        [
            {"a": rng.choice(numbers), "b": rng.choice(numbers[:6]), "c": "x"}
            for _ in range(rng.randrange(1, 6))
        ]
        for _ in range(100)
    ]
    fast = await stringify({"hdrout": "all"}, payloads)
    with monkeypatch.context() as m:
        m.setattr(csvnode, "_object_lines", lambda *args: None)
        slow = await stringify({"hdrout": "all"}, payloads)
    assert repr(fast) == repr(slow)


@pytest.mark.parametrize("cell", ["1\u0663", "\u0663", "1.\u0663", "\u0661\u0662"])
def test_non_ascii_digits_are_not_numbers(cell):
    # +"1\u0663" is NaN in JavaScript: Node-RED keeps the text (Python's int() would read 13)
    assert csvnode._rows_to_objects([[cell]], ["v"], True, False, False) == [{"v": cell}]
    assert csvnode._numeric_cell(cell) == cell


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_non_ascii_digits_stay_text_in_both_modes(rfc):
    flow = [
        {"id": "n1", "type": "csv", "temp": "v,w", "wires": [["n2"]], **({"spec": "rfc"} if rfc else {})},
        {"id": "n2", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("n1").receive({"payload": "1\u0663,5\n"})
        (msg,) = await h.node("n2").inputs(1)
    assert msg["payload"] == {"v": "1\u0663", "w": 5}
