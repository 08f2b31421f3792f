"""The sandbox bank's TLS material: a dev CA and a server certificate in HOME/certs.

Made on first start and reused afterwards, so clients keep trusting the same `ca.pem`. The server
certificate names 127.0.0.1 and localhost (plus the --host it binds, when that is another name).
"""

from __future__ import annotations

from sandbox_bank.config import BankSettings
from yinqi.adapters.crypto.tls import DEFAULT_SERVER_NAMES, DevPki, ensure_dev_pki


def ensure_certificates(settings: BankSettings, *, host: str = "127.0.0.1") -> DevPki:
    wildcard_or_known = (*DEFAULT_SERVER_NAMES, "0.0.0.0", "::")
    names = DEFAULT_SERVER_NAMES if host in wildcard_or_known else (*DEFAULT_SERVER_NAMES, host)
    return ensure_dev_pki(settings.certs_dir, names=names, common_name="Yinqi sandbox bank CA")
