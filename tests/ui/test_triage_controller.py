"""The window's controller on its own, without a window: models, a batch, the saved records, a review,
the clinic's flag line."""

import pytest

from melanoma_desktop.ui.triage_controller import TriageController
from trainer.api import EnsembleRule

from fakes import FakeClassifier, grey_image, skin_image


@pytest.fixture
def controller(qtbot, tmp_path):
    classifier = FakeClassifier()
    made = TriageController(tmp_path / "cases.sqlite3", lambda on_progress: classifier)
    yield made
    made.close()


def test_paths_dropped_before_the_models_wait_and_then_come_back_as_saved_records(qtbot, controller, tmp_path):
    files = [skin_image(tmp_path / f"{i}.png", 0.3 + 0.2 * i) for i in range(3)] + [grey_image(tmp_path / "g.png", 90)]
    (tmp_path / "broken.png").write_bytes(b"not an image")
    waiting, saved, failed = [], [], []
    controller.sig_paths_waiting.connect(waiting.append)
    controller.sig_records_saved.connect(saved.extend)
    controller.sig_item_failed.connect(lambda path, why: failed.append(path))
    assert controller.triage([str(f) for f in [*files, tmp_path / "broken.png"]]) == "waiting" and waiting == [5]
    with qtbot.waitSignal(controller.sig_batch_done, timeout=20000) as done:
        controller.load_models()
    outcome, records, already_known = done.args
    assert outcome == "finished" and already_known == 0 and failed == [str(tmp_path / "broken.png")]
    assert sorted(r.id for r in records) == sorted(r.id for r in saved) and len(records) == 4
    assert all(controller.db.get(r.id) == r for r in records)  # what the window gets is what is stored
    assert not next(r for r in records if r.file_name == "g.png").assessable


def test_a_review_is_saved_and_a_flag_line_for_other_versions_is_refused(qtbot, controller, tmp_path):
    with qtbot.waitSignal(controller.sig_models_loaded, timeout=10000):
        controller.load_models()
    with qtbot.waitSignal(controller.sig_batch_done, timeout=20000) as done:
        controller.triage([str(skin_image(tmp_path / "a.png", 0.5))])
    case = done.args[1][0]
    record = controller.update_review(case.id, {"confirmed": ("melanoma", "histopathology"), "reviewed": True})
    assert record.reviewed and record.confirmed_label == "melanoma" and controller.db.get(case.id).reviewed
    shipped = controller.flag_rule
    site = {"kind": "site flag line", "version": "site-1"}
    mine = EnsembleRule.from_dict({**shipped.to_dict(), "threshold": 0.45, "site_rule": site})
    assert "site-1" in controller.use_site_rule(mine) and controller.flag_rule is mine
    other = mine.replace(members={**mine.members, "cnn": "cnn-older"})
    assert "made for other model versions" in controller.use_site_rule(other) and controller.flag_rule is mine
    assert "shipped flag line" in controller.use_site_rule(None) and controller.flag_rule == shipped
    actions = [(e["action"], e["detail"]) for e in controller.db.audit_trail()]
    assert actions[-2:] == [("clinic's flag line adopted for new cases", "site-1"),
                            ("shipped flag line used for new cases", "")]  # with who, as every entry


def test_a_failed_job_reaches_the_window_as_one_message(qtbot, tmp_path, monkeypatch):
    import melanoma_desktop.ui.main_window as main_window
    from trainer.api import TrainerError

    shown = []
    monkeypatch.setattr(main_window.QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))

    def broken_models(on_progress):
        raise TrainerError("the models folder /nowhere holds no bundle; train one first")

    window = main_window.MainWindow(tmp_path / "cases.sqlite3", broken_models)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.controller.sig_job_failed, timeout=10000):
        window.start_loading_models()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown == [("Loading models failed", "the models folder /nowhere holds no bundle; train one first")]


def test_the_shipped_flag_line_comes_back_after_a_reload_with_the_clinics_line_in_use(qtbot, tmp_path):
    from trainer.api import EnsembleRule

    classifier = FakeClassifier()
    shipped = classifier.base_ensemble
    clinic = EnsembleRule.from_dict({**shipped.to_dict(), "threshold": 0.45,
                                     "site_rule": {"kind": "site flag line", "version": "site-2"}})
    classifier.ensemble = clinic  # as load_models leaves it when the clinic's line applies
    controller = TriageController(tmp_path / "cases.sqlite3", lambda on_progress: classifier)
    with qtbot.waitSignal(controller.sig_models_loaded, timeout=10000):
        controller.load_models()
    assert controller.flag_rule is clinic
    controller.use_site_rule(None)
    assert controller.flag_rule is shipped
    controller.close()


def test_saved_cases_are_shown_on_the_flag_line_in_use_and_other_versions_are_marked(qtbot, controller, tmp_path):
    from melanoma_desktop.core.risk_scale import shown_with

    with qtbot.waitSignal(controller.sig_models_loaded, timeout=10000):
        controller.load_models()
    with qtbot.waitSignal(controller.sig_batch_done, timeout=20000) as done:
        controller.triage([str(skin_image(tmp_path / "a.png", 0.5))])  # 50%: below the shipped line (60%)
    case = done.args[1][0]
    shipped = controller.flag_rule
    mine = EnsembleRule.from_dict({**shipped.to_dict(), "threshold": 0.45,
                                   "site_rule": {"kind": "site flag line", "version": "site-1"}})
    controller.use_site_rule(mine)
    shown = controller.worklist("all")[0]
    assert shown.flagged and not controller.db.get(case.id).flagged  # shown on the new line; stored as read
    assert shown.first_read_with == controller.db.get(case.id).ensemble and shown.consensus.rule == "clinic flag line"
    assert controller.worklist("flagged") == [shown]  # filters see what the rows show
    other = mine.replace(members={**mine.members, "cnn": "cnn-older"})
    marked = shown_with(controller.db.get(case.id), other)
    assert marked.other_models and marked.first_read_with is None and not marked.flagged  # as it was read
    assert shown_with(controller.db.get(case.id), shipped) == controller.db.get(case.id)  # nothing to change
