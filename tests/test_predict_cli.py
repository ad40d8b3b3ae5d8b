"""`mnist-logreg predict` through the installed command (and the Python API it is thin over): inputs,
outputs, and bad pictures."""

import csv
import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from cli_helpers import GIB, run_cli, run_measured


def error_lines(result):
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict-cli") / "run"
    result = run_cli("run", "--dataset", "digits", "--penalties", "l2", "--C", "1", "--train-size", "600",
                     "--test-size", "300", "--no-report", "--quiet", "--out", out)
    assert result.returncode == 0, result.stderr
    return out / "model.skops"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Eight scikit-learn digits as 64x64 PNGs, dark on light, and their labels."""
    folder = tmp_path_factory.mktemp("pictures")
    digits = load_digits()
    files = []
    for k in range(8):
        image = (255 - digits.images[1000 + k] * 255 / 16).astype(np.uint8)
        files.append(folder / f"digit-{k}.png")
        Image.fromarray(image).resize((64, 64), Image.Resampling.BILINEAR).save(files[-1])
    return files, digits.target[1000:1008]


def _png(path: Path, width: int, height: int, rows) -> Path:
    """A greyscale PNG written row by row (``rows(y)`` gives bytes), never held whole in memory."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(b"\x00" + rows(y)) for y in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def test_files_folders_and_patterns_with_text_json_and_csv(model, pictures):
    files, labels = pictures
    folder = files[0].parent
    text = run_cli("predict", model, files[0], folder, str(folder / "digit-[67].png"))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 1 + 8 + 2 and lines[0].startswith(f"{files[0]}: ")
    as_json = run_cli("predict", model, folder, "--json", "--top", "2")
    assert as_json.returncode == 0, as_json.stderr
    results = json.loads(as_json.stdout)
    assert [r["file"] for r in results] == [str(f) for f in files]
    assert all(r["error"] is None and len(r["probabilities"]) == 2 for r in results)
    assert np.mean(np.array([r["label"] for r in results]) == labels) >= 0.75
    as_csv = run_cli("predict", model, folder, "--csv", "--top", "3")
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(table[0]) == ["file", "label", "probability", "label_2", "probability_2", "label_3",
                              "probability_3", "error"]
    assert [row["label"] for row in table] == [str(r["label"]) for r in results]
    assert all(float(row["probability"]) >= float(row["probability_2"]) for row in table)


def test_options_are_checked_before_any_work(model, pictures, tmp_path):
    files, _ = pictures
    for args, needle in [(("--top", "0"), "--top"), (("--json", "--csv"), "--csv"),
                         (("--show", tmp_path / "sheet.jpg"), "--show"),
                         (("--show", tmp_path / "missing" / "sheet.png"), "--show"),
                         # a folder that looks writable but takes no new file: refused before labelling
                         (("--show", "/proc/sheet.png"), "--show: received '/proc/sheet.png'")]:
        result = run_cli("predict", model, files[0], *args)
        assert result.returncode == 2 and needle in result.stderr and len(error_lines(result)) == 1, args
        assert result.stdout == "" and "--out" not in result.stderr, args


def test_show_writes_one_sheet_of_what_the_model_saw(model, pictures, tmp_path):
    files, _ = pictures
    sheet = tmp_path / "sheet.png"
    result = run_cli("predict", model, *files, "--show", sheet)
    assert result.returncode == 0, result.stderr
    with Image.open(sheet) as image:
        assert image.format == "PNG" and image.width >= 8 * 100 and image.height >= 100


