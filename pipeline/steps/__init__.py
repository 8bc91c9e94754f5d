"""The steps of the ingest line, in line order, each usable by any engine:

walk -> plan -> parse (read, clean, structure, chunk, BM25 terms) -> embed -> write -> commit
"""
