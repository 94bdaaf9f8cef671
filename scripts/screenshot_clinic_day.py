"""Screenshots of a clinic's working day at 1280 x 800, as a clinician meets it: the whole X screen, with the
window manager's title bars (run under Xvfb with a window manager, e.g. openbox).

    Xvfb :99 -screen 0 1280x800x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python scripts/screenshot_clinic_day.py --data ../shared/data/isic2017 --out docs

With the shipped models, reads some of ``--data``'s validation images (never trained on) into a new case
database, files the first ones under two patients (names, sides, visit dates), and saves:
main_window_1280.png (the worklist with its patient columns, a case with a heatmap laid over the image),
assign_dialog.png, patient_details_1280.png, import_preview_1280.png (a CSV with a conflicting diagnosis), clinic_settings_1280.png,
who_is_using_1280.png, local_performance_1280.png (a few cases: scripts/screenshot_local_performance.py
makes the user guide's), and the case, batch and follow-up reports' first pages (case_report.png,
batch_report.png, followup_report.png, with pdftoppm).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="a labels.csv data folder (its validation part is used)")
    parser.add_argument("--out", required=True, help="folder for the PNG files")
    parser.add_argument("--n-each", type=int, default=8)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from melanoma_desktop.core.classifier import default_models_dir, load_models
    from melanoma_desktop.core.clinicians import Clinician, ClinicSettings, save_clinic_settings, set_current_clinician
    from melanoma_desktop.core.patients import Identity
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.main_window import MainWindow

    data = Path(args.data)
    rows = [r for r in csv.DictReader(open(data / "labels.csv", encoding="utf-8-sig"))
            if r.get("source_split", "").strip() in ("val", "")]
    chosen = ([r for r in rows if r["label"] == "malignant"][: args.n_each]
              + [r for r in rows if r["label"] == "benign"][: args.n_each])
    home = Path(tempfile.mkdtemp())
    save_clinic_settings(home, ClinicSettings("Dermatology clinic, Example Hospital",
                                              [Clinician("Dr A. Smith").with_pin("4821"), Clinician("Dr B. Jones")]))
    set_current_clinician("Dr A. Smith")
    app = QApplication(sys.argv[:1])
    window = MainWindow(home / "cases.sqlite3", lambda on_progress: load_models(
        default_models_dir(), None, on_progress=on_progress), registry=ModelRegistry(home / "models"))
    window.clinicians.use("Dr A. Smith")
    window.showMaximized()
    steps = []

    def screen(name: str) -> None:
        app.processEvents()
        app.primaryScreen().grabWindow(0).save(str(out / name))  # the whole screen, title bars and all
        print(f"saved {out / name}")

    def run_next():
        if steps:
            steps.pop(0)()
        else:
            app.quit()

    def later(ms=700):
        QTimer.singleShot(ms, run_next)

    def on_ready(_infos):
        window.triage_paths([str(data / "images" / r["image"]) for r in chosen])

    def on_done(_outcome):
        records = sorted(window.db.list(), key=lambda r: r.file_name)
        people = [("P-0042", "Ann Lee", "1961-02-28", "female"), ("P-0107", "Tom Berg", "1955-09-12", "male")]
        for k, record in enumerate(records[:6]):
            pid, name, born, sex = people[k % 2]
            lesion, site = (("mole on shoulder", "left shoulder") if k % 2 == 0 else
                            (("forearm naevus", "right forearm"), ("nape lesion", "midline neck"))[k // 4])
            window.db.assign(record.id, Identity(pid, lesion, site,
                                                 f"2026-0{k % 9 + 1}-1{k % 9}", name, born, sex))
        confirmed = home / "pathology.csv"
        with open(confirmed, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "label", "source"])
            writer.writerows((r["image"], r["label"], "histopathology") for r in chosen)
        first = next(r for r in records if r.file_name == chosen[0]["image"])
        window.db.set_confirmed(first.id, "benign", "expert consensus")  # the CSV will disagree with this one
        window.reload_worklist()
        steps.extend([lambda: main_shot(), lambda: assign_shot(), lambda: patient_shot(), lambda: import_shot(confirmed),
                      lambda: settings_shot(), lambda: who_shot(), lambda: local_shot(), lambda: reports()])
        later(300)

    def main_shot():
        target = next(r for r in window.worklist_model.records if r.assessable and r.patient_id)
        view = window.case_view

        def shown(_case_id):
            window.sig_heatmaps_shown.disconnect(shown)
            view.overlay_box.setCurrentIndex(view.overlay_box.findData("vgg16"))
            QTimer.singleShot(600, lambda: (screen("main_window_1280.png"), later()))

        window.sig_heatmaps_shown.connect(shown)
        window.worklist.select_case(target.id)

    def assign_shot():
        dialog = window.cases.show_assign_dialog()  # the case's own patient, lesion and visit, to change or keep
        QTimer.singleShot(500, lambda: (screen("assign_dialog.png"), dialog.reject(), later()))

    def patient_shot():
        dialog = window.cases.show_patient_dialog()  # the selected case's patient
        QTimer.singleShot(500, lambda: (screen("patient_details_1280.png"), dialog.reject(), later()))

    def import_shot(confirmed):
        def shoot(dialog):  # the file is read off the GUI thread; the preview, then the import without it
            QTimer.singleShot(600, lambda: (screen("import_preview_1280.png"), dialog.reject(),
                                            window.clinic.import_confirmed(str(confirmed), replace_conflicting=False)))

        window.clinic.sig_import_previewed.connect(shoot, Qt.SingleShotConnection)
        window.clinic.sig_import_done.connect(lambda _summary: later(), Qt.SingleShotConnection)
        window.clinic.preview_import(str(confirmed))

    def settings_shot():
        dialog = window.clinicians.edit_settings()
        QTimer.singleShot(500, lambda: (screen("clinic_settings_1280.png"), dialog.reject(), later()))

    def who_shot():
        central = window.centralWidget()
        central.hide()  # as at start: no patient's data behind the question
        dialog = window.clinicians.ask_who()
        QTimer.singleShot(500, lambda: (screen("who_is_using_1280.png"), dialog.reject(), central.show(), later()))

    def local_shot():
        dialog = window.clinic.show_local_performance()
        dialog.sig_computed.connect(lambda _r: QTimer.singleShot(800, lambda: (screen("local_performance_1280.png"),
                                                                              dialog.reject(), later())))

    def reports():
        case_id = window.worklist.current_case_id()
        window.db.update_review(case_id, clinician_label="suspicious", management="excise", reviewed=True,
                                note="irregular network at 3 o'clock")
        written = QEventLoop()  # the case report is a job
        window.reports.sig_case_report_written.connect(lambda _path: written.quit(), Qt.SingleShotConnection)
        window.reports.write_case_report(case_id, str(home / "case.pdf"))
        written.exec()
        from melanoma_desktop.core.report import write_batch_pdf

        write_batch_pdf(home / "batch.pdf", window.controller.worklist("all"), window.model_infos(), case_pages=False,
                        title="Batch report (all)")
        from melanoma_desktop.core.followup_report import write_lesion_pdf

        write_lesion_pdf(home / "followup.pdf", window.db, "P-0042", "mole on shoulder")  # three visits
        for pdf, name in (("case.pdf", "case_report"), ("batch.pdf", "batch_report"), ("followup.pdf", "followup_report")):
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", "1", "-l", "1", str(home / pdf),
                            str(out / name)], check=True)
            print(f"saved {out / name}.png")
        later(100)

    window.sig_models_ready.connect(on_ready)
    window.sig_batch_finished.connect(on_done)
    QTimer.singleShot(100, window.start_loading_models)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
