from pathlib import Path

import pytest

from connectors import Document, Section
from pipeline.config import ChunkingSettings, CleaningSettings, ModelSpec
from pipeline.embedders import HashingEmbedder
from pipeline.errors import ConfigError
from pipeline.steps.chunk import Chunker
from pipeline.steps.clean import clean_sections, cleaned_text, normalize_text, remove_repeated_lines

COUNT = HashingEmbedder(name="t", spec=ModelSpec(kind="hashing", dimension=8)).count_tokens


def _chunker(max_tokens: int = 40, overlap: int = 0) -> Chunker:
    return Chunker(count_tokens=COUNT, max_tokens=max_tokens, settings=ChunkingSettings(overlap_tokens=overlap))


def _doc(*sections: Section, file_type: str = "text") -> Document:
    return Document(path=Path("/tmp/doc.txt"), file_type=file_type, sections=list(sections))


def test_nfkc_folds_full_width_and_kangxi_radicals() -> None:
    # Full-width Latin and digits, and the Kangxi radical for "one" (U+2F00) that PDFs often emit.
    assert normalize_text("ＡＢＣ１２３") == "ABC123"
    assert normalize_text("\u2f00\u4e8c") == "一二"


def test_control_characters_go_and_whitespace_folds() -> None:
    assert normalize_text("a\x00b\u200b c \t\t d\n\n\n\ne\x0cf") == "ab c d\n\ne\nf"


def test_mojibake_is_repaired_and_clean_chinese_left_alone() -> None:
    document = _doc(Section("Norwich won 2\u00e2\u0080\u00930 in the caf\u00c3\u00a9."), Section("采购单位应当提交文件。"))
    texts = [section.text for section in clean_sections(document, CleaningSettings())]
    assert texts == ["Norwich won 2\u20130 in the café.", "采购单位应当提交文件。"]


def test_pdf_line_wrapping_is_undone() -> None:
    document = _doc(Section("The inform-\nation was wrap-\nped across lines.\nNext sentence.", page=1), file_type="pdf")
    [section] = clean_sections(document, CleaningSettings())
    assert section.text == "The information was wrapped across lines.\nNext sentence."


def test_chinese_lines_are_joined_without_spaces() -> None:
    document = _doc(Section("东阳市歌山镇\n农贸市场。\n下一句", page=1), file_type="pdf")
    [section] = clean_sections(document, CleaningSettings())
    assert section.text == "东阳市歌山镇农贸市场。\n下一句"


def test_running_headers_and_page_numbers_are_removed() -> None:
    topics = ["Budget", "Staffing", "Risks", "Outlook", "Audit"]
    pages = [
        f"ACME Annual Report\n{topic}\n" + "\n".join(f"{topic} paragraph {k}." for k in range(4)) + f"\nPage {n} of 5"
        for n, topic in enumerate(topics, 1)
    ]
    cleaned = remove_repeated_lines(pages, min_share=0.6)
    assert all("ACME Annual Report" not in page and "of 5" not in page for page in cleaned)
    for topic, page in zip(topics, cleaned):
        assert page.split("\n") == [topic] + [f"{topic} paragraph {k}." for k in range(4)]


def test_no_chunk_exceeds_the_model_limit_and_offsets_point_into_cleaned_text() -> None:
    text = " ".join(f"Sentence number {n} talks about budgets and approvals." for n in range(200))
    document = _doc(Section(text))
    sections = clean_sections(document, CleaningSettings())
    chunks = _chunker(max_tokens=40, overlap=8).chunk(document, sections)
    full = cleaned_text(sections)
    assert len(chunks) > 10
    assert all(chunk.tokens <= 40 for chunk in chunks)
    assert all(full[chunk.start : chunk.end] == chunk.text for chunk in chunks)
    # Chunks end at sentence boundaries when a sentence boundary is available.
    assert sum(chunk.text.endswith(".") for chunk in chunks) >= len(chunks) - 1


def test_chinese_splits_at_sentence_marks() -> None:
    text = "".join(f"第{n}条采购单位应当在规定时间内提交谈判文件并按要求密封。" for n in range(30))
    document = _doc(Section(text))
    chunks = _chunker(max_tokens=60).chunk(document, clean_sections(document, CleaningSettings()))
    assert len(chunks) >= 10
    assert all(chunk.text.endswith("。") for chunk in chunks)
    assert all(chunk.tokens <= 60 for chunk in chunks)


def test_unbreakable_text_is_still_cut_to_fit() -> None:
    text = "".join(chr(0x4E00 + n) for n in range(500))  # no separator anywhere
    document = _doc(Section(text))
    chunks = _chunker(max_tokens=50).chunk(document, clean_sections(document, CleaningSettings()))
    assert all(chunk.tokens <= 50 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks) == text


