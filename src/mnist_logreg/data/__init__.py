"""Data sources for ``--dataset``: OpenML (cached), bundled sets, IDX folders and npz files.

Everything returns a validated :class:`Dataset`; see :func:`load_dataset` for the accepted forms.
"""

from __future__ import annotations

from .cache import data_home
from .dataset import Dataset
from .idx import read_idx, write_idx
from .sources import DATASET_FORMS, check_dataset_spec, list_sources, load_dataset, parse_dataset_spec

__all__ = ["Dataset", "DATASET_FORMS", "data_home", "list_sources", "load_dataset", "parse_dataset_spec", "check_dataset_spec", "read_idx", "write_idx"]
