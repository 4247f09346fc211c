"""Ports of the file-out cases of Node-RED's test/nodes/core/storage/10-file_spec.js."""

import os
import stat

import flowrt.nodes.storage.file  # noqa: F401
import pytest

from flowrt.lang import iconv_codecs
from flowrt.lang.nodefs import encode_text
from flowrt.testing import FlowTestHarness

EOL = os.linesep


def file_flow(**config):
    return [
        {"id": "fileNode1", "type": "file", "name": "fileNode", "wires": [["helperNode1"]], **config},
        {"id": "helperNode1", "type": "helper"},
    ]


@pytest.fixture
def target(tmp_path):
    return tmp_path / "50-file-test-file.txt"


async def write(config, msgs, n=None, settings=None):
    async with FlowTestHarness(file_flow(**config), settings=settings) as h:
        for m in msgs:
            h.node("fileNode1").receive(m)
        return await h.node("helperNode1").inputs(len(msgs) if n is None else n)


async def test_loaded():
    async with FlowTestHarness([{"id": "f1", "type": "file", "name": "fileNode", "filename": "x"}]) as h:
        assert h.node("f1").node.name == "fileNode"


async def test_write_to_file(target):
    [msg] = await write(
        {"filename": str(target), "appendNewline": True, "overwriteFile": True}, [{"payload": "test"}]
    )
    assert target.read_text() == "test" + EOL
    assert msg["payload"] == "test"


async def test_write_using_jsonata(target):
    expr = f"'{target.parent.as_posix()}/' & (20+30) & '-file-test-file.txt'"
    await write(
        {"filename": expr, "filenameType": "jsonata", "appendNewline": True, "overwriteFile": True},
        [{"payload": "test"}],
    )
    assert target.read_text() == "test" + EOL


async def test_write_using_file_working_directory(target):
    await write(
        {"filename": target.name, "appendNewline": True, "overwriteFile": True},
        [{"payload": "test"}],
        settings={"fileWorkingDirectory": str(target.parent)},
    )
    assert target.read_text() == "test" + EOL


async def test_write_multibyte_string(target):
    await write(
        {"filename": str(target), "appendNewline": False, "overwriteFile": True}, [{"payload": "試験"}]
    )
    assert target.read_bytes() == "試験".encode()


async def test_append_and_add_newline(target):
    msgs = [{"payload": "test2"}, {"payload": True}, {"payload": 999}, {"payload": [2]}]
    outs = await write({"filename": str(target), "appendNewline": True, "overwriteFile": False}, msgs)
    assert target.read_text() == EOL.join(["test2", "true", "999", "[2]"]) + EOL
    assert [o["payload"] for o in outs] == ["test2", True, 999, [2]]


async def test_append_newline_except_last_part(target):
    msgs = [{"payload": f"Line{i + 1}", "parts": {"index": i, "type": "string"}} for i in range(4)]
    msgs[3]["parts"]["count"] = 4
    await write({"filename": str(target), "appendNewline": True, "overwriteFile": False}, msgs)
    assert target.read_text() == EOL.join(["Line1", "Line2", "Line3", "Line4"])


async def test_append_after_delete_and_recreate(target):
    async with FlowTestHarness(
        file_flow(filename=str(target), appendNewline=False, overwriteFile=False)
    ) as h:
        h.node("fileNode1").receive({"payload": "one"})
        h.node("fileNode1").receive({"payload": "two"})
        await h.node("helperNode1").inputs(2)
        assert target.read_text() == "onetwo"
        target.unlink()
        h.node("fileNode1").receive({"payload": "three"})
        h.node("fileNode1").receive({"payload": "four"})
        await h.node("helperNode1").inputs(4)
        assert target.read_text() == "threefour"
        target.unlink()
        target.write_text("fred")
        h.node("fileNode1").receive({"payload": "five"})
        await h.node("helperNode1").inputs(5)
        assert target.read_text() == "fredfive"


