"""A traditional-Chinese BEIR folder made from a simplified one with OpenCC (s2twp: Taiwan
characters and phrasing), and how fast the installed OpenCC converts.

    .venv/bin/python bench/traditional_set.py ../shared/data/ir/cmrc2018_retrieval eval-report/cmrc-tw
    .venv/bin/python bench/traditional_set.py SRC OUT --only queries   # traditional queries, simplified corpus

A set converted by OpenCC favours a tokeniser that converts back with OpenCC: the round trip
undoes most of the conversion. Real traditional text has words OpenCC's tables miss.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path


def convert_jsonl(source: Path, target: Path, convert, fields: tuple[str, ...]) -> int:
    chars = 0
    with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            for name in fields:
                if row.get(name):
                    chars += len(row[name])
                    row[name] = convert(row[name])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("target", type=Path, help="the folder to write (replaced)")
    parser.add_argument("--config", default="s2twp", help="OpenCC configuration (default s2twp)")
    parser.add_argument("--only", choices=["both", "corpus", "queries"], default="both",
                        help="what to convert; the rest is copied as it is")
    args = parser.parse_args()
    import opencc

    converter = opencc.OpenCC(args.config)
    if args.target.exists():
        shutil.rmtree(args.target)
    shutil.copytree(args.source / "qrels", args.target / "qrels")
    started = time.perf_counter()
    chars = 0
    for name, fields, part in (("corpus.jsonl", ("title", "text"), "corpus"), ("queries.jsonl", ("text",), "queries")):
        if args.only in ("both", part):
            chars += convert_jsonl(args.source / name, args.target / name, converter.convert, fields)
        else:
            shutil.copy(args.source / name, args.target / name)
    seconds = time.perf_counter() - started
    print(json.dumps({"target": str(args.target), "config": args.config, "opencc": opencc.__file__,
                      "chars": chars, "chars_per_s": round(chars / seconds)}), file=sys.stderr)


if __name__ == "__main__":
    main()
