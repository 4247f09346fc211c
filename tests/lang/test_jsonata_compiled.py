"""The JSONata compiler (flowrt.lang.jsonata_compiler) against jsonata-python's interpreter.

Every case of the official JSONata test suite (jsonata-js 2.2.2, vendored in
tests/lang/data/jsonata/suite.json, MIT licence, see make_suite.py there) runs through the compiled
path and through an unmodified ``jsonata.Jsonata`` on the same expression and input: both must give
the same value (types included: int vs float, null vs undefined, list vs object) or the same error
code. Whether either matches the suite's expected result is not asserted here (jsonata-python has
its own known deviations); the bar is that compiling changes nothing.
"""

from __future__ import annotations

import copy
import json
import math
import pathlib
import subprocess
import sys

import pytest
from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.parser import Parser
from jsonata.utils import Utils

from flowrt.lang.jsonata_compiler import CompiledJsonata
from flowrt.lang.jsregex import jsonata_regex_engine

SUITE = json.loads((pathlib.Path(__file__).parent / "data" / "jsonata" / "suite.json").read_text())
# Cases that bound time or depth test jsonata-js's guards (infinite recursion): flowrt sets none,
# and unbounded they recurse to Python's limit.
CASES = [case for case in SUITE["cases"] if "timelimit" not in case and "depth" not in case]

# The scenario bench/flows/f_jsonata.json evaluates: each must compile without interpreted parts.
SCENARIO_EXPRESSIONS = [
    "$sum(payload.values)",
    "$map(payload.values, function($v) { $v * 2 })",
    '$uppercase(payload.name) & " #" & $string($count(payload.values))',
    '{"name": payload.name, "total": total, "max": $max(payload.values), "tags": $join(payload.tags, ",")}',
    "payload.values[$ > 10]",
    "$round($average(payload.values), 2)",
    '$split(payload.name, " ")',
    '$lowercase($replace(payload.name, " ", "-"))',
    '{"sum": $sum(doubled), "n": $count(big), "first": $substring(label, 0, 4)}',
    "hops + 1",
]


def _case_id(case: dict) -> str:
    return f"{case['group']}/{case['file']}#{case['index']}"


