"""Ports of the file-in cases of Node-RED's test/nodes/core/storage/10-file_spec.js."""

import flowrt.nodes.storage.file_in  # noqa: F401
import pytest

from flowrt.lang import iconv_codecs
from flowrt.lang.nodefs import encode_text
from flowrt.testing import FlowTestHarness

TEXT = "File message line 1\nFile message line 2\n"


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "50-file-test-file.txt"
    path.write_text(TEXT)
    return path


def flow(**config):
    return [
        {"id": "fileInNode1", "type": "file in", "name": "fileInNode", "wires": [["n2"]], **config},
        {"id": "n2", "type": "helper"},
    ]


async def read(config, msg=None, n=1, settings=None):
    async with FlowTestHarness(flow(**config), settings=settings) as h:
        h.node("fileInNode1").receive(msg if msg is not None else {"payload": ""})
        return await h.node("n2").inputs(n)


async def test_loaded(target):
    async with FlowTestHarness(
        [{"id": "f1", "type": "file in", "name": "fileInNode", "filename": str(target), "format": "utf8"}]
    ) as h:
        assert h.node("f1").node.name == "fileInNode"


async def test_read_buffer(target):
    [msg] = await read({"filename": str(target), "format": ""})
    assert msg["payload"] == TEXT.encode()
    assert msg["filename"] == str(target)


async def test_read_utf8_string(target):
    [msg] = await read({"filename": str(target), "format": "utf8"})
    assert msg["payload"] == TEXT


async def test_read_using_jsonata(target):
    expr = f"'{target.parent.as_posix()}/' & (20+30) & '-file-test-file.txt'"
    [msg] = await read({"filename": expr, "filenameType": "jsonata", "format": "utf8"})
    assert msg["payload"] == TEXT


async def test_read_using_file_working_directory(target):
    [msg] = await read(
        {"filename": target.name, "format": "utf8"}, settings={"fileWorkingDirectory": str(target.parent)}
    )
    assert msg["payload"] == TEXT


async def test_filename_with_tab_and_crlf(target):
    [msg] = await read({"filename": "\t" + str(target) + "\r\n", "format": "utf8"})
    assert msg["payload"] == TEXT


async def test_read_lines_with_parts(target):
    msgs = await read(
        {"filename": str(target), "format": "lines"},
        {"payload": "", "topic": "A", "foo": "bar", "bar": "foo", "_msgid": "m1"},
        3,
    )
    assert [m["payload"] for m in msgs] == ["File message line 1", "File message line 2", ""]
    for i, m in enumerate(msgs):
        assert m["topic"] == "A"
        assert "foo" not in m and "bar" not in m
        assert m["parts"]["index"] == i and m["parts"]["type"] == "string" and m["parts"]["ch"] == "\n"
        assert m["parts"]["id"] == "m1"
    assert msgs[2]["parts"]["count"] == 3
    assert "count" not in msgs[0]["parts"]


async def test_read_lines_with_empty_lines(tmp_path):
    data = ["-", "", "-", ""]
    path = tmp_path / "f.txt"
    path.write_text("\n".join(data))
    msgs = await read({"filename": str(path), "format": "lines"}, n=4)
    assert [m["payload"] for m in msgs] == data
    assert [m["parts"].get("count") for m in msgs] == [None, None, None, 4]


async def test_read_lines_with_all_props(target):
    msgs = await read(
        {"filename": str(target), "format": "lines", "allProps": True},
        {"payload": "", "topic": "B", "foo": "bar", "bar": "foo"},
        3,
    )
    assert all(m["topic"] == "B" and m["foo"] == "bar" and m["bar"] == "foo" for m in msgs)
    assert [m["parts"]["index"] for m in msgs] == [0, 1, 2]


async def test_read_buffer_with_parts(target):
    [msg] = await read({"filename": str(target), "format": "stream"})
    assert msg["payload"] == TEXT.encode()
    assert msg["parts"]["count"] == 1 and msg["parts"]["type"] == "buffer" and msg["parts"]["ch"] == ""


async def test_read_large_file_in_chunks(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (64 * 1024 * 2 + 10))
    msgs = await read({"filename": str(path), "format": "stream"}, n=3)
    assert [len(m["payload"]) for m in msgs] == [65536, 65536, 10]
    assert msgs[2]["parts"]["count"] == 3


async def test_read_exact_multiple_sends_closing_part(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 65536)
    msgs = await read({"filename": str(path), "format": "stream"}, n=2)
    assert msgs[1]["parts"]["count"] == 1 and "payload" not in msgs[1]


async def test_warn_if_no_filename():
    async with FlowTestHarness([{"id": "f1", "type": "file in", "format": "", "wires": []}]) as h:
        h.node("f1").receive({})
        record = await h.node("f1").next_log("warn")
        assert record.text == "No filename specified"


async def test_read_error(tmp_path):
    async with FlowTestHarness(flow(filename=str(tmp_path / "badfile"), format="")) as h:
        h.node("fileInNode1").receive({"payload": ""})
        msg = await h.node("n2").next_input()
        assert "payload" not in msg
        assert msg["error"]["code"] == "ENOENT"
        err, _ = await h.node("fileInNode1").next_error()
        assert str(err).startswith("Error")


async def test_read_error_without_send_error(tmp_path):
    async with FlowTestHarness(flow(filename=str(tmp_path / "badfile"), format="", sendError=False)) as h:
        h.node("fileInNode1").receive({"payload": ""})
        await h.node("fileInNode1").next_error()
        assert h.node("n2").received == []


