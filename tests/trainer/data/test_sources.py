"""Several data sources in one run: each split on its own, pooled parts, one left out and scored only."""

import csv

import numpy as np
import pytest

from trainer.config import TrainConfig
from trainer.data.sources import source_seed
from trainer.errors import ConfigError
from trainer.training.rundir import split_rows as _split_rows
from trainer.training.train import prepare_data


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory):
    from synthetic import write_labels_csv

    root = tmp_path_factory.mktemp("multi")
    return [write_labels_csv(root / name, n_per_class=10, seed=k) for k, name in enumerate(("alpha", "beta", "gamma"))]


def _config(folders, tmp_path, **extra):
    return TrainConfig(data=str(folders[0]), out=str(tmp_path / "out"), protocol="full",
                       sources=[str(f) for f in folders], **extra).validate()


def test_each_source_is_split_on_its_own_and_the_parts_are_pooled(three_sources, tmp_path):
    data = prepare_data(_config(three_sources, tmp_path))
    assert [s["data"] for s in data.sources] == ["alpha", "beta", "gamma"]
    assert len({s["split_seed"] for s in data.sources}) == 3  # a seed of its own per source
    for part in ("train", "val", "test"):
        names = [name for name, _, _ in data.chunks[part]]
        assert names == ["alpha", "beta", "gamma"]
        assert data.chunks[part][-1][2] == len(data.y[part]) == len(data.paths[part])
        for name, start, end in data.chunks[part]:  # every source gives both classes to every part
            assert all(name in p for p in data.paths[part][start:end])
            assert set(data.y[part][start:end].tolist()) == {0, 1}
    assert sum(sum(c.values()) for c in data.counts.values()) == 60


def test_leaving_a_source_out_keeps_the_others_splits_and_scores_it_whole(three_sources, tmp_path):
    everything = prepare_data(_config(three_sources, tmp_path))
    without = prepare_data(_config(three_sources, tmp_path, leave_out="beta"))
    assert without.left_out.name == "beta" and len(without.left_out.y) == 20
    assert all("beta" in p for p in without.left_out.paths)
    for part in ("train", "val", "test"):
        assert not any("/beta/" in p for p in without.paths[part])
        kept = [p for p in everything.paths[part] if "/beta/" not in p]
        assert without.paths[part] == kept  # alpha's and gamma's splits do not move
    rows = _split_rows(without)
    assert rows[0] == ["path", "label", "lesion_id", "split", "source"]
    assert {r[4] for r in rows[1:] if r[3] == "left_out"} == {"beta"}
    assert sum(r[3] == "left_out" for r in rows) == 20


def test_an_image_given_twice_is_kept_once(three_sources, tmp_path):
    import shutil

    copy = tmp_path / "delta"
    shutil.copytree(three_sources[0], copy)  # the same pixels under another source's name
    data = prepare_data(_config([three_sources[0], copy], tmp_path))
    assert not any("/delta/" in p for part in ("train", "val", "test") for p in data.paths[part])


def test_source_settings_are_checked(three_sources, tmp_path):
    with pytest.raises(ConfigError, match="cannot leave out 'omega': the sources are alpha, beta, gamma"):
        _config(three_sources, tmp_path, leave_out="omega")
    with pytest.raises(ConfigError, match="needs several data sources"):
        TrainConfig(data=str(three_sources[0]), out=str(tmp_path), leave_out="alpha").validate()
    with pytest.raises(ConfigError, match="two sources are named 'alpha'"):
        _config([three_sources[0], three_sources[0]], tmp_path)
    config = _config(three_sources, tmp_path, split_seed=7)
    assert config.sources[0]["protocol"] == "full" and config.sources[1]["split_seed"] == source_seed(7, "beta")
    assert config.sources[0]["split_seed"] == 7  # the first source splits as it would alone


def test_the_first_source_splits_as_it_would_alone(three_sources, tmp_path):
    alone = prepare_data(TrainConfig(data=str(three_sources[0]), out=str(tmp_path / "o"), protocol="full").validate())
    together = prepare_data(_config(three_sources, tmp_path))
    for part in ("train", "val", "test"):
        _, start, end = together.chunks[part][0]
        assert together.paths[part][start:end] == alone.paths[part]


