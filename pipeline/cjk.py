"""Character ranges of Chinese, Japanese and Korean script, for regular-expression classes."""

# Hiragana and katakana, CJK unified ideographs (with extension A), compatibility ideographs, Hangul.
CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