async def test_msg_filename_when_not_set(target):
    [msg] = await write(
        {"appendNewline": True, "overwriteFile": True}, [{"payload": "fine", "filename": str(target)}]
    )
    assert msg["filename"] == str(target)
    assert target.read_text() == "fine" + EOL


async def test_msg_property_filename(target):
    cfg = {
        "filename": "_user_specified_filename",
        "filenameType": "msg",
        "appendNewline": True,
        "overwriteFile": True,
    }
    [msg] = await write(cfg, [{"payload": "typedInput", "_user_specified_filename": str(target)}])
    assert msg["filename"] == str(target)
    assert target.read_text() == "typedInput" + EOL


async def test_number_as_filename(tmp_path):
    cfg = {
        "filename": "_user_specified_filename",
        "filenameType": "msg",
        "appendNewline": False,
        "overwriteFile": True,
    }
    await write(
        cfg,
        [{"payload": "test", "_user_specified_filename": 123}],
        settings={"fileWorkingDirectory": str(tmp_path)},
    )
    assert (tmp_path / "123").read_text() == "test"


async def test_env_filename(target, monkeypatch):
    monkeypatch.setenv("TEST_FILE", str(target))
    cfg = {"filename": "TEST_FILE", "filenameType": "env", "appendNewline": True, "overwriteFile": True}
    [msg] = await write(cfg, [{"payload": "envTest"}])
    assert msg["filename"] == str(target)
    assert target.read_text() == "envTest" + EOL


async def test_delete_file(target):
    target.write_text("fine")
    await write(
        {"filename": str(target), "appendNewline": False, "overwriteFile": "delete"}, [{"payload": "fine"}]
    )
    assert not target.exists()


async def test_warn_if_no_filename():
    async with FlowTestHarness(
        [{"id": "f1", "type": "file", "appendNewline": True, "overwriteFile": False, "wires": []}]
    ) as h:
        h.node("f1").receive({"payload": "nofile"})
        record = await h.node("f1").next_log("warn")
        assert record.text == "No filename specified"


async def test_ignore_missing_payload(target):
    async with FlowTestHarness(file_flow(filename=str(target), appendNewline=True, overwriteFile=False)) as h:
        h.node("fileNode1").receive({"topic": "test"})
        await h.idle()
        assert not target.exists()
        assert h.node("fileNode1").errors == []
        assert h.node("helperNode1").received == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
@pytest.mark.parametrize(
    ("overwrite", "prefix"), [(True, "failed to write to file"), (False, "failed to append to file")]
)
async def test_fail_on_read_only_file(target, overwrite, prefix):
    target.write_text("")
    target.chmod(stat.S_IRUSR)
    async with FlowTestHarness(
        file_flow(filename=str(target), appendNewline=False, overwriteFile=overwrite)
    ) as h:
        h.node("fileNode1").receive({"payload": "test"})
        err, msg = await h.node("fileNode1").next_error()
        assert str(err).startswith(prefix)
        assert "EACCES" in str(err)
        assert msg["payload"] == "test"


async def test_cope_with_failing_to_delete(target):
    async with FlowTestHarness(file_flow(filename=str(target), overwriteFile="delete")) as h:
        h.node("fileNode1").receive({"payload": "test2"})
        err, _ = await h.node("fileNode1").next_error()
        assert str(err).startswith("failed to delete file")
        assert "ENOENT" in str(err)


@pytest.mark.parametrize(
    ("overwrite", "prefix"), [(False, "failed to append to file"), (True, "failed to write to file")]
)
async def test_fail_without_create_dir(tmp_path, overwrite, prefix):
    path = tmp_path / "file-out-node" / "50-file-test-file.txt"
    async with FlowTestHarness(file_flow(filename=str(path), overwriteFile=overwrite)) as h:
        h.node("fileNode1").receive({"payload": "test2"})
        err, _ = await h.node("fileNode1").next_error()
        assert str(err).startswith(prefix)
        assert not path.exists()


