"""Start the real hub and the real sandbox bank as processes on loopback, for end-to-end tests.

Each process gets a free port, a fresh home folder and its own log file; a test that fails prints
the tail of both logs. Processes are always stopped (SIGTERM, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def run_cli(args: list[str], *, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(YINQI + args, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout_s, check=False)


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
