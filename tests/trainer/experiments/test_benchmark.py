"""``run_benchmark`` on tiny synthetic data: both presets, ensemble, external set, reuse, README table."""

import json

import pytest

from trainer.errors import ConfigError
from trainer.experiments.benchmark import README_END, README_START, results_markdown, run_benchmark, update_doc

QUICK = dict(models=("cnn", "mobilenetv2"), epochs=1, cnn_epochs=1, batch_size=8, aug_copies=1, allow_download=False,
             finetune={"mobilenetv2": {"epochs": 1, "learning_rate": 1e-4}})


@pytest.fixture(scope="module")
def bench(tmp_path_factory, random_backbones):
    from synthetic import write_class_folders, write_labels_csv

    root = tmp_path_factory.mktemp("bench")
    data = write_labels_csv(root / "ham", n_per_class=16)
    external = write_class_folders(root / "external", n_per_class=6, seed=9)
    kwargs = dict(backbones=str(random_backbones), external=str(external), cache_dir=str(root / "cache"),
                  overrides=QUICK)
    results = run_benchmark(data, root / "out", **kwargs)
    return root, results, kwargs, data


def test_both_presets_report_models_and_ensemble_on_both_sets(bench):
    root, results, _, _ = bench
    assert list(results["presets"]) == ["paper", "best"]
    for preset in ("paper", "best"):
        models = results["presets"][preset]["models"]
        assert set(models) == {"cnn", "mobilenetv2", "ensemble"}
        for m in models.values():
            assert 0 <= m["test"]["roc_auc"] <= 1 and m["external"]["n"] == 12
            assert 0 <= m["threshold"] <= 1
    # both presets are scored on the same test images
    paper_test = results["presets"]["paper"]["models"]["cnn"]["test"]["n"]
    assert paper_test == results["presets"]["best"]["models"]["cnn"]["test"]["n"]
    table = (root / "out" / "results.md").read_text()
    assert "| best | Ensemble" in table and "External: 12 ISIC 2017 images" in table and "[0." in table
    assert "not a medical device" in table.lower()
    assert json.loads((root / "out" / "results.json").read_text())["presets"]["best"]["config"]["protocol"] == "extended"


def test_a_finished_run_is_reused(bench):
    root, _, kwargs, data = bench
    card = root / "out" / "best" / "cnn" / "card.json"
    before = card.stat().st_mtime_ns
    again = run_benchmark(data, root / "out", presets=("best",), **kwargs)
    assert card.stat().st_mtime_ns == before
    assert list(again["presets"]) == ["best"]


def test_readme_table_is_replaced_between_markers(bench, tmp_path):
    _, results, _, _ = bench
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\nold table\n{README_END}\n\nrest\n")
    update_doc(readme, results)
    text = readme.read_text()
    assert "old table" not in text and "| paper | " in text and text.endswith("rest\n")
    readme.write_text("no markers")
    with pytest.raises(ConfigError, match="markers"):
        update_doc(readme, results)


def test_a_run_saved_before_a_new_config_field_still_counts_as_finished(tmp_path):
    import json

    from trainer.experiments.benchmark import _finished_run
    from trainer.presets import preset_config

    config = preset_config("best", "data", str(tmp_path), models=("cnn",))
    saved = config.to_json()
    del saved["max_minutes_per_model"]  # written by an older trainer: the default applied
    (tmp_path / "config.json").write_text(json.dumps(saved))
    (tmp_path / "predictions.csv").write_text("model,split,path,label,p_malignant\n")
    (tmp_path / "cnn").mkdir()
    (tmp_path / "cnn" / "card.json").write_text("{}")
    assert _finished_run(config)
    assert not _finished_run(preset_config("best", "data", str(tmp_path), models=("cnn",), cnn_epochs=3))
    # another feature-cache folder changes nothing that was trained: still the same run
    assert _finished_run(preset_config("best", "data", str(tmp_path), models=("cnn",), cache_dir="/elsewhere"))
    saved["unknown_field"] = 1  # written by a newer trainer: not this configuration
    (tmp_path / "config.json").write_text(json.dumps(saved))
    assert not _finished_run(config)


