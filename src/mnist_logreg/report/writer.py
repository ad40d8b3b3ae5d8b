"""Render a run into one self-contained HTML file.

The report is a jinja2 template (``templates/report.html.j2``) with autoescaping on: every string
that comes from the run (dataset names, notes, the command line) is escaped, so a name such as
``<script>`` shows as text. Figures are embedded as base64 ``data:`` URIs, the CSS is inline, and
the page has no script and no reference to any network resource, so the file can be mailed,
archived or opened offline and shows the same thing.

The writer turns the run's context into plain display values (percentages, formatted C, the
top-10 table) and the template only lays them out.
"""

from __future__ import annotations

import base64
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure

from ..atomic import write_text
from ..figures import figure_png, format_C, grid_C_labels, penalty_label

__all__ = ["render_report", "write_report", "FIGURE_SECTIONS"]

#: Known figure names: (section, caption). Unknown names go to a section "Other figures".
FIGURE_SECTIONS: dict[str, tuple[str, str]] = {
    "samples": ("data", "Random images from the loaded data, with their labels."),
    "labels": ("data", "Images per class in the training and test sets."),
    "auc_heatmaps": ("results", "ROC AUC (one-vs-rest, macro) of every fit, in percent."),
    "auc_vs_C": ("results", "ROC AUC against C: strong penalties (small C) underfit, weak ones "
                            "(large C) let train and test part."),
    "fit_time": ("results", "Seconds per fit."),
    "nonzero": ("results", "Fraction of weights that are not exactly zero."),
    "weights": ("model", "Weights of the refit model, one image per class."),
    "confusion": ("model", "Confusion matrix of the chosen model."),
}

