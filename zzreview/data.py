"""Validated data as the chapters read it. Dtypes are explicit (pandas 3 infers strings)."""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from . import paths

METRIC_DTYPES = {"id": "string", "section": "string", "label": "string", "value": "Float64",
                 "unit": "string", "qualifier": "string", "kind": "string", "when": "string",
                 "quote": "string", "note": "string"}


def metrics() -> pd.DataFrame:
    """data/metrics.csv indexed by id (a UTF-8 BOM and CRLF line ends are accepted)."""
    path = paths.metrics_path()
    return _metrics(str(path), path.stat().st_mtime_ns).copy()


@lru_cache(maxsize=2)
def _metrics(path: str, mtime_ns: int) -> pd.DataFrame:  # read once per version of the file
    df = pd.read_csv(path, dtype=METRIC_DTYPES, encoding="utf-8-sig",
                     keep_default_na=False, na_values={"value": [""], "when": [""]})
    return df.set_index("id", drop=False)


def metric(metric_id: str) -> dict:
    """One metric as a plain dict (value as float or None)."""
    row = metrics().loc[metric_id].to_dict()
    row["value"] = None if pd.isna(row["value"]) else float(row["value"])
    row["when"] = None if pd.isna(row["when"]) else row["when"]
    return row


def exclusions() -> pd.DataFrame:
    return pd.read_csv(paths.exclusions_path(), dtype={"phrase": "string", "occurrences": "Int64",
                                                      "category": "string", "reason": "string"},
                       encoding="utf-8-sig", keep_default_na=False)


def ambiguities() -> pd.DataFrame:
    """data/ambiguities.csv: the register of what the text leaves open (metrics may be empty)."""
    return pd.read_csv(paths.ambiguities_path(), dtype="string", encoding="utf-8-sig",
                       keep_default_na=False)
