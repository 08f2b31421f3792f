"""`yinqi users …`: the first two admins, users, role grants, lockouts, API tokens, TOTP for headless users.

The CLI runs on the server with database access, so it does not sign in with TOTP: every command
that changes or reads identities names the acting admin with `--as ADMIN` and checks that admin's
password (prompted, or the first line of stdin with `--admin-password-stdin`). The check counts
toward that admin's lockout like a console sign-in, and everything is audited as done by that admin
over the CLI channel. Secrets (passwords, API tokens) never appear in arguments: prompts or stdin.

Exit codes: 0 done; 1 refused (the error code and message are printed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from yinqi.application import identity
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.identity.principal import Principal, Role
from yinqi.domain.identity.users import User, UserNotFound, normalise_username
from yinqi.domain.money import Money
from yinqi.domain.problems import DomainError

app = typer.Typer(help="Users, roles, lockouts and API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for ERP clients (the secret is shown once).", no_args_is_help=True)
app.add_typer(token_app, name="token")
_out = Console()
T = TypeVar("T")

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AsOption = Annotated[str, typer.Option("--as", help="Username of the acting admin (their password is checked).")]
AdminStdin = Annotated[bool, typer.Option("--admin-password-stdin",
                                          help="Read the acting admin's password from the first line of stdin.")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin",
                                             help="Read the new password from (the next line of) stdin.")]


# --- plumbing ------------------------------------------------------------------------------------
@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from None


def _stdin_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise typer.BadParameter("expected a line on stdin")
    return line.rstrip("\r\n")


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return _stdin_line()
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


def _acting(hub: Hub, username: str, from_stdin: bool) -> Principal:
    password = _stdin_line() if from_stdin else str(typer.prompt(f"Password of {username}", hide_input=True))
    return _call(hub, identity.authenticate_cli, username=username, password=password)


def _call(hub: Hub, use_case: Callable[..., T], **kwargs: Any) -> T:
    with hub.uow() as uow:
        return use_case(uow=uow, clock=hub.clock, **kwargs)


def _read(hub: Hub, use_case: Callable[..., T], **kwargs: Any) -> T:
    with hub.uow() as uow:
        return use_case(uow=uow, **kwargs)


def _hub(db: str | None) -> Hub:
    return build_hub(load_settings(db=db))


def _user_by_name(hub: Hub, principal: Principal, username: str) -> User:
    name = normalise_username(username)
    for user in _list(hub, principal):
        if user.username == name:
            return user
    raise UserNotFound(f"no user {name!r}", where="username", rule="exists", value=name)


def _list(hub: Hub, principal: Principal) -> list[User]:
    return _read(hub, identity.list_users, principal=principal)


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, **user.as_audit(), "created_at": user.created_at.isoformat()}


def _limit_minor(limit: str | None, currency: str) -> int | None:
    return None if limit is None else Money.parse(limit, currency.upper()).minor


# --- commands ------------------------------------------------------------------------------------
@app.command("bootstrap-admin")
def bootstrap_admin(username: str, company: Annotated[str, typer.Option("--company", help="Company id.")],
                    company_name: Annotated[str, typer.Option(
                        "--company-name", help="Company name (the first admin's company is created).")] = "",
                    acting: Annotated[str | None, typer.Option(
                        "--as", help="The existing admin who vouches for a second admin (password checked).")] = None,
                    admin_password_stdin: AdminStdin = False, password_stdin: PasswordStdin = False,
                    db: DbOption = None) -> None:
    """Create an admin without a second admin's approval, while the hub has fewer than two active
    admins: the first (no user yet; creates the company), then a second vouched for by the first
    with --as. From then on a new admin is a role grant that another admin approves."""
    hub = _hub(db)
    with _refusals():
        vouching = None if acting is None else _acting(hub, acting, admin_password_stdin)
        user = _call(hub, identity.bootstrap_admin, username=username, password=_new_password(password_stdin),
                     company_id=company, company_name=company_name, vouched_by=vouching)
    typer.echo(f"admin {user.username} created for {company}; sign in to enrol TOTP "
               f"(or `yinqi users totp-uri {user.username}`)")


@app.command("create")
def create(username: str, acting: AsOption,
           role: Annotated[list[Role], typer.Option("--role", help="A role (repeat for several).")],
           company: Annotated[list[str], typer.Option("--company", help="A company id (repeat for several).")],
           limit: Annotated[str | None, typer.Option("--limit", help="Own approval limit, e.g. 50000.00.")] = None,
           limit_currency: Annotated[str, typer.Option(help="Currency of --limit (reporting currency).")] = "EUR",
           display_name: Annotated[str, typer.Option(help="Full name (default: the username).")] = "",
           admin_password_stdin: AdminStdin = False, password_stdin: PasswordStdin = False,
           db: DbOption = None) -> None:
    """Create a user (ADMIN becomes a grant request that a second admin approves)."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        user = _call(hub, identity.create_user, principal=principal, username=username,
                     password=_new_password(password_stdin), display_name=display_name or username,
                     roles=set(role), companies=set(company), approval_limit_minor=_limit_minor(limit, limit_currency))
    pending = " (admin role pending a second admin's approval)" if Role.ADMIN in role else ""
    typer.echo(f"user {user.username} created with {', '.join(sorted(r.value for r in user.roles)) or 'no roles'}"
               f"{pending}")


