"""Figures drawn from a small genuine sweep on scikit-learn's 8x8 digits.

The results table is computed here with scikit-learn (2 penalties x 3 C, plus one unpenalised
fit), so every check compares a figure with numbers a real run would produce.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from PIL import Image
from mnist_logreg.report import figures as F

C_GRID = (0.01, 0.1, 1.0)


@pytest.fixture(scope="module")
def sweep(digits_sweep):
    return digits_sweep(C_GRID)


def _tick_texts(axis_ticklabels):
    return [t.get_text() for t in axis_ticklabels]


def _all_texts(fig: Figure) -> list[str]:
    """Every text of the figure, tick labels included (they only exist once it is drawn)."""
    F.figure_png(fig)
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_penalty_label():
    assert F.penalty_label("l1", 1.0) == "l1"
    assert F.penalty_label("l2", 0.0) == "l2"
    assert F.penalty_label("none", 0.0) == "none"
    assert F.penalty_label("elasticnet", 0.5) == "elasticnet (l1_ratio=0.5)"
    assert F.penalty_label("elasticnet", 0.25) == "elasticnet (l1_ratio=0.25)"


def test_format_C_is_short_unique_and_names_inf():
    assert F.format_C([1e-3, 1e-2, 10.0]) == ["1e-03", "1e-02", "1e+01"]
    grid = np.logspace(-3, 1, 25)
    labels = F.format_C(grid)
    assert len(set(labels)) == 25
    assert labels[0] == "1.0e-03" and labels[-1] == "1.0e+01"
    assert F.format_C([0.1, np.inf]) == ["1e-01", "none"]
    # 2.51 must not read "3e+00": digits grow until every label is within 5% of its value.
    assert F.format_C(np.logspace(-2, 1, 6)) == ["1.0e-02", "4.0e-02", "1.6e-01", "6.3e-01",
                                                 "2.5e+00", "1.0e+01"]


def test_sweep_is_genuine(sweep):
    # The figures below are only meaningful if the table shows the known regimes: strong L1 zeroes
    # every weight (chance-level AUC), weak penalties separate the digits.
    results = sweep["results"]
    l1_small = results[(results.penalty == "l1") & (results.C == 0.01)].iloc[0]
    assert l1_small.nonzero_fraction == 0.0 and l1_small.roc_auc_test == pytest.approx(0.5)
    assert results.roc_auc_test.max() > 0.99


def test_auc_heatmaps_annotate_each_cell_in_percent(sweep):
    results = sweep["results"]
    fig = F.auc_heatmaps(results)
    heat_axes = [ax for ax in fig.axes if any(isinstance(c, QuadMesh) for c in ax.collections)
                 and ax.get_title()]
    assert [ax.get_title() for ax in heat_axes] == ["train ROC AUC (%)", "test ROC AUC (%)"]
    for ax, column in zip(heat_axes, ("roc_auc_train", "roc_auc_test")):
        rows = _tick_texts(ax.get_yticklabels())
        cols = _tick_texts(ax.get_xticklabels())
        assert rows == ["l1", "l2", "none"]
        assert cols == ["1e-02", "1e-01", "1e+00", "no penalty"]
        cells = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ax.texts}
        # 6 penalised fits + the single 'none' cell; the empty cells carry no annotation.
        assert len(cells) == 7
        for _, row in results.iterrows():
            r = rows.index(row.penalty)
            c = cols.index("no penalty") if np.isinf(row.C) else cols.index(F.format_C([row.C])[0])
            assert cells[(r, c)] == f"{100 * row[column]:.1f}"
    assert not any("inf" in text for text in _all_texts(fig))


def test_auc_heatmaps_stack_when_the_grid_is_wide(sweep):
    # 12 C values would make side-by-side annotations unreadable: train goes above test.
    base = sweep["results"]
    wide = pd.concat([base.assign(C=base.C * f) for f in (1, 2, 3, 5)], ignore_index=True)
    wide = wide[np.isfinite(wide.C)].drop_duplicates(["penalty", "C"])
    fig = F.auc_heatmaps(wide)
    train, test = [ax for ax in fig.axes if ax.get_title()]
    assert train.get_position().y0 > test.get_position().y0


def test_auc_vs_C_one_axes_per_penalty_with_best_and_reference(sweep):
    results = sweep["results"]
    fig = F.auc_vs_C(results)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["l1", "l2"]
    none = results[results.penalty == "none"].iloc[0]
    for ax, penalty in zip(axes, ("l1", "l2")):
        part = results[results.penalty == penalty].sort_values("C")
        assert ax.get_xscale() == "log"
        lines = {line.get_label(): line for line in ax.get_lines()}
        np.testing.assert_allclose(lines["train"].get_xdata(), part.C)
        np.testing.assert_allclose(lines["test"].get_ydata(), part.roc_auc_test.clip(1e-4, 1 - 1e-4))
        best_label = next(label for label in lines if label.startswith("best test"))
        best = part.loc[part.roc_auc_test.idxmax()]
        assert lines[best_label].get_xdata()[0] == best.C
        # The unpenalised fit is a horizontal line at its test AUC, not a point at C = inf.
        reference = lines["test, no penalty"].get_ydata()
        assert reference[0] == reference[1] == pytest.approx(min(none.roc_auc_test, 1 - 1e-4))
    assert not any("inf" in text for text in _all_texts(fig))


@pytest.mark.parametrize("function, column", [(F.fit_time_vs_C, "fit_seconds"),
                                              (F.nonzero_vs_C, "nonzero_fraction")])
def test_metric_vs_C_one_line_per_penalty(sweep, function, column):
    results = sweep["results"]
    ax, = function(results).axes
    assert ax.get_xscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    for penalty in ("l1", "l2"):
        part = results[results.penalty == penalty].sort_values("C")
        np.testing.assert_allclose(lines[penalty].get_ydata(), part[column])
    assert lines["none (no C)"].get_ydata()[0] == results[results.penalty == "none"][column].iloc[0]


def test_curves_with_only_the_unpenalised_fit_do_not_crash(sweep):
    only_none = sweep["results"][sweep["results"].penalty == "none"]
    for function in (F.auc_heatmaps, F.auc_vs_C, F.fit_time_vs_C, F.nonzero_vs_C):
        fig = function(only_none)
        assert F.figure_png(fig).startswith(b"\x89PNG")
        assert not any("inf" in text for text in _all_texts(fig))


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.get_images()]


def test_weight_images_grid_is_2x5_and_centred_on_zero(sweep):
    model = sweep["models"][2]  # l1, C=1: sparse but not empty
    fig = F.weight_images(model.coef_, (8, 8), model.classes_)
    axes = _image_axes(fig)
    assert len(axes) == 10
    assert [ax.get_title() for ax in axes] == [str(c) for c in range(10)]
    positions = [ax.get_position() for ax in axes]
    assert len({round(p.y0, 3) for p in positions}) == 2
    assert len({round(p.x0, 3) for p in positions}) == 5
    vmax = np.abs(model.coef_).max()
    for ax, weights in zip(axes, model.coef_):
        image = ax.get_images()[0]
        assert image.norm.vmin == -image.norm.vmax == pytest.approx(-vmax)
        np.testing.assert_array_equal(image.get_array(), weights.reshape(8, 8))
        # Zero maps to the white middle of the diverging map.
        assert np.allclose(image.cmap(image.norm(0.0))[:3], 0.97, atol=0.03)


def test_weight_images_all_zero_and_non_square(sweep):
    empty = sweep["models"][0]  # l1, C=0.01: every weight is zero
    fig = F.weight_images(empty.coef_, (8, 8), empty.classes_)
    for ax in _image_axes(fig):
        norm = ax.get_images()[0].norm
        assert norm.vmin == -norm.vmax and norm.vmax > 0
    coef = sweep["models"][5].coef_[:3]
    fig = F.weight_images(coef, (4, 16), ["zero", "one", "two"])
    axes = _image_axes(fig)
    assert len(axes) == 3
    assert axes[0].get_images()[0].get_array().shape == (4, 16)
    with pytest.raises(ValueError, match="coef"):
        F.weight_images(coef, (5, 16), ["zero", "one", "two"])
    with pytest.raises(ValueError, match="classes"):
        F.weight_images(coef, (4, 16), ["zero", "one"])


def test_sample_images_titles_are_the_labels_of_the_images(sweep):
    X, y = sweep["X"] * 16, sweep["y"]
    fig = F.sample_images(X, y, (8, 8), n=12, seed=3)
    axes = _image_axes(fig)
    assert len(axes) == 12
    for ax in axes:
        shown = ax.get_images()[0].get_array().ravel()
        matches = np.flatnonzero((X == shown).all(axis=1))
        assert len(matches) >= 1
        assert ax.get_title() in {str(label) for label in y[matches]}


def test_label_histograms_bar_heights_are_class_counts(sweep):
    fig = F.label_histograms(sweep["y_train"], sweep["y_test"])
    for ax, y in zip(fig.axes, (sweep["y_train"], sweep["y_test"])):
        heights = [patch.get_height() for patch in ax.patches]
        assert heights == list(np.bincount(y, minlength=10))


def test_confusion_matrix_counts(sweep):
    model = sweep["models"][5]
    y_pred = model.predict(sweep["X_test"])
    fig = F.confusion_matrix_figure(sweep["y_test"], y_pred, model.classes_)
    ax = fig.axes[0]
    counts = np.array([int(t.get_text()) for t in ax.texts]).reshape(10, 10)
    assert counts.sum() == len(y_pred)
    assert np.trace(counts) == np.sum(y_pred == sweep["y_test"])
    assert f"{np.mean(y_pred == sweep['y_test']):.1%}" in ax.get_title()


def test_figure_png_and_save_figures(tmp_path, sweep):
    fig = F.label_histograms(sweep["y_train"], sweep["y_test"])
    png = F.figure_png(fig, dpi=50)
    width, height = Image.open(io.BytesIO(png)).size
    assert width > 100 and height > 50
    paths = F.save_figures({"labels": fig}, tmp_path / "figures")
    assert paths["labels"] == tmp_path / "figures" / "labels.png"
    assert paths["labels"].read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="name"):
        F.save_figures({"../escape": fig}, tmp_path)


@pytest.mark.parametrize("n_features", [785, 1601])
def test_figures_of_non_square_data_stay_small(n_features):
    """Issue 13: 785 features (read as one 1 x 785 row) once made a 798,429 x 141 px sample figure."""
    from mnist_logreg.data.validate import image_shape_for

    shape = image_shape_for(n_features)
    assert shape == (1, n_features)
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, size=(40, n_features)), np.arange(40) % 10
    for fig in (F.sample_images(X, y, shape), F.weight_images(rng.normal(size=(10, n_features)), shape, range(10))):
        png = F.figure_png(fig)
        width, height = Image.open(io.BytesIO(png)).size
        assert width <= 1200 and height <= 1200
        assert len(png) < 500_000
        assert max(fig.get_size_inches()) < 20


def test_every_figure_is_bounded_in_pixels_whatever_its_size():
    fig = Figure(figsize=(300, 2))
    fig.subplots().plot([0, 1], [0, 1])
    width, height = Image.open(io.BytesIO(F.figure_png(fig, dpi=100))).size
    assert width <= 1200 and height >= 1


def test_auc_vs_C_under_cv_selection_draws_the_cv_band_and_marks_the_chosen_C(sweep):
    results = sweep["results"].copy()
    results["roc_auc_cv"] = results["roc_auc_test"] - 0.01
    results["roc_auc_cv_std"] = 0.02
    results.loc[(results.penalty == "l2") & (results.C == 0.1), "roc_auc_cv"] = 0.9999  # chosen by CV
    fig = F.auc_vs_C(results, "roc_auc_cv")
    for ax, penalty in zip(fig.axes, ("l1", "l2")):
        part = results[results.penalty == penalty].sort_values("C")
        lines = {line.get_label(): line for line in ax.get_lines()}
        np.testing.assert_allclose(lines["CV ± sd over folds"].get_ydata(), part.roc_auc_cv.clip(1e-4, 1 - 1e-4))
        bands = [c for c in ax.collections if len(c.get_paths())]
        cv_band = bands[-1].get_paths()[0].vertices[:, 1]  # drawn after train's and test's (none: no spread)
        low = (part.roc_auc_cv - 0.02).clip(1e-4, 1 - 1e-4)
        high = (part.roc_auc_cv + 0.02).clip(1e-4, 1 - 1e-4)
        assert cv_band.min() == pytest.approx(low.min()) and cv_band.max() == pytest.approx(high.max())
        assert any(label.startswith("best CV") for label in lines)
        if penalty == "l2":
            assert lines["chosen"].get_xdata()[0] == 0.1
        else:
            assert "chosen" not in lines


def test_curves_under_repeats_are_means_with_a_band(sweep):
    results = sweep["results"]
    other = results.assign(roc_auc_test=results.roc_auc_test - 0.02, nonzero_fraction=results.nonzero_fraction / 2)
    both = pd.concat([results.assign(repeat=1), other.assign(repeat=2)], ignore_index=True)
    ax_l1, _ = F.auc_vs_C(both).axes
    part = results[results.penalty == "l1"].sort_values("C")
    lines = {line.get_label(): line for line in ax_l1.get_lines()}
    np.testing.assert_allclose(lines["test (mean ± sd over repeats)"].get_ydata(),
                               (part.roc_auc_test - 0.01).clip(1e-4, 1 - 1e-4))
    ax, = F.nonzero_vs_C(both).axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["l1"].get_ydata(), part.nonzero_fraction * 0.75)
    assert any(len(c.get_paths()) for c in ax.collections)  # the band of +- one sd


def test_the_sparsity_axis_says_group_rows_count_pixels(sweep):
    results = sweep["results"]
    ax, = F.nonzero_vs_C(results).axes
    assert ax.get_ylabel() == "fraction of nonzero weights"
    with_group = pd.concat([results, results[results.penalty == "l1"].assign(penalty="group")], ignore_index=True)
    ax, = F.nonzero_vs_C(with_group).axes
    assert "pixels" in ax.get_ylabel()
