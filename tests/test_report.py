"""The HTML report: escaping, self-containment, the selection protocol, and a real browser.

The context is built from a genuine small sweep on scikit-learn's digits (2 penalties x 6 C plus
an unpenalised fit), with the figures the command line would embed.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageStat

from mnist_logreg import figures as F
from mnist_logreg.report import render_report, write_report

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
IMG_SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", re.IGNORECASE)


@pytest.fixture(scope="module")
def context(digits_sweep):
    sweep = digits_sweep(np.logspace(-2, 1, 6), max_iter=100)
    results = sweep["results"]
    X, y, X_test, y_train, y_test = (sweep[k] for k in ("X", "y", "X_test", "y_train", "y_test"))
    model = sweep["models"][int(results.roc_auc_test.idxmax())]
    best = results.loc[results.roc_auc_test.idxmax()]
    figures = {
        "samples": F.sample_images(X * 16, y, (8, 8)),
        "labels": F.label_histograms(y_train, y_test),
        "auc_heatmaps": F.auc_heatmaps(results),
        "auc_vs_C": F.auc_vs_C(results),
        "fit_time": F.fit_time_vs_C(results),
        "nonzero": F.nonzero_vs_C(results),
        "weights": F.weight_images(model.coef_, (8, 8), model.classes_),
        "confusion": F.confusion_matrix_figure(y_test, model.predict(X_test), model.classes_),
    }
    # Rendered once: every report below embeds the same PNG bytes, which keeps the tests fast.
    figures = {name: F.figure_png(fig, dpi=60) for name, fig in figures.items()}
    return dict(
        title="mnist-logreg on digits", command="mnist-logreg run --dataset digits --penalties l1,l2,none",
        created="2026-01-01T12:00:00+00:00",
        dataset=dict(name="digits", source="sklearn.datasets.load_digits", n_samples=len(y),
                     n_features=64, image_shape=(8, 8), sha256="0" * 64, notes=["8x8 images, 0..16"]),
        protocol=dict(train_size=600, test_size=400, seed=0, scale="none", dtype="float64",
                      standardize=False, engine="sklearn", engine_options={"tol": 1e-3},
                      penalties=["l1", "l2", "none"], C="1e-2:1e1:6", select_by="roc_auc_test",
                      cv=None, refit="train"),
        results=results,
        best=dict(penalty=best.penalty, l1_ratio=best.l1_ratio, C=best.C,
                  roc_auc_train=best.roc_auc_train, roc_auc_test=best.roc_auc_test),
        refit=dict(on="train", n_samples=600, accuracy=float(best.accuracy_test),
                   accuracy_on="the 400 test images"),
        figures=figures,
        timings=dict(load_s=0.01, sweep_s=1.5, refit_s=0.1, report_s=0.2),
        versions={"numpy": np.__version__, "pandas": pd.__version__},
    )


def _with(context, **changes):
    return {**context, **changes}


def test_run_strings_are_escaped(context):
    html = render_report(_with(context, dataset={**context["dataset"], "name": "<script>alert(1)</script>"},
                               title="a & b"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<title>a &amp; b</title>" in html


def test_every_image_is_an_embedded_png(context):
    html = render_report(context)
    sources = IMG_SRC.findall(html)
    assert len(sources) == len(context["figures"]) >= 7
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert image.format == "PNG" and min(image.size) > 50


def test_nothing_is_loaded_from_the_network(context):
    html = render_report(context)
    attributes = re.findall(r"\b(?:src|href|action|poster)=\"([^\"]*)\"", html, re.IGNORECASE)
    assert all(not re.match(r"(?:https?:)?//", value, re.IGNORECASE) for value in attributes)
    assert "url(" not in html
    assert "@import" not in html
    assert not re.search(r"<(?:script|link|iframe|object|embed)\b", html, re.IGNORECASE)


def test_selection_by_test_set_is_called_optimistic(context):
    html = render_report(context)
    text = re.sub(r"\s+", " ", html)
    assert "The test set chose the model" in text
    assert "optimistic" in text
    assert "--select-by roc_auc_cv" in text
    assert "only reported" not in text


def test_selection_by_cv_says_the_test_set_was_only_reported(context):
    results = context["results"].assign(roc_auc_cv=context["results"].roc_auc_test - 0.001,
                                        roc_auc_cv_std=0.002)
    html = render_report(_with(context, results=results,
                               protocol={**context["protocol"], "select_by": "roc_auc_cv", "cv": 5},
                               best={**context["best"], "roc_auc_cv": 0.987}))
    text = re.sub(r"\s+", " ", html)
    assert "5-fold cross-validated ROC AUC on the training set" in text
    assert "The test set was only reported" in text
    assert "The test set chose the model" not in text
    assert "ROC AUC CV" in text and "98.70%" in text


def _table_rows(html):
    body = re.search(r"<table id=\"top\">.*?<tbody>(.*?)</tbody>", html, re.DOTALL).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def test_top_ten_sorted_by_test_auc_with_counts(context):
    results = context["results"]
    html = render_report(context)
    rows = _table_rows(html)
    assert len(results) == 13 and len(rows) == 10
    expected = results.sort_values("roc_auc_test", ascending=False, kind="mergesort").head(10)
    assert [row[4] for row in rows] == [f"{100 * v:.2f}" for v in expected.roc_auc_test]
    assert [row[1] for row in rows] == [F.penalty_label(p, r) for p, r in zip(expected.penalty, expected.l1_ratio)]
    assert f"{len(results)} fits" in html
    not_converged = int((~results.converged).sum())
    assert (f"{not_converged} did not converge" in html) if not_converged else ("all converged" in html)
    # The chosen model is the first row and the only highlighted one.
    assert html.count('class="chosen"') == 1
    assert re.search(r'<tr class="chosen">\s*<td class="num">1</td>', html)


def test_the_chosen_C_is_written_as_the_table_and_figures_write_it(context):
    """A C is formatted with the whole grid (a 25-point grid writes 10 as 1.0e+01), everywhere."""
    results = context["results"].copy()
    results["C"] = results["C"].where(~np.isfinite(results["C"]), results["C"] * 10)  # 0.1 .. 100
    for C in sorted(set(results["C"][np.isfinite(results["C"])])):
        best = results[results["C"] == C].iloc[0]
        html = render_report(_with(context, results=results, best=dict(best)))
        card = re.search(r'<div class="k">chosen C</div><div class="v">(.*?)</div>', html).group(1)
        assert card == F.grid_C_labels(results["C"])[C]


def test_weights_come_with_reading_instructions(context):
    text = re.sub(r"\s+", " ", render_report(context))
    assert "red pixel pushes" in text and "blue pixel pushes it away" in text
    assert "under an L1 penalty many weights are exactly zero" in text


def test_unknown_figures_get_their_own_section_and_bad_ones_are_refused(context):
    figures = {**context["figures"], "learning_curve": context["figures"]["labels"]}
    html = render_report(_with(context, figures=figures))
    assert "Other figures" in html and 'alt="learning_curve"' in html
    with pytest.raises(ValueError, match="extra"):
        render_report(_with(context, figures={"extra": b"GIF89a"}))


def test_minimal_context_renders(context):
    html = render_report({"results": context["results"], "best": context["best"]})
    assert "The test set chose the model" in html and "No refit" in html


def test_write_report_is_atomic(tmp_path, context):
    path = tmp_path / "run" / "report.html"
    assert write_report(path, context) == path
    first = path.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(TypeError):
        write_report(path, _with(context, figures={"samples": "not a figure"}))
    assert path.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


def _chromium(*args, user_data_dir: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={user_data_dir}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="headless browser test needs Debian's `chromium` package "
                                             "(/usr/bin/chromium), which is not installed")
def test_report_renders_in_headless_chromium(tmp_path, context):
    report = write_report(tmp_path / "report.html", context)
    html = report.read_text(encoding="utf-8")
    # The report has no script; a test-only copy adds one that counts decoded images on load.
    probe = ("<script>window.addEventListener('load', function () {"
             " var images = Array.prototype.slice.call(document.images);"
             " document.body.setAttribute('data-images', images.length);"
             " document.body.setAttribute('data-decoded', images.filter(function (i) {"
             " return i.complete && i.naturalWidth > 0; }).length); });</script>")
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    done = _chromium("--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri(),
                     user_data_dir=tmp_path / "profile-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout).group(1)
    n_images = len(context["figures"])
    assert f'data-images="{n_images}"' in body and f'data-decoded="{n_images}"' in body
    assert "<h1>mnist-logreg on digits</h1>" in done.stdout

    screenshot = tmp_path / "report.png"
    done = _chromium("--window-size=1280,2400", f"--screenshot={screenshot}", report.as_uri(),
                     user_data_dir=tmp_path / "profile-shot")
    assert done.returncode == 0, done.stderr[-2000:]
    image = Image.open(screenshot).convert("L")
    assert image.size == (1280, 2400)
    # A blank or failed page is one flat colour; a rendered report has text and figures.
    assert ImageStat.Stat(image).stddev[0] > 20
    assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
