"""Shared fixtures: where the real MNIST test digits live, and small real data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The 10,000 real MNIST test digits (IDX); override with MNIST_LOGREG_T10K.
T10K_DIR = Path(os.environ.get("MNIST_LOGREG_T10K", REPO.parent / "shared" / "data" / "mnist-t10k"))


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache from a test."""
    monkeypatch.setenv("MNIST_LOGREG_HOME", str(tmp_path_factory.mktemp("data-home")))


@pytest.fixture(scope="session")
def t10k_dir() -> Path:
    """Folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz; skips when absent."""
    if not (T10K_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST digits not found at {T10K_DIR} (set MNIST_LOGREG_T10K)")
    return T10K_DIR
