"""QA 9: an --out folder the system will not create is a usage error naming --out, the path and why."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from cli_helpers import QUICK, assert_one_line_error, run_cli

from mnist_logreg.errors import UsageError
from mnist_logreg.io.store import RunFolder

DIGITS = ["--dataset", "digits", "--train-size", "300", "--test-size", "200"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_under_proc_is_a_usage_error_naming_out(tmp_path):
    # /proc lets root pass every permission check but creates nothing; others are refused up front.
    result = run_cli("run", *DIGITS, *QUICK, "--out", "/proc/x", cwd=tmp_path)
    line = assert_one_line_error(result, 2, "--out", "/proc/x")
    assert "cannot" in line and "readable input" not in line, line


@pytest.mark.parametrize("default", [False, True])
def test_a_folder_that_cannot_be_made_names_out_and_the_reason(tmp_path, monkeypatch, default):
    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.chdir(tmp_path)
    folder = RunFolder.prepare(None if default else tmp_path / "out")
    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(UsageError, match=r"^--out: \S+ cannot be created \(Read-only file system\); allowed ") as refused:
        folder.start()
    assert refused.value.exit_code == 2
    assert ("runs" if default else str(tmp_path / "out")) in str(refused.value)
