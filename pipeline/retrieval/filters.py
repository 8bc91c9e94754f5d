"""A Chroma ``where`` filter applied to metadata in hand.

BM25 knows nothing of metadata, so its candidates are filtered after ranking. Asking Chroma for
"these ids, where ..." makes it evaluate the filter over the whole collection (seconds a query
at 100,000 chunks), while fetching the candidates' metadata by id is a key lookup; the filter is
then applied here, with Chroma's own semantics: ``{"key": value}`` is ``$eq``; ``$eq $ne $gt
$gte $lt $lte $in $nin`` compare one key; ``$and`` / ``$or`` take a list of filters. A missing key
matches only ``$ne`` and ``$nin``, as in Chroma.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.errors import FilterError

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt,
    "$lte": operator.le, "$in": lambda value, allowed: value in allowed, "$nin": lambda value, refused: value not in refused,
}
_MISSING_MATCHES = {"$ne", "$nin"}


def matches(where: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` passes the filter; a malformed filter raises FilterError."""
    if not isinstance(where, Mapping) or len(where) != 1:
        raise FilterError(f"where: a filter takes one key or operator (several: combine them with $and), got {where!r}")
    ((key, condition),) = where.items()
    return _clause(key, condition, metadata)


def _clause(key: str, condition: Any, metadata: Mapping[str, Any]) -> bool:
    if key in ("$and", "$or"):
        if not isinstance(condition, list) or not condition:
            raise FilterError(f"where: {key} takes a non-empty list of filters, got {condition!r}")
        results = (matches(part, metadata) for part in condition)
        return all(results) if key == "$and" else any(results)
    if key.startswith("$"):
        raise FilterError(f"where: unknown filter operator {key!r} (allowed: $and, $or, or a metadata key)")
    if not isinstance(condition, Mapping):
        condition = {"$eq": condition}
    if len(condition) != 1:
        raise FilterError(f"where: the filter on {key!r} needs exactly one operator, got {dict(condition)!r}")
    ((op, expected),) = condition.items()
    if op not in _COMPARE:
        raise FilterError(f"where: unknown filter operator {op!r} on {key!r} (allowed: {', '.join(_COMPARE)})")
    if op in ("$in", "$nin") and (not isinstance(expected, list) or not expected):
        raise FilterError(f"where: {op} on {key!r} takes a non-empty list, got {expected!r}")
    if key not in metadata:
        return op in _MISSING_MATCHES
    try:
        return bool(_COMPARE[op](metadata[key], expected))
    except TypeError:  # "abc" > 3: Chroma matches nothing either
        return False
