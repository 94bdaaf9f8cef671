import io

import numpy as np
import pytest
from PIL import Image

from trainer.data.imageio import load_rgb
from trainer.errors import ImageDecodeError


def _save(img: Image.Image, path, **kwargs):
    img.save(path, **kwargs)
    return path


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "RGB", "1", "I", "F"])
def test_every_mode_becomes_rgb_uint8_224(tmp_path, mode):
    img = Image.new("RGB", (300, 200), (200, 120, 90)).convert(mode)
    fmt = "TIFF" if mode in ("I", "F", "CMYK") else "PNG"
    path = _save(img, tmp_path / f"x.{fmt.lower()}", format=fmt)
    arr = load_rgb(path)
    assert arr.shape == (224, 224, 3) and arr.dtype == np.uint8


def test_cmyk_jpeg_keeps_colour(tmp_path):
    path = _save(Image.new("RGB", (64, 64), (200, 40, 40)).convert("CMYK"), tmp_path / "c.jpg", format="JPEG")
    r, g, b = load_rgb(path)[112, 112].astype(int)
    assert r > 150 and g < 90 and b < 90


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    arr16 = np.full((50, 50), 32768, dtype=np.uint16)  # mid grey in 16 bit
    path = tmp_path / "g16.png"
    Image.fromarray(arr16).save(path)
    assert Image.open(path).mode.startswith("I")
    value = int(load_rgb(path)[10, 10, 0])
    assert 120 <= value <= 135  # not 255, which plain convert("RGB") would give


def test_transparency_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    path = _save(img, tmp_path / "t.png")
    assert load_rgb(path).min() == 255


def test_exif_orientation_is_applied(tmp_path):
    # Left half red, right half blue, stored with orientation 6 ("rotate 90 CW to display").
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, :100] = (255, 0, 0)
    arr[:, 100:] = (0, 0, 255)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=95)
    out = load_rgb(path)
    # After rotating 90 degrees clockwise the red half is on top.
    assert out[20, 112, 0] > 200 and out[20, 112, 2] < 60
    assert out[200, 112, 2] > 200 and out[200, 112, 0] < 60


def test_bytes_input_matches_path(tmp_path):
    path = _save(Image.new("RGB", (224, 224), (10, 200, 30)), tmp_path / "a.png")
    assert np.array_equal(load_rgb(path.read_bytes()), load_rgb(path))


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty"), (b"this is text, not a JPEG", "not an image"), (None, "truncated")],
)
def test_bad_files_raise_one_clear_error(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    if content is None:
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(buf, "JPEG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError) as info:
        load_rgb(path)
    assert str(path) in str(info.value)
    assert reason in str(info.value) or "corrupt" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageDecodeError, match="no such file"):
        load_rgb(tmp_path / "nope.jpg")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (12000, 12000)).save(path)  # 144 megapixels, a few kB on disk
    with pytest.raises(ImageDecodeError, match="megapixel|too large"):
        load_rgb(path)
