import math

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from mnist_logreg.errors import UsageError
from mnist_logreg.plan.grid import make_grid, parse_C, parse_l1_ratios, parse_penalties
from reference import grid_frame


def test_log_spaced_C_includes_both_ends_and_is_geometric():
    C = parse_C("1e-3:1e1:25")
    assert len(C) == 25
    assert C[0] == pytest.approx(1e-3) and C[-1] == pytest.approx(10.0)
    ratios = C[1:] / C[:-1]
    assert np.allclose(ratios, ratios[0])


def test_comma_list_keeps_order():
    assert parse_C("1, 0.1,10").tolist() == [1.0, 0.1, 10.0]


@pytest.mark.parametrize("text", ["0", "-1", "1:0:3", "1e-3:1e1", "a,b", "1e-3:1e1:x", "nan", "inf", "", "1:1:3",
                                  "1e-3:1e1:0"])
def test_bad_C_is_a_usage_error_that_names_the_option(text):
    with pytest.raises(UsageError, match="--C"):
        parse_C(text)


@given(st.text(max_size=30))
def test_any_C_text_parses_to_positive_values_or_raises_our_error(text):
    try:
        C = parse_C(text)
    except UsageError:
        return
    assert C.ndim == 1 and len(C) >= 1
    assert np.all(np.isfinite(C)) and np.all(C > 0)


@given(st.text(max_size=30))
@example("GROUP")  # every penalty the README lists, whatever its case
@example(" l1 ,L2, elasticnet,none")
def test_any_penalty_text_parses_to_known_names_or_raises_our_error(text):
    try:
        names = parse_penalties(text)
    except UsageError:
        return
    assert set(names) <= {"l1", "l2", "elasticnet", "group", "none"} and len(names) == len(set(names))


def test_unknown_penalty_lists_the_allowed_ones():
    with pytest.raises(UsageError, match="allowed l1, l2, elasticnet, group, none"):
        parse_penalties("l1,lasso")


def test_a_penalty_named_twice_is_refused_naming_it():
    with pytest.raises(UsageError, match=r"received 'l1,l2,L1', which names l1 twice; allowed each of l1, l2"):
        parse_penalties("l1,l2,L1")


def test_l1_ratio_range():
    assert parse_l1_ratios("0.2,0.8") == (0.2, 0.8)
    with pytest.raises(UsageError, match="--l1-ratios"):
        parse_l1_ratios("1.5")


def test_grid_rows_in_penalty_then_C_order_with_sklearn_mapping():
    rows = make_grid("l2,l1,elasticnet,none", "0.1,1", l1_ratios="0.3,0.7")
    frame = grid_frame(rows)
    assert frame.penalty.tolist() == ["l2", "l2", "l1", "l1"] + ["elasticnet"] * 4 + ["none"]
    assert frame.l1_ratio.tolist() == [0, 0, 1, 1, 0.3, 0.3, 0.7, 0.7, 0]
    assert frame.C.tolist()[:8] == [0.1, 1, 0.1, 1, 0.1, 1, 0.1, 1]
    assert math.isinf(rows[-1].C)


def test_default_grid_is_the_notebooks_50_rows():
    rows = make_grid()
    assert len(rows) == 50
    assert {r.penalty for r in rows} == {"l1", "l2"}
