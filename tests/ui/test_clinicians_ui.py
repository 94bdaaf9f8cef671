"""Who is using the app, in the window (#30, item 6): nothing asked without a list; with one, chosen at start
(with a PIN when set), shown in the status bar, recorded with a review; the clinic's name on reports."""

from melanoma_desktop.core.clinicians import (
    Clinician,
    ClinicSettings,
    current_clinician,
    os_user,
    save_clinic_settings,
    set_current_clinician,
)

from fakes import skin_image
from qt_helpers import drop, make_window


def test_without_a_list_nothing_is_asked_and_the_computers_user_is_shown(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    assert window.clinicians.ask_at_start() is None
    assert window.clinicians.status_label.text() == f"Clinician: {os_user()}"
    assert not window.clinicians.switch_action.isEnabled()


def test_a_clinician_chosen_with_a_pin_is_recorded_with_the_review(qtbot, tmp_path):
    save_clinic_settings(tmp_path, ClinicSettings("Skin clinic", [Clinician("Dr A. Smith").with_pin("4821"),
                                                                  Clinician("Nurse B. Jones")]))
    window = make_window(qtbot, tmp_path)
    dialog = window.clinicians.ask_at_start()
    qtbot.addWidget(dialog)
    assert not window.centralWidget().isVisible()  # no patient's data behind the question
    dialog.names.setCurrentText("Dr A. Smith")
    dialog.pin.setText("1111")
    assert not dialog.apply() and "not Dr A. Smith's PIN" in dialog.error.text()
    assert current_clinician() == os_user()  # nobody chosen yet
    dialog.pin.setText("4821")
    assert dialog.apply()
    assert current_clinician() == "Dr A. Smith" and window.centralWidget().isVisible()
    assert window.clinicians.status_label.text() == "Clinician: Dr A. Smith · Skin clinic"
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "a.png", 0.6)])
    case_id = window.db.list()[0].id
    window.worklist.select_case(case_id)
    window.toggle_reviewed()
    assert window.db.get(case_id).reviewed_by == "Dr A. Smith"
    assert window.db.audit_trail()[-1]["who"] == "Dr A. Smith"
    assert window.case_view.who_label.text().startswith("Last changed by Dr A. Smith, ")


def test_the_clinic_settings_dialog_adds_and_removes_clinicians(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    dialog = window.clinicians.edit_settings()
    qtbot.addWidget(dialog)
    dialog.clinic_name.setText("Skin clinic")
    dialog.new_name.setText("Dr C. Lee")
    dialog.new_pin.setText("12")
    assert not dialog.add_clinician() and "4 or more digits" in dialog.error.text()
    dialog.new_pin.setText("123456")
    assert dialog.add_clinician() and dialog.clinician_list.item(0).text() == "Dr C. Lee  (PIN)"
    dialog.new_name.setText("Nurse D")
    assert dialog.add_clinician()
    dialog.clinician_list.setCurrentRow(1)
    dialog.remove_selected()
    dialog.accept()
    settings = window.clinicians.settings
    assert settings.clinic_name == "Skin clinic" and [c.name for c in settings.clinicians] == ["Dr C. Lee"]
    assert window.clinicians.switch_action.isEnabled()
    assert (tmp_path / "clinic.json").is_file()


def test_cancelling_the_question_at_start_closes_the_window(qtbot, tmp_path):
    save_clinic_settings(tmp_path, ClinicSettings("", [Clinician("Dr A. Smith")]))
    window = make_window(qtbot, tmp_path)
    dialog = window.clinicians.ask_at_start()
    qtbot.addWidget(dialog)
    dialog.reject()
    assert not window.isVisible()


def test_putting_models_in_use_is_audited_with_who(qtbot, tmp_path):
    from types import SimpleNamespace

    window = make_window(qtbot, tmp_path)
    set_current_clinician("Dr A. Smith")
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.clinic.models_promoted([SimpleNamespace(name="cnn", version="cnn-20261204-1")])
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.clinic.version_restored("cnn", "cnn-20261101-1")
    trail = [(e["who"], e["action"], e["detail"]) for e in window.db.audit_trail()]
    assert trail[-2:] == [("Dr A. Smith", "retrained models put in use", "cnn cnn-20261204-1"),
                          ("Dr A. Smith", "model version put in use", "cnn cnn-20261101-1")]


def test_a_job_records_the_clinician_who_asked_for_it_even_after_another_takes_over(qtbot, tmp_path):
    import threading

    window = make_window(qtbot, tmp_path)
    set_current_clinician("Dr A. Smith")
    release = threading.Event()

    def audit_when_released(db, *_):
        release.wait(10)  # the job waits in the queue while the workstation changes hands
        db.audit("case exported to the record", "case #1")

    try:
        job = window.controller.run_on_database("Exporting", audit_when_released)  # held until released
        set_current_clinician("Dr B. Jones")
        with qtbot.waitSignal(job.signals.sig_done, timeout=10000):
            release.set()
        assert window.db.audit_trail()[-1]["who"] == "Dr A. Smith"
        assert current_clinician() == "Dr B. Jones"  # the GUI thread's clinician is untouched
    finally:
        release.set()
        set_current_clinician(None)
