"""Ports of Node-RED's test/nodes/core/parsers/70-CSV_spec.js (legacy and RFC 4180 modes)."""

import flowrt.nodes.parsers.csv  # noqa: F401
import pytest

from flowrt.testing import FlowTestHarness

NL = "\n"


async def run(config, msgs, n=1, rfc=False):
    node = {"id": "n1", "type": "csv", "wires": [["n2"]], **config}
    if rfc:
        node["spec"] = "rfc"
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        for m in msgs:
            h.node("n1").receive(m)
        return await h.node("n2").inputs(n)


@pytest.mark.parametrize("rfc", [False, True])
async def test_loaded_with_defaults(rfc):
    cfg = {"id": "c1", "type": "csv", "name": "csvNode", **({"spec": "rfc"} if rfc else {})}
    async with FlowTestHarness([cfg]) as h:
        node = h.node("c1").node
        assert (node.name, node.template_text, node.sep, node.quo, node.multi, node.hdrin) == (
            "csvNode",
            "",
            ",",
            '"',
            "one",
            False,
        )
        assert node.ret == ("\r\n" if rfc else "\n")


# (name, config, input payloads, expected payloads, expected columns or None)
COMMON_TO_OBJECT = [
    ("simple", {"temp": "a,b,c,d"}, ["1,2,3,4\n"], [{"a": 1, "b": 2, "c": 3, "d": 4}], "a,b,c,d"),
    (
        "pipe no template",
        {"sep": "|"},
        ["1|2|3|4\n"],
        [{"col1": 1, "col2": 2, "col3": 3, "col4": 4}],
        "col1,col2,col3,col4",
    ),
    (
        "tab with template",
        {"sep": "\t", "temp": "A,B,,D"},
        ["1\t2\t3\t4\n"],
        [{"A": 1, "B": 2, "D": 4}],
        "A,B,D",
    ),
    (
        "no template",
        {"temp": ""},
        ["1,2,3,4\n"],
        [{"col1": 1, "col2": 2, "col3": 3, "col4": 4}],
        "col1,col2,col3,col4",
    ),
    ("dropping fields", {"temp": "a,,,d"}, ["1,2,3,4\n"], [{"a": 1, "d": 4}], "a,d"),
    (
        "header line",
        {"temp": "", "hdrin": True},
        ['a,b b,"c,c","d, d"\n1,2,3,4\n'],
        [{"a": 1, "b b": 2, "c,c": 3, "d, d": 4}],
        'a,b b,"c,c","d, d"',
    ),
    (
        "header line not comma",
        {"temp": "", "hdrin": True, "sep": ";"},
        ['a;b b;"c;c";"d, d"\n1;2;3;4\n'],
        [{"a": 1, "b b": 2, "c;c": 3, "d, d": 4}],
        'a,b b,c;c,"d, d"',
    ),
    (
        "header line slash",
        {"temp": "", "hdrin": True, "sep": "/"},
        ['a/b b/"c/c"/"d, d"\n1/2/3/4\n'],
        [{"a": 1, "b b": 2, "c/c": 3, "d, d": 4}],
        'a,b b,c/c,"d, d"',
    ),
    (
        "header line backslash",
        {"temp": "", "hdrin": True, "sep": "\\"},
        ['a\\b b\\"c\\c"\\"d, d"\n1\\2\\3\\4\n'],
        [{"a": 1, "b b": 2, "c\\c": 3, "d, d": 4}],
        'a,b b,c\\c,"d, d"',
    ),
    (
        "0 e + stay strings",
        {"temp": "a,b,c,d,e,f,g"},
        ["123,0123,+123,e123,E123,-123\n"],
        [{"a": 123, "b": "0123", "c": "+123", "d": "e123", "e": "E123", "f": -123}],
        None,
    ),
    (
        "strings false",
        {"temp": "a,b,c,d,e,f,g", "strings": False},
        ["1.23,0123,+123,e123,0,-123,1e3\n"],
        [{"a": "1.23", "b": "0123", "c": "+123", "d": "e123", "e": "0", "f": "-123", "g": "1e3"}],
        None,
    ),
    (
        "scientific",
        {"temp": "a,b,c,d,e,f,g"},
        ["12E3,12e-3,-12e3,-12E-3\n"],
        [{"a": 12000, "b": 0.012, "c": -12000, "d": -0.012}],
        None,
    ),
    (
        "quotes drop blanks",
        {"temp": "a,b,c,d,e,f,g,h"},
        ['"1","-2","+3","04","","-05","ab""cd","with,a,comma"\n'],
        [{"a": 1, "b": -2, "c": "+3", "d": "04", "f": "-05", "g": 'ab"cd', "h": "with,a,comma"}],
        None,
    ),
    (
        "cr and lf",
        {"temp": "a,b,c,d,e,f,g"},
        ['"with a\nnew line","and a\rcarriage return","and why\r\nnot both"\n'],
        [{"a": "with a\nnew line", "b": "and a\rcarriage return", "c": "and why\r\nnot both"}],
        None,
    ),
    (
        "first line as template",
        {"temp": "a,b,c,d", "hdrin": True},
        ["w,x,y,z\n1,2,3,4\n\n5,6,7,8"],
        [{"w": 1, "x": 2, "y": 3, "z": 4}, {"w": 5, "x": 6, "y": 7, "z": 8}],
        "w,x,y,z",
    ),
    (
        "ip addresses",
        {"temp": "a,b,c,d,e"},
        ["a,127.0.0.1,56.7,-32.8,+76.22C"],
        [{"a": "a", "b": "127.0.0.1", "c": 56.7, "d": -32.8, "e": "+76.22C"}],
        None,
    ),
    (
        "skip lines",
        {"temp": "a,b,c,d", "skip": 2},
        ["1,2,3,4\n5,6,7,8\n9,0,A,B\n"],
        [{"a": 9, "b": 0, "c": "A", "d": "B"}],
        None,
    ),
    (
        "skip then header",
        {"temp": "a,b,c,d", "hdrin": True, "skip": 2},
        ["1,2,3,4\n5,6,7,8\n9,0,A,B\nC,D,E,F\n"],
        [{"9": "C", "0": "D", "A": "E", "B": "F"}],
        None,
    ),
]


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
@pytest.mark.parametrize(
    ("name", "config", "inputs", "expected", "columns"),
    COMMON_TO_OBJECT,
    ids=[c[0] for c in COMMON_TO_OBJECT],
)
async def test_csv_to_object(rfc, name, config, inputs, expected, columns):
    outs = await run(config, [{"payload": p} for p in inputs], len(expected), rfc=rfc)
    assert [o["payload"] for o in outs] == expected
    if columns is not None:
        assert all(o["columns"] == columns for o in outs)


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_parts_added_per_row(rfc):
    outs = await run({"temp": "a,b"}, [{"payload": "1,2\n3,4\n", "_msgid": "m1"}], 2, rfc=rfc)
    assert [o["parts"] for o in outs] == [
        {"id": "m1", "index": 0, "count": 2},
        {"id": "m1", "index": 1, "count": 2},
    ]


