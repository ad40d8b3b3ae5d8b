import math

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from mnist_logreg.errors import UsageError
from mnist_logreg.plan.grid import MAX_C, make_grid, parse_C, parse_l1_ratios, parse_penalties
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
    assert np.all(np.isfinite(C)) and np.all(C > 0) and np.all(C <= MAX_C)
    assert len(set(C.tolist())) == len(C)  # every row of the grid is a different fit


@pytest.mark.parametrize("spec", ["1e200", "1e-3:1e300:5", "0.1,1e100", 1e200, [1.0, 1e7]])
def test_a_C_too_large_for_float64_is_refused_naming_the_bound(spec):
    """QA: --C 1e200 crashed the solver (ZeroDivisionError) and 1e100 ran the refit for hours: a penalty
    1/(C n) that small means nothing in float64. The message names the bound and the way to no penalty."""
    with pytest.raises(UsageError, match=r"^--C: .*allowed C in \(0, 1e\+06\]; for no penalty use --penalties none$"):
        make_grid("l2", spec)


def test_the_bound_itself_and_no_penalty_stay_allowed():
    assert parse_C("1e6").tolist() == [1e6]
    assert parse_C("1e-3:1e6:3").tolist()[-1] == pytest.approx(1e6)
    assert math.isinf(make_grid("l2,none", "1,1e6")[-1].C)


@pytest.mark.parametrize("spec, value", [("0.1,1,1", "1"), ("1,1.0", "1"), ("10, 0.5 ,1e1", "10"),
                                         ([0.5, 0.5], "0.5"), ("1:1.0000000000000002:3", "1")])
def test_a_C_given_twice_is_refused_naming_it(spec, value):
    """QA: --C 0.1,1,1 gave the same row twice in results.csv, the report and the explorer. Values equal as
    numbers are one value, also where a range has more values than there are floats between its ends."""
    with pytest.raises(UsageError, match=rf"^--C: received .*, which gives C = {value} twice; allowed each value at most once$"):
        make_grid("l1", spec)


@pytest.mark.parametrize("spec, value", [("0,0,1", "0"), ("0.5,0.50", "0.5"), ("0.2,-0,0", "0"), ((1, 1.0), "1")])
def test_an_l1_ratio_given_twice_is_refused_naming_it(spec, value):
    with pytest.raises(UsageError, match=rf"^--l1-ratios: received .*, which gives l1_ratio = {value} twice; "
                                          "allowed each value at most once$"):
        make_grid("elasticnet", "1", spec)


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
