r"""Penalties as objects, and the names a grid row gives them.

A grid row names its penalty (``penalty`` in results.csv) and carries ``l1_ratio`` and ``C``;
:class:`PenaltySpec` turns that into the solver's object for one C:

.. math::

    R(W) = \lambda\Big(\rho\, h(W) + \frac{1-\rho}{2}\lVert W\rVert_2^2\Big),
    \qquad \lambda = \frac{1}{C n},\ \rho = \texttt{l1\_ratio},

so the solvers see ``strength = rho lambda`` and ``alpha = (1 - rho) lambda`` (:mod:`.base`). The
table :data:`KINDS` is the one place that knows the names: which family each belongs to, which
``l1_ratio`` values it takes (fixed, or those of ``--l1-ratios``) and whether it has a C at all.
Adding a penalty is a new family file here and a row of :data:`KINDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Penalty
from .elasticnet import ElasticNet
from .group import PixelGroup

__all__ = ["Penalty", "ElasticNet", "PixelGroup", "PenaltyKind", "PenaltySpec", "KINDS", "PENALTIES", "FAMILIES",
           "penalty_label", "row_penalty"]


@dataclass(frozen=True)
class PenaltyKind:
    """A penalty name of the grid.

    Attributes
    ----------
    name : str
        As written in ``--penalties`` and results.csv.
    family : type of Penalty
        The object that computes it.
    l1_ratios : tuple of float or None
        The fixed ``l1_ratio`` of its rows, or ``None`` to take every value of ``--l1-ratios``.
    penalised : bool
        ``False`` for ``none``: a single row with ``C = inf``.
    """

    name: str
    family: type
    l1_ratios: tuple[float, ...] | None
    penalised: bool = True


KINDS: dict[str, PenaltyKind] = {kind.name: kind for kind in (
    PenaltyKind("l1", ElasticNet, (1.0,)),
    PenaltyKind("l2", ElasticNet, (0.0,)),
    PenaltyKind("elasticnet", ElasticNet, None),
    PenaltyKind("group", PixelGroup, None),
    PenaltyKind("none", ElasticNet, (0.0,), penalised=False),
)}
#: Names accepted by ``--penalties``, in the order help texts list them.
PENALTIES = tuple(KINDS)
#: The estimators' ``penalty`` parameter: the family's name -> its class.
FAMILIES = {"elasticnet": ElasticNet, "group": PixelGroup}


@dataclass(frozen=True)
class PenaltySpec:
    """A grid row's penalty without its C: the name and the mixing ``l1_ratio``.

    Parameters
    ----------
    name : str
        A key of :data:`KINDS`.
    l1_ratio : float in [0, 1]
        Weight of the non-smooth part; the rest is the ridge.
    """

    name: str
    l1_ratio: float

    @property
    def kind(self) -> PenaltyKind:
        try:
            return KINDS[self.name]
        except KeyError:
            raise ValueError(f"penalty: received {self.name!r}; allowed {', '.join(PENALTIES)}") from None

    def at(self, C: float, n_samples: int) -> Penalty:
        """The penalty object of this row at ``C`` for ``n_samples`` training samples."""
        lam = 0.0 if math.isinf(C) or not self.kind.penalised else 1.0 / (C * n_samples)
        return self.kind.family(self.l1_ratio * lam, (1.0 - self.l1_ratio) * lam)

    @property
    def sparse(self) -> bool:
        """Whether the penalty has a non-smooth part (L1, or the pixels' group norm) at every finite C."""
        return self.at(1.0, 1).has_nonsmooth

    @property
    def family_name(self) -> str:
        """The estimators' ``penalty`` value for this row (``elasticnet`` for l1, l2 and none)."""
        return next(name for name, family in FAMILIES.items() if family is self.kind.family)

    def nonzero_fraction(self, coef) -> float:
        """What results.csv calls ``nonzero_fraction``: weights in use, or pixels for ``group``."""
        return self.kind.family.nonzero_fraction(coef)

    @property
    def label(self) -> str:
        return penalty_label(self.name, self.l1_ratio)


def penalty_label(name: str, l1_ratio: float) -> str:
    """How reports name a row's penalty: ``"l1"``, ``"l2"``, ``"none"``, and with its ``l1_ratio`` for
    every penalty that takes ``--l1-ratios`` (``"elasticnet (l1_ratio=0.5)"``, ``"group (l1_ratio=1)"``),
    whose name alone does not say the mix."""
    kind = KINDS.get(str(name))
    if kind is not None and kind.l1_ratios is None:
        return f"{name} (l1_ratio={float(l1_ratio):g})"
    return str(name)


def row_penalty(family: str, l1_ratio: float, C: float) -> str:
    """The grid's name of a penalty given as an estimator gives it: family, ``l1_ratio`` and ``C``."""
    if family not in FAMILIES:
        raise ValueError(f"penalty: received {family!r}; allowed {', '.join(FAMILIES)}")
    if math.isinf(C):
        return next(k.name for k in KINDS.values() if not k.penalised)
    kinds = [k for k in KINDS.values() if k.penalised and k.family is FAMILIES[family]]
    fixed = [k.name for k in kinds if k.l1_ratios is not None and float(l1_ratio) in k.l1_ratios]
    return fixed[0] if fixed else next(k.name for k in kinds if k.l1_ratios is None)
