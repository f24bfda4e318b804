"""The sleeves of an account's target (docs/rules.md, "Sleeves"): model, APM and protected.

A model sleeve follows a model; an APM sleeve holds target weights the adviser typed and
the shares it owns; a protected sleeve holds shares that are never traded. The model and
APM sleeves' ``weight_pct`` add up to 100: they share the account's unprotected value (the
protected sleeves take their own value, as the core's ``protected`` shares do).

Here the sleeves are checked and turned into one target for the account: the model
sleeves' lines blended by weight, then the APM sleeve's lines, which get their own slots in
the batch (an APM *twin* code per security, so that they are neither netted with a model
line of the same security nor put in an equivalents group). Errors name the field, e.g.
``sleeves: weight_pct of the model and apm sleeves must sum to 100, got 90``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trimtab.core.rules import AccountRules
from trimtab.errors import ScenarioError
from trimtab.io.rules import ProtectedPositionIn, ProtectedSleeveIn

if TYPE_CHECKING:
    from trimtab.io.scenario import ModelIn, ScenarioIn

WEIGHT_SUM_TOLERANCE = 1e-6
"""Percent points by which sleeve weights (or an APM sleeve's targets plus cash) may miss 100."""
SHARE_TOLERANCE = 1e-9
"""Shares by which the sleeves may appear to hold more than the account (float noise)."""
SLEEVE_TYPES = ("model", "apm", "protected")


def _percent(v: float) -> float:
    if not 0 <= v <= 100:
        raise ValueError(f"must be between 0 and 100, got {v:g}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApmTargetIn(_Strict):
    """A target the adviser typed: percent of the APM sleeve."""

    symbol: Annotated[str, Field(min_length=1)]
    target_pct: Annotated[float, Field(allow_inf_nan=False)]

    _pct = field_validator("target_pct")(_percent)


class ApmSleeveIn(_Strict):
    """An APM sleeve: ``weight_pct`` of the account, the adviser's ``targets`` (plus
    ``cash_pct``, summing to 100) and the shares of the account it holds (``positions``)."""

    type: Literal["apm"]
    weight_pct: Annotated[float, Field(allow_inf_nan=False)]
    cash_pct: Annotated[float, Field(allow_inf_nan=False)] = 0.0
    targets: list[ApmTargetIn] = []
    positions: list[ProtectedPositionIn] = []

    _pct = field_validator("weight_pct", "cash_pct")(_percent)


@dataclass(frozen=True, slots=True)
class TargetLine:
    """A line of the account's target, percent of account value (before protection)."""

    symbol: str
    target_pct: float
    min_pct: float
    max_pct: float
    sub_asset_class: str | None = None
    apm: bool = False


@dataclass(frozen=True, slots=True)
class AccountTarget:
    """The account's target: model lines (blended), then APM lines; the cash target
    (percent); and the shares of each security the APM sleeve holds."""

    lines: tuple[TargetLine, ...]
    cash_pct: float
    apm_shares: Mapping[str, float]

    @property
    def apm_symbols(self) -> tuple[str, ...]:
        """Securities with an APM line or APM shares, sorted."""
        return tuple(sorted({ln.symbol for ln in self.lines if ln.apm} | set(self.apm_shares)))


def check_sleeve_types(raw: Any) -> None:
    """Name an unknown or missing sleeve ``type`` before the schema's own wording does."""
    sleeves = raw.get("sleeves") if isinstance(raw, dict) else None
    if not isinstance(sleeves, list):
        return
    for i, sleeve in enumerate(sleeves):
        if not isinstance(sleeve, dict):
            continue
        if "type" not in sleeve:
            raise ScenarioError(f"sleeves[{i}].type", "required field is missing")
        if sleeve["type"] not in SLEEVE_TYPES:
            raise ScenarioError(
                f"sleeves[{i}].type",
                f"must be one of {', '.join(SLEEVE_TYPES)}, got {sleeve['type']!r}",
            )


def account_target(src: ScenarioIn, check_model: Callable[[ModelIn, str], None]) -> AccountTarget:
    """The account's target from ``model`` or from its model and APM sleeves, checked.

    ``check_model(model, where)`` checks one model (sums, bands, duplicates).
    """
    sized = [(i, s) for i, s in enumerate(src.sleeves) if not isinstance(s, ProtectedSleeveIn)]
    _check_duplicates(src)
    if not sized:
        if src.model is None:
            raise ScenarioError("model", "required field is missing")
        check_model(src.model, "model")
        return AccountTarget(_model_lines(src.model, 1.0), src.model.cash_pct, {})
    if src.model is not None:
        raise ScenarioError(
            "model",
            f"not with model or apm sleeves (sleeves[{sized[0][0]}]): "
            "give the model as a model sleeve",
        )
    apm = [i for i, s in sized if isinstance(s, ApmSleeveIn)]
    if len(apm) > 1:
        raise ScenarioError(f"sleeves[{apm[1]}].type", "at most one apm sleeve per account")
    total = sum(s.weight_pct for _, s in sized)
    if abs(total - 100.0) > WEIGHT_SUM_TOLERANCE:
        raise ScenarioError(
            "sleeves",
            f"weight_pct of the model and apm sleeves must sum to 100, got {total:.6g}",
        )
    blended: dict[str, list[float]] = {}
    classes: dict[str, str | None] = {}
    cash = 0.0
    apm_lines: tuple[TargetLine, ...] = ()
    apm_shares: dict[str, float] = {}
    for i, sleeve in sized:
        weight = sleeve.weight_pct / 100.0
        if isinstance(sleeve, ApmSleeveIn):
            _check_apm(src, i, sleeve)
            apm_lines = tuple(
                TargetLine(t.symbol, *(weight * t.target_pct,) * 3, apm=True)
                for t in sleeve.targets
            )
            cash += weight * sleeve.cash_pct
            apm_shares = {p.symbol: p.quantity for p in sleeve.positions}
            continue
        check_model(sleeve.model, f"sleeves[{i}].model")
        _check_prices(src, [s.symbol for s in sleeve.model.securities], f"sleeves[{i}].model")
        for ln in _model_lines(sleeve.model, weight):
            acc = blended.setdefault(ln.symbol, [0.0, 0.0, 0.0])
            acc[0] += ln.target_pct
            acc[1] += ln.min_pct
            acc[2] += ln.max_pct
            if classes.get(ln.symbol) is None:
                classes[ln.symbol] = ln.sub_asset_class
        cash += weight * sleeve.model.cash_pct
    lines = tuple(
        TargetLine(sym, t, lo, hi, classes.get(sym)) for sym, (t, lo, hi) in blended.items()
    )
    return AccountTarget(lines + apm_lines, cash, apm_shares)


def _model_lines(model: ModelIn, weight: float) -> tuple[TargetLine, ...]:
    """A model's lines scaled by the sleeve's ``weight`` (a fraction); missing bands are the
    target."""
    return tuple(
        TargetLine(
            s.symbol,
            weight * s.target_pct,
            weight * (s.target_pct if s.min_pct is None else s.min_pct),
            weight * (s.target_pct if s.max_pct is None else s.max_pct),
            s.sub_asset_class,
        )
        for s in model.securities
    )


def _check_prices(src: ScenarioIn, symbols: Sequence[str], where: str) -> None:
    for j, sym in enumerate(symbols):
        if sym not in src.prices:
            field = "securities" if where.endswith(".model") else "targets"
            raise ScenarioError(f"{where}.{field}[{j}].symbol", f"no price for {sym!r} in prices")


def _check_apm(src: ScenarioIn, i: int, sleeve: ApmSleeveIn) -> None:
    """An APM sleeve's targets plus cash sum to 100, and every target has a price."""
    where = f"sleeves[{i}]"
    total = sleeve.cash_pct + sum(t.target_pct for t in sleeve.targets)
    if abs(total - 100.0) > WEIGHT_SUM_TOLERANCE:
        raise ScenarioError(
            f"{where}.targets", f"target_pct plus cash_pct must sum to 100, got {total:.6g}"
        )
    _check_prices(src, [t.symbol for t in sleeve.targets], where)


def _check_duplicates(src: ScenarioIn) -> None:
    """A security appears at most once in each list of a sleeve."""
    for i, sleeve in enumerate(src.sleeves):
        lists: list[tuple[str, list[str]]] = [
            ("positions", [p.symbol for p in getattr(sleeve, "positions", [])])
        ]
        if isinstance(sleeve, ApmSleeveIn):
            lists.append(("targets", [t.symbol for t in sleeve.targets]))
        for name, symbols in lists:
            seen: dict[str, int] = {}
            for j, sym in enumerate(symbols):
                if sym in seen:
                    raise ScenarioError(
                        f"sleeves[{i}].{name}[{j}].symbol",
                        f"duplicate symbol {sym!r} in the sleeve (also {name}[{seen[sym]}])",
                    )
                seen[sym] = j


def check_sleeve_shares(src: ScenarioIn, held: Mapping[str, float]) -> None:
    """The shares the protected and APM sleeves hold, added up across sleeves, are at most
    the account's position (``held``: shares by symbol), and an APM sleeve holds no shares
    of a position given by tax lots (which lots would be the sleeve's is not said, and its
    sales would escape lot locks and gains)."""
    with_lots = {p.symbol for p in src.account.positions if p.lots}
    total: dict[str, float] = {}
    for s, sleeve in enumerate(src.sleeves):
        if sleeve.type == "apm":
            for j, pos in enumerate(sleeve.positions):
                if pos.symbol in with_lots:
                    raise ScenarioError(
                        f"sleeves[{s}].positions[{j}].symbol",
                        f"the position in {pos.symbol!r} is given by tax lots: an APM sleeve "
                        "cannot hold shares of it (which lots are the sleeve's is not known)",
                    )
        for j, pos in enumerate(getattr(sleeve, "positions", [])):
            total[pos.symbol] = total.get(pos.symbol, 0.0) + pos.quantity
            if total[pos.symbol] > held.get(pos.symbol, 0.0) + SHARE_TOLERANCE:
                raise ScenarioError(
                    f"sleeves[{s}].positions[{j}].quantity",
                    f"more than the {held.get(pos.symbol, 0.0):g} shares of {pos.symbol!r} held",
                )


def twin_rules(rules: AccountRules, twin: Mapping[int, int]) -> AccountRules:
    """``rules`` with each security's exclusions, locks, wash-sale history and short-term
    window laid on its APM twin too (``twin``: symbol code -> APM code).

    Equivalents groups, tax lots and protected shares stay with the security's own slot:
    APM lines ignore equivalents, and the APM sleeve's shares carry no lots.
    """

    def both(codes: frozenset[int]) -> frozenset[int]:
        return codes | {twin[c] for c in codes if c in twin}

    return replace(
        rules,
        exclusions=rules.exclusions
        + tuple(
            replace(ex, symbol=twin[ex.symbol], weight_symbol=ex.symbol)
            for ex in rules.exclusions
            if ex.symbol in twin
        ),
        gain_lock_symbols=both(rules.gain_lock_symbols),
        elective_locks=both(rules.elective_locks),
        transactions=rules.transactions
        + tuple(replace(t, symbol=twin[t.symbol]) for t in rules.transactions if t.symbol in twin),
        short_term_days={
            **rules.short_term_days,
            **{twin[c]: d for c, d in rules.short_term_days.items() if c in twin},
        },
        apm=frozenset(twin.values()),
    )
