"""Named presets and the train command's --preset."""

import json

import pytest

from trainer.cli import main
from trainer.errors import ConfigError
from trainer.presets import PRESETS, preset_config


def test_presets_import_without_tensorflow():
    import subprocess
    import sys

    code = "import sys, trainer.presets, trainer.cli, trainer.config, trainer.data.sources, trainer.bundle.combine; print('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    assert set(PRESETS) == {"paper", "best", "multisource", "multisource-gpu"}


def test_multisource_presets_keep_the_paper_test_set_of_the_first_source(tmp_path):
    frozen = preset_config("multisource", "a", str(tmp_path), sources=["a", "b"])
    assert frozen.finetune == {} and [s["protocol"] for s in frozen.sources] == ["extended", "full"]
    gpu = preset_config("multisource-gpu", "a", str(tmp_path), sources=["a", "b"])
    assert gpu.finetune["vgg16"]["from_block"] == 4 and gpu.max_minutes_per_model * 3.5 <= 8.1


def test_paper_preset_is_the_papers_recipe(tmp_path):
    config = preset_config("paper", "data", str(tmp_path))
    assert (config.protocol, config.cnn_head, config.finetune, config.augmentation) == ("paper", "flatten", {}, "paper")
    assert config.mobilenet_alpha == 0.35 and config.preset == "paper"


def test_best_preset_fine_tunes_both_transfer_models(tmp_path):
    config = preset_config("best", "data", str(tmp_path), epochs=3)
    assert config.protocol == "extended" and config.cnn_head == "gap" and config.epochs == 3
    assert set(config.finetune) == {"vgg16", "mobilenetv2"}
    assert all(s["learning_rate"] < config.learning_rate for s in config.finetune.values())


def test_unknown_preset_and_bad_finetune_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset"):
        preset_config("fastest", "data", str(tmp_path))
    with pytest.raises(ConfigError, match="fine-tuning is defined for"):
        preset_config("best", "data", str(tmp_path), finetune={"cnn": {"epochs": 1}})


def test_train_with_a_preset_saves_the_resolved_configuration(capsys, tmp_path, random_backbones):
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    code = main(["train", "--preset", "best", "--data", str(data), "--out", str(tmp_path / "run"), "--models", "cnn",
                 "--protocol", "full", "--epochs", "1", "--batch-size", "8", "--no-download",
                 "--backbones", str(random_backbones)])
    assert code == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["preset"] == "best" and saved["cnn_head"] == "gap"  # from the preset
    assert saved["protocol"] == "full" and saved["epochs"] == 1  # given explicitly
    card = json.loads((tmp_path / "run" / "cnn" / "card.json").read_text())
    assert card["preset"] == "best" and card["architecture_variant"] == "gap"


@pytest.mark.parametrize("plateau, message", [
    ({"svm": {"factor": 0.5, "patience": 2}}, "unknown model"),
    ({"cnn": {"factor": 1.5, "patience": 2}}, "plateau"),
    ({"cnn": {"factor": 0.5}}, "plateau"),
])
def test_bad_plateau_settings_are_refused(tmp_path, plateau, message):
    with pytest.raises(ConfigError, match=message):
        preset_config("best", "data", str(tmp_path), plateau=plateau)


def test_best_preset_schedules_the_cnn_and_mobilenet_fine_tuning(tmp_path):
    config = preset_config("best", "data", str(tmp_path))
    assert set(config.plateau) == {"cnn", "mobilenetv2"} and config.cnn_patience is not None
    assert config.finetune["mobilenetv2"]["patience"] > config.patience
