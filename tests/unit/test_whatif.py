"""The what-if's pieces: the tax estimate's netting and the logics compared by default."""

from __future__ import annotations

import numpy as np
import pytest

from trimtab.core.engine import Method
from trimtab.errors import InputError
from trimtab.whatif.compare import amounts_for, check_amounts, chosen_logics
from trimtab.whatif.figures import TaxRates, estimated_tax


def test_tax_nets_short_and_long_term_as_on_a_return() -> None:
    short = np.array([200.0, -1000.0, 3000.0, -500.0, 1000.0, 1000.0])
    long = np.array([1200.0, 3000.0, -1000.0, -200.0, 500.0, 500.0])
    taxable = np.array([True, True, True, True, True, False])
    tax = estimated_tax(short, long, taxable, TaxRates(short_term=37, long_term=20))
    # 37% x 200 + 20% x 1,200 = 74 + 240; a short-term loss of 1,000 leaves 2,000 long-term
    # at 20% = 400; a long-term loss leaves 2,000 short-term at 37% = 740; both losses: 0;
    # 370 + 100; a qualified account owes nothing
    assert tax.tolist() == [314.0, 400.0, 740.0, 0.0, 470.0, 0.0]


def test_tax_is_rounded_to_the_cent() -> None:
    tax = estimated_tax(np.array([33.33]), np.array([0.0]), np.array([True]), TaxRates(37, 20))
    assert tax.tolist() == [12.33]  # 12.3321


def test_every_logic_by_default_those_raising_cash_only_with_an_amount() -> None:
    plain = chosen_logics(None, {})
    assert Method.GENERATE_CASH not in plain and Method.WITHDRAWAL not in plain
    assert set(plain) == set(Method) - {Method.GENERATE_CASH, Method.WITHDRAWAL}
    assert set(chosen_logics(None, {"cash_to_generate": 500.0})) == set(Method)
    assert chosen_logics(" best_fit , deposit", {}) == (Method.BEST_FIT, Method.DEPOSIT)


def test_amounts_go_to_the_logics_that_use_them() -> None:
    amounts = {"cash_to_invest": 100.0, "min_trade_value": 50.0}
    assert amounts_for(Method.DEPOSIT, amounts) == amounts
    assert amounts_for(Method.BEST_FIT, amounts) == {"min_trade_value": 50.0}
    check_amounts([Method.BEST_FIT, Method.DEPOSIT], amounts)
    with pytest.raises(InputError) as err:
        check_amounts([Method.BEST_FIT], amounts)
    assert err.value.where == "cash_to_invest"
