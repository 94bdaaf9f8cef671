"""The retraining wizard end to end on tiny synthetic data with tiny models."""

import json

import pytest
from PySide6.QtWidgets import QWizard

from melanoma_desktop.core.registry import ModelRegistry
from melanoma_desktop.ui.versions_dialog import VersionsDialog
from melanoma_desktop.ui.wizard import RetrainWizard
from melanoma_desktop.ui.worker import JobRunner


@pytest.fixture
def setup(qtbot, tmp_path, random_backbones):
    from synthetic import write_labels_csv

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    registry = ModelRegistry(tmp_path / "user" / "models")
    runner = JobRunner()
    return data, registry, runner, random_backbones, tmp_path


def _wizard(qtbot, setup, active=None, train_function=None):
    data, registry, runner, backbones, tmp_path = setup
    wizard = RetrainWizard(runner, registry, tmp_path / "user" / "runs", active or {}, backbones=str(backbones),
                           cache_dir=str(tmp_path / "cache"), train_function=train_function)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _through_setup(qtbot, wizard, data, models=("cnn",)):
    assert wizard.currentPage() is wizard.choice_page  # adapting to the clinic is offered first
    wizard.choice_page.train_button.click()
    page = wizard.data_page
    assert wizard.currentPage() is page
    page.path_edit.setText(str(data))
    assert not page.isComplete()
    page.inspect()
    qtbot.waitUntil(page.isComplete, timeout=30000)
    assert page.report.counts == {"benign": 10, "malignant": 10}
    wizard.next()
    setup_page = wizard.setup_page
    assert wizard.currentPage() is setup_page
    setup_page.recipe.setCurrentIndex(setup_page.recipe.findData("paper"))  # Quick: tiny, fast runs here
    for name, box in setup_page.model_boxes.items():
        box.setChecked(name in models)
    setup_page.protocol.setCurrentText("full")
    setup_page.epochs.setValue(1)
    setup_page.batch_size.setValue(8)
    setup_page.alpha.setCurrentText("0.35")
    assert not setup_page.isComplete()  # the check must run first
    setup_page.check()
    qtbot.waitUntil(setup_page.isComplete, timeout=60000)
    assert "CPU" in setup_page.result_label.text() or "GPU" in setup_page.result_label.text()
    assert "Estimated training time" in setup_page.result_label.text()


@pytest.mark.slow  # two trainings in the child process; the default run covers the same flow with a fake trainer
def test_wizard_trains_promotes_and_versions_restore(qtbot, setup):
    _train_promote_and_restore(qtbot, setup, train_function=None)


def test_wizard_flow_with_a_fake_trainer_promotes_and_versions_restore(qtbot, setup, tiny_bundles):
    """The same flow as above with the training child replaced by a fake that hands back real tiny bundles."""
    from fakes import FakeTrainer

    trainer = FakeTrainer(tiny_bundles[0])
    _train_promote_and_restore(qtbot, setup, train_function=trainer)
    assert trainer.runs == 2


def _train_promote_and_restore(qtbot, setup, train_function):
    data, registry, runner, _, tmp_path = setup
    versions, promoted = [], None
    for _round in range(2):
        active = {v.name: str(v.directory) for v in promoted.args[0]} if versions else {}
        wizard = _wizard(qtbot, setup, active, train_function)
        _through_setup(qtbot, wizard, data, models=("cnn", "mobilenetv2"))
        with qtbot.waitSignal(wizard.train_page.sig_training_finished, timeout=120000) as blocker:
            wizard.next()
        assert blocker.args == ["finished"]
        assert wizard.train_page.histories["cnn"]["loss"]  # live curves received epochs
        wizard.next()
        assert wizard.currentPage() is wizard.results_page
        table = wizard.results_page.table
        assert table.item(table.rowCount() - 1, 0).text() == "ensemble"  # new models (+ active), their ensemble
        assert [table.item(table.rowCount() - 1, c).text() for c in (1, 7)] == ["new (if all promoted)",
                                                                               "cnn + mobilenetv2"]
        assert wizard.results_page.split_label.text().startswith("Test split: ")
        if _round == 1:  # the first round's cnn is active now: it is scored on the same test images
            qtbot.waitUntil(lambda: "evaluated" in wizard.results_page.status.text(), timeout=60000)
            rows = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
            assert ["cnn", "active"] == rows[1][:2] and rows[1][7] == versions[0]
        wizard.results_page.promote_boxes["cnn"].setChecked(True)
        with qtbot.waitSignal(wizard.sig_promoted) as promoted:
            wizard.button(QWizard.FinishButton).click()
        versions.append(promoted.args[0][0].version)
    assert registry.active() == {"cnn": versions[1]} and versions[0] != versions[1]
    # each run's ensemble rule (cnn + mobilenetv2) is kept, for when exactly its members are active
    kept = [json.loads(f.read_text())["members"]["cnn"] for f in registry.ensemble_files()]
    assert sorted(kept) == sorted(versions)
    dialog = VersionsDialog(registry)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 2
    dialog.table.selectRow([dialog.table.item(r, 1).text() for r in range(2)].index(versions[0]))
    with qtbot.waitSignal(dialog.sig_restored):
        dialog.restore_button.click()
    assert registry.active() == {"cnn": versions[0]}


