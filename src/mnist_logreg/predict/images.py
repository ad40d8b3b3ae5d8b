"""Reading one picture file as grey levels: the formats we name, decided by content, bounded in memory.

PNG and JPEG go through Pillow, opened with only that decoder; ``.npy`` arrays through NumPy's own
header reader. Every size is checked from the header before anything is decoded, and large
pictures are decoded reduced (JPEG's DCT scaling via ``draft``) or reduced right after decoding, so
the memory a file can cost is bounded by :data:`MAX_PIXELS`, whatever its compressed size.
"""

from __future__ import annotations

import math
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

from ..data.npz import npy_declared_bytes
from ..errors import DataError

__all__ = ["FORMATS", "MAX_PIXELS", "MAX_RATIO", "MIN_SIDE", "WORK_SIDE", "read_image", "sniff_format"]

#: What we decode, by the file's first bytes (never by its name).
FORMATS = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff", "NPY": b"\x93NUMPY"}
#: Other formats we recognise only to name them in the refusal.
_OTHERS = {b"GIF8": "GIF", b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"BM": "BMP", b"%PDF": "PDF", b"PK\x03\x04": "ZIP",
           b"\x00\x00\x01\x00": "ICO", b"8BPS": "PSD"}
#: Largest picture decoded, in pixels (after JPEG's reduced decoding): 40 Mpx of RGBA is 160 MB.
MAX_PIXELS = 40_000_000
#: Smallest side, in pixels: below this there is nothing to frame.
MIN_SIDE = 8
#: Pictures are reduced (area averaging) until their longer side is at most this; ink is found there.
WORK_SIDE = 1024
#: Longest side over shortest side: reduced to :data:`WORK_SIDE`, a picture still keeps :data:`MIN_SIDE`
#: pixels on its shorter side (the reduction stops short of that, so its longer side stays below 2 * WORK_SIDE).
MAX_RATIO = WORK_SIDE // MIN_SIDE
_ALLOWED = "allowed PNG, JPEG or NPY images (decided by content)"


def sniff_format(head: bytes) -> str:
    """The format named by a file's first bytes: a key of :data:`FORMATS`, another name, or ``"unknown"``."""
    for name, magic in FORMATS.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _OTHERS.items():
        if head.startswith(magic):
            return name
    return "unknown"


def read_image(path) -> np.ndarray:
    """Read a picture file as grey levels in [0, 1], oriented as its EXIF says, with alpha composited.

    Parameters
    ----------
    path : str or Path
        A PNG, JPEG or ``.npy`` file; the format is read from the content.

    Returns
    -------
    ndarray of shape (height, width), float64
        At most :data:`WORK_SIDE` pixels on the longer side (larger pictures are area-reduced by a
        whole factor that keeps :data:`MIN_SIDE` pixels on the shorter side, so a picture as
        elongated as :data:`MAX_RATIO` may keep a longer side of up to 2 * WORK_SIDE).
        Colour is turned into luma; 16-bit pictures are scaled by their real bit depth; a
        transparent picture is composited on the background that contrasts with its opaque part,
        so a stroke drawn only in the alpha channel of a canvas export shows as ink.

    Raises
    ------
    DataError
        One line naming the file: missing, a folder, not a regular file (a FIFO, device or socket),
        empty, another format, too small, too large, too elongated, animated, truncated or otherwise
        undecodable.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise DataError(f"image {path}: is a folder; pass the folder to `predict` to read the images in it")
        if not stat.S_ISREG(mode):
            # Opening a FIFO waits for a writer, and a device or socket has no picture to read.
            raise DataError(f"image {path}: a {_file_kind(mode)}, not a regular file; allowed a regular file "
                            "holding a PNG, JPEG or NPY image")
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise DataError(f"image {path}: not found; {_ALLOWED}") from None
    except OSError as error:
        raise DataError(f"image {path}: cannot be read ({error.strerror or type(error).__name__})") from None
    if not head:
        raise DataError(f"image {path}: empty file (0 bytes); {_ALLOWED}")
    kind = sniff_format(head)
    if kind not in FORMATS:
        what = "not an image" if kind == "unknown" else f"a {kind} file"
        raise DataError(f"image {path}: content is {what}; {_ALLOWED}")
    try:
        if kind == "NPY":
            grey, alpha = _read_npy(path)
        else:
            grey, alpha = _read_pil(path, kind)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"image {path}: not enough memory to decode it; allowed at most {MAX_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        detail = " ".join(str(error).split())[:120] or type(error).__name__
        raise DataError(f"image {path}: cannot be decoded as {kind} ({detail}); {_ALLOWED}") from None
    return _composite(grey, alpha)


def _file_kind(mode: int) -> str:
    for test, name in [(stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")]:
        if test(mode):
            return name
    return "special file"


def _check_size(path, width: int, height: int, kind: str, max_pixels: int | None = MAX_PIXELS) -> None:
    """DataError unless the picture's own size (as its header states it) may be read."""
    if min(width, height) < MIN_SIDE:
        raise DataError(f"image {path}: {width} x {height} pixels (size ({height}, {width})); "
                        f"allowed at least {MIN_SIDE} pixels a side")
    if max(width, height) > MAX_RATIO * min(width, height):
        ratio = max(width, height) / min(width, height)
        raise DataError(f"image {path}: {width} x {height} pixels ({kind} header), sides in a ratio of "
                        f"{f'{ratio:,.0f}' if ratio >= 1000 else f'{ratio:.4g}'}:1; allowed at most {MAX_RATIO}:1")
    if max_pixels is not None and width * height > max_pixels:
        raise DataError(f"image {path}: {width} x {height} = {width * height:,} pixels ({kind} header); "
                        f"allowed at most {max_pixels:,} pixels")


