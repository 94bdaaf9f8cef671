import subprocess
import sys

import pytest

from trainer.cli import main


def _run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_data_folder_is_one_line(capsys, tmp_path):
    code, _, err = _run(capsys, "train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert code == 2
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err


def test_unknown_model_name(capsys, tiny_labels_csv, tmp_path):
    code, _, err = _run(capsys, "train", "--data", str(tiny_labels_csv), "--out", str(tmp_path), "--models", "cnn,resnet")
    assert code == 2 and "resnet" in err and err.count("\n") == 1


def test_wrong_argument_is_one_line(capsys):
    code, _, err = _run(capsys, "train", "--epochs", "many")
    assert code == 2 and err.count("\n") == 1 and "--help" in err


def test_missing_backbone_weights(capsys, tiny_labels_csv, tmp_path, monkeypatch):
    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    monkeypatch.setattr("trainer.models.backbones.bundled_backbones_dir", lambda: tmp_path / "no-shipped-copies")
    code, _, err = _run(capsys, "train", "--data", str(tiny_labels_csv), "--out", str(tmp_path / "o"),
                        "--models", "vgg16", "--backbones", str(tmp_path), "--no-download", "--protocol", "full")
    assert code == 2
    assert "vgg16_imagenet_notop.h5" in err and "MELANOMA_BACKBONES" in err and err.count("\n") == 1


def test_evaluate_without_bundles(capsys, tiny_labels_csv, tmp_path):
    code, _, err = _run(capsys, "evaluate", "--models", str(tmp_path), "--data", str(tiny_labels_csv), "--out", str(tmp_path / "e"))
    assert code == 2 and "no model bundle" in err


def test_python_dash_m_trainer_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(tmp_path / "none"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "does not exist" in proc.stderr


@pytest.mark.parametrize("split", ["test", "all"])
def test_train_then_evaluate_from_the_command_line(capsys, tmp_path, random_backbones, split):
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    code, out, err = _run(capsys, "train", "--data", str(data), "--out", str(tmp_path / "run"), "--models", "mobilenetv2",
                          "--protocol", "full", "--epochs", "1", "--backbones", str(random_backbones),
                          "--mobilenet-alpha", "0.35", "--no-download", "--aug-copies", "1")
    assert code == 0, err
    assert "mobilenetv2" in out and "| model |" in out
    code, out, err = _run(capsys, "evaluate", "--models", str(tmp_path / "run"), "--data", str(data),
                          "--out", str(tmp_path / "eval"), "--split", split, "--backbones", str(random_backbones))
    assert code == 0, err
    assert (tmp_path / "eval" / "mobilenetv2" / "metrics.json").is_file()
    assert (tmp_path / "eval" / "summary.md").is_file()


def test_train_options_reach_the_configuration(tmp_path):
    from trainer.cli import _train_config, build_parser

    args = build_parser().parse_args(["train", "--preset", "best", "--data", "d", "--out", str(tmp_path),
                                      "--max-minutes-per-model", "30"])
    config = _train_config(args)
    assert config.max_minutes_per_model == 30 and config.preset == "best"
    default = _train_config(build_parser().parse_args(["train", "--data", "d", "--out", "o"]))
    assert default.max_minutes_per_model is None and default.split_seed is None and default.resolved_split_seed == 42
    fixed = _train_config(build_parser().parse_args(["train", "--data", "d", "--out", "o", "--seed", "3",
                                                     "--split-seed", "42"]))
    assert (fixed.seed, fixed.resolved_split_seed) == (3, 42)


def test_extra_data_options_reach_the_configuration(capsys, tmp_path):
    from trainer.cli import _train_config, build_parser

    args = build_parser().parse_args(["train", "--preset", "best", "--data", "d", "--out", str(tmp_path),
                                      "--extra-data", "isic", "--extra-data", "clinic", "--extra-data-split", "train"])
    assert _train_config(args).extra_data == [{"data": "isic", "source_split": "train"},
                                              {"data": "clinic", "source_split": "train"}]
    code, _, err = _run(capsys, "train", "--data", "d", "--out", str(tmp_path), "--extra-data-split", "train")
    assert code == 2 and "--extra-data-split needs --extra-data DIR" in err
    code, _, err = _run(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                        "--extra-data", str(tmp_path))
    assert code == 2 and "is the training data itself" in err