async def test_legacy_space_separator_spaced_template():
    [out] = await run({"sep": " ", "temp": "A, B, , D"}, [{"payload": "1 2 3 4\n"}])
    assert out["payload"] == {"A": 1, "B": 2, "D": 4}
    assert out["columns"] == "A,B,D"


async def test_rfc_space_separator_spaced_template():
    # RFC mode keeps the spaces of the template's column names
    [out] = await run({"sep": " ", "temp": "A, B, , D"}, [{"payload": "1 2 3 4\n"}], rfc=True)
    assert out["payload"] == {"A": 1, " B": 2, " ": 3, " D": 4}
    assert out["columns"] == "A, B, , D"


@pytest.mark.parametrize("sep", [",", ";", "/", "\\"])
async def test_rfc_header_line_keeps_spaces(sep):
    header = sep.join(["a", "b b", f'"c{sep}c"', '" d, d "'])
    data = sep.join("1234")
    [out] = await run(
        {"temp": "", "hdrin": True, "sep": sep}, [{"payload": header + "\n" + data + "\n"}], rfc=True
    )
    assert out["payload"] == {"a": 1, "b b": 2, f"c{sep}c": 3, " d, d ": 4}
    cc = f'"c{sep}c"' if sep == "," else f"c{sep}c"
    assert out["columns"] == f'a,b b,{cc}," d, d "'


