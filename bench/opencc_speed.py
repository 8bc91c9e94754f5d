"""How fast the installed ``opencc`` module converts traditional text to simplified (t2s).

Both PyPI packages install a module named ``opencc``, so compare them one at a time:

    .venv/bin/python bench/opencc_speed.py eval-report/cmrc-tw/corpus.jsonl
    pip install --target /tmp/reimpl opencc-python-reimplemented
    PYTHONPATH=/tmp/reimpl .venv/bin/python bench/opencc_speed.py eval-report/cmrc-tw/corpus.jsonl
"""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata
from pathlib import Path


def main() -> None:
    import opencc

    texts = [json.loads(line)["text"] for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if line]
    converter = opencc.OpenCC(sys.argv[2] if len(sys.argv) > 2 else "t2s")
    started = time.perf_counter()
    converted = [converter.convert(text) for text in texts]
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    changed = sum(a != b for text, out in zip(texts, converted) for a, b in zip(text, out))
    packages = {}
    for name in ("opencc", "opencc-python-reimplemented"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    print(json.dumps({"module": opencc.__file__, "packages": packages, "chars": chars,
                      "chars_per_s": round(chars / seconds), "changed_chars": changed}))


if __name__ == "__main__":
    main()
