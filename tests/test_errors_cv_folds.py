"""QA 7: a class with one training image makes CV impossible; the --cv error says so and what to do."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from cli_helpers import QUICK, assert_one_line_error, run_cli


def test_a_class_with_one_training_image_says_cv_needs_two_per_class(tmp_path):
    X, y = load_digits(return_X_y=True)
    keep = np.setdiff1d(np.arange(len(y)), np.where(y == 5)[0][2:])  # class 5 keeps 2 images: 1 for training
    np.savez(tmp_path / "rare.npz", X=X[keep].reshape(-1, 8, 8).astype(np.uint8), y=y[keep])
    result = run_cli("run", "--dataset", f"npz:{tmp_path / 'rare.npz'}", "--train-size", "1000", "--test-size", "500",
                     *QUICK, "--select-by", "roc_auc_cv", "--out", tmp_path / "never")
    line = assert_one_line_error(result, 2, "--cv", "only 1 image of class 5", "at least 2 of every class",
                                 "--train-size", "--select-by roc_auc_test")
    assert "at most 1 folds" not in line, line
    assert not (tmp_path / "never").exists()
