"""Which connected pieces of ink are the subject: specks, the page's surroundings and ruled lines left out.

A photograph holds more than the digit: the desk around the sheet, a shadow's edge, a rule under the
digit, the box of a form. Each is a connected piece of ink with a recognisable shape, and each is
left out only when other ink remains, so a picture whose only ink looks like one of them is still
framed as before:

* a piece touching the picture's border (the desk, the shadow, the page's edge) — a digit is
  photographed whole: when the ink inside weighs at least :data:`KEEP_MASS` of it, or at least a
  detached stroke's share and the border piece is solid (:data:`SOLID` times wider than the
  strokes inside) or surrounds that ink; when the piece is both solid and all round the ink (a desk
  around the sheet), :data:`KEEP_FAINT_MASS` of it is enough;
* a long thin straight line: the two axes of the piece's pixel cloud (its second moments) differ
  by more than :data:`LINE_ASPECT`, and the piece is longer than the other ink is tall (a 1 or a
  7's bar is no longer than the digit);
* a frame: most of the piece lies along the edges of its own box (a rectangle drawn around the
  digit) and other ink lies inside that box.

What remains is kept by its mass, as before: pieces lighter than :data:`KEEP_MASS` of the heaviest
are specks, unless they touch the heaviest piece's box (a detached stroke).

Pictures smaller than :data:`SURROUNDINGS_MIN_SIDE` are taken as a training image is (an item may
fill it edge to edge, a sandal's straps touch the border): only specks are left out there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Pieces", "choose_pieces", "KEEP_MASS", "KEEP_NEAR_MASS", "LINE_ASPECT", "SURROUNDINGS_MIN_SIDE"]

#: Pieces of ink lighter than this fraction of the heaviest piece are specks...
KEEP_MASS = 0.15
#: ...unless they are at least this heavy and touch the heaviest piece's box (a detached stroke).
KEEP_NEAR_MASS = 0.02
#: ...and inside a solid border piece that surrounds it, this share of that piece is enough (a desk).
KEEP_FAINT_MASS = 0.001
#: A border piece left out that runs along this share of the picture's edge is a desk, not a doubt.
DESK_EDGE = 0.2
#: Shorter side (pixels) from which a picture is taken as a photograph with surroundings.
SURROUNDINGS_MIN_SIDE = 64
#: A border piece this many times wider than the strokes inside is a solid region (desk, shadow).
SOLID = 2.0
#: Ratio of a piece's long axis to its short axis (standard deviations) above which it is a line.
LINE_ASPECT = 12.0
#: Share of a piece's pixels within its stroke width of its box's edges above which it is a frame.
FRAME_SHARE = 0.85
#: A separate piece at least this heavy (share of the heaviest) and this tall (share of the tallest),
#: beside the others with a gap of at least GAP of the tallest's height, is another digit.
OTHER_MASS, OTHER_HEIGHT, GAP = 0.3, 0.6, 0.5


@dataclass
class Pieces:
    """The outcome of :func:`choose_pieces`.

    Attributes
    ----------
    kept : ndarray of bool, shape (height, width)
        Pixels of the kept pieces.
    left_out : dict
        ``{reason: mass}`` of the ink left out as ``"desk"`` (a region touching the border that is far
        wider than the strokes inside or runs along a fifth of the edge: the desk around a sheet, a
        shadow; not a digit), ``"border"``
        (another piece touching the border), ``"line"`` or ``"frame"``.
    mass_kept : float
    beside : int
        How many separate, similar pieces stand side by side among the kept ones (1: one subject).
    """

    kept: np.ndarray
    left_out: dict
    mass_kept: float
    beside: int


def _radius(piece: np.ndarray, amount: np.ndarray) -> float:
    """Radius of the widest disc inside the piece's core (its ink above half its peak): half the
    width of its boldest stroke, for a stroke; the low threshold pieces are cut at widens strokes."""
    core = piece & (amount >= 0.5 * amount[piece].max())
    return float(ndimage.distance_transform_edt(np.pad(core, 1)).max())


def _is_line(rows: np.ndarray, cols: np.ndarray, longest_other: float) -> bool:
    """A long thin straight piece: second moments of its pixel coordinates, and its length."""
    if rows.size < 10:
        return False
    cov = np.cov(np.vstack([rows, cols]).astype(np.float64))
    small, large = np.sqrt(np.maximum(np.linalg.eigvalsh(cov), 1e-12))
    # A uniform segment of length L has deviation L / sqrt(12) along it.
    length = large * np.sqrt(12.0)
    return large >= LINE_ASPECT * small and length > longest_other


def _is_frame(piece: np.ndarray, others_inside: bool) -> bool:
    """A rectangle's outline: most of the piece within its own stroke width of its box's edges."""
    h, w = piece.shape
    if not others_inside or min(h, w) < 8:
        return False
    width = 2.0 * float(ndimage.distance_transform_edt(np.pad(piece, 1)).max())
    near = np.zeros_like(piece)
    band = max(1, int(np.ceil(width)))
    near[:band], near[-band:], near[:, :band], near[:, -band:] = True, True, True, True
    return piece.sum() > 0 and (piece & near).sum() >= FRAME_SHARE * piece.sum() and 4 * band < min(h, w)


def choose_pieces(labels: np.ndarray, count: int, amount: np.ndarray, surroundings: bool = True) -> Pieces:
    """Keep the pieces of ink that make the subject.

    Parameters
    ----------
    labels : ndarray of int, shape (height, width)
        Connected pieces, 1..count (0 elsewhere), as from :func:`scipy.ndimage.label`.
    count : int
    amount : ndarray of shape (height, width)
        Ink amount (>= 0); a piece's mass is its sum.
    surroundings : bool
        Leave out the border, lines and frames (a photograph); ``False`` keeps every piece by mass
        only (a picture the size of a training image, whose item may fill it edge to edge).
    """
    index = np.arange(1, count + 1)
    mass = np.asarray(ndimage.sum_labels(amount, labels, index=index), dtype=np.float64)
    boxes = ndimage.find_objects(labels)
    h, w = labels.shape
    candidate = np.ones(count, dtype=bool)
    reason = {}
    # 1. The border: a touching piece is left out when the ink inside is comparable to it, or when it
    #    is a solid region (a desk, a shadow) far wider than the strokes inside. A tight crop's digit
    #    touches every side and has no ink inside: it stays.
    touches = np.array([b[0].start == 0 or b[1].start == 0 or b[0].stop == h or b[1].stop == w for b in boxes])
    if surroundings and (~touches).any() and touches.any():
        inner = int(np.flatnonzero(~touches)[np.argmax(mass[~touches])])
        inner_radius = _radius(labels[boxes[inner]] == inner + 1, amount[boxes[inner]])
        centre = tuple(int(round(v)) for v in ndimage.center_of_mass(labels == inner + 1))
        for i in np.flatnonzero(touches):
            piece = labels == i + 1
            share = mass[inner] / mass[i]
            if share < KEEP_FAINT_MASS:
                continue
            solid = _radius(piece[boxes[i]], amount[boxes[i]]) >= SOLID * inner_radius
            # Whether it surrounds the ink matters only below KEEP_MASS (filling its holes is a pass).
            surrounds = share < KEEP_MASS and bool(ndimage.binary_fill_holes(piece)[centre])
            # A solid region all round the ink (a desk round the sheet) is surroundings however
            # light the digit is (a thin 1 weighs ~1 % of a desk); one condition alone needs more.
            # A solid region is reported as "desk": far wider than any stroke, it is not a digit.
            needed = KEEP_FAINT_MASS if solid and surrounds else KEEP_NEAR_MASS if solid or surrounds else KEEP_MASS
            if share >= needed:
                # Along a fifth of the picture's edge or more: a desk's strip beside a sheet that runs
                # past the edge, however narrow (a digit cut by the edge meets it over its own width).
                along = (np.count_nonzero(piece[0]) + np.count_nonzero(piece[-1]) + np.count_nonzero(piece[:, 0])
                         + np.count_nonzero(piece[:, -1])) / (2 * (h + w))
                candidate[i], reason[i] = False, "desk" if solid or along >= DESK_EDGE else "border"
    # 2. Lines and frames, judged against the heaviest remaining piece.
    for _ in range(2 if surroundings else 0):  # once more when the heaviest piece was itself a line or a frame
        if not candidate.any():
            break
        main = int(np.flatnonzero(candidate)[np.argmax(mass[candidate])])
        tallest = max(boxes[main][0].stop - boxes[main][0].start, boxes[main][1].stop - boxes[main][1].start)
        changed = False
        for i in np.flatnonzero(candidate):
            rows, cols = boxes[i]
            piece = labels[rows, cols] == i + 1
            r, c = np.nonzero(piece)
            others = candidate.copy()
            others[i] = False
            inside = any(boxes[j][0].start >= rows.start and boxes[j][0].stop <= rows.stop
                         and boxes[j][1].start >= cols.start and boxes[j][1].stop <= cols.stop
                         and mass[j] >= KEEP_MASS * mass[i] for j in np.flatnonzero(others))
            other_size = tallest if i != main else max(
                [max(boxes[j][0].stop - boxes[j][0].start, boxes[j][1].stop - boxes[j][1].start)
                 for j in np.flatnonzero(others) if mass[j] >= KEEP_MASS * mass[i]] or [np.inf])
            if not others.any() or mass[others].max() < KEEP_NEAR_MASS * mass[i]:
                continue  # the only ink there is: never left out
            if _is_line(r, c, other_size):
                candidate[i], reason[i], changed = False, "line", True
            elif _is_frame(piece, inside):
                candidate[i], reason[i], changed = False, "frame", True
        if not changed:
            break
    if not candidate.any():  # everything looked like surroundings: fall back to all of it
        candidate[:], reason = True, {}
    # 3. Specks: by mass, relative to the heaviest remaining piece.
    main = int(np.flatnonzero(candidate)[np.argmax(mass[candidate])])
    top, bottom = boxes[main][0].start, boxes[main][0].stop
    left, right = boxes[main][1].start, boxes[main][1].stop
    grow_r, grow_c = (bottom - top) // 4 + 1, (right - left) // 4 + 1
    keep = np.zeros(count + 1, dtype=bool)
    for i in np.flatnonzero(candidate):
        rows, cols = boxes[i]
        near = (rows.start <= bottom + grow_r and rows.stop >= top - grow_r
                and cols.start <= right + grow_c and cols.stop >= left - grow_c)
        keep[i + 1] = mass[i] >= KEEP_MASS * mass[main] or (near and mass[i] >= KEEP_NEAR_MASS * mass[main])
    left_out = {}
    for i, why in reason.items():
        left_out[why] = left_out.get(why, 0.0) + float(mass[i])
    return Pieces(kept=keep[labels], left_out=left_out, mass_kept=float(mass[keep[1:]].sum()),
                  beside=_side_by_side([boxes[i] for i in np.flatnonzero(keep[1:])], mass[keep[1:]]))


def _side_by_side(boxes: list, mass: np.ndarray) -> int:
    """How many groups of heavy, tall pieces stand apart from each other along the rows (digits of a number)."""
    if len(boxes) < 2:
        return 1
    heavy = mass >= OTHER_MASS * mass.max()
    tallest = max(b[0].stop - b[0].start for b, ok in zip(boxes, heavy) if ok)
    spans = sorted((b[1].start, b[1].stop) for b, ok in zip(boxes, heavy)
                   if ok and b[0].stop - b[0].start >= OTHER_HEIGHT * tallest)
    # Pieces whose column spans overlap or nearly touch are one group (a digit written in two strokes).
    groups, end = 0, -np.inf
    for start, stop in spans:
        if start - end >= GAP * tallest:
            groups += 1
        end = max(end, stop)
    return max(groups, 1)
