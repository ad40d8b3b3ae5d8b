"""Model files: only the pipeline `mnist-logreg run` writes, with sane settings, loads; bombs are refused
with bounded memory. Through the installed command."""

import copy
import io
import struct
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.svm import SVC

from mnist_logreg.io.modelfile import load_model
from mnist_logreg.preprocessing import PixelScaler

from cli_helpers import GIB, run_cli, run_measured
from test_predict_cli import error_lines


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("modelfile") / "run"
    result = run_cli("run", "--dataset", "digits", "--penalties", "l2", "--C", "1", "--train-size", "400",
                     "--test-size", "200", "--no-report", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    np.save(out / "digit.npy", np.kron(np.eye(8)[::-1] * 255, np.ones((4, 4))))
    return out


def _refused(run_folder, model_path, *needles, measure=False):
    if measure:
        result, peak = run_measured("predict", model_path, run_folder / "digit.npy")
        assert peak < GIB, peak
    else:
        result = run_cli("predict", model_path, run_folder / "digit.npy")
    lines = error_lines(result)
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    for needle in (str(model_path), *needles):
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_the_model_run_writes_is_accepted(run_folder):
    result = run_cli("predict", run_folder / "model.skops", run_folder / "digit.npy")
    assert result.returncode == 0, result.stderr


def test_a_pixel_scaler_with_another_classifier_is_refused(run_folder, tmp_path):
    model = load_model(run_folder / "model.skops")
    X = np.random.default_rng(0).random((20, 64))
    y = np.arange(20) % 2
    svc = SVC().fit(X, y)
    for name, steps in [("scaler-svc", [("pixels", model.named_steps["pixels"]), ("logreg", svc)]),
                        ("ours-svc", model.steps[:-1] + [("logreg", svc)])]:
        path = tmp_path / f"{name}.skops"
        sio.dump(type(model)(steps), path)
        _refused(run_folder, path, "SVC")


@pytest.mark.parametrize("change, needle", [
    (lambda m: setattr(m.named_steps["pixels"], "factor", float("nan")), "pixels.factor"),
    (lambda m: setattr(m.named_steps["pixels"], "factor", -1.0), "pixels.factor"),
    (lambda m: setattr(m.named_steps["pixels"], "image_shape", (0, 64)), "pixels.image_shape"),
    (lambda m: setattr(m.named_steps["pixels"], "image_shape", ("8", "8")), "pixels.image_shape"),
    (lambda m: setattr(m.named_steps["framing"], "centre_", (1e9, 3.0)), "framing.centre_"),
    (lambda m: setattr(m.named_steps["framing"], "ink_", m.named_steps["framing"].background_), "framing.ink_"),
    (lambda m: setattr(m.named_steps["framing"], "stroke_", 7.0), "framing.stroke_"),
    (lambda m: setattr(m.named_steps["framing"], "stroke_", "wide"), "framing.stroke_"),
    (lambda m: setattr(m.named_steps["logreg"], "classes_", np.zeros(10, dtype=int)), "repeats a label"),
    (lambda m: setattr(m.named_steps["logreg"], "classes_", np.arange(1)), "logreg.classes_"),
    (lambda m: setattr(m.named_steps["logreg"], "coef_", np.zeros((10, 63))), "logreg.coef_"),
    (lambda m: setattr(m.named_steps["logreg"], "intercept_", np.full(10, np.inf)), "logreg.intercept_"),
    (lambda m: m.steps.pop(0), "older mnist-logreg"),
])
def test_bad_settings_are_refused_naming_the_setting(run_folder, tmp_path, change, needle):
    model = copy.deepcopy(load_model(run_folder / "model.skops"))
    change(model)
    path = tmp_path / "bad.skops"
    sio.dump(model, path)
    _refused(run_folder, path, needle)


def test_a_40000_square_image_shape_is_refused_without_allocating(run_folder, tmp_path):
    model = load_model(run_folder / "model.skops")
    for name in ("framing", "pixels"):
        model.named_steps[name].image_shape = (40000, 40000)
    path = tmp_path / "huge-shape.skops"
    sio.dump(model, path)
    _refused(run_folder, path, "(40000, 40000)", measure=True)


def test_a_member_that_inflates_to_640_mib_is_refused_before_skops_reads_it(run_folder, tmp_path):
    path = tmp_path / "bomb.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("schema.json", "w", force_zip64=True) as member:
            member.write(b'{"__class__": "Pipeline", "pad": "')
            block = b" " * 2**20
            for _ in range(640):
                member.write(block)
            member.write(b'"}')
    assert path.stat().st_size < 2 * 2**20
    _refused(run_folder, path, "schema.json", measure=True)


def test_a_member_that_lies_about_its_size_is_refused(run_folder, tmp_path):
    """A member declaring 1,000 bytes that inflates to 64 MiB: only the declared bytes are ever read."""
    path = tmp_path / "liar.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"{" + b" " * (64 * 2**20) + b"}")
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    path.write_bytes(bytes(data))
    _refused(run_folder, path, "damaged", measure=True)


def test_pickle_is_never_loaded_even_with_a_skops_name(run_folder, tmp_path):
    import pickle

    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(PixelScaler()))
    _refused(run_folder, path, "pickle")


def _rewritten(source, path, change):
    """A copy of the archive ``source`` at ``path``, each member's bytes passed through ``change(name, data)``
    (None leaves the member out)."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            data = change(name, data)
            if data is not None:
                archive.writestr(name, data)
    return path


def _object_array(name, data):
    if not name.endswith(".npy"):
        return data
    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("name, change, needle", [
    ("bad-json", lambda name, data: b"{not json" if name == "schema.json" else data,
     "unreadable skops archive (JSONDecodeError: "),
    ("missing-member", lambda name, data: data if name == "schema.json" else None,
     "unreadable skops archive (KeyError: "),
    ("object-array", _object_array, "cannot be loaded (ValueError: Object arrays cannot be loaded"),
])
def test_a_damaged_skops_archive_says_what_is_allowed(run_folder, tmp_path, name, change, needle):
    path = _rewritten(run_folder / "model.skops", tmp_path / f"{name}.skops", change)
    line = _refused(run_folder, path, needle)
    assert line.endswith("; allowed a model.skops written by `mnist-logreg run`"), line
