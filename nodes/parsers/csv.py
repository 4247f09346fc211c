"""The `csv` node: CSV text to objects and objects/arrays to CSV text.

Two parsers, chosen by `spec` as Node-RED does: "rfc" is an RFC 4180 parser
(quoted cells with doubled quotes, CR/LF/CRLF line ends, multi-line cells);
anything else is Node-RED's legacy parser, kept for compatibility with its quirks.

Options: `temp` column names, `sep` separator, `hdrin` first line holds the
column names, `hdrout` header line on output ("none", "all", "once"), `ret`
line end on output, `skip` lines to skip, `strings` parse numbers,
`include_empty_strings`, `include_null_values`, `multi` "one" (a message per
row, with `msg.parts`) or "mult" (one array). `msg.columns` lists the columns;
`msg.reset` makes a "once" header be sent again.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import operator
import re
from collections.abc import Callable
from typing import Any

from flowrt import Node, NodeConfigError, register_type
from flowrt.lang.jsvalues import ensure_string, is_nan, js_number
from flowrt.util import clone_message

_NUMBER_LEGACY = re.compile(r"^[-]?(?!E)(?!0\d)\d*\.?\d*(E-?\+?)?\d+$", re.IGNORECASE | re.ASCII)
_SKIP_NUMBER = re.compile(r"^ *(\+|-0\d|0\d)", re.ASCII)  # \d as JavaScript's: 0-9


class CSVParseError(ValueError):
    """A CSV error; `name` is the JavaScript error class Node-RED's csv library throws."""

    def __init__(self, message: str, name: str = "ParseError") -> None:
        super().__init__(message)
        self.name = name

    def __str__(self) -> str:  # Error.prototype.toString, as done(err) shows it in Node-RED
        return f"{self.name}: {self.args[0]}"


