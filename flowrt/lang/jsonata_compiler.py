"""JSONata compiled to Python closures, on top of jsonata-python's parser and interpreter.

jsonata-python interprets its syntax tree: every node goes through ``Jsonata.eval`` (a per-thread
instance lookup, two environment lookups for the evaluate-entry/exit callbacks that walk the whole
scope chain, a chain of ``if expr.type == ...``), and every built-in call through the signature
validator. :class:`CompiledJsonata` parses with jsonata-python as before, then turns the tree into
one closure per node, once, each doing exactly what the interpreter's branch for that node does:
the same helper calls (``Functions.lookup``, ``evaluate_numeric_expression``, ...), the same
sequence handling (singleton sequences, flattening of path steps, ``keep_singleton``, ``cons``),
the same errors. A node the compiler does not cover (tuple streams and parent references, order-by,
partial application, transforms, ...) is handed to the interpreter whole (``Jsonata.eval`` on that
node, with the same input and environment), so any expression evaluates; the compiled and the
interpreted parts share the interpreter's values and ``Frame`` environments.

Lambdas defined in compiled code are the interpreter's lambda objects (a ``Parser.Symbol`` with
``_jsonata_lambda``) carrying their compiled body, so a built-in such as ``$map`` that applies
them through the interpreter runs the compiled body (:meth:`CompiledJsonata.apply_procedure`).

On top of the one-to-one closures, a few shortcuts for the common cases, each handing anything
else to the general code: a path of plain names on objects walks them directly (``_names_path``);
``+ - *`` of two ints and comparisons of two values of one type compute directly (the interpreter's
float arithmetic gives the same below 2**53); built-ins are called without ``apply``'s dispatch,
their arguments checked by value type with the signature's regular expression matched once per
distinct type string (``_validate``); ``$map`` and ``$filter`` call a compiled lambda directly.

What this relies on in jsonata-python (0.7.x) is checked by tests/lang/test_jsonata_compiled.py
(``test_jsonata_python_internals``): the node attributes the parser produces, ``Frame.bindings`` and
``Frame.parent``, and the interpreter methods overridden or called here. The official JSONata test
suite runs through both paths there and must give the same values and error codes.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any

from jsonata import functions as _functions
from jsonata import jexception as _jexception
from jsonata import parser as _parser
from jsonata import signature as _signature
from jsonata import timebox as _timebox
from jsonata import utils as _utils
from jsonata.jsonata import Jsonata

__all__ = ["CompiledJsonata", "compile_coverage"]

Node = Callable[[Any, Any], Any]  # (input, environment: Jsonata.Frame) -> value

_Utils = _utils.Utils
_Functions = _functions.Functions
JException = _jexception.JException
Symbol = _parser.Parser.Symbol
Frame = Jsonata.Frame
JList = _Utils.JList
NONE = _Utils.NONE
Signature = _signature.Signature
NULL_VALUE = _Utils.NULL_VALUE
create_sequence = _Utils.create_sequence
is_numeric = _Utils.is_numeric
is_array_of_numbers = _Utils.is_array_of_numbers
convert_number = _Utils.convert_number
to_boolean = _Functions.to_boolean
fn_lookup = _Functions.lookup
fn_append = _Functions.append
is_lambda = _Functions.is_lambda


def _boolize(value: Any) -> bool:
    if value is True or value is False:
        return value
    booled = to_boolean(value)
    return False if booled is None else booled


def _lookup(env: Any, name: str) -> Any:
    """``Frame.lookup`` without the recursion: the innermost binding of ``name``, else None."""
    while env is not None:
        bindings = env.bindings
        if name in bindings:
            return bindings[name]
        env = env.parent
    return None


# Values of these types have no .signature (a JLambda is how flowrt binds $flowContext & co).
_NO_SIGNATURE_TYPES = frozenset({str, int, float, bool, type(None), dict, list, Jsonata.JLambda})


def _bind(env: Any, name: str, value: Any) -> None:
    """``Frame.bind``: a function value (with a signature) learns the name it is bound to."""
    env.bindings[name] = value
    if type(value) not in _NO_SIGNATURE_TYPES and getattr(value, "signature", None) is not None:
        value.signature.set_function_name(name)


def _never_sequence(expr: Any) -> bool:
    """Whether the node's own evaluation can never give a JSONata sequence (which the node would
    then normalise): literals, operators (scalars, a RangeList, a constructed array), objects."""
    kind = expr.type
    if kind in ("string", "number", "value", "regex", "binary", "lambda"):
        return True
    return kind == "unary" and str(expr.value) in ("-", "[", "{")


def _is_sequence(value: Any) -> bool:
    return isinstance(value, JList) and value.sequence


class _Unsupported(Exception):
    """Raised while compiling a node the compiler leaves to the interpreter."""


class _Compiler:
    def __init__(self, jx: CompiledJsonata) -> None:
        self.jx = jx
        self.compiled = 0
        self.interpreted = 0

    # ------------------------------------------------------------ one node, as Jsonata._eval

    def node(self, expr: Any) -> Node:
        """The closure for ``expr``: its own evaluation, then its predicates, its group and the
        sequence normalisation, in ``Jsonata._eval``'s order."""
        try:
            core = self._core(expr)
        except _Unsupported:
            self.interpreted += 1
            return self._interpreted(expr)
        self.compiled += 1
        kind = getattr(expr, "type", None)
        filters = [self.filter(item.expr) for item in (expr.predicate or ())]
        group = (
            self.group(expr.group) if kind is not None and kind != "path" and expr.group is not None else None
        )
        keep_array = expr.keep_array
        if not filters and group is None and (_never_sequence(expr) or getattr(core, "normalised", False)):
            return core  # nothing to filter, group or normalise

        def evaluate(input: Any, env: Any) -> Any:
            result = core(input, env)
            for apply_filter in filters:
                result = apply_filter(result, env)
            if group is not None:
                result = group(result, env)
            if (
                result is not None
                and isinstance(result, JList)
                and result.sequence
                and not result.tuple_stream
            ):
                if keep_array:
                    result.keep_singleton = True
                if not result:
                    return None
                if len(result) == 1:
                    return result if result.keep_singleton else result[0]
            return result

        return evaluate

    def _interpreted(self, expr: Any) -> Node:
        jx = self.jx

        def interpreted(input: Any, env: Any) -> Any:
            return jx.eval(expr, input, env)

        return interpreted

    def _core(self, expr: Any) -> Node:
        compile_kind = _NODE_KINDS.get(getattr(expr, "type", None))
        if compile_kind is None:
            raise _Unsupported(getattr(expr, "type", None))
        return compile_kind(self, expr)

    # ------------------------------------------------------------ leaves

    def _string(self, expr: Any) -> Node:
        value = expr.value if expr.value is not None else NULL_VALUE
        return lambda input, env: value

    def _regex(self, expr: Any) -> Node:
        value = expr.value
        return lambda input, env: value

    def _name(self, expr: Any) -> Node:
        name = str(expr.value)
        return lambda input, env: fn_lookup(input, name)

    def _variable(self, expr: Any) -> Node:
        if expr.value == "":

            def context(input: Any, env: Any) -> Any:
                return input[0] if isinstance(input, JList) and input.outer_wrapper else input

            return context
        name = str(expr.value)
        keep_array = expr.keep_array
        if expr.predicate or expr.group is not None:  # the node filters/groups, then normalises
            return lambda input, env: _lookup(env, name)

        def variable(input: Any, env: Any) -> Any:
            while env is not None:  # _lookup, inline
                bindings = env.bindings
                if name in bindings:
                    result = bindings[name]
                    if isinstance(result, JList):
                        return _normalise(result, keep_array)
                    return result
                env = env.parent
            return None

        variable.normalised = True
        return variable

    def _wildcard(self, expr: Any) -> Node:
        jx = self.jx
        return lambda input, env: jx.evaluate_wildcard(expr, input)

    def _descendant(self, expr: Any) -> Node:
        jx = self.jx
        return lambda input, env: jx.evaluate_descendants(expr, input)

    # ------------------------------------------------------------ paths

    def _path(self, expr: Any) -> Node:
        steps = expr.steps
        if expr.tuple is not None or expr.seeking_parent is not None:
            raise _Unsupported("tuple path")
        for step in steps:
            if step.tuple is not None or step.type == "sort" or step.focus is not None:
                raise _Unsupported("tuple step")
            if step.index is not None or step.ancestor is not None:
                raise _Unsupported("tuple step")
            if any(stage.type != "filter" for stage in step.stages or ()):
                raise _Unsupported("index stage")
        first_is_variable = steps[0].type == "variable"
        first_cons = steps[0].consarray
        compiled = [
            (self.node(step), [self.filter(stage.expr) for stage in step.stages or ()]) for step in steps
        ]
        last = len(compiled) - 1
        keep_singleton_array = expr.keep_singleton_array
        group = self.group(expr.group) if expr.group is not None else None
        plain_names = (
            not keep_singleton_array
            and not expr.keep_array
            and group is None
            and not expr.predicate
            and all(_plain_name_step(step) for step in steps)
        )

        def path(input: Any, env: Any) -> Any:
            if isinstance(input, list) and not first_is_variable:
                sequence = input
            else:
                sequence = create_sequence(input)
            result = None
            for index, (step, stages) in enumerate(compiled):
                if index == 0 and first_cons:
                    result = step(sequence, env)
                else:
                    result = _evaluate_step(step, stages, sequence, env, index == last)
                if result is None or not result:
                    break
                sequence = result
            if keep_singleton_array:
                if not isinstance(result, JList):
                    result = JList(result)
                if result.cons and not result.sequence:
                    result = create_sequence(result)
                result.keep_singleton = True
            if group is not None:
                result = group(result, env)
            return result

        if plain_names:
            return _names_path([str(step.value) for step in steps], path)
        return path

    # ------------------------------------------------------------ predicates and groups

    def filter(self, predicate: Any) -> Callable[[Any, Any], Any]:
        """``Jsonata.evaluate_filter`` for one predicate expression."""
        jx = self.jx
        if predicate.type == "number":
            position = int(predicate.value)

            def index_filter(input: Any, env: Any) -> Any:
                results = create_sequence()
                if isinstance(input, JList) and input.tuple_stream:
                    results.tuple_stream = True
                if input is None:
                    input = create_sequence()
                elif not isinstance(input, list):
                    input = create_sequence(input)
                index = position
                if index < 0:
                    index = len(input) + index
                if 0 <= index < len(input):
                    item = input[index]
                    if item is None:
                        item = NULL_VALUE
                    if isinstance(item, list):
                        results = item
                    else:
                        results.append(item)
                return results

            return index_filter
        test = self.node(predicate)

        def predicate_filter(input: Any, env: Any) -> Any:
            results = create_sequence()
            if isinstance(input, JList) and input.tuple_stream:
                results.tuple_stream = True
            if input is None:
                input = create_sequence()
            elif not isinstance(input, list):
                input = create_sequence(input)
            tuples = isinstance(input, JList) and input.tuple_stream
            for index, item in enumerate(input):
                if tuples:
                    res = test(item["@"], jx.create_frame_from_tuple(env, item))
                else:
                    res = test(item, env)
                if is_numeric(res):
                    res = create_sequence(res)
                if is_array_of_numbers(res):
                    for number in res:
                        position = int(number)
                        if position < 0:
                            position = len(input) + position
                        if position == index:
                            results.append(item)
                elif _boolize(res):
                    results.append(item)
            return results

        return predicate_filter

    def group(self, expr: Any) -> Callable[[Any, Any], Any]:
        """``Jsonata.evaluate_group_expression``: an object constructor, or a group-by."""
        jx = self.jx
        pairs = [(self.node(key), self.node(value)) for key, value in expr.lhs_object]
        position = expr.position

        def group(input: Any, env: Any) -> dict:
            result: dict = {}
            groups: dict = {}  # key -> [data, index of the pair]
            reduce = isinstance(input, JList) and input.tuple_stream
            if not isinstance(input, list):
                input = create_sequence(input)
            if not input:
                input.append(None)
            for item in input:
                item_env = jx.create_frame_from_tuple(env, item) if reduce else env
                context = item["@"] if reduce else item
                for pair_index, (key_of, _) in enumerate(pairs):
                    key = key_of(context, item_env)
                    if key is None:
                        continue
                    if not isinstance(key, str):
                        raise JException("T1003", position, key)
                    entry = groups.get(key)
                    if entry is not None:
                        if entry[1] != pair_index:
                            raise JException("D1009", position, key)
                        entry[0] = fn_append(entry[0], item)
                    else:
                        groups[key] = [item, pair_index]
            for key, (data, pair_index) in groups.items():
                context, value_env = data, env
                if reduce:
                    bindings = jx.reduce_tuple_stream(data)
                    context = bindings["@"]
                    bindings.pop("@", None)
                    value_env = jx.create_frame_from_tuple(env, bindings)
                value = pairs[pair_index][1](context, value_env)
                if value is not None:
                    result[key] = value
            return result

        return group

    # ------------------------------------------------------------ operators

    def _binary(self, expr: Any) -> Node:
        jx = self.jx
        op = str(expr.value)
        lhs = self.node(expr.lhs)
        rhs = self.node(expr.rhs)
        position = expr.position
        if op in ("and", "or"):
            is_and = op == "and"

            def boolean(input: Any, env: Any) -> Any:
                left = lhs(input, env)
                try:
                    if is_and:
                        return _boolize(left) and _boolize(rhs(input, env))
                    return _boolize(left) or _boolize(rhs(input, env))
                except JException:
                    raise
                except Exception as err:
                    raise JException("Unexpected", position) from err

            return boolean
        if op in ("+", "-", "*"):
            return _integer_fast_path(op, lhs, rhs, jx.evaluate_numeric_expression)
        if op in ("<", "<=", ">", ">="):
            return _comparison_fast_path(op, lhs, rhs, jx.evaluate_comparison_expression)
        if op in ("/", "%"):
            operation = jx.evaluate_numeric_expression
        elif op in ("=", "!="):
            operation = jx.evaluate_equality_expression
        elif op in ("<", "<=", ">", ">="):
            operation = jx.evaluate_comparison_expression
        elif op == "&":

            def concat(input: Any, env: Any) -> Any:
                return jx.evaluate_string_concat(lhs(input, env), rhs(input, env))

            return concat
        elif op == "..":

            def range_(input: Any, env: Any) -> Any:
                return jx.evaluate_range_expression(lhs(input, env), rhs(input, env))

            return range_
        elif op == "in":

            def includes(input: Any, env: Any) -> Any:
                return jx.evaluate_includes_expression(lhs(input, env), rhs(input, env))

            return includes
        else:
            raise _Unsupported(op)

        def binary(input: Any, env: Any) -> Any:
            return operation(lhs(input, env), rhs(input, env), op)

        return binary

    def _unary(self, expr: Any) -> Node:
        value = str(expr.value)
        if value == "-":
            operand = self.node(expr.expression)
            position, symbol = expr.position, expr.value

            def negate(input: Any, env: Any) -> Any:
                result = operand(input, env)
                if result is None:
                    return None
                if is_numeric(result):
                    return convert_number(-float(result))
                raise JException("D1002", position, symbol, result)

            return negate
        if value == "[":
            items = [(self.node(item), str(item.value) == "[") for item in expr.expressions]
            consarray = expr.consarray

            def array(input: Any, env: Any) -> Any:
                result = JList()
                for item, nested in items:
                    value = item(input, env)
                    if value is not None:
                        if nested:
                            result.append(value)
                        else:
                            result = fn_append(result, value)
                if consarray:
                    if not isinstance(result, JList):
                        result = JList(result)
                    result.cons = True
                return result

            return array
        if value == "{":
            return self.group(expr)
        raise _Unsupported("unary " + value)

    # ------------------------------------------------------------ control

    def _condition(self, expr: Any) -> Node:
        condition = self.node(expr.condition)
        then = self.node(expr.then)
        otherwise = self.node(expr._else) if expr._else is not None else None

        def choose(input: Any, env: Any) -> Any:
            if _boolize(condition(input, env)):
                return then(input, env)
            if otherwise is not None:
                return otherwise(input, env)
            return None

        return choose

    def _block(self, expr: Any) -> Node:
        parts = [self.node(part) for part in expr.expressions]

        def block(input: Any, env: Any) -> Any:
            frame = Frame(env)
            result = None
            for part in parts:
                result = part(input, frame)
            return result

        return block

    def _bind(self, expr: Any) -> Node:
        name = str(expr.lhs.value)
        value_of = self.node(expr.rhs)

        def bind(input: Any, env: Any) -> Any:
            value = value_of(input, env)
            env.bind(name, value)
            return value

        return bind

    # ------------------------------------------------------------ functions

    def call(self, expr: Any) -> Callable[..., Any]:
        """``Jsonata.evaluate_function``: (input, env, applyto_context=NONE) -> result."""
        jx = self.jx
        procedure = expr.procedure
        proc_of = self.node(procedure)
        arguments = [self.node(argument) for argument in expr.arguments or ()]
        is_path = getattr(procedure, "type", None) == "path"
        first_step = procedure.steps[0].value if is_path else None
        first_name = str(first_step)
        proc_name = first_step if is_path else (procedure.value if procedure is not None else None)
        position, token = expr.position, expr.token

        def call(input: Any, env: Any, applyto_context: Any = NONE) -> Any:
            proc = proc_of(input, env)
            if proc is None and is_path and _lookup(env, first_name) is not None:
                raise JException("T1005", position, first_step)
            args = [] if applyto_context is NONE else [applyto_context]
            for argument in arguments:
                args.append(argument(input, env))
            if proc is None:
                raise JException("T1006", position, proc_name)
            try:
                if isinstance(proc, Symbol):
                    proc.token = proc_name
                    proc.position = position
                jx.input = input  # what $eval() evaluates against, as in the interpreter
                jx.environment = env
                return jx.apply_fast(proc, args, input, env)
            except JException as jex:
                if jex.location < 0:
                    jex.location = position
                if jex.current is None:
                    jex.current = token
                raise

        return call

    def _function(self, expr: Any) -> Node:
        return self.call(expr)

    def _lambda(self, expr: Any) -> Node:
        parser = self.jx.parser
        arguments, signature, body = expr.arguments, expr.signature, expr.body
        compiled_body = self.node(body)
        thunk = None
        if expr.thunk:  # a tail call: the trampoline in CompiledJsonata.apply runs its parts
            thunk = (self.node(body.procedure), [self.node(argument) for argument in body.arguments])

        def make_lambda(input: Any, env: Any) -> Any:
            procedure = Symbol(parser)
            procedure._jsonata_lambda = True
            procedure.input = input
            procedure.environment = env
            procedure.arguments = arguments
            procedure.signature = signature
            procedure.body = body
            procedure.flowrt_body = compiled_body
            if thunk is not None:
                procedure.thunk = True
                procedure.flowrt_thunk = thunk
            return procedure

        return make_lambda

    def _apply(self, expr: Any) -> Node:
        jx = self.jx
        lhs = self.node(expr.lhs)
        position = expr.position
        if expr.rhs.type == "function":
            call = self.call(expr.rhs)  # the call itself, without the node's predicates (as evaluated)

            def apply_call(input: Any, env: Any) -> Any:
                return call(input, env, lhs(input, env))

            return apply_call
        rhs = self.node(expr.rhs)

        def apply_value(input: Any, env: Any) -> Any:
            left = lhs(input, env)
            func = rhs(input, env)
            left_is_function = jx.is_function_like(left)
            if not jx.is_function_like(func) and not left_is_function:
                raise JException("T2006", position, func)
            jx.input = input
            jx.environment = env
            if left_is_function:
                chain = jx.eval(Jsonata.chain_ast(), None, env)
                return jx.apply(chain, [left, func], None, env)
            return jx.apply(func, [left], None, env)

        return apply_value


