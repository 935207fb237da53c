"""Evaluation metrics against hand-computed values, and every diagnostic plot renders."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from actkit.engine import metrics as M
from actkit.engine import plots

# The classic tiny ROC example: one positive is outranked by one negative -> AUC 3/4.
Y4, S4 = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])


def _brute_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney form: P(score_pos > score_neg) + 0.5 P(tie)."""
    pairs = list(itertools.product(s[y == 1], s[y == 0]))
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)


def test_confusion_matrix_three_classes():
    cm = M.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match="outside"):
        M.confusion_matrix([0, 3], [0, 1], 3)


def test_roc_pr_on_tiny_example():
    fpr, tpr, thr = M.roc_curve(Y4, S4)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert M.roc_auc(Y4, S4) == pytest.approx(0.75)
    precision, recall, _ = M.pr_curve(Y4, S4)
    np.testing.assert_allclose(precision, [1, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5, 1, 1])
    assert M.average_precision(Y4, S4) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_tied_scores_are_one_threshold():
    # Fully tied scores carry no ranking information, whatever order the samples come in.
    y, s = np.array([1, 1, 0, 0]), np.full(4, 0.5)
    fpr, tpr, _ = M.roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 1])
    np.testing.assert_allclose(tpr, [0, 1])
    assert M.roc_auc(y, s) == pytest.approx(0.5)
    assert M.average_precision(y, s) == pytest.approx(0.5)
    # Many partial ties: must match the pairwise definition exactly.
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 5, 200).astype(float)
    assert M.roc_auc(y, s) == pytest.approx(_brute_auc(y, s))


def test_auc_direction_and_monotonicity():
    assert M.auc([0, 1], [1, 1]) == pytest.approx(1.0)
    assert M.auc([1, 0.5, 0], [0, 1, 1]) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="increasing"):
        M.auc([0, 1, 0.5], [0, 1, 1])


def test_expected_calibration_error_hand_computed():
    ece, st = M.expected_calibration_error([0.9, 0.9, 0.6, 0.6], [1, 0, 1, 1])
    assert ece == pytest.approx(2 / 4 * 0.4 + 2 / 4 * 0.4)
    assert st["count"].sum() == 4 and len(st["edges"]) == 16
    # Extremes land in the outer bins, not outside them.
    _, st = M.expected_calibration_error([0.0, 1.0], [0, 1], bins=10)
    assert st["count"][0] == 1 and st["count"][-1] == 1
    assert np.isnan(st["accuracy"][5])


