"""TLS to etcd: a node checks the etcd members' certificates against the alliance's CA and
presents its client certificate, against a real etcd run with ``--client-cert-auth``."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledger.consensus.etcd import EtcdClient, EtcdTLS
from ledger.errors import OrderingUnavailable

LOOPBACK = ipaddress.ip_address("127.0.0.1")


@dataclass
class Pki:
    ca: Path
    server: tuple[Path, Path]
    client: tuple[Path, Path]
    stranger: tuple[Path, Path]  # a client certificate from another CA


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _issue(folder: Path, name: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
           usage: list[x509.ObjectIdentifier] | None) -> tuple[Path, Path, x509.Name,
                                                             ec.EllipticCurvePrivateKey]:
    """A certificate for ``name`` signed by ``issuer`` (self-signed, a CA, when None)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer[0] if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1)))
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(LOOPBACK)]), False)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage or []), False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path, subject, key


def _pki(folder: Path) -> Pki:
    ca, _, ca_name, ca_key = _issue(folder, "alliance-ca", None, None)
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    server = _issue(folder, "etcd-member", (ca_name, ca_key), both)
    client = _issue(folder, "node", (ca_name, ca_key), [ExtendedKeyUsageOID.CLIENT_AUTH])
    _, _, other_name, other_key = _issue(folder, "other-ca", None, None)
    stranger = _issue(folder, "stranger", (other_name, other_key),
                      [ExtendedKeyUsageOID.CLIENT_AUTH])
    return Pki(ca, server[:2], client[:2], stranger[:2])


@pytest.fixture
def tls_etcd(tmp_path: Path, free_port: Callable[[], int]) -> Iterator[tuple[str, Pki]]:
    binary = shutil.which("etcd")
    if binary is None:
        pytest.skip("etcd is not installed (Debian: apt-get install etcd-server)")
    folder = tmp_path
    pki = _pki(folder)
    client, peer = free_port(), free_port()
    url = f"https://127.0.0.1:{client}"
    with open(folder / "etcd.log", "wb") as out:
        process = subprocess.Popen(
            [binary, "--name", "t", "--data-dir", str(folder / "member"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"t=http://127.0.0.1:{peer}",
             "--cert-file", str(pki.server[0]), "--key-file", str(pki.server[1]),
             "--client-cert-auth", "--trusted-ca-file", str(pki.ca)], stdout=out, stderr=out)
    try:
        probe = EtcdClient([url], timeout_s=30, tls=EtcdTLS(pki.ca, *pki.client))
        try:
            probe.get(b"probe")  # retries until etcd answers, or raises
        finally:
            probe.close()
        yield url, pki
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_node_with_the_alliance_ca_and_its_client_certificate_reaches_etcd(
        tls_etcd: tuple[str, Pki]) -> None:
    url, pki = tls_etcd
    client = EtcdClient([url], tls=EtcdTLS(pki.ca, *pki.client))
    try:
        client.put(b"jifentong/tls", b"over TLS")
        found = client.get(b"jifentong/tls")
        assert found is not None and found.value == b"over TLS"
    finally:
        client.close()


@pytest.mark.parametrize("who", ["no client certificate", "a stranger's certificate",
                                 "the system's CAs only"])
def test_etcd_over_tls_refuses_what_the_alliance_did_not_issue(
        tls_etcd: tuple[str, Pki], who: str) -> None:
    url, pki = tls_etcd
    tls: Callable[[], EtcdTLS | None] = {
        "no client certificate": lambda: EtcdTLS(pki.ca),
        "a stranger's certificate": lambda: EtcdTLS(pki.ca, *pki.stranger),
        "the system's CAs only": lambda: None,  # etcd's certificate is not theirs
    }[who]
    client = EtcdClient([url], timeout_s=0.5, tls=tls())
    started = time.monotonic()
    try:
        with pytest.raises(OrderingUnavailable):
            client.put(b"jifentong/tls", b"should not land")
    finally:
        client.close()
    assert time.monotonic() - started < 10


def test_a_certificate_without_its_key_is_refused_before_any_connection(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    with pytest.raises(ValueError, match="needs its key"):
        EtcdTLS(pki.ca, pki.client[0]).context()
