"""Validated data as the chapters read it, as pandas tables built from the rows records.py read
(one parser per file). Dtypes are explicit (pandas 3 infers strings)."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from zzreview import paths, records

METRIC_DTYPES = {"id": "string", "section": "string", "label": "string", "value": "Float64",
                 "unit": "string", "qualifier": "string", "kind": "string", "when": "string",
                 "quote": "string", "note": "string"}
EXCLUSION_DTYPES = {"phrase": "string", "occurrences": "Int64", "category": "string", "reason": "string"}


def _table(rows: list[tuple[int, dict]], dtypes: dict | str) -> pd.DataFrame:

    df = pd.DataFrame([row for _, row in rows])
    numeric = [c for c, t in (dtypes.items() if isinstance(dtypes, dict) else []) if t in ("Float64", "Int64")]
    for column in numeric:  # an empty cell is a missing number, not zero
        df[column] = pd.to_numeric(df[column].replace("", None))
    return df.astype(dtypes)


@lru_cache(maxsize=2)
def _metrics(version: tuple) -> pd.DataFrame:  # built once per version of the file

    df = _table(records.metric_rows(), METRIC_DTYPES)
    df["when"] = df["when"].replace("", pd.NA)
    return df.set_index("id", drop=False)


def metrics() -> pd.DataFrame:
    """data/metrics.csv indexed by id."""
    path = paths.metrics_path()
    records.note_file(path)  # the table may be served from the cache above the reader
    return _metrics((str(path), path.stat().st_mtime_ns)).copy()


def metric(metric_id: str) -> dict:
    """One metric as a plain dict (value as float or None)."""
    with records.narrowed(f"metric:{metric_id}"):
        row = metrics().loc[metric_id].to_dict()
    row["value"] = None if pd.isna(row["value"]) else float(row["value"])
    row["when"] = None if pd.isna(row["when"]) else row["when"]
    return row


def exclusions() -> pd.DataFrame:
    return _table(records.exclusion_rows(), EXCLUSION_DTYPES)


def ambiguities() -> pd.DataFrame:
    """data/ambiguities.csv: the register of what the text leaves open (metrics may be empty)."""
    return _table(records.register_rows(), "string")