def test_chunks_carry_page_and_headings() -> None:
    document = _doc(
        Section("First page text. " * 10, page=1),
        Section("Second page text. " * 10, page=2),
        file_type="pdf",
    )
    chunks = _chunker(max_tokens=30).chunk(document, clean_sections(document, CleaningSettings()))
    assert {chunk.page for chunk in chunks} == {1, 2}
    assert all(("First" in chunk.text) == (chunk.page == 1) for chunk in chunks if "Second" not in chunk.text)

    headed = _doc(Section("Intro text here.", headings=("Guide",)), Section("Install text.", headings=("Guide", "Install")))
    chunks = _chunker().chunk(headed, clean_sections(headed, CleaningSettings()))
    assert [chunk.headings for chunk in chunks] == [("Guide",), ("Guide", "Install")]


def test_duplicate_text_in_a_document_is_kept_once() -> None:
    document = _doc(
        Section("Same paragraph repeated.", headings=("A",)),
        Section("Same paragraph repeated.", headings=("B",)),
        Section("Different one.", headings=("C",)),
    )
    chunks = _chunker().chunk(document, clean_sections(document, CleaningSettings()))
    assert [chunk.text for chunk in chunks] == ["Same paragraph repeated.", "Different one."]
    assert len({chunk.id for chunk in chunks}) == 2


def test_layout_debris_is_not_a_chunk() -> None:
    document = _doc(Section("| | |", headings=("A",)), Section("Real words.", headings=("B",)))
    chunks = _chunker().chunk(document, clean_sections(document, CleaningSettings()))
    assert [chunk.text for chunk in chunks] == ["Real words."]


def test_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(ConfigError, match="overlap_tokens"):
        Chunker(count_tokens=COUNT, max_tokens=16, settings=ChunkingSettings(overlap_tokens=16))


def test_a_heading_before_a_long_paragraph_stays_with_its_text() -> None:
    paragraph = " ".join(f"sentence number {i} about the boundary layer." for i in range(12))
    section = Section(text="Wing flutter tests\n" + paragraph, headings=("Wing flutter tests",))
    chunks = _chunker(max_tokens=40).chunk(_doc(section), [section])
    assert chunks[0].text.startswith("Wing flutter tests\nsentence number 0")
    assert all(chunk.tokens > 3 for chunk in chunks)
    text = cleaned_text([section])
    assert all(text[chunk.start : chunk.end] == chunk.text for chunk in chunks)
    assert all(chunk.tokens <= 40 for chunk in chunks)


TABLE = "\n".join(
    ["| 项目 | 预算金额(万元) | 年度 |", "| --- | --- | --- |"]
    + [f"| 道路维修第{n}标段 | {100 + n} | 2024 |" for n in range(40)]
)


def test_a_table_that_fits_is_one_chunk_marked_as_a_table() -> None:
    small = "\n".join(TABLE.split("\n")[:5])
    document = _doc(Section("说明文字在表格之前，介绍本次采购。"), Section(small, table=True), Section("表格之后的文字。"))
    chunks = _chunker(max_tokens=200).chunk(document, clean_sections(document, CleaningSettings()))
    tables = [chunk for chunk in chunks if chunk.table]
    assert [chunk.text for chunk in tables] == [small]
    assert tables[0].metadata()["table"] is True
    assert all("|" not in chunk.text for chunk in chunks if not chunk.table)  # prose and table never share a chunk


def test_a_long_table_is_cut_between_rows_with_its_header_in_every_piece() -> None:
    document = _doc(Section(TABLE, table=True), file_type="pdf")  # a PDF: line unwrapping must spare it
    chunker = _chunker(max_tokens=60)
    chunks = chunker.chunk(document, clean_sections(document, CleaningSettings()))
    header = "\n".join(TABLE.split("\n")[:2])
    assert len(chunks) > 3 and all(chunk.table and chunk.text.startswith(header + "\n") for chunk in chunks)
    assert all(chunk.tokens <= 60 for chunk in chunks)
    rows = [row for chunk in chunks for row in chunk.text.split("\n")[2:]]
    assert rows == TABLE.split("\n")[2:]  # every row once, in order, none cut
    text = cleaned_text(clean_sections(document, CleaningSettings()))
    assert all(text[chunk.start : chunk.end] in TABLE for chunk in chunks)


def test_a_titled_table_repeats_its_title_and_header_row_in_every_piece() -> None:
    titled = "表1 道路维修预算\n\n" + TABLE
    document = _doc(Section(titled, table=True))
    chunks = _chunker(max_tokens=60).chunk(document, clean_sections(document, CleaningSettings()))
    cleaned_header = "\n".join(clean_sections(document, CleaningSettings())[0].text.split("\n")[:4])
    assert len(chunks) > 3 and all(chunk.text.startswith(cleaned_header + "\n") for chunk in chunks)
    assert cleaned_header.endswith("| --- | --- | --- |")
