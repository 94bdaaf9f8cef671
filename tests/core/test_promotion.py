"""The numbers and warnings the retraining wizard shows before a model is promoted (no Qt)."""

from melanoma_desktop.core.promotion import _metric_cells, promotion_warnings


def test_results_cells_carry_their_intervals():
    at_half = {"accuracy": 0.75, "accuracy_ci": [0.69, 0.8], "roc_auc": 0.859, "roc_auc_ci": [0.812, 0.901]}
    at_threshold = {"sensitivity": 0.875, "sensitivity_ci": [0.804, 0.923], "specificity": 0.6,
                    "specificity_ci": [None, None]}
    assert _metric_cells(at_half, at_threshold, 0.31) == ["75.0% (69.0–80.0)", "0.859 (0.812–0.901)",
                                                          "87.5% (80.4–92.3)", "60.0%", "0.310"]
    assert _metric_cells({"roc_auc": float("nan")}, {}, None) == ["n/a"] * 5


def test_promotion_warnings_name_a_model_worse_than_the_active_one_or_than_chance():
    new = {"cnn": {"roc_auc": 0.503, "roc_auc_ci": [0.428, 0.582]},
           "vgg16": {"roc_auc": 0.62, "roc_auc_ci": [0.48, 0.75]},
           "mobilenetv2": {"roc_auc": 0.841, "roc_auc_ci": [0.792, 0.888]}}
    active = {"cnn": {"at_half": {"roc_auc": 0.878, "roc_auc_ci": [0.834, 0.919]}},
              "mobilenetv2": {"at_half": {"roc_auc": 0.855, "roc_auc_ci": [0.811, 0.900]}}}
    warnings = promotion_warnings(new, active)
    assert len(warnings) == 2  # mobilenetv2's intervals overlap the active one's: no warning
    assert warnings[0].startswith("The new cnn is worse than the active one") and "0.503 vs 0.878" in warnings[0]
    assert warnings[1].startswith("The new vgg16 is not shown to be better than chance")
    assert promotion_warnings({"cnn": {"roc_auc": float("nan"), "roc_auc_ci": [None, None]}}, {}) == []
