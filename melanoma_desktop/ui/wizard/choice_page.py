"""Wizard page 0: what to do. Adapting the models to the clinic's confirmed cases comes first (minutes, with the
evidence before anything changes); training new models from a labelled folder second (hours on a CPU)."""

from __future__ import annotations

from PySide6.QtWidgets import QCommandLinkButton, QLabel, QVBoxLayout, QWizardPage


class ChoicePage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle("What would you like to do?")
        layout = QVBoxLayout(self)
        self.adapt_button = QCommandLinkButton(
            "Adapt the models to this clinic",
            "Recommended. The models learn from the cases your clinic has confirmed (at least 20 melanomas and 50 "
            "benign lesions), in minutes; you see how they did on those cases before adopting anything.")
        self.adapt_button.clicked.connect(self.wiz.request_adaptation)
        layout.addWidget(self.adapt_button)
        self.train_button = QCommandLinkButton(
            "Train new models from a labelled folder",
            "For a folder of thousands of labelled images (benign/ and malignant/, or a labels.csv). Starts from "
            "ImageNet; takes hours on a computer without a graphics card.")
        self.train_button.clicked.connect(self.wiz.next)
        layout.addWidget(self.train_button)
        note = QLabel("Either way the models in use stay as they are until you adopt the new ones; Models > Versions "
                      "brings earlier ones back.")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addStretch(1)