@pytest.mark.parametrize(
    ("config", "payload", "columns"),
    [
        ({"temp": ""}, {"d": 1, "b": "foo", "c": 'ba"r', "a": "di,ng"}, "d,b,c,a"),
        ({"temp": "a,b o,c p,,e"}, {"e": 0, "d": 1, "b o": "foo", "c p": True, "a": 4}, "a,b o,c p,e"),
        ({"temp": ""}, [{"d": 1, "b": 3, "c": 2, "a": 4}, {"d": 4, "a": 1, "c": 3, "b": 2}], "d,b,c,a"),
        ({"temp": "a,b,c,d"}, [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]], "a,b,c,d"),
        ({"temp": "", "hdrout": "all"}, [{'a"a': "A1", "b'b": "B1"}], '"a""a",b\'b'),
    ],
)
async def test_rfc_columns_on_output(config, payload, columns):
    [out] = await run(config, [{"payload": payload}], rfc=True)
    assert out["columns"] == columns


async def test_legacy_template_quotes_and_whitespace_removed():
    [out] = await run({"temp": '"a",  "b" , " c "," d  " '}, [{"payload": "1,2,3,4\n"}])
    assert out["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4}


async def test_rfc_bad_template_sets_status_and_warns():
    node = {"id": "n1", "type": "csv", "spec": "rfc", "temp": '"a",  "b" , " c "," d  " ', "wires": [["n2"]]}
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        assert h.runtime.get_node("n1") is None
        assert any("template" in r.text for r in h.logs if r.level == "warn")


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_commas_and_spaces_in_template(rfc):
    temp = 'a,b b,"c,c"," d, d "' if not rfc else 'a,b b,"c,c","d, d"'
    [out] = await run({"temp": temp}, [{"payload": "1,2,3,4\n"}], rfc=rfc)
    assert out["payload"] == {"a": 1, "b b": 2, "c,c": 3, "d, d": 4}
    assert out["columns"] == 'a,b b,"c,c","d, d"'


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_parse_numbers_with_spaces(rfc):
    [out] = await run({"temp": "a,b,c,d,e,f,g"}, [{"payload": " 1.23 ,  -123,1e3 ,    0  \n"}], rfc=rfc)
    assert out["payload"] == {"a": 1.23, "b": -123, "c": 1000, "d": 0}


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_blank_strings_if_selected(rfc):
    text = '"1","","","","-05","ab""cd","with,a,comma"\n'
    [out] = await run({"temp": "a,b,c,d,e,f,g", "include_empty_strings": True}, [{"payload": text}], rfc=rfc)
    assert out["payload"] == {
        "a": 1,
        "b": "",
        "c": "",
        "d": "",
        "e": "-05",
        "f": 'ab"cd',
        "g": "with,a,comma",
    }


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_nulls_if_selected(rfc):
    text = '"1",,"+3",,"-05","ab""cd","with,a,comma"\n'
    [out] = await run({"temp": "a,b,c,d,e,f,g", "include_null_values": True}, [{"payload": text}], rfc=rfc)
    expected = {"a": 1, "b": None, "c": "+3", "d": None, "e": "-05", "f": 'ab"cd', "g": "with,a,comma"}
    assert out["payload"] == expected


async def test_legacy_recovers_from_odd_quotes():
    text = '"with,a"n,odd","num"ber","of"qu"ot"es"\n'
    outs = await run(
        {"temp": "a,b,c,d,e,f,g"}, [{"payload": text}, {"payload": '"this is","a normal","line"'}], 2
    )
    assert outs[0]["payload"] == {"a": "with,an", "b": "odd,number", "c": "ofquotes\n"}
    assert outs[1]["payload"] == {"a": "this is", "b": "a normal", "c": "line"}


async def test_legacy_recovers_from_odd_quotes_2():
    text = '"with,a"n,odd","num"ber","of"qu"ot"es"\n"this is","a normal","line"\n'
    outs = await run(
        {"temp": "a,b,c,d,e,f,g"}, [{"payload": text}, {"payload": '"this is","another","line"'}], 2
    )
    assert outs[0]["payload"] == {"a": "with,an", "b": "odd,number", "c": "ofquotes\nthis is,a normal,line\n"}
    assert outs[1]["payload"] == {"a": "this is", "b": "another", "c": "line"}


async def test_rfc_recovers_from_odd_quotes():
    text = '"with,a"n,odd","num"ber","of"qu"ot"es"\n'
    outs = await run(
        {"temp": "a,b,c,d,e,f,g"},
        [{"payload": text}, {"payload": '"this is","a normal","line"'}],
        2,
        rfc=True,
    )
    assert outs[1]["payload"] == {"a": "this is", "b": "a normal", "c": "line"}
    assert outs[0]["payload"] == {"a": 'with,a"n', "b": "odd", "c": 'num"ber', "d": 'of"qu"ot"es'}


async def test_rfc_newlines_in_data():
    [out] = await run(
        {"temp": "a,b,c,d,e,f,g"}, [{"payload": 'ay,be,"c has 2\nnew\nlines",dee,eee,eff,gee'}], rfc=True
    )
    assert out["payload"] == {
        "a": "ay",
        "b": "be",
        "c": "c has 2\nnew\nlines",
        "d": "dee",
        "e": "eee",
        "f": "eff",
        "g": "gee",
    }


async def test_rfc_quoted_cells_and_crlf():
    text = 'a,b\n"1\n2",3\r\n"x""y",z\n'
    outs = await run({"temp": "", "hdrin": True}, [{"payload": text}], 2, rfc=True)
    assert [o["payload"] for o in outs] == [{"a": "1\n2", "b": 3}, {"a": 'x"y', "b": "z"}]


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_multiple_lines_as_one_array(rfc):
    [out] = await run(
        {"temp": "a,b,c,d", "multi": "yes"}, [{"payload": "1,2,3,4\n5,-6,07,+8\n9,0,a,b\nc,d,e,f"}], rfc=rfc
    )
    assert out["payload"] == [
        {"a": 1, "b": 2, "c": 3, "d": 4},
        {"a": 5, "b": -6, "c": "07", "d": "+8"},
        {"a": 9, "b": 0, "c": "a", "d": "b"},
        {"a": "c", "b": "d", "c": "e", "d": "f"},
    ]
    assert out["columns"] == "a,b,c,d"
    assert "parts" not in out


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_array_from_multiple_parts(rfc):
    msgs = [
        {"payload": "a,b,c", "parts": {"index": 0, "ch": "\n", "type": "string", "id": "1"}},
        {"payload": "1,2,3", "parts": {"index": 1, "ch": "\n", "type": "string", "id": "1"}},
        {"payload": "4,5,6", "parts": {"index": 2, "ch": "\n", "type": "string", "id": "1"}},
        {"payload": "7,8,9", "parts": {"index": 3, "count": 4, "ch": "\n", "type": "string", "id": "1"}},
    ]
    [out] = await run({"temp": "", "hdrin": True, "multi": "mult"}, msgs, rfc=rfc)
    assert out["payload"] == [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}, {"a": 7, "b": 8, "c": 9}]
    assert out["columns"] == "a,b,c"
    assert "parts" not in out


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_multiple_objects_as_array_from_part(rfc):
    msg = {
        "payload": "Col1,Col2\nV1,V2\nV3,V4\nV5,V6",
        "topic": "",
        "parts": {"id": "3af07e18.865652", "type": "array", "count": 2, "len": 1, "index": 0},
    }
    [out] = await run({"temp": "", "hdrin": True, "multi": "yes"}, [msg], rfc=rfc)
    assert out["payload"] == [
        {"Col1": "V1", "Col2": "V2"},
        {"Col1": "V3", "Col2": "V4"},
        {"Col1": "V5", "Col2": "V6"},
    ]
    assert out["columns"] == "Col1,Col2"
    assert "parts" in out


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_preserve_parts(rfc):
    [out] = await run(
        {"temp": "a,b,c,d"}, [{"payload": "1,2,3,4\n", "parts": {"id": "X", "index": 3, "count": 4}}], rfc=rfc
    )
    assert out["payload"] == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert out["parts"] == {"id": "X", "index": 3, "count": 4}
    assert out["complete"] is True


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_first_part_as_template(rfc):
    msgs = [
        {"payload": t, "parts": {"id": "X", "index": i, "count": 3}}
        for i, t in enumerate(["w,x,y,z\n", "1,2,3,4\n", "5,6,7,8\n"])
    ]
    outs = await run({"temp": "", "hdrin": True}, msgs, 2, rfc=rfc)
    assert [o["payload"] for o in outs] == [
        {"w": 1, "x": 2, "y": 3, "z": 4},
        {"w": 5, "x": 6, "y": 7, "z": 8},
    ]
    assert [(o["parts"]["index"], o["parts"]["count"]) for o in outs] == [(0, 2), (1, 2)]


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_skip_and_correct_parts(rfc):
    outs = await run(
        {"temp": "a,b,c,d", "skip": 2},
        [{"payload": "1,2,3,4\n5,6,7,8\n9,0,A,B\nC,D,E,F\n", "_msgid": "m"}],
        2,
        rfc=rfc,
    )
    assert [o["payload"] for o in outs] == [
        {"a": 9, "b": 0, "c": "A", "d": "B"},
        {"a": "C", "b": "D", "c": "E", "d": "F"},
    ]
    assert [o["parts"] for o in outs] == [
        {"id": "m", "index": 0, "count": 2},
        {"id": "m", "index": 1, "count": 2},
    ]


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_skip_then_first_part_as_template(rfc):
    texts = ["foo\n", "bar\n", "w,x,y,z\n", "1,2,3,4\n", "5,6,7,8\n"]
    msgs = [{"payload": t, "parts": {"id": "X", "index": i, "count": 5}} for i, t in enumerate(texts)]
    outs = await run({"temp": "", "hdrin": True, "skip": 2}, msgs, 2, rfc=rfc)
    assert [o["payload"] for o in outs] == [
        {"w": 1, "x": 2, "y": 3, "z": 4},
        {"w": 5, "x": 6, "y": 7, "z": 8},
    ]
    assert all(o["columns"] == "w,x,y,z" for o in outs)
    assert [(o["parts"]["index"], o["parts"]["count"]) for o in outs] == [(0, 2), (1, 2)]


