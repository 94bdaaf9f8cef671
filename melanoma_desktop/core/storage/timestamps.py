"""When something happened, as the case database writes it: UTC, ISO 8601, to the second."""

from datetime import datetime, timezone


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
