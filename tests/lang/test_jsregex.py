"""flowrt.lang.jsregex: JavaScript regexes in switch, change and JSONata (the Node-recorded rows are in
tests/test_js_semantics_table.py; these check the wiring and the errors)."""

from __future__ import annotations

import inspect

import pytest
from jsonata import Jsonata
from jsonata.regex_engine import RegexFlags

from flowrt.lang.jsregex import JSRegexError, js_regex, jsonata_regex_engine
from flowrt.lang.typedinput import evaluate_jsonata, prepare_jsonata
from flowrt.testing import FlowTestHarness


def test_jsonata_python_still_offers_the_regex_engine_hook():
    # We rely on jsonata-python's public regex_engine parameter; fail loudly if it goes away.
    assert "regex_engine" in inspect.signature(Jsonata.__init__).parameters
    assert RegexFlags(case_insensitive=True).case_insensitive is True


def test_jsonata_regex_literals_are_javascript_regexes():
    msg = {"payload": "cost $12.50, tax $3.75"}
    # A variable-width look-behind: Python's re refuses it ("look-behind requires fixed-width pattern").
    assert evaluate_jsonata(prepare_jsonata(r"$match(payload, /(?<=\$\d+\.)\d+/).match"), msg) == ["50", "75"]
    assert (
        evaluate_jsonata(prepare_jsonata(r'$replace(payload, /\$(\d+)/, "EUR$1")'), msg)
        == "cost EUR12.50, tax EUR3.75"
    )
    assert evaluate_jsonata(prepare_jsonata(r"$contains(payload, /TAX/i)"), msg) is True
    # \d is ASCII-only in JavaScript; Python's \d matches Arabic-Indic digits.
    assert evaluate_jsonata(prepare_jsonata(r"$contains(payload, /\d/)"), {"payload": "\u0661"}) is False
    # $ is the end of input, not before a trailing newline.
    assert evaluate_jsonata(prepare_jsonata(r"$contains(payload, /end$/)"), {"payload": "end\n"}) is False


def test_jsonata_engine_passes_the_flags():
    pattern = jsonata_regex_engine("^b", RegexFlags(case_insensitive=True, multiline=True))
    assert pattern.search("a\nB") is not None
    assert jsonata_regex_engine("^b", RegexFlags()).search("a\nb") is None


@pytest.mark.parametrize("source", ["(", "[a", "a\\", "(?<1x>a)", "a**"])
def test_a_bad_pattern_is_a_clear_error(source):
    with pytest.raises(JSRegexError, match="Invalid regular expression"):
        js_regex(source)


async def test_switch_regex_rule_uses_javascript_syntax():
    flow = [
        {
            "id": "sw",
            "type": "switch",
            "property": "payload",
            "rules": [{"t": "regex", "v": r"(?<=\$\d+\.)(?<cents>\d\d)$", "case": False}, {"t": "else"}],
            "outputs": 2,
            "wires": [["out"], ["other"]],
        },
        {"id": "out", "type": "helper"},
        {"id": "other", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        for payload in ("$1234.50", "$1234.50\n", "1234.50"):
            h.node("sw").receive({"payload": payload})
        others = await h.node("other").inputs(2)
        matched = await h.node("out").inputs(1)
    assert [m["payload"] for m in matched] == ["$1234.50"]
    assert [m["payload"] for m in others] == ["$1234.50\n", "1234.50"]


async def test_change_regex_replace_uses_javascript_replacement_patterns():
    flow = [
        {
            "id": "ch",
            "type": "change",
            "rules": [
                {
                    "t": "change",
                    "p": "payload",
                    "pt": "msg",
                    "from": r"(?<first>\w+) (?<last>\w+)",
                    "fromt": "re",
                    "to": "$<last>, $<first>",
                    "tot": "str",
                }
            ],
            "wires": [["out"]],
        },
        {"id": "out", "type": "helper"},
    ]
    async with FlowTestHarness(flow) as h:
        h.node("ch").receive({"payload": "Ada Lovelace"})
        msg = await h.node("out").next_input()
    assert msg["payload"] == "Lovelace, Ada"
