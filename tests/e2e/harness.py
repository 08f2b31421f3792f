"""Start the real hub and the real sandbox bank as processes on loopback, for end-to-end tests.

Each process gets a free port, a fresh home folder and its own log file; a test that fails prints
the tail of both logs. Processes are always stopped (SIGTERM, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

YINQI = [sys.executable, "-m", "yinqi.entrypoints.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} log ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start(name: str, args: list[str], *, env: dict[str, str], logdir: Path) -> Proc:
    log = logdir / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(YINQI + args, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT)
    return Proc(name, popen, log)


def wait_ready(proc: Proc, url: str, *, timeout_s: float = 30, cafile: Path | None = None) -> None:
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(cafile)) if cafile else True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}\n{proc.tail()}")
        try:
            if httpx.get(url, timeout=1, verify=verify).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name} not ready at {url}\n{proc.tail()}")


def run_cli(args: list[str], *, env: dict[str, str], timeout_s: float = 120,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(YINQI + args, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout_s, check=False, input=stdin)


@dataclass
class Stack:
    """A running sandbox bank + hub pair."""

    home: Path
    db_url: str
    api: str
    bank_url: str
    bank_ca: Path
    env: dict[str, str]
    procs: list[Proc]
    credentials: dict[str, str] = field(default_factory=dict)  # API tokens and sessions a test signed in with

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.procs)


@contextmanager
def running_stack(tmp: Path, db_url: str, *, hub_env: dict[str, str] | None = None,
                  config_toml: str = "") -> Iterator[Stack]:
    home = tmp / "hub"
    bank_home = home / "bank"
    home.mkdir(parents=True, exist_ok=True)
    if config_toml:
        (home / "yinqi.toml").write_text(config_toml)
    bank_port, api_port = free_port(), free_port()
    env = {"YINQI_HOME": str(home), "YINQI_DB": db_url, "YINQI_LOG_LEVEL": "INFO"}
    procs: list[Proc] = []
    try:
        bank = start("sandbox-bank", ["sandbox-bank", "serve", "--port", str(bank_port), "--home",
                                      str(bank_home)], env=env, logdir=tmp)
        procs.append(bank)
        ca = bank_home / "certs" / "ca.pem"
        bank_url = f"https://127.0.0.1:{bank_port}"
        deadline = time.monotonic() + 30
        while not ca.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        wait_ready(bank, f"{bank_url}/admin/health", cafile=ca)
        env.update({"YINQI_SANDBOX_BANK_URL": bank_url, "YINQI_SANDBOX_BANK_CA": str(ca)})
        upgrade = run_cli(["db", "upgrade"], env=env)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        hub = start("hub", ["serve", "--port", str(api_port)], env={**env, **(hub_env or {})}, logdir=tmp)
        procs.append(hub)
        api = f"http://127.0.0.1:{api_port}"
        wait_ready(hub, f"{api}/healthz")
        yield Stack(home, db_url, api, bank_url, ca, env, procs)
    finally:
        for proc in reversed(procs):
            proc.stop()


# --- signing in for real ----------------------------------------------------------------------------
E2E_PASSWORD = "e2e correct horse battery staple"  # every e2e user's password (test data only)
E2E_COMPANY = "ACME"
SESSION_COOKIE = "__Host-yinqi_session"


def provision_users(stack: Stack, users: dict[str, list[str]], *, company: str = E2E_COMPANY) -> None:
    """The first admin (`admin`) and `users` (username -> roles) through the `yinqi users` CLI."""
    boot = run_cli(["users", "bootstrap-admin", "admin", "--company", company, "--company-name", f"{company} Ltd",
                    "--password-stdin"], env=stack.env, stdin=E2E_PASSWORD + "\n")
    assert boot.returncode == 0, boot.stdout + boot.stderr
    for username, roles in users.items():
        args = ["users", "create", username, "--as", "admin", "--company", company, "--admin-password-stdin",
                "--password-stdin", *[arg for role in roles for arg in ("--role", role)]]
        made = run_cli(args, env=stack.env, stdin=f"{E2E_PASSWORD}\n{E2E_PASSWORD}\n")
        assert made.returncode == 0, made.stdout + made.stderr


def issue_token(stack: Stack, username: str, scopes: list[str], *, company: str = E2E_COMPANY) -> str:
    """An API token for `username` (issued by `admin` through the CLI); returns the secret."""
    args = ["users", "token", "issue", username, "--as", "admin", "--name", f"e2e-{username}", "--company", company,
            "--admin-password-stdin", "--json", *[arg for s in scopes for arg in ("--scope", s)]]
    issued = run_cli(args, env=stack.env, stdin=E2E_PASSWORD + "\n")
    assert issued.returncode == 0, issued.stdout + issued.stderr
    return str(json.loads(issued.stdout)["token"])


def _form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {response.status_code} {response.headers}")


def console_session(stack: Stack, username: str, *, password: str = E2E_PASSWORD) -> str:
    """Sign in to the console over plain HTTP the way a browser does (password, TOTP enrolment with
    the secret read from the page, the code computed by pyotp) and return the session cookie value.
    httpx would not send `Secure` cookies over http://127.0.0.1, so they travel as explicit headers."""
    import pyotp

    with httpx.Client(base_url=stack.api, follow_redirects=False, timeout=10) as web:
        page = web.get("/login")
        csrf = _cookie(page, "__Host-yinqi_csrf")
        signed = web.post("/login", data={"csrf_token": _form_token(page.text), "username": username,
                                          "password": password, "next": "/orders"},
                          headers={"Cookie": f"__Host-yinqi_csrf={csrf}"})
        assert signed.status_code == 303 and "/login/enrol" in signed.headers["location"], signed.text
        cookie = {"Cookie": f"{SESSION_COOKIE}={_cookie(signed, SESSION_COOKIE)}"}
        start = web.get("/login/enrol", headers=cookie)
        shown = web.post("/login/enrol/start", data={"csrf_token": _form_token(start.text), "next": "/orders"},
                         headers=cookie)
        secret = re.search(r'id="totp-secret">([^<]+)<', shown.text)
        assert secret, shown.text[:2000]
        code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
        done = web.post("/login/enrol", data={"csrf_token": _form_token(shown.text), "code": code, "next": "/orders"},
                        headers=cookie)
        assert done.status_code == 303, done.text
        return _cookie(done, SESSION_COOKIE)
