"""The evidence of an adaptation (core.adaptation.compare) in a clinician's words, for the dialog, the command
line and the user guide alike."""

from __future__ import annotations


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _range(ci) -> str:
    return f"{ci[0]:.0%}–{ci[1]:.0%}"


def _auc(value: float, ci) -> str:
    return f"{value:.2f} ({ci[0]:.2f}–{ci[1]:.2f})"


def _signed(value: float, ci, scale: float = 1.0, digits: int = 2) -> str:
    fmt = f"{{:+.{digits}f}}"
    return f"{fmt.format(value * scale)} ({fmt.format(ci[0] * scale)} to {fmt.format(ci[1] * scale)})"


def evidence_sentences(evidence: dict) -> list[str]:
    """Headline first: how the two sets ranked and flagged the clinic's confirmed cases."""
    before, after, d, cases = evidence["active"], evidence["adapted"], evidence["difference"], evidence["cases"]
    n_mel, n_ben = cases["melanomas"], cases["benign"]
    lines = [
        f"On your {n_mel} confirmed melanomas and {n_ben} benign lesions, each judged by models adapted without it:",
        f"Ranking (1.0 = every melanoma above every benign lesion): models in use {_auc(before['auc'], before['auc_ci'])}, "
        f"adapted {_auc(after['auc'], after['auc_ci'])}; difference {_signed(d['auc'], d['auc_ci'])}.",
        f"At their flag line ({before['flag_line']:.0%}) the models in use caught {before['caught']} of {n_mel} "
        f"melanomas ({_pct(before['sensitivity'])}, {_range(before['sensitivity_ci'])}) and cleared {before['cleared']} "
        f"of {n_ben} benign lesions ({_pct(before['specificity'])}, {_range(before['specificity_ci'])}).",
        f"At the adapted flag line the adapted models caught {after['caught']} of {n_mel} "
        f"({_pct(after['sensitivity'])}, {_range(after['sensitivity_ci'])}) and cleared {after['cleared']} of {n_ben} "
        f"({_pct(after['specificity'])}, {_range(after['specificity_ci'])}).",
        f"Difference: melanomas caught {_signed(d['sensitivity'], d['sensitivity_ci'], 100, 0)} percentage points, "
        f"benign lesions cleared {_signed(d['specificity'], d['specificity_ci'], 100, 0)} percentage points.",
    ]
    return lines


def verdict(evidence: dict, offered: bool) -> str:
    d = evidence["difference"]
    if not offered:
        return ("The adapted models did not do at least as well as the models in use on your confirmed cases: keep "
                "the models in use.")
    if d["auc_ci"][0] > 0:
        return ("The adapted models ranked your confirmed cases better than the models in use (the whole range of the "
                "difference is above zero).")
    return ("The adapted models did at least as well as the models in use on your confirmed cases, but the range of "
            "the difference includes none: more confirmed cases would make this clearer.")
