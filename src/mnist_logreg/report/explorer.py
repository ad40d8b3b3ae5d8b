"""The report's explorer: the regularisation path under a slider, as data embedded in the page.

Every grid row of results.csv becomes one stop of a slider over its path (one penalty and
``l1_ratio``, C ascending). For each stop the page shows the row's scores as results.csv has them,
its weight images and its confusion matrix on the test set, and marks it on the AUC-vs-C and
sparsity curves. Nothing is recomputed on the side except what results.csv does not hold:

* **Weights** come from path.npz (mapped to pixel space when the sweep standardised, ``W / s``
  with ``s`` the pixels' standard deviations) and are stored **quantised to int8 per row**: one
  scale per row, ``s_r = max |W_r| / 127``, and ``q = round(W / s_r)``; a weight that is not zero
  but rounds to zero is stored as +-1, so a zero in the page is exactly a zero in path.npz (what L1
  and ``group`` sparsity mean). 10 x 784 weights take 7,840 bytes per row, 10.5 kB in base64.
* **Confusion matrices** are computed here, at report time, from path.npz's weights and the test
  split (``argmax(X_test W^T + b)``, in the space the sweep fitted in), k x k counts per row.

Under ``--repeats`` (a ``repeat`` column) the stops are the rows of the first repeat and each curve
also carries the mean and standard deviation over repeats at every C; under cross-validated
selection the CV curve carries its +- one standard deviation band (``roc_auc_cv_std``).
"""

from __future__ import annotations

import base64
import json
import math
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..io.record import has_repeats
from ..solvers.penalties import KINDS
from .labels import grid_C_labels, row_labels
from .tables import over_repeats, with_labels
from .formats import number, percent

__all__ = ["path_names", "quantise_weights", "confusion_counts", "explorer_data", "render_explorer"]

#: results.csv column -> the explorer's short key (columns that are absent are left out).
_COLUMNS = {
    "C": "C", "roc_auc_train": "auc_train", "roc_auc_test": "auc_test", "roc_auc_cv": "auc_cv",
    "roc_auc_cv_std": "auc_cv_std", "accuracy_train": "acc_train", "accuracy_test": "acc_test",
    "log_loss_test": "log_loss", "nonzero_fraction": "nonzero", "n_iter": "n_iter", "gap": "gap",
    "converged": "converged",
}
#: Columns whose spread over repeats the curves draw.
_SPREAD = ("roc_auc_train", "roc_auc_test", "roc_auc_cv", "nonzero_fraction")


def path_names(results: pd.DataFrame) -> list[str]:
    """The name of each row's path: its penalty as every table and figure of the report names it
    (:func:`.labels.row_labels`: ``l1``, ``l2``, ``none``, ``elasticnet (l1_ratio=0.5)``,
    ``group (l1_ratio=1)``), so the rows of one penalty and ``l1_ratio`` form one path."""
    return row_labels(results)


def quantise_weights(coef: np.ndarray) -> tuple[float, np.ndarray]:
    """One row's weights as int8 with one scale: ``coef ~ scale * q``; nonzero weights stay nonzero.

    Parameters
    ----------
    coef : ndarray of shape (n_classes, n_features)

    Returns
    -------
    scale : float
        ``max |coef| / 127`` (1.0 for an all-zero row).
    q : ndarray of int8, same shape
    """
    coef = np.asarray(coef, dtype=np.float64)
    top = float(np.max(np.abs(coef))) if coef.size else 0.0
    scale = top / 127 if top > 0 else 1.0
    q = np.rint(coef / scale)
    q = np.where((q == 0) & (coef != 0), np.sign(coef), q)
    return scale, q.astype(np.int8)