@app.command("list")
def list_command(acting: AsOption, admin_password_stdin: AdminStdin = False, as_json: JsonOption = False,
                 db: DbOption = None) -> None:
    """Every user with roles, companies, limit, TOTP and status; pending grants below."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        users = _list(hub, principal)
        grants = _read(hub, identity.list_grant_requests, principal=principal)
    if as_json:
        typer.echo(json.dumps({"users": [_user_json(u) for u in users],
                               "pending_grants": [{"id": g.id, **g.as_audit()} for g in grants]}, indent=2))
        return
    table = Table("username", "name", "roles", "companies", "limit (minor)", "TOTP", "status")
    for u in users:
        table.add_row(u.username, u.display_name, ", ".join(sorted(r.value for r in u.roles)),
                      ", ".join(sorted(u.companies)), "role default" if u.approval_limit_minor is None
                      else str(u.approval_limit_minor), "yes" if u.totp_enrolled else "no",
                      "disabled" if u.disabled else "active")
    _out.print(table)
    names = {u.id: u.username for u in users}
    for g in grants:
        _out.print(f"pending grant {g.id}: {g.role.value} to {names.get(g.user_id, g.user_id)} "
                   f"(asked by {names.get(g.requested_by, g.requested_by)})")


@app.command("grant")
def grant(username: str, role: Role, acting: AsOption, admin_password_stdin: AdminStdin = False,
          db: DbOption = None) -> None:
    """Grant a role; to oneself, or ADMIN, it becomes a request for a second admin."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        request = _call(hub, identity.request_role_grant, principal=principal,
                        user_id=_user_by_name(hub, principal, username).id, role=role)
    typer.echo(f"grant {request.id}: {role.value} to {normalise_username(username)} is {request.outcome.value}")


@app.command("approve-grant")
def approve_grant(request_id: str, acting: AsOption, admin_password_stdin: AdminStdin = False,
                  db: DbOption = None) -> None:
    """Approve a pending role grant as the second admin."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        user = _call(hub, identity.approve_role_grant, principal=principal, request_id=request_id)
    typer.echo(f"approved: {user.username} now has {', '.join(sorted(r.value for r in user.roles))}")


@app.command("disable")
def disable(username: str, acting: AsOption, admin_password_stdin: AdminStdin = False, db: DbOption = None) -> None:
    """Disable a user; their sessions end and their API tokens stop working at once."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        user = _call(hub, identity.disable_user, principal=principal,
                     user_id=_user_by_name(hub, principal, username).id)
    typer.echo(f"user {user.username} disabled")


