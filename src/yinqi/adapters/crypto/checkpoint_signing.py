"""Ed25519 signatures over ledger checkpoints, and the JSON-lines checkpoint log.

The log lives outside the database (YINQI_HOME/checkpoints/ledger.jsonl). Each line is one signed
`Checkpoint` record; lines are appended with an fsync and never rewritten. Reading returns every
line with a verdict, so a verifier can report a forged, altered or garbled line instead of
stopping at it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from yinqi.adapters.crypto.keys import key_id
from yinqi.domain.ledger.checkpoint import Checkpoint, CheckpointInvalid

__all__ = ["SignedCheckpoint", "append_checkpoint", "read_checkpoints", "sign_checkpoint"]


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    line_no: int
    checkpoint: Checkpoint | None
    signature_ok: bool
    problem: str = ""


def sign_checkpoint(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> dict[str, object]:
    signature = private_key.sign(checkpoint.signing_bytes())
    return checkpoint.to_record(signature=signature, key_id=key_id(private_key.public_key()))


def append_checkpoint(path: str | Path, checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> None:
    """Append one signed line and make it durable before returning."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = json.dumps(sign_checkpoint(checkpoint, private_key), sort_keys=True, separators=(",", ":"))
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: str | Path, public_key: Ed25519PublicKey | None) -> list[SignedCheckpoint]:
    """Every line of the log with its verdict; an absent file is an empty log.

    With `public_key=None` signatures are not checked (`signature_ok` is False on every line).
    """
    p = Path(path)
    if not p.exists():
        return []
    out: list[SignedCheckpoint] = []
    for n, raw in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            cp, signature, _ = Checkpoint.from_record(record)
        except (ValueError, CheckpointInvalid, TypeError, AttributeError) as exc:
            out.append(SignedCheckpoint(n, None, False, f"line {n}: unreadable checkpoint ({exc})"))
            continue
        out.append(SignedCheckpoint(n, cp, _signature_ok(cp, signature, public_key)))
    return out


def _signature_ok(cp: Checkpoint, signature: bytes, public_key: Ed25519PublicKey | None) -> bool:
    if public_key is None:
        return False
    try:
        public_key.verify(signature, cp.signing_bytes())
    except InvalidSignature:
        return False
    return True
