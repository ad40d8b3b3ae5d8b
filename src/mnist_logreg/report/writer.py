"""Render a run into one self-contained HTML file.

The report is a jinja2 template (``templates/report.html.j2``) with autoescaping on: every string
that comes from the run (dataset names, notes, the command line) is escaped, so a name such as
``<script>`` shows as text. Figures are embedded as base64 ``data:`` URIs, the CSS is inline, the
explorer's data and script are inline (:mod:`.explorer`), and the page refers to no network
resource, so the file can be mailed, archived or opened offline and shows the same thing.

The writer turns the run's record (:class:`~mnist_logreg.io.record.RunRecord`) and its results
table into plain display values (percentages, formatted C, the top-10 table by the selection
score) and the template only lays them out.
"""

from __future__ import annotations

import base64
import math
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from matplotlib.figure import Figure

from ..io.atomic import write_text
from .figures import figure_png
from .labels import format_C, grid_C_labels, penalty_label
from ..plan.grid import parse_penalties
from ..io.record import Choice, RunRecord, top_rows
from .explorer import render_explorer
from .formats import number, percent

__all__ = ["render_report", "write_report", "FIGURE_SECTIONS"]

#: Known figure names: (section, caption). Unknown names go to a section "Other figures".
FIGURE_SECTIONS: dict[str, tuple[str, str]] = {
    "samples": ("data", "Random images from the loaded data, with their labels."),
    "labels": ("data", "Images per class in the training and test sets."),
    "auc_heatmaps": ("results", "ROC AUC (one-vs-rest, macro) of every fit, in percent."),
    "auc_vs_C": ("results", "ROC AUC against C: strong penalties (small C) underfit, weak ones "
                            "(large C) let train and test part."),
    "fit_time": ("results", "Seconds per fit."),
    "nonzero": ("results", "Fraction of weights that are not exactly zero (for group rows: of pixels in use)."),
    "weights": ("model", "Weights of the refit model, one image per class."),
    "confusion": ("model", "Confusion matrix of the chosen model."),
}

