"""The app's core: classification, records and storage. No Qt here; the UI wraps it."""
