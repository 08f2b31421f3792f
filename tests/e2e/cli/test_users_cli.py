"""`yinqi users …` end to end on a fresh migrated database per backend: bootstrap, create, list,
grants under four eyes, API tokens shown once, headless TOTP enrolment, disable, lockout reset."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from typer.testing import CliRunner, Result

from yinqi.entrypoints.cli.main import app

ROOT_PW = "admin password 1234"
OLIVIA_PW = "olivia long password"


@pytest.fixture
def cli(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str, stdin: str = "") -> Result:
        return runner.invoke(app, ["users", *args, "--db", db_url], input=stdin, env={"YINQI_HOME": str(tmp_path)})

    assert run("bootstrap-admin", "Root", "--company", "ACME", "--company-name", "Acme Trading", "--password-stdin",
               stdin=f"{ROOT_PW}\n").exit_code == 0
    return run


def _as_root(*args: str) -> tuple[str, ...]:
    return (*args, "--as", "root", "--admin-password-stdin")


def test_create_and_list_users_as_a_named_admin(cli) -> None:  # type: ignore[no-untyped-def]
    created = cli(*_as_root("create", "olivia", "--role", "operator", "--company", "ACME", "--limit", "500.00",
                            "--password-stdin"), stdin=f"{ROOT_PW}\n{OLIVIA_PW}\n")
    assert created.exit_code == 0, created.output
    listed = cli(*_as_root("list", "--json"), stdin=f"{ROOT_PW}\n")
    users = {u["username"]: u for u in json.loads(listed.stdout)["users"]}
    assert users["olivia"]["roles"] == ["operator"] and users["olivia"]["approval_limit_minor"] == 50000
    assert users["root"]["roles"] == ["admin"] and OLIVIA_PW not in listed.stdout


def test_a_second_bootstrap_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    again = cli("bootstrap-admin", "eve", "--company", "EVIL", "--company-name", "Evil", "--password-stdin",
                stdin="another long password\n")
    assert again.exit_code == 1 and "CONFLICT" in again.output


def test_a_wrong_admin_password_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    refused = cli(*_as_root("list"), stdin="not the admin password\n")
    assert refused.exit_code == 1 and "NOT_AUTHENTICATED" in refused.output


def test_an_admin_cannot_approve_their_own_grant(cli) -> None:  # type: ignore[no-untyped-def]
    asked = cli(*_as_root("grant", "root", "approver"), stdin=f"{ROOT_PW}\n")
    assert asked.exit_code == 0 and "pending" in asked.stdout
    request_id = re.search(r"grant (\S+):", asked.stdout).group(1)  # type: ignore[union-attr]
    refused = cli(*_as_root("approve-grant", request_id), stdin=f"{ROOT_PW}\n")
    assert refused.exit_code == 1 and "GRANT_REQUIRES_SECOND_ADMIN" in refused.output


def test_tokens_are_shown_once_listed_without_secret_and_revoked(cli) -> None:  # type: ignore[no-untyped-def]
    cli(*_as_root("create", "erp", "--role", "operator", "--company", "ACME", "--password-stdin"),
        stdin=f"{ROOT_PW}\nerp service password\n")
    issued = cli(*_as_root("token", "issue", "erp", "--name", "SAP", "--scope", "order.create", "--company", "ACME",
                           "--json"), stdin=f"{ROOT_PW}\n")
    assert issued.exit_code == 0, issued.output
    token = json.loads(issued.stdout)
    assert token["token"].startswith(f"yq_{token['token_id']}_")
    listed = cli(*_as_root("token", "list", "--json"), stdin=f"{ROOT_PW}\n")
    assert token["token"] not in listed.stdout and json.loads(listed.stdout)[0]["scopes"] == ["order.create"]
    too_wide = cli(*_as_root("token", "issue", "erp", "--name", "x", "--scope", "order.approve", "--company", "ACME"),
                   stdin=f"{ROOT_PW}\n")
    assert too_wide.exit_code == 1 and "TOKEN_SCOPE_INVALID" in too_wide.output
    assert cli(*_as_root("token", "revoke", token["token_id"]), stdin=f"{ROOT_PW}\n").exit_code == 0
    assert json.loads(cli(*_as_root("token", "list", "--json"), stdin=f"{ROOT_PW}\n").stdout)[0]["revoked_at"]


def test_headless_totp_enrolment_with_uri_then_code(cli) -> None:  # type: ignore[no-untyped-def]
    cli(*_as_root("create", "olivia", "--role", "operator", "--company", "ACME", "--password-stdin"),
        stdin=f"{ROOT_PW}\n{OLIVIA_PW}\n")
    started = cli("totp-uri", "olivia", "--password-stdin", stdin=f"{OLIVIA_PW}\n")
    assert started.exit_code == 0, started.output
    uri = started.stdout.strip().splitlines()[0]
    assert uri.startswith("otpauth://totp/Yinqi:olivia?") and parse_qs(urlparse(uri).query)["issuer"] == ["Yinqi"]
    code = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0]).now()
    confirmed = cli("totp-confirm", "olivia", "--code", code, "--password-stdin", stdin=f"{OLIVIA_PW}\n")
    assert confirmed.exit_code == 0, confirmed.output
    listed = cli(*_as_root("list", "--json"), stdin=f"{ROOT_PW}\n")
    users = {u["username"]: u for u in json.loads(listed.stdout)["users"]}
    assert users["olivia"]["totp_enrolled"] is True


def test_disable_and_reset_lockout(cli) -> None:  # type: ignore[no-untyped-def]
    cli(*_as_root("create", "olivia", "--role", "operator", "--company", "ACME", "--password-stdin"),
        stdin=f"{ROOT_PW}\n{OLIVIA_PW}\n")
    for _ in range(10):
        cli("totp-uri", "olivia", "--password-stdin", stdin="wrong password!!\n")
    locked = cli("totp-uri", "olivia", "--password-stdin", stdin=f"{OLIVIA_PW}\n")
    assert locked.exit_code == 1 and "NOT_AUTHENTICATED" in locked.output
    assert cli(*_as_root("reset-lockout", "olivia"), stdin=f"{ROOT_PW}\n").exit_code == 0
    assert cli("totp-uri", "olivia", "--password-stdin", stdin=f"{OLIVIA_PW}\n").exit_code == 0
    assert cli(*_as_root("disable", "olivia"), stdin=f"{ROOT_PW}\n").exit_code == 0
    disabled = cli("totp-uri", "olivia", "--password-stdin", stdin=f"{OLIVIA_PW}\n")
    assert disabled.exit_code == 1 and "ACCOUNT_DISABLED" in disabled.output
