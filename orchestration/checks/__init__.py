"""Data-quality checks on the warehouse: Great Expectations suites run as Dagster asset checks.

`gx_checks` goes into the Definitions; `data_docs_index()` is the Data Docs front page."""

from .asset_checks import gx_checks
from .docs_paths import data_docs_index

__all__ = ["data_docs_index", "gx_checks"]
