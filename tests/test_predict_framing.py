"""Pictures framed like the training images: real test digits photographed on paper, and
Fashion-MNIST items, labelled or framed as the model's own training images.

The photographs are made here, from real t10k digits, with generators and parameters kept apart
from those used to tune the framing (a colour page with a gradient and a vignette, coloured ink,
specks, Lanczos scaling, Gaussian blur, JPEG).
"""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mnist_logreg.data import read_idx
from mnist_logreg.io.modelfile import load_model
from mnist_logreg.predict import ImageFraming, label_images, read_image

EXE = shutil.which("mnist-logreg", path=str(Path(sys.executable).parent)) or "mnist-logreg"
FASHION = Path("/usr/share/datasets/fashion-mnist")
TRAIN = 1500
HELD_OUT = slice(6000, 6150)  # never among the 2,500 digits the model's data set holds


@pytest.fixture(scope="module")
def digits(t10k_dir):
    images = read_idx(t10k_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(t10k_dir / "t10k-labels-idx1-ubyte.gz")
    return images, labels


@pytest.fixture(scope="module")
def model_path(digits, tmp_path_factory):
    """`mnist-logreg run --refit train` on the first 1500 t10k digits (pre-split npz: those and no others)."""
    images, labels = digits
    folder = tmp_path_factory.mktemp("framing-model")
    data = folder / "first2500.npz"
    np.savez(data, X_train=images[:TRAIN].reshape(TRAIN, -1), y_train=labels[:TRAIN],
             X_test=images[TRAIN:2500].reshape(1000, -1), y_test=labels[TRAIN:2500])
    result = subprocess.run([EXE, "run", "--dataset", f"npz:{data}", "--penalties", "l2", "--C", "0.01,0.1",
                             "--refit", "train", "--no-report", "--quiet", "--out", str(folder / "run")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return folder / "run" / "model.skops"


def photograph(image, rng, layout):
    """A 28x28 light-on-dark image as a JPEG photo of dark coloured ink on an uneven colour page."""
    if layout == "wide":
        height = int(rng.integers(90, 260))
        width = int(height * rng.uniform(1.8, 3.5))
    else:
        width = int(rng.integers(80, 220))
        height = int(width * rng.uniform(1.4, 2.2))
    rows, cols = np.flatnonzero(image.max(axis=1) > 0), np.flatnonzero(image.max(axis=0) > 0)
    crop = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    # The box covers 1/3 to 2/3 of the frame's height, and fits its width with some room.
    scale = min(rng.uniform(1 / 3, 2 / 3) * height / crop.shape[0], 0.8 * width / crop.shape[1])
    size = (max(2, round(crop.shape[1] * scale)), max(2, round(crop.shape[0] * scale)))
    ink = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), dtype=float).clip(0, 255) / 255
    if layout == "wide":
        top, left = int(rng.integers(0, height - size[1] + 1)), int(rng.integers(0, width - size[0] + 1))
    else:
        top, left = (height - size[1]) // 2, (width - size[0]) // 2
    canvas = np.zeros((height, width))
    canvas[top:top + size[1], left:left + size[0]] = ink
    canvas = ndimage.gaussian_filter(canvas, rng.uniform(0.3, 1.2) * max(1.0, scale / 4))
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0.08, 0.22) * (np.cos(angle) * x + np.sin(angle) * y - 0.5)
    light -= rng.uniform(0.0, 0.25) * ((x - x.mean()) ** 2 + (y - y.mean()) ** 2)
    paper = rng.uniform(0.75, 0.95, size=3) * rng.uniform(0.8, 1.0)
    pen = rng.uniform(0.05, 0.35, size=3)
    picture = (paper * (1 - canvas[..., None]) + pen * canvas[..., None]) * light[..., None]
    picture += rng.normal(0, rng.uniform(0.01, 0.035), picture.shape)
    for _ in range(int(rng.integers(0, 4))):  # specks of dust, smaller than a stroke
        r, c = int(rng.integers(0, height - 2)), int(rng.integers(0, width - 2))
        picture[r:r + 2, c:c + 2] *= 0.4
    buffer = io.BytesIO()
    Image.fromarray((picture.clip(0, 1) * 255).astype(np.uint8)).save(buffer, "JPEG",
                                                                         quality=int(rng.integers(40, 80)))
    return buffer.getvalue()