@app.command("reset-lockout")
def reset_lockout(username: str, acting: AsOption, admin_password_stdin: AdminStdin = False,
                  db: DbOption = None) -> None:
    """Clear a user's failed sign-in count and lock."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        user = _user_by_name(hub, principal, username)
        _call(hub, identity.reset_lockout, principal=principal, user_id=user.id)
    typer.echo(f"lockout of {user.username} reset")


@app.command("totp-uri")
def totp_uri(username: str, password_stdin: Annotated[bool, typer.Option(
                 "--password-stdin", help="Read the user's own password from stdin.")] = False,
             db: DbOption = None) -> None:
    """Start TOTP enrolment for a user without a browser: prints the otpauth:// URI (and a QR code
    in the terminal). Confirm with `yinqi users totp-confirm USERNAME` and the first code."""
    hub = _hub(db)
    password = _stdin_line() if password_stdin else str(typer.prompt(f"Password of {username}", hide_input=True))
    with _refusals():
        step = _call(hub, identity.login, username=username, password=password, source_address="cli")
        enrolment = _call(hub, identity.begin_totp_enrolment, session_token=step.session_token)
        _call(hub, identity.logout, session_token=step.session_token)
    typer.echo(enrolment.provisioning_uri)
    if sys.stdout.isatty():
        import segno

        segno.make(enrolment.provisioning_uri, error="m").terminal(compact=True)


@app.command("totp-confirm")
def totp_confirm(username: str, code: Annotated[str, typer.Option("--code", help="The current code of the app.")],
                 password_stdin: Annotated[bool, typer.Option(
                     "--password-stdin", help="Read the user's own password from stdin.")] = False,
                 db: DbOption = None) -> None:
    """Finish a TOTP enrolment started with `totp-uri` using the app's current code."""
    hub = _hub(db)
    password = _stdin_line() if password_stdin else str(typer.prompt(f"Password of {username}", hide_input=True))
    with _refusals():
        step = _call(hub, identity.login, username=username, password=password, source_address="cli")
        signed = _call(hub, identity.confirm_totp_enrolment, session_token=step.session_token, code=code)
        _call(hub, identity.logout, session_token=signed.session_token)
    typer.echo(f"TOTP enrolled for {normalise_username(username)}")


# --- API tokens ------------------------------------------------------------------------------------
@token_app.command("issue")
def token_issue(username: str, acting: AsOption,
                name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'SAP prod'.")],
                scope: Annotated[list[str], typer.Option("--scope", help="A permission, e.g. order.create.")],
                company: Annotated[list[str], typer.Option("--company", help="A company id the token acts for.")],
                admin_password_stdin: AdminStdin = False, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Issue an API token for USERNAME; the token is printed once and never stored."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        issued = _call(hub, identity.issue_token, principal=principal,
                       user_id=_user_by_name(hub, principal, username).id, name=name, scopes=set(scope),
                       companies=set(company))
    if as_json:
        typer.echo(json.dumps({"token_id": issued.token_id, "token": issued.secret}))
    else:
        typer.echo(f"token {issued.token_id} (shown once, store it now):\n{issued.secret}")


@token_app.command("list")
def token_list(acting: AsOption, user: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
               admin_password_stdin: AdminStdin = False, as_json: JsonOption = False, db: DbOption = None) -> None:
    """API tokens (never their secrets)."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        user_id = None if user is None else _user_by_name(hub, principal, user).id
        tokens = _read(hub, identity.list_tokens, principal=principal, user_id=user_id)
        names = {u.id: u.username for u in _list(hub, principal)}
    rows: list[dict[str, Any]] = [
        {"id": t.id, "user": names.get(t.user_id, t.user_id), "name": t.name, "scopes": sorted(t.scopes),
         "companies": sorted(t.companies), "created_at": t.created_at.isoformat(),
         "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
         "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t in tokens]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "user", "name", "scopes", "companies", "last used", "status")
    for r in rows:
        table.add_row(r["id"], r["user"], r["name"], ", ".join(r["scopes"]), ", ".join(r["companies"]),
                      r["last_used_at"] or "never", "revoked" if r["revoked_at"] else "active")
    _out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str, acting: AsOption, admin_password_stdin: AdminStdin = False,
                 db: DbOption = None) -> None:
    """Revoke an API token at once."""
    hub = _hub(db)
    with _refusals():
        principal = _acting(hub, acting, admin_password_stdin)
        _call(hub, identity.revoke_token, principal=principal, token_id=token_id)
    typer.echo(f"token {token_id} revoked")
