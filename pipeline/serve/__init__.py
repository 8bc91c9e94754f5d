"""The store as a service: an HTTP search API with a page (``ingest-serve``) and an MCP server
(``ingest-mcp``), both reading what ``ingest`` has committed, never taking its lock.

    service.py      SearchService: the searches, the collections, the file-status listing and a
                    file's chunks, over one CollectionWorker per collection
    worker.py       CollectionWorker: a collection's Retriever in a thread of its own, answering
                    queued searches together
    files.py        the file-status listing: the manifest (read-only) and the last run's errors
    reports.py      ingest-eval reports found beside the store, for the page to link
    schemas.py      what the HTTP API accepts and answers (its OpenAPI document)
    problems.py     the error tree mapped to HTTP status codes, one JSON shape for every error
    guards.py       the bearer token, the request body limit, the refusal to listen exposed without a token
    app.py          the FastAPI app: routes, the page and its static files
    mcp_server.py   the MCP tools (search, list_files, list_collections) over stdio
    cli.py          ingest-serve and ingest-mcp

Nothing here is imported by the rest of the pipeline: the web stack loads only for these commands.
"""
