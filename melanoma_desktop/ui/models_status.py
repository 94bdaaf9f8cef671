"""The line under the notice, in words: how many models are ready, which flag line or adapted models new cases are
read with, and why a clinic's own is not used. Said again whenever either changes (not only when models load)."""

from __future__ import annotations

from melanoma_desktop.core.wording import short_model_name, version_words

ERROR_STYLE = "color: #b3261e;"


def models_status(classifier) -> tuple[str, str, str]:
    """(text, style sheet, tooltip) of the line for a loaded Classifier."""
    infos = classifier.model_infos()
    available = [i for i in infos if i.available]
    parts, tooltip = [f"{len(available)} of {len(infos)} models ready"], ""
    missing = [info for info in infos if not info.available]
    if missing:  # the full reason and the fix are in each model's panel and tooltip
        parts.append(f"unavailable: {', '.join(short_model_name(i.display_name) for i in missing)} (see their panels)")
        tooltip = "\n\n".join(f"{i.display_name}: {i.reason}" for i in missing)
    site = classifier.ensemble.site_version if classifier.ensemble is not None else None
    adapted = classifier.site_models
    if adapted is not None:
        parts.append(f"models adapted to this clinic ({adapted.cases['melanomas']} melanomas, "
                     f"{adapted.cases['benign']} benign confirmed)")
    elif site:
        parts.append(f"flag line: the clinic's own ({version_words(site)})")
    elif infos:
        parts.append("flag line: the shipped one, not yet checked on your confirmed cases (Models > Local "
                     "performance)")
    parts += [note for note in (classifier.site_rule_note, classifier.site_models_note) if note]
    if not infos:
        return classifier.empty_reason or "No models are installed.", ERROR_STYLE + " font-weight: 600;", tooltip
    return " — ".join(parts), "" if len(available) == len(infos) else ERROR_STYLE, tooltip
