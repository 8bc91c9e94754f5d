from pathlib import Path

from connectors import read_document

PAGE = """<html><head><title>Budget rules</title><style>p {color: red}</style></head>
<body><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
<header>Site banner</header>
<h1>Budget</h1><p>The council approves the budget.</p>
<h2>Timeline</h2><p>Drafts are due in March.</p><script>document.write("tracking code")</script>
<img src="http://example.invalid/pixel.png"><table><tr><th>Month</th><td>March</td></tr></table>
<footer>Copyright notice</footer></body></html>"""


def test_boilerplate_is_dropped_and_headings_kept(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    document = read_document(path)
    text = "\n".join(section.text for section in document.sections)
    assert document.title == "Budget rules"
    assert "The council approves the budget." in text
    for junk in ("tracking code", "Home", "Site banner", "Copyright notice", "color: red"):
        assert junk not in text
    timeline = [s for s in document.sections if "Drafts are due" in s.text][0]
    assert timeline.headings == ("Budget", "Timeline")
    assert "Month | March" in " ".join(timeline.text.split()).replace("| Month", "Month")


def test_utf16_html_is_decoded(fixtures: Path) -> None:
    document = read_document(fixtures / "example-steelJIS-datasheet-utf-16.html")
    text = " ".join(section.text for section in document.sections)
    assert "\x00" not in text
    assert "JIS" in text


def test_cp1252_html_is_decoded(fixtures: Path) -> None:
    raw = (fixtures / "fake-html-cp1252.html").read_bytes()
    document = read_document(fixtures / "fake-html-cp1252.html")
    text = " ".join(section.text for section in document.sections)
    assert "\ufffd" not in text
    # The file's non-ASCII bytes come back as the cp1252 characters they stand for.
    expected = {ch for ch in raw.decode("cp1252") if ord(ch) > 127}
    assert expected and expected <= set(text)


def test_meta_charset_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "gbk.html"
    path.write_bytes('<html><head><meta charset="gbk"></head><body><p>政府采购公告</p></body></html>'.encode("gbk"))
    document = read_document(path)
    assert "政府采购公告" in document.sections[0].text


def test_scripts_in_a_real_page_are_not_text(fixtures: Path) -> None:
    document = read_document(fixtures / "example-with-scripts.html")
    text = " ".join(section.text for section in document.sections)
    assert "function(" not in text and "var " not in text
