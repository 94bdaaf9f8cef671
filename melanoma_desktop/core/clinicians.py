"""Who is using the app, and the clinic's name on its reports.

A clinic keeps a list of its clinicians (each with an optional PIN) in ``clinic.json`` in the user data
folder. With no list, the app asks nothing: the clinician is the computer's own user (the OS login name).
With a list, the window asks at start who is using it. The chosen name is this process's clinician:
every assessment, review, note, confirmed diagnosis, import, adoption and erasure is recorded with it
(core/database.py reads it for each audit entry and each reviewed case).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from melanoma_desktop.core.private_files import create_private_file

CLINIC_FILE = "clinic.json"
_PIN_ROUNDS = 200_000
_current: str | None = None


class ClinicianError(ValueError):
    """A clinician list or PIN the program cannot accept; the message says what to change."""


@dataclass(frozen=True)
class Clinician:
    name: str
    pin_salt: str = ""  # hex; "" when the clinician has no PIN
    pin_hash: str = ""  # PBKDF2-SHA256 of the PIN, hex

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    def with_pin(self, pin: str) -> "Clinician":
        """This clinician with ``pin`` (4 or more digits) as their PIN, or none for an empty ``pin``."""
        if not pin:
            return Clinician(self.name)
        if not (pin.isdigit() and len(pin) >= 4):
            raise ClinicianError(f"a PIN is 4 or more digits; got {len(pin)} character(s)"
                                 + ("" if pin.isdigit() else ", not all digits"))
        salt = secrets.token_hex(16)
        return Clinician(self.name, salt, _pin_hash(pin, salt))

    def pin_matches(self, pin: str) -> bool:
        return not self.has_pin or secrets.compare_digest(_pin_hash(pin, self.pin_salt), self.pin_hash)


@dataclass
class ClinicSettings:
    clinic_name: str = ""
    clinicians: list[Clinician] = field(default_factory=list)

    @property
    def asks_at_start(self) -> bool:
        """With a list of clinicians the window asks who is using it; without one it asks nothing."""
        return bool(self.clinicians)

    def find(self, name: str) -> Clinician | None:
        return next((c for c in self.clinicians if c.name == name), None)

    def with_clinician(self, clinician: Clinician) -> "ClinicSettings":
        name = clinician.name.strip()
        if not name:
            raise ClinicianError("a clinician needs a name")
        others = [c for c in self.clinicians if c.name != name]
        return ClinicSettings(self.clinic_name, [*others, Clinician(name, clinician.pin_salt, clinician.pin_hash)])

    def without(self, name: str) -> "ClinicSettings":
        return ClinicSettings(self.clinic_name, [c for c in self.clinicians if c.name != name])


def load_clinic_settings(data_dir: str | Path) -> ClinicSettings:
    """The clinic's settings from ``data_dir/clinic.json``; empty ones when there is no file. A malformed file
    raises ClinicianError naming it."""
    path = Path(data_dir) / CLINIC_FILE
    if not path.is_file():
        return ClinicSettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ClinicSettings(str(raw.get("clinic_name", "")),
                              [Clinician(str(c["name"]), str(c.get("pin_salt", "")), str(c.get("pin_hash", "")))
                               for c in raw.get("clinicians", [])])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ClinicianError(f"cannot read {path}: {exc}; fix or remove the file") from None


def save_clinic_settings(data_dir: str | Path, settings: ClinicSettings) -> Path:
    path = Path(data_dir) / CLINIC_FILE
    tmp = create_private_file(path.with_suffix(".json.tmp"))  # PIN hashes and names: the owner's alone
    tmp.write_text(json.dumps({"clinic_name": settings.clinic_name,
                               "clinicians": [asdict(c) for c in settings.clinicians]}, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return path


def clinic_name(data_dir: str | Path) -> str:
    """The clinic's name for a report's heading; "" when none is set or the settings cannot be read."""
    try:
        return load_clinic_settings(data_dir).clinic_name
    except ClinicianError:
        return ""


def os_user() -> str:
    """The computer's login name: the clinician when the clinic keeps no list."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (some service accounts): still recorded as someone
        return "this computer's user"


def set_current_clinician(name: str | None) -> None:
    """The clinician using this process from now on (None: the OS user)."""
    global _current
    _current = name.strip() if name and name.strip() else None


_acting = threading.local()  # a job's clinician: the one using the app when the job was asked for


def current_clinician() -> str:
    """Who is using the app: on a job's thread, the clinician who asked for the job (``acting_clinician``)."""
    return getattr(_acting, "name", None) or _current or os_user()


@contextmanager
def acting_clinician(name: str):
    """On this thread, record what is written as done by ``name`` (a job asked for by one clinician may run
    after another has taken over the workstation)."""
    before = getattr(_acting, "name", None)
    _acting.name = name
    try:
        yield
    finally:
        _acting.name = before


def _pin_hash(pin: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), _PIN_ROUNDS).hex()
