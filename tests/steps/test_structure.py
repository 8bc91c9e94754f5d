"""Chinese structure lines become heading paths and chunk boundaries."""

from pathlib import Path

from connectors import Document, Section
from pipeline.config import ChunkingSettings, ModelSpec
from pipeline.embedders import HashingEmbedder
from pipeline.steps.chunk import Chunker
from pipeline.steps.structure import follow_structure

COUNT = HashingEmbedder(name="t", spec=ModelSpec(kind="hashing", dimension=8)).count_tokens

REGULATION = """某市政府采购管理办法
第一章 总则
第一条 为了规范政府采购行为，提高政府采购资金的使用效益，制定本办法。
第二条 本办法适用于本市各级国家机关、事业单位和团体组织。
第二章 采购方式
第一节 公开招标
第十二条 采购人采购货物或者服务应当采用公开招标方式的，其具体数额标准由市财政部门规定。
（一）货物类采购项目预算金额在二百万元以上的；
（二）服务类采购项目预算金额在一百万元以上的。
第十三条 采购人不得将应当以公开招标方式采购的货物或者服务化整为零。
附件1：采购限额标准
一、货物类：五十万元
二、服务类：三十万元"""


def _chunks(text: str, max_tokens: int = 200) -> list:
    document = Document(path=Path("/tmp/rules.txt"), file_type="text", sections=[Section(text)])
    chunker = Chunker(count_tokens=COUNT, max_tokens=max_tokens, settings=ChunkingSettings(overlap_tokens=0))
    return chunker.chunk(document, follow_structure(document.sections))


def test_articles_carry_their_chapter_and_number_and_stay_whole() -> None:
    by_heading = {" > ".join(chunk.headings): chunk.text for chunk in _chunks(REGULATION)}
    assert by_heading["第一章 总则 > 第一条"].startswith("第一条 为了规范")
    article = by_heading["第二章 采购方式 > 第一节 公开招标 > 第十二条"]
    # Its items stay in it: an article is not cut at （一）（二）.
    assert article.startswith("第十二条") and "（二）服务类" in article
    assert by_heading["第二章 采购方式 > 第一节 公开招标 > 第十三条"].startswith("第十三条")


def test_an_attachment_restarts_the_numbering_and_a_notice_is_cut_at_its_items() -> None:
    headings = [" > ".join(chunk.headings) for chunk in _chunks(REGULATION)]
    assert "附件1" in headings and "附件1 > 一、货物类" in headings and "附件1 > 二、服务类" in headings


def test_text_without_structure_lines_is_left_as_it_was() -> None:
    plain = [Section("The council approved the budget.\n1. Roads\n2. Schools", headings=("Minutes",))]
    assert follow_structure(plain) == plain