@pytest.mark.parametrize("overwrite", [False, True])
async def test_create_dir_when_asked(tmp_path, overwrite):
    path = tmp_path / "file-out-node" / "50-file-test-file.txt"
    await write(
        {"filename": str(path), "appendNewline": True, "overwriteFile": overwrite, "createDir": True},
        [{"payload": "test2"}],
    )
    assert path.read_text() == "test2" + EOL


@pytest.mark.parametrize("close_early", [False, True])
async def test_write_to_multiple_files(tmp_path, close_early):
    cfg = {"appendNewline": True, "overwriteFile": True, "createDir": True}
    async with FlowTestHarness(file_flow(**cfg)) as h:
        for i in range(5):
            data = str(i) * 1000
            h.node("fileNode1").receive({"payload": data, "filename": str(tmp_path / "tmp" / f"{i}.txt")})
        if close_early:
            # closing (here: stopping the flow) waits for the queued writes
            await h.stop()
        else:
            await h.node("helperNode1").inputs(5)
    for i in range(5):
        assert (tmp_path / "tmp" / f"{i}.txt").read_text() == str(i) * 1000 + EOL


async def test_messages_written_in_order(target):
    msgs = [{"payload": str(i)} for i in range(50)]
    await write({"filename": str(target), "appendNewline": False, "overwriteFile": False}, msgs)
    assert target.read_text() == "".join(str(i) for i in range(50))


async def test_encoding_set_by_msg(target):
    await write(
        {"filename": str(target), "overwriteFile": True, "encoding": "setbymsg"},
        [{"payload": "試験", "encoding": "Shift_JIS"}],
    )
    assert target.read_bytes() == "試験".encode("shift_jis")


async def test_buffer_payload_written_raw(target):
    await write(
        {"filename": str(target), "overwriteFile": True, "appendNewline": True}, [{"payload": b"\x00\xff"}]
    )
    assert target.read_bytes() == b"\x00\xff"