TOP_ROWS = 10
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("mnist_logreg.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = _percent
    return env


def _percent(value: Any, digits: int = 2) -> str:
    """``0.98765`` -> ``"98.77"``; missing values -> an en dash."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else f"{100 * value:.{digits}f}"


def _number(value: Any, fmt: str) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else format(value, fmt)


def _data_uri(name: str, figure: Figure | bytes) -> str:
    """A ``data:image/png;base64,...`` URI for a Figure or for PNG bytes."""
    if isinstance(figure, Figure):
        png = figure_png(figure)
    elif isinstance(figure, (bytes, bytearray)):
        png = bytes(figure)
        if not png.startswith(_PNG_SIGNATURE):
            raise ValueError(f"figures[{name!r}]: bytes are not a PNG image (no PNG signature)")
    else:
        raise TypeError(f"figures[{name!r}]: expected a matplotlib Figure or PNG bytes, "
                        f"got {type(figure).__name__}")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figures(figures: Mapping[str, Figure | bytes]) -> dict[str, list[dict]]:
    """Figures grouped by section, each as {name, caption, uri}, in the order given."""
    sections: dict[str, list[dict]] = {"data": [], "results": [], "model": [], "other": []}
    for name, figure in figures.items():
        section, caption = FIGURE_SECTIONS.get(name, ("other", name))  # an unknown figure: its name
        sections[section].append({"name": name, "caption": caption, "uri": _data_uri(name, figure)})
    return sections


def _same_point(row: Mapping, best: Mapping) -> bool:
    """Whether a results row is the chosen grid point (penalty, l1_ratio and C all equal)."""
    try:
        return (row["penalty"] == best["penalty"]
                and math.isclose(float(row["l1_ratio"]), float(best.get("l1_ratio", row["l1_ratio"])))
                and (float(row["C"]) == float(best["C"])
                     or math.isclose(float(row["C"]), float(best["C"]), rel_tol=1e-9)))
    except (KeyError, TypeError, ValueError):
        return False


def _results_view(results: pd.DataFrame | None, best: Mapping) -> dict:
    """The top rows by test ROC AUC as display strings, with counts of the whole table."""
    if results is None or len(results) == 0:
        return {"n_rows": 0, "n_not_converged": 0, "rows": [], "has_cv": False}
    C_labels = grid_C_labels(results["C"])
    has_cv = "roc_auc_cv" in results and results["roc_auc_cv"].notna().any()
    top = results.sort_values("roc_auc_test", ascending=False, kind="mergesort").head(TOP_ROWS)
    rows = []
    for rank, (_, row) in enumerate(top.iterrows(), start=1):
        cv = _percent(row["roc_auc_cv"]) if has_cv else ""
        if has_cv and "roc_auc_cv_std" in row and not pd.isna(row["roc_auc_cv_std"]):
            cv += f" ± {_percent(row['roc_auc_cv_std'])}"
        rows.append({
            "rank": rank,
            "penalty": penalty_label(row["penalty"], row["l1_ratio"]),
            "C": C_labels[float(row["C"])] if math.isfinite(float(row["C"])) else "–",
            "auc_train": _percent(row["roc_auc_train"]),
            "auc_test": _percent(row["roc_auc_test"]),
            "auc_cv": cv,
            "accuracy_test": _percent(row.get("accuracy_test")),
            "log_loss_test": _number(row.get("log_loss_test"), ".4f"),
            "nonzero": _percent(row.get("nonzero_fraction"), 1),
            "n_iter": _number(row.get("n_iter"), ".0f"),
            "converged": "yes" if bool(row.get("converged", True)) else "no",
            "fit_seconds": _number(row.get("fit_seconds"), ".2f"),
            "chosen": _same_point(row, best),
        })
    converged = results["converged"].astype(bool) if "converged" in results else pd.Series(True)
    return {"n_rows": len(results), "n_not_converged": int((~converged).sum()),
            "rows": rows, "has_cv": has_cv}


def _best_view(best: Mapping, results: pd.DataFrame | None) -> dict:
    if not best:
        return {}
    C = float(best.get("C", math.nan))
    # The label the table and figures give this C (the grid's), or its own without a table.
    C_labels = grid_C_labels(results["C"] if results is not None and len(results) else [C])
    return {
        "penalty": penalty_label(best.get("penalty", "?"), best.get("l1_ratio", 0.0)),
        "C": C_labels.get(C, format_C([C])[0]) if math.isfinite(C) else "– (no penalty)",
        "auc_train": _percent(best.get("roc_auc_train")),
        "auc_test": _percent(best.get("roc_auc_test")),
        "auc_cv": _percent(best["roc_auc_cv"]) if best.get("roc_auc_cv") is not None else None,
    }


_DATASET_KEYS = ("name", "source", "n_samples", "n_features", "sha256")
_PROTOCOL_KEYS = ("train_size", "test_size", "seed", "scale", "dtype", "engine", "C", "refit")


def _filled(values: Mapping | None, keys: tuple[str, ...]) -> dict:
    """``values`` with every key in ``keys`` present; missing or None shown as an en dash."""
    values = dict(values or {})
    return {**values, **{k: "–" if values.get(k) is None else values[k] for k in keys}}


def _view(context: Mapping) -> dict:
    """Everything the template shows, as display values; missing optional keys get defaults."""
    dataset = _filled(context.get("dataset"), _DATASET_KEYS)
    shape = (context.get("dataset") or {}).get("image_shape")
    dataset["image_shape"] = " × ".join(str(s) for s in shape) if shape else "–"
    dataset["notes"] = list((context.get("dataset") or {}).get("notes") or [])
    raw_protocol = dict(context.get("protocol") or {})
    protocol = _filled(raw_protocol, _PROTOCOL_KEYS)
    protocol["select_by"] = raw_protocol.get("select_by") or "roc_auc_test"
    protocol["cv"] = raw_protocol.get("cv")
    protocol["standardize"] = bool(raw_protocol.get("standardize"))
    protocol["penalties"] = ", ".join(raw_protocol.get("penalties") or []) or "–"
    protocol["engine_options"] = ", ".join(f"{k}={v}" for k, v in
                                           (raw_protocol.get("engine_options") or {}).items())
    best = context.get("best") or {}
    refit = context.get("refit")
    if refit:
        refit = {"on": refit.get("on"), "n_samples": refit.get("n_samples", "–"),
                 "accuracy": _percent(refit.get("accuracy")),
                 "accuracy_on": refit.get("accuracy_on") or "–"}
    timings = {k.removesuffix("_s"): _number(v, ".2f")
               for k, v in (context.get("timings") or {}).items()}
    return {
        "title": context.get("title", "mnist-logreg report"),
        "command": context.get("command", ""),
        "created": context.get("created", ""),
        "dataset": dataset,
        "protocol": protocol,
        "results": _results_view(context.get("results"), best),
        "best": _best_view(best, context.get("results")),
        "refit": refit,
        "figures": _figures(context.get("figures") or {}),
        "timings": timings,
        "versions": dict(context.get("versions") or {}),
    }


def render_report(context: Mapping) -> str:
    """Render the HTML report of a run.

    Parameters
    ----------
    context : mapping
        ``title`` : str
            Page title and heading.
        ``command`` : str
            The command line that produced the run.
        ``created`` : str
            ISO 8601 time of the run.
        ``dataset`` : dict
            ``name, source, n_samples, n_features, image_shape, sha256, notes`` (list of str).
        ``protocol`` : dict
            ``train_size, test_size, seed, scale, dtype, standardize, engine, engine_options``
            (dict), ``penalties`` (list of str), ``C`` (description), ``select_by``
            (``"roc_auc_test"`` or ``"roc_auc_cv"``), ``cv`` (int or None), ``refit``
            (``"all"``, ``"train"`` or ``"none"``).
        ``results`` : pandas.DataFrame
            One row per grid point with the columns of results.csv (``penalty, l1_ratio, C,
            roc_auc_train, roc_auc_test, accuracy_train, accuracy_test, log_loss_test,
            nonzero_fraction, objective, n_iter, converged, fit_seconds``, optionally
            ``roc_auc_cv, roc_auc_cv_std``). The report shows the top 10 by test ROC AUC.
        ``best`` : dict
            ``penalty, l1_ratio, C, roc_auc_train, roc_auc_test`` and optionally ``roc_auc_cv``.
        ``refit`` : dict or None
            ``on`` (``"all"``/``"train"``), ``n_samples``, ``accuracy`` (float) and
            ``accuracy_on`` (what the accuracy was measured on).
        ``figures`` : dict of str to Figure or PNG bytes
            In display order. Known names (``samples, labels, auc_heatmaps, auc_vs_C, fit_time,
            nonzero, weights, confusion``) go to their section, others to "Other figures".
        ``timings`` : dict
            ``load_s, sweep_s, refit_s, report_s`` in seconds.
        ``versions`` : dict
            Package name to version.

        Only ``results`` and ``best`` carry the substance; every other key may be absent.

    Returns
    -------
    str
        The HTML document.
    """
    return _environment().get_template("report.html.j2").render(**_view(context))


def write_report(path, context: Mapping) -> Path:
    """Render the report and write it to ``path`` atomically; return the path.

    The page is rendered first, then written through :func:`mnist_logreg.atomic.write_text`
    (temporary file, then rename): a reader never sees a half-written report, and a failed render
    leaves an earlier report untouched.
    """
    html = render_report(context)
    return write_text(path, html)
