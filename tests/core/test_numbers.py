"""The one formatter of a number with its 95 % interval."""

from melanoma_desktop.core.numbers import with_ci


def test_proportions_and_aucs_with_and_without_intervals():
    assert with_ci(0.7875, [0.7314, 0.8345]) == "78.8% (73.1–83.5)"
    assert with_ci(0.878, (0.834, 0.9184), pct=False) == "0.878 (0.834–0.918)"
    assert with_ci(0.6, [None, None]) == "60.0%" and with_ci(0.6, [0.5, float("nan")]) == "60.0%"
    assert with_ci(None) == "n/a" and with_ci(float("nan"), [0.1, 0.2]) == "n/a"