# The node types compiled (Jsonata._eval's branches); the others (parent, partial, transform, error)
# are left to the interpreter.
_NODE_KINDS: dict[Any, Callable[[_Compiler, Any], Node]] = {
    "path": _Compiler._path,
    "binary": _Compiler._binary,
    "unary": _Compiler._unary,
    "name": _Compiler._name,
    "string": _Compiler._string,
    "number": _Compiler._string,
    "value": _Compiler._string,
    "wildcard": _Compiler._wildcard,
    "descendant": _Compiler._descendant,
    "condition": _Compiler._condition,
    "block": _Compiler._block,
    "bind": _Compiler._bind,
    "regex": _Compiler._regex,
    "function": _Compiler._function,
    "variable": _Compiler._variable,
    "lambda": _Compiler._lambda,
    "apply": _Compiler._apply,
}


def _plain_name_step(step: Any) -> bool:
    return (
        step.type == "name"
        and not step.stages
        and not step.predicate
        and step.group is None
        and not step.keep_array
        and not step.consarray
    )


def _names_path(names: list[str], general: Node) -> Node:
    """A path of plain names (``payload.values``) on an object: the objects are walked directly.
    What the general path would do with them: a missing name or a step into a scalar gives
    undefined, a JSON null gives null, the last value is the result (a plain array unflattened).
    An array on the way (flattening) or a JSONata sequence value goes to the general path. The
    result is normalised already (the node's own normalisation is skipped)."""

    def names_path(input: Any, env: Any) -> Any:
        if type(input) is dict:
            value = input
            for name in names:
                if type(value) is not dict:
                    if isinstance(value, list | dict):
                        break
                    return None
                value = value.get(name, NONE)
                if value is NONE:
                    return None
                if value is None:
                    value = NULL_VALUE
            else:
                if not isinstance(value, JList):
                    return value
        return _normalise(general(input, env), False)

    names_path.normalised = True
    return names_path


