"""Drift of many accounts at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions

BAND_TOLERANCE = 1e-9
"""Weights within this fraction of a band edge count as inside (floating-point noise)."""


@dataclass(frozen=True, slots=True)
class DriftResult:
    """Per-account drift.

    Attributes:
        value: account value in dollars, cash included, (N,).
        max_drift: largest absolute difference from target of any security, fraction of
            value (multiply by 100 for points), (N,).
        out_of_band: securities outside their band, held non-model securities included, (N,).
    """

    value: Dollars
    max_drift: Fractions
    out_of_band: npt.NDArray[np.int32]


def account_value(batch: AccountBatch) -> Dollars:
    """Cash plus market value of every holding, dollars, (N,)."""
    out: Dollars = batch.cash + np.einsum("ij,ij->i", batch.quantity, batch.price)
    return out


def drift(batch: AccountBatch) -> DriftResult:
    """Value, largest drift and count of out-of-band securities of every account.

    Padding slots hold zeros and never count. An account with no value has no drift.
    """
    weight = batch.quantity * batch.price
    value = batch.cash + np.einsum("ij->i", weight)
    scale = np.divide(1.0, value, out=np.zeros_like(value), where=value > 0)
    weight *= scale[:, None]
    diff = np.subtract(weight, batch.target)
    np.abs(diff, out=diff)
    max_drift = diff.max(axis=1) if batch.width else np.zeros_like(value)
    outside = (weight < batch.lower - BAND_TOLERANCE) | (weight > batch.upper + BAND_TOLERANCE)
    out_of_band = outside.sum(axis=1, dtype=np.int32)
    return DriftResult(value=value, max_drift=max_drift, out_of_band=out_of_band)
