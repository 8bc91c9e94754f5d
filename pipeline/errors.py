"""One exception tree for the whole pipeline, so callers can catch as broadly as they need.

    IngestError
    ├── ConfigError             config.yaml or an option is wrong (the CLI exits 2)
    │   └── FilterError               a `where` metadata filter that is not a valid filter
    ├── ModelError              a model cannot be found or loaded
    ├── EmbeddingError          a batch could not be embedded (permanent)
    │   ├── TransientEmbeddingError   worth retrying: rate limit, timeout, connection reset
    │   ├── EmptyInputError           empty text never reaches a model
    │   └── InvalidVectorError        wrong dimension, NaN or infinity in a vector
    └── StoreError              the vector store refused or does not match
        ├── CollectionMismatchError   a collection was built with another model or settings
        ├── StoreLockedError          another ingest process is writing the same store
        └── StoreUnavailableError     a Chroma server cannot be reached, or kept failing

File-level problems are not exceptions of this tree: connectors raise
``connectors.ConnectorError`` with a category, and the ingest loop records it and goes on.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(IngestError):
    """Bad configuration: the message names the key and what is allowed."""


class FilterError(ConfigError):
    """A ``where`` metadata filter with an unknown operator or a malformed clause."""


class ModelError(IngestError):
    """A model in the registry cannot be resolved or loaded."""


class EmbeddingError(IngestError):
    """Embedding failed for good; the files whose chunks were in the batch are marked failed."""


class TransientEmbeddingError(EmbeddingError):
    """A failure that may pass if the same call is tried again (rate limit, timeout)."""


class EmptyInputError(EmbeddingError):
    """Empty or blank text was about to be sent to a model."""


class InvalidVectorError(EmbeddingError):
    """A model returned a vector of the wrong dimension or with non-finite values."""


class StoreError(IngestError):
    """The vector store could not be opened or written."""


class CollectionMismatchError(StoreError):
    """The collection holds vectors from another model, dimension or settings."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock; the message names it."""


class StoreUnavailableError(StoreError):
    """A Chroma server is unreachable, refused the connection, or kept failing after retries;
    the message names its URL."""