def _canonical(value, depth=0):
    """A comparable form that keeps what == would blur: int/float/bool, null/undefined, lists."""
    if depth > 50:
        return ("deep",)
    if value is None:
        return ("undefined",)
    if value is Utils.NULL_VALUE:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, dict):
        return ("object", tuple((k, _canonical(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v, depth + 1) for v in value))
    if isinstance(value, Parser.Symbol) or isinstance(value, Jsonata.JFunctionCallable):
        return ("function",)
    return ("other", type(value).__name__)


def _outcome(make, case: dict, data):
    """('value', canonical result) or ('error', code) of evaluating ``case`` with ``make``."""
    try:
        jx = make(case["expr"])
    except JException as err:
        return ("error", err.error)
    except Exception as err:  # the tokenizer's IndexError on an unclosed comment
        return ("error", type(err).__name__)
    jx.set_validate_input(False)  # as flowrt: the input is JSON already
    jx.set_output_convert_nulls(False)  # tell null from undefined
    bindings = copy.deepcopy(case.get("bindings")) or None
    previous = getattr(Jsonata.CURRENT, "jsonata", None)
    Jsonata.CURRENT.jsonata = jx
    try:
        return ("value", _canonical(jx.evaluate(data, bindings)))
    except JException as err:
        return ("error", err.error)
    except RecursionError:
        return ("error", "RecursionError")
    except Exception as err:  # the interpreter's own failures must be the same too
        return ("error", type(err).__name__)
    finally:
        Jsonata.CURRENT.jsonata = previous


def _interpreter(expression: str) -> Jsonata:
    return Jsonata(expression + "\n", jsonata_regex_engine)  # "\n": as flowrt compiles


def _compiled(expression: str) -> CompiledJsonata:
    return CompiledJsonata(expression + "\n", jsonata_regex_engine)


def _data(case: dict):
    if "data" in case:
        return case["data"]
    dataset = case.get("dataset")
    return None if dataset is None else SUITE["datasets"][dataset]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_suite_case_same_as_interpreter(case):
    data = _data(case)
    expected = _outcome(_interpreter, case, copy.deepcopy(data))
    actual = _outcome(_compiled, case, copy.deepcopy(data))
    assert actual == expected, f"{case['expr']!r}: compiled {actual}, interpreter {expected}"


# The compiler's own shortcuts (names paths, integer arithmetic, comparisons, argument checks,
# $map/$filter), at the edges where they hand over to the interpreter's code.
EDGE_DATA = {
    "a": {"b": {"c": 1, "n": None, "l": [1, [2, 3]], "o": {"x": [{"y": 1}, {"y": 2}]}}},
    "big": 2**53 - 1,
    "huge": 2**60,
    "f": 1.5,
    "s": "abc",
    "xs": [1, 2.5, "x", None, True, [3, 4], {"k": 5}],
    "ns": [3, 1, 2],
    "e": [],
    "t": True,
}
EDGE_EXPRESSIONS = [
    "a.b.c", "a.b.n", "a.b.missing", "a.b.c.d", "a.b.l", "a.b.o.x.y", "a.b.l[1]", "s.x", "t.x",
    "xs.k", "e", "e.x", "$.a.b", "$$.a.b.c", "a.b.o.x[0].y", "[a.b.c]", "a.b.l[]", "a.b.c[]",
    '{"v": ns}.v', '{"v": a.b.o.x.y}.v', '{"v": a.b.o.x.y}.v[]', "($x := a.b.o.x.y; $x)",
    "($x := a.b.o.x.y; $x[0])", "($x := a.b.o.x.y; $x[])", "($x := [5]; $x)", "($x := ns[0]; $x[])",
    "big + 1", "big + big", "big * 2", "huge + 1", "huge - huge", "-big - 2", "big * big", "3 * 4",
    "1 + f", "f * 2", "s + 1", "1 + t", "nothing + 1", "7 - 10", "0 * -1",
    "big < huge", "1 < 1.5", "f >= 1.5", "s > 'abb'", "1 < 's'", "t < 1", "nothing < 1", "1 <= 1",
    "$sum(ns)", "$sum(xs)", "$sum(5)", "$sum(nothing)", "$sum([])", "$sum([1, 2.5])",
    "$max(ns)", "$count(xs)", "$join(['a', 'b'], '-')", "$join(['a', 1])", "$uppercase(1)",
    "s.$uppercase()", "$uppercase()", "ns.$string()", "$string()", "$substring(s, 1)",
    "$split(s, 'b')", "$replace(s, /b/, 'x')", "$round(f)", "$round(2.675, 2)", "$number('0x1F')",
    "$map(ns, function($v) { $v * 2 })", "$map(ns, function($v, $i) { $i })",
    "$map(ns, function($v, $i, $a) { $count($a) })", "$map([1], function($v) { [$v] })",
    "$map(ns, function($v) { $v > 1 ? $v : undefined })", "$map(e, function($v) { $v })",
    "$map(nothing, function($v) { $v })", "$map(ns, $string)", "$map(ns, λ($v)<n:s>{ $string($v) })",
    "$map(ns, λ($v)<s:s>{ $v })", "$filter(ns, function($v) { $v > 1 })", "$filter(xs, $boolean)",
    "$filter(ns, function($v, $i) { $i = 0 })", "$filter(5, function($v) { true })",
    "$map(ns, function($v) { $map([1, 2], function($w) { $v * $w }) })",
    "ns[$ > 1]", "ns[0]", "ns[-1]", "ns[[0, 2]]", "xs[$type($) = 'number']", "t and s", "nothing or 0",
]  # fmt: skip


@pytest.mark.parametrize("expression", EDGE_EXPRESSIONS)
def test_compiler_shortcuts_same_as_interpreter(expression):
    case = {"expr": expression}
    expected = _outcome(_interpreter, case, copy.deepcopy(EDGE_DATA))
    actual = _outcome(_compiled, case, copy.deepcopy(EDGE_DATA))
    assert actual == expected


def _coverage() -> tuple[int, int, int]:
    """(fully compiled, partly compiled, not compiled) suite cases that parse."""
    full = partly = none = 0
    for case in CASES:
        try:
            jx = _compiled(case["expr"])
        except Exception:  # does not parse
            continue
        if jx.compiled_root is None or jx.compiled_nodes == 0:
            none += 1
        elif jx.interpreted_nodes:
            partly += 1
        else:
            full += 1
    return full, partly, none


def test_suite_coverage():
    full, partly, none = _coverage()
    print(f"JSONata suite: {full} cases fully compiled, {partly} partly, {none} interpreted")
    assert full >= 1500, (full, partly, none)  # 1,511 measured 2026-12-02: fewer means a regression


@pytest.mark.parametrize("expression", SCENARIO_EXPRESSIONS)
def test_scenario_expressions_fully_compiled(expression):
    jx = _compiled(expression)
    assert jx.compiled_root is not None
    assert jx.interpreted_nodes == 0


@pytest.mark.parametrize(
    ("expression", "result", "calls"),
    [
        ("$map([1, 2, 3], function($v, $i) { $v * 10 + $i })", [10, 21, 32], 3),  # flowrt's $map
        ("$reduce([1, 2, 3], function($a, $b) { $a + $b })", 6, 2),  # jsonata-python's $reduce
        ("$sort([3, 1, 2], function($a, $b) { $a > $b })", [1, 2, 3], None),
    ],
)
def test_lambda_from_compiled_code_runs_its_compiled_body(monkeypatch, expression, result, calls):
    """A lambda made by compiled code, called back by a built-in, runs its compiled body."""
    jx = _compiled(expression)
    assert jx.compiled_root is not None and jx.interpreted_nodes == 0
    seen = []
    original = CompiledJsonata.apply_compiled

    def spy(self, proc, body, args):
        seen.append(body is proc.flowrt_body)
        return original(self, proc, body, args)

    monkeypatch.setattr(CompiledJsonata, "apply_compiled", spy)
    monkeypatch.setattr(Jsonata.CURRENT, "jsonata", jx)
    assert jx.evaluate(None) == result
    assert seen and all(seen)
    if calls is not None:
        assert len(seen) == calls


def test_tail_recursion_through_the_trampoline():
    jx = _compiled("($f := function($n, $acc) { $n = 0 ? $acc : $f($n - 1, $acc + $n) }; $f(3000, 0))")
    assert jx.interpreted_nodes == 0
    Jsonata.CURRENT.jsonata = jx
    assert jx.evaluate(None) == 4501500


def test_jsonata_python_internals():
    """What the compiler relies on in jsonata-python: if this fails after an upgrade, the
    compiler must be checked against the new interpreter (jsonata_compiler.py's docstring)."""
    ast = Jsonata('a.b[0].c{"k": $x} ~> $f', jsonata_regex_engine).ast
    for attribute in (
        "type", "value", "position", "keep_array", "predicate", "group", "steps", "stages", "tuple",
        "focus", "index", "ancestor", "seeking_parent", "consarray", "keep_singleton_array", "lhs",
        "rhs", "lhs_object", "expressions", "condition", "then", "_else", "procedure", "arguments",
        "body", "thunk", "signature", "token", "_jsonata_lambda", "expression",
    ):  # fmt: skip
        assert hasattr(ast, attribute), attribute
    frame = Jsonata.Frame(None)
    assert isinstance(frame.bindings, dict) and frame.parent is None
    for method in (
        "eval", "apply", "apply_inner", "apply_procedure", "create_frame_from_tuple",
        "reduce_tuple_stream", "evaluate_wildcard", "evaluate_descendants",
        "evaluate_numeric_expression", "evaluate_equality_expression",
        "evaluate_comparison_expression", "evaluate_string_concat", "evaluate_range_expression",
        "evaluate_includes_expression", "is_function_like", "chain_ast",
    ):  # fmt: skip
        assert callable(getattr(Jsonata, method, None)), method
    jx = _compiled("1")
    assert (jx.timeout, jx.stack, jx.errors) == (None, None, None)
    assert {"input", "environment", "timestamp", "validate_input", "output_convert_nulls"} <= set(vars(jx))


def test_importing_typedinput_does_not_import_jsonata():
    """jsonata-python costs ~1.6 MB of RSS: a flow without JSONata must not load it."""
    code = "import sys, flowrt.lang.typedinput; print('jsonata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
