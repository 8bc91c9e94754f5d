"""Where the line's steps run: :mod:`~pipeline.engines.local` (worker processes beside the model on
this machine) or :mod:`~pipeline.engines.ray_data` (a Ray cluster, ``--engine ray``). Ray is an
optional extra, imported only when that engine is asked for."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.engines.base import Engine, Job
from pipeline.errors import ConfigError

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "Engine", "Job", "engine_for"]


def engine_for(name: str, settings: Settings, *, ray_address: str | None = None) -> Engine:
    """The engine called ``name``; Ray's is imported only here, so the local line works without Ray."""
    if name == "local":
        from pipeline.engines.local import LocalEngine

        return LocalEngine(settings.walk)
    if name == "ray":
        try:
            from pipeline.engines.ray_data import RayEngine
        except ImportError as error:
            raise ConfigError(f"--engine ray needs Ray: pip install 'rag-ingest[distributed]' ({error})") from error
        return RayEngine(settings, address=ray_address)
    raise ConfigError(f"unknown engine '{name}' (allowed: {', '.join(ENGINES)})")
