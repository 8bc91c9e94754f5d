"""What the HTTP API accepts and answers. FastAPI builds the OpenAPI document (/docs,
/openapi.json) from these, so their field descriptions are the API's reference."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from pipeline.config import SearchMode


class SearchRequest(BaseModel):
    """A search. ``k``'s upper bound is ``serve.max_k``: :func:`search_request` sets it."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, max_length=4000, description="the question or search text, any language")
    k: int = Field(10, ge=1, description="how many chunks to return, best first")
    mode: SearchMode | None = Field(
        None, description="hybrid (vectors and BM25 fused), dense or lexical; default: retrieval.mode"
    )
    where: dict[str, Any] | None = Field(
        None, description='a Chroma metadata filter, e.g. {"file_type": "pdf"} or {"page": {"$lte": 3}}'
    )
    collection: str | None = Field(None, description="default: the default model's collection (GET /collections)")


def search_request(max_k: int) -> type[SearchRequest]:
    """:class:`SearchRequest` with ``k`` bounded by ``max_k``, so a bad ``k`` is refused like any bad field."""
    return create_model(  # type: ignore[call-overload] - pydantic's overloads do not cover field tuples
        "SearchRequest", __base__=SearchRequest,
        k=(int, Field(10, ge=1, le=max_k, description=f"how many chunks to return, best first (1-{max_k})")),
    )


class HitOut(BaseModel):
    """One hit: the fields of :class:`pipeline.Hit` (``Hit.to_dict()``), plus ``shown_source``."""

    id: str
    score: float = Field(description="the mode's ranking score: RRF (hybrid), cosine (dense) or BM25 (lexical)")
    text: str
    source: str = Field(description="the file's path as recorded")
    shown_source: str = Field(description="the path as a person reads it (a GBK file name in Chinese)")
    page: int | None
    heading_path: str
    metadata: dict[str, Any]
    mode: str
    dense_score: float | None = Field(description="cosine similarity, where the dense side found the chunk")
    lexical_score: float | None = Field(description="BM25 score, where the lexical side found the chunk")
    language: str = Field(description="the query's language, from its script")
    dense_weight: float = Field(description="the dense side's share in the fusion")
    note: str = Field(description="set when the query was answered differently from what was asked, and why")


class SearchResponse(BaseModel):
    collection: str
    mode: str
    took_ms: float
    hits: list[HitOut]


class CollectionOut(BaseModel):
    name: str
    model: str = Field(description="the model the collection's metadata records")
    dimension: int | None
    chunks: int
    files: int = Field(description="files with a manifest row (ingested or being written)")
    default: bool = Field(description="searched when a request names no collection")
    searchable: bool = Field(description="whether this configuration registers the collection's model")
    languages: list[str]


class CollectionsResponse(BaseModel):
    default: str
    max_k: int = Field(description="the most hits one search may ask for (serve.max_k)")
    collections: list[CollectionOut]


class FileOut(BaseModel):
    path: str
    shown: str = Field(description="the path as a person reads it")
    status: Literal["ingested", "writing", "failed"]
    doc_id: str | None = Field(description="the id of the file's chunks (GET /files/{doc_id}/chunks)")
    chunks: int
    size: int | None
    mtime_ns: int | None
    category: str | None = Field(description="why the file is not ingested: encrypted, corrupt, timeout...")
    message: str | None
    remembered: bool = Field(description="a lasting failure, not read again until the file changes")
    last_run: bool = Field(description="named in the last run's errors file (ingest-errors.jsonl)")


class FilesResponse(BaseModel):
    collection: str
    total: int
    limit: int
    offset: int
    files: list[FileOut]
    counts: dict[str, dict[str, int]] = Field(description="counts of all the collection's files by status and category")


class ChunkOut(BaseModel):
    id: str
    index: int | None
    text: str
    page: int | None
    heading_path: str
    tokens: int | None
    start: int | None
    end: int | None
    language: str
    ocr: bool


class FileChunksResponse(BaseModel):
    doc_id: str
    collection: str
    path: str
    shown: str
    state: str | None
    chunks: list[ChunkOut]


class ReportOut(BaseModel):
    name: str
    url: str
    modified: float


class ReportsResponse(BaseModel):
    reports: list[ReportOut]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Problem(BaseModel):
    """Every error's body: ``{"error": {"status", "type", "message", "details"?}}``."""

    error: dict[str, Any]