def _normalise(result: Any, keep_array: bool) -> Any:
    """The end of ``Jsonata._eval``: a sequence of one is its item, an empty one undefined."""
    if result is not None and isinstance(result, JList) and result.sequence and not result.tuple_stream:
        if keep_array:
            result.keep_singleton = True
        if not result:
            return None
        if len(result) == 1:
            return result if result.keep_singleton else result[0]
    return result


_INT_EXACT = 2**53  # integers below this are exact as doubles, as the interpreter computes
_INT_OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _integer_fast_path(op: str, lhs: Node, rhs: Node, general: Callable) -> Node:
    """``+ - *``: two ints whose exact result is below 2**53 give that int, which is what the
    interpreter's float arithmetic and ``convert_number`` give; anything else goes to it."""
    operation = _INT_OPERATIONS[op]

    def arithmetic(input: Any, env: Any) -> Any:
        left = lhs(input, env)
        right = rhs(input, env)
        if type(left) is int and type(right) is int:
            result = operation(left, right)
            if (
                -_INT_EXACT < result < _INT_EXACT
                and -_INT_EXACT < left < _INT_EXACT
                and -_INT_EXACT < right < _INT_EXACT
            ):
                return result
        return general(left, right, op)

    return arithmetic


def _comparison_fast_path(op: str, lhs: Node, rhs: Node, general: Callable) -> Node:
    """``< <= > >=`` of two ints, two floats or two strings: the interpreter compares those
    directly after its type checks; anything else goes to it."""
    compare = _COMPARISONS[op]

    def comparison(input: Any, env: Any) -> Any:
        left = lhs(input, env)
        right = rhs(input, env)
        kind = type(left)
        if kind is type(right) and (kind is int or kind is float or kind is str):
            return compare(left, right)
        return general(left, right, op)

    return comparison


