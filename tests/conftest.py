"""Shared fixtures: where the real MNIST test digits live, and small real data sets."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The 10,000 real MNIST test digits (IDX); override with MNIST_LOGREG_T10K.
T10K_DIR = Path(os.environ.get("MNIST_LOGREG_T10K", REPO.parent / "shared" / "data" / "mnist-t10k"))


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache, nor the default ``runs/`` of the checkout."""
    monkeypatch.setenv("MNIST_LOGREG_HOME", str(tmp_path_factory.mktemp("data-home")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def t10k_dir() -> Path:
    """Folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz; skips when absent."""
    if not (T10K_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST digits not found at {T10K_DIR} (set MNIST_LOGREG_T10K)")
    return T10K_DIR


def _sklearn_digits_sweep(Cs, max_iter):
    """Fit l1 and l2 over ``Cs`` plus one unpenalised row with scikit-learn itself (not our engines)
    on the 8x8 digits, and compute each results.csv row with scikit-learn's metrics."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    from mnist_logreg.objective import objective

    digits = load_digits()
    X, y = digits.data / 16, digits.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=600, test_size=400, stratify=y,
                                                        random_state=0)
    rows, models = [], []
    grid = [(p, r, C) for p, r in (("l1", 1.0), ("l2", 0.0)) for C in Cs] + [("none", 0.0, np.inf)]
    for penalty, l1_ratio, C in grid:
        model = LogisticRegression(C=C, l1_ratio=l1_ratio, solver="lbfgs" if np.isinf(C) else "saga", tol=1e-3,
                                   max_iter=max_iter, random_state=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X_train, y_train)
        p_train, p_test = model.predict_proba(X_train), model.predict_proba(X_test)
        rows.append(dict(
            penalty=penalty, l1_ratio=l1_ratio, C=C,
            roc_auc_train=roc_auc_score(y_train, p_train, multi_class="ovr"),
            roc_auc_test=roc_auc_score(y_test, p_test, multi_class="ovr"),
            accuracy_train=accuracy_score(y_train, model.predict(X_train)),
            accuracy_test=accuracy_score(y_test, model.predict(X_test)),
            log_loss_test=log_loss(y_test, p_test),
            nonzero_fraction=float(np.mean(model.coef_ != 0)),
            objective=objective(X_train, y_train, model.coef_, model.intercept_, l1_ratio=l1_ratio, C=C),
            n_iter=int(np.max(model.n_iter_)),
            converged=not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            # A deterministic stand-in for wall time, so figure content never depends on the clock.
            fit_seconds=0.001 * (1 + int(np.max(model.n_iter_))),
        ))
        models.append(model)
    return dict(X=X, y=y, X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test,
                results=pd.DataFrame(rows), models=models)


@pytest.fixture(scope="session")
def digits_sweep():
    """Factory ``digits_sweep(Cs, max_iter)``: a genuine small sweep table, fitted once per session."""
    made = {}

    def make(Cs, max_iter=300):
        key = (tuple(float(c) for c in Cs), max_iter)
        if key not in made:
            made[key] = _sklearn_digits_sweep(Cs, max_iter)
        return made[key]

    return make
