"""Lexical tokens for BM25 that work for English and for Chinese.

Chinese has no spaces, so a whitespace tokenizer would make a whole sentence one token.
Runs of Chinese characters are cut into dictionary words by jieba, into single characters
plus overlapping pairs (``chinese="bigrams"``, which needs no dictionary), or into both (the
default); kana and Hangul runs always into characters plus pairs. The ``simplified-``
choices first turn traditional characters into simplified ones (OpenCC ``t2s``): jieba's
dictionary is simplified Chinese, and a traditional query then also matches a simplified
chunk and the other way round. An optional jieba user dictionary keeps names whole.
Other text becomes lower-cased words, English stop words dropped, reduced to their Snowball stem
("turbulent", "turbulence" -> "turbul"), as Lucene's English analyzer does.

A :class:`Tokenizer` is picklable, so the parse workers can tokenise the chunks they make.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import Counter
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Literal, get_args

from pipeline.errors import ConfigError
from pipeline.language import CJK_RANGES, HAN_RANGES
from pipeline.records import fingerprint_of

ChineseTokens = Literal["simplified-jieba-bigrams", "simplified-jieba", "simplified-bigrams", "jieba", "bigrams"]
CHINESE_TOKENS: tuple[str, ...] = get_args(ChineseTokens)
# Words and pairs together beat either alone on CMRC 2018 and on QBQTC's real queries, whose
# short titles jieba often cuts differently from the query (docs/chinese-tokens.md).
DEFAULT_CHINESE_TOKENS: ChineseTokens = "simplified-jieba-bigrams"
# Character by character (with OpenCC's phrase table for one-to-many characters); "tw2sp"
# would also swap Taiwan's words for mainland ones (軟體 -> 软件), which rewrites text
# rather than its script.
OPENCC_CONFIG = "t2s"

# Chinese function words and question words: in a question they match nearly every chunk and
# add only noise ("项目的预算金额是多少？" is about 项目, 预算 and 金额).
CHINESE_STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 等 之 其 这 那 这个 那个 这些 那些 有 也 都 就 而 并 被 把 将 对 于 从 以 为 由 "
    "中 上 下 吗 呢 吧 啊 呀 么 什么 哪 哪个 哪些 哪里 谁 何 多少 几 怎么 怎样 如何 为什么 是否 是不是 请问 "
    "一个 我 你 他 她 它 我们 你们 他们 自己 会 能 可以 要 所 着 过 地 得".split()
)

# Plus the supplementary ideographs (extensions B-G): OpenCC's t2s turns some traditional
# characters into them (綝 -> 𬘭), which would otherwise be dropped as one-letter words.
_HAN = HAN_RANGES + "\U00020000-\U0003134f"
_CJK = CJK_RANGES + "\U00020000-\U0003134f"
_RUN = re.compile(rf"[{_HAN}]+|[{_CJK}]+|[^\W_{_CJK}]+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")


def _bigrams(run: str) -> list[str]:
    return [*run, *(run[i : i + 2] for i in range(len(run) - 1))]


class Tokenizer:
    """Text -> BM25 terms; the same instance (settings) must index and query a collection."""

    def __init__(
        self,
        *,
        chinese: ChineseTokens = DEFAULT_CHINESE_TOKENS,
        stem: bool = True,
        stopwords: bool = True,
        user_dictionary: str | Path | None = None,
        _dictionary_text: str | None = None,
    ) -> None:
        if chinese not in CHINESE_TOKENS:
            raise ValueError(f"chinese tokens must be one of {', '.join(CHINESE_TOKENS)}, not {chinese!r}")
        self.chinese = chinese
        self.stem = stem
        self.stopwords = stopwords
        self.user_dictionary = str(user_dictionary) if user_dictionary is not None else None
        # Read once, here: the fingerprint and every worker's copy then use the same words,
        # even if the file changes while a run is under way.
        if _dictionary_text is None and self.user_dictionary is not None:
            _dictionary_text = read_user_dictionary(Path(self.user_dictionary))
        self._dictionary_text = _dictionary_text

    @property
    def simplified(self) -> bool:
        return self.chinese.startswith("simplified-")

    @property
    def uses_jieba(self) -> bool:
        return "jieba" in self.chinese

    @property
    def uses_bigrams(self) -> bool:
        return self.chinese.endswith("bigrams")

    def __getstate__(self) -> dict[str, object]:
        return {
            "chinese": self.chinese, "stem": self.stem, "stopwords": self.stopwords,
            "user_dictionary": self.user_dictionary, "_dictionary_text": self._dictionary_text,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever the same text could get other terms: index and queries must agree."""
        settings = {"chinese": self.chinese, "stem": self.stem, "stopwords": self.stopwords}
        parts: dict[str, object] = {"settings": settings, "rules": 3}
        if self.simplified:
            parts["opencc"] = OPENCC_CONFIG
        if self._dictionary_text is not None:
            # The words, not the file name: editing the dictionary must rebuild the index.
            parts["user_dictionary"] = hashlib.sha256(self._dictionary_text.encode()).hexdigest()
        packages = ["jieba", "PyStemmer", "bm25s"] + (["opencc"] if self.simplified else [])
        for package in packages:
            try:
                parts[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                parts[package] = None
        return fingerprint_of(parts)

    @cached_property
    def _stopwords(self) -> frozenset[str]:
        if not self.stopwords:
            return frozenset()
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)

    @cached_property
    def _chinese_stopwords(self) -> frozenset[str]:
        return CHINESE_STOPWORDS if self.stopwords else frozenset()

    @cached_property
    def _stemmer(self):
        if not self.stem:
            return None
        import Stemmer

        return Stemmer.Stemmer("english")

    @cached_property
    def _jieba(self):
        import jieba

        # jieba logs the building of its dictionary at INFO on every process start.
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        if self._dictionary_text is not None:
            # Its words go through the same conversion as the text, or a traditional entry
            # would never meet the simplified text it is cut from.
            tokenizer.load_userdict(io.StringIO(self._to_simplified(self._dictionary_text)))
        return tokenizer

    @cached_property
    def _converter(self):
        if not self.simplified:
            return None
        import opencc

        return opencc.OpenCC(OPENCC_CONFIG)

    def _to_simplified(self, text: str) -> str:
        return self._converter.convert(text) if self._converter is not None else text

    def warm_up(self) -> None:
        """Load the dictionary, converter and stemmer now rather than on the first text."""
        if self.uses_jieba:
            _ = self._jieba
        _ = self._converter, self._stemmer, self._stopwords

    def tokenize(self, text: str) -> list[str]:
        """The terms of ``text``, in order, repeats kept (term frequency counts them)."""
        tokens: list[str] = []
        words: list[str] = []
        text = text.lower()
        if self._converter is not None and _HAN_RUN.search(text):
            text = self._converter.convert(text)
        for run in _RUN.findall(text):
            if _HAN_RUN.fullmatch(run):
                if self.uses_jieba:
                    cut = self._jieba.lcut(run, HMM=True)
                    tokens.extend(word for word in cut if word not in self._chinese_stopwords)
                if self.uses_bigrams:
                    # With words too, a two-character word is counted as a word and as a pair:
                    # pairs that are words weigh more than pairs that straddle two words.
                    tokens.extend(_bigrams(run))
            elif _CJK_RUN.fullmatch(run):
                tokens.extend(_bigrams(run))
            elif len(run) > 1 and run not in self._stopwords:
                words.append(run)
        if words:
            tokens.extend(self._stemmer.stemWords(words) if self._stemmer is not None else words)
        return tokens

    def term_counts(self, text: str) -> dict[str, int]:
        return dict(Counter(self.tokenize(text)))


def read_user_dictionary(path: Path) -> str:
    """A jieba user dictionary's text ("word [frequency] [tag]" a line); a clear error if unreadable."""
    try:
        return path.read_text(encoding="utf-8").lstrip("\ufeff")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"retrieval.user_dictionary: cannot read {path}: {error}") from error
