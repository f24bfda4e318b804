"""Pieces of the evaluation that need no database."""

from __future__ import annotations

import numpy as np

from trimtab.service.evaluate import REASONS, reason_texts


def test_reason_texts_spell_each_row() -> None:
    matrix = np.zeros((4, len(REASONS)), dtype=bool)
    matrix[0, REASONS.index("out_of_band")] = True
    matrix[0, REASONS.index("cash_high")] = True
    matrix[2, REASONS.index("target_changed")] = True
    matrix[3] = matrix[0]
    assert reason_texts(matrix) == [
        "out_of_band,cash_high",
        "",
        "target_changed",
        "out_of_band,cash_high",
    ]


def test_reason_texts_of_no_rows() -> None:
    assert reason_texts(np.zeros((0, len(REASONS)), dtype=bool)) == []
