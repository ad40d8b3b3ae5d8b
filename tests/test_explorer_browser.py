"""The report's explorer driven in headless Chromium (Playwright), against results.csv and path.npz.

A real run on scikit-learn's digits writes report.html; the page's contract is then checked from
outside: for each path, the slider's first, middle and last stops show the C and test ROC AUC of the
matching results.csv row, and the weight images change; nothing is requested outside ``file:`` and
``data:``; no console error. Needs the ``playwright`` package and Debian's ``chromium`` on PATH (no
browser download); skips with the reason when either is absent.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageStat

from mnist_logreg.workflow import RunConfig, run_experiment

CHROMIUM = shutil.which("chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need `pip install playwright`")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="the browser tests need Debian's `chromium` on PATH "
                                                         "(apt-get install chromium); none found")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("explorer") / "run"
    run_experiment(RunConfig(dataset="digits", train_size=400, test_size=300, penalties="l1,l2,elasticnet,none",
                             l1_ratios="0.5", C="0.01,0.1,1,10,100", out=str(out), refit="none"))
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, run_folder):
    """The report in a fresh page; ``page.problems`` collects console errors, page errors and any
    request that is neither ``file:`` nor ``data:`` (those are aborted)."""
    yield from _open(browser, run_folder)


def _open(browser, run_folder):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    problems = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            problems.append(f"request {url}")
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(f"request {r.url}"))
    page.goto((run_folder / "report.html").as_uri())
    page.problems = problems
    yield page
    context.close()


def _role(page, name):
    return page.locator(f'[data-role="{name}"]')


def _weights_png(page) -> list[str]:
    return page.eval_on_selector_all('[data-role="weights"] canvas[data-class]', "cs => cs.map(c => c.toDataURL())")


def _go_to(page, index: int) -> None:
    """Move the slider with the keyboard: Home, then ArrowRight ``index`` times."""
    slider = _role(page, "c-slider")
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(index):
        page.keyboard.press("ArrowRight")


def test_each_path_shows_its_rows_at_first_middle_and_last_stop(page, run_folder):
    results = pd.read_csv(run_folder / "results.csv")
    names = {"l1": ("l1", 1.0), "l2": ("l2", 0.0), "elasticnet (l1_ratio=0.5)": ("elasticnet", 0.5), "none": ("none", 0.0)}
    options = _role(page, "path").locator("option").all_text_contents()
    assert sorted(options) == sorted(names)
    for name in options:
        penalty, l1_ratio = names[name]
        rows = results[(results.penalty == penalty) & np.isclose(results.l1_ratio, l1_ratio)].sort_values("C")
        _role(page, "path").select_option(name)
        slider = _role(page, "c-slider")
        assert int(slider.get_attribute("min")) == 0
        assert int(slider.get_attribute("max")) == len(rows) - 1
        seen = []
        for index in sorted({0, (len(rows) - 1) // 2, len(rows) - 1}):
            _go_to(page, index)
            assert int(slider.input_value()) == index
            row = rows.iloc[index]
            shown_C = float(_role(page, "c-value").text_content())
            assert shown_C == pytest.approx(row.C, rel=0.05)  # written like 3.2e-01, as the table writes C
            assert float(_role(page, "c-value").get_attribute("data-c")) == row.C
            auc = _role(page, "metrics").locator('[data-metric="roc_auc_test"]').text_content()
            assert auc == f"{100 * row.roc_auc_test:.2f}%"
            seen.append(_weights_png(page))
        assert len(_weights_png(page)) == 10
        if len(seen) > 1:
            # Moving along the path redraws the weight images (l1 at C=0.01 has no weight at all).
            assert seen[0] != seen[-1]
    assert page.problems == []


def test_the_weight_scale_is_stated_and_a_row_without_weights_says_so(page, run_folder):
    """l1 at C = 0.01 keeps no weight: its caption once read 'full colour is a weight of ±1.3e+2'."""
    results = pd.read_csv(run_folder / "results.csv")
    l1 = results[results.penalty == "l1"].sort_values("C")
    assert l1.nonzero_fraction.iloc[0] == 0 and l1.nonzero_fraction.iloc[-1] > 0
    _role(page, "path").select_option("l1")
    _go_to(page, 0)
    assert "Every weight of this row is zero" in _role(page, "weight-scale").text_content()
    _go_to(page, len(l1) - 1)
    caption = _role(page, "weight-scale").text_content()
    top = float(caption.split("\u00b1")[1].split(";")[0])
    coef = np.load(run_folder / "path.npz")["coef"][l1.index[-1]]
    assert top == pytest.approx(np.abs(coef).max(), rel=0.05)  # written with two significant digits
    assert page.problems == []


def test_it_starts_at_the_chosen_row_and_arrow_keys_move_it(page, run_folder):
    best = json.loads((run_folder / "best.json").read_text())
    results = pd.read_csv(run_folder / "results.csv")
    assert int(_role(page, "c-value").get_attribute("data-row")) == best["row"]
    assert float(_role(page, "c-value").get_attribute("data-c")) == best["C"]
    start = int(_role(page, "c-slider").input_value())
    page.locator("#explorer").focus()
    page.keyboard.press("ArrowLeft" if start > 0 else "ArrowRight")
    moved = int(_role(page, "c-slider").input_value())
    assert moved == (start - 1 if start > 0 else start + 1)
    row = results.iloc[int(_role(page, "c-value").get_attribute("data-row"))]
    assert row.penalty == best["penalty"] and row.C != best["C"]
    assert page.problems == []


def test_the_confusion_matrix_counts_every_test_image(page, run_folder):
    cells = page.eval_on_selector_all('[data-role="confusion"] td', "tds => tds.map(td => Number(td.textContent))")
    assert len(cells) == 100 and sum(cells) == 300
    diagonal = sum(cells[i * 11] for i in range(10))
    best = json.loads((run_folder / "best.json").read_text())
    assert diagonal / 300 == pytest.approx(best["accuracy_test"])
    assert page.problems == []


def test_screenshot_of_the_explorer_is_not_blank(page, run_folder):
    page.locator("#explorer").scroll_into_view_if_needed()
    png = page.locator("#explorer").screenshot(path=str(run_folder / "explorer.png"))
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size[0] > 600 and image.size[1] > 400
    assert ImageStat.Stat(image).stddev[0] > 20  # a blank or broken section is one flat colour
    assert page.problems == []


@pytest.fixture(scope="module")
def cv_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("explorer-cv") / "run"
    run_experiment(RunConfig(dataset="digits", train_size=300, test_size=200, penalties="l1,l2", C="0.01,0.1,1",
                             select_by="roc_auc_cv", cv=3, out=str(out), refit="none"))
    return out


@pytest.fixture
def cv_page(browser, cv_folder):
    yield from _open(browser, cv_folder)


def test_under_cv_selection_the_cv_curve_has_its_band_and_the_chosen_C_its_star(cv_page, cv_folder):
    page = cv_page
    best = json.loads((cv_folder / "best.json").read_text())
    results = pd.read_csv(cv_folder / "results.csv")
    row = results.iloc[best["row"]]
    cv = _role(page, "metrics").locator('[data-metric="roc_auc_cv"]').text_content()
    assert cv == f"{100 * row.roc_auc_cv:.2f} ± {100 * row.roc_auc_cv_std:.2f}%"
    # One repeat: only the CV curve has a spread (its folds'), so one band; the star on the chosen C.
    bands = page.locator('[data-role="auc-curve"] polygon[fill-opacity]')
    assert bands.count() == 1
    assert page.locator('[data-role="auc-curve"] [data-role="chosen"]').count() == 1
    other = next(name for name in ("l1", "l2") if name != best["penalty"])
    _role(page, "path").select_option(other)
    assert page.locator('[data-role="auc-curve"] [data-role="chosen"]').count() == 0
    assert page.problems == []
