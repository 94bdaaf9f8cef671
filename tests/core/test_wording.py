

def test_a_multi_source_card_names_each_source_and_the_left_out_one():
    from melanoma_desktop.core.wording import source_lines, training_sentence

    training = {"data": "ham10000 + derm7pt", "counts": {"train": {"benign": 90, "malignant": 10}},
                "sources": [{"data": "ham10000", "protocol": "extended",
                             "counts": {"train": {"benign": 60, "malignant": 6}, "val": {"benign": 9, "malignant": 1},
                                        "test": {"benign": 5, "malignant": 5}}},
                            {"data": "derm7pt", "protocol": "full", "left_out": True,
                             "counts": {"train": {"benign": 7, "malignant": 3}, "val": {"benign": 1, "malignant": 1},
                                        "test": {"benign": 1, "malignant": 1}}}]}
    assert source_lines(training) == [
        "ham10000 (extended split): train 66, validation 10, test 10 (melanomas 6 / 1 / 5)",
        "derm7pt: left out (never trained or tuned on), 14 images scored, 5 melanomas"]
    assert training_sentence(training).startswith("Learned from ham10000 + derm7pt, each source split on its own: 100")
    assert source_lines({"data": "ham10000"}) == []