def confusion_counts(X_test: np.ndarray, y_codes: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Test-set confusion matrices of every row of a path.

    Parameters
    ----------
    X_test : ndarray of shape (n_test, n_features)
        In the space the sweep fitted in (scaled, standardised when it standardised).
    y_codes : ndarray of shape (n_test,)
        Class codes ``0..k-1``.
    coef : ndarray of shape (n_rows, k, n_features)
    intercept : ndarray of shape (n_rows, k)

    Returns
    -------
    ndarray of shape (n_rows, k, k)
        ``[r, i, j]``: test images of class ``i`` that row ``r`` labels ``j``.
    """
    n_rows, k, d = coef.shape
    y_codes = np.asarray(y_codes, dtype=np.int64)
    # Every row's scores in one product, (n_test, d) x (d, n_rows * k); the label is the argmax of
    # the linear scores (softmax is monotone, so no need to take it).
    X_test = np.asarray(X_test, dtype=np.float64)
    scores = (X_test @ coef.reshape(n_rows * k, d).T).reshape(len(X_test), n_rows, k) + intercept[None]
    predicted = np.argmax(scores, axis=2)  # (n_test, n_rows)
    counts = np.zeros((n_rows, k * k), dtype=np.int64)
    for r in range(n_rows):
        counts[r] = np.bincount(y_codes * k + predicted[:, r], minlength=k * k)
    return counts.reshape(n_rows, k, k)


def _display(row: pd.Series, label: str, pixels: bool) -> list[list[str]]:
    """The metrics panel of one row: ``[key, what, text]``, numbers written as the results table
    writes them (ROC AUC in percent with two decimals)."""
    items = [["C", "C", label]]
    items.append(["roc_auc_train", "ROC AUC train", percent(row["roc_auc_train"]) + "%"])
    items.append(["roc_auc_test", "ROC AUC test", percent(row["roc_auc_test"]) + "%"])
    if "roc_auc_cv" in row and not pd.isna(row["roc_auc_cv"]):
        std = f" ± {percent(row['roc_auc_cv_std'])}" if not pd.isna(row.get("roc_auc_cv_std")) else ""
        items.append(["roc_auc_cv", "ROC AUC CV", f"{percent(row['roc_auc_cv'])}{std}%"])
    items.append(["accuracy_train", "accuracy train", percent(row.get("accuracy_train")) + "%"])
    items.append(["accuracy_test", "accuracy test", percent(row.get("accuracy_test")) + "%"])
    items.append(["log_loss_test", "log-loss test", number(row.get("log_loss_test"), ".4f")])
    items.append(["nonzero_fraction", "pixels in use" if pixels else "nonzero weights",
                  percent(row.get("nonzero_fraction"), 1) + "%"])
    items.append(["n_iter", "iterations", number(row.get("n_iter"), ".0f")])
    if "gap" in row:
        items.append(["gap", "duality gap", number(row["gap"], ".2e")])
    if "converged" in row:
        items.append(["converged", "converged (certified)" if "gap" in row else "converged",
                      "yes" if bool(row["converged"]) else "no"])
    return items


def _plain(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def explorer_data(results: pd.DataFrame, coef: np.ndarray, intercept: np.ndarray, *, X_test: np.ndarray,
                  y_test_codes: np.ndarray, classes, image_shape, chosen: int | None,
                  select_by: str = "roc_auc_test", pixel_scale: np.ndarray | None = None) -> dict:
    """Everything the explorer shows, as JSON-ready data.

    Parameters
    ----------
    results : DataFrame
        results.csv, row ``i`` fitted as ``coef[i], intercept[i]``.
    coef : ndarray of shape (n_rows, k, n_features)
    intercept : ndarray of shape (n_rows, k)
        path.npz.
    X_test, y_test_codes : test split in the sweep's space, and its class codes
    classes : sequence of length k
    image_shape : (h, w)
    chosen : int or None
        Row where the slider starts (the chosen model).
    select_by : str
    pixel_scale : ndarray of shape (n_features,) or None
        The standard deviations the sweep divided the pixels by; weight images show ``W / s``.

    Returns
    -------
    dict
        ``classes, shape, select_by, chosen, paths`` (each ``name, penalty, l1_ratio, stops``) with
        one stop per row (``row, C, label`` and the scores, ``scale, weights`` in base64 int8 and
        ``confusion``) plus ``spread`` (mean and std over repeats) where repeats exist.
    """
    results = results.reset_index(drop=True)
    coef = np.asarray(coef)
    if coef.shape[0] != len(results):
        raise ValueError(f"path: received {coef.shape[0]} rows of weights for {len(results)} rows of results; "
                         f"expected coef of shape (len(results), n_classes, n_features), one per results row")
    names = path_names(results)
    C_labels = grid_C_labels(results["C"])
    repeats = has_repeats(results)
    shown = results.index if not repeats else results.index[results["repeat"] == results["repeat"].iloc[0]]
    confusion = confusion_counts(np.asarray(X_test), y_test_codes, coef[shown], np.asarray(intercept)[shown])
    confusion_of = dict(zip(shown, confusion))

    spread = {}
    if repeats:  # each stop's mean and standard deviation over the repeats, as the curves draw them
        present = [c for c in _SPREAD if c in results.columns]
        means, _ = over_repeats(with_labels(results), present)
        spread = {(label, C): {c: (record[c], record[c + "_spread"]) for c in present}
                  for label, C, record in zip(means["label"], means["C"], means.to_dict("records"))}

    paths: dict[str, dict] = {}
    for i in shown:
        row = results.loc[i]
        name = names[i]
        path = paths.setdefault(name, {"name": name, "penalty": str(row["penalty"]),
                                       "l1_ratio": float(row["l1_ratio"]), "stops": []})
        W = coef[i] if pixel_scale is None else coef[i] / pixel_scale
        scale, q = quantise_weights(W)
        C = float(row["C"])
        stop = {"row": int(i), "label": C_labels.get(C, "inf") if math.isfinite(C) else "inf",
                "C_exact": repr(C),
                **{key: _plain(row[column]) for column, key in _COLUMNS.items() if column in results.columns},
                "text": _display(row, C_labels.get(C, "inf") if math.isfinite(C) else "inf (no penalty)",
                                 pixels=not KINDS[row["penalty"]].family.separable),
                "scale": scale, "weights": base64.b64encode(q.tobytes()).decode("ascii"),
                "confusion": confusion_of[i].tolist()}
        if not math.isfinite(C):
            stop["C"] = None
        if repeats:
            stop["spread"] = {_COLUMNS[c]: [_plain(m), _plain(s)] for c, (m, s) in spread[(name, C)].items()}
        path["stops"].append(stop)
    for path in paths.values():
        path["stops"].sort(key=lambda s: math.inf if s["C"] is None else s["C"])
    return {
        "classes": [str(c) for c in classes],
        "shape": [int(s) for s in image_shape],
        "select_by": select_by,
        "chosen": None if chosen is None else int(chosen),
        "repeats": bool(repeats),
        "paths": list(paths.values()),
    }


@lru_cache(maxsize=1)
def _script() -> str:
    return resources.files("mnist_logreg.report").joinpath("templates/explorer.js").read_text(encoding="utf-8")


def render_explorer(data: dict) -> Markup:
    """The explorer's data and script, ready to insert in the report.

    The data is JSON inside ``<script type="application/json">``: every ``<``, ``>`` and ``&`` is
    written as a ``\\u`` escape, so no string from the run (a class name, say) can close the
    element or open another.
    """
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script = _script()
    if "</script" in script.lower():
        raise ValueError("explorer.js must not contain '</script'")
    return Markup(f'<script type="application/json" id="explorer-data">{payload}</script>\n'
                  f"<script>\n{script}\n</script>\n")
