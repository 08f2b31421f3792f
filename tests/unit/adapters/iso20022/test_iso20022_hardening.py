"""R23: hostile and broken input to every ISO 20022 reader ends in a typed DomainError (or a
tolerant read), never another exception, and never touches a file or the network."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from iso20022_strategies import mutated

from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.adapters.iso20022.safexml import XmlRejected
from yinqi.domain.problems import DomainError

_REPO = Path(__file__).resolve().parents[4]
_DATA = Path(os.environ.get("YINQI_TESTDATA", _REPO.parent / "shared" / "testdata"))
READERS: dict[str, Callable[..., object]] = {
    "pain001": read_pain001, "pain002": read_pain002, "camt": read_statements}


def _seed(rel: str) -> bytes:
    path = _DATA / rel
    return path.read_bytes() if path.is_file() else b"<Document/>"


SEEDS = {
    "pain001": _seed("pain001/samples/apiome-03-multi-pmtinf-pain001.xml"),
    "pain002": _seed("pain002/apiome-status-set/pain002.xml"),
    "camt": _seed("camt/genkgo/camt054.v8.xml"),
    "camt053": _seed("camt/samples/apiome-06-typical-camt053-statement.xml"),
}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local server no XML parse may ever connect to."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def _nobody_connected(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


@pytest.mark.parametrize("reader", sorted(READERS))
def test_external_file_entity_is_refused_and_the_file_is_never_read(tmp_path: Path, reader: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    doc = (f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>'
           f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>').encode()
    with pytest.raises(XmlRejected) as err:
        READERS[reader](doc)
    assert err.value.rule == "no_dtd" and "TOP-SECRET" not in str(err.value)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_external_network_entity_is_refused_without_connecting(listener: socket.socket, reader: str) -> None:
    port = listener.getsockname()[1]
    doc = (f'<!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]><d>&x;</d>').encode()
    with pytest.raises(XmlRejected):
        READERS[reader](doc)
    assert _nobody_connected(listener)


def test_external_dtd_reference_without_entities_is_refused_without_connecting(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    doc = f'<!DOCTYPE Document SYSTEM "http://127.0.0.1:{port}/d.dtd"><Document/>'.encode()
    with pytest.raises(XmlRejected):
        read_statements(doc)
    assert _nobody_connected(listener)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_billion_laughs_is_refused(reader: str) -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    doc = f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "lol">{lol}]><d>&l9;</d>'.encode()
    with pytest.raises(XmlRejected):
        READERS[reader](doc)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_oversized_input_is_refused_before_parsing(reader: str) -> None:
    doc = b"<Document>" + b"<x/>" * 1000 + b"</Document>"
    with pytest.raises(XmlRejected) as err:
        READERS[reader](doc, max_bytes=1000)
    assert err.value.rule == "max_size"


def test_absurdly_deep_nesting_is_refused() -> None:
    with pytest.raises(XmlRejected):
        read_statements(b"<a>" * 100_000 + b"</a>" * 100_000)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_non_xml_and_empty_input_are_refused(reader: str) -> None:
    for junk in (b"", b"\x00\x01\x02", b"%PDF-1.4", b"{}", "<Document>ü</Document>".encode("utf-16")):
        with pytest.raises(DomainError):
            READERS[reader](junk)


def _typed_or_read(reader: Callable[..., object], data: bytes) -> None:
    with contextlib.suppress(DomainError):  # a typed refusal is fine; anything else fails the test
        reader(data, source="mutant.xml")


_FUZZ = settings(max_examples=250, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_FUZZ
@given(data=mutated(SEEDS["pain001"]))
def test_mutated_pain001_documents_end_in_a_typed_error_or_a_read(data: bytes) -> None:
    _typed_or_read(read_pain001, data)


@_FUZZ
@given(data=mutated(SEEDS["pain002"]))
def test_mutated_pain002_documents_end_in_a_typed_error_or_a_read(data: bytes) -> None:
    _typed_or_read(read_pain002, data)


@_FUZZ
@given(data=mutated(SEEDS["camt"]))
def test_mutated_camt054_documents_end_in_a_typed_error_or_a_read(data: bytes) -> None:
    _typed_or_read(read_statements, data)


@_FUZZ
@given(data=mutated(SEEDS["camt053"]))
def test_mutated_camt053_documents_end_in_a_typed_error_or_a_read(data: bytes) -> None:
    _typed_or_read(read_statements, data)
