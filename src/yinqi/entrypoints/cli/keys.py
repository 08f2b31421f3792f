"""`yinqi keys`: the field-encryption keys (R19): list, rotate (two admins), retire.

    yinqi keys list --as ADMIN [--json]
    yinqi keys rotate --as ADMIN                         # a rotation request, printed with its id
    yinqi keys approve-rotation ID --as OTHER_ADMIN      # new key, re-seal in batches; again to resume
    yinqi keys retire KEY_ID --as ADMIN                  # refused while anything uses the key

`--as` names a user of the identity store; the use cases check the role (admin: key.rotate) and
that the approver is not the requester. Exit 1 on a refusal, with its code.
"""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from yinqi.application import keys as cases
from yinqi.application.identity_base import principal_of
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.identity.principal import Channel, Forbidden, Principal
from yinqi.domain.problems import DomainError

app = typer.Typer(help="Field-encryption keys: list, rotate (two admins), retire.", no_args_is_help=True)

AsOpt = Annotated[str, typer.Option("--as", help="The admin acting (a user with key.rotate).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: settings).")]


def _hub(db: str | None) -> Hub:
    return build_hub(load_settings(db=db))


def _principal(hub: Hub, username: str) -> Principal:
    """Raises Forbidden (FORBIDDEN): no such active user (never says which)."""
    with hub.uow() as uow:
        user = uow.identity.find_user(username.strip())
    if user is None or user.disabled:
        raise Forbidden(f"{username!r} is not an active user", where="--as", rule="active_user")
    return principal_of(user, channel=Channel.CLI, source_address="cli")


def _fail(exc: DomainError) -> NoReturn:
    typer.echo(f"yinqi keys: {exc.code}: {exc.message}", err=True)
    raise typer.Exit(1)


@app.command("list")
def list_keys(as_user: AsOpt, db: DbOpt = None, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every field key, oldest first: active, retired, and how many stored values it seals."""
    hub = _hub(db)
    try:
        principal = _principal(hub, as_user)
        with hub.uow() as uow:
            found = cases.list_keys(uow=uow, keyring=hub.vault, principal=principal)
    except DomainError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([{"key_id": k.key_id, "active": k.active, "retired": k.retired, "values": k.values}
                               for k in found], indent=2))
        return
    for k in found:
        state = "active" if k.active else "retired" if k.retired else "old"
        typer.echo(f"{k.key_id:<12} {state:<8} {k.values} values")


@app.command("rotate")
def rotate(as_user: AsOpt, db: DbOpt = None) -> None:
    """Request a rotation to a new data key; another admin runs `approve-rotation ID`."""
    hub = _hub(db)
    try:
        principal = _principal(hub, as_user)
        with hub.uow() as uow:
            rotation = cases.request_rotation(uow=uow, keyring=hub.vault, clock=hub.clock, principal=principal)
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"rotation {rotation.id} requested by {rotation.requested_by} (from key {rotation.from_key_id}); "
               f"another admin approves: yinqi keys approve-rotation {rotation.id} --as OTHER_ADMIN")


@app.command("approve-rotation")
def approve_rotation(rotation_id: str, as_user: AsOpt, db: DbOpt = None,
                     batch_size: int = typer.Option(cases.DEFAULT_BATCH, "--batch-size", min=1, max=100_000),
                     quiet: bool = typer.Option(False, "--quiet")) -> None:
    """Approve a rotation (or resume one that stopped): new key, every value re-sealed under it."""
    hub = _hub(db)
    progress = Progress(TextColumn("re-sealing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=Console(stderr=True), transient=True, disable=quiet)
    try:
        principal = _principal(hub, as_user)
        with progress:
            task = progress.add_task("re-sealing", total=None)
            result = cases.approve_rotation(
                new_uow=hub.uow, keyring=hub.vault, clock=hub.clock, principal=principal, rotation_id=rotation_id,
                batch_size=batch_size, on_progress=lambda done, total: progress.update(task, completed=done,
                                                                                       total=total))
    except DomainError as exc:
        _fail(exc)
    r = result.rotation
    typer.echo(f"rotation {r.id} {r.status}: key {r.to_key_id} active, {result.resealed} values re-sealed now "
               f"({r.resealed} in all); retire the old key with: yinqi keys retire {r.from_key_id} --as ADMIN")


@app.command("retire")
def retire(key_id: str, as_user: AsOpt, db: DbOpt = None) -> None:
    """Destroy an old key: refused while any stored value is still sealed under it."""
    hub = _hub(db)
    try:
        principal = _principal(hub, as_user)
        cases.retire_key(new_uow=hub.uow, keyring=hub.vault, clock=hub.clock, principal=principal, key_id=key_id)
    except DomainError as exc:
        _fail(exc)
    typer.echo(f"key {key_id} retired: its ciphertexts can no longer be opened")
