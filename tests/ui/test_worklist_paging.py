"""The worklist asks the database for what it shows: a page of rows at a time, thumbnails only for the rows on
screen, sorting and search done by the database, and a new case added without reloading the rest."""

from PySide6.QtCore import Qt

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.ui.worklist import WorklistModel, WorklistView

from storage_records import _record


class CountingSource:
    """The controller's worklist methods over a real database, counting what the list asks for."""

    def __init__(self, db):
        self.db, self.pages, self.thumbnail_ids = db, [], []

    def worklist_summary(self, query):
        return self.db.worklist_summary(query)

    def worklist_page(self, query, offset, limit):
        self.pages.append(offset)
        return self.db.worklist_page(query, offset, limit)

    def worklist_thumbnails(self, ids):
        self.thumbnail_ids += list(ids)
        return self.db.thumbnails(ids)

    def worklist_position(self, query, case_id):
        return self.db.worklist_position(query, case_id)


def test_rows_come_a_page_at_a_time_and_thumbnails_only_for_the_rows_on_screen(qtbot, tmp_path):
    db = CaseDatabase(tmp_path / "c.db")
    for i in range(350):
        db.save(_record(f"case-{i:04d}", (i / 400, i / 400, i / 400), name=f"case-{i:04d}"))
    source = CountingSource(db)
    model = WorklistModel()
    view = WorklistView(model)
    qtbot.addWidget(view)
    view.resize(900, 600)
    model.set_source(source)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: bool(source.thumbnail_ids))  # painted
    assert model.rowCount() == 350 and source.pages == [0]  # the first page only
    assert 0 < len(source.thumbnail_ids) <= 40  # the rows on screen (and a few around them), not 350
    assert model.data(model.index(0, WorklistModel.IMAGE)) == "case-0349.jpg"  # highest risk first
    view.scrollToBottom()
    qtbot.waitUntil(lambda: 300 in source.pages)
    assert sorted(set(source.pages)) in ([0, 300], [0, 200, 300])  # the last page read, not every one between
    view.horizontalHeader().setSortIndicator(WorklistModel.IMAGE, Qt.AscendingOrder)  # a click on "Image"
    assert model.data(model.index(0, WorklistModel.IMAGE)) == "case-0000.jpg"
    model.set_search("CASE-012")
    assert model.rowCount() == 10 and {r.file_name for r in model.records} == {f"case-012{i}.jpg" for i in range(10)}
    model.set_search("")
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    view.selectRow(5)
    chosen = view.current_case_id()
    added = db.save(_record("new", (0.99, 0.99, 0.99), name="aaa-new"))
    model.refresh([added.id])  # a batch's case arrives
    assert model.rowCount() == 351 and not resets and model.row_of(added.id) == 0  # sorted by name: first
    view.select_case(chosen)
    assert view.current_case_id() == chosen and view.currentIndex().row() == 6  # the clinician's case, moved down
    db.close()