# ----- object to CSV --------------------------------------------------------------------

TO_CSV = [
    (
        "simple object",
        {"temp": "a,b,c,,e,f,g,h,i,j,k"},
        {
            "e": 0,
            "d": 1,
            "b": "foo",
            "c": True,
            "a": 4,
            "f": "Hello\nWorld",
            "i": "undefined",
            "j": None,
            "k": "null",
        },
        '4,foo,true,,0,"Hello\nWorld",,,undefined,null,null\n',
        '4,foo,true,,0,"Hello\nWorld",,,undefined,null,null\r\n',
    ),
    (
        "tab separator",
        {"temp": "", "sep": "\t"},
        {"d": 1, "b": "foo", "c": 'ba"r', "a": "di,ng"},
        '1\tfoo\t"ba""r"\tdi,ng\n',
        '1\tfoo\t"ba""r"\tdi,ng\r\n',
    ),
    (
        "spaces in names",
        {"temp": "a,b o,c p,,e"},
        {"e": 0, "d": 1, "b o": "foo", "c p": True, "a": 4},
        "4,foo,true,,0\n",
        "4,foo,true,,0\r\n",
    ),
    (
        "array of objects",
        {"temp": "a,d,c,b"},
        [{"d": 1, "b": 3, "c": 2, "a": 4}, {"d": 4, "a": 1, "c": 3, "b": 2}],
        "4,1,2,3\n1,4,3,2\n",
        "4,1,2,3\r\n1,4,3,2\r\n",
    ),
    (
        "array of objects with header",
        {"temp": "a,b,c,d", "hdrout": "all"},
        [{"d": 1, "b": 3, "c": 2, "a": 4}, {"d": "a\nb", "a": 1, "c": 3, "b": 2}],
        'a,b,c,d\n4,3,2,1\n1,2,3,"a\nb"\n',
        'a,b,c,d\r\n4,3,2,1\r\n1,2,3,"a\nb"\r\n',
    ),
    (
        "array of objects no template",
        {"temp": ""},
        [{"d": 1, "b": 3, "c": 2, "a": 4}, {"d": 4, "a": 1, "c": 3, "b": 2}],
        "1,3,2,4\n4,2,3,1\n",
        "1,3,2,4\r\n4,2,3,1\r\n",
    ),
    (
        "array of objects no template with header",
        {"temp": "", "hdrout": "all"},
        [{"d": 1, "b": 3, "c": 2, "a": 4}, {"d": 4, "a": 1, "c": 3, "b": "f\ng"}],
        'd,b,c,a\n1,3,2,4\n4,"f\ng",3,1\n',
        'd,b,c,a\r\n1,3,2,4\r\n4,"f\ng",3,1\r\n',
    ),
    (
        "simple array",
        {"temp": "a,b,c,d"},
        ["", 0, 1, "foo", 'ba"r', "di,ng", "fa\nba"],
        None,
        None,
    ),
    (
        "array of arrays",
        {"temp": "a,b,c,d"},
        [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]],
        "0,1,2,3,4\n4,3,2,1,0\n",
        "0,1,2,3\r\n4,3,2,1\r\n",
    ),
    (
        "column names first row",
        {"temp": "a,b,c,d", "hdrout": True, "ret": "\r\n"},
        [{"d": 1, "b": 3, "c": 2, "a": 4}],
        "a,b,c,d\r\n4,3,2,1\r\n",
        "a,b,c,d\r\n4,3,2,1\r\n",
    ),
    (
        "column names and missing properties",
        {"hdrout": True, "ret": "\r\n"},
        [
            {"col1": "H1", "col2": "H2", "col3": "H3", "col4": "H4"},
            {"col1": "A", "col2": "B"},
            {"col1": "A", "col3": "C"},
            {"col1": "A", "col4": "D\nE"},
        ],
        'col1,col2,col3,col4\r\nH1,H2,H3,H4\r\nA,B,,\r\nA,,C,\r\nA,,,"D\nE"\r\n',
        'col1,col2,col3,col4\r\nH1,H2,H3,H4\r\nA,B,,\r\nA,,C,\r\nA,,,"D\nE"\r\n',
    ),
    (
        "quotes and sub-properties",
        {"temp": "a,b,c,d"},
        {"d": {"sub": "object"}, "b": "text,with,commas", "c": 'This "is" a banana', "a": {}},
        '{},"text,with,commas","This ""is"" a banana","{""sub"":""object""}"\n',
        '{},"text,with,commas","This ""is"" a banana","{""sub"":""object""}"\r\n',
    ),
]


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
@pytest.mark.parametrize(
    ("name", "config", "payload", "legacy", "rfc_text"), TO_CSV, ids=[c[0] for c in TO_CSV]
)
async def test_object_to_csv(rfc, name, config, payload, legacy, rfc_text):
    if name == "simple array":
        legacy = ',0,1,foo,"ba""r","di,ng","fa\nba"\n'
        rfc_text = ",0,1,foo\r\n"
    [out] = await run(config, [{"payload": payload}], rfc=rfc)
    assert out["payload"] == (rfc_text if rfc else legacy)


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_object_to_csv_no_template(rfc):
    payload = {"d": 1, "b": "foo", "c": 'ba"r', "a": "di,ng", "f": "undefined", "g": None, "h": "null"}
    # legacy mode trims a blank template; RFC mode keeps the space, so its case uses ""
    [out] = await run({"temp": "" if rfc else " "}, [{"payload": payload}], rfc=rfc)
    assert out["payload"] == '1,foo,"ba""r","di,ng",undefined,null' + ("\r\n" if rfc else "\n")