TOP_ROWS = 10
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("mnist_logreg.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = percent
    return env


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


def _results_view(results: pd.DataFrame, record: RunRecord) -> dict:
    """The top rows by the selection score (``--select-by``) as display strings, with counts."""
    if results is None or len(results) == 0:
        return {"n_rows": 0, "n_not_converged": 0, "rows": [], "has_cv": False, "ranked_by": "test", "over": ""}
    select_by = record.config.select_by
    C_labels = grid_C_labels(results["C"])
    has_cv = "roc_auc_cv" in results and results["roc_auc_cv"].notna().any()
    chosen = record.best.row if record.best is not None else None
    rows = []
    for rank, (index, row) in enumerate(top_rows(results, select_by, TOP_ROWS).iterrows(), start=1):
        cv = percent(row["roc_auc_cv"]) if has_cv else ""
        if has_cv and "roc_auc_cv_std" in row and not pd.isna(row["roc_auc_cv_std"]):
            cv += f" ± {percent(row['roc_auc_cv_std'])}"
        rows.append({
            "rank": rank,
            "penalty": penalty_label(row["penalty"], row["l1_ratio"]),
            "C": C_labels[float(row["C"])] if math.isfinite(float(row["C"])) else "–",
            "auc_train": percent(row["roc_auc_train"]),
            "auc_test": percent(row["roc_auc_test"]),
            "auc_cv": cv,
            "accuracy_test": percent(row.get("accuracy_test")),
            "log_loss_test": number(row.get("log_loss_test"), ".4f"),
            "nonzero": percent(row.get("nonzero_fraction"), 1),
            "n_iter": number(row.get("n_iter"), ".0f"),
            "converged": "yes" if bool(row.get("converged", True)) else "no",
            "fit_seconds": number(row.get("fit_seconds"), ".2f"),
            "chosen": index == chosen,
        })
    converged = results["converged"].astype(bool) if "converged" in results else pd.Series(True)
    repeats = results["repeat"].nunique() if "repeat" in results.columns else 1
    return {"n_rows": len(results), "n_not_converged": int((~converged).sum()), "rows": rows,
            "has_cv": has_cv, "ranked_by": "CV" if select_by == "roc_auc_cv" else "test",
            "over": f", means over {repeats} splits" if repeats > 1 else ""}


def _best_view(best: Choice | None, results: pd.DataFrame) -> dict:
    if best is None:
        return {}
    C = best.C
    # The label the table and figures give this C (the grid's), or its own without a table.
    C_labels = grid_C_labels(results["C"] if results is not None and len(results) else [C])
    cv = best.score("roc_auc_cv")
    return {
        "penalty": penalty_label(best.penalty, best.l1_ratio),
        "C": C_labels.get(C, format_C([C])[0]) if math.isfinite(C) else "– (no penalty)",
        "auc_train": percent(best.score("roc_auc_train")),
        "auc_test": percent(best.score("roc_auc_test")),
        "auc_cv": percent(cv) if cv is not None else None,
    }


def _protocol_view(record: RunRecord) -> dict:
    config = record.config
    return {
        "train_size": record.split.n_train, "test_size": record.split.n_test, "seed": config.seed,
        "scale": config.scale, "dtype": config.dtype, "standardize": bool(config.standardize),
        "engine": record.engine,
        "engine_options": ", ".join(f"{k}={v}" for k, v in record.engine_options.items()),
        "penalties": ", ".join(parse_penalties(config.penalties)), "C": config.C,
        "select_by": config.select_by, "cv": record.cv, "refit": config.refit,
    }


def _explorer_view(data: dict | None) -> dict | None:
    """The explorer's path names (server-side options, so the page reads without script too), the
    path it starts on and its data and script."""
    if not data or not data.get("paths"):
        return None
    start = next((p["name"] for p in data["paths"] for s in p["stops"] if s["row"] == data.get("chosen")),
                 data["paths"][0]["name"])
    return {"paths": [p["name"] for p in data["paths"]], "start": start, "script": render_explorer(data)}


def _view(record: RunRecord, results: pd.DataFrame, figures: Mapping[str, Figure | bytes],
          explorer: dict | None) -> dict:
    """Everything the template shows, as display values."""
    facts = record.dataset
    refit = None
    if record.refit is not None:
        r = record.refit
        refit = {"on": r.on, "n_samples": r.n_samples, "accuracy": percent(r.accuracy),
                 "accuracy_on": r.accuracy_on}
    return {
        "title": f"mnist-logreg: {facts.name}",
        "command": record.command,
        "created": record.started,
        "dataset": {"name": facts.name, "source": facts.source, "n_samples": facts.n_samples,
                    "n_features": facts.n_features, "sha256": facts.sha256, "notes": list(facts.notes),
                    "image_shape": " × ".join(str(s) for s in facts.image_shape)},
        "protocol": _protocol_view(record),
        "results": _results_view(results, record),
        "best": _best_view(record.best, results),
        "refit": refit,
        "figures": _figures(figures),
        "explorer": _explorer_view(explorer),
        "timings": {k.removesuffix("_s"): number(v, ".2f") for k, v in record.timings.to_json().items()},
        "versions": dict(record.versions),
    }


def render_report(record: RunRecord, results: pd.DataFrame, figures: Mapping[str, Figure | bytes], *,
                  explorer: dict | None = None) -> str:
    """Render the HTML report of a run.

    Parameters
    ----------
    record : RunRecord
        The run's facts: command, dataset, options (the protocol), engine, chosen row, refit,
        timings and versions.
    results : pandas.DataFrame
        results.csv: one row per grid point, index = row position (as in path.npz). The report
        shows the top 10 by the selection score (``record.config.select_by``).
    figures : dict of str to Figure or PNG bytes
        In display order. Known names (``samples, labels, auc_heatmaps, auc_vs_C, fit_time,
        nonzero, weights, confusion``) go to their section, others to "Other figures".
    explorer : dict or None
        The explorer's data (:func:`~mnist_logreg.report.explorer.explorer_data`); ``None``
        leaves the section out.

    Returns
    -------
    str
        The HTML document.
    """
    html = _environment().get_template("report.html.j2").render(**_view(record, results, figures, explorer))
    return html


def write_report(path, record: RunRecord, results: pd.DataFrame, figures: Mapping[str, Figure | bytes], *,
                 explorer: dict | None = None) -> Path:
    """Render the report and write it to ``path`` atomically; return the path.

    The page is rendered first, then written through :func:`mnist_logreg.io.atomic.write_text`
    (temporary file, then rename): a reader never sees a half-written report, and a failed render
    leaves an earlier report untouched.
    """
    html = render_report(record, results, figures, explorer=explorer)
    return write_text(path, html)