def _evaluate_step(step: Node, stages: list, sequence: Any, env: Any, last_step: bool) -> Any:
    """``Jsonata.evaluate_step`` for a step that is not a sort."""
    result = create_sequence()
    for item in sequence:
        res = step(item, env)
        for stage in stages:
            res = stage(res, env)
        if res is not None:
            result.append(res)
    if last_step and len(result) == 1 and isinstance(result[0], list) and not _is_sequence(result[0]):
        return result[0]
    flattened = create_sequence()
    for res in result:
        if not isinstance(res, list) or (isinstance(res, JList) and res.cons):
            flattened.append(res)
        else:
            flattened.extend(res)
    return flattened


# ---------------------------------------------------------------- built-ins

call_native = _Functions._call
get_function_arity = _Functions.get_function_arity


def _apply_function(jx: CompiledJsonata, func: Any, args: list) -> Any:
    """``Functions.func_apply``: how $map and the others call their function argument."""
    if is_lambda(func):
        return jx.apply_fast(func, args, None, jx.environment)
    return func.call(None, args)


def _hof_args(arity: int, value: Any, index: Any, whole: Any) -> list:
    if arity >= 3:
        return [value, index, whole]
    if arity >= 2:
        return [value, index]
    return [value]


def _map(jx: CompiledJsonata, arr: Any = None, func: Any = None) -> Any:
    """``Functions.map``: the function applied to each item, undefined results left out."""
    if arr is None:
        return None
    arity = get_function_arity(func)
    result = create_sequence()
    for index, item in enumerate(arr):
        value = _apply_function(jx, func, _hof_args(arity, item, index, arr))
        if value is not None:
            result.append(value)
    return result


