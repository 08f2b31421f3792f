"""`yinqi users bootstrap-admin` for the hub's first two admins, on both backends: the first creates
its company; the second needs the first to vouch with `--as` (password checked); a third is refused,
and from then on a new admin is a grant that the other admin approves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from yinqi.entrypoints.cli.main import app

ROOT_PW = "admin password 1234"
SAM_PW = "sam the second admin"


@pytest.fixture
def cli(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, stdin: str = "") -> Result:
        return CliRunner().invoke(app, ["users", *args, "--db", db_url], input=stdin,
                                  env={"YINQI_HOME": str(tmp_path)})

    first = run("bootstrap-admin", "root", "--company", "ACME", "--company-name", "Acme Trading", "--password-stdin",
                stdin=f"{ROOT_PW}\n")
    assert first.exit_code == 0, first.output
    return run


def test_the_second_admin_is_bootstrapped_with_the_first_vouching(cli) -> None:  # type: ignore[no-untyped-def]
    alone = cli("bootstrap-admin", "sam", "--company", "ACME", "--password-stdin", stdin=f"{SAM_PW}\n")
    assert alone.exit_code == 1 and "CONFLICT" in alone.output and "--as root" in alone.output
    wrong = cli("bootstrap-admin", "sam", "--company", "ACME", "--as", "root", "--admin-password-stdin",
                "--password-stdin", stdin=f"not root's password\n{SAM_PW}\n")
    assert wrong.exit_code == 1 and "NOT_AUTHENTICATED" in wrong.output
    made = cli("bootstrap-admin", "sam", "--company", "ACME", "--as", "root", "--admin-password-stdin",
               "--password-stdin", stdin=f"{ROOT_PW}\n{SAM_PW}\n")
    assert made.exit_code == 0, made.output
    listed = json.loads(cli("list", "--as", "sam", "--admin-password-stdin", "--json", stdin=f"{SAM_PW}\n").stdout)
    assert {u["username"]: u["roles"] for u in listed["users"]} == {"root": ["admin"], "sam": ["admin"]}


def test_with_two_admins_bootstrap_is_closed_and_admin_is_a_four_eyes_grant(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("bootstrap-admin", "sam", "--company", "ACME", "--as", "root", "--admin-password-stdin",
               "--password-stdin", stdin=f"{ROOT_PW}\n{SAM_PW}\n").exit_code == 0
    third = cli("bootstrap-admin", "tom", "--company", "ACME", "--as", "root", "--admin-password-stdin",
                "--password-stdin", stdin=f"{ROOT_PW}\n{SAM_PW}x\n")
    assert third.exit_code == 1 and "two active admins" in third.output
    created = cli("create", "tom", "--as", "root", "--admin-password-stdin", "--role", "admin", "--company", "ACME",
                  "--password-stdin", stdin=f"{ROOT_PW}\n{SAM_PW}x\n")
    assert created.exit_code == 0 and "pending a second admin's approval" in created.output
    pending = json.loads(cli("list", "--as", "sam", "--admin-password-stdin", "--json",
                             stdin=f"{SAM_PW}\n").stdout)["pending_grants"]
    approved = cli("approve-grant", pending[0]["id"], "--as", "sam", "--admin-password-stdin", stdin=f"{SAM_PW}\n")
    assert approved.exit_code == 0 and "tom now has admin" in approved.output
