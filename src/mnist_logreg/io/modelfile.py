"""Saving and loading the refit pipeline with skops: never pickle, bounded memory, only our pipelines.

A model file is a zip archive. Before skops reads anything, the archive's directory is checked (how
many members, their declared sizes, their compression ratio) and each member is inflated in bounded
chunks into a fresh, uncompressed archive: skops then reads only bytes we have counted, so a member
that inflates far beyond what it declares (a zip bomb) costs at most :data:`MAX_INFLATED_BYTES`.
Once loaded, the whole pipeline is checked (:func:`~mnist_logreg.io.modelcheck.check_pipeline`)
before it is used.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sklearn.pipeline import Pipeline

from .atomic import write_bytes
from ..errors import ModelFileError

__all__ = ["TRUSTED_TYPES", "MAX_MODEL_BYTES", "MAX_INFLATED_BYTES", "MAX_RATIO", "save_model", "load_model"]

#: Types of this package that a model file may hold, beyond what skops trusts by default
#: (scikit-learn estimators, numpy arrays and builtins).
TRUSTED_TYPES = [
    "mnist_logreg.predict.framing.ImageFraming",
    "mnist_logreg.preprocessing.PixelScaler",
    "mnist_logreg.estimators.MultinomialLogisticRegression",
]
#: Largest model file read, and the most its members may inflate to, all together (bytes).
MAX_MODEL_BYTES = 64 * 2**20
MAX_INFLATED_BYTES = 64 * 2**20
#: Largest inflated/compressed ratio of a member over 1 MiB (skops itself writes uncompressed files).
MAX_RATIO = 100
_MAX_MEMBERS = 10_000
_CHUNK = 2**20
_ALLOWED = "allowed a model.skops written by `mnist-logreg run`"


def save_model(pipeline: Pipeline, path) -> Path:
    """Write ``pipeline`` to ``path`` in skops format, atomically."""
    import skops.io as sio  # 1.3 s of imports (it loads most of scikit-learn), paid only when a model is saved

    return write_bytes(path, sio.dumps(pipeline))


def _bounded_archive(path: Path, data: bytes) -> bytes:
    """The archive's members re-packed uncompressed, after checking what they declare; ModelFileError if not."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise ModelFileError(f"model file {path}: not a skops file (pickle and other formats are never loaded); "
                             f"{_ALLOWED}") from None
    if len(members) > _MAX_MEMBERS:
        raise ModelFileError(f"model file {path}: {len(members)} archive members; allowed at most {_MAX_MEMBERS}")
    for m in members:
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"model file {path}: member {m.filename!r} uses compression method "
                                 f"{m.compress_type}; allowed stored or deflated")
        if m.file_size > _CHUNK and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise ModelFileError(f"model file {path}: member {m.filename!r} inflates {m.compress_size:,} bytes to "
                                 f"{m.file_size:,} (ratio {m.file_size / max(m.compress_size, 1):.0f}); "
                                 f"allowed a ratio of at most {MAX_RATIO}")
    total = sum(m.file_size for m in members)
    if total > MAX_INFLATED_BYTES:
        raise ModelFileError(f"model file {path}: its members declare {total:,} bytes inflated; "
                             f"allowed at most {MAX_INFLATED_BYTES:,}")
    if "schema.json" not in {m.filename for m in members}:
        raise ModelFileError(f"model file {path}: no schema.json, so not a skops file; {_ALLOWED}")
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as clean:
            for m in members:
                if m.is_dir():
                    continue
                # Reading in chunks stops at the declared size whatever the stream holds, and the CRC
                # is checked at its end: what skops reads next is exactly what was declared.
                parts, size = [], 0
                with archive.open(m) as member:
                    while chunk := member.read(_CHUNK):
                        size += len(chunk)
                        if size > m.file_size:
                            raise zipfile.BadZipFile(f"{m.filename} inflates beyond its declared size")
                        parts.append(chunk)
                clean.writestr(m.filename, b"".join(parts))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError) as error:
        raise ModelFileError(f"model file {path}: damaged archive ({' '.join(str(error).split())[:120]}); "
                             f"{_ALLOWED}") from None
    return out.getvalue()


def _detail(error: Exception) -> str:
    """``Type: message`` on one line, at most 120 characters of message."""
    message = " ".join(str(error).split())[:120]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def load_model(path) -> Pipeline:
    """Load and check a pipeline written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        If the file is missing, unreadable, too large, not a skops file, an archive whose members
        inflate beyond the caps, holds a type outside scikit-learn, numpy and
        :data:`TRUSTED_TYPES`, or is not the pipeline `mnist-logreg run` writes with sane settings.
    """
    import skops.io as sio

    from .modelcheck import check_pipeline

    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise ModelFileError(f"model file {path}: {what}; {_ALLOWED}")
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelFileError(f"model file {path}: {size:,} bytes; allowed at most {MAX_MODEL_BYTES:,}")
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"model file {path}: cannot be read ({error.strerror or error})") from None
    data = _bounded_archive(path, data)
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as error:  # skops raises many types on malformed archives
        raise ModelFileError(f"model file {path}: unreadable skops archive ({_detail(error)}); {_ALLOWED}") from None
    foreign = sorted(untrusted - set(TRUSTED_TYPES))
    if foreign:
        raise ModelFileError(f"model file {path}: holds types mnist-logreg does not trust ({', '.join(foreign[:5])}); "
                             "allowed only models written by `mnist-logreg run`")
    try:
        model = sio.loads(data, trusted=sorted(untrusted))
    except Exception as error:
        raise ModelFileError(f"model file {path}: cannot be loaded ({_detail(error)}); {_ALLOWED}") from None
    check_pipeline(model, path)
    return model
