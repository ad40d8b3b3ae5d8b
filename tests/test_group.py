"""``--penalties group`` end to end on 1500 real t10k digits: certified rows, the optimum, pixels growing with C.

The reference below is written here, independently of the package: its own objective, its own group
proximal step, its own duality gap, and a plain accelerated proximal-gradient method (FISTA with
backtracking and restarts) on centred pixels (``W x + b = W (x - mu) + (b + W mu)``: same problem,
better conditioned), with a diagonal step that is constant within each pixel's group (the pixel's
mean square), so the proximal step stays a block soft threshold. It follows its own path (zero
weights, then each C from the previous C's reference solution; it never sees the command's), and it
iterates on the pixels in use (or violating their optimality condition) while the gap is always
computed on all pixels. Momentum restarts when the step turns against the last move
(O'Donoghue & Candes' gradient test): the objective test stalls once the objective has settled to
rounding while its gradient, and so the gap, which is first order in it, still oscillate (at C = 10
it took ~18,000 iterations to a gap of 1e-9 instead of ~3,000).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from mnist_logreg.cli import main
from mnist_logreg.data import load_dataset

#: C values of the run: 1e-3..1e1, one per decade.
C_GRID = "1e-3:1e1:5"


def _column_norms(W):
    return np.sqrt((W * W).sum(axis=0))


class GroupReference:
    """``mean log-loss + lam sum_j |W[:, j]|_2`` with its duality gap and an accelerated proximal gradient."""

    def __init__(self, X, y, n_classes, lam):
        self.X = np.asarray(X, dtype=np.float64)
        self.n = len(y)
        self.y = np.asarray(y)
        self.Y = np.eye(n_classes)[self.y]
        self.mu = self.X.mean(axis=0)
        self.lam = lam
        self.n_iter = 0

    def _loss(self, Z):
        lse = logsumexp(Z, axis=1)
        return float(np.mean(lse - Z[np.arange(self.n), self.y])), np.exp(Z - lse[:, None])

    def objective(self, W, b):
        return self._loss(self.X @ W.T + b)[0] + self.lam * _column_norms(W).sum()

    def best_intercepts(self, W, b):
        """Newton on b until the mean probabilities equal the class frequencies."""
        Z0 = self.X @ W.T
        for _ in range(50):
            P = self._loss(Z0 + b)[1]
            g = P.mean(axis=0) - self.Y.mean(axis=0)
            if np.abs(g).max() < 1e-15:
                break
            b = b - np.linalg.lstsq(np.diag(P.mean(axis=0)) - P.T @ P / self.n, g, rcond=None)[0]
        return b

    def dual(self, P):
        """``D = mean_i H(q_i) <= min F`` for theta = s (Y - P) / n, q = s P + (1 - s) Y, s the largest
        scaling with every ``|X_j^T theta| <= lam`` (Fenchel duality; P's columns must sum as Y's)."""
        norms = _column_norms((self.Y - P).T @ self.X / self.n)
        s = min(1.0, self.lam / norms.max()) if norms.max() > 0 else 1.0
        Q = s * P + (1 - s) * self.Y
        return -np.sum(Q[Q > 0] * np.log(Q[Q > 0])) / self.n

    def gap(self, W, b):
        """``(F, D, b*)``: primal and dual values at ``(W, b*)``, b* the best intercepts."""
        b = self.best_intercepts(W, b)
        F, P = self._loss(self.X @ W.T + b)
        return F + self.lam * _column_norms(W).sum(), self.dual(P), b

    def solve(self, W, b, gap=1e-9, check_every=50, max_iter=60_000):
        """Proximal gradient from ``(W, b)`` until ``F - D <= gap``; returns ``(W, b*, F, D)``."""
        F, D, b = self.gap(W, b)
        while F - D > gap:
            # Pixels in use or whose gradient reaches the threshold: the others stay at zero.
            P = self._loss(self.X @ W.T + b)[1]
            G = (P - self.Y).T @ self.X / self.n
            cols = np.flatnonzero(W.any(axis=0) | (_column_norms(G) >= 0.9 * self.lam))
            Xc = self.X[:, cols] - self.mu[cols]
            V, c, D_fista = self._fista(Xc, W[:, cols].copy(), b + W @ self.mu, gap, check_every, max_iter, cols)
            W = np.zeros_like(W)
            W[:, cols] = V
            F, D, b = self.gap(W, c - W @ self.mu)
            D = max(D, D_fista)  # the best dual bound met along the way is a bound too
        return W, b, F, D

    def _fista(self, Xc, W, b, gap, check_every, max_iter, cols):
        """FISTA on the columns ``cols`` (centred: ``Xc``) in the metric ``m_j I`` per pixel; returns
        ``(W, b, D)`` with D the best dual bound met."""
        m = np.maximum((Xc * Xc).mean(axis=0), 1e-12)  # the pixel's mean square: one step per group

        def smooth(Z):  # value, metric-scaled gradient of W, gradient of b, at the scores Z
            f, P = self._loss(Z)
            R = (P - self.Y) / self.n
            return f, (R.T @ Xc) / m, R.sum(axis=0)

        def prox(W, t):  # argmin t lam |W_j| + m_j/2 |. - W_j|^2 for each pixel j
            return W * np.maximum(0.0, 1.0 - t * self.lam / m / np.maximum(_column_norms(W), 1e-300))

        L, t, D_best = 1.0, 1.0, -np.inf
        Z = Xc @ W.T + b
        V, c, ZV = W.copy(), b.copy(), Z
        for it in range(1, max_iter + 1):
            f, gW, gb = smooth(ZV)
            while True:
                W_new, b_new = prox(V - gW / L, 1 / L), c - gb / L
                dW, db = W_new - V, b_new - c
                Z_new = Xc @ W_new.T + b_new
                f_new = self._loss(Z_new)[0]
                if f_new <= f + np.vdot(gW * m, dW) + gb @ db + 0.5 * L * (np.vdot(dW * m, dW) + db @ db) + 1e-15:
                    break
                L *= 2.0
            if t > 1 and np.vdot((V - W_new) * m, W_new - W) + (c - b_new) @ (b_new - b) > 0:
                V, c, ZV, t = W, b, Z, 1.0  # the step turns back against the last move: restart
                continue
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            beta = (t - 1) / t_new
            # The scores move linearly: the extrapolated point's are the same combination of theirs.
            V, c, ZV = W_new + beta * (W_new - W), b_new + beta * (b_new - b), Z_new + beta * (Z_new - Z)
            W, b, Z, t = W_new, b_new, Z_new, t_new
            L *= 0.95
            if it % check_every == 0:
                full = np.zeros((self.Y.shape[1], self.X.shape[1]))
                full[:, cols] = W
                F, D, _ = self.gap(full, b - full @ self.mu)
                D_best = max(D_best, D)  # every dual point is a lower bound
                if F - D_best <= gap:
                    break
        else:
            raise AssertionError(f"reference did not reach a gap of {gap} in {max_iter} iterations")
        self.n_iter += it
        return W, b, D_best


@pytest.fixture(scope="module")
def group_run(t10k_dir, tmp_path_factory):
    """``mnist-logreg run --penalties group --l1-ratios 1`` on the 1500/1000 t10k split at the default
    ``--tol`` (a relative duality gap of 1e-5: every row is certified within 1e-5 of its optimum)."""
    out = tmp_path_factory.mktemp("group") / "run"
    code = main(["run", "--dataset", f"idx:{t10k_dir}", "--penalties", "group", "--l1-ratios", "1",
                 "--C", C_GRID, "--refit", "none", "--jobs", "1", "--quiet", "--out", str(out)])
    assert code == 0
    ds = load_dataset(f"idx:{t10k_dir}")
    # The command's training split, rebuilt here: stratified, seed 42, pixels / 255.
    X, _, y, _ = train_test_split(ds.X, ds.y, train_size=1500, test_size=1000, stratify=ds.y, random_state=42)
    classes = np.unique(y)
    path = np.load(out / "path.npz")
    return dict(out=out, X=X.astype(np.float64) / 255, y=np.searchsorted(classes, y), k=len(classes),
                results=pd.read_csv(out / "results.csv"), coef=path["coef"], intercept=path["intercept"])


def test_every_row_is_certified_and_matches_the_reference(group_run):
    X, y, k, results = group_run["X"], group_run["y"], group_run["k"], group_run["results"]
    assert list(results.penalty) == ["group"] * 5 and np.allclose(results.C, [1e-3, 1e-2, 1e-1, 1, 10])
    assert results.converged.all()
    W_ref, b_ref = np.zeros((k, X.shape[1])), np.zeros(k)  # the reference's own path, C ascending
    for r, row in results.iterrows():
        W, b = group_run["coef"][r].astype(np.float64), group_run["intercept"][r].astype(np.float64)
        problem = GroupReference(X, y, k, 1.0 / (row.C * len(y)))
        F = problem.objective(W, b)
        assert F == pytest.approx(row.objective, rel=1e-12)  # results.csv reports this row's objective
        with threadpool_limits(1):  # small products: one BLAS thread is faster on a busy machine
            W_ref, b_ref, F_ref, D_ref = problem.solve(W_ref, b_ref, gap=1e-9)
        assert F_ref - D_ref <= 1e-9
        assert F <= F_ref * (1 + 1e-6), row
        assert F >= D_ref - 1e-12, row  # nothing beats the dual bound (up to rounding)
        assert np.array_equal(W_ref.any(axis=0), W.any(axis=0)), row  # the same pixels selected


def test_selected_pixels_grow_with_C_and_the_weight_images_show_them(group_run):
    results, coef = group_run["results"], group_run["coef"]
    pixels = [int(W.any(axis=0).sum()) for W in coef]
    assert pixels[0] == 0 and pixels[-1] > 200, pixels
    assert all(a < b for a, b in zip(pixels[1:], pixels[2:])), pixels
    assert np.allclose(results.nonzero_fraction, np.array(pixels) / 784)
    for W in coef:  # a pixel is in every class's image or in none: its column is all zero or all non-zero
        used = W.any(axis=0)
        assert (W[:, used] != 0).all()
    best = json.loads((group_run["out"] / "best.json").read_text())
    assert (group_run["out"] / "figures" / "weights.png").stat().st_size > 0
    assert best["row"] in range(len(results))
