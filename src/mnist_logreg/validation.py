"""Checks that need more than one option, the environment or the file system, run before any data
is loaded or any folder is made.

:meth:`RunConfig.validate <mnist_logreg.config.RunConfig.validate>` runs each field's own check and
then :func:`check_run_config`. Every failure is a :class:`~mnist_logreg.errors.UsageError` (exit 2)
naming the option or environment variable, what was received and what is allowed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Collection

from .errors import UsageError

__all__ = ["check_run_config", "check_out_path", "check_folds", "path_problem", "DEFAULT_RUNS"]

#: Where runs go without ``--out``: ``runs/<UTC timestamp>``.
DEFAULT_RUNS = Path("runs")


def check_run_config(config, given: Collection[str]) -> None:
    """The checks of a :class:`RunConfig` that involve several options, the environment or paths.

    Parameters
    ----------
    config : RunConfig
        Each field already passed its own check.
    given : collection of str
        The fields the user set explicitly.
    """
    from .limits import memory_cap

    if config.force and config.resume:
        raise UsageError("--force and --resume: received both; allowed one of them")
    if config.resume and config.out is None:
        # Without --out a run names a new runs/<UTC time>: there is nothing there to resume.
        raise UsageError("--resume: received no --out; allowed --resume only with --out DIR naming the "
                         "interrupted run's folder (and that run's options)")
    _check_l1_ratios(config, given)
    _check_cv_is_used(config, given)
    _check_sizes(config)
    memory_cap()  # a malformed MNIST_LOGREG_MAX_MEMORY is refused now, not after loading
    # The file system last, once every option is known to be well formed.
    check_out_path(config.out, resume=config.resume)
    from .data import check_dataset_spec

    check_dataset_spec(config.dataset)


def _check_cv_is_used(config, given) -> None:
    """``--cv`` given without ``--select-by roc_auc_cv`` would be silently ignored (no fold is run):
    refuse it, as ``--l1-ratios`` is refused when no chosen penalty uses it."""
    if "cv" in given and config.select_by != "roc_auc_cv":
        raise UsageError(f"--cv: received {config.cv} but --select-by is {config.select_by}, which runs no "
                         "cross-validation; allowed only with --select-by roc_auc_cv")


def _check_l1_ratios(config, given) -> None:
    """``--l1-ratios`` without a penalty that mixes L1 and L2 would be silently ignored: refuse it.

    Whether a penalty uses the ratios is read off the grid itself (two different ratios give two
    different grids), so no penalty name is spelled here.
    """
    if "l1_ratios" not in given:
        return
    from .plan.grid import make_grid

    if make_grid(config.penalties, "1", "0.25") == make_grid(config.penalties, "1", "0.75"):
        raise UsageError(f"--l1-ratios: received {config.l1_ratios!r} but none of --penalties {config.penalties} "
                         "mixes a sparse part and L2; allowed only with a penalty that uses it (elasticnet, group)")


def _check_sizes(config) -> None:
    """What can be said about the sizes before the data is seen."""
    from .choices import parse_size

    train, test = parse_size(config.train_size, "--train-size"), parse_size(config.test_size, "--test-size")
    if isinstance(train, float) and isinstance(test, float) and train + test > 1:
        raise UsageError(f"--train-size and --test-size: received fractions {train} and {test} summing to "
                         f"{train + test:g}; allowed a sum of at most 1")
    if config.select_by == "roc_auc_cv" and isinstance(train, int) and config.cv > train:
        raise UsageError(f"--cv: received {config.cv} folds for --train-size {train}; allowed at most as many "
                         "folds as training images (and at least as many images of each class as folds)")


def path_problem(path: Path) -> str | None:
    """Why a folder cannot be used (or made) at ``path``, in words; ``None`` when it can.

    Follows the path the way a later ``mkdir``/``open`` would, but only reads: a symbolic link that
    loops or leads nowhere, a file where a folder is needed (at ``path`` or above it), and a
    folder that cannot be written (read-only file system or permissions) are named.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        return _os_words(error, path)
    if info is not None and stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
            os.stat(path)
        except FileNotFoundError:
            return f"is a symbolic link to {target}, which does not exist"
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "is a symbolic link that loops back on itself"
            return _os_words(error, path)
        info = os.stat(path)
    if info is not None:
        if not stat.S_ISDIR(info.st_mode):
            return "exists and is not a folder"
        if not os.access(path, os.W_OK | os.X_OK):
            return "is a folder that cannot be written (read-only or permission denied)"
        return None
    # Not there yet: the nearest existing ancestor must be a folder we can write into.
    parent = path.absolute().parent
    while True:
        try:
            info = os.stat(parent)
            break
        except FileNotFoundError:
            if parent == parent.parent:
                return "cannot be created (no existing folder above it)"
            parent = parent.parent
        except OSError as error:
            return f"cannot be created: {_os_words(error, parent)}"
    if not stat.S_ISDIR(info.st_mode):
        return f"cannot be created: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} cannot be written (read-only or permission denied)"
    return None


def _os_words(error: OSError, path) -> str:
    if error.errno == errno.ELOOP:
        return f"cannot be followed: a symbolic link on the way to {path} loops"
    if error.errno == errno.ENOTDIR:
        return "cannot be used: a part of the path above it is a file, not a folder"
    return f"cannot be used ({error.strerror or error})"


def check_out_path(out, *, resume: bool = False) -> None:
    """``--out`` must name a folder that exists or can be made, and that we can write into.

    ``None`` is the default ``runs/<UTC timestamp>``; an empty text is refused rather than
    quietly becoming the default.
    """
    if out is None:
        problem = path_problem(DEFAULT_RUNS)
        if problem:
            raise UsageError(f"--out: not given, so runs go to {DEFAULT_RUNS}/<UTC time>, but {DEFAULT_RUNS} {problem}; "
                             "allowed a writable folder: pass --out DIR")
        return
    text = os.fspath(out) if isinstance(out, os.PathLike) else out
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"--out: received {text!r}; allowed a folder path (omit --out for runs/<UTC time>)")
    path = Path(text).expanduser()
    problem = path_problem(path)
    if problem:
        raise UsageError(f"--out: {path} {problem}; allowed a new or existing folder that can be written")
    for name in ("figures", ".partial"):
        inside = path / name
        if inside.is_symlink():
            raise UsageError(f"--out: {inside} is a symbolic link; allowed a real folder there (our files are "
                             "never written through a link out of the run folder): remove the link or choose "
                             "another --out")


def check_folds(split, cv: int) -> None:
    """``--cv`` folds need at least ``cv`` training images of every class (known once the data is
    split, still before any folder is made)."""
    import numpy as np

    counts = np.bincount(split.y_train_codes, minlength=split.n_classes)
    if counts.min() < cv:
        fewest = int(counts.min())
        label = split.classes[int(counts.argmin())]
        label = label.item() if hasattr(label, "item") else label
        if fewest < 2:  # no --cv can help: folds need two images of every class
            raise UsageError(f"--cv: received {cv} folds, but the training set has only {fewest} image of class "
                             f"{label!r} and cross-validation needs at least 2 of every class; allowed a larger "
                             "--train-size, or --select-by roc_auc_test (no folds)")
        raise UsageError(f"--cv: received {cv} folds but the training set has only {fewest} image(s) of "
                         f"class {label!r}; allowed at most {fewest} folds here (or a larger --train-size)")
