"""The one place the architectures are registered: :func:`spec` gives one's
:class:`~trainer.models.spec.ArchitectureSpec`, :func:`names` all of them in the trainer's order (cnn, vgg16,
mobilenetv2), how every screen, table and configuration lists them. Adding an architecture is one module in
``trainer/models/specs/`` and one line here (or :func:`register` at run time). No Keras at import."""

from __future__ import annotations

from trainer.errors import ConfigError
from trainer.models.spec import ArchitectureSpec
from trainer.models.specs import cnn, mobilenetv2, vgg16

_SPECS: dict[str, ArchitectureSpec] = {s.name: s for s in (cnn.SPEC, vgg16.SPEC, mobilenetv2.SPEC)}


class UnknownArchitectureError(ConfigError):
    """A name no registered architecture has."""


class ArchitectureAlreadyRegisteredError(ConfigError):
    """:func:`register` was given a name that is taken."""


def names() -> tuple[str, ...]:
    return tuple(_SPECS)


def transfer_names() -> tuple[str, ...]:
    """The architectures on a frozen ImageNet base (those that can be fine-tuned)."""
    return tuple(name for name, s in _SPECS.items() if not s.from_scratch)


def retrained_with_extra_data() -> tuple[str, ...]:
    """The models the benchmark retrains with extra data unless told otherwise (``extra_data_by_default``)."""
    return tuple(name for name, s in _SPECS.items() if s.extra_data_by_default)


def spec(name: str) -> ArchitectureSpec:
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise UnknownArchitectureError(f"unknown model {name!r}; use one or more of {', '.join(_SPECS)}") from None


def check_architecture(name: str) -> str:
    """``name`` when an architecture is registered under it; else :class:`UnknownArchitectureError`."""
    return spec(name).name


def register(new: ArchitectureSpec) -> None:
    """Add an architecture after the built-in ones (a plug-in, a test's toy model)."""
    if new.name in _SPECS:
        raise ArchitectureAlreadyRegisteredError(f"an architecture named {new.name!r} is already registered")
    _SPECS[new.name] = new


def unregister(name: str) -> None:
    spec(name)
    del _SPECS[name]