@pytest.mark.slow  # a training child process, stopped; the default run cancels a fake trainer the same way
def test_cancel_leaves_the_active_model_unchanged(qtbot, setup):
    _cancel_leaves_the_active_model(qtbot, setup, train_function=None)


def test_cancelling_a_fake_training_leaves_the_active_model_unchanged(qtbot, setup, tiny_bundles):
    from fakes import FakeTrainer

    _cancel_leaves_the_active_model(qtbot, setup, train_function=FakeTrainer(tiny_bundles[0], until_cancelled=True))


def _cancel_leaves_the_active_model(qtbot, setup, train_function):
    data, registry, runner, _, tmp_path = setup
    wizard = _wizard(qtbot, setup, train_function=train_function)
    _through_setup(qtbot, wizard, data)
    wizard.setup_page.epochs.setValue(50)
    wizard.setup_page.check()
    qtbot.waitUntil(wizard.setup_page.isComplete, timeout=60000)
    before = registry.active()
    with qtbot.waitSignal(wizard.train_page.sig_training_finished, timeout=120000) as blocker:
        wizard.next()
        qtbot.waitUntil(lambda: wizard.train_page.progress.value() > 0, timeout=60000)
        wizard.train_page.cancel_button.click()
    assert blocker.args == ["cancelled"]
    assert registry.active() == before
    assert not wizard.train_page.isComplete()
    runs = list((tmp_path / "user" / "runs").glob("run-*"))
    assert all(not (run / "cnn").exists() for run in runs)  # no half-written bundle


def test_data_page_refuses_a_single_class_folder(qtbot, setup, tmp_path):
    from PIL import Image

    folder = tmp_path / "one" / "benign"
    folder.mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (20, 20), (i, 0, 0)).save(folder / f"{i}.png")
    wizard = _wizard(qtbot, setup)
    page = wizard.data_page
    page.path_edit.setText(str(tmp_path / "one"))
    page.inspect()
    qtbot.waitUntil(lambda: page.report is not None, timeout=30000)
    assert not page.isComplete() and "only one class" in page.summary.text()


def test_best_recipe_sets_fields_and_fine_tuning(qtbot, setup):
    data, *_ = setup
    wizard = _wizard(qtbot, setup)
    page = wizard.setup_page
    assert page.recipe.currentData() == "best" and page.protocol.currentText() == "extended"  # the default
    assert page.recipe.currentText().startswith("Best") and not page.advanced.isChecked()
    page.recipe.setCurrentIndex(page.recipe.findData("paper"))
    assert page.recipe.currentText().startswith("Quick") and page.protocol.currentText() == "paper"
    page.recipe.setCurrentIndex(page.recipe.findData("best"))
    assert page.protocol.currentText() == "extended" and page.alpha.currentText() == "0.35"
    config = page.config(str(data), "out")
    assert config.preset == "best" and config.cnn_head == "gap" and set(config.finetune) == {"vgg16", "mobilenetv2"}
    page.protocol.setCurrentText("full")  # an explicit change wins over the recipe
    assert page.config(str(data), "out").protocol == "full"


