"""Precision, recall and F1 of the duplicate decision on the labeled pairs, and the threshold
sweep that chose `THRESHOLD`: `python -m zentropy.dedup.calibration`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from zentropy.dedup.keys import DedupKeys, dedup_keys
from zentropy.dedup.score import THRESHOLD, decide
from zentropy.sources.contract import Posting

PAIRS = Path(__file__).parent / "data" / "labeled_pairs.jsonl"
HARD_CASES = [line for line in (PAIRS.parent / "hard_cases.jsonl").read_text().splitlines() if line.strip()]


class LabeledPair(msgspec.Struct):
    id: str
    kind: str
    duplicate: bool
    a: Posting
    b: Posting


class Quality(msgspec.Struct):
    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int


def load_pairs(path: Path = PAIRS) -> list[LabeledPair]:
    decoder = msgspec.json.Decoder(LabeledPair)
    return [decoder.decode(line) for line in path.read_bytes().splitlines() if line.strip()]


def quality(labels: Sequence[bool], predicted: Sequence[bool], threshold: float = float("nan")) -> Quality:
    tp = sum(1 for y, p in zip(labels, predicted) if y and p)
    fp = sum(1 for y, p in zip(labels, predicted) if not y and p)
    fn = sum(1 for y, p in zip(labels, predicted) if y and not p)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(threshold, round(precision, 4), round(recall, 4), round(f1, 4), tp, fp, fn, tn)


def pair_keys(pairs: Sequence[LabeledPair]) -> list[tuple[DedupKeys, DedupKeys]]:
    keys = dedup_keys([p.a for p in pairs] + [p.b for p in pairs])
    return list(zip(keys[: len(pairs)], keys[len(pairs):]))


def scores(pairs: Sequence[LabeledPair]) -> list[tuple[float, str]]:
    """(score, reason) per pair; vetoes score 0, same-URL matches 1."""
    out = []
    for a, b in pair_keys(pairs):
        decision = decide(a, b)
        out.append((decision.score, decision.reason))
    return out


def sweep(labels: Sequence[bool], values: Sequence[float], thresholds: Sequence[float]) -> list[Quality]:
    return [quality(labels, [v >= t for v in values], t) for t in thresholds]


def best_threshold(labels: Sequence[bool], values: Sequence[float]) -> Quality:
    """Highest F1; among ties, the middle of the best plateau (the widest margin either side)."""
    grid = [round(0.5 + i * 0.005, 3) for i in range(101)]
    results = sweep(labels, values, grid)
    top = max(r.f1 for r in results)
    plateau = [r for r in results if r.f1 == top]
    return plateau[len(plateau) // 2]


def evaluate(pairs: Sequence[LabeledPair], predict: Callable[[Sequence[LabeledPair]], list[bool]]) -> Quality:
    return quality([p.duplicate for p in pairs], predict(pairs))


def main() -> int:
    pairs = load_pairs()
    labels = [p.duplicate for p in pairs]
    values = [s for s, _ in scores(pairs)]
    best = best_threshold(labels, values)
    shipped = quality(labels, [v >= THRESHOLD for v in values], THRESHOLD)
    print(json.dumps({"pairs": len(pairs), "best": msgspec.to_builtins(best),
                      "shipped": msgspec.to_builtins(shipped)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
