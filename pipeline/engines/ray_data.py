"""The Ray Data engine: the local line's stages spread over a Ray cluster.

    driver: walk, plan against the manifest ──► rows 'writing' ──► Ray Data job ──► commit
    job:    paths ─map_batches (tasks)─► FilePreparer.prepare: chunks and BM25 term counts
                  ─map_batches (actor pool)─► EmbedStage, one model per actor (a GPU each where present)
                  ─write_datasink─► ChromaSink: upserts from the workers into the Chroma server

The stages are today's classes (:class:`FilePreparer`, :class:`EmbedStage`,
:class:`ChromaStore`), not copies. The driver alone touches the manifest and the lexical
index: before a wave of files it marks their rows ``writing`` (as the local line does before
it writes), and only after the job has written all of the wave does it set them ``done``.
A crash or a lost server leaves rows that are not done, so the next run does those files
again; a Ray task retried in between writes nothing twice, because ids are content hashes
and every write is an upsert.

The lexical index is written by the driver from term counts the parse tasks return. The
tokenising (jieba for Chinese is the costly part) then scales with the cluster, and the
single driver only does SQLite writes, which is also all the index can take: one writer.

Not carried over from the local line: the embedding cache (it is the driver's SQLite) and
the per-file parse time and memory limits (they belong to the local worker pool).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import ray
from ray.data import ActorPoolStrategy, Datasink
from ray.data.block import BlockAccessor

from connectors import ErrorCategory
from pipeline.config import RaySettings, RetrySettings, Settings, StoreSettings
from pipeline.embed import EmbedStage
from pipeline.embedders import load_embedder
from pipeline.errors import ConfigError, EmbeddingError, IngestError
from pipeline.lock import StoreLock
from pipeline.manifest import FileRecord, Manifest
from pipeline.paths import path_text
from pipeline.preparer import FilePreparer
from pipeline.records import FileError, RunReport, document_id
from pipeline.retrieval.lexical import IndexedChunk
from pipeline.stores import open_store
from pipeline.walk import walk_files

if TYPE_CHECKING:
    from pipeline.ingest import Ingestor

log = logging.getLogger(__name__)

_FILE, _CHUNK = "file", "chunk"
_PARSE_TASKS_PER_WORKER = 100


# --- the job's stages (run in Ray workers) -------------------------------------------------


def prepare_files(batch: dict[str, np.ndarray], *, preparer: FilePreparer) -> dict[str, list[Any]]:
    """Parse task: each path becomes one 'file' row (its outcome) and one row per chunk."""
    rows: dict[str, list[Any]] = {key: [] for key in ("kind", "path", "doc_id", "chunk_id", "text", "meta", "terms", "info")}

    def add(**values: Any) -> None:
        for key in rows:
            rows[key].append(values.get(key, ""))

    for raw in batch["path"]:
        # Paths travel as bytes: a name that is not UTF-8 has no Arrow string.
        file = Path(os.fsdecode(bytes(raw)))
        path = path_text(file)
        prepared = preparer.prepare(file)
        info: dict[str, Any] = {
            "pages_without_text": prepared.pages_without_text, "pages_ocr": prepared.pages_ocr,
            "ocr_seconds": prepared.ocr_seconds,
        }
        if prepared.error is not None:
            info["error"] = [prepared.error.category, prepared.error.message]
        else:
            identity = prepared.identity
            assert identity is not None
            info.update(
                size=identity.size, mtime_ns=identity.mtime_ns, content_hash=identity.content_hash,
                chunk_ids=[chunk.id for chunk in prepared.chunks],
                truncated=sum(1 for chunk in prepared.chunks if chunk.tokens > preparer.max_tokens),
            )
            terms = prepared.terms or [{} for _ in prepared.chunks]
            for chunk, counts in zip(prepared.chunks, terms):
                add(kind=_CHUNK, path=path, doc_id=chunk.doc_id, chunk_id=chunk.id, text=chunk.text,
                    meta=json.dumps(chunk.metadata(), ensure_ascii=False), terms=json.dumps(counts, ensure_ascii=False))
        add(kind=_FILE, path=path, doc_id=document_id(path), info=json.dumps(info))
    return rows


class EmbedActor:
    """One copy of the model, loaded once per actor; embeds the chunk rows of each batch."""

    def __init__(self, *, settings: Settings, model_name: str) -> None:
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        spec = settings.models[model_name]
        self.embedder = load_embedder(model_name, spec, settings.models)
        self.stage = EmbedStage(embedder=self.embedder, retry=settings.retry)
        self.stage.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        kinds = batch["kind"]
        vectors = np.zeros((len(kinds), self.embedder.dimension), dtype=np.float32)
        errors = np.full(len(kinds), "", dtype=object)
        wanted = [i for i, kind in enumerate(kinds) if kind == _CHUNK]
        try:
            self._embed(batch, wanted, vectors)
        except EmbeddingError:
            # As in the local line: find the files the failure belongs to; the others go on.
            by_path: dict[str, list[int]] = {}
            for i in wanted:
                by_path.setdefault(str(batch["path"][i]), []).append(i)
            for rows in by_path.values():
                try:
                    self._embed(batch, rows, vectors)
                except EmbeddingError as error:
                    errors[rows] = str(error)
        return {**batch, "vector": vectors, "error": errors}

    def _embed(self, batch: dict[str, np.ndarray], rows: list[int], out: np.ndarray) -> None:
        if not rows:
            return
        # Identical texts in one batch (boilerplate shared by files) are embedded once.
        texts = list(dict.fromkeys(str(batch["text"][i]) for i in rows))
        by_text = dict(zip(texts, self.stage.run(texts)))
        for i in rows:
            out[i] = by_text[str(batch["text"][i])]


@dataclass(frozen=True)
class _StoreTarget:
    """What a write task needs to open the collection itself (picklable, small)."""

    store: StoreSettings
    retry: RetrySettings
    collection: str
    model_name: str
    dimension: int
    fingerprint: str


class ChromaSink(Datasink):
    """Writes chunk rows from the workers straight into the Chroma server, in upsert batches.

    Each write task returns what the driver needs to commit: the files' outcomes and the
    chunks' term counts. ``on_write_complete`` runs on the driver and keeps them.
    """

    def __init__(self, target: _StoreTarget) -> None:
        self.target = target
        self.results: list[dict[str, Any]] = []

    def write(self, blocks: Iterable[Any], ctx: Any) -> dict[str, Any]:
        target = self.target
        store = open_store(
            target.store, collection=target.collection, model_name=target.model_name,
            dimension=target.dimension, fingerprint=target.fingerprint, retry=target.retry,
        )
        store.warm_up()
        files: list[tuple[str, str]] = []
        chunks: list[tuple[str, str, str, str]] = []  # path, chunk id, term counts, embedding error
        for block in blocks:
            rows = BlockAccessor.for_block(block).to_batch_format("numpy")
            keep = [i for i, kind in enumerate(rows["kind"]) if kind == _CHUNK and not rows["error"][i]]
            if keep:
                store.upsert_rows(
                    [str(rows["chunk_id"][i]) for i in keep], [str(rows["text"][i]) for i in keep],
                    [json.loads(rows["meta"][i]) for i in keep], np.asarray(rows["vector"])[keep],
                )
            for i, kind in enumerate(rows["kind"]):
                if kind == _FILE:
                    files.append((str(rows["path"][i]), str(rows["info"][i])))
                else:
                    chunks.append((str(rows["path"][i]), str(rows["chunk_id"][i]), str(rows["terms"][i]),
                                   str(rows["error"][i])))
        return {"files": files, "chunks": chunks}

    def on_write_complete(self, write_result: Any) -> None:
        self.results = list(write_result.write_returns)


# --- the driver ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    """One file of a wave as the job saw it."""

    info: dict[str, Any] = field(default_factory=dict)
    terms: dict[str, dict[str, int]] = field(default_factory=dict)
    embed_error: str = ""


class RayEngine:
    """``ingest --engine ray``: plans on the driver, parses, embeds and writes on the cluster."""

    def __init__(self, ingestor: Ingestor, *, address: str | None = None) -> None:
        settings = ingestor.settings
        if not settings.store.url:
            raise ConfigError(
                "--engine ray writes from the Ray workers straight into a Chroma server, which an embedded "
                "store cannot take: set store.url (see README, 'Scaling out')"
            )
        self.ingestor = ingestor
        self.settings = settings
        self.ray = settings.ray
        self.address = address if address is not None else self.ray.address

    def run(
        self, paths: Iterable[str | os.PathLike[str]], *, prune: bool = True, wait: bool = False, progress: bool = False
    ) -> RunReport:
        """Bring the collection in line with ``paths``, as :meth:`Ingestor.run` does."""
        from pipeline.ingest import ERRORS_FILE, _write_errors

        started = time.perf_counter()
        ingestor = self.ingestor
        ingestor.warm_up()
        report = RunReport(model=ingestor.model_name, collection=ingestor.collection)
        roots = [Path(path).expanduser().resolve() for path in paths]
        state = self.settings.store.local_dir
        with StoreLock(state, wait=wait):
            manifest = Manifest(state, ingestor.collection)
            ingestor.lexical = ingestor._open_lexical()
            try:
                entries = list(walk_files(roots, self.settings.walk))
                report.files_seen = len(entries)
                records = manifest.records_under(path_text(root) for root in roots)
                todo: list[Path] = []
                # Failures are not remembered on this engine ({}): a failed file is read again.
                changed, _ = ingestor._changed(entries, records, {}, manifest, report)
                for entry in changed:
                    if isinstance(entry, FileError):
                        report.add_error(entry.path, entry.category, entry.message)
                    else:
                        todo.append(entry)
                if todo:
                    with _cluster(self.address, self.ray, progress=progress):
                        for wave in _batched(todo, self.ray.wave_files):
                            self._wave(wave, manifest, report)
                if prune:
                    ingestor._prune(entries, records, manifest, report)
            finally:
                manifest.close()
                ingestor.lexical.close()
        report.errors_file = _write_errors(state / ERRORS_FILE, report.errors)
        report.seconds = time.perf_counter() - started
        return report

    def _wave(self, paths: list[Path], manifest: Manifest, report: RunReport) -> None:
        previous = {path_text(path): manifest.get(path_text(path)) for path in paths}
        for path in paths:
            # Rows first: after a crash every chunk in the store belongs to a row not done.
            record = previous[path_text(path)]
            manifest.put(replace(record, state="writing") if record else _placeholder(path))
        sink = ChromaSink(self._target())
        try:
            self._dataset(paths).write_datasink(sink, ray_remote_args={"num_cpus": 0.25})
        except Exception as error:  # noqa: BLE001 - Ray wraps the workers' errors; find ours
            raise _worker_error(error) from error
        outcomes = _gather(sink.results)
        for path in paths:
            self._commit(path_text(path), outcomes.get(path_text(path)), previous[path_text(path)], manifest, report)

    def _target(self) -> _StoreTarget:
        ingestor = self.ingestor
        return _StoreTarget(
            self.settings.store, self.settings.retry, ingestor.collection, ingestor.model_name,
            ingestor.embedder.dimension, ingestor.embedder.fingerprint,
        )

    def _dataset(self, paths: list[Path]) -> Any:
        per_task = self.ray.files_per_task
        dataset = ray.data.from_items(
            [{"path": os.fsencode(path)} for path in paths], override_num_blocks=max(1, -(-len(paths) // per_task))
        )
        # A fresh parse worker every so many tasks: parsers and OCR hold on to memory. Setting
        # it also keeps these tasks' remote args unlike the actors': Ray fuses a task stage into
        # the next actor stage when they are equal, and parsing would then run inside the
        # embedding actors, in turn with the model instead of beside it.
        dataset = dataset.map_batches(
            prepare_files, fn_kwargs={"preparer": self.ingestor.preparer}, batch_size=per_task, num_cpus=1,
            max_calls=_PARSE_TASKS_PER_WORKER,
        )
        gpus = self.ray.gpus_per_actor
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        return dataset.map_batches(
            EmbedActor,
            fn_constructor_kwargs={"settings": self.settings, "model_name": self.ingestor.model_name},
            batch_size=self.ingestor.embed_stage.call_size,
            compute=ActorPoolStrategy(size=self.ray.embed_actors),
            num_cpus=self.ray.cpus_per_actor,
            num_gpus=gpus,
        )

    def _commit(
        self, path: str, outcome: _Outcome | None, previous: FileRecord | None, manifest: Manifest, report: RunReport
    ) -> None:
        """Record one file of a finished wave: done with its chunks indexed, or failed and put back."""
        ingestor, store = self.ingestor, self.ingestor.store
        doc_id = document_id(path)
        info = outcome.info if outcome else {"error": [ErrorCategory.CORRUPT.value, "the Ray job returned nothing for it"]}
        report.pages_without_text += info.get("pages_without_text", 0)
        report.pages_ocr += info.get("pages_ocr", 0)
        report.ocr_seconds += info.get("ocr_seconds", 0.0)
        error = info.get("error") or (outcome and outcome.embed_error and [ErrorCategory.EMBEDDING_FAILED.value,
                                                                            outcome.embed_error])
        if error:
            report.add_error(path, error[0], error[1])
            # Chunks some worker wrote before another failed are not the file's: take them out.
            keep = set(previous.chunk_ids) if previous else set()
            store.delete(store.ids_for_doc(doc_id) - keep)
            if previous:
                manifest.put(previous)
            else:
                manifest.remove(path)
            return
        assert outcome is not None
        chunk_ids = info["chunk_ids"]
        ingestor.lexical.replace_doc(doc_id, [IndexedChunk(c, doc_id, outcome.terms.get(c, {})) for c in chunk_ids])
        if previous is not None:  # only a file stored before can have chunks it no longer has
            report.chunks_deleted += store.delete(store.ids_for_doc(doc_id) - set(chunk_ids))
        manifest.put(FileRecord(
            path=path, size=info["size"], mtime_ns=info["mtime_ns"], content_hash=info["content_hash"], doc_id=doc_id,
            chunk_ids=tuple(chunk_ids), settings=ingestor.settings_fingerprint, state="done",
        ))
        report.files_ingested += 1
        report.files_updated += previous is not None
        report.chunks_added += len(chunk_ids)
        report.chunks_embedded += len(chunk_ids)
        report.truncated_chunks += info.get("truncated", 0)


def _placeholder(path: Path) -> FileRecord:
    """The row of a file not stored before, while the job writes it (never matches on disk)."""
    return FileRecord(path_text(path), -1, -1, "", document_id(path_text(path)), (), "", state="writing")


def _gather(results: list[dict[str, Any]]) -> dict[str, _Outcome]:
    outcomes: dict[str, _Outcome] = {}
    for result in results:
        for path, info in result["files"]:
            outcomes.setdefault(path, _Outcome()).info = json.loads(info)
        for path, chunk_id, terms, error in result["chunks"]:
            outcome = outcomes.setdefault(path, _Outcome())
            outcome.terms[chunk_id] = json.loads(terms)
            outcome.embed_error = outcome.embed_error or error
    return outcomes


def _worker_error(error: BaseException) -> IngestError:
    """The pipeline's own error behind Ray's wrappers (a lost server, say), else one naming the job."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, IngestError):
            return current
        stack.extend([getattr(current, "cause", None), current.__cause__, current.__context__])
    return IngestError(f"the Ray job failed: {type(error).__name__}: {error}")


def _batched(items: list[Path], size: int) -> Iterator[list[Path]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _cluster:  # noqa: N801 - used as a context manager
    """Joins the cluster at ``address``, or starts a local one for the run (and stops it after).

    A session that already called ``ray.init`` (a notebook, the tests) is used as it is.
    """

    def __init__(self, address: str | None, settings: RaySettings, *, progress: bool = False) -> None:
        self.address, self.settings, self.progress = address, settings, progress
        self.started = False

    def __enter__(self) -> _cluster:
        # Ray Data logs every operator's progress every few seconds; the run's report is enough
        # unless a progress display was asked for (or -v).
        ray.data.DataContext.get_current().enable_progress_bars = self.progress
        if not (self.progress or log.isEnabledFor(logging.INFO)):
            logging.getLogger("ray.data").setLevel(logging.WARNING)
        if ray.is_initialized():
            return self
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if self.address is None:
            options.update(num_cpus=self.settings.num_cpus, object_store_memory=self.settings.object_store_mb << 20)
        try:
            ray.init(address=self.address, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise IngestError(f"cannot connect to the Ray cluster at {self.address}: {error}") from error
        self.started = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            ray.shutdown()
