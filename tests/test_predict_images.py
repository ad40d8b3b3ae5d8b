"""Reading one picture file: what is refused from the header, naming the file's own size, and what is read."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest
from PIL import Image

from mnist_logreg.errors import DataError
from mnist_logreg.predict.images import MAX_PIXELS, _jpeg_size, read_image


def test_an_oversized_jpeg_states_its_width_height_and_pixels(tmp_path):
    big = tmp_path / "big10k.jpg"
    Image.new("L", (10_000, 10_000), 255).save(big, quality=50)  # about 1 MB, encoded in a fraction of a second
    with pytest.raises(DataError) as refused:
        read_image(big)
    message = str(refused.value)
    assert f"image {big}: 10000 x 10000 = 100,000,000 pixels (JPEG header)" in message
    assert f"{Image.MAX_IMAGE_PIXELS:,} pixels in a JPEG" in message and f"{MAX_PIXELS:,}" in message
    assert "header claims" not in message


def test_a_jpeg_header_is_read_before_decoding(tmp_path):
    """A 40 x 30 JPEG whose frame header is edited to claim 60000 x 50000: refused on the header."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "JPEG", exif=Image.Exif())
    data = bytearray(buffer.getvalue())
    assert _jpeg_size_of(tmp_path, bytes(data)) == (40, 30)
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = (50_000).to_bytes(2, "big") + (60_000).to_bytes(2, "big")
    lying = tmp_path / "lying.jpg"
    lying.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"60000 x 50000 = 3,000,000,000 pixels \(JPEG header\)"):
        read_image(lying)


def test_jpeg_sizes_of_ordinary_files(tmp_path):
    for size, options in [((40, 30), {}), ((3000, 20), {"progressive": True}), ((50, 60), {"exif": Image.Exif()})]:
        buffer = io.BytesIO()
        Image.new("RGB", size).save(buffer, "JPEG", **options)
        assert _jpeg_size_of(tmp_path, buffer.getvalue()) == size
    assert _jpeg_size_of(tmp_path, b"\xff\xd8\xff") is None  # truncated: Pillow decides


def _jpeg_size_of(folder, data: bytes):
    file = folder / "probe.jpg"
    file.write_bytes(data)
    return _jpeg_size(file)


def test_a_phone_mpo_is_read_as_its_primary_picture_and_an_apng_is_still_refused(tmp_path):
    """Phones store a gain map or depth map after the photo (multi-picture JPEG): the photo is read."""
    primary = Image.fromarray(np.tile(np.linspace(30, 230, 900).astype(np.uint8), (700, 1)))
    mpo, plain = tmp_path / "phone_mpo.jpg", tmp_path / "plain.jpg"
    primary.save(mpo, format="MPO", save_all=True, append_images=[Image.new("L", (160, 120), 0)])
    primary.save(plain, format="JPEG")
    with Image.open(mpo) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    grey = read_image(mpo)
    assert grey.shape == (700, 900)
    assert np.abs(grey - read_image(plain)).max() < 2 / 255
    # A large MPO is still decoded reduced, and its header size still checked.
    big = tmp_path / "big_mpo.jpg"
    primary.resize((4000, 3000)).save(big, format="MPO", save_all=True, append_images=[Image.new("L", (160, 120))])
    assert read_image(big).shape == (750, 1000)
    frames = [Image.new("L", (40, 40), v) for v in (0, 255)]
    frames[0].save(tmp_path / "animated.png", save_all=True, append_images=frames[1:])
    with pytest.raises(DataError, match=r"animated \(2 frames\); allowed a still image"):
        read_image(tmp_path / "animated.png")


def test_a_fifo_or_a_device_is_refused_at_once_naming_it(tmp_path):
    """Opening a FIFO waits for a writer: before this check `predict` hung on one for ever."""
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            read_image(fifo)
        except DataError as error:
            outcome["error"] = str(error)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # release the blocked open() so the test ends, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("read_image waited on a FIFO")
    assert outcome["error"] == (f"image {fifo}: a FIFO (named pipe), not a regular file; "
                                "allowed a regular file holding a PNG, JPEG or NPY image")
    with pytest.raises(DataError, match=r"image /dev/null: a character device, not a regular file"):
        read_image("/dev/null")


@pytest.mark.parametrize("name, make, stated", [
    ("wide.npy", lambda p: np.save(p, np.full((9, 30000), 200, np.uint8)), "30000 x 9 pixels (NPY header), "
     "sides in a ratio of 3,333:1"),
    ("wide.jpg", lambda p: Image.new("L", (20000, 8), 255).save(p), "20000 x 8 pixels (JPEG header), "
     "sides in a ratio of 2,500:1"),
    ("tall.png", lambda p: Image.new("L", (8, 1025), 255).save(p), "8 x 1025 pixels (PNG header), "
     "sides in a ratio of 128.1:1"),
])
def test_a_picture_longer_than_128_times_its_width_is_refused_naming_its_real_size(tmp_path, name, make, stated):
    path = tmp_path / name
    make(path)
    with pytest.raises(DataError) as refused:
        read_image(path)
    assert str(refused.value) == f"image {path}: {stated}; allowed at most 128:1"


@pytest.mark.parametrize("name, make, shape", [
    # Reducing the longer side to 1024 would leave 4 rows: the reduction stops where 8 remain.
    ("strip.npy", lambda p: np.save(p, np.full((9, 1152), 200, np.uint8)), (9, 1152)),
    ("strip.jpg", lambda p: Image.new("L", (1152, 9), 200).save(p), (9, 1152)),
    ("strip.png", lambda p: Image.new("L", (9, 1152), 200).save(p), (1152, 9)),
    ("ratio128.jpg", lambda p: Image.new("L", (16 * 128, 16), 200).save(p), (8, 1024)),
    ("ratio128.npy", lambda p: np.save(p, np.full((30 * 128, 30), 200, np.uint8)), (1280, 10)),
])
def test_an_elongated_picture_within_the_ratio_keeps_8_pixels_a_side(tmp_path, name, make, shape):
    path = tmp_path / name
    make(path)
    grey = read_image(path)
    assert grey.shape == shape and np.allclose(grey, 200 / 255, atol=2 / 255)