def test_photographed_digits_are_labelled_like_plain_ones(model_path, digits, tmp_path):
    images, labels = digits
    rng = np.random.default_rng(2026)
    ids = np.arange(10_000)[HELD_OUT]
    files = {"plain": [], "wide": [], "tall": []}
    for i in ids:
        plain = tmp_path / f"plain-{i}.png"
        Image.fromarray(images[i]).save(plain)
        files["plain"].append(plain)
        for layout in ("wide", "tall"):
            path = tmp_path / f"{layout}-{i}.jpg"
            path.write_bytes(photograph(images[i], rng, layout))
            files[layout].append(path)
    model = load_model(model_path)
    truth = labels[ids]
    accuracy = {}
    for layout, paths in files.items():
        results = label_images(model, paths, top=1)
        assert not [r.error for r in results if r.error]
        accuracy[layout] = np.mean(np.array([r.label for r in results]) == truth)
    # Before framing, a plain 28x28 file went to the model as it was: its rows, unchanged.
    before = np.mean(model.predict(images[ids].reshape(len(ids), -1)) == truth)
    assert accuracy["wide"] >= 0.8 and accuracy["tall"] >= 0.8, accuracy
    assert accuracy["plain"] >= before, (accuracy, before)


def test_the_model_file_holds_the_framing_of_its_training_digits(model_path):
    framing = load_model(model_path).named_steps["framing"]
    # MNIST: boxes fitted into 20x20 keeping the aspect, centre of mass at the centre of 28x28.
    assert framing.box_rule_ == "fit" and 19 <= framing.box_long_ <= 20
    assert framing.anchor_ == "mass" and np.allclose(framing.centre_, (13.5, 13.5), atol=0.7)
    assert framing.background_ == 0 and framing.ink_ == 255


def _box(image, level=0.3):
    """(top, bottom, left, right) of pixels above ``level`` of the image's maximum (recomputed here)."""
    on = image >= level * image.max()
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def test_photographed_fashion_items_are_framed_like_the_training_items(tmp_path):
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"Fashion-MNIST not installed at {FASHION} (apt-get install dataset-fashion-mnist)")
    train = read_idx(FASHION / "train-images-idx3-ubyte.gz")[:3000]
    items = read_idx(FASHION / "t10k-images-idx3-ubyte.gz")[:60]
    framing = ImageFraming(image_shape=(28, 28)).fit(train.reshape(len(train), -1))
    assert framing.box_long_ >= 26 and framing.anchor_ == "box"  # items fill the frame, boxes centred
    rng = np.random.default_rng(7)
    long_error, centre_error, correlation = [], [], []
    for k, item in enumerate(items):
        path = tmp_path / f"item-{k}.jpg"
        path.write_bytes(photograph(item, rng, "wide" if k % 2 else "tall"))
        framed = framing.frame(read_image(path))
        t0, b0, l0, r0 = _box(item.astype(float))
        t1, b1, l1, r1 = _box(framed)
        long_error.append(max(b1 - t1, r1 - l1) - max(b0 - t0, r0 - l0))
        centre_error.append(np.hypot((t1 + b1 - t0 - b0) / 2, (l1 + r1 - l0 - r0) / 2))
        correlation.append(np.corrcoef(framed.ravel(), item.ravel().astype(float))[0, 1])
    assert np.median(np.abs(long_error)) <= 1.5, long_error
    assert np.median(centre_error) <= 1.5, centre_error
    assert np.median(correlation) >= 0.8, np.median(correlation)


def _twins(image, folder: Path, i: int) -> dict:
    """One digit written as files that must all read as the same picture."""
    files = {}
    files["8-bit"] = folder / f"{i}-8bit.png"
    Image.fromarray(image).save(files["8-bit"])
    files["16-bit"] = folder / f"{i}-16bit.png"
    Image.fromarray(image.astype(np.uint16) * 257).save(files["16-bit"])
    files["16-bit dark on light"] = folder / f"{i}-16bit-inverted.png"
    Image.fromarray((255 - image).astype(np.uint16) * 257).save(files["16-bit dark on light"])
    # A canvas export: every pixel black, the stroke only in the alpha channel.
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., 3] = image
    files["alpha only"] = folder / f"{i}-alpha.png"
    Image.fromarray(rgba, "RGBA").save(files["alpha only"])
    files["palette"] = folder / f"{i}-palette.png"
    Image.fromarray(image).convert("P").save(files["palette"])
    files["16-bit npy"] = folder / f"{i}-16bit.npy"
    np.save(files["16-bit npy"], image.astype(np.uint16) * 257)
    files["float npy"] = folder / f"{i}-float.npy"
    np.save(files["float npy"], image.astype(np.float32) / 255)
    return files


def test_16_bit_alpha_and_palette_digits_are_labelled_like_their_8_bit_twins(model_path, digits, tmp_path):
    images, _ = digits
    model = load_model(model_path)
    ids = range(7000, 7040)
    by_kind = {}
    for i in ids:
        for kind, path in _twins(images[i], tmp_path, i).items():
            by_kind.setdefault(kind, []).append(path)
    labels = {kind: [r.label for r in label_images(model, paths, top=1)] for kind, paths in by_kind.items()}
    for kind, got in labels.items():
        assert got == labels["8-bit"], kind
    # And the 8-bit twins are labelled as the model labels the plain rows.
    rows = images[list(ids)].reshape(len(ids), -1)
    assert np.mean(np.array(labels["8-bit"]) == model.predict(rows)) >= 0.95


