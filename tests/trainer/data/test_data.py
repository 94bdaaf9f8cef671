import csv

import numpy as np
import pytest
from PIL import Image

from trainer.data.samples import check_trainable, decode_samples, discover
from trainer.errors import DatasetLayoutError, DatasetTooSmallError

from synthetic import lesion_image, write_ham_metadata


def test_labels_csv_layout(tiny_labels_csv):
    ds = discover(tiny_labels_csv)
    assert ds.layout == "labels_csv"
    assert ds.counts() == {"benign": 12, "malignant": 12}
    assert ds.samples[0].lesion_id.startswith("L_")


def test_class_folders_with_train_and_test(tiny_class_folders):
    ds = discover(tiny_class_folders)
    assert ds.layout == "class_folders"
    assert ds.counts() == {"benign": 12, "malignant": 12}
    assert {s.source_split for s in ds.samples} == {"train", "test"}


def test_plain_class_folders(tmp_path):
    for label in ("benign", "Malignant"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(lesion_image(label != "benign", np.random.default_rng(i))).save(tmp_path / label / f"{i}.png")
    (tmp_path / "benign" / "notes.txt").write_text("ignored: not an image name")
    ds = discover(tmp_path)
    assert ds.counts() == {"benign": 3, "malignant": 3}


def test_ham_metadata_layout_with_configurable_dx(tmp_path):
    write_ham_metadata(tmp_path, n_per_class=6)
    ds = discover(tmp_path)
    assert ds.layout == "ham10000" and ds.counts() == {"benign": 6, "malignant": 6}
    assert len({s.path.parent.name for s in ds.samples}) == 2  # images found in both part folders
    everything = discover(tmp_path, malignant_dx=("mel", "nv"))
    assert everything.counts() == {"benign": 0, "malignant": 12}


def test_unknown_layout_names_path_and_layouts(tmp_path):
    (tmp_path / "random").mkdir()
    with pytest.raises(DatasetLayoutError) as info:
        discover(tmp_path)
    assert str(tmp_path) in str(info.value) and "labels.csv" in str(info.value) and "benign" in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        discover(tmp_path / "nowhere")


def test_bad_label_in_csv(tmp_path):
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "a.png")
    with open(tmp_path / "labels.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["image", "label"], ["a.png", "nevus-ish"]])
    with pytest.raises(DatasetLayoutError, match="nevus-ish"):
        discover(tmp_path)


def test_single_class_and_too_few_are_refused(tmp_path):
    (tmp_path / "one" / "benign").mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (8, 8)).save(tmp_path / "one" / "benign" / f"{i}.png")
    with pytest.raises(DatasetTooSmallError, match="only one class"):
        check_trainable(discover(tmp_path / "one"))
    (tmp_path / "one" / "malignant").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "one" / "malignant" / "m.png")
    with pytest.raises(DatasetTooSmallError, match="too few"):
        check_trainable(discover(tmp_path / "one"))


def test_decode_skips_and_lists_bad_files(tmp_path, tiny_labels_csv):
    ds = discover(tiny_labels_csv)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    samples = ds.samples[:3] + [type(ds.samples[0])(bad, "benign")] + ds.samples[3:5]
    decoded = decode_samples(samples)
    assert decoded.images.shape == (5, 224, 224, 3)
    assert decoded.kept == [0, 1, 2, 4, 5]
    assert decoded.skipped[0][0] == str(bad) and "not an image" in decoded.skipped[0][1]
