"""The ingest face: :func:`ingest` and :class:`Ingestor`, a :class:`~pipeline.collection.Collection`
run through the frame (:mod:`pipeline.line`) by an engine (:mod:`pipeline.engines`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from pipeline.collection import Collection
from pipeline.config import Settings, load_settings
from pipeline.embedders import Embedder
from pipeline.engines import engine_for
from pipeline.line import run_line
from pipeline.records import RunReport
from pipeline.steps.parse import FilePreparer
from pipeline.stores import VectorStore


class Ingestor:
    """Ingests paths into one model's collection; ``run`` can be called again and again.

    Nothing heavy is loaded up front: a run first works out which files changed, and the model
    is loaded only when a chunk needs a vector that neither the store nor the cache holds. An
    unchanged re-run opens neither the model nor Chroma.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        model: str | None = None,
        collection: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.binding = Collection(settings=settings, model=model, collection=collection, embedder=embedder)
        self.settings = settings
        self.model_name = self.binding.model_name
        self.embedder = self.binding.embedder
        self.collection = self.binding.name

    @property
    def store(self) -> VectorStore:
        return self.binding.store

    @property
    def preparer(self) -> FilePreparer:
        return self.binding.preparer

    @property
    def settings_fingerprint(self) -> str:
        return self.binding.settings_fingerprint

    @property
    def model_loaded(self) -> bool:
        return self.binding.model_loaded

    def warm_up(self) -> None:
        """Load the model and open the store now (a run does both only when it needs them)."""
        self.binding.embed_stage.warm_up()
        self.binding.preparer.chunker()
        self.binding.store.warm_up()

    def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        progress: bool = False,
        prune: bool = True,
        wait: bool = False,
        engine: str = "local",
        ray_address: str | None = None,
        stop: threading.Event | None = None,
    ) -> RunReport:
        """Bring the collection in line with ``paths``; ``prune=False`` keeps chunks of deleted files.

        Holds the store's lock for the whole run (``wait``: wait for another writer instead
        of failing). Ctrl-C (or ``stop``) stops after the current batch; files already written
        stay whole. ``engine="ray"`` runs the same steps on a Ray cluster.
        """
        runner = engine_for(engine, self.settings, ray_address=ray_address)
        return run_line(self.binding, paths, runner, prune=prune, wait=wait, progress=progress, stop=stop)


def ingest(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    config: Settings | str | os.PathLike[str] | None = None,
    model: str | None = None,
    collection: str | None = None,
    progress: bool = False,
    prune: bool = True,
    wait: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
) -> RunReport:
    """Bring the store in line with files and folders; returns what happened, file by file.

    Unchanged files are skipped, changed ones replaced, and chunks of files deleted from these
    folders removed (``prune=False`` keeps them). ``wait`` waits for another writer's lock.

    >>> report = ingest(["docs/"], model="minilm")          # doctest: +SKIP
    >>> report.files_ingested, report.errors[:1]            # doctest: +SKIP
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings = config if isinstance(config, Settings) else load_settings(config)
    ingestor = Ingestor(settings=settings, model=model, collection=collection)
    return ingestor.run(paths, progress=progress, prune=prune, wait=wait, engine=engine, ray_address=ray_address)