def _data_inspected(qtbot, wizard, data):
    """The wizard's Data page with ``data`` inspected and accepted."""
    page = wizard.data_page
    page.path_edit.setText(str(data))
    page.inspect()
    qtbot.waitUntil(page.isComplete, timeout=30000)
    return page


def test_extra_training_folder_goes_into_the_config_and_the_estimate(qtbot, setup, tmp_path):
    from synthetic import write_class_folders

    data, *_ = setup
    extra = write_class_folders(tmp_path / "public", n_per_class=3, seed=4)
    wizard = _wizard(qtbot, setup)
    page = _data_inspected(qtbot, wizard, data)
    page.extra_edit.setText(str(extra))
    assert not page.isComplete()  # a named extra folder must be inspected first
    page.inspect_extra()
    qtbot.waitUntil(page.isComplete, timeout=30000)
    assert "benign: 3, malignant: 3" in page.extra_summary.text() and "training only" in page.extra_summary.text()
    wizard.next()
    setup_page = wizard.setup_page
    setup_page.recipe.setCurrentIndex(setup_page.recipe.findData("paper"))
    for name, box in setup_page.model_boxes.items():
        box.setChecked(name == "cnn")
    setup_page.protocol.setCurrentText("full")
    config = setup_page.config(str(data), str(tmp_path / "out"))
    assert config.extra_data == [{"data": str(extra), "source_split": None}]
    setup_page.check()
    qtbot.waitUntil(setup_page.isComplete, timeout=60000)
    assert "(6 of them extra data)" in setup_page.result_label.text()
    page.extra_edit.setText("")  # cleared: no extra data
    assert page.isComplete() and page.extra_data() == []


def test_extra_folder_that_cannot_be_read_blocks_the_page(qtbot, setup, tmp_path):
    data, *_ = setup
    wizard = _wizard(qtbot, setup)
    page = _data_inspected(qtbot, wizard, data)
    page.extra_edit.setText(str(tmp_path / "missing"))
    page.inspect_extra()
    qtbot.waitUntil(lambda: "Cannot use this folder" in page.extra_summary.text(), timeout=30000)
    assert not page.isComplete()


def test_extra_folder_with_source_splits_offers_one_of_them(qtbot, setup, tmp_path):
    from synthetic import mark_source_splits, write_labels_csv

    data, *_ = setup
    extra = mark_source_splits(write_labels_csv(tmp_path / "isic", n_per_class=4, seed=2))  # 6 train, 2 val
    wizard = _wizard(qtbot, setup)
    page = _data_inspected(qtbot, wizard, data)
    page.extra_edit.setText(str(extra))
    page.inspect_extra()
    qtbot.waitUntil(page.isComplete, timeout=30000)
    assert page.extra_split.isEnabled() and page.extra_split.count() == 3
    assert page.extra_data() == [{"data": str(extra), "source_split": None}]
    page.extra_split.setCurrentIndex(page.extra_split.findData("train"))
    assert "benign: 3, malignant: 3" in page.extra_split.currentText()
    assert page.extra_data() == [{"data": str(extra), "source_split": "train"}]


def test_the_first_choice_is_adapting_to_the_clinic(qtbot, setup):
    wizard = _wizard(qtbot, setup)
    assert wizard.currentPage() is wizard.choice_page
    assert "Adapt" in wizard.choice_page.adapt_button.text()
    with qtbot.waitSignal(wizard.sig_adapt_requested, timeout=5000):
        wizard.choice_page.adapt_button.click()
    assert not wizard.isVisible()


def test_the_training_log_says_each_epoch_in_words():
    from melanoma_desktop.ui.wizard.train_page import epoch_words
    from trainer.progress import ProgressEvent

    event = ProgressEvent("epoch", "cnn", message="epoch 1/2 loss=12.4854 val_loss=53.1873", epoch=1, epochs=2,
                          logs={"loss": 12.48, "accuracy": 0.6065, "val_loss": 53.19, "val_accuracy": 0.5})
    words = epoch_words(event)
    assert words == "cnn, epoch 1 of 2: accuracy 61% on training images, 50% on validation images"
    assert "val_" not in words and "=" not in words