async def test_rfc_tsv_with_headers():
    [out] = await run(
        {"temp": "", "sep": "\t", "hdrout": "all"},
        [{"payload": {"d": 1, "b": "foo", "c": 'ba"r', "a": "di,ng"}}],
        rfc=True,
    )
    assert out["payload"] == 'd\tb\tc\ta\r\n1\tfoo\t"ba""r"\tdi,ng\r\n'


async def test_legacy_template_with_quotes_in_names():
    payload = [{'a"a': "A1", "b'b": "B1"}, {'a"a': "A2", "b'b": "B2"}]
    [out] = await run({"temp": "", "hdrout": "all"}, [{"payload": payload}])
    assert out["payload"] == "a\"a,b'b\nA1,B1\nA2,B2\n"


async def test_rfc_template_with_quotes_in_names():
    payload = [{'a"a': "A1", "b'b": "B1"}, {'a"a': "A2", "b'b": "B2"}]
    [out] = await run({"temp": "", "hdrout": "all"}, [{"payload": payload}], rfc=True)
    assert out["payload"] == '"a""a",b\'b\r\nA1,B1\r\nA2,B2\r\n'


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_pass_in_column_names_once(rfc):
    row = [{"d": 1, "b": 3, "c": 2, "a": 4}]
    msgs = [
        {"payload": row, "columns": "a,,b,a", "parts": {"index": 0}},
        {"payload": row, "parts": {"index": 1}},
        {"payload": row, "parts": {"index": 2}},
    ]
    outs = await run({"temp": "", "hdrout": "once", "ret": "\r\n"}, msgs, 3, rfc=rfc)
    assert outs[0]["payload"] == "a,,b,a\r\n4,,3,4\r\n"
    assert outs[2]["payload"] == "4,,3,4\r\n"


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_pass_in_column_names_with_array(rfc):
    row = {"d": 1, "b": 3, "c": 2, "a": 4}
    [out] = await run(
        {"hdrout": "once", "ret": "\r\n"}, [{"payload": [row, row, row], "columns": "a,,b,a"}], rfc=rfc
    )
    assert out["payload"] == "a,,b,a\r\n4,,3,4\r\n4,,3,4\r\n4,,3,4\r\n"


