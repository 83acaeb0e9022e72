"""Bytes to rows: encodings, delimiters, physical line numbers, broken quotes, xlsx."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okc_recon.carriers._text import (
    Source,
    decode,
    load_source,
    physical_lines,
    raw_lines,
    read_rows,
    unused_char,
)

TEXT = "Invoice,Montréal café,Total\n1,Crème brûlée,12.50\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),  # BOM, little-endian (Excel "Unicode text")
        (TEXT.encode("utf-16-le"), "utf-16"),  # no BOM: recognised by its zero bytes
        (TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp1252"), "cp1252"),
        (b"a,b\n1,2\n", "utf-8"),
    ],
)
def test_decode_gives_utf8_and_names_the_encoding(data: bytes, encoding: str) -> None:
    text, found = decode(data)
    assert found == encoding
    expected = "a,b\n1,2\n" if data == b"a,b\n1,2\n" else TEXT
    assert text.decode("utf-8") == expected


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=200))
@settings(max_examples=60, deadline=None)
def test_decode_round_trips_any_utf8_and_utf16_text(text: str) -> None:
    assert decode(text.encode("utf-8"))[0] == text.encode("utf-8")
    assert decode(codecs.BOM_UTF8 + text.encode("utf-8"))[0] == text.encode("utf-8")
    assert decode(text.encode("utf-16"))[0] == text.encode("utf-8")


def _source(tmp_path: Path, data: bytes, name: str = "f.csv") -> Source:
    path = tmp_path / name
    path.write_bytes(data)
    return load_source(path)


def test_rows_carry_their_physical_line_and_skip_blank_lines(tmp_path: Path) -> None:
    data = b"h1,h2,h3\r\n1,2,3\r\n\r\n , ,\r\n4,5\r\n6,7,8,9\r\n"
    source = _source(tmp_path, data)
    rows, broken = read_rows(source, columns=[0, 2], ncols=3, first_line=2)
    assert broken.is_empty()
    # line 3 is empty; line 4 holds only spaces in the requested columns... and is kept
    # as data (it has fields), so a reader can reject it and count it
    assert rows["_line"].to_list() == [2, 4, 5, 6]
    assert rows.filter(pl.col("_line") == 5)["c2"].to_list() == [None]  # short row padded
    assert rows.filter(pl.col("_line") == 6)["c2"].to_list() == ["8"]


def test_a_stray_quote_costs_its_own_line_only(tmp_path: Path) -> None:
    lines = [b"a,b,c"] + [f"{i},x{i},y".encode() for i in range(1, 6)]
    lines[3] = b'3,"unclosed,y'
    source = _source(tmp_path, b"\n".join(lines) + b"\n")
    rows, broken = read_rows(source, columns=[0, 1, 2], ncols=3, first_line=2)
    assert broken["_line"].to_list() == [4]
    assert rows["_line"].to_list() == [2, 3, 5, 6]
    assert rows["c1"].to_list() == ["x1", "x2", "x4", "x5"]


def test_quoted_fields_with_delimiters_and_doubled_quotes(tmp_path: Path) -> None:
    source = _source(tmp_path, b'a,b\n"Smith, John","say ""hi"""\n')
    rows, _ = read_rows(source, columns=[0, 1], ncols=2, first_line=2)
    assert rows.row(0) == (2, "Smith, John", 'say "hi"')


def test_a_quote_inside_an_unquoted_field_falls_back_to_the_csv_module(tmp_path: Path) -> None:
    source = _source(tmp_path, b'a,b\n1,ab"c"d\n2,ok\n')
    rows, broken = read_rows(source, columns=[0, 1], ncols=2, first_line=2)
    assert rows["_line"].to_list() + broken["_line"].to_list() in ([2, 3], [3, 2])


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    data = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2", "3"]) + "\n"
    source = _source(tmp_path, data.encode("utf-16"))
    assert source.delimiter == delimiter
    rows, _ = read_rows(source, columns=[2], ncols=3, first_line=2)
    assert rows["c2"].to_list() == ["3"]


def test_classic_mac_line_ends(tmp_path: Path) -> None:
    source = _source(tmp_path, b"a,b\r1,2\r3,4\r")
    rows, _ = read_rows(source, columns=[0], ncols=2, first_line=2)
    assert rows["c0"].to_list() == ["1", "3"]


def test_raw_lines_returns_the_text_of_given_lines(tmp_path: Path) -> None:
    data = "a\r\nbé\r\nc".encode()
    assert raw_lines(data, pl.Series([3, 2, 9])) == ["c", "bé", ""]


def test_xlsx_rows_are_sheet_rows_as_text(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("S")
    sheet.append(["Tracking", "Amount"])
    sheet.append(["794644790148", 12.5])
    sheet.append([])
    sheet.append([794644790148, "3.10"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    source = load_source(path)
    assert source.encoding == "xlsx"
    rows, _ = read_rows(source, columns=[0, 1], ncols=2, first_line=2)
    assert rows.rows() == [(2, "794644790148", "12.5"), (4, "794644790148", "3.10")]
    assert raw_lines(None, pl.Series([4]), source.sheet) == ["794644790148,3.10"]


def test_physical_lines_are_the_lines_of_the_file_whatever_their_quotes() -> None:
    data = b'a,"b\r\n\r\nc,d"\n\n,\nlast'
    assert physical_lines(data).to_list() == ['a,"b', None, 'c,d"', None, ",", "last"]
    # a file holding every control character the fast path could split on still works
    odd = b"x\x1fy\x1e\x1d\x1c\x01\nz\n"
    assert unused_char(odd) is None
    assert physical_lines(odd).to_list() == ["x\x1fy\x1e\x1d\x1c\x01", "z"]


def test_without_quotes_every_line_is_a_row_blank_ones_too(tmp_path: Path) -> None:
    data = b"h1,h2\n1,2\n\n3\n,\n4,5,6\n7,8"
    source = _source(tmp_path, data)
    rows, broken = read_rows(source, columns=[0, 1], ncols=2, first_line=2)
    assert broken.is_empty()
    assert rows.rows() == [(2, "1", "2"), (4, "3", None), (6, "4", "5"), (7, "7", "8")]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Zoë,Montréal\n".encode(), "utf-8"),
        ("Zoë,Montréal\n".encode("cp1252"), "cp1252"),
        (b"ok\n" + "é".encode() + b"\xff\n", "cp1252"),  # one bad byte: not UTF-8
    ],
)
def test_utf8_is_told_from_windows_1252(data: bytes, encoding: str) -> None:
    text, found = decode(data)
    assert found == encoding
    text.decode("utf-8")  # always UTF-8 afterwards


def test_the_file_hash_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    import hashlib

    data = b"a,b\n1,2\n" * 1000
    source = _source(tmp_path, data)
    assert source.sha256 == hashlib.sha256(data).hexdigest()