def test_a_sheet_of_more_than_200_pictures_says_it_shows_the_first_200(model, pictures, tmp_path):
    files, _ = pictures
    sheet = tmp_path / "sheet.png"
    result = run_cli("predict", model, *(files * 26), "--show", sheet)  # 208 pictures
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"sheet: {sheet} (the first 200 of 208 labelled pictures; "
                                          "a sheet holds at most 200)"]
    assert len(result.stdout.splitlines()) == 208
    with Image.open(sheet) as image:  # 10 columns, 20 rows of 1.6 x 1.9 inches at 100 dpi
        assert (image.width, image.height) == (1600, 3800)
    few = run_cli("predict", model, *files, "--show", sheet)
    assert few.returncode == 0 and few.stderr.splitlines() == [f"sheet: {sheet}"]


def test_the_api_keeps_only_the_framed_pictures_asked_for(model, pictures):
    from mnist_logreg.io.modelfile import load_model
    from mnist_logreg.predict import label_images

    files, _ = pictures
    results = label_images(load_model(model), files, keep_framed=3)
    assert [r.framed is not None for r in results] == [True] * 3 + [False] * 5
    assert all(r.framed is not None for r in label_images(load_model(model), files, keep_framed=True))


def test_a_sheet_with_nothing_to_show_says_so_inside_its_borders():
    """When no picture could be labelled the sheet is one sentence, which once ran off a one-cell figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mnist_logreg.predict.sheet import sheet_figure

    figure = sheet_figure([], 0.0, 255.0)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    (text,) = figure.texts
    box = text.get_window_extent(canvas.get_renderer())
    assert "no picture" in text.get_text()
    assert 0 <= box.x0 and box.x1 <= figure.bbox.x1 and 0 <= box.y0 and box.y1 <= figure.bbox.y1


def _bad_pictures(folder: Path) -> dict:
    bad = {}
    bad["empty.png"] = b""
    bad["text.png"] = b"these are words, not pixels\n"
    buffer = io.BytesIO()
    Image.new("L", (40, 40), 200).save(buffer, "PNG")
    bad["one-colour.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 0).save(buffer, "PNG")
    bad["one-pixel.png"] = buffer.getvalue()
    for fmt in ("GIF", "TIFF"):
        buffer = io.BytesIO()
        Image.new("L", (40, 40), 0).save(buffer, fmt)
        bad[f"{fmt.lower()}-renamed.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    frames = [Image.new("L", (40, 40), v) for v in (0, 255)]
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    bad["animated.png"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
    bad["truncated.png"] = buffer.getvalue()[:200]
    files = {}
    for name, data in bad.items():
        files[name] = folder / name
        files[name].write_bytes(data)
    np.save(folder / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    files["strings.npy"] = folder / "strings.npy"
    files["huge.png"] = _png(folder / "huge.png", 10_000, 10_000, lambda y: bytes(10_000))
    (folder / "no-images").mkdir()
    files["no-images"] = folder / "no-images"
    files["missing.png"] = folder / "missing.png"
    return files


def test_each_bad_picture_is_one_line_and_the_good_ones_are_still_labelled(model, pictures, tmp_path):
    good, _ = pictures
    bad = _bad_pictures(tmp_path)
    result, peak = run_measured("predict", model, good[0], *bad.values(), good[1])
    assert result.returncode == 1
    lines = error_lines(result)
    assert len(lines) == len(bad), result.stderr
    for name, line in zip(bad, lines):
        assert line.startswith("mnist-logreg: error: ") and name in line, (name, line)
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [str(good[0]), str(good[1])]
    assert peak < GIB, peak
    for name, needle in [("empty.png", "empty"), ("one-colour.png", "no foreground"), ("one-pixel.png", "1 x 1"),
                         ("gif-renamed.png", "GIF"), ("tiff-renamed.png", "TIFF"), ("animated.png", "animated"),
                         ("huge.png", "100,000,000 pixels"), ("no-images", "holds no")]:
        assert needle in next(line for line in lines if name in line), name


def test_a_large_picture_is_decoded_reduced(model, tmp_path):
    """36 Mpx PNG and 48 Mpx JPEG (decoded at 1/8 scale): labelled under 1 GiB of peak memory."""
    side = 6000

    def row(y):
        stroke = 2400 <= y < 3600
        return bytes(2900) + (b"\xff" * 200 if stroke else bytes(200)) + bytes(2900)

    png = _png(tmp_path / "big.png", side, side, row)
    jpeg = tmp_path / "big.jpg"
    canvas = Image.new("L", (8000, 6000), 230)
    canvas.paste(40, (3900, 2000, 4100, 4000))
    canvas.save(jpeg, quality=80)
    del canvas
    result, peak = run_measured("predict", model, png, jpeg, "--json")
    assert result.returncode == 0, result.stderr
    assert [r["error"] for r in json.loads(result.stdout)] == [None, None]
    assert peak < GIB, peak


def test_progress_bar_stays_off_when_output_is_not_a_terminal(model, pictures):
    files, _ = pictures
    result = run_cli("predict", model, *(files * 2))
    assert result.returncode == 0 and result.stderr == ""


def test_a_fifo_named_or_in_a_folder_is_one_error_and_the_rest_is_labelled(model, pictures, tmp_path):
    """`predict` once waited for ever on a FIFO (opening one waits for a writer)."""
    files, _ = pictures
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(files[0].read_bytes())
    os.mkfifo(folder / "f.png")
    os.mkfifo(tmp_path / "named.png")
    result = run_cli("predict", model, folder, tmp_path / "named.png", files[1], timeout=60)
    assert result.returncode == 1
    assert error_lines(result) == [f"mnist-logreg: error: image {path}: a FIFO (named pipe), not a regular file; "
                                   "allowed a regular file holding a PNG, JPEG or NPY image"
                                   for path in (folder / "f.png", tmp_path / "named.png")]
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [str(folder / "a.png"), str(files[1])]


def test_hidden_files_in_a_folder_are_left_out_but_read_when_named(model, pictures, tmp_path):
    """macOS copies leave `._IMG.jpg` resource forks next to the photos: they are not pictures."""
    files, _ = pictures
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "IMG.png").write_bytes(files[0].read_bytes())
    (folder / "._IMG.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    listed = run_cli("predict", model, folder)
    assert listed.returncode == 0 and listed.stderr == ""
    assert [line.split(":")[0] for line in listed.stdout.splitlines()] == [str(folder / "IMG.png")]
    named = run_cli("predict", model, folder / "._IMG.png")
    assert named.returncode == 1 and "._IMG.png: content is not an image" in error_lines(named)[0]


def test_the_python_api_takes_one_path_and_refuses_what_it_cannot_use(model, pictures):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mnist_logreg as ml

    files, _ = pictures
    loaded = ml.load_model(model)
    expected = ml.label_images(loaded, [files[0]])[0]
    for one in (str(files[0]), files[0]):
        (result,) = ml.label_images(loaded, one)
        assert (result.file, result.label, result.error) == (str(files[0]), expected.label, None)
        assert ml.predict_images(loaded, one) == [{"file": str(files[0]), "label": expected.label,
                                                   "probabilities": expected.probabilities}]
    for top in (0, -1):
        with pytest.raises(ValueError, match=rf"^top: received {top}; allowed a whole number >= 1"):
            ml.label_images(loaded, files[0], top=top)
        with pytest.raises(ValueError, match=rf"^top: received {top}; allowed a whole number >= 1"):
            ml.predict_images(loaded, files[0], top=top)
    X, y = np.random.default_rng(0).random((20, 64)), np.arange(20) % 10
    for other, received in [(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
                             "a Pipeline with steps standardscaler=StandardScaler, "
                             "logisticregression=LogisticRegression"),
                            (LogisticRegression().fit(X, y), "a LogisticRegression")]:
        with pytest.raises(TypeError) as refused:
            ml.label_images(other, files[0])
        assert str(refused.value).startswith(f"model: received {received}; allowed a pipeline whose first step is "
                                             "framing=ImageFraming, as `mnist-logreg run` writes (ml.load_model)")
