"""Development certificates: a private CA and server certificates it signs, made with `cryptography`.

Every connection in Yinqi is TLS, also on a developer's machine. Instead of switching verification
off (never: no `verify=False` anywhere), a dev setup creates its own certificate authority once and
hands its `ca.pem` to the clients, which then verify the server exactly as they would in
production. Keys are EC P-256, written with mode 0600; the CA is valid 10 years, server
certificates 1 year, and both carry the X.509 extensions a strict verifier (Python's `ssl` with
`VERIFY_X509_STRICT`) insists on: basicConstraints, keyUsage, SKI/AKI, and subjectAltName.

`ensure_dev_pki(dir)` is idempotent: it reuses what exists and only fills in what is missing, so a
restarted server keeps the CA its clients already trust. The server certificate is reissued (by
the same CA) when it does not name every requested host or expires within 30 days.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_SERVER_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost")
_CA_DAYS = 3650
_SERVER_DAYS = 365


@dataclass(frozen=True, slots=True)
class DevPki:
    """Where the files of one dev PKI live."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def pki_paths(directory: Path) -> DevPki:
    return DevPki(ca_cert=directory / "ca.pem", ca_key=directory / "ca.key",
                  server_cert=directory / "server.pem", server_key=directory / "server.key")


def ensure_dev_pki(directory: Path, *, names: tuple[str, ...] = DEFAULT_SERVER_NAMES,
                   common_name: str = "Yinqi dev CA") -> DevPki:
    """Create (once) a CA and a server certificate for `names` (IPs and DNS names) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = pki_paths(directory)
    if not (paths.ca_cert.is_file() and paths.ca_key.is_file()):
        key, cert = make_ca(common_name=common_name)
        _write_key(paths.ca_key, key)
        paths.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not (paths.server_key.is_file() and _covers(paths.server_cert, names)):
        ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key, cert = issue_server_cert(ca_key=ca_key, ca_cert=ca_cert, names=names)
        _write_key(paths.server_key, key)
        paths.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths


def make_ca(*, common_name: str, now: datetime | None = None) -> tuple[ec.EllipticCurvePrivateKey,
                                                                       x509.Certificate]:
    """A self-signed CA certificate allowed to sign end-entity certificates only (pathlen 0)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Yinqi development")])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_server_cert(*, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                      names: tuple[str, ...], now: datetime | None = None,
                      ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A TLS server certificate for `names`; IP literals become iPAddress SANs, the rest DNS."""
    if not names:
        raise ValueError("a server certificate needs at least one name")
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _covers(cert_file: Path, names: tuple[str, ...]) -> bool:
    """True if the certificate exists, names every one of `names` and is valid for 30 more days."""
    if not cert_file.is_file():
        return False
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    present = {str(v) for v in sans.get_values_for_type(x509.IPAddress)} | set(
        sans.get_values_for_type(x509.DNSName))
    fresh = cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=30)
    return fresh and all(str(_san(n).value) in present for n in names)


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
