"""Dev PKI for the sandbox bank: made once, reused, names the loopback hosts, keys private."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from yinqi.adapters.crypto.tls import ensure_dev_pki


def sans(cert_file: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)} | set(ext.get_values_for_type(x509.DNSName))


def test_server_certificate_names_127_0_0_1_and_localhost_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    assert sans(pki.server_cert) == {"127.0.0.1", "localhost"}
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_private_keys_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    for key in (pki.ca_key, pki.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_second_run_reuses_the_ca_and_certificate(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path)
    before = (first.ca_cert.read_bytes(), first.server_cert.read_bytes())
    second = ensure_dev_pki(tmp_path)
    assert (second.ca_cert.read_bytes(), second.server_cert.read_bytes()) == before


def test_a_new_host_name_reissues_the_server_certificate_under_the_same_ca(tmp_path: Path) -> None:
    ca_before = ensure_dev_pki(tmp_path).ca_cert.read_bytes()
    pki = ensure_dev_pki(tmp_path, names=("127.0.0.1", "localhost", "bank.test"))
    assert "bank.test" in sans(pki.server_cert)
    assert pki.ca_cert.read_bytes() == ca_before
