"""Webhook delivery over HTTP (httpx) and endpoint secrets from YINQI_HOME.

The sender only posts: signing happens in `yinqi.application.webhooks` with the pure
`yinqi.domain.webhooks`. Redirects are not followed (a signed delivery goes where it was
configured to go, or fails), and every request has a timeout.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from yinqi.adapters.crypto.keys import load_or_create_secret
from yinqi.application.webhooks import Endpoint, WebhookSendError
from yinqi.domain.webhooks import decode_secret, encode_secret

__all__ = ["HttpWebhookSender", "load_or_create_webhook_secret", "resolve_endpoints"]

USER_AGENT = "yinqi-webhooks/1"


class HttpWebhookSender:
    """POSTs deliveries with one pooled httpx client (thread-safe; close it when done)."""

    def __init__(self, *, client: httpx.Client | None = None, verify: Any = True) -> None:
        self._client = client or httpx.Client(follow_redirects=False, verify=verify,
                                              headers={"user-agent": USER_AGENT})

    def post(self, url: str, *, headers: dict[str, str], body: bytes, timeout_s: float) -> int:
        try:
            response = self._client.post(url, content=body, headers=headers, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise WebhookSendError(f"{type(exc).__name__}: {exc}") from None
        return response.status_code

    def close(self) -> None:
        self._client.close()


def load_or_create_webhook_secret(path: str | Path) -> str:
    """The `whsec_…` secret kept in `path` (32 random bytes, mode 0600, created on first use)."""
    return encode_secret(load_or_create_secret(path))


def resolve_endpoints(configured: Iterable[Any], *, home: Path) -> list[Endpoint]:
    """Configured endpoints (`yinqi.config.WebhookEndpoint`) with their secrets loaded: the listed
    secrets first (newest first), then the one in `secret_file`. Raises ValueError for an endpoint
    with no secret or a secret that is not `whsec_<base64>`."""
    endpoints = []
    for cfg in configured:
        secrets = list(cfg.secrets)
        if cfg.secret_file:
            secrets.append(load_or_create_webhook_secret(home / cfg.secret_file))
        if not secrets:
            raise ValueError(f"webhook endpoint {cfg.url} needs `secrets` or `secret_file`")
        for secret in secrets:
            decode_secret(secret)  # fail at start-up, not at the first delivery
        endpoints.append(Endpoint(url=cfg.url, secrets=tuple(secrets), event_types=tuple(cfg.event_types),
                                  timeout_s=cfg.timeout_s))
    return endpoints
