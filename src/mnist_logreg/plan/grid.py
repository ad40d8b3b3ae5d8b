"""The regularisation grid: penalties x l1_ratio x C, as an ordered list of rows.

A row's penalty is always expressed through ``l1_ratio`` and ``C``, the way scikit-learn >= 1.8
parameterises :class:`~sklearn.linear_model.LogisticRegression`:

========== ========= ==================
penalty    l1_ratio  C
========== ========= ==================
l1         1.0       from the C grid
l2         0.0       from the C grid
elasticnet each of --l1-ratios, from the C grid
group      each of --l1-ratios, from the C grid (l1_ratio weighs the pixels' group norm)
none       0.0       ``inf`` (one row: C has no effect without a penalty)
========== ========= ==================

The table lives with the penalty objects (:data:`mnist_logreg.solvers.penalties.KINDS`); a row
carries its penalty as a :class:`~mnist_logreg.solvers.penalties.PenaltySpec` (:attr:`GridPoint.spec`).
Row order is the grid order of results.csv: penalties as given, then l1_ratio, then C ascending as
given.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, asdict
from typing import Iterable, Sequence

import numpy as np

from ..errors import UsageError
from ..solvers.penalties import KINDS, PENALTIES, PenaltySpec
from ..solvers.problem import MAX_C

__all__ = [
    "PENALTIES",
    "MAX_C",
    "GridPoint",
    "parse_C",
    "parse_penalties",
    "parse_l1_ratios",
    "make_grid",
    "group_rows",
    "rows_as_paths",
    "path_segments",
    "path_tasks",
]

DEFAULT_C = "1e-3:1e1:25"
#: A path of a sparse penalty with at least this many C values is fitted as two tasks ...
SPLIT_MIN_ROWS = 9
#: ... the first of which holds this share of its C values (rounded up), the weakest.
WEAK_SHARE = 1 / 3


@dataclass(frozen=True)
class GridPoint:
    """One fit of the sweep.

    Attributes
    ----------
    penalty : {"l1", "l2", "elasticnet", "group", "none"}
        As results.csv writes it.
    l1_ratio : float in [0, 1]
        Weight of the non-smooth term in the penalty ``l1_ratio*h(W) + (1-l1_ratio)/2*|W|_2^2``
        (``h`` the L1 norm, or for ``group`` the sum of the pixels' L2 norms across classes).
    C : float > 0, possibly ``inf``
        Inverse regularisation strength; ``inf`` means no penalty.
    """

    penalty: str
    l1_ratio: float
    C: float

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def spec(self) -> PenaltySpec:
        """The row's penalty without its C; ``spec.at(C, n)`` is the solver's penalty object."""
        return PenaltySpec(self.penalty, float(self.l1_ratio))


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--C: {what} {text!r} is not a number; "
                         "expected START:STOP:NUM (e.g. 1e-3:1e1:25) or a comma list (e.g. 0.01,0.1,1)") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_C:
        # MAX_C: above it the penalty 1/(C n) is too small for float64 to fit (solvers.problem.MAX_C).
        raise UsageError(f"--C: {what} {text!r} is not allowed; allowed C in (0, {MAX_C:g}]; "
                         "for no penalty use --penalties none")
    return value


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"


def _refuse_repeats(values: Sequence[float], option: str, spec, name: str) -> None:
    """Refuse a value given more than once (equal as numbers: ``1`` and ``1.0`` are one value), which
    would make rows that only repeat each other in results.csv, the report and the explorer."""
    repeated = [(value, count) for value, count in Counter(values).items() if count > 1]
    if repeated:
        value, count = repeated[0]
        raise UsageError(f"{option}: received {spec!r}, which gives {name} = {value:g} {_times(count)}; "
                         "allowed each value at most once")


def parse_C(spec: str | float | Iterable[float]) -> np.ndarray:
    """Parse a C specification into a float array.

    Parameters
    ----------
    spec : str, float or iterable of float
        ``"START:STOP:NUM"`` for NUM log-spaced values from START to STOP inclusive, or a comma list
        ``"0.01,0.1,1"``, or numbers.

    Returns
    -------
    C : ndarray of shape (n_C,)

    Raises
    ------
    UsageError
        If the text cannot be parsed, a value is not in ``(0, MAX_C]`` or a value comes twice (also
        as ``1,1.0``, or from a range of more values than floats between its ends).
    """
    C = _parse_C(spec)
    _refuse_repeats(C.tolist(), "--C", spec, "C")
    return C


def _parse_C(spec: str | float | Iterable[float]) -> np.ndarray:
    if isinstance(spec, (int, float, np.number)):
        return np.array([_number(str(spec), "value")])
    if not isinstance(spec, str):
        return np.array([_number(str(v), "value") for v in spec])
    text = spec.strip()
    if not text:
        raise UsageError("--C: received an empty value; expected START:STOP:NUM or a comma list")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(f"--C: {spec!r} has {len(parts)} ':'-separated parts; expected START:STOP:NUM")
        start, stop = _number(parts[0], "START"), _number(parts[1], "STOP")
        try:
            num = int(parts[2])
        except ValueError:
            raise UsageError(f"--C: NUM {parts[2]!r} is not a whole number; expected START:STOP:NUM") from None
        if not 1 <= num <= 10_000:
            raise UsageError(f"--C: NUM {num} is out of range; allowed 1 to 10000")
        if num > 1 and start == stop:
            raise UsageError(f"--C: START and STOP are both {start:g}; give a list or NUM=1")
        return np.logspace(math.log10(start), math.log10(stop), num)
    values = [_number(part.strip(), "value") for part in text.split(",")]
    return np.array(values)


def parse_penalties(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``"l1,l2"`` (or a sequence) into a tuple of known penalty names, order kept."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = tuple(str(p).strip().lower() for p in items if str(p).strip())
    if not names:
        raise UsageError(f"--penalties: received {spec!r}; allowed a comma list of {', '.join(PENALTIES)}")
    for name in names:
        if name not in PENALTIES:
            raise UsageError(f"--penalties: unknown penalty {name!r}; allowed {', '.join(PENALTIES)}")
    twice = sorted({name for name in names if names.count(name) > 1}, key=names.index)
    if twice:
        raise UsageError(f"--penalties: received {spec!r}, which names {', '.join(twice)} twice; "
                         f"allowed each of {', '.join(PENALTIES)} at most once")
    return names


def parse_l1_ratios(spec: str | float | Sequence[float]) -> tuple[float, ...]:
    """Parse elastic-net mixing values, each in [0, 1] and each at most once (``0.5,0.50`` is one value twice)."""
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
    elif isinstance(spec, (int, float)):
        items = [spec]
    else:
        items = list(spec)
    if not items:
        raise UsageError("--l1-ratios: received nothing; expected numbers in [0, 1], e.g. 0.5 or 0.2,0.5,0.8")
    values = []
    for item in items:
        try:
            value = float(item)
        except (TypeError, ValueError):
            raise UsageError(f"--l1-ratios: {item!r} is not a number; allowed numbers in [0, 1]") from None
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"--l1-ratios: {item!r} is out of range; allowed numbers in [0, 1]")
        values.append(value + 0.0)  # -0 is 0
    _refuse_repeats(values, "--l1-ratios", spec, "l1_ratio")
    return tuple(values)


def group_rows(rows: Sequence[GridPoint]) -> dict[tuple[str, float], list[int]]:
    """Positions of the rows of each ``(penalty, l1_ratio)`` (one regularisation path each), in order of
    first appearance."""
    groups: dict[tuple[str, float], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault((row.penalty, float(row.l1_ratio)), []).append(i)
    return groups


def rows_as_paths(rows: Sequence[GridPoint]) -> tuple[list[list[int]], list[tuple[PenaltySpec, list[float]]]]:
    """The rows as the solver's paths: the row positions of each path (:func:`group_rows`) and, in the
    same order, its ``(PenaltySpec, Cs)``, so solution ``j`` of path ``p`` belongs to row ``groups[p][j]``."""
    groups = list(group_rows(rows).values())
    return groups, [(rows[g[0]].spec, [float(rows[i].C) for i in g]) for g in groups]


def make_grid(penalties="l1,l2", C=DEFAULT_C, l1_ratios=0.5) -> list[GridPoint]:
    """Build the ordered grid of fits.

    Parameters
    ----------
    penalties : str or sequence of str
        Any of ``l1, l2, elasticnet, group, none``.
    C : str, float or sequence of float
        See :func:`parse_C`.
    l1_ratios : float, str or sequence of float
        Mixing values, used by the penalties without a fixed one (``elasticnet``, ``group``).

    Returns
    -------
    rows : list of GridPoint
    """
    names = parse_penalties(penalties)
    Cs = parse_C(C)
    ratios = parse_l1_ratios(l1_ratios)
    rows: list[GridPoint] = []
    for name in names:
        kind = KINDS[name]
        mixing = kind.l1_ratios if kind.l1_ratios is not None else ratios
        if not kind.penalised:
            rows.append(GridPoint(name, float(mixing[0]), math.inf))
        else:
            rows.extend(GridPoint(name, float(r), float(c)) for r in mixing for c in Cs)
    return rows


def path_segments(rows: Sequence[GridPoint], positions: Sequence[int]) -> list[list[int]]:
    """One path's positions as the tasks that fit it: the path itself, or for a sparse penalty with at
    least ``SPLIT_MIN_ROWS`` C values, its weakest ``WEAK_SHARE`` (by C, rounded up) first, then the
    rest; each in grid order."""
    positions = list(positions)
    if len(positions) < SPLIT_MIN_ROWS or not rows[positions[0]].spec.sparse:
        return [positions]
    by_C = sorted(positions, key=lambda i: rows[i].C)
    weak = set(by_C[len(by_C) - math.ceil(WEAK_SHARE * len(by_C)):])
    return [[i for i in positions if i in weak], [i for i in positions if i not in weak]]


def path_tasks(rows: Sequence[GridPoint]) -> list[list[int]]:
    """The rows of each task of an engine that fits a path per task (:mod:`.tasks`): every path, a
    long sparse one as its two segments (:func:`path_segments`), the weak segments first, being the
    longest tasks. Depends on the grid alone, like the plan."""
    segments = [path_segments(rows, positions) for positions in group_rows(rows).values()]
    return [s[0] for s in segments if len(s) == 2] + [s[-1] for s in segments]