def _to_str(value: Any) -> str:
    """String(value) / RED.util.ensureString (strings and safe integers directly: most cells)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int and -_SAFE_INT < value < _SAFE_INT:
        return str(value)
    return ensure_string(value)


_SAFE_INT = 2**53
# Numbers in their plain decimal forms, which float()/int() read as JavaScript's +text does;
# anything else (exponents, hex, spaces, -0, long digit runs) goes through js_number; text
# starting with a letter is NaN unless it is "Infinity".
_PLAIN_INT = re.compile(r"-?[1-9]\d{0,14}|0", re.ASCII)  # ASCII: +"1\u0663" is NaN
_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9]\d{0,14})\.\d{1,15}", re.ASCII)


def _js_plus_number(text: str) -> int | float | None:
    """+text in JavaScript, or None when NaN."""
    if text[:1].isalpha() and not text.startswith("Infinity"):  # true, false, names: NaN
        return None
    if _PLAIN_INT.fullmatch(text):
        return int(text)
    if _PLAIN_DECIMAL.fullmatch(text):
        number = float(text)
        if not number.is_integer():
            return number
        if number or text[0] != "-":  # "-0.0" is -0 in JavaScript: js_number keeps it
            return int(number)
    number = js_number(text)
    return None if is_nan(number) else number


def _parse_float(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


@functools.lru_cache(maxsize=64)
def _quoteable(quoteables: tuple[str, ...]) -> Callable[[str], Any]:
    """search() of a pattern matching any of the strings that make a cell need quotes."""
    return re.compile("|".join(re.escape(q) for q in quoteables if q) or "(?!)").search


def quote_cell(cell: str, quote: str = '"', separator: str = ",", quoteables: list[str] | None = None) -> str:
    quoteables = quoteables or [quote, separator, "\r", "\n"]
    wrap = quote if _quoteable(tuple(quoteables))(cell) else ""
    if quote in cell:
        cell = cell.replace('"', '""')
    return wrap + cell + wrap


def rfc_parse(
    text: str,
    *,
    cursor: int = 0,
    separator: str = ",",
    quote: str = '"',
    headers_only: bool = False,
    headers: list | None = None,
    data_has_header_row: bool = True,
    parse_numeric: bool = False,
    include_null: bool = False,
    include_empty: bool = True,
    output_arrays: bool = False,
    strict: bool = False,
) -> dict:
    """RFC 4180 parse; returns {headers, data, cursor} (data: rows or objects)."""
    headers = list(headers) if isinstance(headers, list) else []
    supplied = len(headers) > 0
    if not (headers_only or output_arrays or strict or (data_has_header_row and not supplied)):
        fast = _fast_rows(text[cursor:] if cursor else text, separator, quote, include_empty or include_null)
        if fast is not None:
            first = next((row for row in fast if _kept_cells(row)), None)
            if first is not None and not supplied:
                headers.extend(f"col{i + 1}" for i in range(_kept_cells(first)))
            data = _fast_rows_to_objects(fast, headers, parse_numeric, include_null)
            return {"headers": headers, "cursor": len(text), "data": data}
    rows, cursor = _rfc_rows(text, cursor, separator, quote, headers_only, strict)
    first_is_header = False
    if rows and not supplied:
        if data_has_header_row:
            headers.extend(rows[0])
            first_is_header = True
        else:
            headers.extend(f"col{i + 1}" for i in range(len(rows[0])))
    result = {"headers": headers, "cursor": cursor, "data": []}
    if headers_only:
        return result
    if output_arrays:
        if not first_is_header and headers:
            rows.insert(0, headers)
        result["data"] = rows
        return result
    records = rows[1:] if first_is_header else rows
    result["data"] = _rows_to_objects(records, headers, parse_numeric, include_null, include_empty)
    return result


# ----- the fast path: rows read by the stdlib's C csv reader ------------------------------------
# It gives what _rfc_rows gives wherever every quote is well placed (opening a cell, doubled
# inside a quoted cell, closing one before a separator or line end) and the separator is one
# character; _rfc_rows keeps Node-RED's readings of misplaced quotes, which the C reader reads
# otherwise. The two also differ in how they write an empty cell: _rfc_rows gives None for an
# unquoted one, "" for a quoted one, and leaves out an empty last cell of a row and rows with no
# cell at all; the reader gives "" for each. So the fast rows only serve where that cannot show:
# objects (not arrays) with no quoted empty cell to tell from an unquoted one, i.e. no quote in
# the text, or include_empty_strings and include_null_values both off; _kept_cells and _fast_rows_to_objects do the rest.
# tests/nodes/parsers/test_csv_stdlib_reader.py checks both paths give the same messages.


@functools.lru_cache(maxsize=16)
def _well_placed_quotes(separator: str, quote: str) -> Callable[[str], Any]:
    """fullmatch() of text whose every quote is well placed (atomic, so linear in the text)."""
    s, q = re.escape(separator), re.escape(quote)
    cell_edge = rf"[^{s}\r\n]"  # a quoted cell starts after and ends before none of these
    quoted = rf"(?<!{cell_edge}){q}(?:[^{q}]++|{q}{q})*+{q}(?!{cell_edge})"
    return re.compile(rf"(?:[^{q}]++|{quoted})*+").fullmatch


def _fast_rows(text: str, separator: str, quote: str, empty_cells_kept: bool) -> list[list[str]] | None:
    """The rows of `text` as the C csv reader reads them, or None where they could differ from
    _rfc_rows (see above): the hand-written parser reads the text then."""
    if len(separator) != 1 or len(quote) != 1 or separator in ("\r", "\n", quote):
        return None
    if quote in text and (empty_cells_kept or _well_placed_quotes(separator, quote)(text) is None):
        return None
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar=quote))
    except csv.Error:  # a NUL, a cell over csv.field_size_limit(): the hand-written parser has neither
        return None


def _kept_cells(row: list[str]) -> int:
    """How many cells _rfc_rows keeps of a row the reader read: all but an empty last one."""
    return len(row) - 1 if row and row[-1] == "" else len(row)


def _fast_rows_to_objects(
    rows: list[list[str]], headers: list, parse_numeric: bool, include_null: bool
) -> list[dict]:
    """_rows_to_objects for rows from the reader: an empty cell is null (kept only with
    include_null: "" cannot occur, see above), a row with no kept cell is not a row."""
    dense = _dense_objects(rows, headers, parse_numeric)
    if dense is not None:
        return dense
    out = []
    named = [(j, h) for j, h in enumerate(headers) if h]
    if not include_null and len(named) == len(headers):  # every column named
        for row in rows:
            if parse_numeric:
                obj = {h: _numeric_cell(v) for h, v in zip(headers, row, strict=False) if v}
            else:
                obj = {h: v for h, v in zip(headers, row, strict=False) if v}
            if obj:
                out.append(obj)
        return out
    for row in rows:
        if _kept_cells(row) == 0:
            continue
        obj: dict = {}
        width = len(row)
        for j, h in named:
            v = row[j] if j < width else ""
            if v:
                obj[h] = _numeric_cell(v) if parse_numeric else v
            elif include_null:
                obj[h] = None
        if obj:
            out.append(obj)
    return out


def _dense_objects(rows: list[list[str]], headers: list, parse_numeric: bool) -> list[dict] | None:
    """The objects of rows that each have a non-empty cell under every header (and no more
    cells), built a column at a time; None for any other rows."""
    if not rows or not all(headers) or set(map(len, rows)) != {len(headers)}:
        return None
    columns = list(zip(*rows, strict=True))
    if any("" in column for column in columns):
        return None
    if parse_numeric:
        columns = [_numeric_column(column) for column in columns]
    return [dict(zip(headers, values, strict=True)) for values in zip(*columns, strict=True)]


_INT = r"(?:-?[1-9][0-9]{0,14}|0)"  # _PLAIN_INT
_NUMBER = rf"(?:{_INT}|-?(?:0|[1-9][0-9]{{0,14}})\.[0-9]{{1,15}})"  # or _PLAIN_DECIMAL
_ALL_INTS = re.compile(rf"(?:{_INT}\n)*{_INT}").fullmatch  # one cell a line
_ALL_NUMBERS = re.compile(rf"(?:{_NUMBER}\n)*{_NUMBER}").fullmatch
_first_character = operator.itemgetter(0)


def _numeric_column(cells: tuple[str, ...]) -> list:
    """_numeric_cell of each (non-empty) cell of a column, whole columns of plain integers,
    plain numbers or words at once (C-level map and one regex match over the column)."""
    joined = "\n".join(cells)
    if joined.count("\n") == len(cells) - 1:  # no cell holds a line break: a line is a cell
        if _ALL_INTS(joined):
            return list(map(int, cells))
        if _ALL_NUMBERS(joined):  # as _js_plus_number reads _PLAIN_DECIMAL; "-0.0" is -0 there
            return [
                number
                if not number.is_integer()
                else int(number)
                if number or text[0] != "-"
                else _numeric_cell(text)
                for text, number in zip(cells, map(float, cells), strict=True)
            ]
    if "Infinity" not in joined and all(map(str.isalpha, map(_first_character, cells))):
        return list(cells)  # every cell starts with a letter: NaN, kept as text
    return list(map(_numeric_cell, cells))


def _numeric_cell(text: str) -> Any:
    """A non-empty cell as _rows_to_objects reads it with parse_numeric: the number +text gives
    unless _SKIP_NUMBER or NaN, else the text. Short plain integers and words are decided here."""
    if text.isdigit() and text.isascii():
        if len(text) <= 15 and (text[0] != "0" or len(text) == 1):
            return int(text)
        if text[0] == "0":  # 0\d: _SKIP_NUMBER
            return text
    elif text[0].isalpha() and not text.startswith("Infinity"):
        return text
    if _SKIP_NUMBER.match(text):
        return text
    number = _js_plus_number(text)
    return text if number is None else number


@functools.lru_cache(maxsize=16)
def _specials(separator: str, quote: str) -> re.Pattern:
    """Where a run of ordinary characters ends: the separator, a quote, CR or LF (the loop
    compares one character with them: a longer separator or quote never ends a run there)."""
    return re.compile(
        "[" + "".join(re.escape(c) for c in (separator, quote, "\r", "\n") if len(c) == 1) + "]"
    )


def _rfc_rows(
    text: str, cursor: int, separator: str, quote: str, headers_only: bool, strict: bool
) -> tuple[list[list], int]:
    """The cells of each row from `cursor` on (None: a cell with nothing between separators),
    and where it stopped: the end, or after the first row when `headers_only`."""
    cell: list[str] = []
    row: list = []
    rows: list[list] = []
    new_cell, in_quote, closed = True, False, False

    n = len(text)
    specials = _specials(separator, quote)

    def finish_cell() -> None:
        value = "".join(cell)
        cell.clear()
        row.append(value or (None if new_cell else ""))

    def finish_row() -> None:
        nonlocal row
        if cell:
            finish_cell()
        if row:
            rows.append(row)
            row = []

    while cursor < n:
        ch = text[cursor]
        if in_quote:
            if ch == quote and cursor + 1 < n and text[cursor + 1] == quote:
                cell.append(quote)
                cursor += 2
                new_cell = closed = False
            elif ch == quote:
                in_quote = False
                cursor += 1
                new_cell, closed = False, True
            else:  # up to the next quote at once
                end = text.find(quote, cursor + 1) if len(quote) == 1 else -1
                end = n if end < 0 else end
                cell.append(text[cursor:end])
                new_cell = closed = False
                cursor = end
        elif ch == separator:
            finish_cell()
            cursor += 1
            new_cell, closed = True, False
        elif ch == quote:
            if new_cell:
                in_quote = True
                cursor += 1
                new_cell = closed = False
            elif strict:
                raise CSVParseError("Quote found in the middle of an unquoted field", "UnquotedQuoteError")
            else:
                cursor += 1
                if cursor < n and text[cursor] not in ("\n", "\r", separator):
                    cell.append(ch)
                    if text[cursor] == quote:
                        cursor += 1
        elif ch in "\r\n":
            finish_row()
            cursor += 2 if cursor + 1 < n and text[cursor + 1] == "\n" else 1
            new_cell, closed = True, False
            if headers_only:
                break
        elif closed:
            if strict:
                raise CSVParseError("Data found after closing quote", "DataAfterCloseError")
            cursor -= 1
            closed = False
        else:  # a run of ordinary characters: all of it at once
            stop = specials.search(text, cursor + 1)
            end = stop.start() if stop else n
            cell.append(text[cursor:end])
            new_cell = False
            cursor = end
    if strict and in_quote:
        raise CSVParseError("Missing quote, unclosed cell")
    finish_row()
    return rows, cursor


def _rows_to_objects(
    rows: list[list], headers: list, parse_numeric: bool, include_null: bool, include_empty: bool
) -> list[dict]:
    """Each row as an object keyed by `headers` (a column without a header is left out); rows
    with no cell kept are dropped."""
    out = []
    for r in rows:
        obj: dict = {}
        empty = True
        for j, h in enumerate(headers):
            if not h:
                continue
            v = r[j] if j < len(r) else None
            if v is None and not include_null:
                continue
            if v == "" and not include_empty:
                continue
            if parse_numeric and v and not _SKIP_NUMBER.match(v):
                num = _js_plus_number(v)
                if num is not None:
                    v = num
            obj[h] = v
            empty = False
        if not empty:
            out.append(obj)
    return out


class _LineSink:
    """A file for csv.writer that keeps each line it writes (write is list.append: no Python frame)."""

    __slots__ = ("write",)

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def _object_lines(rows: list, columns: list, separator: str, quote: str) -> list[str] | None:
    """The CSV lines (no line ends) of rows that are all objects under `columns` (an unnamed
    column: an empty cell), cells quoted as quote_cell quotes them, by the C csv writer; None
    when it cannot write them (a separator of more than one character, a row not an object):
    the loop in _rfc_to_csv does. tests/nodes/parsers/test_csv_stdlib_reader.py compares the two."""
    if len(separator) != 1 or separator in ("\r", "\n", quote) or quote != '"':
        return None
    if rows and set(map(type, rows)) != {dict}:
        return None
    count = len(rows)
    cells = [
        _text_column(list(map(dict.get, rows, itertools.repeat(h), _BLANKS))) if h else [""] * count
        for h in columns
    ]
    table = zip(*cells, strict=True)
    lines: list[str] = []
    # lineterminator "\r\n": the writer quotes a cell holding either character (it quotes the
    # separator, the quote and the line end's characters), as quote_cell does; cut off below.
    writer = csv.writer(_LineSink(lines), delimiter=separator, quotechar=quote, lineterminator="\r\n")
    writer.writerows(table)
    # The writer quotes a row of one empty cell ('""'), which quote_cell leaves empty.
    return [line[:-2] if line != '""\r\n' else "" for line in lines]


_BLANKS = itertools.repeat("")


_JS_NUMBER_TEXT = r"(?:-?[0-9]{1,15}|-?[0-9]+\.[0-9]*[1-9])"  # repr() of a safe int or a plain float
_ALL_JS_NUMBER_TEXTS = re.compile(rf"(?:{_JS_NUMBER_TEXT}\n)*{_JS_NUMBER_TEXT}").fullmatch


def _text_column(values: list) -> list[str]:
    """_to_str of each value of a column. A column of numbers whose repr() is what JavaScript's
    String() writes (safe integers; floats without an exponent or a trailing ".0": Python
    switches to exponents sooner than JavaScript, so the rest have the same digits) is written
    by repr() at once, checked by one regex match over the column."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return values
    if kinds <= {int, float}:
        texts = list(map(repr, values))
        if _ALL_JS_NUMBER_TEXTS("\n".join(texts)):
            return texts
    return [v if type(v) is str else _to_str(v) for v in values]


