"""Engines that run the ingest line's stages: the local one is :meth:`pipeline.ingest.Ingestor.run`;
:mod:`pipeline.engines.ray_data` spreads the same stages over a Ray cluster (``--engine ray``).
Ray is an optional extra, imported only when that engine is asked for."""

ENGINES = ("local", "ray")