@pytest.mark.parametrize("rfc", [False, True], ids=["legacy", "rfc"])
async def test_pass_through_without_payload(rfc):
    [out] = await run({"temp": "a,b,c,d"}, [{"topic": {"a": 4}}], rfc=rfc)
    assert out["topic"] == {"a": 4}
    assert "payload" not in out


async def test_legacy_warns_on_number_or_boolean():
    node = {"id": "n1", "type": "csv", "temp": "a,b,c,d", "wires": [["n2"]]}
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        h.node("n1").receive({"payload": 1})
        h.node("n1").receive({"payload": True})
        first = await h.node("n1").next_log("warn")
        second = await h.node("n1").next_log("warn")
        assert "CSV strings or js objects" in first.text and "CSV strings or js objects" in second.text


async def test_rfc_error_and_status_on_number():
    node = {"id": "n1", "type": "csv", "spec": "rfc", "temp": "a,b,c,d", "wires": [["n2"]]}
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        h.node("n1").receive({"payload": 1})
        err, msg = await h.node("n1").next_error()
        assert "CSV strings or js objects" in str(err)
        assert msg["payload"] == 1
        statuses = [s for s in h.node("n1").statuses if s.get("fill") == "red"]
        assert statuses
        assert h.node("n2").received == []


def _need_complete():
    from flowrt.engine.loader import load_builtin_nodes
    from flowrt.engine.registry import registry

    load_builtin_nodes()
    if registry.get_type("complete") is None:
        pytest.skip("complete node not available")


