"""Chinese document structure: 第X编/章/节/条, 一、, （一）, 1. and 附件 lines as headings.

Laws, regulations and notices number their parts in the text itself rather than with heading
styles. Such a line opens a unit: it goes on the section's heading path, and the unit becomes
a section of its own, so the chunker never joins two articles into one chunk nor cuts an
article from its number when the article fits one chunk ("第三章 总则 > 第十二条" on the chunk).

Levels, outermost first: 附件 (an attachment restarts the numbering under it), 编, 章, 节, 条,
then 一、, （一）, 1. Inside a 条 the enumerations 一、（一）1. are its items, not units of their
own: an article stays whole. A document with no 条 (a notice) is cut at 一、 and （一）; "1." is
taken as a heading only before Chinese text and only outside articles.
"""

from __future__ import annotations

import re
from dataclasses import replace

from connectors import Section

_NUMERAL = "[一二三四五六七八九十百千零〇两0-9０-９]+"
# (level, pattern) for the start of a line; the heading is the line up to its first sentence end.
_LEVELS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^附件\s*{_NUMERAL}?(?:[:：\s]|$)")),
    (1, re.compile(rf"^第{_NUMERAL}编(?:\s|$)")),
    (2, re.compile(rf"^第{_NUMERAL}章(?:\s|$)")),
    (3, re.compile(rf"^第{_NUMERAL}节(?:\s|$)")),
    (4, re.compile(rf"^第{_NUMERAL}条(?:\s|$)")),
    (5, re.compile(r"^[一二三四五六七八九十]+、")),
    (6, re.compile(r"^[（(][一二三四五六七八九十]+[）)]")),
    (7, re.compile(r"^[0-9]{1,2}[.．、](?=[\u4e00-\u9fff])")),
)
ARTICLE = 4
# An article's own heading is its number ("第十二条"); a chapter's or a notice item's is the line.
_ARTICLE_NUMBER = re.compile(rf"^第{_NUMERAL}条")
_HEADING_END = re.compile(r"[。；;:：!！?？]")
_MAX_HEADING_CHARS = 40


# Marks some documents put before a heading's number ("▲ 二、申请人的资格要求").
_LEADING_MARKS = re.compile(r"^[▲△★☆●○■□◆◇※►•]\s*")


def _level(line: str) -> int | None:
    line = _LEADING_MARKS.sub("", line)
    for level, pattern in _LEVELS:
        if pattern.match(line):
            return level
    return None


def _heading(line: str, level: int) -> str:
    line = _LEADING_MARKS.sub("", line)
    if level == ARTICLE:
        match = _ARTICLE_NUMBER.match(line)
        return match.group(0) if match else line
    title = _HEADING_END.split(line, maxsplit=1)[0].strip()
    return title[:_MAX_HEADING_CHARS]


def follow_structure(sections: list[Section]) -> list[Section]:
    """The sections cut at structure lines, each unit with its heading path; tables untouched."""
    has_articles = any(
        _level(line.strip()) == ARTICLE for section in sections if not section.table for line in section.text.split("\n")
    )
    out: list[Section] = []
    open_units: list[tuple[int, str]] = []  # (level, heading) of the units the text is inside
    for section in sections:
        if section.table:
            out.append(_under(section, section.text, open_units))
            continue
        lines: list[str] = []
        for line in section.text.split("\n"):
            level = _unit_level(line.strip(), open_units, has_articles)
            heading = _heading(line.strip(), level) if level is not None else ""
            if level is None or (section.headings and section.headings[-1] == heading):
                lines.append(line)
                continue
            out.append(_under(section, "\n".join(lines), open_units))
            lines = [line]
            # A unit closes every unit at its level or below; an attachment restarts the numbering.
            open_units[:] = [(0, heading)] if level == 0 else [u for u in open_units if u[0] < level] + [(level, heading)]
        out.append(_under(section, "\n".join(lines), open_units))
    return [section for section in out if section.text]


def _unit_level(line: str, open_units: list[tuple[int, str]], has_articles: bool) -> int | None:
    """The line's level if it opens a unit here: inside an article, and in a document of articles,
    the enumerations 一、（一）1. are items and open nothing."""
    level = _level(line)
    if level is None or level <= ARTICLE:
        return level
    inside_article = any(unit_level == ARTICLE for unit_level, _ in open_units)
    if has_articles and (inside_article or level == 7):
        return None
    return level


def _under(section: Section, text: str, open_units: list[tuple[int, str]]) -> Section:
    """The text as a section under the section's own headings and the open units'."""
    return replace(section, text=text.strip(), headings=section.headings + tuple(heading for _, heading in open_units))