ENCODINGS = [
    ("none", "試験"),
    ("utf8", "試験"),
    ("ucs2", "試験"),
    ("utf-16le", "試験"),
    ("binary", "test"),
    ("base64", "5pel5pys6KqeCg=="),
    ("hex", "deadbeef"),
    ("utf-16be", "試験"),
    ("Shift_JIS", "試験"),
    ("Windows-31j", "試験"),
    ("Windows932", "試験"),
    ("EUC-JP", "試験"),
    ("GB2312", "test"),
    ("GBK", "試験"),
    ("GB18030", "試験"),
    ("Windows936", "試験"),
    ("EUC-CN", "test"),
    ("KS_C_5601", "test"),
    ("Windows949", "test"),
    ("EUC-KR", "test"),
    ("Big5", "test"),
    ("Big5-HKSCS", "test"),
    ("Windows950", "test"),
] + [
    (e, "test")
    for e in (
        "cp874 cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp437 cp737 cp775 cp850 cp852 cp855 "
        "cp856 cp857 cp858 cp860 cp861 cp866 cp869 cp1125 maccroatian maccyrillic macgreek maciceland macroman "
        "macromania macturkish maccenteuro macintosh koi8-r koi8-u koi8-t rk1048 pt154 tis620 hproman8"
    ).split()
]


@pytest.mark.parametrize(("encoding", "data"), ENCODINGS, ids=[e for e, _ in ENCODINGS])
async def test_read_with_encoding(tmp_path, encoding, data):
    path = tmp_path / "enc.txt"
    path.write_bytes(encode_text(data, encoding))
    [msg] = await read({"filename": str(path), "format": "utf8", "encoding": encoding})
    assert msg["payload"] == data


# Code pages Python lacks, from the system's iconv (flowrt.lang.iconv_codecs). iconv-lite writes
# "test" as b"test" in each. Where the system's iconv lacks one (glibc: cp808, macthai), the
# node must refuse to start rather than read wrong text; the case is then skipped.
ICONV_ENCODINGS = (
    "cp808 cp922 cp1046 cp1124 cp1129 cp1133 cp1161 cp1162 cp1163 macthai macukraine koi8-ru armscii8 tcvn "
    "georgianacademy georgianps viscii iso646cn iso646jp"
).split()


@pytest.mark.parametrize("encoding", ICONV_ENCODINGS)
async def test_read_with_iconv_encoding(tmp_path, encoding):
    path = tmp_path / "enc.txt"
    path.write_bytes(b"test")
    if not iconv_codecs.available(encoding):
        async with FlowTestHarness(flow(filename=str(path), format="utf8", encoding=encoding)) as h:
            assert h.runtime.get_node("fileInNode1") is None
        pytest.skip(f"the system's iconv has no {encoding}")
    [msg] = await read({"filename": str(path), "format": "utf8", "encoding": encoding})
    assert msg["payload"] == "test"


async def test_read_lines_with_iconv_encoding(tmp_path):
    if not iconv_codecs.available("koi8-ru"):
        pytest.skip("the system's iconv has no KOI8-RU")
    path = tmp_path / "enc.txt"
    path.write_bytes(bytes.fromhex("f0d2c9d7a6d4") + b"\n" + bytes.fromhex("e1c2d7"))
    msgs = await read({"filename": str(path), "format": "lines", "encoding": "koi8-ru"}, n=2)
    assert [m["payload"] for m in msgs] == ["Привіт", "Абв"]


async def test_lines_with_multibyte_encoding_across_chunks(tmp_path):
    path = tmp_path / "enc.txt"
    text = ("試験" * 40000 + "\n") * 2
    path.write_bytes(text.encode("shift_jis"))
    msgs = await read({"filename": str(path), "format": "lines", "encoding": "Shift_JIS"}, n=3)
    assert [m["payload"] for m in msgs] == ["試験" * 40000, "試験" * 40000, ""]


# Node's fs error wording, as 10-file.js reports it: node.error(err, msg) shows err.toString()
# ("Error: ENOENT: ..."), and with sendError the message carries the error object (message without
# the "Error: " prefix, code, errno, syscall, path).


async def test_missing_file_error_has_nodes_wording(tmp_path):
    missing = str(tmp_path / "x" / "y")
    flow_nodes = flow(filename=missing, format="") + [
        {"id": "c1", "type": "catch", "scope": ["fileInNode1"], "wires": [["caught"]]},
        {"id": "caught", "type": "helper"},
    ]
    async with FlowTestHarness(flow_nodes) as h:
        h.node("fileInNode1").receive({"payload": ""})
        msg = await h.node("n2").next_input()
        assert msg["error"] == {
            "message": f"ENOENT: no such file or directory, open '{missing}'",
            "code": "ENOENT",
            "errno": -2,
            "syscall": "open",
            "path": missing,
        }
        caught = await h.node("caught").next_input()
        assert caught["error"]["message"] == f"Error: ENOENT: no such file or directory, open '{missing}'"


async def test_reading_a_directory_is_nodes_eisdir_read_error(tmp_path):
    async with FlowTestHarness(flow(filename=str(tmp_path), format="utf8")) as h:
        h.node("fileInNode1").receive({"payload": ""})
        msg = await h.node("n2").next_input()
        assert msg["error"] == {
            "message": "EISDIR: illegal operation on a directory, read",
            "code": "EISDIR",
            "errno": -21,
            "syscall": "read",
        }
        err, _ = await h.node("fileInNode1").next_error()
        assert str(err) == "Error: EISDIR: illegal operation on a directory, read"
