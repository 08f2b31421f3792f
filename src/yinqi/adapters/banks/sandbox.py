"""The sandbox bank connector: `BankConnector` over HTTPS to `yinqi sandbox-bank serve`.

TLS is always verified, against the sandbox's own CA file (HOME/certs/ca.pem of the sandbox);
there is no switch to turn verification off. HTTP outcomes map onto the connector errors:

- 202 → `SubmissionReceipt`; then the failpoint `bank.submit.after_http_200` (a crash here is the
  R2 case: the bank booked, the hub never recorded it; resubmitting the same MsgId is safe).
- 503, 502, 504, 429, connection refused / TLS handshake failure, CA file missing →
  `BankUnavailable` with the server's Retry-After (nothing was booked). The HTTP client is made
  on first use, so a connector can be built before the sandbox has written its CA.
- 400, 409, 413, 415, 422 → `BankRejectedMessage` carrying the pain.002 when the bank sent one.
- any other status, a timeout after sending, a connection dropped mid-answer, a malformed
  acknowledgement → `BankTransportError` (outcome unknown: resubmit the same MsgId).
"""

from __future__ import annotations

import json
import ssl
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import httpx

from yinqi.adapters.banks.connector import (
    BankRejectedMessage,
    BankTransportError,
    BankUnavailable,
    SubmissionReceipt,
)
from yinqi.testing.failpoints import declare, failpoint

SUBMIT_FAILPOINT = "bank.submit.after_http_200"
declare(SUBMIT_FAILPOINT)

_UNAVAILABLE = frozenset({429, 502, 503, 504})
_REJECTED = frozenset({400, 409, 413, 415, 422})


class SandboxBankConnector:
    def __init__(self, base_url: str, ca_file: Path, *, bank_id: str = "SANDBOX",
                 timeout_s: float = 10) -> None:
        if not base_url.startswith("https://"):
            raise ValueError(f"the sandbox bank is reached over https only, not {base_url!r}")
        self.bank_id = bank_id
        self.base_url = base_url
        self.ca_file = Path(ca_file)
        self.timeout_s = timeout_s
        self._client: httpx.Client | None = None  # made on first use: the CA may not exist yet

    # --- BankConnector ------------------------------------------------------------------------
    def submit(self, *, message_id: str, payload: bytes) -> SubmissionReceipt:
        response = self._request("POST", "/h2h/pain001", content=payload,
                                 headers={"Content-Type": "application/xml"})
        if response.status_code != 202:
            raise self._submit_error(response, message_id)
        failpoint(SUBMIT_FAILPOINT)
        return self._receipt(response, message_id)

    def fetch_status(self, *, message_id: str) -> bytes | None:
        response = self._request("GET", f"/h2h/status/{quote(message_id, safe='')}")
        if response.status_code in (202, 404):
            return None
        return self._body_or_raise(response)

    def fetch_statement(self, *, account: str, on: date) -> bytes | None:
        response = self._request("GET", f"/h2h/statements/{quote(account, safe='')}",
                                 params={"date": on.isoformat()})
        if response.status_code == 404:
            return None
        return self._body_or_raise(response)

    # --- sandbox extras -----------------------------------------------------------------------
    def list_status_reports(self, *, since: datetime) -> list[str]:
        """MsgIds whose pain.002 became available since `since` (may repeat: dedupe on read)."""
        response = self._request("GET", "/h2h/status", params={"since": since.isoformat()})
        return [str(i) for i in json.loads(self._body_or_raise(response))]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SandboxBankConnector:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- mapping ------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            try:
                context = ssl.create_default_context(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise BankUnavailable(f"cannot load the sandbox CA {self.ca_file}: {exc}", bank_id=self.bank_id,
                                      rule="ca_file") from exc
            self._client = httpx.Client(base_url=self.base_url, verify=context, timeout=self.timeout_s,
                                        headers={"User-Agent": "yinqi-bank-connector"})
        return self._client

    def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        client = self._http()
        try:
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # request never sent
            raise BankUnavailable(f"cannot connect: {exc}", bank_id=self.bank_id,
                                  rule="connect") from exc
        except httpx.TransportError as exc:
            raise BankTransportError(f"{method} {url} failed, outcome unknown: {exc!r}",
                                     bank_id=self.bank_id, rule="transport") from exc
        if response.status_code in _UNAVAILABLE:
            raise BankUnavailable(f"{method} {url} answered {response.status_code}", bank_id=self.bank_id,
                                  retry_after_s=_retry_after(response), rule=f"http_{response.status_code}")
        return response

    def _submit_error(self, response: httpx.Response, message_id: str) -> Exception:
        status = response.status_code
        if status in _REJECTED:
            xml = "xml" in response.headers.get("content-type", "")
            return BankRejectedMessage(f"message {message_id} refused with HTTP {status}: "
                                       f"{'' if xml else response.text[:200]}".rstrip(": "),
                                       bank_id=self.bank_id, report=response.content if xml else None,
                                       http_status=status)
        return BankTransportError(f"message {message_id}: unexpected HTTP {status}, outcome unknown",
                                  bank_id=self.bank_id, rule=f"http_{status}", value=status)

    def _receipt(self, response: httpx.Response, message_id: str) -> SubmissionReceipt:
        try:
            ack = response.json()
            received_at = datetime.fromisoformat(ack["received_at"])
            acked_id, duplicate = str(ack["msg_id"]), bool(ack["duplicate"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BankTransportError(f"unreadable acknowledgement for {message_id}: {exc}",
                                     bank_id=self.bank_id, rule="ack_format") from exc
        if acked_id != message_id:
            raise ValueError(f"payload MsgId {acked_id!r} differs from message_id {message_id!r}")
        return SubmissionReceipt(bank_id=self.bank_id, message_id=acked_id, received_at=received_at,
                                 duplicate=duplicate)

    def _body_or_raise(self, response: httpx.Response) -> bytes:
        if response.status_code == 200:
            return response.content
        raise BankTransportError(f"{response.request.method} {response.request.url.path}: unexpected "
                                 f"HTTP {response.status_code}", bank_id=self.bank_id,
                                 rule=f"http_{response.status_code}", value=response.status_code)


def _retry_after(response: httpx.Response) -> int | None:
    raw = response.headers.get("retry-after", "").strip()
    return int(raw) if raw.isdigit() else None  # the HTTP-date form is allowed; the sandbox never sends it
