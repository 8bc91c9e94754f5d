"""The BM25 index of a collection's chunks: tantivy (Lucene's design in Rust), updated file by file.

Chroma 1.5 has no sparse (BM25) index in local mode, so the lexical side lives beside the store.
tantivy was chosen over the SQLite inverted index it replaces by measurement
(docs/search.md#the-lexical-engine): at 100,000 chunks a query took 3 ms instead of 360 ms.

The project's own tokens (Snowball stems, jieba words and character pairs) go in as text that
tantivy's ``whitespace`` tokenizer splits back into exactly those tokens, so the query API, the
evaluation and ingest all see the same terms. tantivy keeps segments, deletes and merges, and answers top-k with
block-max WAND, so a query reads a fraction of the postings rather than all of them. Its BM25
uses k1 1.2 and b 0.75 (fixed in the engine).

Writes are idempotent and per document: ``replace_docs`` deletes the files' chunks by their doc id
and adds the new ones in one commit, so a change to one file costs that file. A commit is atomic
(tantivy writes a new ``meta.json`` last), so a run killed anywhere leaves the last committed
state, and the ingest line redoes the files whose rows are not ``done``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StoreError

_SETTINGS_FILE = "rag-ingest-settings.json"
# tantivy's BM25 constants (fixed in the engine); Lucene's defaults.
K1, B = 1.2, 0.75


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the index needs it: its id, its file's doc id and its term counts."""

    chunk_id: str
    doc_id: str
    terms: dict[str, int]


# Memory the writer may use for new segments before it flushes one (tantivy's minimum is 15 MB).
_WRITER_HEAP = 64_000_000


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("doc_id", stored=False, tokenizer_name="raw")
    # Term frequencies are all BM25 needs: no positions (half the postings' size).
    builder.add_text_field("body", stored=True, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _body(terms: Mapping[str, int]) -> str:
    """Term counts as text the whitespace tokenizer splits back into the same counts. (The
    project's terms are runs of letters and digits, so none holds a space.)"""
    return " ".join(Counter(terms).elements())


class LexicalIndex:
    """BM25 over the chunks of one collection, in a tantivy folder; ``path=None`` keeps it in memory."""

    def __init__(self, path: Path | None, *, tokenizer_fingerprint: str) -> None:
        import tantivy

        self.path = path
        self.settings = json.dumps({"tokenizer": tokenizer_fingerprint, "engine": "tantivy"}, sort_keys=True)
        self._schema = _schema()
        try:
            if path is None:
                self._index = tantivy.Index(self._schema)
            else:
                path.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        except ValueError as error:
            raise StoreError(f"cannot open the lexical index at {path}: {error}") from error
        self._writer = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    def _writing(self):
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
            except ValueError as error:
                raise StoreError(f"the lexical index at {self.path} is being written by another process: {error}") from error
        return self._writer

    def _commit(self) -> None:
        self._writer.commit()
        self._index.reload()

    # --- state -----------------------------------------------------------------------------

    @property
    def built_with(self) -> str | None:
        if self.path is None:
            return getattr(self, "_memory_settings", None)
        marker = self.path / _SETTINGS_FILE
        return marker.read_text(encoding="utf-8") if marker.is_file() else None

    @property
    def is_current(self) -> bool:
        return self.built_with == self.settings

    def rebuild(self, chunks: Iterable[IndexedChunk]) -> None:
        """Empty the index and fill it with ``chunks``, in one commit."""
        writer = self._writing()
        writer.delete_all_documents()
        self._add(writer, chunks)
        self._commit()
        if self.path is None:
            self._memory_settings = self.settings
        else:
            partial = self.path / (_SETTINGS_FILE + ".tmp")
            partial.write_text(self.settings, encoding="utf-8")
            partial.replace(self.path / _SETTINGS_FILE)

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def _stored(self) -> Iterable[dict]:
        import tantivy

        searcher = self._index.searcher()
        if not searcher.num_docs:
            return []
        hits = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs).hits
        return (searcher.doc(address) for _, address in hits)

    def chunk_ids(self) -> set[str]:
        return {doc["chunk_id"][0] for doc in self._stored()}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """chunk id -> term counts, for comparing two indexes."""
        return {doc["chunk_id"][0]: dict(Counter(doc["body"][0].split())) for doc in self._stored()}

    # --- writes ----------------------------------------------------------------------------

    def replace_doc(self, doc_id: str, chunks: Sequence[IndexedChunk]) -> None:
        self.replace_docs({doc_id: chunks})

    def replace_docs(self, docs: Mapping[str, Sequence[IndexedChunk]]) -> None:
        """Make each document's given chunks its only ones in the index, in one commit."""
        writer = self._writing()
        for doc_id in docs:
            writer.delete_documents_by_term("doc_id", doc_id)
        self._add(writer, (chunk for chunks in docs.values() for chunk in chunks))
        self._commit()

    def delete_doc(self, doc_id: str) -> None:
        self.delete_docs([doc_id])

    def delete_docs(self, doc_ids: Iterable[str]) -> None:
        writer = self._writing()
        for doc_id in doc_ids:
            writer.delete_documents_by_term("doc_id", doc_id)
        self._commit()

    def _add(self, writer, chunks: Iterable[IndexedChunk]) -> None:
        import tantivy

        for chunk in chunks:
            writer.add_document(tantivy.Document(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, body=_body(chunk.terms)))

    # --- search ----------------------------------------------------------------------------

    def search(self, query_terms: Sequence[str], k: int) -> list[tuple[str, float]]:
        """The ``k`` best chunks for these terms as (chunk id, BM25 score), best first; a term
        repeated in the query counts as often as it appears."""
        import tantivy

        terms = ["".join(term.split()) for term in query_terms if term.strip()]
        if not terms or k < 1:
            return []
        self._index.reload()  # see what another process committed since
        searcher = self._index.searcher()
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", term)) for term in terms]
        )
        hits = searcher.search(query, limit=k).hits
        ranked = [(searcher.doc(address)["chunk_id"][0], float(score)) for score, address in hits]
        return sorted(ranked, key=lambda item: (-item[1], item[0]))


def lexical_index_path(local_dir: Path, collection: str) -> Path:
    """Where a collection's BM25 index lives: a folder per collection in the store's local folder."""
    return Path(local_dir) / "lexical" / collection
