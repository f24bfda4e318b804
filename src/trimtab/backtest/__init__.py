"""Backtests of rebalancing policies: a book replayed day by day with the engine itself.

- :mod:`~trimtab.backtest.history`: the price history and cash flows read from files;
- :mod:`~trimtab.backtest.generate`: seeded histories (correlated random walks);
- :mod:`~trimtab.backtest.setup`: the book, its rules and starting lots;
- :mod:`~trimtab.backtest.policies`: which accounts trade on which days;
- :mod:`~trimtab.backtest.evaluation`: the service's daily triggers on the previous close;
- :mod:`~trimtab.backtest.trading`: proposals through the pipeline, fills, lots;
- :mod:`~trimtab.backtest.run`: the daily loop; :mod:`~trimtab.backtest.tax`;
- :mod:`~trimtab.backtest.results` and :mod:`~trimtab.backtest.report`: tables and the
  HTML report.
"""
