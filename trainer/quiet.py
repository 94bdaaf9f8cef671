"""A quiet console: the headless commands print their own output, not TensorFlow's start-up chatter.

:func:`quiet_tensorflow` must run before TensorFlow or Keras is first imported. It sets TensorFlow's
C++ log level (``TF_CPP_MIN_LOG_LEVEL=3``) and the Python loggers of TensorFlow and absl to errors
only. A variable the user set is kept: ``TF_CPP_MIN_LOG_LEVEL=0 melanoma-desktop triage ...`` shows
everything again when debugging.

TensorFlow 2.21 writes a few lines while its libraries load, before its log level applies (absl's
"All log messages before absl::InitializeLog() is called are written to STDERR", then oneDNN's notice,
and on a GPU build without CUDA the CUDA stub's). :func:`import_tensorflow_quietly` imports it with the
process's standard error captured and writes back every line except those known start-up notices, so
a real error still reaches the console.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile

STARTUP_NOTICES = (
    "All log messages before absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cudart_stub.cc",
    "Could not find cuda drivers",
    "Unable to register cuDNN factory", "Unable to register cuFFT factory", "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "failed call to cuInit",
)


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("2", "3"):
        for name in ("tensorflow", "absl", "h5py"):
            logging.getLogger(name).setLevel(logging.ERROR)


def is_startup_notice(line: str) -> bool:
    return any(notice in line for notice in STARTUP_NOTICES)


@contextlib.contextmanager
def stderr_without_startup_notices():
    """Capture file descriptor 2 (where C++ libraries write), then replay all but the start-up notices."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real standard error (a windowed frozen app)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines()
                    if line.strip() and not is_startup_notice(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (and Keras) now, without its start-up notices when the log level asks for quiet."""
    quiet_tensorflow()
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") not in ("2", "3"):
        return
    with stderr_without_startup_notices():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
