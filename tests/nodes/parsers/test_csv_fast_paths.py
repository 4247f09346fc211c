"""The csv node's fast paths (runs of ordinary characters, plain numbers, quoting) give exactly
what the character-by-character parse and js_number give."""

from __future__ import annotations

import pytest
from flowrt.nodes.parsers import csv

from flowrt.lang.jsvalues import is_nan, js_number

NUMBERS = ["12", "-5", "0", "-0", "007", "1.5", "3.0", "-2.50", "-0.0", "1e3", "0x10", " 7", "1_000"]
NUMBERS += ["12345678901234567890", ".5", "5.", "true", "false", "item-1", "Infinity", "Infinity ", "NaN"]


@pytest.mark.parametrize("text", NUMBERS)
def test_cells_read_as_javascripts_plus_text(text):
    expected = js_number(text)
    got = csv._js_plus_number(text)
    if is_nan(expected):
        assert got is None
    else:
        assert (type(got), repr(got)) == (type(expected), repr(expected))


@pytest.mark.parametrize(
    ("text", "sep", "quote", "rows"),
    [
        ('ab,"c""d",e\r\nxy', ",", '"', [["ab", 'c"d', "e"], ["xy"]]),
        ("a::b::c\n", "::", '"', [["a::b::c"]]),  # a longer separator never matches one character
        ("'x''y',z", ",", "''", [["'x''y'", "z"]]),
        ('"open, never closed', ",", '"', [["open, never closed"]]),
    ],
)
def test_runs_of_ordinary_characters(text, sep, quote, rows):
    assert csv._rfc_rows(text, 0, sep, quote, False, False)[0] == rows


def test_quoting_with_a_longer_separator():
    assert csv.quote_cell("a::b", '"', "::", ["::", '"', "\n", "\r"]) == '"a::b"'
    assert csv.quote_cell("a:b", '"', "::", ["::", '"', "\n", "\r"]) == "a:b"
