"""An oversized JPEG is refused from its header, stating its own size (as PNG does)."""

from __future__ import annotations

import io

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