def test_left_out_diagnoses_are_dropped(tmp_path):
    from synthetic import write_labels_csv

    root = write_labels_csv(tmp_path / "dx", n_per_class=10)
    with open(root / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["dx"] = "mel" if row["label"] == "malignant" else ("bcc" if i < 3 else "nv")
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    data = prepare_data(TrainConfig(data=str(root), out=str(tmp_path / "o"), protocol="full",
                                    exclude_dx=("BCC",)).validate())
    assert sum(c["benign"] for c in data.counts.values()) == 7


def test_a_left_out_run_scores_the_left_out_source_with_every_model(three_sources, tmp_path, random_backbones):
    from trainer.bundle.cards import read_card
    from trainer.training.rundir import read_predictions
    from trainer.training.train import run_training

    config = _config(three_sources, tmp_path, leave_out="gamma", models=("cnn", "mobilenetv2"), epochs=1,
                     batch_size=8, backbones=str(random_backbones), mobilenet_alpha=0.35, aug_copies=1,
                     cache_dir=str(tmp_path / "cache"), allow_download=False)
    run_training(config)
    preds = read_predictions(tmp_path / "out")
    for name in ("cnn", "mobilenetv2"):
        paths, labels, p = preds[name]["left_out"]
        assert len(paths) == 20 and all("/gamma/" in q for q in paths) and labels.sum() == 10
        assert np.all((0 <= p) & (p <= 1))
    card = read_card(tmp_path / "out" / "mobilenetv2")
    assert card.training["data"] == "alpha + beta"
    assert [s["data"] for s in card.training["sources"]] == ["alpha", "beta", "gamma"]
    assert card.training["sources"][2]["left_out"] is True
    with open(tmp_path / "out" / "split.csv", newline="") as handle:
        assert {r["source"] for r in csv.DictReader(handle) if r["split"] == "left_out"} == {"gamma"}


@pytest.mark.slow  # four small trainings (94 s in CI); the left-out run and the benchmark's parts are tested above
def test_the_source_benchmark_scores_a_left_out_source_at_a_line_chosen_without_it(three_sources, tmp_path,
                                                                                  random_backbones):
    from trainer.experiments.loso import run_source_benchmark

    results = run_source_benchmark(
        three_sources, tmp_path / "bench", leave_out=["gamma"], models=("cnn", "mobilenetv2"),
        backbones=str(random_backbones), cache_dir=str(tmp_path / "cache"),
        overrides=dict(protocol="full", epochs=1, cnn_epochs=1, batch_size=8, allow_download=False))
    without = results["runs"]["without-gamma"]
    assert set(without["models"]) == {"cnn", "mobilenetv2", "combined"}
    left = without["models"]["combined"]["left_out"]
    assert left["melanomas"] == 10 and left["others"] == 10 and 0 <= left["roc_auc"] <= 1
    assert set(results["runs"]["all"]["models"]["cnn"]["test_by_source"]) == {"alpha", "beta", "gamma"}
    assert set(without["weights"]) == {"cnn", "mobilenetv2"} and abs(sum(without["weights"].values()) - 1) < 1e-6
    text = (tmp_path / "bench" / "results.md").read_text()
    assert "**gamma left out**" in text and "| combined | 10 / 10 |" in text
    from trainer.experiments.benchmark import update_doc
    from trainer.experiments.loso import SOURCES_MARKERS, sources_markdown

    doc = tmp_path / "results.md"
    doc.write_text(f"intro\n{SOURCES_MARKERS[0]}\nold\n{SOURCES_MARKERS[1]}\nafter\n")
    update_doc(doc, results, sources_markdown(results), SOURCES_MARKERS)
    assert "old" not in doc.read_text() and "**gamma left out**" in doc.read_text() and "after" in doc.read_text()
    again = run_source_benchmark(  # a finished run is reused, not retrained
        three_sources, tmp_path / "bench", leave_out=["gamma"], models=("cnn", "mobilenetv2"),
        backbones=str(random_backbones), cache_dir=str(tmp_path / "cache"),
        overrides=dict(protocol="full", epochs=1, cnn_epochs=1, batch_size=8, allow_download=False))
    assert again["runs"]["without-gamma"]["models"] == without["models"]


def test_a_bundle_trained_elsewhere_joins_a_run_as_a_member(three_sources, tmp_path, random_backbones):
    from trainer.cli import main
    from trainer.training.rundir import read_predictions
    from trainer.training.train import run_training

    common = dict(epochs=1, batch_size=8, backbones=str(random_backbones), mobilenet_alpha=0.35, aug_copies=1,
                  cache_dir=str(tmp_path / "cache"), allow_download=False)
    run_training(_config(three_sources, tmp_path, models=("cnn",), **common))
    other = _config(three_sources, tmp_path, models=("mobilenetv2",), **common)
    other.out = str(tmp_path / "elsewhere")
    run_training(other)
    assert main(["ensemble", "--run", str(tmp_path / "out"), "--add-member", str(tmp_path / "elsewhere" / "mobilenetv2"),
                 "--backbones", str(random_backbones)]) == 0
    preds = read_predictions(tmp_path / "out")
    assert preds["mobilenetv2"]["val"][0] == preds["cnn"]["val"][0]
    assert np.allclose(preds["mobilenetv2"]["val"][2], read_predictions(tmp_path / "elsewhere")["mobilenetv2"]["val"][2],
                       atol=1e-5)
    import json

    ensemble = json.loads((tmp_path / "out" / "ensemble.json").read_text())
    assert set(ensemble["members"]) == {"cnn", "mobilenetv2"} and set(ensemble["weights"]) == {"cnn", "mobilenetv2"}
