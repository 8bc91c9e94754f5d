"""Retrieval shared by the query API and the evaluation: BM25 tokens and index, fusion, hybrid plans."""
