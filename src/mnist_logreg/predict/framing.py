"""Framing a picture the way the model's training images are framed, learned from those images.

MNIST fitted each digit's box into 20 x 20 pixels, keeping its aspect, and put its centre of mass
at the centre of 28 x 28; Fashion-MNIST fitted each item's longer side to the whole 28 pixels and
centred its box. A model only knows images framed like its training images, so
:class:`ImageFraming` measures, when the pipeline is fitted, how the training images are framed —
the background and ink levels, the typical box (its longer side, or both sides when every image is
stretched to one box), and whether the centre of mass or the box centre is the fixed point — and
:meth:`ImageFraming.frame` puts any picture's ink into the same frame. As a pipeline step it passes
rows through unchanged: training rows are framed already.
"""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import DataError
from .ink import BOX_LEVEL, find_ink
from .strokes import thicken, training_stroke_share

__all__ = ["ImageFraming", "FramingWarning", "ANCHORS", "BOX_RULES", "training_framing"]


class FramingWarning(UserWarning):
    """A picture was labelled, but its framing left most of its ink out (the command prints one line)."""

ANCHORS = ("mass", "box")
BOX_RULES = ("fit", "stretch")
#: Training images measured when fitting (a random-free prefix; the framing is a population summary).
FIT_SAMPLE = 5000
#: Quantile of the in-box ink that sets a picture's contrast (matched to the training images' value).
INK_QUANTILE = 0.9


def training_framing(images: np.ndarray) -> dict:
    """How a stack of training images is framed.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width)
        Raw training images (any numeric range; the background is the median border pixel).

    Returns
    -------
    dict
        ``background, ink, ink_quantile, box_rule, box_long, box_shape, anchor, centre, stroke`` (the
        fitted attributes of :class:`ImageFraming`, without the trailing underscore).
    """
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    background = float(np.median(border))
    deviation = images - background
    polarity = 1.0 if deviation.sum() >= 0 else -1.0
    amount = np.clip(polarity * deviation, 0, None)
    peak = amount.reshape(n, -1).max(axis=1)
    amount, peak = amount[peak > 0], peak[peak > 0]
    if len(peak) == 0:
        return dict(background=background, ink=background + polarity, ink_quantile=1.0, box_rule="fit",
                    box_long=float(max(h, w)), box_shape=(float(h), float(w)), anchor="box",
                    centre=((h - 1) / 2.0, (w - 1) / 2.0), stroke=float("nan"))
    full = float(np.median(peak))
    norm = amount / peak[:, None, None]
    inside = norm >= BOX_LEVEL
    rows_any, cols_any = inside.any(axis=2), inside.any(axis=1)
    top, bottom = rows_any.argmax(axis=1), h - 1 - rows_any[:, ::-1].argmax(axis=1)
    left, right = cols_any.argmax(axis=1), w - 1 - cols_any[:, ::-1].argmax(axis=1)
    box_h, box_w = bottom - top + 1.0, right - left + 1.0

    def spread(x):
        q1, q3 = np.quantile(x, [0.25, 0.75])
        return (q3 - q1) / max(np.median(x), 1.0)

    box_rule = "stretch" if spread(box_h) < 0.05 and spread(box_w) < 0.05 else "fit"
    # Centre of mass of each image (pixel i at coordinate i), and its box centre.
    mass = norm.sum(axis=(1, 2))
    com_r = (norm.sum(axis=2) * np.arange(h)).sum(axis=1) / mass
    com_c = (norm.sum(axis=1) * np.arange(w)).sum(axis=1) / mass
    box_r, box_c = (top + bottom) / 2.0, (left + right) / 2.0
    # The fixed point is the one that moves least from image to image.
    anchor = "mass" if np.std(com_r) + np.std(com_c) <= np.std(box_r) + np.std(box_c) else "box"
    centre = (float(np.mean(com_r)), float(np.mean(com_c))) if anchor == "mass" else \
        (float(np.mean(box_r)), float(np.mean(box_c)))
    ink_quantile = float(np.median([np.quantile(v[m], INK_QUANTILE) for v, m in zip(norm, inside)]))
    return dict(background=background, ink=background + polarity * full, ink_quantile=ink_quantile,
                box_rule=box_rule, box_long=float(np.median(np.maximum(box_h, box_w))),
                box_shape=(float(np.median(box_h)), float(np.median(box_w))), anchor=anchor, centre=centre,
                stroke=training_stroke_share(norm, np.maximum(box_h, box_w)))


