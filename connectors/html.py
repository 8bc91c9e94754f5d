"""HTML files: visible text in reading order, split at headings, boilerplate dropped.

Parsing is done by BeautifulSoup on lxml, which never runs scripts and never fetches
anything: images, stylesheets and frames stay unresolved references.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from bs4 import BeautifulSoup, Comment, NavigableString, Tag, XMLParsedAsHTMLWarning

from connectors.base import Document, SectionBuilder
from connectors.encoding import decode_bytes
from connectors.options import ReadOptions

# Elements that never hold the page's own content.
_DROP_TAGS = [
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "iframe", "svg", "canvas", "button", "select", "textarea", "object", "embed", "head",
]
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements after which the text continues on a new line (paragraph-like blocks).
_BLOCKS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "pre",
    "blockquote", "table", "tr", "figure", "figcaption", "caption", "address", "hr", "br",
    "thead", "tbody", "tfoot",
}


_END_OF_BLOCK = object()


def _walk(node: Tag, out: SectionBuilder) -> None:
    """The text under ``node`` in document order. A stack, not recursion: pages nest elements
    deeper than Python's recursion limit (a thousand ``<div>`` s is a few KB)."""
    stack: list[object] = list(reversed(node.contents))
    while stack:
        child = stack.pop()
        if child is _END_OF_BLOCK:
            out.add("\n")
            continue
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            out.add(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HEADINGS:
            title = " ".join(child.get_text(" ").split())
            if title:
                out.heading(_HEADINGS[name], title)
            continue
        if name in ("td", "th"):
            out.add(" | ")
        if name in _BLOCKS:
            out.add("\n")
            stack.append(_END_OF_BLOCK)
        stack.extend(reversed(child.contents))


def _drop_boilerplate(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": True}):
        if not tag.decomposed and str(tag.get("role", "")).lower() in _DROP_ROLES:
            tag.decompose()
    for tag in soup.find_all(attrs={"hidden": True}):
        if not tag.decomposed:
            tag.decompose()


def parse_html(markup: str, path: Path) -> Document:
    """Build a document from already-decoded HTML (also used for tests and other connectors)."""
    with warnings.catch_warnings():
        # XHTML is parsed as HTML on purpose: the same visible text, and no external entities.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(markup, "lxml")
    title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    _drop_boilerplate(soup)
    builder = SectionBuilder()
    _walk(soup.body or soup, builder)
    return Document(path=path, file_type="html", sections=builder.finish(), title=title)


def read_html(path: Path, options: ReadOptions) -> Document:
    return parse_html(decode_bytes(path.read_bytes(), is_html=True), path)
