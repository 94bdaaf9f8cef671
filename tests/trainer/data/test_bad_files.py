"""A training folder with awkward files: the run finishes and names what it skipped."""

import numpy as np
from PIL import Image

from trainer.config import TrainConfig
from trainer.training.train import run_training

from synthetic import lesion_image, write_class_folders


def _awkward_files(folder):
    rng = np.random.default_rng(5)
    rgb = Image.fromarray(lesion_image(True, rng, 64))
    rgb.save(folder / "corrupt.jpg")
    data = (folder / "corrupt.jpg").read_bytes()
    (folder / "corrupt.jpg").write_bytes(data[: len(data) // 3])
    (folder / "text_named.jpg").write_text("this is a text file with a .jpg name")
    rgb.convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)).save(folder / "sixteen_bit.png")
    exif = rgb.getexif()
    exif[0x0112] = 6
    rgb.save(folder / "exif_rotated.jpg", exif=exif)


def test_run_finishes_and_names_skipped_files(tmp_path):
    data = write_class_folders(tmp_path / "data", n_per_class=8)
    _awkward_files(data / "malignant")
    config = TrainConfig(data=str(data), out=str(tmp_path / "out"), models=("cnn",), protocol="full", epochs=1,
                         batch_size=8, allow_download=False)
    result = run_training(config)
    skipped = {path.rsplit("/", 1)[-1]: reason for path, reason in result.skipped}
    assert set(skipped) == {"corrupt.jpg", "text_named.jpg"}
    report = (tmp_path / "out" / "skipped.txt").read_text()
    assert "corrupt.jpg" in report and "text_named.jpg" in report
    assert "2 file(s) skipped" in (tmp_path / "out" / "summary.md").read_text()
    used = (tmp_path / "out" / "split.csv").read_text()
    for name in ("cmyk.jpg", "sixteen_bit.png", "exif_rotated.jpg"):
        assert name in used  # decoded and used, not skipped
