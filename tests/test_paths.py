"""Paths are bytes on Linux: every name must be storable, and readable where it can be."""

import os
import sqlite3

from pipeline.paths import path_text, readable_path


def test_a_utf8_path_is_kept_as_it_is() -> None:
    assert path_text("/docs/文件.txt") == "/docs/文件.txt"
    assert readable_path("/docs/文件.txt") == "/docs/文件.txt"


def test_undecodable_bytes_are_escaped_into_storable_text() -> None:
    text = path_text(os.fsdecode(b"/docs/bad\xff.txt"))
    assert text == "/docs/bad\\xff.txt"
    sqlite3.connect(":memory:").execute("SELECT ?", (text,))  # surrogates would raise here
    assert readable_path(text) == text  # not GBK either: stays escaped


def test_a_gbk_name_is_shown_in_chinese() -> None:
    raw = b"/docs/" + "公告".encode("gbk") + b"/" + "文件".encode("gbk") + b".txt"
    text = path_text(os.fsdecode(raw))
    assert "\\x" in text
    assert readable_path(text) == "/docs/公告/文件.txt"


def test_the_same_name_always_gets_the_same_text() -> None:
    raw = os.fsdecode("公告".encode("gbk") + b".pdf")
    assert path_text(raw) == path_text(os.fsdecode(os.fsencode(raw)))
    assert path_text(raw) != path_text(os.fsdecode(b"other\xff.pdf"))


def test_a_literal_backslash_name_never_meets_an_escaped_byte() -> None:
    literal, undecodable = path_text("/docs/bad\\xff.txt"), path_text(os.fsdecode(b"/docs/bad\xff.txt"))
    assert literal != undecodable
    assert readable_path(literal) == "/docs/bad\\xff.txt"