def _unescape(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


@register_type("csv")
class CSVNode(Node):
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "string"},
            "temp": {
                "anyOf": [{"type": "string"}, {"enum": [None, False, 0]}],
                "x-fatal": True,
            },  # .trim() in the constructor
            "sep": {
                "anyOf": [{"type": "string"}, {"enum": [None, False, 0]}],
                "x-fatal": True,
            },  # .replace() in the constructor
            "hdrin": {"type": ["boolean", "string"]},
            "hdrout": {"type": ["boolean", "string"]},
            "multi": {"type": "string"},
            "ret": {"anyOf": [{"type": "string"}, {"enum": [None, False, 0]}], "x-fatal": True},
            "skip": {"type": ["string", "number"]},
            "strings": {"type": "boolean"},
            "include_empty_strings": {"type": ["boolean", "string"]},
            "include_null_values": {"type": ["boolean", "string"]},
        },
    }

    def setup(self) -> None:
        cfg = self.config
        self.rfc = cfg.get("spec") == "rfc"
        self.template_text = cfg.get("temp") or ""
        self.sep = _unescape(cfg.get("sep") or ",")
        self.quo = '"'
        self.ret = _unescape(cfg.get("ret") or ("\r\n" if self.rfc else "\n"))
        self.multi = cfg.get("multi") or "one"
        self.hdrin = cfg.get("hdrin") is True
        hdrout = cfg.get("hdrout") or "none"
        if hdrout is True:
            hdrout = "all"
        self.hdrout = hdrout
        try:
            self.skip = int(str(cfg.get("skip") or 0).strip() or 0)
        except ValueError:
            self.skip = 0
        self.store: list = []
        strings = cfg.get("strings")
        self.parsestrings = True if strings is None else strings is True
        self.include_empty = bool(cfg.get("include_empty_strings") or False)
        self.include_null = bool(cfg.get("include_null_values") or False)
        self.hdr_sent = False
        self.warned_template = False
        self.goodtmpl = True
        self.status({})
        if self.rfc:
            try:
                self.template = self._rfc_template(self.template_text, ",") or [""]
            except CSVParseError as err:
                self.warn("Malformed columns template.")
                self.status({"fill": "red", "shape": "dot", "text": "Malformed columns template."})
                raise NodeConfigError(f"Malformed columns template: {err}") from err
        else:
            self.template = self._clean(self.template_text, ",")
        self.no_template = not self._has_template(self.template)

    # ----- helpers ---------------------------------------------------------------------
    @staticmethod
    def _has_template(t: list | None) -> bool:
        return bool(t) and not (len(t) == 1 and t[0] == "")

    def _clean(self, col: str, sep: str | None = None) -> list[str]:
        """Legacy: split a column list on the separator outside quotes, strip quotes and spaces."""
        sep = sep if sep is not None else ","
        pattern = re.escape(sep) + r'(?=(?:(?:[^"]*"){2})*[^"]*$)'
        cols = re.split(pattern, col.strip()) if sep else [col.strip()]
        cols = [c.replace('"', "").strip() for c in cols]
        self.goodtmpl = not (len(cols) == 1 and cols[0] == "")
        return cols

    def _rfc_template(self, col: str, sep: str = ",") -> list | None:
        parsed = rfc_parse(col, separator=sep, quote=self.quo, output_arrays=True, strict=True, headers=[])
        # headers are derived from the first row; a single row is a good template
        rows = parsed["data"]
        self.goodtmpl = len(rows) == 1
        return rows[0] if self.goodtmpl else None

    def _columns(self, template: list, keep_empty: bool = False, sep: str = ",", quoteables=None) -> str:
        quoteables = quoteables or [",", '"', "\n", "\r"]
        if keep_empty:
            return sep.join(quote_cell(h or "", self.quo, sep, quoteables) for h in template)
        return ",".join(quote_cell(h, self.quo, ",") for h in template if h)

    # ----- input -----------------------------------------------------------------------
    def on_input(self, msg: dict, send, done) -> None:
        if self.rfc:
            self.status({})
        if "reset" in msg:
            self.hdr_sent = False
        if "payload" not in msg:
            if "reset" not in msg:
                send(msg)
            done()
            return
        payload = msg["payload"]
        try:
            if isinstance(payload, (dict, list)) or payload is None:
                if self.rfc:
                    self._rfc_to_csv(msg, send)
                else:
                    self._legacy_to_csv(msg, send)
            elif isinstance(payload, str):
                if self.rfc:
                    self._rfc_from_csv(msg, send)
                else:
                    self._legacy_from_csv(msg, send)
            elif self.rfc:
                text = "This node only handles CSV strings or js objects."
                self.status({"fill": "red", "shape": "dot", "text": text})
                done("Error: " + text)  # Node-RED: done(new Error(...))
                return
            else:
                self.warn("This node only handles CSV strings or js objects.")
        except CSVParseError as err:
            done(str(err))
            return
        done()

    # ----- RFC mode --------------------------------------------------------------------
    def _rfc_to_csv(self, msg: dict, send) -> None:
        data = msg["payload"]
        if data is None:
            raise CSVParseError("Cannot convert null to CSV", "Error")
        is_arrays = False
        if isinstance(data, dict):
            data = [data]
        elif data and not isinstance(data[0], (dict, list)):
            data = [data]
            is_arrays = True
        elif data and isinstance(data[0], list):
            is_arrays = True
        out: list[str] = []
        parts = msg.get("parts")
        if not (self.no_template and isinstance(parts, dict) and (parts.get("index") or 0) > 0):
            self.template = self._rfc_template(self.template_text) or [""]
        template = self.template
        send_headers = self.hdrout in ("once", "all")
        quoteables = [self.sep, self.quo, "\n", "\r"]
        if send_headers and not self.hdr_sent:
            if not self._has_template(template):
                if "columns" in msg:
                    template = self._rfc_template(msg.get("columns") or "", ",") or [""]
                else:
                    template = list(data[0].keys()) if data and isinstance(data[0], dict) else [""]
            out.append(self._columns(template, True, self.sep, quoteables))
            if self.hdrout == "once":
                self.hdr_sent = True
        lines = None
        if not is_arrays and self._has_template(template):
            lines = _object_lines(data, template, self.sep, self.quo)
        for row in data if lines is None else ():
            if is_arrays:
                has_t = self._has_template(template)
                length = len(template) if has_t else len(row)
                cells = []
                for t in range(length):
                    cell = row[t] if t < len(row) else ""
                    if has_t and not template[t]:
                        cells.append("")
                    else:
                        cells.append(quote_cell(_to_str(cell), self.quo, self.sep, quoteables))
                out.append(self.sep.join(cells))
                continue
            if not self._has_template(template) and "columns" in msg:
                template = self._rfc_template(msg.get("columns") or "", ",") or [""]
            if not self._has_template(template):
                if not self.warned_template:
                    self.warn("No columns template specified.")
                    self.warned_template = True
                template = list(row.keys()) or [""]
                cells = [
                    quote_cell(
                        "" if v is None and k not in row else _to_str(v), self.quo, self.sep, quoteables
                    )
                    for k, v in row.items()
                    if k in data[0] and not isinstance(v, (dict, list)) and v is not None
                ]
                out.append(self.sep.join(cells))
            else:
                cells = []
                for h in template:
                    if not h:
                        cells.append("")
                    else:
                        value = row.get(h, "")
                        cells.append(quote_cell(_to_str(value), self.quo, self.sep, quoteables))
                out.append(self.sep.join(cells))
        if lines is not None:
            out.extend(lines)
        self.template = template
        msg["payload"] = self.ret.join(out) + self.ret
        msg["columns"] = self._columns(template)
        if msg["payload"] != "":
            send(msg)

    def _rfc_from_csv(self, msg: dict, send) -> None:
        text: str = msg["payload"]
        first = True
        last = False
        linecount = 0
        parts = msg.get("parts")
        has_parts = "parts" in msg
        if isinstance(parts, dict):
            linecount = parts.get("index") or 0
            if linecount > self.skip:
                first = False
            if "count" in parts and linecount + 1 >= parts["count"]:
                last = True
        cursor = 0
        if self.skip > 0 and linecount < self.skip:
            while cursor < len(text):
                if first and linecount < self.skip:
                    if text[cursor] in "\r\n":
                        linecount += 1
                    cursor += 1
                    continue
                break
            if cursor >= len(text):
                return
        line_breaks = text.count("\r", cursor) + text.count("\n", cursor)
        if has_parts and self.multi == "mult" and line_breaks > 1:
            first = True
        template = self.template
        if first and self.hdrin:
            try:
                head = rfc_parse(
                    text, cursor=cursor, separator=self.sep, quote=self.quo, headers_only=True, strict=True
                )
            except CSVParseError:
                self.status({"fill": "red", "shape": "dot", "text": "Malformed columns template."})
                raise
            template = self.template = head["headers"]
            cursor = head["cursor"]
        result = rfc_parse(
            text,
            cursor=cursor,
            separator=self.sep,
            quote=self.quo,
            data_has_header_row=False,
            headers=template if self._has_template(template) else None,
            include_null=self.include_null,
            include_empty=self.include_empty,
            parse_numeric=self.parsestrings,
        )
        self._emit_rows(
            msg, send, result["data"], self._columns(result["headers"]), has_parts, line_breaks, last
        )

    def _emit_rows(self, msg, send, data, columns, has_parts, line_breaks, last) -> None:
        if self.multi != "one":
            if has_parts and line_breaks <= 1:
                self.store.extend(data)
                parts = msg["parts"]
                if (parts.get("index") or 0) + 1 == parts.get("count"):
                    msg["payload"] = self.store
                    msg["columns"] = columns
                    del msg["parts"]
                    send(msg)
                    self.store = []
            else:
                msg["columns"] = columns
                msg["payload"] = data
                send(msg)
            return
        count = len(data)
        for i, row in enumerate(data):
            out = clone_message(msg)
            out["columns"] = columns
            out["payload"] = row
            if not has_parts:
                out["parts"] = {"id": msg.get("_msgid"), "index": i, "count": count}
            else:
                p = out["parts"]
                shift = self.skip + (1 if self.hdrin else 0)
                if isinstance(p.get("index"), (int, float)):
                    p["index"] -= shift
                if isinstance(p.get("count"), (int, float)):
                    p["count"] -= shift
            if last:
                out["complete"] = True
            send(out)
        if has_parts and last and count == 0:
            send({"complete": True})

    # ----- legacy mode -----------------------------------------------------------------
    def _legacy_quote(self, text: str, check_newline_in: str | None = None) -> str:
        if self.quo in text:
            return self.quo + text.replace('"', '""') + self.quo
        if self.sep in text or "\n" in (check_newline_in if check_newline_in is not None else text):
            return self.quo + text + self.quo
        return text

    def _legacy_to_csv(self, msg: dict, send) -> None:
        parts = msg.get("parts")
        if not (self.no_template and isinstance(parts, dict) and (parts.get("index") or 0) > 0):
            self.template = self._clean(self.template_text)
        template = self.template
        out: list[str] = []
        payload = msg["payload"]
        if payload is None:
            raise CSVParseError("Cannot convert null to CSV", "Error")
        if not isinstance(payload, list):
            payload = msg["payload"] = [payload]
        if self.hdrout != "none" and not self.hdr_sent:
            if template == [""]:
                if "columns" in msg:
                    template = self._clean(msg.get("columns") or "", ",")
                else:
                    template = list(payload[0].keys()) if isinstance(payload[0], dict) else [""]
            out.append(self.sep.join(f'"{v}"' if self.sep in v else v for v in template))
            if self.hdrout == "once":
                self.hdr_sent = True
        s = 0
        while s < len(payload):
            row = payload[s]
            if isinstance(row, list) or not isinstance(row, dict):
                if not isinstance(row, (dict, list)):
                    payload = msg["payload"] = [payload]
                    row = payload[s]
                cells = []
                for cell in row:
                    text = "" if cell is None and False else _to_str(cell)
                    cells.append(self._legacy_quote(text))
                out.append(self.sep.join(cells))
            else:
                if template == [""] and "columns" in msg:
                    template = self._clean(msg.get("columns") or "", ",")
                if template == [""]:
                    if not self.warned_template:
                        self.warn("No columns template specified.")
                        self.warned_template = True
                    cells = []
                    for key in payload[0]:
                        if key in row and not isinstance(row[key], (dict, list)) and row[key] is not None:
                            cells.append(self._legacy_quote(_to_str(row[key]), check_newline_in=key))
                    out.append(self.sep.join(cells))
                else:
                    cells = []
                    for h in template:
                        if h == "":
                            cells.append("")
                        else:
                            value = _lookup(row, h)
                            cells.append(self._legacy_quote(_to_str(value)))
                    out.append(self.sep.join(cells))
            s += 1
        self.template = template
        msg["payload"] = self.ret.join(out) + self.ret
        msg["columns"] = ",".join(f'"{v}"' if "," in v else v for v in template)
        if msg["payload"] != "":
            send(msg)

    def _legacy_value(self, value: Any, prev: str | None, *, sep_case: bool, at_end: bool = False) -> Any:
        if value is not None and self.parsestrings and _NUMBER_LEGACY.match(value.strip()):
            return _parse_float(value.strip())
        return value

    def _legacy_store(self, o: dict, template: list, j: int, value: Any) -> None:
        key = template[j] if j < len(template) else None
        if not key:
            return
        if value is not None and not isinstance(value, str):
            o[key] = value
            return
        if self.include_null and value is None:
            o[key] = value
        if self.include_empty and value == "":
            o[key] = value
        if value is not None and value != "":
            o[key] = value

    def _legacy_from_csv(self, msg: dict, send) -> None:
        line: str = msg["payload"]
        outside = True
        j = 0
        k: list = [""]
        o: dict = {}
        rows: list = []
        tmp = ""
        has_parts = "parts" in msg
        template = self.template
        linecount, first, last = self._legacy_position(msg.get("parts"))
        line_breaks = line.count("\r") + line.count("\n")
        if has_parts and self.multi == "mult" and line_breaks > 1:
            tmp = ""
            first = True

        def set_col(idx: int) -> None:
            while len(template) <= idx:
                template.append(None)
            template[idx] = f"col{idx + 1}"

        def finish(idx: int, value: Any) -> None:
            if not self.goodtmpl:
                set_col(idx)
            if idx < len(template) and template[idx]:
                value = self._legacy_value(value, None, sep_case=False)
                self._legacy_store(o, template, idx, value)

        i = 0
        n = len(line)
        while i < n:
            ch = line[i]
            if first and linecount < self.skip:
                if ch == "\n":
                    linecount += 1
                i += 1
                continue
            if self.hdrin and first:
                if ch in "\n\r" or n - i == 1:
                    if n - i == 1:
                        tmp += ch
                    template = self._clean(tmp, self.sep)
                    first = False
                else:
                    tmp += ch
            elif ch == self.quo:
                outside = not outside
                if i > 0 and line[i - 1] == self.quo and not outside:
                    k[j] += '"'
            elif ch == self.sep and outside:
                if not self.goodtmpl:
                    set_col(j)
                if j < len(template) and template[j]:
                    prev = line[i - 1] if i > 0 else ""
                    if i == 0 or prev == self.sep or prev == "\n":
                        k[j] = None
                    k[j] = self._legacy_value(k[j], None, sep_case=True)
                    self._legacy_store(o, template, j, k[j])
                j += 1
                k.append(None if i == n - 1 else "")
            elif ch in "\n\r" and outside:
                if not self.goodtmpl:
                    set_col(j)
                if j < len(template) and template[j]:
                    if i > 0 and line[i - 1] == self.sep:
                        k[j] = None
                    k[j] = self._legacy_value(k[j], None, sep_case=False)
                    self._legacy_store(o, template, j, k[j])
                if o:
                    rows.append(o)
                j = 0
                k = [""]
                o = {}
                outside = True
            else:
                if k[j] is None:
                    k[j] = ""
                k[j] += ch
            i += 1
        if not outside:
            self.warn("Malformed CSV data - output probably corrupt.")
        finish(j, k[j])
        if o:
            rows.append(o)
        self.template = template
        columns = ",".join(f'"{v}"' if "," in v else v for v in template if v)
        if self.multi == "one":
            self._emit_rows(msg, send, rows, columns, has_parts, line_breaks, last)
        elif has_parts and line_breaks <= 1:
            self._legacy_collect(msg, send, o, columns)
        else:
            msg["payload"] = rows
            msg["columns"] = columns
            send(msg)

    def _legacy_position(self, parts: Any) -> tuple[int, bool, bool]:
        """(line count so far, whether the header/skipped lines are still to come, whether this
        is the sequence's last message) from msg.parts."""
        if not isinstance(parts, dict):
            return 0, True, False
        linecount = parts.get("index") or 0
        last = "count" in parts and linecount + 1 >= parts["count"]
        return linecount, linecount <= self.skip, last

    def _legacy_collect(self, msg: dict, send, row: dict, columns: str) -> None:
        """One line of a split sequence in "mult" mode: kept until the last part, then all sent."""
        parts = msg["parts"]
        if row:
            self.store.append(row)
        if (parts.get("index") or 0) + 1 == parts.get("count"):
            msg["payload"] = self.store
            msg["columns"] = columns
            del msg["parts"]
            send(msg)
            self.store = []


def _lookup(row: dict, key: str) -> Any:
    value = row.get(key)
    return "" if value is None and key not in row else value