def _filter(jx: CompiledJsonata, arr: Any = None, func: Any = None) -> Any:
    """``Functions.filter``: the items for which the function is truthy."""
    if arr is None:
        return None
    arity = get_function_arity(func)
    result = create_sequence()
    for index, item in enumerate(arr):
        if to_boolean(_apply_function(jx, func, _hof_args(arity, item, index, arr))):
            result.append(item)
    return result


# Built-ins with a function argument, run here so that a compiled lambda is called directly.
# (``Functions._call`` would pass the same arguments, padded with None, and convert a numeric
# result; these return a sequence or None.)
_HIGHER_ORDER: dict[Any, Callable[..., Any]] = {_Functions.map: _map, _Functions.filter: _filter}


# ---------------------------------------------------------------- signatures

# The symbol Signature.get_symbol gives a value of these exact types (it asks every value first
# whether it is a function or a regex, which costs an import and six attribute probes).
_SYMBOL_OF_TYPE = {
    str: "s",
    bool: "b",
    int: "n",
    float: "n",
    list: "a",
    JList: "a",
    dict: "o",
    type(None): "m",
}
_TYPES_OF_SYMBOL = {
    symbol: frozenset(kind for kind, other in _SYMBOL_OF_TYPE.items() if other == symbol)
    for symbol in set(_SYMBOL_OF_TYPE.values())
}