def _reduction(width: int, height: int) -> int:
    """Integer factor that brings the longer side to at most :data:`WORK_SIDE`, keeping the shorter
    side at least :data:`MIN_SIDE` (within :data:`MAX_RATIO` the longer side then stays below 2 * WORK_SIDE)."""
    return max(1, min(math.ceil(max(width, height) / WORK_SIDE), min(width, height) // MIN_SIDE))


def _read_pil(path: Path, kind: str):
    if kind == "PNG":
        # Width and height sit in the IHDR chunk right after the signature: check them before Pillow.
        with open(path, "rb") as handle:
            head = handle.read(24)
        if len(head) == 24 and head[12:16] == b"IHDR":
            _check_size(path, int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"), kind)
    elif kind == "JPEG":
        # A JPEG is decoded reduced (below), so it may hold more than MAX_PIXELS, up to Pillow's own
        # decompression-bomb bound; its frame header states the size before anything is decoded.
        size, limit = _jpeg_size(path), Image.MAX_IMAGE_PIXELS
        if size is not None and limit and size[0] * size[1] > limit:
            width, height = size
            raise DataError(f"image {path}: {width} x {height} = {width * height:,} pixels (JPEG header); allowed "
                            f"at most {limit:,} pixels in a JPEG (decoded reduced to at most {MAX_PIXELS:,})")
    with warnings.catch_warnings():
        # Our own pixel cap is lower than Pillow's; its bomb warning only fires when we refuse anyway.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=[kind])
        except Image.DecompressionBombWarning:
            raise DataError(f"image {path}: header claims more than {Image.MAX_IMAGE_PIXELS:,} pixels; "
                            f"allowed at most {MAX_PIXELS:,} pixels") from None
        with image:
            # A multi-picture JPEG (MPO: a phone's gain map or depth map after the photo) is read as
            # its first, primary picture, the one Image.open selects and the header sizes describe;
            # the others are not pictures of the scene. A PNG with frames is an animation: refused.
            if image.format != "MPO" and (getattr(image, "n_frames", 1) > 1 or getattr(image, "is_animated", False)):
                raise DataError(f"image {path}: animated ({getattr(image, 'n_frames', '?')} frames); "
                                "allowed a still image")
            width, height = image.size
            # The picture's own size; a JPEG's pixel bound was checked above (it is decoded reduced).
            _check_size(path, width, height, kind, None if kind == "JPEG" else MAX_PIXELS)
            if kind == "JPEG":
                # DCT scaling: the decoder itself produces 1/2, 1/4 or 1/8 of the size, never the whole.
                k = _reduction(width, height)
                if k > 1:
                    image.draft(image.mode if image.mode in ("L", "RGB") else "RGB",
                                (math.ceil(width / k), math.ceil(height / k)))
                if image.width * image.height > MAX_PIXELS:
                    raise DataError(f"image {path}: {width} x {height} pixels (JPEG header) decode to "
                                    f"{image.width * image.height:,} pixels; allowed at most {MAX_PIXELS:,}")
            image.load()
            image = ImageOps.exif_transpose(image) or image
            return _pil_arrays(image)


def _jpeg_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's frame header, read by Pillow's own JPEG parser without its
    decompression-bomb check (which :func:`Image.open` applies before any size is known) and without
    decoding; ``None`` when the header cannot be parsed (``Image.open`` then says why)."""
    try:
        with JpegImagePlugin.JpegImageFile(path) as image:
            return image.size
    except (OSError, SyntaxError, ValueError, EOFError):
        return None


def _pil_arrays(image: Image.Image):
    """Grey in [0, 1] and alpha in [0, 1] (or None), area-reduced to the working size."""
    mode = image.mode
    depth = 65535.0 if mode.startswith("I;16") or mode == "I" else 255.0
    if mode.startswith("I;16"):
        image = image.convert("I")  # Pillow reduces 32-bit integers, not 16-bit ones; values are kept
    elif mode in ("P", "PA"):
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        image = image.convert("RGBA" if "A" in mode or "transparency" in image.info else "RGB")
        depth = 255.0
    k = _reduction(*image.size)
    if k > 1:
        image = image.reduce(k)  # area mean; RGBA and LA are averaged premultiplied
    bands = image.getbands()
    array = np.asarray(image, dtype=np.float32) / np.float32(depth)
    if array.ndim == 2:
        return array.astype(np.float64), None
    alpha = array[..., bands.index("A")] if "A" in bands else None
    if "R" in bands:
        grey = array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
    else:
        grey = array[..., 0]
    return grey.astype(np.float64), None if alpha is None else alpha.astype(np.float64)


def _read_npy(path: Path):
    """A (h, w) or (h, w, channels) numeric array; channels 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA."""
    with open(path, "rb") as handle:
        try:
            expected, dtype, shape = npy_declared_bytes(handle)
        except (ValueError, SyntaxError) as error:
            raise DataError(f"image {path}: not a readable .npy array ({' '.join(str(error).split())[:100]})") from None
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
            raise DataError(f"image {path}: .npy of dtype {dtype}; allowed a numeric (height, width) or "
                            "(height, width, channels) array")
        if not (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 2, 3, 4))):
            raise DataError(f"image {path}: .npy of shape {shape}; allowed (height, width) or "
                            "(height, width, channels) with 1-4 channels")
        height, width = shape[:2]
        _check_size(path, width, height, "NPY")
        available = path.stat().st_size - handle.tell()
        if available < expected:
            raise DataError(f"image {path}: .npy header promises {expected:,} bytes but the file holds {available:,}; "
                            "allowed a complete array")
        handle.seek(0)
        array = np.lib.format.read_array(handle, allow_pickle=False)
    if array.ndim == 2:
        array = array[..., None]
    if dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            raise DataError(f"image {path}: holds {int(array.size - finite.sum())} NaN or infinite values; "
                            "allowed finite grey levels")
    low, high = float(array.min()), float(array.max())
    if low < 0:
        raise DataError(f"image {path}: holds negative values (down to {low:g}); allowed grey levels >= 0")
    # The scale a number means: the dtype's own bit depth for unsigned integers, else what the values reach.
    if dtype.kind == "b" or (dtype.kind == "f" and high <= 1.0):
        depth = 1.0
    elif dtype == np.uint8 or high <= 255:
        depth = 255.0
    elif dtype == np.uint16 or (dtype.kind in "iu" and high <= 65535):
        depth = 65535.0
    else:
        raise DataError(f"image {path}: values up to {high:g}; allowed [0, 1], [0, 255] or 16-bit [0, 65535]")
    k = _reduction(width, height)
    if k > 1:
        array = array[: height // k * k, : width // k * k].reshape(height // k, k, width // k, k, -1).mean(axis=(1, 3))
    array = np.asarray(array, dtype=np.float64) / depth
    channels = array.shape[2]
    alpha = array[..., -1] if channels in (2, 4) else None
    grey = array[..., 0] if channels <= 2 else array[..., 0] * 0.299 + array[..., 1] * 0.587 + array[..., 2] * 0.114
    return grey, alpha


def _composite(grey: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Grey composited over a plain background; the background contrasts with the opaque content.

    A canvas export often draws black (or white) strokes whose shape is only in the alpha channel:
    on a background of the same colour they would vanish, so the background is white under dark
    content and black under light content.
    """
    if alpha is None or alpha.min() >= 1.0:
        return np.clip(grey, 0.0, 1.0)
    alpha = np.clip(alpha, 0.0, 1.0)
    weight = alpha.sum()
    content = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
    background = 1.0 if content < 0.5 else 0.0
    # Reduced RGBA came back un-premultiplied; composite: a * colour + (1 - a) * background.
    return np.clip(alpha * grey + (1.0 - alpha) * background, 0.0, 1.0)
