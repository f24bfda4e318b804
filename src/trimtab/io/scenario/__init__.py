"""The scenario file of ``trimtab propose`` (docs/formats.md, proposal-format.md).

Parsed once here into frozen values; every error names the field path, e.g.
``model.securities[2].target_pct: must be between 0 and 100, got 120``.

The pieces, each a small private module re-exported here:

- ``_inputs``: the pydantic input models and the checks both kinds of scenario share;
- ``_account``: :func:`parse_scenario` and :func:`build_scenario`, one account as a book of
  one (:class:`Scenario`);
- ``_household``: :func:`parse_household`, a household's accounts as a book
  (:class:`HouseholdScenario`).
"""

from trimtab.io.scenario._account import ALL_METHODS, Scenario, build_scenario, parse_scenario
from trimtab.io.scenario._household import HouseholdScenario, parse_household
from trimtab.io.scenario._inputs import (
    WEIGHT_SUM_TOLERANCE,
    AccountIn,
    Finite,
    HouseholdAccountIn,
    HouseholdIn,
    HouseholdScenarioIn,
    LotIn,
    ModelIn,
    ModelSleeveIn,
    NonNegative,
    OptionsIn,
    PositionIn,
    ScenarioIn,
    SecurityIn,
    SleeveIn,
)

__all__ = [
    "ALL_METHODS",
    "WEIGHT_SUM_TOLERANCE",
    "AccountIn",
    "Finite",
    "HouseholdAccountIn",
    "HouseholdIn",
    "HouseholdScenario",
    "HouseholdScenarioIn",
    "LotIn",
    "ModelIn",
    "ModelSleeveIn",
    "NonNegative",
    "OptionsIn",
    "PositionIn",
    "Scenario",
    "ScenarioIn",
    "SecurityIn",
    "SleeveIn",
    "build_scenario",
    "parse_household",
    "parse_scenario",
]