def _symbol(value: Any, signature: Any) -> str:
    kind = type(value)
    symbol = _SYMBOL_OF_TYPE.get(kind)
    if symbol is not None:
        return symbol
    if kind is Symbol and value._jsonata_lambda:
        return "f"  # a lambda (get_symbol: is_lambda)
    return signature.get_symbol(value)


def _validate(signature: Any, args: Any, context: Any) -> Any:
    """``Signature.validate``, same arguments out and same errors, with the symbols read by type
    and the signature's regular expression matched once per distinct symbol string."""
    symbols = "".join([_symbol(arg, signature) for arg in args])
    cache = signature.__dict__.get("flowrt_match_groups")  # {symbols: the regex's groups}
    if cache is None:
        cache = signature.flowrt_match_groups = {}
    groups = cache.get(symbols, NONE)
    if groups is NONE:
        match = signature._regex.fullmatch(symbols)
        groups = None if match is None else match.groups()
        if len(cache) < 256:
            cache[symbols] = groups
    if groups is None:
        return signature.validate(args, context)  # raises the interpreter's error
    validated = []
    arg_index = 0
    count = len(args)
    for param, matched in zip(signature._params, groups, strict=False):
        if matched == "":
            if param.context and param.regex is not None:
                if re.fullmatch(param.regex, _symbol(context, signature)):
                    validated.append(context)
                else:
                    raise JException("T0411", -1, context, arg_index + 1)
            else:
                validated.append(args[arg_index] if arg_index < count else None)
                arg_index += 1
            continue
        for single in matched:
            arg = args[arg_index] if arg_index < count else None
            if param.type == "a":
                if single == "m":
                    arg = None
                else:
                    subtype = param.subtype
                    if subtype is not None:
                        array_ok = True
                        if single != "a" and matched != subtype:
                            array_ok = False
                        elif single == "a" and arg:
                            item_type = _symbol(arg[0], signature)
                            if item_type != str(subtype[0]):
                                array_ok = False
                            else:
                                same = _TYPES_OF_SYMBOL.get(item_type, frozenset())
                                if not same.issuperset(map(type, arg)):  # not all plain: one by one
                                    array_ok = all(_symbol(item, signature) == item_type for item in arg)
                        if not array_ok:
                            raise JException("T0412", -1, arg_index + 1, signature.function_name, subtype)
                    if single != "a":
                        arg = [arg]
            validated.append(arg)
            arg_index += 1
    return validated