SUPPORTED_WRITE = [
    ("none", "test"),
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
    ("GBK", "test"),
    ("GB18030", "test"),
    ("Windows936", "test"),
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

EXPECTED_BYTES = {
    "ucs2": "試験".encode("utf-16-le"),
    "utf-16le": "試験".encode("utf-16-le"),
    "utf-16be": "試験".encode("utf-16-be"),
    "base64": bytes.fromhex("e697a5e69cace8aa9e0a"),
    "hex": bytes.fromhex("deadbeef"),
    "Shift_JIS": "試験".encode("shift_jis"),
    "Windows-31j": "試験".encode("cp932"),
    "Windows932": "試験".encode("cp932"),
    "EUC-JP": "試験".encode("euc_jp"),
}


@pytest.mark.parametrize(("encoding", "data"), SUPPORTED_WRITE, ids=[e for e, _ in SUPPORTED_WRITE])
async def test_write_with_encoding(target, encoding, data):
    [msg] = await write(
        {"filename": str(target), "appendNewline": False, "overwriteFile": True, "encoding": encoding},
        [{"payload": data}],
    )
    expected = EXPECTED_BYTES.get(encoding, data.encode("utf-8"))
    assert target.read_bytes() == expected
    assert encode_text(data, encoding) == expected
    assert msg["payload"] == data


# Code pages Python lacks, from the system's iconv (flowrt.lang.iconv_codecs). iconv-lite writes
# "test" as b"test" in each. Where the system's iconv lacks one (glibc: cp808, macthai), the
# node must refuse to start rather than write wrong bytes; the case is then skipped.
ICONV_ENCODINGS = (
    "cp808 cp922 cp1046 cp1124 cp1129 cp1133 cp1161 cp1162 cp1163 macthai macukraine koi8-ru armscii8 tcvn "
    "georgianacademy georgianps viscii iso646cn iso646jp"
).split()


@pytest.mark.parametrize("encoding", ICONV_ENCODINGS)
async def test_write_with_iconv_encoding(target, encoding):
    if not iconv_codecs.available(encoding):
        async with FlowTestHarness(file_flow(filename=str(target), encoding=encoding)) as h:
            assert h.runtime.get_node("fileNode1") is None
        pytest.skip(f"the system's iconv has no {encoding}")
    [msg] = await write(
        {"filename": str(target), "appendNewline": False, "overwriteFile": True, "encoding": encoding},
        [{"payload": "test"}],
    )
    assert target.read_bytes() == b"test"
    assert msg["payload"] == "test"


async def test_write_non_ascii_with_iconv_encoding(target):
    if not iconv_codecs.available("koi8-ru"):
        pytest.skip("the system's iconv has no KOI8-RU")
    await write(
        {"filename": str(target), "appendNewline": False, "overwriteFile": True, "encoding": "koi8-ru"},
        [{"payload": "Привіт"}],
    )
    assert target.read_bytes() == bytes.fromhex("f0d2c9d7a6d4")


@pytest.mark.parametrize("encoding", ["no-such-encoding", "cp1047"])
async def test_unsupported_encoding_refuses_to_start(target, encoding):
    async with FlowTestHarness(file_flow(filename=str(target), encoding=encoding)) as h:
        assert h.runtime.get_node("fileNode1") is None


@pytest.mark.parametrize(
    ("overwrite", "prefix"), [(True, "failed to write to file"), (False, "failed to append to file")]
)
async def test_fail_when_target_is_a_directory(tmp_path, overwrite, prefix):
    # the permission cases above are skipped as root: an unwritable target is also a write error
    async with FlowTestHarness(file_flow(filename=str(tmp_path), overwriteFile=overwrite)) as h:
        h.node("fileNode1").receive({"payload": "test"})
        err, msg = await h.node("fileNode1").next_error()
        assert str(err).startswith(prefix)
        assert "EISDIR" in str(err)
        assert h.node("helperNode1").received == []


# Node's fs error wording inside Node-RED's messages ("failed to ... file: " + err.toString())


async def test_write_to_a_directory_error_has_nodes_wording(tmp_path):
    async with FlowTestHarness(file_flow(filename=str(tmp_path), overwriteFile="true")) as h:
        h.node("fileNode1").receive({"payload": "test"})
        err, _ = await h.node("fileNode1").next_error()
        assert (
            str(err)
            == f"failed to write to file: Error: EISDIR: illegal operation on a directory, open '{tmp_path}'"
        )


async def test_delete_missing_file_error_has_nodes_wording(target):
    async with FlowTestHarness(file_flow(filename=str(target), overwriteFile="delete")) as h:
        h.node("fileNode1").receive({"payload": "x"})
        err, _ = await h.node("fileNode1").next_error()
        assert (
            str(err) == f"failed to delete file: Error: ENOENT: no such file or directory, unlink '{target}'"
        )


async def test_create_dir_below_a_file_error_has_nodes_wording(tmp_path):
    (tmp_path / "f").write_text("")
    path = tmp_path / "f" / "x" / "out.txt"
    async with FlowTestHarness(file_flow(filename=str(path), createDir=True)) as h:
        h.node("fileNode1").receive({"payload": "x"})
        err, _ = await h.node("fileNode1").next_error()
        assert (
            str(err)
            == f"failed to create file: Error: ENOTDIR: not a directory, mkdir '{tmp_path / 'f' / 'x'}'"
        )


def test_permission_error_is_worded_as_libuv():
    from flowrt.lang.nodefs import node_fs_error, os_error_text

    err = PermissionError(13, "Permission denied", "/x/y")
    assert node_fs_error(err, "open", "/x/y") == {
        "message": "EACCES: permission denied, open '/x/y'",
        "code": "EACCES",
        "errno": -13,
        "syscall": "open",
        "path": "/x/y",
    }
    assert os_error_text(err, "open", "/x/y") == "Error: EACCES: permission denied, open '/x/y'"
