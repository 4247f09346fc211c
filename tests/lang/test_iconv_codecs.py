"""flowrt.lang.iconv_codecs: iconv-lite's single-byte code pages from the system's iconv."""

import codecs

import pytest

from flowrt.lang import iconv_codecs

iconv_codecs.register()

# A few bytes of each table, as iconv-lite (Node-RED) decodes them; glibc agrees on these.
# (Where glibc and iconv-lite differ, see docs/conformance-parsers.md.)
SPOT_CHECKS = {
    "cp922": ("d0def0fe", "\u0160\u017d\u0161\u017e"),
    "cp1046": ("80b1d6fe", "\ufe88\u0661\u0636\ufee9"),
    "cp1124": ("a1c1e0ff", "\u0401\u0421\u0440\u045f"),
    "cp1129": ("a8d0e3fe", "\u0153\u0110\u0103\u20ab"),
    "cp1133": ("a1b7d3fe", "\u0e81\u0ea5\u0ec3\xa6"),
    "cp1161": ("e8bfdefe", "\u0e48\u0e1f\u20ac\xa6"),
    "cp1162": ("80b7d7fb", "\u20ac\u0e17\u0e37\u0e5b"),
    "cp1163": ("a4cce3fe", "\u20ac\u0300\u0103\u20ab"),
    "macukraine": ("80aad6ff", "\u0410\u2122\xf7\xa4"),
    "koi8-ru": ("80b1d8ff", "\u2500\u2560\u044c\u042a"),
    "armscii8": ("a2c0dffe", "\u0587\u0538\u0577\u055a"),
    "tcvn": ("80aad4ff", "\xc0\xea\u1ec5\u1ed0"),
    "georgianacademy": ("829ad1e6", "\u201a\u0161\u10e1\u10f6"),
    "georgianps": ("829ad0e5", "\u201a\u0161\u10de\u10f5"),
    "viscii": ("80a0c4ff", "\u1ea0\xd5\u1ea2\u1eee"),
    "iso646cn": ("247e", "\xa5\u203e"),
    "iso646jp": ("5c7e", "\xa5\u203e"),
}


def need(name):
    if not iconv_codecs.available(name):
        pytest.skip(f"the system's iconv has no {name}")


@pytest.mark.parametrize("name", list(SPOT_CHECKS))
def test_table_agrees_with_iconv_lite(name):
    need(name)
    raw, text = SPOT_CHECKS[name]
    data = bytes.fromhex(raw)
    assert data.decode(name) == text
    assert text.encode(name) == data
    assert "test".encode(name) == b"test"


@pytest.mark.parametrize("name", ["koi8-ru", "KOI8_RU", "koi8ru", "Koi8 RU"])
def test_names_ignore_case_and_punctuation(name):
    need("koi8ru")
    assert codecs.lookup(name).name == "iconv-koi8ru"


def test_undefined_bytes_and_unmappable_characters():
    need("iso646jp")  # 7-bit: every byte from 0x80 is undefined
    with pytest.raises(UnicodeDecodeError):
        b"a\x80".decode("iso646jp")
    assert b"a\x80b".decode("iso646jp", errors="replace") == "a\ufffdb"
    with pytest.raises(UnicodeEncodeError):
        "\\".encode("iso646jp")  # 0x5C is the yen sign
    assert "a\u20acb".encode("iso646jp", errors="replace") == b"a?b"


def test_incremental_decoder():
    need("koi8ru")
    dec = codecs.getincrementaldecoder("koi8-ru")(errors="replace")
    data = "Привіт, ўсім".encode("koi8-ru")
    assert (
        "".join(dec.decode(data[i : i + 1]) for i in range(len(data))) + dec.decode(b"", True)
        == "Привіт, ўсім"
    )


def test_tcvn_is_the_single_byte_table_node_red_uses():
    need("tcvn")
    # iconv-lite does not compose: a base letter and a combining byte stay two characters
    assert b"a\xb0".decode("tcvn") == "a\u0300"
    assert "a\u0300".encode("tcvn") == b"a\xb0"
    assert "\xe0".encode("tcvn") == b"\xb5"  # the precomposed letter has its own byte


def test_unknown_names_are_left_to_other_codecs():
    assert iconv_codecs.decoding_table("cp1252") is None
    assert codecs.lookup("cp1252").name == "cp1252"


def test_charset_missing_from_iconv_stays_unknown(monkeypatch):
    monkeypatch.setitem(iconv_codecs.CHARSETS, "flowrtnosuchcp", ("FLOWRT-NO-SUCH-CHARSET",))
    assert not iconv_codecs.available("flowrtnosuchcp")
    with pytest.raises(LookupError):
        codecs.lookup("flowrt-no-such-cp")


def test_without_iconv_nothing_is_registered(monkeypatch):
    class NoIconv:
        ok = False

    monkeypatch.setitem(iconv_codecs.CHARSETS, "flowrtnoiconv", ("VISCII",))
    monkeypatch.setattr(iconv_codecs, "_iconv", NoIconv())
    assert iconv_codecs.decoding_table("flowrtnoiconv") is None
    with pytest.raises(LookupError):
        codecs.lookup("flowrtnoiconv")


def test_a_character_of_several_bytes_is_encoded_as_iconv_does():
    need("armscii8")
    assert b"\x28\xa5".decode("armscii8") == "(("
    assert "(test),".encode("armscii8") == b"(test),"  # glibc keeps ASCII (iconv-lite would not)
