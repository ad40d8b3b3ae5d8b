"""How results show in a notebook: compact HTML summaries, and progress bars only where they render.

:class:`~mnist_logreg.plan.sweep.SweepResult` and :class:`~mnist_logreg.workflow.RunOutcome` call these
from their ``_repr_html_``, so displaying one in Jupyter gives a short table, not a wall of text.
"""

from __future__ import annotations

import html
import importlib.util
import math

__all__ = ["progress_renders", "sweep_html", "outcome_html"]

_SCORES = ("roc_auc_train", "roc_auc_cv", "roc_auc_test", "accuracy_test", "nonzero_fraction")


def progress_renders(console) -> bool:
    """Whether a rich progress bar on ``console`` shows as a bar, not as stray text.

    On a terminal it does; in Jupyter only with ``ipywidgets`` (rich draws its live display in a
    widget); in a pipe or a captured stream it would print frames as text, so it is left off.
    """
    if getattr(console, "is_jupyter", False):
        return importlib.util.find_spec("ipywidgets") is not None
    return bool(console.is_terminal)


def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else (f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3g}")
    return html.escape(str(value))


def _rows(pairs) -> str:
    return "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in pairs)


def sweep_html(sweep, top: int = 5) -> str:
    """The sweep in a few lines: its size, how many rows converged, and the best rows by test AUC."""
    table = sweep.table
    score = "roc_auc_cv" if "roc_auc_cv" in table.columns else "roc_auc_test"
    converged = int(table["converged"].astype(bool).sum()) if "converged" in table.columns else None
    facts = [("grid rows", len(sweep.rows)), ("table rows", len(table)),
             ("repeats", len(sweep.repeats) or 1)]
    if converged is not None:
        facts.append(("converged", f"{converged} of {len(table)}"))
    columns = [c for c in ("penalty", "l1_ratio", "C", *_SCORES) if c in table.columns]
    best = table.sort_values(score, ascending=False, kind="stable").head(top)[columns]
    return (f"<div><strong>SweepResult</strong><table>{_rows(facts)}</table>"
            f"<p>best {len(best)} rows by {html.escape(score)}</p>"
            f"{best.to_html(index=False, float_format=lambda v: f'{v:.4g}', border=0)}</div>")


def outcome_html(outcome) -> str:
    """A finished run: where its files are, what was chosen, how the refit model did, how long it took."""
    best, refit = outcome.best or {}, outcome.refit or {}
    facts = [("folder", outcome.folder), ("rows", len(outcome.table))]
    facts += [(k, best[k]) for k in ("penalty", "l1_ratio", "C", "roc_auc_test", "roc_auc_cv") if k in best]
    if best.get("select_by"):
        facts.append(("chosen by", best["select_by"]))
    if refit:
        on = refit.get("on")
        facts.append(("no refit (the sweep's fit)" if on == "none" else f"refit on {on}",
                      f"accuracy {refit.get('accuracy', float('nan')):.4f} on {refit.get('accuracy_on', '')}"))
    facts += [(k, f"{v:.2f} s") for k, v in (outcome.timings or {}).items() if isinstance(v, (int, float))]
    report = outcome.folder / "report.html"
    link = f"<p>report: <code>{html.escape(str(report))}</code></p>" if report.exists() else ""
    return f"<div><strong>RunOutcome</strong><table>{_rows(facts)}</table>{link}</div>"
