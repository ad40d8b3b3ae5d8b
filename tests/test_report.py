"""The HTML report: escaping, self-containment, the selection protocol, the top-rows table.

The run is described by a :class:`RunRecord` and a results table written out here as literals
(2 penalties x 6 C plus an unpenalised fit), so every expected string below is a literal too.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mnist_logreg.config import RunConfig
from mnist_logreg.report.figures import figure_png
from mnist_logreg.io.record import Choice, DatasetFacts, RefitFacts, RunRecord, SplitFacts, Timings
from mnist_logreg.report import render_report, write_report
from mnist_logreg.report.explorer import confusion_counts, explorer_data, path_names, quantise_weights
from mnist_logreg.report.tables import auc_tables

IMG_SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", re.IGNORECASE)

C6 = [0.01, 0.0398107, 0.158489, 0.630957, 2.51189, 10.0]
#: results.csv as a literal: l1 and l2 over six C values, then the unpenalised fit.
RESULTS = pd.DataFrame({
    "penalty": ["l1"] * 6 + ["l2"] * 6 + ["none"],
    "l1_ratio": [1.0] * 6 + [0.0] * 7,
    "C": C6 + C6 + [np.inf],
    "roc_auc_train": [0.5, 0.9, 0.97, 0.991, 0.998, 0.9995, 0.95, 0.98, 0.99, 0.996, 0.999, 0.9999, 1.0],
    "roc_auc_test": [0.5, 0.89, 0.96, 0.9876, 0.9912, 0.9905, 0.948, 0.975, 0.9853, 0.9921, 0.9918, 0.9901, 0.9811],
    "accuracy_train": [0.1, 0.6, 0.8, 0.9, 0.95, 0.97, 0.7, 0.85, 0.9, 0.94, 0.97, 0.99, 1.0],
    "accuracy_test": [0.1, 0.58, 0.78, 0.88, 0.93, 0.94, 0.69, 0.83, 0.89, 0.935, 0.95, 0.945, 0.92],
    "log_loss_test": [2.302585, 1.5, 0.9, 0.5, 0.3, 0.25, 1.2, 0.7, 0.4, 0.28, 0.22, 0.24, 0.6],
    "nonzero_fraction": [0.0, 0.05, 0.12, 0.3, 0.55, 0.7] + [1.0] * 7,
    "objective": [2.302585, 2.0, 1.5, 1.0, 0.6, 0.4, 2.2, 1.8, 1.2, 0.8, 0.5, 0.3, 0.1],
    "n_iter": [1, 12, 25, 40, 80, 100, 5, 8, 12, 20, 35, 60, 90],
    "converged": [True] * 5 + [False] + [True] * 7,
    "fit_seconds": [0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.01, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1],
})
#: Cross-validated scores that rank the rows differently from the test set: l1 at C=2.51 first.
CV = [0.5, 0.88, 0.955, 0.986, 0.9931, 0.989, 0.945, 0.972, 0.984, 0.9907, 0.9925, 0.9899, 0.98]


def _png(width_in: float = 2.0) -> bytes:
    fig = Figure(figsize=(width_in, 1.5))
    fig.subplots().plot([0, 1], [1, 0])
    return figure_png(fig, dpi=50)


@pytest.fixture(scope="module")
def figures():
    png = _png()
    return {name: png for name in ("samples", "labels", "auc_heatmaps", "auc_vs_C", "fit_time", "nonzero",
                                   "weights", "confusion")}


def make_record(results=RESULTS, select_by="roc_auc_test", **changes) -> RunRecord:
    """A finished run on the digits, as its record; ``changes`` replace fields."""
    config = RunConfig(dataset="digits", train_size=600, test_size=400, seed=0, scale="none",
                       penalties="l1,l2,none", C="1e-2:1e1:6", engine="sklearn", select_by=select_by, cv=5,
                       refit="train")
    row = int(results[select_by].idxmax())
    record = RunRecord(
        command="mnist-logreg run --dataset digits --penalties l1,l2,none", config=config, engine="sklearn",
        engine_options={"tol": 0.001}, n_rows=len(results), versions={"numpy": "2.0.0", "pandas": "2.2.0"},
        dataset=DatasetFacts(name="digits", source="sklearn.datasets.load_digits", n_samples=1797,
                             n_features=64, image_shape=(8, 8), sha256="0" * 64, notes=["8x8 images, 0..16"]),
        split=SplitFacts(n_train=600, n_test=400, classes=list(range(10)), scale_factor=1 / 16),
        started="2026-01-01T12:00:00+00:00", status="complete",
        timings=Timings(load_s=0.01, sweep_s=1.5, refit_s=0.1),
        best=Choice.of(results, row, select_by),
        refit=RefitFacts(on="train", n_samples=600, accuracy_train=0.97, accuracy_test=0.9375,
                         accuracy_on="the held-out test set", seconds=0.1),
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def _table_rows(html):
    body = re.search(r"<table id=\"top\">.*?<tbody>(.*?)</tbody>", html, re.DOTALL).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


def test_run_strings_are_escaped(figures):
    record = make_record()
    record.dataset.name = "<script>alert(1)</script> & co"
    html = render_report(record, RESULTS, figures)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script>alert" not in html
    assert "<title>mnist-logreg: &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</title>" in html


def test_every_image_is_an_embedded_png(figures):
    html = render_report(make_record(), RESULTS, figures)
    sources = IMG_SRC.findall(html)
    assert len(sources) == 8
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert image.format == "PNG" and min(image.size) > 50


def test_nothing_is_loaded_from_the_network(figures):
    html = render_report(make_record(), RESULTS, figures)
    attributes = re.findall(r"\b(?:src|href|action|poster)=\"([^\"]*)\"", html, re.IGNORECASE)
    assert attributes and all(not re.match(r"(?:https?:)?//", value, re.IGNORECASE) for value in attributes)
    assert "url(" not in html
    assert "@import" not in html
    assert not re.search(r"<(?:link|iframe|object|embed)\b", html, re.IGNORECASE)


def test_the_record_fills_data_protocol_timings_and_versions(figures):
    text = _text(render_report(make_record(), RESULTS, figures))
    assert "<pre>mnist-logreg run --dataset digits --penalties l1,l2,none</pre>" in text
    assert "<th>source</th><td>sklearn.datasets.load_digits</td>" in text
    assert "<th>images</th><td>1797</td>" in text and "<th>image shape</th><td>8 × 8</td>" in text
    assert "<li>8x8 images, 0..16</li>" in text
    assert "<td>600 / 400 (stratified)</td>" in text
    assert "<th>penalties</th><td>l1, l2, none</td>" in text
    assert "sklearn <code>tol=0.001</code>" in text
    assert "<tr><td>sweep</td><td class=\"num\">1.50</td></tr>" in text
    assert "<tr><td>numpy</td><td>2.0.0</td></tr>" in text
    assert "accuracy <strong>93.75%</strong> on the held-out test set" in text


def test_selection_by_test_set_is_called_optimistic(figures):
    text = _text(render_report(make_record(), RESULTS, figures))
    assert "The test set chose the model" in text
    assert "optimistic" in text
    assert "--select-by roc_auc_cv" in text
    assert "only reported" not in text


def test_top_ten_sorted_by_test_auc_with_counts(figures):
    html = render_report(make_record(), RESULTS, figures)
    rows = _table_rows(html)
    assert len(rows) == 10
    assert [row[4] for row in rows] == ["99.21", "99.18", "99.12", "99.05", "99.01", "98.76", "98.53",
                                        "98.11", "97.50", "96.00"]
    assert [row[1] for row in rows] == ["l2", "l2", "l1", "l1", "l2", "l1", "l2", "none", "l2", "l1"]
    assert [row[2] for row in rows] == ["6.3e-01", "2.5e+00", "2.5e+00", "1.0e+01", "1.0e+01", "6.3e-01",
                                        "1.6e-01", "–", "4.0e-02", "1.6e-01"]
    text = _text(html)
    assert "13 fits, <strong>1 did not converge</strong>" in text
    assert "Top 10 by test ROC AUC" in text
    # The chosen model (l2, C=0.63) is the first row and the only highlighted one.
    assert html.count('class="chosen"') == 1
    assert re.search(r'<tr class="chosen">\s*<td class="num">1</td><td>l2</td><td class="num">6.3e-01</td>', html)
    assert '<td class="no">no</td>' in html  # l1 at C=10 did not converge


def test_under_cv_selection_the_table_follows_the_cv_score(figures):
    results = RESULTS.assign(roc_auc_cv=CV, roc_auc_cv_std=0.002)
    html = render_report(make_record(results, "roc_auc_cv"), results, figures)
    text = _text(html)
    assert "5-fold cross-validated ROC AUC on the training set" in text
    assert "The test set was only reported" in text
    assert "The test set chose the model" not in text
    assert "Top 10 by CV ROC AUC" in text
    rows = _table_rows(html)
    # Ranked by CV: l1 at C=2.5 (99.31) first although l2 at C=0.63 has the best test AUC.
    assert [(row[1], row[2], row[5]) for row in rows[:4]] == [
        ("l1", "2.5e+00", "99.31 ± 0.20"), ("l2", "2.5e+00", "99.25 ± 0.20"),
        ("l2", "6.3e-01", "99.07 ± 0.20"), ("l2", "1.0e+01", "98.99 ± 0.20")]
    assert re.search(r'<tr class="chosen">\s*<td class="num">1</td><td>l1</td><td class="num">2.5e\+00</td>',
                     html)
    assert '<div class="k">CV ROC AUC (train set)</div><div class="v">99.31%</div>' in html
    assert '<div class="k">chosen C</div><div class="v">2.5e+00</div>' in html


def test_the_chosen_C_is_written_as_the_table_and_figures_write_it(figures):
    """A C is formatted with the whole grid (this 6-point grid writes 10 as 1.0e+01), everywhere."""
    expected = {0: "1.0e-02", 1: "4.0e-02", 2: "1.6e-01", 3: "6.3e-01", 4: "2.5e+00", 5: "1.0e+01"}
    for row, label in expected.items():
        record = make_record()
        record.best = Choice.of(RESULTS, row, "roc_auc_test")
        html = render_report(record, RESULTS, figures)
        card = re.search(r'<div class="k">chosen C</div><div class="v">(.*?)</div>', html).group(1)
        assert card == label


def test_weights_come_with_reading_instructions(figures):
    text = _text(render_report(make_record(), RESULTS, figures))
    assert "red pixel pushes" in text and "blue pixel pushes it away" in text
    assert "under an L1 penalty many weights are exactly zero" in text


def test_unknown_figures_get_their_own_section_and_bad_ones_are_refused(figures):
    html = render_report(make_record(), RESULTS, {**figures, "learning_curve": figures["labels"]})
    assert "Other figures" in html and 'alt="learning_curve"' in html
    with pytest.raises(ValueError, match="extra"):
        render_report(make_record(), RESULTS, {"extra": b"GIF89a"})


def test_a_record_without_refit_or_choice_renders(figures):
    html = render_report(make_record(best=None, refit=None, timings=Timings()), RESULTS, {})
    assert "The test set chose the model" in html and "No refit" in html
    assert 'class="chosen"' not in html and 'id="timings"' not in html


def test_write_report_is_atomic(tmp_path, figures):
    path = tmp_path / "run" / "report.html"
    assert write_report(path, make_record(), RESULTS, figures) == path
    first = path.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(TypeError):
        write_report(path, make_record(), RESULTS, {"samples": "not a figure"})
    assert path.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


# -- the explorer's data ----------------------------------------------------------------------------

def test_path_names_are_the_names_every_table_and_figure_gives_the_rows():
    table = pd.DataFrame({"penalty": ["l1", "l2", "elasticnet", "elasticnet", "group", "none"],
                          "l1_ratio": [1.0, 0.0, 0.5, 0.25, 0.5, 0.0], "C": [1, 1, 1, 1, 1, np.inf]})
    assert path_names(table) == ["l1", "l2", "elasticnet (l1_ratio=0.5)", "elasticnet (l1_ratio=0.25)",
                                 "group (l1_ratio=0.5)", "none"]
    # the same names as the heatmaps' rows and the top table's penalty column
    train, _ = auc_tables(table.assign(roc_auc_train=0.9, roc_auc_test=0.8))
    assert list(train.index) == list(dict.fromkeys(path_names(table)))
    # group rows name their mix too: "group" alone would hide that 0.5 mixes in a ridge
    two_groups = pd.DataFrame({"penalty": ["group", "group"], "l1_ratio": [0.5, 1.0], "C": [1.0, 1.0]})
    assert path_names(two_groups) == ["group (l1_ratio=0.5)", "group (l1_ratio=1)"]


def test_weights_are_quantised_to_int8_keeping_zeros_and_signs():
    coef = np.array([[0.0, 1.27, -0.635, 1e-9], [-1e-9, 0.0, 0.01, -1.27]])
    scale, q = quantise_weights(coef)
    assert scale == pytest.approx(0.01)
    assert q.dtype == np.int8
    assert q.tolist() == [[0, 127, -64, 1], [-1, 0, 1, -127]]  # -63.5 rounds to even; tiny weights stay +-1
    assert quantise_weights(np.zeros((2, 3)))[1].tolist() == [[0, 0, 0], [0, 0, 0]]


def test_confusion_counts_agree_with_scikit_learn():
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 12)), rng.integers(0, 4, 200)
    coef, intercept = rng.normal(size=(3, 4, 12)), rng.normal(size=(3, 4))
    counts = confusion_counts(X, y, coef, intercept)
    for r in range(3):
        predicted = np.argmax(X @ coef[r].T + intercept[r], axis=1)
        np.testing.assert_array_equal(counts[r], confusion_matrix(y, predicted, labels=range(4)))


@pytest.mark.parametrize("classes", [[0.5, 1.5, 2.5], ["cat", "dog", "eel"], [3, 7, 9]])
def test_confusion_figures_count_any_labels_a_data_set_may_have(classes):
    """Labels 0.5, 1.5, ... once crashed the report after a whole sweep (scikit-learn calls them continuous)."""
    from mnist_logreg.report import figures, raster
    from mnist_logreg.report.tables import class_counts

    truth = [classes[i] for i in (0, 0, 1, 2, 2, 2)]
    guess = [classes[i] for i in (0, 1, 1, 2, 0, 2)]
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(class_counts(np.array(truth, dtype=object), np.array(guess, dtype=object), classes),
                                  expected)
    assert raster.confusion_matrix(np.array(truth), np.array(guess), classes)[:8] == b"\x89PNG\r\n\x1a\n"
    figure = figures.confusion_matrix_figure(np.array(truth), np.array(guess), classes)
    shown = [t.get_text() for t in figure.axes[0].texts]
    assert shown == [str(v) for v in expected.ravel()]


def _explorer(results, n_features=64, shape=(8, 8), classes=range(10), seed=0):
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=(len(results), len(classes), n_features))
    coef[0] = 0.0
    X, y = rng.normal(size=(40, n_features)), rng.integers(0, len(classes), 40)
    return explorer_data(results, coef, rng.normal(size=(len(results), len(classes))), X_test=X, y_test_codes=y,
                         classes=classes, image_shape=shape, chosen=9)


def test_explorer_stops_follow_results_csv(figures):
    data = _explorer(RESULTS)
    assert [(p["name"], [s["row"] for s in p["stops"]]) for p in data["paths"]] == [
        ("l1", [0, 1, 2, 3, 4, 5]), ("l2", [6, 7, 8, 9, 10, 11]), ("none", [12])]
    stop = data["paths"][1]["stops"][3]
    assert stop["label"] == "6.3e-01" and stop["C_exact"] == "0.630957"
    assert dict((k, v) for k, _, v in stop["text"])["roc_auc_test"] == "99.21%"
    assert data["paths"][0]["stops"][0]["weights"] == base64.b64encode(bytes(640)).decode()
    html = render_report(make_record(), RESULTS, figures, explorer=data)
    assert '<select data-role="path">' in html and '<option value="l2" selected>l2</option>' in html
    assert '<input type="range" data-role="c-slider"' in html


def test_explorer_data_cannot_break_out_of_its_script_element(figures):
    data = _explorer(RESULTS, classes=["</script><script>alert(1)</script>"] + list("123456789"))
    html = render_report(make_record(), RESULTS, figures, explorer=data)
    assert "alert(1)" in html and "<script>alert(1)" not in html
    assert html.count("</script>") == 2  # the data element and the explorer's script, nothing else


def test_fifty_rows_of_ten_mnist_weight_images_stay_under_5_mb(figures):
    C = list(np.logspace(-3, 1, 25))
    results = pd.concat([RESULTS.iloc[[0]].assign(C=c) for c in C] +
                        [RESULTS.iloc[[6]].assign(C=c) for c in C], ignore_index=True)
    data = _explorer(results, n_features=784, shape=(28, 28))
    html = render_report(make_record(results), results, figures, explorer=data)
    assert len(html.encode()) < 5_000_000
    assert len(data["paths"]) == 2 and all(len(p["stops"]) == 25 for p in data["paths"])


def test_explorer_counts_pixels_for_group_rows_and_weights_otherwise(figures):
    results = RESULTS.iloc[[0, 1]].assign(penalty=["group", "l1"], l1_ratio=[1.0, 1.0], C=[0.1, 0.1])
    data = _explorer(results)
    what = {p["name"]: [w for key, w, _ in p["stops"][0]["text"] if key == "nonzero_fraction"] for p in data["paths"]}
    assert what == {"group (l1_ratio=1)": ["pixels in use"], "l1": ["nonzero weights"]}


def test_under_repeats_each_stop_carries_the_mean_and_spread_of_its_grid_point(figures):
    other = RESULTS.assign(roc_auc_test=RESULTS.roc_auc_test - 0.02, nonzero_fraction=RESULTS.nonzero_fraction / 2)
    both = pd.concat([RESULTS.assign(repeat=1), other.assign(repeat=2)], ignore_index=True)
    data = _explorer(both, n_features=64)
    assert data["repeats"] and [len(p["stops"]) for p in data["paths"]] == [6, 6, 1]  # the first repeat's rows
    for path in data["paths"]:
        for stop in path["stops"]:
            i = stop["row"]
            for column, key in (("roc_auc_test", "auc_test"), ("nonzero_fraction", "nonzero"),
                                ("roc_auc_train", "auc_train")):
                pair = np.array([RESULTS[column][i], other[column][i]])
                assert stop["spread"][key] == pytest.approx([pair.mean(), pair.std()], abs=1e-12), (path["name"], i, key)