@pytest.mark.parametrize(("rfc", "payload"), [(False, "1,2,3,4"), (True, "1,2,3,4"), (False, 1)])
async def test_done_called(rfc, payload):
    _need_complete()
    nodes = [
        {"id": "n1", "type": "csv", "temp": "a,b,c,d", "wires": [[]], **({"spec": "rfc"} if rfc else {})},
        {"id": "c1", "type": "complete", "scope": ["n1"], "uncaught": False, "wires": [["h1"]]},
        {"id": "h1", "type": "helper"},
    ]
    async with FlowTestHarness(nodes) as h:
        h.node("n1").receive({"payload": payload})
        msg = await h.node("h1").next_input()
        assert msg["payload"] == payload


@pytest.mark.parametrize(
    "header,text",
    [
        ('a,b"c\n1,2\n', "UnquotedQuoteError: Quote found in the middle of an unquoted field"),
        ('"a"b,c\n1,2\n', "DataAfterCloseError: Data found after closing quote"),
        ('"a,b\n1,2\n', "ParseError: Missing quote, unclosed cell"),
    ],
)
async def test_rfc_malformed_header_error_is_the_csv_librarys_error(header, text):
    # 70-CSV.js (RFC mode) rethrows its csv library's ParseError subclasses and calls done(e)
    node = {"id": "n1", "type": "csv", "spec": "rfc", "temp": "", "hdrin": True, "wires": [["n2"]]}
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        h.node("n1").receive({"payload": header})
        err, _ = await h.node("n1").next_error()
        assert str(err) == text


async def test_rfc_wrong_payload_type_is_an_error_object():
    # done(new Error(RED._("csv.errors.csv_js"))): the catch node sees "Error: ..."
    node = {"id": "n1", "type": "csv", "spec": "rfc", "temp": "a", "wires": [["n2"]]}
    async with FlowTestHarness([node, {"id": "n2", "type": "helper"}]) as h:
        h.node("n1").receive({"payload": 1})
        err, _ = await h.node("n1").next_error()
        assert str(err) == "Error: This node only handles CSV strings or js objects."
