"""The pipelines users would pick instead, on the same folder and model: run by ingest_speed.py.

Runs inside the separate virtual environment that ``bench/ingest_speed.py --anchors`` makes
(``.bench-anchors/``), never in the project's: it imports LlamaIndex and LangChain, not ``pipeline``.
One call is one ingest (the first, or an unchanged re-run when the state in ``--work`` exists),
and prints one JSON object: seconds, chunks stored, and the seconds spent building the model.

- LlamaIndex: ``IngestionPipeline`` with a Chroma vector store and a docstore (upserts strategy),
  files read by ``SimpleDirectoryReader``, split by ``SentenceSplitter`` in the model's tokens.
- LangChain: ``index()`` with ``SQLRecordManager`` and ``cleanup="incremental"``, PDFs read by
  ``PyPDFLoader`` and text by ``TextLoader``, split by ``RecursiveCharacterTextSplitter`` in the
  model's tokens, into ``langchain_chroma.Chroma``.

Both use chunks of 256 tokens with 32 of overlap, and the same weights folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

CHUNK_TOKENS, OVERLAP = 256, 32
TEXT_SUFFIXES = {".txt", ".md"}


def files_of(folders: list[Path]) -> list[Path]:
    """The PDF, text and Markdown files under the folders (hidden ones skipped, as ours are)."""
    return sorted(
        p for folder in folders for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | {".pdf"}
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def run_llamaindex(folder: list[Path], model: str, work: Path) -> dict:
    import chromadb
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore
    from transformers import AutoTokenizer

    started = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=model, device="cpu", embed_batch_size=32)
    tokenizer = AutoTokenizer.from_pretrained(model)
    model_s = time.perf_counter() - started

    started = time.perf_counter()
    collection = chromadb.PersistentClient(path=str(work / "chroma")).get_or_create_collection("anchor")
    docstore_file = work / "docstore.json"
    docstore = SimpleDocumentStore.from_persist_path(str(docstore_file)) if docstore_file.exists() else SimpleDocumentStore()
    splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=OVERLAP,
                                tokenizer=lambda text: tokenizer.encode(text, add_special_tokens=False))
    pipeline = IngestionPipeline(transformations=[splitter, embed], vector_store=ChromaVectorStore(chroma_collection=collection),
                                 docstore=docstore, docstore_strategy=DocstoreStrategy.UPSERTS)
    documents = SimpleDirectoryReader(input_files=[str(p) for p in files_of(folder)], filename_as_id=True,
                                      raise_on_error=False).load_data()
    nodes = pipeline.run(documents=documents)
    docstore.persist(str(docstore_file))
    return {"seconds": time.perf_counter() - started, "model_s": model_s, "chunks_written": len(nodes),
            "chunks_stored": collection.count()}


def run_langchain(folder: list[Path], model: str, work: Path) -> dict:
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader, TextLoader
    from langchain_core.indexing import index
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from transformers import AutoTokenizer

    try:
        from langchain_classic.indexes import SQLRecordManager
    except ImportError:
        from langchain.indexes import SQLRecordManager

    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"},
                                       encode_kwargs={"batch_size": 32, "normalize_embeddings": True})
    tokenizer = AutoTokenizer.from_pretrained(model)
    model_s = time.perf_counter() - started

    started = time.perf_counter()
    store = Chroma(collection_name="anchor", embedding_function=embeddings, persist_directory=str(work / "chroma"))
    manager = SQLRecordManager("chroma/anchor", db_url=f"sqlite:///{work / 'records.sqlite3'}")
    manager.create_schema()
    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer, chunk_size=CHUNK_TOKENS,
                                                                        chunk_overlap=OVERLAP)
    documents = []
    for path in files_of(folder):
        loader = PyPDFLoader(str(path)) if path.suffix.lower() == ".pdf" else TextLoader(str(path), autodetect_encoding=True)
        try:
            documents.extend(loader.load())
        except Exception:  # noqa: BLE001 - a broken file is skipped, as ours are reported
            continue
    result = index(splitter.split_documents(documents), manager, store, cleanup="incremental", source_id_key="source",
                   batch_size=256)
    return {"seconds": time.perf_counter() - started, "model_s": model_s, "chunks_written": result["num_added"],
            "chunks_stored": store._collection.count(), "result": result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=["llamaindex", "langchain"])
    parser.add_argument("folder", type=Path, nargs="+")
    parser.add_argument("--model", required=True, help="a sentence-transformers weights folder")
    parser.add_argument("--work", type=Path, required=True, help="the anchor's store and state (kept between runs)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    runner = run_llamaindex if args.which == "llamaindex" else run_langchain
    print(json.dumps(runner(args.folder, args.model, args.work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
