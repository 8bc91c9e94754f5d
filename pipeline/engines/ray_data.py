"""The Ray Data engine: the line's parse, embed and write steps on a Ray cluster.

The frame (:mod:`pipeline.line`) is the local line's: plan, failure memory, the embedding
cache, Ctrl-C and the interrupted-run guard are the same code. Per wave of files:

    parse job:  paths ─map_batches (tasks)─► FilePreparer.prepare ─► prepared files to the driver
    driver:     Commit.work_for (what the store and the cache already hold) ─► Commit.begin
    write job:  chunks ─map_batches (actor pool)─► embed_by_file, one model per actor (a GPU each
                where present) ─write_datasink─► upserts from the workers into the Chroma server
    driver:     vectors into the cache ─► Commit.finish (index, stale chunks, rows done)

A crash or a lost server leaves the wave's rows ``writing``, so the next run does those files
again; a Ray task retried in between writes nothing twice, because ids are content hashes and
every write is an upsert. Not carried over from the local engine: the per-file parse time and
memory limits (they belong to the local worker pool).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.data import ActorPoolStrategy, Datasink
from ray.data.block import BlockAccessor

from pipeline.collection import StoreTarget
from pipeline.config import RaySettings, Settings
from pipeline.embedders import load_embedder
from pipeline.engines.base import Job
from pipeline.errors import ConfigError, IngestError
from pipeline.records import FileError, FileWork, PreparedFile
from pipeline.steps.embed import EmbedStage, embed_by_file
from pipeline.steps.parse import FilePreparer

log = logging.getLogger(__name__)

PARSE_TASKS_PER_WORKER = 100


# --- the jobs' steps (run in Ray workers) ----------------------------------------------------


def parse_files(batch: dict[str, np.ndarray], *, preparer: FilePreparer) -> dict[str, list[Any]]:
    """Parse task: each path becomes its prepared file, pickled (chunks, term counts, or the error)."""
    # Paths travel as bytes: a name that is not UTF-8 has no Arrow string.
    files = [Path(os.fsdecode(bytes(raw))) for raw in batch["path"]]
    return {"index": list(batch["index"]), "prepared": [pickle.dumps(preparer.prepare(file)) for file in files]}


class EmbedActor:
    """One copy of the model, loaded once per actor; embeds the rows that have no vector yet."""

    def __init__(self, *, settings: Settings, model_name: str) -> None:
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        embedder = load_embedder(model_name, settings.models[model_name], settings.models)
        self.stage = EmbedStage(embedder=embedder, retry=settings.retry)
        self.stage.warm_up()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        vectors = np.array(batch["vector"], dtype=np.float32, copy=True)
        wanted = [i for i, embed in enumerate(batch["embed"]) if embed]
        found, failed = embed_by_file(self.stage, [(int(batch["file"][i]), str(batch["text"][i])) for i in wanted])
        errors = np.full(len(vectors), "", dtype=object)
        for i in wanted:
            file, text = int(batch["file"][i]), str(batch["text"][i])
            if file in failed:
                errors[i] = failed[file]
            else:
                vectors[i] = found[text]
        return {**batch, "vector": vectors, "error": errors}


class ChromaSink(Datasink):
    """Upserts chunk rows from the workers straight into the Chroma server.

    Each write task returns, per row, the file it belongs to, the embedding error if any, and the
    vector if the model made it (for the driver's cache); ``on_write_complete`` keeps them.
    """

    def __init__(self, target: StoreTarget) -> None:
        self.target = target
        self.results: list[list[tuple[int, str, str, np.ndarray | None]]] = []

    def write(self, blocks: Iterable[Any], ctx: Any) -> list[tuple[int, str, str, np.ndarray | None]]:
        store = self.target.open()
        store.warm_up()
        outcomes: list[tuple[int, str, str, np.ndarray | None]] = []
        for block in blocks:
            rows = BlockAccessor.for_block(block).to_batch_format("numpy")
            keep = [i for i, error in enumerate(rows["error"]) if not error]
            if keep:
                store.upsert_rows(
                    [str(rows["chunk_id"][i]) for i in keep], [str(rows["text"][i]) for i in keep],
                    [json.loads(rows["meta"][i]) for i in keep], np.asarray(rows["vector"])[keep],
                )
            for i, error in enumerate(rows["error"]):
                made = rows["embed"][i] and not error
                outcomes.append((int(rows["file"][i]), str(rows["hash"][i]), str(error),
                                 np.asarray(rows["vector"][i]) if made else None))
        return outcomes

    def on_write_complete(self, write_result: Any) -> None:
        self.results = list(write_result.write_returns)


# --- the driver ------------------------------------------------------------------------------


class RayEngine:
    """``ingest --engine ray``: parses, embeds and writes on the cluster, commits on the driver."""

    def __init__(self, settings: Settings, *, address: str | None = None) -> None:
        if not settings.store.url:
            raise ConfigError(
                "--engine ray writes from the Ray workers straight into a Chroma server, which an embedded "
                "store cannot take: set store.url (see README, 'Scaling out')"
            )
        self.settings = settings
        self.ray = settings.ray
        self.address = address if address is not None else self.ray.address

    def execute(self, todo: list[Path | FileError], job: Job) -> None:
        if not todo:
            return
        job.commit.start()
        preparer = job.collection.preparer
        paths: list[Path] = []
        for entry in todo:
            if isinstance(entry, FileError):  # refused by the walk: reported, nothing to parse
                job.commit.work_for(preparer.prepare(entry))
            else:
                paths.append(entry)
        if not paths:
            return
        with _cluster(self.address, self.ray, progress=job.progress):
            for wave in _batched(paths, self.ray.wave_files):
                if job.stop.is_set():
                    job.report.interrupted = True
                    break
                self._wave(wave, job)

    def _wave(self, paths: list[Path], job: Job) -> None:
        works = [work for prepared in self._parse(paths, job) if (work := job.commit.work_for(prepared))]
        if not works:
            return
        # Rows first: after a crash every chunk in the store belongs to a row not done.
        job.commit.begin(works)
        if any(work.new_chunks for work in works):
            self._embed_and_write(works, job)
        job.commit.finish(works)

    def _parse(self, paths: list[Path], job: Job) -> list[PreparedFile]:
        per_task = self.ray.files_per_task
        dataset = ray.data.from_items(
            [{"index": i, "path": os.fsencode(path)} for i, path in enumerate(paths)],
            override_num_blocks=max(1, -(-len(paths) // per_task)),
        )
        # A fresh parse worker every so many tasks: parsers and OCR hold on to memory.
        dataset = dataset.map_batches(
            parse_files, fn_kwargs={"preparer": job.collection.preparer}, batch_size=per_task, num_cpus=1,
            max_calls=PARSE_TASKS_PER_WORKER,
        )
        try:
            rows = dataset.take_all()
        except Exception as error:  # noqa: BLE001 - Ray wraps the workers' errors; find ours
            raise _worker_error(error) from error
        prepared = {int(row["index"]): pickle.loads(row["prepared"]) for row in rows}
        return [prepared[i] for i in range(len(paths)) if i in prepared]

    def _embed_and_write(self, works: list[FileWork], job: Job) -> None:
        collection = job.collection
        rows = [
            {
                "file": file, "chunk_id": chunk.id, "hash": chunk.hash, "text": chunk.text,
                "meta": json.dumps(chunk.metadata(), ensure_ascii=False), "vector": work.vectors[index],
                "embed": index in to_embed,
            }
            for file, work in enumerate(works)
            for to_embed in [set(work.to_embed)]
            for index, chunk in enumerate(work.new_chunks)
        ]
        gpus = self.ray.gpus_per_actor
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        dataset = ray.data.from_items(rows).map_batches(
            EmbedActor,
            fn_constructor_kwargs={"settings": self.settings, "model_name": collection.model_name},
            batch_size=collection.embed_stage.call_size,
            compute=ActorPoolStrategy(size=self.ray.embed_actors),
            num_cpus=self.ray.cpus_per_actor,
            num_gpus=gpus,
        )
        sink = ChromaSink(collection.target)
        try:
            dataset.write_datasink(sink, ray_remote_args={"num_cpus": 0.25})
        except Exception as error:  # noqa: BLE001 - Ray wraps the workers' errors; find ours
            raise _worker_error(error) from error
        made: dict[str, np.ndarray] = {}
        for outcomes in sink.results:
            for file, chunk_hash, error, vector in outcomes:
                if error:
                    works[file].error = works[file].error or error
                elif vector is not None:
                    made[chunk_hash] = vector
        job.report.chunks_embedded += len(made)
        job.commit.cache_vectors(made)


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