def test_exif_orientation_is_applied(model_path, digits, tmp_path):
    images, _ = digits
    model = load_model(model_path)
    upright, turned = [], []
    for i in range(7100, 7120):
        picture = Image.fromarray(255 - images[i]).resize((112, 112), Image.Resampling.BICUBIC)
        upright.append(tmp_path / f"{i}-upright.jpg")
        picture.save(upright[-1], quality=95)
        # Stored turned a quarter, with orientation 6 ("rotate 90 degrees clockwise to display").
        exif = Image.Exif()
        exif[0x0112] = 6
        turned.append(tmp_path / f"{i}-turned.jpg")
        picture.transpose(Image.Transpose.ROTATE_90).save(turned[-1], quality=95, exif=exif)
    first = [r.label for r in label_images(model, upright, top=1)]
    second = [r.label for r in label_images(model, turned, top=1)]
    assert np.mean(np.array(first) == np.array(second)) >= 0.95


def test_tightly_cropped_bold_digits_are_labelled_like_their_padded_twins(model_path, digits, tmp_path):
    """A crop to the ink's box leaves ink on every side and half the pixels stroke edges: the noise
    estimate must not read those edges as noise and the picture as blank (QA: a clear 8 was refused)."""
    images, labels = digits
    model = load_model(model_path)
    ids = np.arange(10_000)[HELD_OUT][:40]
    tight, padded = [], []
    for i in ids:
        rows, cols = np.flatnonzero(images[i].max(axis=1) > 0), np.flatnonzero(images[i].max(axis=0) > 0)
        crop = images[i][rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        for folder, picture in ((tight, crop), (padded, np.pad(crop, 4))):
            path = tmp_path / f"{'tight' if folder is tight else 'padded'}-{i}.png"
            Image.fromarray(picture).save(path)
            folder.append(path)
    tight_results, padded_results = label_images(model, tight, top=1), label_images(model, padded, top=1)
    assert not [r.error for r in tight_results if r.error]
    agree = np.mean([a.label == b.label for a, b in zip(tight_results, padded_results)])
    assert agree >= 0.95, agree
    # 6049 is the bold 8 QA found refused: about half its crop is ink
    i = 6049
    rows, cols = np.flatnonzero(images[i].max(axis=1) > 0), np.flatnonzero(images[i].max(axis=0) > 0)
    path = tmp_path / "bold-8.png"
    Image.fromarray(images[i][rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]).save(path)
    (result,) = label_images(model, [path], top=1)
    assert result.error is None and str(result.label) == str(labels[i])


def test_without_framing_a_picture_of_a_training_image_gets_the_models_own_label(digits, tmp_path):
    """Crops framed in no consistent way (QA: 20 x 12 cuts of the t10k digits): re-framing moved the
    pictures and agreed with the model on 70 % of them; taken as they are, every picture saved from
    an array is labelled as the model labels the array, and another shape is one error line."""
    images, labels = digits
    crops = images[:, 4:24, 8:20]
    data = tmp_path / "crops.npz"
    np.savez(data, X=crops[:1500], y=labels[:1500])
    run = subprocess.run([EXE, "run", "--dataset", f"npz:{data}", "--train-size", "1000", "--test-size", "500",
                          "--penalties", "l2", "--C", "0.1", "--refit", "train", "--no-report", "--quiet",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    model = load_model(tmp_path / "run" / "model.skops")
    ids = np.arange(10_000)[HELD_OUT][:60]
    paths = []
    for i in ids:
        paths.append(tmp_path / f"crop-{i}.png")
        Image.fromarray(crops[i]).save(paths[-1])
    wrong = tmp_path / "wrong-shape.png"
    Image.fromarray(images[ids[0]]).save(wrong)
    results = label_images(model, paths + [wrong], top=1, frame=False)
    expected = model.predict(crops[ids].reshape(len(ids), -1))
    assert [r.label for r in results[:-1]] == [type(r.label)(e) for r, e in zip(results, expected)]
    assert results[-1].error is not None and "28 x 28 pixels" in results[-1].error and "20 x 12" in results[-1].error
    # the command's --no-frame is the same
    cli = subprocess.run([EXE, "predict", str(tmp_path / "run" / "model.skops"), "--no-frame", "--csv",
                          *map(str, paths[:5])], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert [line.split(",")[1] for line in cli.stdout.splitlines()[1:]] == [str(r.label) for r in results[:5]]
