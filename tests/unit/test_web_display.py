"""How the pages write numbers and draw the weights picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal

from trimtab.core.engine import Method
from trimtab.service.proposal_weights import WeightRow
from trimtab.web.charts import weights_chart
from trimtab.web.display import LOGICS, dollars, moment, pct, shares


def test_dollars_percent_shares() -> None:
    assert dollars(Decimal("1234567.5")) == "$1,234,567.50"
    assert dollars(Decimal("-0.004")) == "$0.00"
    assert dollars(Decimal("-12.3")) == "-$12.30"
    assert dollars(None) == ""
    assert pct(Decimal("55.555")) == "55.56%"
    assert pct(0) == "0.00%"
    assert shares(Decimal("12.00000000")) == "12"
    assert shares(Decimal("0.12500000")) == "0.125"
    assert shares(Decimal("1E+3")) == "1000"


def test_moment_in_chicago() -> None:
    assert moment(datetime(2026, 11, 20, 14, 0, tzinfo=UTC)) == "2026-11-20 08:00 CT"


def test_every_logic_named_best_fit_and_minimum_transaction_first() -> None:
    assert set(LOGICS) == {m.value for m in Method}
    assert list(LOGICS)[:2] == ["best_fit", "minimum_transaction"]


def test_chart_has_title_labels_and_escapes() -> None:
    rows = [
        WeightRow("A<B", Decimal("30"), Decimal("60"), Decimal("60")),
        WeightRow("X", Decimal("5"), None, Decimal("0")),
    ]
    svg = str(weights_chart(rows, title="Weights & more", ident="c1"))
    root = ET.fromstring(svg)  # well-formed, symbols escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Weights & more"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "A<B" in texts and "30.00%" in texts and "no target" in texts
    assert len([r for r in root.iter(f"{ns}rect") if r.get("class") == "bar-after"]) == 3
    assert "style=" not in svg  # the page's CSP allows no inline styles