def test_tune_threshold_separable_and_plateau():
    t, f1 = M.tune_threshold([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert (t, f1) == (pytest.approx(0.7), pytest.approx(1.0))
    # Accuracy is 3/4 at thresholds 0.9 and 0.5 alike: the middle of that plateau is returned.
    y, s = np.array([0, 1, 0, 1]), np.array([0.1, 0.5, 0.5, 0.9])
    t, acc = M.tune_threshold(y, s, metric="accuracy")
    assert t == pytest.approx(0.7) and acc == pytest.approx(0.75)
    assert np.mean((s >= t) == y) == pytest.approx(acc)
    assert all(math.isnan(v) for v in M.tune_threshold([1, 1], [0.2, 0.9]))
    with pytest.raises(ValueError, match="unknown metric"):
        M.tune_threshold(y, s, metric="mcc")


def test_report_binary_hand_computed():
    y = np.array([1, 0, 1, 0])
    p1 = np.array([0.8, 0.3, 0.4, 0.6])
    r = M.classification_report(y, np.c_[1 - p1, p1], ["open", "closed"])
    json.dumps(r, allow_nan=False)
    # pred at 0.5 = [1, 0, 0, 1]: one TP, one TN, one FN, one FP.
    assert r["confusion"] == [[1, 1], [1, 1]]
    assert r["accuracy"] == pytest.approx(0.5) and r["f1"] == pytest.approx(0.5)
    assert r["macro_f1"] == pytest.approx(0.5) and r["balanced_accuracy"] == pytest.approx(0.5)
    assert r["roc_auc"] == pytest.approx(_brute_auc(y, p1)) == pytest.approx(0.75)
    assert r["brier"] == pytest.approx(np.mean((p1 - y) ** 2))
    assert r["nll"] == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.4, 0.4])))
    assert r["threshold"] == 0.5
    # Scores 0.8+, 0.6-, 0.4+, 0.3-: F1 peaks at 0.4 (tp=2, fp=1, fn=0 -> 4/5).
    assert r["tuned_threshold"] == pytest.approx(0.4) and r["f1_at_tuned"] == pytest.approx(0.8)
    r = M.classification_report(y, np.c_[1 - p1, p1], ["open", "closed"], threshold=0.7)
    assert r["threshold"] == 0.7 and r["per_class"]["closed"] == {
        "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}


def test_report_multiclass_hand_computed():
    y = np.array([0, 0, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 2, 0, 2])
    probs = np.full((6, 3), 0.1)
    probs[np.arange(6), pred] = 0.8
    r = M.classification_report(y, probs, ["a", "b", "c"])
    assert r["num_samples"] == 6 and r["accuracy"] == pytest.approx(4 / 6)
    assert r["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_class"]["b"]["precision"] == 0.5 and r["per_class"]["b"]["recall"] == 1.0
    f1_c = 2 * 1.0 * (2 / 3) / (1.0 + 2 / 3)
    assert r["macro_f1"] == pytest.approx((0.5 + 2 / 3 + f1_c) / 3)
    assert r["balanced_accuracy"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    assert r["brier"] == pytest.approx(np.mean(np.sum((probs - np.eye(3)[y]) ** 2, 1)))
    assert "tuned_threshold" not in r and "f1" not in r
    with pytest.raises(ValueError, match="binary"):
        M.classification_report(y, probs, ["a", "b", "c"], threshold=0.3)


def test_perfect_and_constant_classifiers():
    y = np.array([0, 1, 2, 1, 0, 2])
    perfect = np.full((6, 3), 0.005)
    perfect[np.arange(6), y] = 0.99
    r = M.classification_report(y, perfect, ["a", "b", "c"])
    assert r["accuracy"] == r["macro_f1"] == r["roc_auc"] == r["pr_auc"] == 1.0
    assert r["ece"] == pytest.approx(0.01)

    r = M.classification_report(y, np.full((6, 3), 1 / 3), ["a", "b", "c"])
    assert r["roc_auc"] == pytest.approx(0.5) and r["pr_auc"] == pytest.approx(1 / 3)
    yb = np.array([0, 1, 0, 1])
    r = M.classification_report(yb, np.full((4, 2), 0.5), ["neg", "pos"])
    # 0.5 >= 0.5 predicts everything positive.
    assert r["f1"] == pytest.approx(2 / 3) and r["per_class"]["neg"]["f1"] == 0.0
    assert r["macro_f1"] == pytest.approx(1 / 3) and r["balanced_accuracy"] == pytest.approx(0.5)
    assert r["roc_auc"] == pytest.approx(0.5) and r["ece"] == pytest.approx(0.0)


def test_absent_classes():
    y = np.array([0, 1, 0, 1])  # class 2 never occurs and is never predicted
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1]])
    r = M.classification_report(y, probs, ["a", "b", "c"])
    assert r["per_class"]["c"]["support"] == 0
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)  # c has no F1 to average
    assert r["roc_auc"] == pytest.approx(1.0)  # a and b separate perfectly; c is skipped
    # One class only: ranking metrics and the tuned threshold are undefined, not a crash.
    p1 = np.array([0.2, 0.9, 0.6])
    r = M.classification_report([1, 1, 1], np.c_[1 - p1, p1], ["neg", "pos"])
    json.dumps(r, allow_nan=False)
    assert r["roc_auc"] is None and r["tuned_threshold"] is None and r["f1_at_tuned"] is None
    assert r["pr_auc"] == pytest.approx(1.0)
    assert M.classification_report([0, 0], [[0.9, 0.1], [0.6, 0.4]], ["neg", "pos"])["pr_auc"] is None
    assert np.isnan(M.roc_auc([1, 1], [0.1, 0.2])) and np.isnan(M.average_precision([0, 0], [0.1, 0.2]))


