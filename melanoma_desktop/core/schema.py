"""The case database's schema, as the migrations that build it: ``MIGRATIONS[i]`` takes a database from
version ``i`` to ``i + 1`` (``PRAGMA user_version``) in one transaction (core/database.py runs them)."""

MIGRATIONS = [
    # 0 -> 1
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        thumbnail BLOB,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        mean_p_malignant REAL NOT NULL,
        n_malignant INTEGER NOT NULL,
        n_models INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        clinician_label TEXT,
        reviewed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE predictions (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        p_malignant REAL NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (case_id, model)
    );
    CREATE INDEX cases_risk ON cases(mean_p_malignant DESC);
    """,
    # 1 -> 2: the quality gate's verdict per case (JSON: ok, flags, measures)
    """
    ALTER TABLE cases ADD COLUMN quality TEXT NOT NULL DEFAULT '{}';
    """,
    # 2 -> 3: Grad-CAM heatmaps cached per case and model version (grey PNG, 0-255)
    """
    CREATE TABLE heatmaps (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        png BLOB NOT NULL,
        PRIMARY KEY (case_id, model)
    );
    """,
    # 3 -> 4: the ensemble rule the case was read with (JSON: members, threshold), and whether the
    # case is flagged (a model or the ensemble above its threshold)
    """
    ALTER TABLE cases ADD COLUMN ensemble TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE cases ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
    UPDATE cases SET flagged = (n_malignant > 0);
    """,
    # 4 -> 5: one combined risk and flag per case (derived columns, refilled from the stored predictions by
    # _refresh_derived), images that cannot be assessed, the clinician's management decision, the
    # assessment's new words (malignant -> melanoma), and an audit trail that holds no image data
    """
    ALTER TABLE cases ADD COLUMN risk REAL;
    ALTER TABLE cases ADD COLUMN assessable INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE cases ADD COLUMN assess_anyway INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cases ADD COLUMN management TEXT;
    UPDATE cases SET clinician_label = 'melanoma' WHERE clinician_label = 'malignant';
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # 5 -> 6: the confirmed diagnosis (benign / melanoma / other malignant), its source and date, apart from
    # the clinician's first assessment
    """
    ALTER TABLE cases ADD COLUMN confirmed_label TEXT;
    ALTER TABLE cases ADD COLUMN confirmed_source TEXT;
    ALTER TABLE cases ADD COLUMN confirmed_at TEXT;
    """,
    # 6 -> 7: patients (an ID the clinic chooses; name and birth date only here), their lesions, and each
    # case's lesion and visit date
    """
    CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        birth_date TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE lesions (
        id INTEGER PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        body_site TEXT NOT NULL DEFAULT '',
        excised INTEGER NOT NULL DEFAULT 0,
        outcome TEXT NOT NULL DEFAULT '',
        UNIQUE (patient_id, label)
    );
    ALTER TABLE cases ADD COLUMN lesion_id INTEGER REFERENCES lesions(id) ON DELETE SET NULL;
    ALTER TABLE cases ADD COLUMN taken_at TEXT;
    """,
    # 7 -> 8: what each model's head read (its embedding, float16 bytes), per case, model and the version whose
    # features they are; kept for adapting the models to the clinic (core.adaptation_job)
    """
    CREATE TABLE embeddings (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        dtype TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (case_id, model, version)
    );
    """,
    # 8 -> 9: a patient's sex, entered in the window (Patient details) or read from a DICOM header; who did what
    # (core.clinicians): each audit entry's clinician, and who last reviewed a case and who confirmed its diagnosis;
    # each import of confirmed diagnoses with the values it replaced, so that it can be undone as one step
    """
    ALTER TABLE patients ADD COLUMN sex TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN who TEXT NOT NULL DEFAULT '';
    ALTER TABLE cases ADD COLUMN reviewed_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE cases ADD COLUMN reviewed_at TEXT;
    ALTER TABLE cases ADD COLUMN confirmed_by TEXT NOT NULL DEFAULT '';
    CREATE TABLE confirmed_imports (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        file TEXT NOT NULL,
        previous TEXT NOT NULL,
        undone_at TEXT
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
