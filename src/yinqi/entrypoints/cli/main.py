"""`yinqi` command line. Each command family lives in its own module exposing a Typer `app`."""

from __future__ import annotations

from importlib import import_module

import typer

app = typer.Typer(name="yinqi", help="Yinqi payment and settlement hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

# (module, sub-command name or None to merge its commands at the top level)
_FAMILIES: list[tuple[str, str | None]] = [
    ("serve", None),
    ("db", "db"),
    ("ledger", "ledger"),
    ("accounts", "accounts"),
    ("iso20022", "iso20022"),
    ("statements", "statements"),
    ("sandbox_bank", "sandbox-bank"),
    ("status_reports", "status-reports"),
    ("screen", "screen"),
    ("recon", "recon"),
    ("route", "route"),
    ("audit", "audit"),
    ("users", "users"),
    ("policy", "policy"),
    ("orders", "orders"),
    ("beneficiaries", "beneficiaries"),
    ("keys", "keys"),
]

for _module, _name in _FAMILIES:
    try:
        _sub = import_module(f"yinqi.entrypoints.cli.{_module}")
    except ModuleNotFoundError as exc:  # family not built yet
        if exc.name != f"yinqi.entrypoints.cli.{_module}":
            raise
        continue
    if _name is None:
        app.registered_commands.extend(_sub.app.registered_commands)
    else:
        app.add_typer(_sub.app, name=_name)


if __name__ == "__main__":
    app()
