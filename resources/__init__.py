"""Data shipped with Melanoma triage desktop (installed as the package ``melanoma_resources``).

No code: model bundles (``models/``), the ImageNet backbones they were trained with (``backbones/``,
see ``backbones/NOTICE.md``), the image-quality gate (``quality/``) and icons. Find them with
``trainer.shipped.resources_dir()``.
"""
