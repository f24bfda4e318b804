"""Exact bounded subset-sums over cents, for the optimisers' proofs.

Line ``j`` offers up to ``room_j`` units of ``cents_j`` each. The reachable sums (up to a
limit) are the set bits of a Python integer, built line by line with each line's count split
in powers of two (1, 2, 4, ..., rest); a snapshot of the reachable sums before each line is
kept as bytes, so that the counts of a chosen sum are recovered by walking the lines back.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Cents = npt.NDArray[np.int64]


def whole_cents(dollars: Vector) -> Cents | None:
    """``dollars`` in cents when each is a whole number of cents (to a millionth of a cent),
    else ``None``: the proofs count sums exactly over cents."""
    cents = np.round(dollars * 100.0)
    if not np.allclose(cents, dollars * 100.0, rtol=0.0, atol=1e-6):
        return None
    out: Cents = cents.astype(np.int64)
    return out


class Reach:
    """Sums reachable with ``k_j <= room_j`` units of ``cents_j``, up to ``limit`` cents."""

    def __init__(self, cents: Cents, room: Cents, limit: int) -> None:
        self.limit = limit
        self.lines = [int(j) for j in np.flatnonzero((room > 0) & (cents <= limit))]
        self.cents = [int(cents[j]) for j in self.lines]
        self.room = [int(room[j]) for j in self.lines]
        mask = (1 << (limit + 1)) - 1
        size = limit // 8 + 1
        reach = 1
        self.before: list[bytes] = []
        for c, r in zip(self.cents, self.room, strict=True):
            self.before.append(reach.to_bytes(size, "little"))
            left, piece = min(r, limit // c), 1
            while left > 0:
                k = min(piece, left)
                left -= k
                piece *= 2
                reach = (reach | (reach << (k * c))) & mask
        self.reach = reach

    def counts(self, total: int, width: int) -> Vector:
        """Units per line (``width`` lines) that sum to the reachable ``total`` cents."""
        out = np.zeros(width)
        for line, c, r, before in zip(
            reversed(self.lines),
            reversed(self.cents),
            reversed(self.room),
            reversed(self.before),
            strict=True,
        ):
            for k in range(min(r, total // c) + 1):
                t = total - k * c
                if (before[t >> 3] >> (t & 7)) & 1:
                    out[line] = k
                    total = t
                    break
        return out


def largest_at_most(cents: Cents, room: Cents, limit: int) -> Vector:
    """Units ``k_j <= room_j`` with the largest ``Σ k_j cents_j <= limit`` (cents)."""
    reach = Reach(cents, room, limit)
    return reach.counts(reach.reach.bit_length() - 1, cents.shape[0])


def smallest_at_least(cents: Cents, room: Cents, target: int, limit: int) -> Vector | None:
    """Units ``k_j <= room_j`` with the smallest ``Σ k_j cents_j >= target``, searched up
    to ``limit`` cents; ``None`` when no such sum is at most ``limit``."""
    reach = Reach(cents, room, limit)
    above = reach.reach >> target
    if above == 0:
        return None
    found = target + ((above & -above).bit_length() - 1)  # lowest reachable sum >= target
    return reach.counts(found, cents.shape[0])