def test_empty_and_invalid_inputs():
    with pytest.raises(ValueError, match="no samples"):
        M.classification_report(np.zeros(0, int), np.zeros((0, 3)), ["a", "b", "c"])
    for fn in (M.roc_curve, M.pr_curve, M.average_precision, M.tune_threshold):
        with pytest.raises(ValueError, match="empty"):
            fn([], [])
    with pytest.raises(ValueError, match="no samples"):
        M.expected_calibration_error([], [])
    with pytest.raises(ValueError, match="empty"):
        M.confusion_matrix([], [], 2)
    with pytest.raises(ValueError, match="softmax"):
        M.classification_report([0, 1], [[2.0, -1.0], [0.5, 0.5]], ["a", "b"])
    with pytest.raises(ValueError, match="distinct class names"):
        M.classification_report([0, 1], [[0.5, 0.5], [0.5, 0.5]], ["a", "a"])


def test_every_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 80)
    logits = rng.normal(size=(80, 4))
    logits[np.arange(80), y] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    names = ["walk", "run", "sit", "stand"]
    yb = (y > 1).astype(int)
    pb = np.c_[1 - probs[:, 2:].sum(1), probs[:, 2:].sum(1)]
    history = [{"epoch": e, "train_loss": 1 / (e + 1), "val_macro_f1": e / 5, "lr": 1e-3 * 0.5**e} for e in range(5)]
    del history[2]["val_macro_f1"]
    cm = M.confusion_matrix(y, probs.argmax(1), 4)
    written = [
        plots.plot_confusion(cm, names, tmp_path / "cm.png", normalize=False),
        plots.plot_confusion(rng.integers(0, 9, (30, 30)), [f"c{i}" for i in range(30)], tmp_path / "cm30.png"),
        plots.plot_roc(y, probs, names, tmp_path / "roc.png"),
        plots.plot_roc(yb, pb, ["no", "yes"], tmp_path / "roc_bin.png"),
        plots.plot_roc(np.ones(5, int), np.full((5, 2), 0.5), ["no", "yes"], tmp_path / "roc_one_class.png"),
        plots.plot_pr(y, probs, names, tmp_path / "pr.png"),
        plots.plot_pr(yb, pb, ["no", "yes"], tmp_path / "pr_bin.png"),
        plots.plot_reliability(y, probs, tmp_path / "rel.png", title="val"),
        plots.plot_history(history, tmp_path / "sub" / "hist.png"),
        plots.plot_history([], tmp_path / "hist_empty.png"),
        plots.plot_bars({"torch": 12.5, "onnx": 7.25}, tmp_path / "bars.png", xlabel="ms"),
        plots.plot_seeds({"p": [0.95, 0.93, 0.96], "sc_c": [0.97, 0.96], "one": [0.9]}, tmp_path / "seeds.png",
                         xlabel="test macro-F1", reference="p"),
        plots.plot_seeds({}, tmp_path / "seeds_empty.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        assert path.stat().st_size > 1000, path
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in written if p.parent == tmp_path] + ["sub"])


def test_part_accuracy_scores_each_part_of_the_predicted_class():
    from actkit.engine.metrics import part_accuracy

    parts = [("back", "1", "pike"), ("back", "2", "tuck"), ("fwd", "2", "pike")]
    y = np.array([0, 0, 1, 2])
    pred = np.array([0, 1, 2, 1])  # right; take-off right only; som right only; som right only
    r = part_accuracy(y, pred, parts, ("takeoff", "som", "position"))
    assert r["all"] == 0.25
    assert r["takeoff"]["accuracy"] == 0.5 and r["takeoff"]["values"] == {"back": 2 / 3, "fwd": 0.0}
    assert r["som"]["accuracy"] == 0.75 and r["som"]["values"] == {"1": 0.5, "2": 1.0}
    assert r["position"]["accuracy"] == 0.25
    assert list(part_accuracy(y, pred, parts))[:3] == ["part1", "part2", "part3"]
    with pytest.raises(ValueError, match="3 parts per class but 2"):
        part_accuracy(y, pred, parts, ("a", "b"))
    with pytest.raises(ValueError, match="y_pred has labels outside"):
        part_accuracy(y, np.array([0, 1, 2, 3]), parts)
