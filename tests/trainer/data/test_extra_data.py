"""Extra training data from another source: it joins the training split only, and is recorded."""

import csv

import numpy as np
import pytest

from trainer.config import TrainConfig
from trainer.errors import ConfigError, DatasetLayoutError
from trainer.training.rundir import split_rows as _split_rows
from trainer.training.train import prepare_data


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    from synthetic import mark_source_splits, write_labels_csv

    root = tmp_path_factory.mktemp("sources")
    main = write_labels_csv(root / "main", n_per_class=12)
    other = mark_source_splits(write_labels_csv(root / "other", n_per_class=8, seed=5))
    return main, other


def _config(main, tmp_path, **extra):
    return TrainConfig(data=str(main), out=str(tmp_path / "out"), protocol="full", **extra).validate()


def test_extra_images_join_the_training_split_only(sources, tmp_path):
    main, other = sources
    plain = prepare_data(_config(main, tmp_path))
    mixed = prepare_data(_config(main, tmp_path, extra_data=[{"data": str(other), "source_split": "train"}]))
    for part in ("val", "test"):  # what thresholds, calibration and results rest on is unchanged
        assert mixed.paths[part] == plain.paths[part]
        assert np.array_equal(mixed.x[part], plain.x[part])
    added = mixed.paths["train"][len(plain.paths["train"]):]
    assert len(added) == 12 and all(str(other) in p for p in added)  # 16 images, 4 of them "val"
    assert len(mixed.x["train"]) == len(mixed.y["train"]) == len(plain.x["train"]) + 12
    assert mixed.y["train"][len(plain.paths["train"]):].tolist() == [0] * 6 + [1] * 6
    assert mixed.counts["train"] == {k: plain.counts["train"][k] + 6 for k in ("benign", "malignant")}
    assert mixed.extra_counts == [{"data": other.resolve().name, "source_split": "train", "benign": 6,
                                   "malignant": 6}]
    train_rows = [r for r in _split_rows(mixed) if r[-1] == "train"]
    assert {r[0] for r in train_rows} >= set(added)


def test_all_rows_without_a_source_split_and_unknown_split_is_refused(sources, tmp_path):
    main, other = sources
    mixed = prepare_data(_config(main, tmp_path, extra_data=[{"data": str(other)}]))
    assert mixed.extra_counts[0]["benign"] + mixed.extra_counts[0]["malignant"] == 16
    with pytest.raises(DatasetLayoutError, match=r"source_split 'test'.*found: train, val"):
        prepare_data(_config(main, tmp_path, extra_data=[{"data": str(other), "source_split": "test"}]))


def test_extra_data_holding_a_test_image_is_refused(sources, tmp_path):
    import shutil

    main, _ = sources
    overlap = tmp_path / "overlap"
    (overlap / "images").mkdir(parents=True)
    plain = prepare_data(_config(main, tmp_path))
    test_image = plain.paths["test"][0]
    shutil.copy(test_image, overlap / "images" / "copy.png")
    label = plain.dataset.class_names[int(plain.y["test"][0])]
    # the same file, listed by absolute path in the other source (a copy with another name is not detected)
    (overlap / "labels.csv").write_text(f"image,label\n{test_image},{label}\ncopy.png,{label}\n")
    with pytest.raises(DatasetLayoutError, match="validation or test split"):
        prepare_data(_config(main, tmp_path, extra_data=[{"data": str(overlap)}]))


@pytest.mark.parametrize("extra, message", [
    ("../other", "must be a list"),
    ([{"folder": "x"}], "each extra_data entry"),
    ([{"data": "SAME"}], "is the training data itself"),
])
def test_malformed_extra_data_is_refused(sources, tmp_path, extra, message):
    main, _ = sources
    if extra != "../other" and extra[0].get("data") == "SAME":
        extra = [{"data": str(main)}]
    with pytest.raises(ConfigError, match=message):
        _config(main, tmp_path, extra_data=extra)


def test_the_card_records_the_extra_data(sources, tmp_path, random_backbones):
    from trainer.bundle.io import read_card
    from trainer.training.train import run_training

    main, other = sources
    config = _config(main, tmp_path, models=("cnn",), epochs=1, batch_size=8,
                     extra_data=[{"data": str(other), "source_split": "train"}])
    run_training(config)
    card = read_card(tmp_path / "out" / "cnn")
    assert card.training["extra_data"] == [{"data": other.resolve().name, "source_split": "train", "benign": 6,
                                               "malignant": 6}]
    assert card.training["counts"]["train"]["malignant"] >= 6 + 1
    with open(tmp_path / "out" / "split.csv", newline="") as handle:
        extra_rows = [r for r in csv.DictReader(handle) if str(other) in r["path"]]
    assert len(extra_rows) == 12 and {r["split"] for r in extra_rows} == {"train"}
