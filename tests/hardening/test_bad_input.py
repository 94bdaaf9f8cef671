"""Bad input: every file gets a correct result or one clear per-file error; never a crash, a hang
or unbounded memory."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from trainer.data.imageio import load_rgb
from trainer.errors import ImageDecodeError


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_decode_or_fail_cleanly(data):
    try:
        arr = load_rgb(data)
    except ImageDecodeError as exc:
        assert "<bytes>" in str(exc)
    else:
        assert arr.shape == (224, 224, 3) and arr.dtype == np.uint8


def _png_bytes(img, fmt="PNG", **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["PNG", "JPEG", "GIF", "TIFF", "BMP"]))
def test_truncated_images_decode_or_fail_cleanly(cut, fmt):
    rng = np.random.default_rng(cut)
    data = _png_bytes(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), fmt)
    try:
        load_rgb(data[: min(cut, len(data) - 1)])
    except ImageDecodeError:
        pass


def corpus(folder):
    """The fixed corpus of awkward files; returns {name: True if it should decode}."""
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 60, 3), dtype=np.uint8))
    files = {}

    def put(name, data, ok):
        (folder / name).write_bytes(data)
        files[name] = ok

    put("random.jpg", os.urandom(2000), False)
    put("zero bytes.png", b"", False)
    put("truncated.jpg", _png_bytes(rgb, "JPEG")[:300], False)
    put("truncated.png", _png_bytes(rgb)[:200], False)
    put("png named.jpg", _png_bytes(rgb), True)
    frames = [Image.new("RGB", (40, 40), (i * 80, 0, 0)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    put("animated.gif", buf.getvalue(), True)
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    put("multipage.tiff", buf.getvalue(), True)
    put("sixteen.png", _png_bytes(Image.fromarray(np.full((30, 30), 40000, np.uint16))), True)
    put("cmyk.jpg", _png_bytes(rgb.convert("CMYK"), "JPEG"), True)
    put("palette.png", _png_bytes(rgb.convert("P")), True)
    put("alpha.png", _png_bytes(rgb.convert("RGBA")), True)
    put("grey ünïcode.png", _png_bytes(rgb.convert("L")), True)
    put("bomb.png", _png_bytes(Image.new("1", (12000, 12000))), False)
    put("huge 20000.png", _png_bytes(Image.new("1", (20000, 20000))), False)
    return files


def test_fixed_corpus_through_the_decoder(tmp_path):
    for name, ok in corpus(tmp_path).items():
        if ok:
            assert load_rgb(tmp_path / name).shape == (224, 224, 3), name
        else:
            with pytest.raises(ImageDecodeError) as info:
                load_rgb(tmp_path / name)
            assert name in str(info.value)


def test_fixed_corpus_through_the_trainer_reader(tmp_path):
    from trainer.data.samples import discover, without_unreadable

    (tmp_path / "benign").mkdir()
    (tmp_path / "malignant").mkdir()
    files = corpus(tmp_path / "benign")
    corpus(tmp_path / "malignant")
    dataset, skipped = without_unreadable(discover(tmp_path))
    bad = sum(not ok for ok in files.values())
    assert len(skipped) == 2 * bad and len(dataset.samples) == 2 * (len(files) - bad)


def test_fixed_corpus_through_triage_command(tmp_path, tiny_bundles):
    models_dir, backbones, _ = tiny_bundles
    folder = tmp_path / "corpus"
    folder.mkdir()
    files = corpus(folder)
    os.symlink(folder, folder / "loop")  # a symlink loop inside the folder
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--json", "--models", str(models_dir),
                           "--backbones", str(backbones), str(folder)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    printed = {os.path.basename(json.loads(line)["path"]) for line in proc.stdout.splitlines()}
    assert printed == {name for name, ok in files.items() if ok}
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == sum(not ok for ok in files.values())


PEAK_RSS_SCRIPT = """
import re
from trainer.errors import ImageDecodeError
from trainer.data.imageio import load_rgb

def peak_kb():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))

open("/proc/self/clear_refs", "w").write("5")  # reset the peak (a forked child starts with its parent's)
before = peak_kb()
try:
    load_rgb({path!r})
    print("decoded")
except ImageDecodeError as exc:
    print("refused:", exc.reason)
print(peak_kb() - before)
"""


def test_a_20000_pixel_image_is_refused_without_decoding_it(tmp_path):
    """Peak memory while refusing a 20000 x 20000 image, measured in a fresh process."""
    path = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(path)
    out = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT.format(path=str(path))], capture_output=True,
                         text=True, timeout=120)
    lines = out.stdout.splitlines()
    assert lines and lines[0].startswith("refused:") and "too large" in lines[0], out.stdout + out.stderr
    assert int(lines[-1]) < 100_000  # kB of extra peak memory: no 400-megapixel buffer was allocated
