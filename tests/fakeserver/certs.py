"""Throw-away CAs and server certificates (EC P-256) that pass Python's default verification."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_ONE_DAY = datetime.timedelta(days=1)


class CertFiles(NamedTuple):
    """PEM files of a server certificate and its private key; unpacks as ``(cert, key)``."""

    cert: Path
    key: Path

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate as ``AB:CD:...`` (the form tls_fingerprint takes)."""
        return fingerprint_of_file(self.cert)


def fingerprint_of_file(cert_path: Path) -> str:
    """SHA-256 of the DER form of the PEM certificate at ``cert_path``, as ``AB:CD:...``."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _san(hostname: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text) or "cert"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _leaf_builder(
    hostnames: list[str],
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    *,
    expired: bool,
) -> x509.CertificateBuilder:
    if not hostnames:
        raise ValueError("a server certificate needs at least one host name")
    now = datetime.datetime.now(datetime.UTC)
    if expired:
        not_before, not_after = now - 30 * _ONE_DAY, now - _ONE_DAY
    else:
        not_before, not_after = now - _ONE_DAY, now + 30 * _ONE_DAY
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_san(name) for name in hostnames]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


@dataclass(frozen=True)
class CA:
    """A certificate authority whose key signs server certificates."""

    name: str
    cert_path: Path
    """The CA certificate (PEM), to pass as an endpoint's ``ca_file``."""
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def issue(self, dir: Path, hostnames: list[str], *, expired: bool = False) -> CertFiles:
        """A server certificate for ``hostnames`` (DNS names or IP addresses) signed by this CA.

        The first host name is also the subject's common name. ``expired`` makes one that ran
        out yesterday (and began a month ago).
        """
        key = ec.generate_private_key(ec.SECP256R1())
        ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        cert = (
            _leaf_builder(hostnames, key.public_key(), self.certificate.subject, expired=expired)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = f"{_slug(self.name)}-{_slug(hostnames[0])}-{cert.serial_number:x}"
        files = CertFiles(dir / f"{stem}.crt", dir / f"{stem}.key")
        _write_cert(files.cert, cert)
        _write_key(files.key, key)
        return files


def make_ca(dir: Path, name: str) -> CA:
    """A new self-signed CA called ``name``, its certificate written to ``dir``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tuimail tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _ONE_DAY)
        .not_valid_after(now + 365 * _ONE_DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = dir / f"ca-{_slug(name)}-{cert.serial_number:x}.crt"
    _write_cert(cert_path, cert)
    return CA(name=name, cert_path=cert_path, certificate=cert, key=key)


def self_signed(dir: Path, hostname: str) -> CertFiles:
    """A server certificate for ``hostname`` signed by its own key (trusted by no CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public_key = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    cert = (
        _leaf_builder([hostname], public_key, name, expired=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    stem = f"self-{_slug(hostname)}-{cert.serial_number:x}"
    files = CertFiles(dir / f"{stem}.crt", dir / f"{stem}.key")
    _write_cert(files.cert, cert)
    _write_key(files.key, key)
    return files
