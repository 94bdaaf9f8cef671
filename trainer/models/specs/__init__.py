"""One module per architecture, each holding its :class:`trainer.models.spec.ArchitectureSpec` as ``SPEC`` and
its name as ``NAME``; trainer.models.registry lists them."""
