"""Rebalance requests: ``trimtab request submit|show|approve|cancel|resubmit|expire``, their
record (``replay``, ``memorandum``) and ``trimtab history``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from trimtab.cli._common import (
    At,
    Db,
    Firm,
    User,
    fail,
    group,
    moment,
    number,
    run_in,
    show,
)
from trimtab.store.uow import UnitOfWork


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    request_app = group(app, "request", "Rebalance requests.")

    @request_app.command("submit")
    def request_submit(
        accounts: Annotated[str, typer.Option(help="Account ids, comma separated.")],
        logic: Annotated[str, typer.Option(help="Trade logic, e.g. rebalance_to_target.")],
        firm: Firm,
        user: User,
        cash_to_generate: Annotated[
            float | None, typer.Option(help="Dollars to raise per account (generate cash).")
        ] = None,
        mccar_pct: Annotated[
            float | None, typer.Option(help="Minimum cash, percent of value (generate cash).")
        ] = None,
        cash_to_invest: Annotated[
            float | None, typer.Option(help="Dollars to invest at most (invest cash).")
        ] = None,
        min_trade_value: Annotated[
            float | None, typer.Option(help="Minimum trade size in dollars (default 100).")
        ] = None,
        replace: Annotated[
            bool,
            typer.Option(help="Cancel the open requests these accounts are in, and submit."),
        ] = False,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Compute proposals for accounts now, by any trade logic under every stored rule,
        and hold them for approval. household_rebalance takes each named account's whole
        household."""
        from trimtab.service.requests import submit_request

        ids = [a for a in accounts.split(",") if a.strip()]
        amounts = {
            "cash_to_generate": cash_to_generate,
            "mccar_pct": mccar_pct,
            "cash_to_invest": cash_to_invest,
            "min_trade_value": min_trade_value,
        }
        done = run_in(
            db,
            firm,
            lambda uow: submit_request(
                uow,
                actor=user,
                account_ids=ids,
                logic=logic,
                now=moment(at),
                amounts={k: v for k, v in amounts.items() if v is not None},
                replace=replace,
            ),
        )
        for warning in done.warnings:
            sys.stderr.write(f"trimtab: warning: {warning}\n")
        failed = [a for a, s in done.proposals.items() if s == "failed"]
        typer.echo(
            f"request {done.request_id} {done.status}: {len(done.proposals)} accounts"
            + (f", failed: {', '.join(failed)}" if failed else "")
            + ("; needs an approver other than the submitter" if done.needs_second_approver else "")
        )

    @request_app.command("show")
    def request_show(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """A request with each account's proposal and trades."""
        from trimtab.service.requests import show_request
        from trimtab.store.uow import audit_json

        if fmt not in ("table", "json"):
            raise fail(f"--format: must be table or json, got {fmt!r}")
        shown = run_in(db, firm, lambda uow: show_request(uow, actor=user, request_id=request_id))
        if fmt == "json":
            typer.echo(audit_json(shown.as_json()))
            return
        typer.echo(
            f"request {shown.request_id} {shown.status} logic {shown.logic} "
            f"by {shown.submitted_by} at {shown.submitted_at:%Y-%m-%d %H:%M} UTC, "
            f"prices of {shown.price_date}, expires {shown.expires_at:%Y-%m-%d %H:%M} UTC"
            + (f"\nissue: {shown.issue}" if shown.issue else "")
        )
        table = Table("account", "status", "symbol", "action", "quantity", "price", "value", "gain")
        for p in shown.proposals:
            table.add_row(
                p.account_id,
                p.status,
                "",
                "",
                "",
                "",
                f"{p.value:,.2f}",
                f"{p.realized_gain:,.2f}",
            )
            if p.message:
                table.add_row("", p.message, "", "", "", "", "", "")
            for x in p.trades:
                table.add_row(
                    "",
                    "",
                    f"{x.symbol} (APM)" if x.sleeve == "apm" else x.symbol,
                    x.action,
                    number(x.quantity),
                    number(x.price),
                    f"{x.order_value:,.2f}",
                    f"{x.realized_gain:,.2f}",
                )
        show(table, None)
        for house in shown.households:
            weights = Table(
                "symbol", "weight before %", "after %", title=f"household {house['id']}"
            )
            for symbol, before in house["weights_before_pct"].items():
                weights.add_row(
                    symbol, f"{before:.2f}", f"{house['weights_after_pct'][symbol]:.2f}"
                )
            weights.add_row(
                "cash", f"{house['cash_before_pct']:.2f}", f"{house['cash_after_pct']:.2f}"
            )
            show(weights, None)

    def _decision(name: str, work: Callable[..., object]) -> Callable[..., None]:
        def command(
            request_id: Annotated[int, typer.Argument(help="Request id.")],
            firm: Firm,
            user: User,
            db: Db = None,
            at: At = None,
        ) -> None:
            result = run_in(
                db, firm, lambda uow: work(uow, actor=user, request_id=request_id, now=moment(at))
            )
            typer.echo(f"request {request_id}: {result if isinstance(result, str) else name}")

        return command

    from trimtab.service import requests as rq

    @request_app.command("approve")
    def request_approve(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Approve a pending request: creates its orders."""
        done = run_in(
            db,
            firm,
            lambda uow: rq.approve_request(uow, actor=user, request_id=request_id, now=moment(at)),
        )
        typer.echo(
            f"request {request_id}: {done.status}; {done.orders} orders trading "
            f"{done.trade_date}" + (" (best effort)" if done.best_effort else "")
        )

    request_app.command("cancel", help="Cancel a pending request.")(
        _decision("canceled", rq.cancel_request)
    )

    @request_app.command("resubmit")
    def request_resubmit(
        request_id: Annotated[int, typer.Argument(help="Request whose failed accounts to retry.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Submit again the accounts that failed in a request."""
        done = run_in(
            db,
            firm,
            lambda uow: rq.resubmit_failed(uow, actor=user, request_id=request_id, now=moment(at)),
        )
        typer.echo(f"request {done.request_id} {done.status}: {len(done.proposals)} accounts")

    @request_app.command("expire")
    def request_expire(firm: Firm, user: User, db: Db = None, at: At = None) -> None:
        """Expire pending requests not approved by the end of the next business day."""
        ids = run_in(db, firm, lambda uow: rq.expire_requests(uow, actor=user, now=moment(at)))
        typer.echo(
            f"expired {len(ids)} requests" + (f": {', '.join(map(str, ids))}" if ids else "")
        )

    @request_app.command("replay")
    def request_replay(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        record: Annotated[
            Path | None,
            typer.Option(
                "--record",
                help="Also write the request's record (a ZIP of Parquet files and "
                "request.json: every input and the proposal as computed) to this file.",
            ),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """Compute a request's proposal again from its record alone (the prices, holdings,
        lots, targets, rules and options it was computed from) and show that it is
        identical, or each difference line by line. Exit status 1 when it differs."""
        from trimtab.service.request_record import record_document, replay
        from trimtab.store.uow import audit_json

        if fmt not in ("table", "json"):
            raise fail(f"--format: must be table or json, got {fmt!r}")

        def work(uow: UnitOfWork) -> tuple[Any, bytes | None]:
            again = replay(uow, actor=user, request_id=request_id)
            data = record_document(uow, actor=user, request_id=request_id) if record else None
            return again, data

        again, data = run_in(db, firm, work)
        if record is not None and data is not None:
            record.write_bytes(data)
        if fmt == "json":
            typer.echo(audit_json(again.as_json()))
        else:
            typer.echo(
                f"request {request_id}: record {again.record_sha256[:16]}, computed by "
                f"{again.kept_version}, computed again by {again.code_version}"
            )
            if again.identical:
                typer.echo(
                    f"identical: {again.accounts} accounts, {again.lines} lines, every field"
                )
            else:
                table = Table("account", "symbol", "sleeve", "field", "kept", "computed again")
                for d in again.differences:
                    table.add_row(d.account_id, d.symbol, d.sleeve, d.field, d.kept, d.computed)
                show(table, f"{len(again.differences)} differences")
        if not again.identical:
            raise typer.Exit(1)

    @request_app.command("memorandum")
    def request_memorandum(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """A request's order memorandum from the store alone: the request, the proposal
        reviewed, the approval and the orders, with the checks that tie them together
        (record digest in the audit log, orders equal to the approved lines, audit chain).
        Exit status 1 when a check fails."""
        from trimtab.service.request_record import memorandum
        from trimtab.store.uow import audit_json

        if fmt not in ("table", "json"):
            raise fail(f"--format: must be table or json, got {fmt!r}")
        memo = run_in(db, firm, lambda uow: memorandum(uow, actor=user, request_id=request_id))
        if fmt == "json":
            typer.echo(audit_json(memo.as_json()))
        else:
            r, rec = memo.request, memo.record
            typer.echo(
                f"request {r['request_id']} {r['status']}, logic {r['logic']}"
                + (f" {r['amounts']}" if r["amounts"] else "")
                + f", submitted by {r['submitted_by']} at {r['submitted_at']}, prices of "
                f"{r['price_date']}, rules of {r['trade_day']}\n"
                f"record {rec['sha256']} (code {rec['code_version']}, {rec['stored_at']})"
            )
            reviewed = Table("account", "status", "symbol", "action", "quantity", "price", "value")
            lines: dict[str, list[dict[str, Any]]] = {}
            for x in memo.reviewed_lines:
                lines.setdefault(x["account_id"], []).append(x)
            for p in memo.reviewed:
                reviewed.add_row(p["account_id"], p["status"], "", "", "", "", p["value"])
                for x in lines.get(p["account_id"], []):
                    reviewed.add_row(
                        "", "", x["symbol"], x["action"], x["quantity"], x["price"],
                        x["order_value"],
                    )  # fmt: skip
            show(reviewed, "proposal reviewed")
            a = memo.approval
            if a is None:
                typer.echo("not approved")
            else:
                typer.echo(
                    f"approved by {a['by']} at {a['at']}: {a['status']}, "
                    f"{len(a.get('approved', []))} accounts"
                    + "".join(f"; {k} failed: {v}" for k, v in a.get("failed", {}).items())
                )
            orders = Table("order", "account", "symbol", "side", "quantity", "price", "trade date")
            for o in memo.orders:
                orders.add_row(
                    o["client_order_id"], o["account_id"], o["symbol"], o["side"],
                    o["quantity"], o["price"],
                    o["trade_date"] + (" (best effort)" if o["best_effort"] else ""),
                )  # fmt: skip
            show(orders, f"{len(memo.orders)} orders")
            for c in memo.checks:
                typer.echo(f"{'holds' if c.holds else 'FAILS'}: {c.name}: {c.detail}")
        if not memo.holds:
            raise typer.Exit(1)

    @app.command()
    def history(
        firm: Firm,
        user: User,
        db: Db = None,
        pending: Annotated[
            bool, typer.Option("--pending", help="Show pending requests instead.")
        ] = False,
        limit: Annotated[int, typer.Option(min=1)] = 50,
    ) -> None:
        """Decided requests, newest first (or pending ones with --pending)."""
        rows = run_in(
            db, firm, lambda uow: rq.list_requests(uow, actor=user, pending=pending, limit=limit)
        )
        table = Table(
            "request", "status", "logic", "submitted by", "submitted", "decided by", "issue"
        )
        for r in rows:
            table.add_row(
                str(r.request_id),
                r.status,
                r.logic,
                r.submitted_by,
                f"{r.submitted_at:%Y-%m-%d %H:%M}",
                r.decided_by or "",
                r.issue or "",
            )
        show(table, f"{len(rows)} requests")
