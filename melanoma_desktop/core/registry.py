"""Which model versions are active, in the user's data folder (never the install folder).

Layout: ``ROOT/versions/<name>/<version>/`` holds every promoted bundle; ``ROOT/active.json``
maps each model name to its active version. Promotion copies the bundle in, then replaces
``active.json`` in one atomic step; the previous version stays and can be restored.
``ROOT/ensembles/*.json`` keeps the ensemble rule of each training run promoted from (its members'
versions, calibration and threshold); the app uses one only while exactly its members are active.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from melanoma_desktop.core.local_performance import SiteRuleRefused, validate_site_rule
from melanoma_desktop.core.site_models import SiteModelsRefused, read_site_model_file
from trainer.bundle.cards import ENSEMBLE_FILE, find_bundles, read_card, read_ensemble
from trainer.bundle.ensemble_rule import EnsembleRule


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    directory: Path
    created_at: str
    active: bool


class ModelRegistry:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def _active_file(self) -> Path:
        return self.root / "active.json"

    def active(self) -> dict[str, str]:
        try:
            return json.loads(self._active_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write_active(self, mapping: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._active_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(mapping, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._active_file)  # the switch: one atomic rename

    def version_dir(self, name: str, version: str) -> Path:
        return self.root / "versions" / name / version

    def active_bundle_dirs(self, fallback: str | os.PathLike | None = None) -> list[Path]:
        """Active bundles; models never promoted come from ``fallback`` (e.g. the shipped ones)."""
        dirs = {}
        if fallback is not None:
            for d in find_bundles(fallback):
                dirs[d.name] = d
        for name, version in self.active().items():
            path = self.version_dir(name, version)
            if (path / "card.json").is_file():
                dirs[name] = path
        return [dirs[k] for k in sorted(dirs)]

    def promote(self, bundle_dir: str | os.PathLike) -> ModelVersion:
        """Copy a trained bundle in and make it the active version of its model."""
        card = read_card(bundle_dir)
        name, version = card.name, card.version
        target = self.version_dir(name, version)
        if not target.exists():
            tmp = target.with_name(f".{version}.incoming")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(bundle_dir, tmp)
            os.replace(tmp, target)
        self._write_active({**self.active(), name: version})
        return self._version(name, version)

    def keep_ensemble(self, run_dir: str | os.PathLike) -> Path | None:
        """Keep the ensemble rule of a training run (its ensemble.json), named by its members' versions;
        None when the run has none."""
        rule = read_ensemble(run_dir)
        if rule is None:
            return None
        target = self.root / "ensembles" / ("+".join(sorted(rule.members.values())) + ".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(Path(run_dir) / ENSEMBLE_FILE, tmp)
        os.replace(tmp, target)
        return target

    def ensemble_files(self) -> list[Path]:
        """The kept ensemble rules, newest first."""
        folder = self.root / "ensembles"
        files = list(folder.glob("*.json")) if folder.is_dir() else []
        return sorted(files, key=lambda f: f.stat().st_mtime, reverse=True)

    def restore(self, name: str, version: str) -> ModelVersion:
        if not (self.version_dir(name, version) / "card.json").is_file():
            raise FileNotFoundError(f"no version {version} of {name} in {self.root}")
        self._write_active({**self.active(), name: version})
        return self._version(name, version)

    def _version(self, name: str, version: str) -> ModelVersion:
        path = self.version_dir(name, version)
        card = read_card(path)
        return ModelVersion(name, version, path, card.created_at, self.active().get(name) == version)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        base = self.root / "versions"
        names = [name] if name else sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        out = []
        for n in names:
            for path in sorted((base / n).iterdir()) if (base / n).is_dir() else []:
                if (path / "card.json").is_file():
                    out.append(self._version(n, path.name))
        return sorted(out, key=lambda v: (v.name, v.created_at), reverse=False)

    # -- the clinic's flag line ----------------------------------------------------------------
    # ROOT/site_rules/<version>.json holds every site rule made or imported; ROOT/site_rule.json names the
    # active one ({"version": v}, or {"version": null} for the shipped flag line), replaced atomically.
    @property
    def _site_rules_dir(self) -> Path:
        return self.root / "site_rules"

    def keep_site_rule(self, rule: EnsembleRule | dict) -> Path:
        """Store a site rule (made here, or an imported file's content) under its version; returns its file."""
        rule = validate_site_rule(rule.to_dict() if isinstance(rule, EnsembleRule) else rule)
        target = self._site_rules_dir / f"{rule.site_version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rule.to_dict(), indent=2), encoding="utf-8")
        os.replace(tmp, target)
        return target

    def site_rules(self) -> list[EnsembleRule]:
        """Every kept site rule, newest first (a file that is unreadable or malformed is passed over)."""
        folder = self._site_rules_dir
        rules = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            rule = self._read_site_rule(path)
            if rule is not None:
                rules.append(rule)
        return sorted(rules, key=lambda r: r.site_rule.created_at, reverse=True)

    @staticmethod
    def _read_site_rule(path: Path) -> EnsembleRule | None:
        try:
            return validate_site_rule(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, ValueError, SiteRuleRefused):
            return None

    def activate_site_rule(self, version: str | None) -> None:
        """Make a kept site rule the flag line for new cases; ``None`` goes back to the shipped flag line."""
        if version is not None and not (self._site_rules_dir / f"{version}.json").is_file():
            raise FileNotFoundError(f"no site rule {version} in {self._site_rules_dir}")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "site_rule.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": version}), encoding="utf-8")
        os.replace(tmp, path)

    def active_site_rule(self) -> EnsembleRule | None:
        try:
            version = json.loads((self.root / "site_rule.json").read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return None
        if not version:
            return None
        return self._read_site_rule(self._site_rules_dir / f"{version}.json")

    # -- the clinic's adapted models ---------------------------------------------------------------
    # ROOT/site_models/<version>.json holds every site model set made or imported (core.site_models);
    # ROOT/site_models.json names the active one ({"version": v}, or {"version": null}: the installed models as
    # they are), replaced atomically: a set is written whole before it is named, so a crash leaves either.
    @property
    def _site_models_dir(self) -> Path:
        return self.root / "site_models"

    def keep_site_models(self, site_models) -> Path:
        """Store a site model set (made here, or imported) under its version; returns its file."""
        target = self._site_models_dir / f"{site_models.version}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(site_models.to_dict()), encoding="utf-8")
        os.replace(tmp, target)
        return target

    def site_model_sets(self) -> list:
        """Every kept site model set, newest first (an unreadable or malformed file is passed over)."""
        sets = []
        for path in sorted(self._site_models_dir.glob("*.json")) if self._site_models_dir.is_dir() else []:
            try:
                sets.append(read_site_model_file(path))
            except SiteModelsRefused:
                continue
        return sorted(sets, key=lambda s: s.created_at, reverse=True)

    def site_models_file(self, version: str) -> Path:
        return self._site_models_dir / f"{version}.json"

    def activate_site_models(self, version: str | None) -> None:
        """Make a kept site model set the models for new cases; ``None`` goes back to the installed models."""
        if version is not None and not self.site_models_file(version).is_file():
            raise FileNotFoundError(f"no site model set {version} in {self._site_models_dir}")
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "site_models.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": version}), encoding="utf-8")
        os.replace(tmp, path)

    def active_site_models(self):
        """The active site model set, or None (none chosen, or its file unreadable)."""
        try:
            version = json.loads((self.root / "site_models.json").read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return None
        if not version:
            return None
        try:
            return read_site_model_file(self.site_models_file(version))
        except SiteModelsRefused:
            return None
