"""`yinqi orders …`: payment orders from the command line.

`import FILE --as USERNAME [--format csv|xlsx|pain001] [--mode all-or-nothing|accept-valid]
[--dry-run] [--json] [--company ID] [--db URL]` imports an order file as a job (see
`application.intake`): a rich progress bar on stderr while it runs, then a summary, or with
`--json` exactly `{"accepted", "rejected", "orders": [{"serial", "end_to_end_id", "amount",
"currency"}], "errors": [{"where", "field", "rule", "message"}]}` (plus `duplicate_of_job`) on stdout.
The format defaults to the file's extension, then its content (XML root, zip = xlsx).

Exit codes: 0 imported (in accept-valid mode some rows may be rejected: see the report); 1 the
file was refused (nothing stored: a row problem in all-or-nothing mode, a file that cannot be read
as orders, or a duplicate file); 2 the file could not be read, the user is unknown or may not import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from yinqi.adapters.files import read_order_file
from yinqi.application.identity_base import principal_of
from yinqi.application.import_report import ImportMode, ImportResult
from yinqi.application.intake import import_orders
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.identity.principal import Channel, Forbidden, Principal
from yinqi.domain.problems import DomainError

app = typer.Typer(help="Payment orders: import files of orders.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The CSV, XLSX or pain.001 file.", dir_okay=False)]
FormatOpt = Annotated[str | None, typer.Option("--format", help="csv, xlsx or pain001 (default: from the file).")]
ModeOpt = Annotated[ImportMode, typer.Option("--mode", help="all-or-nothing stores nothing if any row is wrong.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check everything, store nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
CompanyOpt = Annotated[str | None, typer.Option("--company", help="The company the orders are for.")]
AsOpt = Annotated[str, typer.Option("--as", help="The user who imports (needs order.import).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or the home's SQLite).")]


@app.callback()
def _family() -> None:
    """Payment orders."""


@app.command("import")
def import_command(file: FileArg, as_user: AsOpt, fmt: FormatOpt = None, mode: ModeOpt = ImportMode.ALL_OR_NOTHING,
                   dry_run: DryRunOpt = False, as_json: JsonOpt = False, company: CompanyOpt = None,
                   db: DbOpt = None) -> None:
    """Import FILE's payment orders (one order per row or per pain.001 transaction)."""
    hub = build_hub(load_settings(db=db))
    company_id = company or hub.settings.company_id
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}", 2)
    try:
        principal = _principal(hub, as_user)
        parsed = read_order_file(data, file_name=file.name, company_id=company_id, format=fmt)
        with _progress(quiet=False) as bar:
            task = bar.add_task("checking", total=parsed.total or None)
            result = import_orders(new_uow=hub.uow, clock=hub.clock, principal=principal, file=parsed,
                                   company_id=company_id, mode=mode, dry_run=dry_run,
                                   on_progress=lambda phase, done, total: bar.update(task, description=phase,
                                                                                     completed=done, total=total))
    except DomainError as exc:
        _fail(f"{file}: {exc.code}: {exc.message}", 2)
    _print(result, file, as_json=as_json)
    if result.refused:
        raise typer.Exit(1)


def _principal(hub: Hub, username: str) -> Principal:
    """The named user, as the identity store knows them, acting from the command line.

    Raises:
        Forbidden (FORBIDDEN): no such user, or the user is disabled (never says which).
    """
    with hub.uow() as uow:
        user = uow.identity.find_user(username.strip())
    if user is None or user.disabled:
        raise Forbidden(f"{username!r} is not an active user", where="--as", rule="active_user")
    return principal_of(user, channel=Channel.CLI, source_address="cli")


def _progress(*, quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True, disable=quiet)


def _print(result: ImportResult, file: Path, *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    verb = "checked (dry run)" if result.dry_run else result.status
    typer.echo(f"{file.name}: {verb}: {len(result.accepted)} accepted, {result.rejected} rejected"
               + (f", {result.skipped} already imported" if result.skipped else "")
               + (f"; job {result.job_id}" if result.job_id else ""))
    for e in result.errors:
        typer.echo(f"  {e.where}  {e.field}  [{e.code} {e.rule}]  {e.message}")


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"yinqi orders import: {message}", err=True)
    raise typer.Exit(code)
