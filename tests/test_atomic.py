"""Atomic writes: all or nothing, with the permissions a plain ``open`` gives, and no umask games."""

import os
import stat
import subprocess
import sys

import pytest

from mnist_logreg.io.atomic import naming, write_bytes, write_text


def test_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_bytes(target, "not bytes")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_files_get_the_permissions_of_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_text(tmp_path / "ours.txt", "x")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "ours.txt").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)


def test_importing_the_package_never_touches_the_umask():
    """No state changed at import: os.umask is never called while every module is imported."""
    code = (
        "import os, pkgutil, importlib\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda m: calls.append(m) or real(m)\n"
        "import mnist_logreg\n"
        "for m in pkgutil.walk_packages(mnist_logreg.__path__, 'mnist_logreg.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "assert calls == [], calls\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_a_full_disk_is_reported_with_the_file_it_was_writing(tmp_path, monkeypatch):
    """ENOSPC comes from a write on an open descriptor, without a file name; the user's one line
    said 'a file: No space left on device'."""
    import errno

    from mnist_logreg.errors import one_line_os_error

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "results.csv"
    with pytest.raises(OSError) as caught:
        write_text(target, "a,b\n")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(target)
    assert one_line_os_error(caught.value).startswith(f"{target}: No space left on device; the disk is full")
    assert not list(tmp_path.iterdir())  # no temporary left behind

    # The same for results.csv, appended to in place as rows finish.
    with pytest.raises(OSError) as caught, naming(target):
        full(0)
    assert caught.value.filename == str(target)