@pytest.mark.slow  # a third preset run (104 s in CI)
def test_extra_data_run_keeps_the_other_models_and_scores_only_unseen_external_images(bench):
    import csv

    from synthetic import mark_source_splits, write_labels_csv

    root, _, kwargs, data = bench
    isic = mark_source_splits(write_labels_csv(root / "isic", n_per_class=8, seed=11))  # 12 train, 4 val
    kwargs = dict(kwargs, external=str(isic))
    results = run_benchmark(data, root / "out", presets=("best",), extra_data=[{"data": str(isic),
                                                                                 "source_split": "train"}],
                            extra_models=("cnn",), **kwargs)
    extra, best = results["presets"]["best-extra"], results["presets"]["best"]
    assert extra["label"] == "best + isic train" and set(extra["models"]) == {"cnn", "ensemble"}
    assert extra["counts"]["train"]["malignant"] == best["counts"]["train"]["malignant"] + 6
    run = root / "out" / "best-extra"
    saved = json.loads((run / "config.json").read_text())
    assert saved["models"] == ["cnn", "mobilenetv2"] and saved["extra"] == {"kept_models": ["mobilenetv2"]}

    def rows(folder, model):
        with open(folder / "predictions.csv", newline="") as handle:
            return [r for r in csv.DictReader(handle) if r["model"] == model]

    assert rows(run, "mobilenetv2") == rows(root / "out" / "best", "mobilenetv2")  # kept, for the ensemble
    assert rows(run, "cnn") != rows(root / "out" / "best", "cnn")
    # external: the untouched run on all 16 images and on the 4 no run trained on; the extra run only on those
    assert best["models"]["cnn"]["external"]["n"] == 16 and best["models"]["cnn"]["external_held_out"]["n"] == 4
    assert "external" not in extra["models"]["cnn"] and extra["models"]["ensemble"]["external_held_out"]["n"] == 4
    assert results["external_held_out_n"] == 4 and extra["trained_on_external"] and not best["trained_on_external"]
    table = (root / "out" / "results.md").read_text()
    assert "External: 16 ISIC 2017 images" in table and "the 4 ISIC 2017 images (isic) that no run" in table
    assert "| best + isic train | Ensemble (weighted mean of the calibrated P(malignant), weights and calibration from validation); " in table

    card = run / "cnn" / "card.json"
    before = card.stat().st_mtime_ns
    run_benchmark(data, root / "out", presets=("best",), extra_data=[{"data": str(isic), "source_split": "train"}],
                  extra_models=("cnn",), **kwargs)
    assert card.stat().st_mtime_ns == before  # the finished extra run is reused

    # one more extra model: only that one is trained into the run, the finished one stays
    results = run_benchmark(data, root / "out", presets=("best",), extra_data=[{"data": str(isic),
                                                                                 "source_split": "train"}],
                            extra_models=("cnn", "mobilenetv2"), **kwargs)
    assert card.stat().st_mtime_ns == before
    saved = json.loads((run / "config.json").read_text())
    assert saved["models"] == ["cnn", "mobilenetv2"] and saved["extra"] == {}
    retrained = json.loads((run / "mobilenetv2" / "card.json").read_text())
    assert retrained["training"]["extra_data"] and retrained["version"] != json.loads(
        (root / "out" / "best" / "mobilenetv2" / "card.json").read_text())["version"]
    assert {r["path"] for r in rows(run, "mobilenetv2")} == {r["path"] for r in rows(run, "cnn")}
    extra = results["presets"]["best-extra"]
    assert set(extra["models"]) == {"cnn", "mobilenetv2", "ensemble"}
    assert "; " not in results_markdown(results).split("| best + isic train | Ensemble")[1].split("|")[0]
    mobilenet_card = run / "mobilenetv2" / "card.json"
    before = mobilenet_card.stat().st_mtime_ns
    run_benchmark(data, root / "out", presets=("best",), extra_data=[{"data": str(isic), "source_split": "train"}],
                  extra_models=("cnn", "mobilenetv2"), **kwargs)
    assert mobilenet_card.stat().st_mtime_ns == before and card.stat().st_mtime_ns != 0


@pytest.mark.slow  # two more benchmark passes (33 s here); recalibrating a run is tested in test_recalibrate
def test_a_finished_run_with_another_calibration_is_recalibrated_not_retrained(bench):
    root, results, kwargs, data = bench
    run = root / "out" / "best"
    assert results["presets"]["best"]["config"]["calibration"] == "logistic"  # the best preset's
    assert json.loads((run / "cnn" / "card.json").read_text())["calibration"]["method"] == "logistic"
    model = run / "cnn" / "model.keras"
    before = model.stat().st_mtime_ns
    kwargs = dict(kwargs, overrides=dict(QUICK, calibration="temperature"))
    again = run_benchmark(data, root / "out", presets=("best",), **kwargs)
    assert model.stat().st_mtime_ns == before
    assert json.loads((run / "cnn" / "card.json").read_text())["calibration"]["method"] == "temperature"
    assert again["presets"]["best"]["config"]["calibration"] == "temperature"
    assert "best: a temperature" in results_markdown(again)
    # operating points are chosen on the same validation ranks: the same test decisions
    for name in ("cnn", "mobilenetv2"):
        old, new = results["presets"]["best"]["models"][name], again["presets"]["best"]["models"][name]
        assert new["test_at_threshold"]["sensitivity"] == pytest.approx(old["test_at_threshold"]["sensitivity"])
        assert new["test"]["accuracy"] == pytest.approx(old["test"]["accuracy"])  # at the model's own 0.5
    run_benchmark(data, root / "out", presets=("best",), **dict(kwargs, overrides=QUICK))
    assert json.loads((run / "cnn" / "card.json").read_text())["calibration"]["method"] == "logistic"
    assert model.stat().st_mtime_ns == before


def test_the_option_that_writes_the_tables_is_update_doc_and_the_old_name_still_works():
    from trainer.cli import build_parser

    for option in ("--update-doc", "--update-readme"):
        args = build_parser().parse_args(["benchmark", "--data", "d", "--out", "o", option, "docs/results.md"])
        assert args.update_doc == "docs/results.md"