class ImageFraming(TransformerMixin, BaseEstimator):
    """Learns how training images are framed; frames new pictures the same way.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` of the training images (rows are these images flattened).

    Attributes
    ----------
    background_, ink_ : float
        Raw value of the training images' background and of full ink.
    ink_quantile_ : float
        The 90th percentile of in-box ink, as a fraction of full ink, in a typical training image.
    box_rule_ : {"fit", "stretch"}
        ``fit``: the box's longer side becomes ``box_long_``, aspect kept; ``stretch``: the box
        becomes ``box_shape_``.
    box_long_ : float
    box_shape_ : tuple of float
    anchor_ : {"mass", "box"}
        The point put at ``centre_``: the centre of mass of the ink or the centre of its box.
    centre_ : tuple of float
        ``(row, column)``, pixel ``i`` at coordinate ``i``.
    stroke_ : float
        Median stroke width of the training images as a share of their box's longer side (NaN when
        none could be measured). Model files written before it existed lack it: their pictures'
        strokes are left as they are.
    n_features_in_ : int
    """

    def __init__(self, image_shape=(28, 28)):
        self.image_shape = image_shape

    def fit(self, X, y=None):
        """Measure the framing of ``X`` of shape (n_images, height * width)."""
        X = validate_data(self, X, dtype=None, reset=True)
        h, w = (int(s) for s in self.image_shape)
        if h * w != X.shape[1]:
            raise ValueError(f"image_shape: received {self.image_shape!r}; allowed a shape of {X.shape[1]} pixels")
        learned = training_framing(np.asarray(X[:FIT_SAMPLE]).reshape(-1, h, w))
        for key, value in learned.items():
            setattr(self, f"{key}_", value)
        return self

    def transform(self, X):
        """Rows pass through unchanged (training rows are framed already)."""
        check_is_fitted(self, "centre_")
        return validate_data(self, X, dtype=None, reset=False)

    def as_is(self, grey: np.ndarray, name: str = "image") -> np.ndarray:
        """A picture already in the training images' shape, taken as it is (``predict --no-frame``).

        Its ink is neither found nor moved: for training images framed in no consistent way (crops,
        say), re-framing a picture moves it away from how they were. Grey level ``g`` becomes the raw
        value ``g * white``, ``white`` the brighter of the training background and full ink (255 for
        8-bit images, 1 for pixels in [0, 1]), so a picture saved from a training image gives that image.

        Raises
        ------
        DataError
            When the picture is not exactly ``image_shape``.
        """
        check_is_fitted(self, "centre_")
        h, w = (int(s) for s in self.image_shape)
        grey = np.asarray(grey, dtype=np.float64)
        if grey.shape != (h, w):
            raise DataError(f"image {name}: {grey.shape[0]} x {grey.shape[1]} pixels; allowed exactly the model's "
                            f"{h} x {w} under --no-frame (without it, pictures of any size are framed)")
        return grey * max(self.background_, self.ink_)

    def frame(self, grey: np.ndarray, name: str = "image") -> np.ndarray:
        """Put the ink of a picture into the training frame.

        Parameters
        ----------
        grey : ndarray of shape (height, width)
            Grey levels in [0, 1] (see :func:`~mnist_logreg.predict.read_image`).
        name : str
            The file, named in the error when the picture has no foreground.

        Returns
        -------
        ndarray of shape image_shape
            In the training images' raw units: background ``background_``, full ink ``ink_``.
        """
        check_is_fitted(self, "centre_")
        h, w = (int(s) for s in self.image_shape)
        found = find_ink(np.asarray(grey, dtype=np.float64), name)
        if found.beside > 1:
            raise DataError(f"image {name}: holds {found.beside} separate marks side by side (several digits?), "
                            f"which would be squashed into one; allowed one digit or item per picture (crop each)")
        # A solid region at the border (a desk, a shadow) outweighs any digit and is never the subject:
        # no warning for it (QA: on desk photos whose sheet ran past the photo's edge it fired every time).
        doubtful = {why: mass for why, mass in found.left_out.items() if why != "desk"}
        left_out = sum(doubtful.values())
        if left_out > found.mass_kept:
            what = " and ".join(sorted(doubtful))
            warnings.warn(FramingWarning(
                f"image {name}: most of its ink was left out as surroundings ({what}: {left_out / (left_out + found.mass_kept):.0%} "
                f"of the ink); labelled from the rest — check it with --show"), stacklevel=2)
        # Files written before strokes were measured have no stroke_: their strokes stay as they are.
        ink, box = thicken(found.ink, found.box, getattr(self, "stroke_", float("nan")))
        top, bottom, left, right = box
        box_h, box_w = bottom - top + 1, right - left + 1
        # The box becomes a whole number of frame pixels, so its edges fall on pixel edges.
        if self.box_rule_ == "stretch":
            out_h, out_w = (max(1, int(round(v))) for v in self.box_shape_)
        else:
            long_side = max(1, int(round(self.box_long_)))
            out_h = long_side if box_h >= box_w else max(1, int(round(box_h * long_side / box_w)))
            out_w = long_side if box_w >= box_h else max(1, int(round(box_w * long_side / box_h)))
        scale_r, scale_c = out_h / box_h, out_w / box_w
        # ...plus a margin of `edge` frame pixels on each side, for the soft edges of the strokes.
        edge = 2
        pad = int(np.ceil(edge / min(scale_r, scale_c))) + 1
        ink = np.pad(ink, pad).astype(np.float32)
        source = (left + pad - edge / scale_c, top + pad - edge / scale_r,
                  right + 1 + pad + edge / scale_c, bottom + 1 + pad + edge / scale_r)
        size = (out_w + 2 * edge, out_h + 2 * edge)
        shrinking = scale_r <= 1 and scale_c <= 1
        resized = Image.fromarray(ink, mode="F").resize(
            size, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR, box=source)
        small = np.clip(np.asarray(resized, dtype=np.float64), 0, None)
        # Contrast: the in-box ink's 90th percentile sits where a typical training image's does.
        strong = small[small >= BOX_LEVEL * small.max()] if small.max() > 0 else small.ravel()
        level = float(np.quantile(strong, 0.9)) if strong.size else 1.0
        small = np.clip(small / max(level, 1e-12) * self.ink_quantile_, 0, 1)
        if self.anchor_ == "mass":
            at = ndimage.center_of_mass(small)
        else:
            at = (edge + (out_h - 1) / 2.0, edge + (out_w - 1) / 2.0)
        shift_r = int(round(self.centre_[0] - at[0]))
        shift_c = int(round(self.centre_[1] - at[1]))
        canvas = np.zeros((h, w))
        # Paste the resized ink at the shift, cut off at the frame's edges.
        tr, tc = max(0, shift_r), max(0, shift_c)
        sr, sc = max(0, -shift_r), max(0, -shift_c)
        nr = min(h - tr, small.shape[0] - sr)
        nc = min(w - tc, small.shape[1] - sc)
        if nr > 0 and nc > 0:
            canvas[tr:tr + nr, tc:tc + nc] = small[sr:sr + nr, sc:sc + nc]
        return self.background_ + canvas * (self.ink_ - self.background_)
