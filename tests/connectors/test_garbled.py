"""Garbled text layers: the detector on the texts that real PDFs give pypdf, and the PDF reader
reading a garbled page again (by PDFium, or by OCR) with the page counted."""

from pathlib import Path

import pytest

from connectors import ReadOptions, read_document
from connectors.garbled import is_garbled, measure, reads_well, same_reading

GOV = Path(__file__).resolve().parents[3] / "shared" / "data" / "docs" / "gov-formats"
needs_gov = pytest.mark.skipif(not GOV.is_dir(), reason=f"the shared corpus is not at {GOV}")

# What pypdf extracts from three real PDFs of the shared corpus (gov-formats and pdfminer's samples).
GBK_AS_LATIN1 = "È« ÊÀ ½ç ÎÞ ²ú Õß £¬ Áª ºÏ Æð À´ /G065"  # SimFang-variant.pdf: 全世界无产者，联合起来
WRONG_CID_MAP = "୰ᅧᩥ௳୰ᅧᩥ௳"  # issue7696.pdf: 中國文件 twice
GLYPH_IDS = "3HQČåQt\x03SURVWĜHGN\\\x03QD\x03~þWHFK\n"  # issue-791: "Peněžní prostředky na účtech"

CLEAN_ZH = (
    "根据政府采购有关规定，现将本年度城市供水设施改造项目的预算安排公示如下，公示期为七个工作日。"
    "2023年GDP增长5.2%，CPI上涨0.2%，其中PM2.5平均浓度下降。"
)
CLEAN_ZH_HANT = "本條例所稱主管機關：在中央為內政部；在直轄市為直轄市政府；在縣（市）為縣（市）政府。"
CLEAN_EN = "The factory only hired workers who were 18 years old or above. • Café résumé naïve façade"
CLEAN_JA = "単語の固有表現らしさの測定：２つの新聞記事から作成したベクトルの類似度を計算する。"


@pytest.mark.parametrize("text", [GBK_AS_LATIN1, WRONG_CID_MAP, GLYPH_IDS, "(cid:2928)(cid:4455)(cid:6757)(cid:3059)" * 3])
def test_garbled_layers_are_flagged(text: str) -> None:
    assert is_garbled(text), measure(text)


@pytest.mark.parametrize("text", [CLEAN_ZH, CLEAN_ZH_HANT, CLEAN_EN, CLEAN_JA, "第3页", ""])
def test_clean_pages_are_not_flagged(text: str) -> None:
    assert not is_garbled(text), measure(text).reason


def test_symbol_font_bullets_are_not_unmapped_characters() -> None:
    # Word's bullets come out of Symbol and Wingdings as private-use code points.
    text = "\n".join(f"\uf0b7 第{n}条 供水企业应当建立健全水质检测制度" for n in range(1, 6))
    assert not is_garbled(text)


def test_the_mojibake_signal_names_its_codec() -> None:
    assert measure(GBK_AS_LATIN1).mojibake == "gbk"


def test_a_second_reading_must_be_clean_and_not_the_same_wrong_map() -> None:
    assert reads_well("全 世 界 无 产 者 ， 联 合 起 来")
    assert not reads_well("嘆囈貭鍔嘆囈貭鍔")  # PDFium's reading of issue7696: real but rare characters
    assert same_reading(GLYPH_IDS, "3HQČåQtSURVWĜHGN\\QD~þWHFK")
    assert not same_reading(GBK_AS_LATIN1, "全 世 界 无 产 者 ， 联 合 起 来")


@needs_gov
def test_a_garbled_page_is_read_again_by_pdfium_and_counted() -> None:
    document = read_document(GOV / "SimFang-variant.pdf", ReadOptions(ocr=False))
    assert document.pages_garbled == 1
    assert document.extra["pages_text_pdfium"] == 1
    assert "".join(document.sections[0].text.split()).startswith("全世界无产者，联合起来")


def test_clean_chinese_and_english_pages_are_not_counted(fixtures: Path) -> None:
    for name in ("table-zh.pdf", "pdflatex-outline.pdf", "korean-text-with-tables.pdf"):
        assert read_document(fixtures / name, ReadOptions(ocr=False)).pages_garbled == 0, name


@needs_gov
def test_with_ocr_off_a_garbled_page_keeps_its_text() -> None:
    document = read_document(GOV / "issue7696.pdf", ReadOptions(ocr=False))
    assert document.pages_garbled == 1 and document.pages_ocr == 0
    assert document.sections[0].text.strip() == WRONG_CID_MAP


@needs_gov
@pytest.mark.slow
def test_a_garbled_page_that_pdfium_cannot_read_either_gets_ocr_text() -> None:
    # PDFium reads 嘆囈貭鍔 where the page shows 中國文件: only OCR gets it right. About 4 s.
    document = read_document(GOV / "issue7696.pdf")
    assert document.pages_garbled == 1 and document.pages_ocr == 1
    section = document.sections[0]
    assert section.ocr and "中國文件" in section.text