class CompiledJsonata(Jsonata):
    """A ``Jsonata`` whose :meth:`evaluate` runs the compiled expression (falling back to the
    interpreter node by node); :meth:`evaluate_interpreted` is jsonata-python's own."""

    def __init__(self, expression: str, regex_engine: Any) -> None:
        super().__init__(expression, regex_engine)
        compiler = _Compiler(self)
        self.compiled_root: Node | None = None
        if self.errors is None:
            try:
                self.compiled_root = compiler.node(self.ast)
            except (AttributeError, TypeError, ValueError):  # a tree this compiler does not know
                self.compiled_root = None
        self.compiled_nodes = compiler.compiled
        self.interpreted_nodes = compiler.interpreted

    def evaluate_interpreted(self, input: Any, bindings: Any = None) -> Any:
        return Jsonata.evaluate(self, input, bindings)

    def evaluate(self, input: Any, bindings: Any = None) -> Any:  # noqa: A002 (the interpreter's name)
        root = self.compiled_root
        if root is None or self.timeout is not None or self.stack is not None:
            return Jsonata.evaluate(self, input, bindings)
        if self.errors is not None:
            raise JException("S0500", 0)
        if bindings is not None:
            env = Frame(self.environment)
            items = bindings.bindings if isinstance(bindings, Frame) else bindings
            for name, value in items.items():
                _bind(env, name, value)
        else:
            env = self.environment
        _bind(env, "$", input)
        self.timestamp = _timebox.Timebox.current_milli_time()  # $now(), $millis()
        if isinstance(input, list) and not _is_sequence(input):
            input = create_sequence(input)
            input.outer_wrapper = True
        if self.validate_input:
            _Functions.validate_input(input)
        saved = self.input, self.environment, getattr(Jsonata.CURRENT, "jsonata", None)
        Jsonata.CURRENT.jsonata = self  # the instance the interpreted parts and $now() read
        try:
            result = root(input, env)
        finally:
            self.input, self.environment, current = saved
            if current is not None:
                Jsonata.CURRENT.jsonata = current
        if self.output_convert_nulls:
            result = _Utils.convert_nulls(result)
        return result

    def validate_arguments(self, signature: Any, args: Any, context: Any) -> Any:
        """The interpreter's argument check of every call, with :func:`_validate` for the
        built-ins (and lambdas with a signature)."""
        kind = type(signature)
        if kind is Jsonata.JNativeFunction or kind is Jsonata.JFunction:
            checked = signature.signature
            if checked is None:
                return args
            if type(checked) is Signature:
                return _validate(checked, args, context)
        elif kind is Symbol and signature._jsonata_lambda:
            checked = signature.signature
            if checked is None:
                return args
            if type(checked) is Signature:
                return _validate(checked, args, context)
        return super().validate_arguments(signature, args, context)

    # The interpreter applies lambdas (its own calls, and built-ins such as $map calling back)
    # through these two: a lambda made by compiled code runs its compiled body.

    def apply_procedure(self, proc: Any, args: Any) -> Any:
        body = getattr(proc, "flowrt_body", None)
        if body is None:
            return super().apply_procedure(proc, args)
        return self.apply_compiled(proc, body, args)

    def apply_fast(self, proc: Any, args: list, input: Any, environment: Any) -> Any:  # noqa: A002
        """:meth:`apply` from compiled code: a built-in or a compiled lambda without a signature
        is called directly (what ``apply_inner`` would end up doing), others go through it."""
        kind = type(proc)
        if kind is Jsonata.JNativeFunction:
            signature = proc.signature
            if type(signature) is Signature:
                args = _validate(signature, args, input)
                fast = _HIGHER_ORDER.get(proc.method)
                if fast is not None:
                    result = fast(self, *args)
                else:
                    result = call_native(proc.method, proc.nargs, args)
                return self.finish_thunks(result, input, environment)
        elif kind is Symbol and proc.signature is None:
            body = getattr(proc, "flowrt_body", None)
            if body is not None and proc._jsonata_lambda:
                return self.finish_thunks(self.apply_compiled(proc, body, args), input, environment)
        return self.apply(proc, args, input, environment)

    def apply_compiled(self, proc: Any, body: Node, args: list) -> Any:
        """``apply_procedure`` of a lambda made by compiled code."""
        env = Frame(proc.environment)
        count = len(args)
        for index, parameter in enumerate(proc.arguments):
            if index >= count:
                break
            _bind(env, str(parameter.value), args[index])
        return body(proc.input, env)

    def finish_thunks(self, result: Any, input: Any, environment: Any) -> Any:  # noqa: A002
        """The rest of :meth:`apply` once its first ``apply_inner`` gave ``result``."""
        if isinstance(result, Symbol) and result._jsonata_lambda and result.thunk:
            return self.trampoline(result, input, environment)
        return result

    def apply(self, proc: Any, args: Any, input: Any, environment: Any) -> Any:  # noqa: A002
        return self.trampoline(self.apply_inner(proc, args, input, environment), input, environment)

    def trampoline(self, result: Any, input: Any, environment: Any) -> Any:  # noqa: A002
        """``Jsonata.apply``'s loop: run tail calls (thunks) until a value comes back."""
        while is_lambda(result) and result.thunk:
            thunk = getattr(result, "flowrt_thunk", None)
            procedure = result.body.procedure
            if thunk is None:
                proc_of = functools.partial(self.eval, procedure)
                arguments = [functools.partial(self.eval, argument) for argument in result.body.arguments]
            else:
                proc_of, arguments = thunk
            saved = self.input, self.environment
            try:
                proc_next = proc_of(result.input, result.environment)
                if isinstance(proc_next, Symbol):
                    if procedure.type == "variable":
                        proc_next.token = procedure.value
                    proc_next.position = procedure.position
                evaluated = [argument(result.input, result.environment) for argument in arguments]
            finally:
                self.input, self.environment = saved
            result = self.apply_inner(proc_next, evaluated, input, environment)
        return result


def compile_coverage(jx: CompiledJsonata) -> tuple[int, int]:
    """(compiled nodes, nodes left to the interpreter) of a compiled expression."""
    return jx.compiled_nodes, jx.interpreted_nodes
