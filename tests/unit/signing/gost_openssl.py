"""``openssl cms -verify`` with the GOST engine, as an outside judge of what
this library seals and signs.

The engine (``libengine-gost-openssl``) is enabled by an ``OPENSSL_CONF``
written into a temporary directory, as the interoperability tests do; without
it the caller's test skips, and fails under ``CI=true``
(:func:`tests.services.unavailable`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.services import require_command, unavailable

_CONF = """\
openssl_conf = openssl_def

[openssl_def]
engines = engine_section

[engine_section]
gost = gost_section

[gost_section]
engine_id = gost
default_algorithms = ALL
"""


@dataclass(frozen=True)
class GostOpenSsl:
    """The ``openssl`` command with the GOST engine enabled, working in ``root``."""

    openssl: str
    root: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a test driving the system's openssl
            [self.openssl, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def verifies(self, sig: bytes, content: bytes, ca_pem: bytes) -> bool:
        """Whether ``openssl cms -verify`` accepts the detached DER ``sig``
        over ``content`` with ``ca_pem`` as the only trust anchor."""
        (self.root / "judged.sig").write_bytes(sig)
        (self.root / "judged.bin").write_bytes(content)
        (self.root / "ca.pem").write_bytes(ca_pem)
        done = self.run(
            "cms", "-verify", "-engine", "gost", "-binary", "-inform", "DER",
            "-in", "judged.sig", "-content", "judged.bin", "-CAfile", "ca.pem",
            "-out", os.devnull,
        )  # fmt: skip
        return done.returncode == 0 and "Verification successful" in done.stderr

    def sign(
        self, content: bytes, key_pem: bytes, cert_pem: bytes, chain_pem: bytes, md: str
    ) -> bytes:
        """A detached DER CMS by ``openssl cms -sign`` (``md``: ``md_gost12_256``
        or ``md_gost12_512``), with the chain in its certificates."""
        for name, data in (
            ("signed.bin", content),
            ("signer.key", key_pem),
            ("signer.pem", cert_pem),
            ("chain.pem", chain_pem),
        ):
            (self.root / name).write_bytes(data)
        done = self.run(
            "cms", "-sign", "-engine", "gost", "-binary", "-md", md,
            "-in", "signed.bin", "-signer", "signer.pem", "-inkey", "signer.key",
            "-certfile", "chain.pem", "-outform", "DER", "-out", "signed.sig",
        )  # fmt: skip
        assert done.returncode == 0, f"openssl cms -sign: {done.stderr}"
        return (self.root / "signed.sig").read_bytes()


def find_gost_openssl(root: Path) -> GostOpenSsl | None:
    """OpenSSL with the GOST engine in ``root``, or ``None`` without it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    conf = root / "openssl.cnf"
    conf.write_text(_CONF)
    tool = GostOpenSsl(openssl, root, {**os.environ, "OPENSSL_CONF": str(conf)})
    probe = tool.run("engine", "-c", "gost")
    return tool if probe.returncode == 0 and "gost" in probe.stdout else None


def gost_openssl(root: Path) -> GostOpenSsl:
    """OpenSSL with the GOST engine in ``root``; skips (fails in CI) without it."""
    require_command("openssl")
    tool = find_gost_openssl(root)
    if tool is None:
        unavailable(
            "OpenSSL GOST engine",
            "`openssl engine gost` fails (install libengine-gost-openssl: "
            "scripts/bootstrap-system.sh)",
        )
    assert tool is not None
    return tool
