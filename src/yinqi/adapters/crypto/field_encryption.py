"""Field encryption at rest: rotatable AES-256-GCM data keys and a fixed HMAC blind-index key.

What it guarantees:
- every sealed value is `v1:<key_id>:<base64(nonce | ciphertext | tag)>` with a fresh 96-bit
  random nonce and the column as associated data (`"<table>.<column>"`), so a ciphertext copied
  into another column, or changed by one bit, refuses to open (FIELD_CIPHERTEXT_INVALID);
- exactly one data key is active (new values are sealed under it); older keys stay on disk and
  keep opening their ciphertexts until they are retired, after which opening fails
  (FIELD_KEY_RETIRED) because the key bytes are gone;
- the blind index (HMAC-SHA256 of the normalised value, 32 hex characters) uses its own key that
  is never rotated with the data keys, so lookups stay valid across a rotation.

Key files live in `YINQI_HOME/keys/fields/`: `blind-index.key`, `data-<key_id>.key` (32 random
bytes each, mode 0600, created race-safely by `keys.load_or_create_secret`), `active` (the active
key id) and `data-<key_id>.retired` markers. Another process's rotation is noticed by `seal`
within ACTIVE_RECHECK_S (1 s): sealing looks at `active` (its inode and modification time) at
most once per that interval, not on every call (bulk intake seals two values per order), and at
once after this process activates a key or fails to open a value under a key it does not know.
`active_key_id` itself always looks at the file (rotation, retiring and listing read it exactly);
a value sealed under the previous key inside that second is re-sealed by the rotation's sweep, and
retiring refuses a key any stored value still uses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from yinqi.adapters.crypto.keys import load_or_create_secret, load_secret
from yinqi.domain.problems import DomainError

__all__ = [
    "BLIND_INDEX_CHARS",
    "FIELD_KEY_DIR",
    "FieldCiphertextInvalid",
    "FieldKeyActive",
    "FieldKeyInfo",
    "FieldKeyRetired",
    "FieldKeyUnknown",
    "FieldKeyring",
    "blob_key_id",
    "mask",
    "normalise",
]

FIELD_KEY_DIR = "keys/fields"
BLOB_VERSION = "v1"
BLIND_INDEX_CHARS = 32
NONCE_BYTES = 12
ACTIVE_RECHECK_S = 1.0  # the bound on noticing another process's rotation when sealing
FIRST_KEY_ID = "k1"  # fixed, so two processes starting on an empty home agree on it
_KEY_ID = re.compile(r"k[0-9a-z]{1,16}")


class FieldKeyUnknown(DomainError):
    code = "FIELD_KEY_UNKNOWN"


class FieldKeyRetired(DomainError):
    code = "FIELD_KEY_RETIRED"


class FieldKeyActive(DomainError):
    code = "FIELD_KEY_ACTIVE"


class FieldCiphertextInvalid(DomainError):
    code = "FIELD_CIPHERTEXT_INVALID"


@dataclass(frozen=True, slots=True)
class FieldKeyInfo:
    key_id: str
    active: bool
    retired: bool
    created_ns: int


def normalise(value: str) -> str:
    """The form the blind index is computed over: no whitespace, upper case (IBANs print spaced)."""
    return "".join(value.split()).upper()


def mask(value: str) -> str:
    """The display form of an account number given as text: an IBAN keeps its first and last four
    characters, any other number its last four (as `AccountRef.masked` does).

    >>> mask("DE89 3704 0044 0532 0130 00"), mask("6222021234567890")
    ('DE89**************3000', '************7890')
    """
    v = normalise(value)
    if len(v) > 8 and v[:2].isalpha():
        return v[:4] + "*" * (len(v) - 8) + v[-4:]
    return "*" * max(len(v) - 4, 0) + v[-4:]


def blob_key_id(blob: str) -> str:
    """The key id a sealed value names. Raises FieldCiphertextInvalid if it is not a v1 blob."""
    parts = blob.split(":", 2)
    if len(parts) != 3 or parts[0] != BLOB_VERSION or not _KEY_ID.fullmatch(parts[1]):
        raise FieldCiphertextInvalid("not a sealed field value", rule="blob_format", value=blob[:12])
    return parts[1]


class FieldKeyring:
    """The `AccountVault` of the hub, backed by key files in one directory."""

    def __init__(self, directory: str | Path, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._dir = Path(directory)
        self._monotonic = monotonic
        self._sealing: tuple[float, str] | None = None  # (when `active` was last looked at, key id)
        self._index_key = load_or_create_secret(self._dir / "blind-index.key")
        self._keys: dict[str, AESGCM] = {}
        self._active: tuple[tuple[int, int], str] | None = None  # ((inode, mtime_ns) of `active`, key id)
        if not self._active_file.exists():
            self.ensure_key(FIRST_KEY_ID)
            self._write_active(FIRST_KEY_ID, replace=False)

    @classmethod
    def at_home(cls, home: str | Path) -> FieldKeyring:
        return cls(Path(home) / FIELD_KEY_DIR)

    # --- the AccountVault port ------------------------------------------------------------------
    @property
    def active_key_id(self) -> str:
        st = self._active_file.stat()
        seen = (st.st_ino, st.st_mtime_ns)
        if self._active is None or self._active[0] != seen:
            self._active = (seen, self._active_file.read_text(encoding="ascii").strip())
        return self._active[1]

    def _sealing_key_id(self) -> str:
        now = self._monotonic()
        if self._sealing is None or now - self._sealing[0] >= ACTIVE_RECHECK_S:
            self._sealing = (now, self.active_key_id)
        return self._sealing[1]

    def seal(self, value: str, *, field: str) -> str:
        return self.seal_bytes(value.encode("utf-8"), field=field)

    def open(self, blob: str, *, field: str) -> str:
        """Raises FieldKeyUnknown, FieldKeyRetired, FieldCiphertextInvalid (tampered, wrong column)."""
        return self.open_bytes(blob, field=field).decode("utf-8")

    def seal_bytes(self, data: bytes, *, field: str) -> str:
        key_id = self._sealing_key_id()
        cipher = self._cipher(key_id)
        nonce = os.urandom(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, data, field.encode("utf-8"))
        return f"{BLOB_VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open_bytes(self, blob: str, *, field: str) -> bytes:
        key_id = blob_key_id(blob)
        try:
            raw = base64.b64decode(blob.split(":", 2)[2], validate=True)
        except (binascii.Error, ValueError):
            raise FieldCiphertextInvalid("sealed value is not base64", rule="blob_format",
                                         value=key_id) from None
        try:
            cipher = self._cipher(key_id)
        except FieldKeyUnknown:
            self._sealing = None  # a key we never saw: another process may have rotated
            raise
        if key_id != self.active_key_id and self._retired_marker(key_id).exists():
            self._keys.pop(key_id, None)  # retired by another process since we loaded it
            raise FieldKeyRetired(f"field key {key_id} is retired", where=field, rule="key_retired", value=key_id)
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], field.encode("utf-8"))
        except InvalidTag:
            raise FieldCiphertextInvalid(f"sealed value does not open as {field} (tampered or moved)",
                                         where=field, rule="authenticated", value=key_id) from None

    def blind_index(self, value: str) -> str:
        digest = hmac.new(self._index_key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:BLIND_INDEX_CHARS]

    # --- key management (the key rotation use case) -----------------------------------------------
    @staticmethod
    def new_key_id() -> str:
        return f"k{secrets.token_hex(4)}"

    def ensure_key(self, key_id: str) -> None:
        """Create data key `key_id` if absent (idempotent: a resumed rotation finds its key)."""
        if not _KEY_ID.fullmatch(key_id):
            raise FieldKeyUnknown(f"{key_id!r} is not a field key id", rule="key_id_format", value=key_id)
        if self._retired_marker(key_id).exists():
            raise FieldKeyRetired(f"field key {key_id} is retired", rule="key_retired", value=key_id)
        load_or_create_secret(self._key_file(key_id))

    def activate(self, key_id: str) -> None:
        """Seal new values under `key_id` from now on (it must exist)."""
        self._cipher(key_id)
        self._write_active(key_id, replace=True)

    def retire(self, key_id: str) -> None:
        """Destroy a key's bytes: its ciphertexts never open again. The caller proves none is left.
        Raises FieldKeyActive (the active key), FieldKeyUnknown."""
        if key_id == self.active_key_id:
            raise FieldKeyActive(f"field key {key_id} is the active key", rule="not_active", value=key_id)
        path = self._key_file(key_id)
        if not path.exists():
            raise FieldKeyUnknown(f"no field key {key_id}", rule="key_exists", value=key_id)
        created_ns = path.stat().st_mtime_ns
        self._retired_marker(key_id).write_text(str(created_ns), encoding="ascii")  # keeps `keys()` in order
        path.unlink()
        self._keys.pop(key_id, None)
        self._sealing = None

    def key_infos(self) -> list[FieldKeyInfo]:
        """Every key ever created here, oldest first."""
        active = self.active_key_id
        found = []
        for path in self._dir.glob("data-*.*"):
            key_id, kind = path.stem.removeprefix("data-"), path.suffix
            if kind in (".key", ".retired") and _KEY_ID.fullmatch(key_id):
                created = path.stat().st_mtime_ns if kind == ".key" else int(path.read_text("ascii") or 0)
                found.append(FieldKeyInfo(key_id, key_id == active, kind == ".retired", created))
        return sorted(found, key=lambda k: (k.created_ns, k.key_id))

    # --- files ----------------------------------------------------------------------------------
    @property
    def _active_file(self) -> Path:
        return self._dir / "active"

    def _key_file(self, key_id: str) -> Path:
        return self._dir / f"data-{key_id}.key"

    def _retired_marker(self, key_id: str) -> Path:
        return self._dir / f"data-{key_id}.retired"

    def _cipher(self, key_id: str) -> AESGCM:
        if key_id not in self._keys:
            if self._retired_marker(key_id).exists():
                raise FieldKeyRetired(f"field key {key_id} is retired", rule="key_retired", value=key_id)
            if not self._key_file(key_id).exists():
                raise FieldKeyUnknown(f"no field key {key_id} in {self._dir}", rule="key_exists", value=key_id)
            self._keys[key_id] = AESGCM(load_secret(self._key_file(key_id)))
        return self._keys[key_id]

    def _write_active(self, key_id: str, *, replace: bool) -> None:
        """Atomically: a temp file renamed over `active` (rotation), or linked only if absent
        (first use, so two starting processes agree)."""
        tmp = self._dir / f".active.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key_id.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            if replace:
                os.replace(tmp, self._active_file)
            else:
                os.link(tmp, self._active_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself must survive a crash
        finally:
            os.close(fd)
        self._active = None
        self._sealing = None
