"""Evaluation datasets: a BEIR-layout folder, or a folder of a user's own files with queries and qrels.

BEIR layout (as BEIR and MTEB ship it): ``corpus.jsonl`` (``_id``, ``title``, ``text``),
``queries.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``,
``score`` with a header line).

A files dataset is the same without ``corpus.jsonl``: every other file under the folder is a
document, and its id in the qrels is its path relative to the folder (``reports/2024.pdf``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from connectors import ConnectorError, ReadOptions, read_document
from pipeline.config import WalkSettings
from pipeline.embedders import count_hash_tokens
from pipeline.errors import ConfigError
from pipeline.language import CJK_RANGES, detect_language
from pipeline.records import FileError
from pipeline.steps.walk import walk_files

log = logging.getLogger(__name__)

QUERIES_FILE = "queries.jsonl"
CORPUS_FILE = "corpus.jsonl"
QRELS_DIR = "qrels"

_CJK = re.compile(f"[{CJK_RANGES}]")


@dataclass(frozen=True)
class CorpusDoc:
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """Title and text as BEIR and MTEB embed a document."""
        return f"{self.title} {self.text}".strip()


@dataclass
class Dataset:
    """A corpus, the queries judged in one split, and their relevance judgments."""

    name: str
    folder: Path
    kind: str  # "beir" or "files"
    split: str
    corpus: dict[str, CorpusDoc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    fingerprint: str
    # Documents of a files dataset that could not be read (they can never be retrieved).
    unreadable: list[FileError] = field(default_factory=list)

    @cached_property
    def language(self) -> str:
        return detect_language(doc.full_text for doc in self.corpus.values())

    @cached_property
    def queries_in_corpus(self) -> set[str]:
        """Queries that are also corpus documents: same id and the same text.

        Only then is a self-hit dropped: in Cranfield, query 225 and document 225 are two
        different texts, and that document is judged relevant to that query.
        """
        found = set()
        for qid, text in self.queries.items():
            doc = self.corpus.get(qid)
            query = " ".join(text.split())
            if doc is not None and query and (query in " ".join(doc.full_text.split())):
                found.add(qid)
        return found

    @cached_property
    def doc_tokens(self) -> dict[str, int]:
        """Length of each document in model-independent tokens (words; one per CJK character)."""
        return {doc_id: count_hash_tokens(doc.full_text) for doc_id, doc in self.corpus.items()}


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ConfigError(f"{path}:{number}: not valid JSON ({error.msg})") from error
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``qrels/<split>.tsv`` -> {query id: {doc id: grade}}; the header line is optional."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if not row or (number == 1 and row[0] == "query-id"):
                continue
            if len(row) != 3:
                raise ConfigError(f"{path}:{number}: expected query-id, corpus-id, score separated by tabs")
            try:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
            except ValueError as error:
                raise ConfigError(f"{path}:{number}: score '{row[2]}' is not an integer") from error
    return qrels


def _hash_files(paths: list[Path], folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def load_dataset(folder: str | Path, split: str = "test", *, read_options: ReadOptions | None = None) -> Dataset:
    """Load a BEIR folder, or a folder of files with ``queries.jsonl`` and ``qrels/<split>.tsv``."""
    folder = Path(folder).expanduser().resolve()
    queries_file, qrels_file = folder / QUERIES_FILE, folder / QRELS_DIR / f"{split}.tsv"
    for required in (queries_file, qrels_file):
        if not required.is_file():
            splits = sorted(p.stem for p in (folder / QRELS_DIR).glob("*.tsv")) if folder.is_dir() else []
            hint = f" (splits here: {', '.join(splits)})" if splits else ""
            raise ConfigError(f"dataset {folder}: missing {required.relative_to(folder)}{hint}")
    qrels = read_qrels(qrels_file)
    all_queries = {str(row["_id"]): str(row.get("text", "")) for row in _read_jsonl(queries_file)}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise ConfigError(f"dataset {folder}: {len(missing)} judged queries are not in {QUERIES_FILE}: {missing[:5]}")
    # Only judged queries are evaluated, as trec_eval, BEIR and MTEB do. A blank one cannot be
    # searched; it stays in the qrels and scores 0, so it still counts.
    queries = {qid: all_queries[qid] for qid in qrels if all_queries[qid].strip()}
    if len(queries) < len(qrels):
        log.warning("%d judged queries are blank; they score 0", len(qrels) - len(queries))
    if (folder / CORPUS_FILE).is_file():
        corpus = {
            str(row["_id"]): CorpusDoc(str(row.get("title") or ""), str(row.get("text") or ""))
            for row in _read_jsonl(folder / CORPUS_FILE)
        }
        fingerprint = _hash_files([folder / CORPUS_FILE, queries_file, qrels_file], folder)
        return Dataset(folder.name, folder, "beir", split, corpus, queries, qrels, fingerprint)
    return _load_files_dataset(folder, split, queries, qrels, read_options or ReadOptions())


def _load_files_dataset(
    folder: Path, split: str, queries: dict[str, str], qrels: dict[str, dict[str, int]], options: ReadOptions
) -> Dataset:
    corpus: dict[str, CorpusDoc] = {}
    unreadable: list[FileError] = []
    paths = []
    for entry in walk_files([folder], WalkSettings()):
        if isinstance(entry, FileError):
            unreadable.append(entry)
            continue
        relative = entry.relative_to(folder)
        if relative.parts[0] in (QRELS_DIR, QUERIES_FILE):
            continue
        paths.append(entry)
        try:
            document = read_document(entry, options)
        except ConnectorError as error:
            unreadable.append(FileError(str(entry), error.category.value, error.message))
            continue
        text = "\n\n".join(section.text for section in document.sections)
        corpus[relative.as_posix()] = CorpusDoc(document.title, text)
    if not corpus:
        raise ConfigError(f"dataset {folder}: no readable documents besides {QUERIES_FILE} and {QRELS_DIR}/")
    unknown = {doc for judged in qrels.values() for doc in judged} - set(corpus) - {
        Path(e.path).relative_to(folder).as_posix() for e in unreadable
    }
    if unknown:
        log.warning("%d judged documents are not files under %s, e.g. %s", len(unknown), folder, sorted(unknown)[:3])
    fingerprint = _hash_files([*paths, folder / QUERIES_FILE, folder / QRELS_DIR / f"{split}.tsv"], folder)
    return Dataset(folder.name, folder, "files", split, corpus, queries, qrels, fingerprint, unreadable)
