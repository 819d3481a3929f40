"""Benchmark of the signing library against the references it must beat.

Run: ``.venv/bin/python benchmarks/signing.py`` (``--quick`` for a short run).

Inputs, the same for every row: a 100 KB file, a one-page act PDF (reportlab,
Cyrillic), RSA-2048 and P-256 signers and an RSA-2048 time-stamping authority
under a two-level test PKI, a trust store with the root, the intermediate and
its CRL (no network).

References measured in the same run:

* the bare primitives (cryptography sign/verify, hashlib.sha256 of 100 KB);
* cryptography's ``PKCS7SignatureBuilder`` (detached, same certificates);
* bare pyHanko with its defaults: ``signers.sign_pdf`` with a ``SimpleSigner``
  loaded from the PKCS#12 file for every signature (what a naive integration
  does; pyHanko then re-loads the key for the dry-run sizing signature and
  again for the real one), ``validate_pdf_signature`` and
  ``async_validate_detached_cms`` (0.38 has no sync twin; it runs on one
  long-lived event loop so that no asyncio.run cost is charged to it) with
  one ``ValidationContext`` reused across calls (its own path cache helps it);
* pyHanko's ``DummyTimeStamper`` with the same TSA key and certificate, its
  ``async_timestamp`` on the same long-lived loop, for our in-process
  ``TimeStampAuthority`` (``timestamp``, and a whole RFC 3161 cycle:
  ``respond`` to a DER request with a nonce, then ``check_response``);
* pyHanko's own B-LTA signing: ``signers.sign_pdf`` with the PAdES subfilter
  (without it pyHanko writes neither the DSS nor the document time-stamp),
  ``embed_validation_info`` and ``use_pades_lta``, one ``ValidationContext``
  (root, intermediate, CRL, no fetching) reused across calls, the
  ``SimpleSigner`` loaded from the PKCS#12 file every time and the
  ``DummyTimeStamper``; against our B-T ``sign_pdf`` → ``verify_pdf`` (for the
  validation data) → ``add_long_term_data`` with a document time-stamp. Both
  outputs are checked to be B-LTA before they are timed.

Also printed, without a reference: the cost of sealing a CMS to CAdES-LTA
(signature time-stamp, validation data, archive-time-stamp-v3).

Goals (ratios of operations per second): sign_pdf >= 5x bare pyHanko,
verify_pdf >= 2x bare validation, verify_pdf of a document signed by both
parties (the second signature's update analysed for what it changed) >= 5x
``validate_pdf_signature`` of both signatures, verify_cms (chain cached) >= 4x
validate_detached_cms, sign_cms >= 0.7x PKCS7SignatureBuilder, B-LTA signing
>= 3x pyHanko's B-LTA signing.

GOST R 34.10-2012 / Streebog (``signing.gost``, pure Python) is measured
beside OpenSSL with the GOST engine (``libengine-gost-openssl``), in the same
run: raw verify and sign for 256- and 512-bit keys, Streebog-256 of 100 KB,
and sign_cms / verify_cms with a 256-bit key. OpenSSL has no in-process
benchmark for GOST signatures (``openssl speed`` lists none), so its rate is
amortised over subprocesses: one ``openssl cms -sign`` (``-verify -noverify``)
over a SignedData with 1 and with N SignerInfos, rate = (N - 1) / (t_N - t_1),
which removes process start-up, engine loading and parsing; what remains per
signature includes reading that signer's key and certificate (OpenSSL refuses
one signer twice). Streebog: ``openssl dgst`` of 100 KB and of 10 MB, the
same way. Goal: >= 100 verifications/s for 256-bit keys (an absolute rate:
pure Python is not expected to match C).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import io
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding  # noqa: E402
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs7,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers as hanko
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import (
    async_validate_detached_cms,
    validate_pdf_signature,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from signing import gost, pki  # noqa: E402
from signing._cms_asn1 import digest_spec  # noqa: E402
from signing.cades import (  # noqa: E402
    add_archive_timestamp,
    add_signature_timestamp,
    add_validation_data,
)
from signing.cms import sign_cms, verify_cms  # noqa: E402
from signing.pades import add_long_term_data, sign_pdf, verify_pdf  # noqa: E402
from signing.reports import Verdict  # noqa: E402
from signing.signers import GostSigner, Pkcs12Signer  # noqa: E402
from signing.trust import TrustStore  # noqa: E402
from signing.tsa import TimeStampAuthority, check_response  # noqa: E402

FONT = Path(__file__).resolve().parents[1] / "signing" / "fonts" / "DejaVuSans.ttf"
PASSWORD = "bench"


def act_pdf() -> bytes:
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    c.setFont("DejaVuSans", 12)
    lines = [
        "АКТ приёма-передачи электрической энергии № 42",
        "Поставщик: АО «Энергосбыт»; Потребитель: ООО «Ромашка»",
        "Объём за октябрь 2026 г.: 12 345 кВт·ч; стоимость 98 765,43 руб.",
    ]
    for i, line in enumerate(lines):
        c.drawString(60, 780 - 22 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def check_lta(doc: bytes, trust: TrustStore) -> None:
    """Fail unless ``doc`` is PAdES B-LTA: a /DocTimeStamp after the signature,
    and our verification finds it VALID with a signature and a document
    time-stamp."""

    reader = PdfFileReader(io.BytesIO(doc))
    types = [e.sig_object.get("/Type") for e in reader.embedded_signatures]
    assert types == ["/Sig", "/DocTimeStamp"], types
    report = verify_pdf(doc, trust)
    assert report.verdict is Verdict.VALID, report.summary_ru()
    (signature,) = report.signatures
    kinds = [t.kind for t in signature.signer.timestamps]
    assert kinds == ["signature", "document"], kinds


def rate(fn: Callable[[], object], seconds: float, rounds: int = 5) -> float:
    """Operations per second: the best of ``rounds`` timed rounds (after a warm-up)."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    per_round = max(1, int(seconds / rounds / once))
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            fn()
        results.append(per_round / (time.perf_counter() - start))
    return max(results)


_GOST_CONF = """\
openssl_conf = openssl_def
[openssl_def]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
[req]
distinguished_name = dn
[dn]
"""


class _OpenSslGost:
    """OpenSSL with the GOST engine enabled by a config file in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.openssl = shutil.which("openssl")
        (root / "openssl.cnf").write_text(_GOST_CONF)
        self.env = {**os.environ, "OPENSSL_CONF": str(root / "openssl.cnf")}
        self.available = self.openssl is not None and (
            self.run("engine", "-c", "gost", check=False).returncode == 0
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        assert self.openssl is not None
        done = subprocess.run(
            [self.openssl, *args], cwd=self.root, env=self.env, capture_output=True,
            check=False, timeout=600,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise RuntimeError(f"openssl {args}: {done.stderr.decode()[-500:]}")
        return done

    def best_time(self, *args: str, rounds: int = 5) -> float:
        results = []
        for _ in range(rounds):
            start = time.perf_counter()
            self.run(*args)
            results.append(time.perf_counter() - start)
        return min(results)

    def keys(self, bits: int, count: int) -> list[tuple[str, str]]:
        """``count`` (key, self-signed certificate) file pairs of ``bits``."""
        made = []
        for i in range(count):
            key, cert = f"k{bits}_{i}.pem", f"c{bits}_{i}.pem"
            self.run(
                "genpkey", "-algorithm", f"gost2012_{bits}", "-pkeyopt", "paramset:A",
                "-out", key,
            )  # fmt: skip
            self.run(
                "req", "-new", "-x509", "-key", key, f"-md_gost12_{bits}",
                "-subj", f"/CN=bench {bits} {i}", "-days", "30", "-out", cert,
            )  # fmt: skip
            made.append((key, cert))
        return made

    def cms_rates(self, bits: int, pairs: list[tuple[str, str]]) -> tuple[float, float]:
        """(sign/s, verify/s) amortised over len(pairs) SignerInfos."""
        md = f"md_gost12_{bits}"

        def sign(out: str, chosen: list[tuple[str, str]]) -> list[str]:
            args = ["cms", "-sign", "-binary", "-md", md, "-in", "small.bin",
                    "-outform", "DER", "-out", out]  # fmt: skip
            for key, cert in chosen:
                args += ["-signer", cert, "-inkey", key]
            return args

        def verify(sig: str) -> list[str]:
            return ["cms", "-verify", "-noverify", "-binary", "-inform", "DER",
                    "-in", sig, "-content", "small.bin", "-out", os.devnull]  # fmt: skip

        (self.root / "small.bin").write_bytes(b"x" * 1000)
        n = len(pairs)
        t_one = self.best_time(*sign(f"one{bits}.sig", pairs[:1]))
        t_many = self.best_time(*sign(f"many{bits}.sig", pairs))
        v_one = self.best_time(*verify(f"one{bits}.sig"))
        v_many = self.best_time(*verify(f"many{bits}.sig"))
        return (n - 1) / max(t_many - t_one, 1e-6), (n - 1) / max(v_many - v_one, 1e-6)

    def streebog_rate(self, block: bytes) -> float:
        """``openssl dgst -md_gost12_256`` rate in blocks of 100 KB per second."""
        (self.root / "one.bin").write_bytes(block)
        (self.root / "hundred.bin").write_bytes(block * 100)
        t_one = self.best_time("dgst", "-md_gost12_256", "one.bin")
        t_hundred = self.best_time("dgst", "-md_gost12_256", "hundred.bin")
        return 99 / max(t_hundred - t_one, 1e-6)


def gost_section(budget: float) -> int:
    """Measure and print the GOST rows; the number of failed goals."""

    rows: list[tuple[str, float, float | None]] = []
    content = os.urandom(100 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        ossl = _OpenSslGost(Path(tmp))
        for bits, oid in ((256, "1.2.643.7.1.2.1.1.1"), (512, "1.2.643.7.1.2.1.2.1")):
            key = gost.GostPrivateKey.generate(oid)
            public = key.public_key()
            digest = os.urandom(bits // 8)
            value = key.sign_digest(digest)
            assert public.verify_digest(digest, value)
            theirs_sign = theirs_verify = None
            if ossl.available:
                theirs_sign, theirs_verify = ossl.cms_rates(bits, ossl.keys(bits, 33))
            rows.append(
                (
                    f"verify, {bits}-bit",
                    rate(
                        lambda p=public, v=value, d=digest: p.verify_digest(d, v),
                        budget,
                    ),
                    theirs_verify,
                )
            )
            rows.append(
                (
                    f"sign, {bits}-bit",
                    rate(lambda k=key, d=digest: k.sign_digest(d), budget),
                    theirs_sign,
                )
            )
        rows.append(
            (
                "Streebog-256, 100 KB",
                rate(lambda: gost.streebog256(content), budget, rounds=3),
                ossl.streebog_rate(content) if ossl.available else None,
            )
        )
        if ossl.available:
            key_file, cert_file = ossl.keys(256, 1)[0]
            cert = (ossl.root / cert_file).read_bytes()
            signer = GostSigner.load((ossl.root / key_file).read_bytes(), cert)
            trust = TrustStore(
                [cert], ocsp=False, fetch_crls=False, fetch_issuers=False
            )
            small = content[:1000]
            sig = sign_cms(small, signer)
            assert verify_cms(small, sig, trust, revocation="off").verdict is (
                Verdict.VALID
            )
            rows.append(
                (
                    "sign_cms, 256-bit, 1 KB",
                    rate(lambda: sign_cms(small, signer), budget),
                    None,
                )
            )
            rows.append(
                (
                    "verify_cms, 256-bit, 1 KB",
                    rate(
                        lambda: verify_cms(small, sig, trust, revocation="off"), budget
                    ),
                    None,
                )
            )
    print("GOST R 34.10-2012 / 34.11-2012: signing.gost (pure Python) vs OpenSSL")
    if not ossl.available:
        print("  (OpenSSL GOST engine not available: references skipped;")
        print("   apt-get install libengine-gost-openssl, scripts/bootstrap-system.sh)")
    header = f"{'operation':<28} {'ours ops/s':>11}  {'OpenSSL ops/s':>14} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for label, ours, theirs in rows:
        tail = "" if theirs is None else f"{theirs:>14.1f} {ours / theirs:>6.2f}x"
        print(f"{label:<28} {ours:>11.1f}  {tail}".rstrip())
    verify_256 = rows[0][1]
    verdict = "PASS" if verify_256 >= 100 else "FAIL"
    print(
        f"goal: >= 100 verifications/s for 256-bit keys: {verify_256:.0f}/s  {verdict}"
    )
    print(
        "OpenSSL rates: one process over a SignedData with 1 and with 33 "
        "SignerInfos (cms -sign; cms -verify -noverify), rate = 32 / (t_33 - t_1), "
        "best of 5; Streebog: openssl dgst of 100 KB and of 10 MB, 99 / (t_10MB - "
        "t_100KB)."
    )
    print()
    return 0 if verdict == "PASS" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds")
    parser.add_argument(
        "--gost-only", action="store_true", help="only the GOST R 34.10-2012 rows"
    )
    args = parser.parse_args()
    budget = 0.6 if args.quick else 2.0
    gost_failed = gost_section(budget)
    if args.gost_only:
        return gost_failed

    now = dt.datetime.now(dt.UTC)
    root = pki.make_root_ca()
    inter = pki.make_intermediate_ca(root)
    crl = pki.make_crl(inter)
    tsa = pki.make_tsa(inter)
    authority = TimeStampAuthority(
        Pkcs12Signer(tsa.key, tsa.cert, tsa.chain), policy="2.25.1"
    )
    signers = {
        "RSA-2048": pki.make_signer(inter, not_before=now - dt.timedelta(days=1)),
        "P-256": pki.make_signer(
            inter, key_type="p256", not_before=now - dt.timedelta(days=1)
        ),
    }
    trust = TrustStore(
        [root.der],
        [inter.der],
        [crl],
        ocsp=False,
        fetch_crls=False,
        fetch_issuers=False,
    )
    content = os.urandom(100 * 1024)
    pdf = act_pdf()

    # Every B-LTA signature would log that fetching is off: it is, on purpose.
    logging.getLogger("pyhanko.sign.signers.pdf_signer").setLevel(logging.ERROR)

    context = trust.validation_context(revocation="soft")
    loop = asyncio.new_event_loop()

    rows: list[tuple[str, str, float, str, float, float | None]] = []
    digest = hashlib.sha256(content).digest()
    primitives: list[tuple[str, float]] = [
        (
            "hashlib.sha256, 100 KB",
            rate(lambda: hashlib.sha256(content).digest(), budget),
        )
    ]

    # -- time-stamping: our authority vs pyHanko's DummyTimeStamper ----------
    # (label, our ops/s, reference, reference ops/s); printed as milliseconds
    # per token (per signature for the CAdES-LTA seal: two tokens and a parse).
    latencies: list[tuple[str, float, str, float | None]] = []
    dummy = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.der),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
        # from_certs carries no annotations in pyhanko-certvalidator.
        certs_to_embed=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [
                asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
                for c in tsa.chain
            ]
        ),
    )
    sha256 = digest_spec("sha256")

    def tsa_cycle() -> bytes:
        value = hashlib.sha256(content).digest()
        nonce = secrets.randbits(63)
        request = asn1_tsp.TimeStampReq(
            {
                "version": "v1",
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": value,
                },
                "nonce": nonce,
                "cert_req": True,
            }
        ).dump()
        return check_response(authority.respond(request), value, sha256, nonce)

    def dummy_token() -> object:
        value = hashlib.sha256(content).digest()
        return loop.run_until_complete(dummy.async_timestamp(value, "sha256"))

    tsa_cycle()
    reference = rate(dummy_token, budget, rounds=3)
    latencies.append(
        (
            "timestamp(data), 100 KB",
            rate(lambda: authority.timestamp(content), budget),
            "DummyTimeStamper.async_timestamp",
            reference,
        )
    )
    latencies.append(
        (
            "respond(request) + check_response",
            rate(tsa_cycle, budget),
            "DummyTimeStamper.async_timestamp",
            reference,
        )
    )

    hanko_context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(root.der)],
        other_certs=[asn1_x509.Certificate.load(inter.der)],
        crls=[asn1_crl.CertificateList.load(crl)],
        allow_fetching=False,
    )

    for name, issued in signers.items():
        p12 = issued.pkcs12(PASSWORD)
        signer = Pkcs12Signer.load(p12, PASSWORD)
        key, cert = issued.key, issued.cert
        if isinstance(key, ec.EllipticCurvePrivateKey):
            ec_key = key

            def raw_sign(k: ec.EllipticCurvePrivateKey = ec_key) -> bytes:
                return k.sign(digest, ec.ECDSA(hashes.SHA256()))

            value = raw_sign()
            pub = ec_key.public_key()

            def raw_verify(
                p: ec.EllipticCurvePublicKey = pub, v: bytes = value
            ) -> None:
                p.verify(v, digest, ec.ECDSA(hashes.SHA256()))
        else:
            rsa_key = key

            def raw_sign(k=rsa_key) -> bytes:  # type: ignore[no-untyped-def]
                return k.sign(digest, padding.PKCS1v15(), hashes.SHA256())

            value = raw_sign()
            rsa_pub = rsa_key.public_key()

            def raw_verify(p=rsa_pub, v=value) -> None:  # type: ignore[no-untyped-def]
                p.verify(v, digest, padding.PKCS1v15(), hashes.SHA256())

        primitives.append((f"cryptography sign ({name})", rate(raw_sign, budget)))
        primitives.append((f"cryptography verify ({name})", rate(raw_verify, budget)))

        # -- sign_cms vs PKCS7SignatureBuilder -------------------------------
        def builder(k=key, c=cert) -> bytes:  # type: ignore[no-untyped-def]
            return (
                pkcs7.PKCS7SignatureBuilder()
                .set_data(content)
                .add_signer(c, k, hashes.SHA256())
                .add_certificate(inter.cert)
                .add_certificate(root.cert)
                .sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
            )

        ours = rate(lambda s=signer: sign_cms(content, s), budget)
        rows.append(
            (
                "sign_cms",
                name,
                ours,
                "PKCS7SignatureBuilder",
                rate(builder, budget),
                0.7,
            )
        )

        # -- verify_cms vs pyHanko's validate_detached_cms -------------------
        sig = sign_cms(content, signer)
        assert verify_cms(content, sig, trust).verdict is Verdict.VALID
        signed_data = asn1_cms.ContentInfo.load(sig)["content"]

        def hanko_cms(sd=signed_data) -> object:  # type: ignore[no-untyped-def]
            status = loop.run_until_complete(
                async_validate_detached_cms(
                    content, sd, signer_validation_context=context
                )
            )
            assert status.bottom_line
            return status

        ours = rate(lambda s=sig: verify_cms(content, s, trust), budget)
        rows.append(
            (
                "verify_cms",
                name,
                ours,
                "validate_detached_cms",
                rate(hanko_cms, budget),
                4,
            )
        )

        # -- sealing a CMS to CAdES-LTA --------------------------------------
        stamped = add_signature_timestamp(sig, authority)
        lt_data = verify_cms(content, stamped, trust).signers[0].validation_data

        def seal(s=sig, d=lt_data) -> bytes:  # type: ignore[no-untyped-def]
            with_t = add_signature_timestamp(s, authority)
            with_lt = add_validation_data(
                with_t,
                certificates=d.certificates,
                crls=d.crls,
                ocsp_responses=d.ocsp_responses,
            )
            return add_archive_timestamp(with_lt, content, authority)

        sealed = verify_cms(content, seal(), trust)
        assert sealed.verdict is Verdict.VALID, sealed.summary_ru()
        kinds = [t.kind for t in sealed.signers[0].timestamps]
        assert kinds == ["signature", "archive"], kinds
        latencies.append(
            (f"CAdES-LTA seal/signature, {name}", rate(seal, budget), "", None)
        )

        # -- sign_pdf vs bare pyHanko ----------------------------------------
        def hanko_sign(p=p12) -> bytes:  # type: ignore[no-untyped-def]
            simple = hanko.SimpleSigner.load_pkcs12_data(
                p, other_certs=[], passphrase=PASSWORD.encode()
            )
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            meta = hanko.PdfSignatureMetadata(field_name="Signature1")
            return hanko.sign_pdf(writer, meta, signer=simple).getvalue()  # type: ignore[no-any-return]

        bare_sign = rate(hanko_sign, budget, rounds=3)
        ours = rate(lambda s=signer: sign_pdf(pdf, s, stamp=False), budget)
        rows.append(
            ("sign_pdf (invisible)", name, ours, "pyHanko sign_pdf", bare_sign, 5)
        )
        ours = rate(lambda s=signer: sign_pdf(pdf, s), budget)
        rows.append(
            ("sign_pdf (+ stamp)", name, ours, "pyHanko sign_pdf", bare_sign, 5)
        )

        # -- verify_pdf vs bare pyHanko validation ---------------------------
        signed = sign_pdf(pdf, signer)
        assert verify_pdf(signed, trust).verdict is Verdict.VALID

        def hanko_verify(doc=signed) -> object:  # type: ignore[no-untyped-def]
            reader = PdfFileReader(io.BytesIO(doc))
            (embedded,) = reader.embedded_signatures
            status = validate_pdf_signature(embedded, context)
            assert status.bottom_line
            return status

        ours = rate(lambda d=signed: verify_pdf(d, trust), budget)
        rows.append(
            (
                "verify_pdf",
                name,
                ours,
                "validate_pdf_signature",
                rate(hanko_verify, budget),
                2,
            )
        )

        # -- PAdES B-LTA: B-T, validation data, document time-stamp ---------
        def ours_lta(s=signer, stamp=True) -> bytes:  # type: ignore[no-untyped-def]
            with_t = sign_pdf(pdf, s, stamp=stamp, timestamper=authority)
            report = verify_pdf(with_t, trust)
            data = report.signatures[-1].signer.validation_data
            return add_long_term_data(with_t, data, timestamper=authority)

        def hanko_lta(p=p12) -> bytes:  # type: ignore[no-untyped-def]
            simple = hanko.SimpleSigner.load_pkcs12_data(
                p, other_certs=[], passphrase=PASSWORD.encode()
            )
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            meta = hanko.PdfSignatureMetadata(
                field_name="Signature1",
                subfilter=SigSeedSubFilter.PADES,
                embed_validation_info=True,
                use_pades_lta=True,
                validation_context=hanko_context,
            )
            return hanko.sign_pdf(  # type: ignore[no-any-return]
                writer, meta, signer=simple, timestamper=dummy
            ).getvalue()

        check_lta(ours_lta(), trust)
        check_lta(ours_lta(stamp=False), trust)
        check_lta(hanko_lta(), trust)
        bare_lta = rate(hanko_lta, budget, rounds=3)
        ours = rate(lambda: ours_lta(stamp=False), budget, rounds=3)
        rows.append(
            ("sign B-LTA (invisible)", name, ours, "pyHanko sign_pdf, B-LTA",
             bare_lta, 3)
        )  # fmt: skip
        ours = rate(ours_lta, budget, rounds=3)
        rows.append(
            ("sign B-LTA (+ stamp)", name, ours, "pyHanko sign_pdf, B-LTA",
             bare_lta, 3)
        )  # fmt: skip

        twice = sign_pdf(signed, signer)

        def hanko_verify2(doc=twice) -> object:  # type: ignore[no-untyped-def]
            reader = PdfFileReader(io.BytesIO(doc))
            return [
                validate_pdf_signature(e, context) for e in reader.embedded_signatures
            ]

        report = verify_pdf(twice, trust)
        assert report.verdict is Verdict.VALID, report.summary_ru()
        assert report.signatures[0].modification_level == "form_filling"
        ours = rate(lambda d=twice: verify_pdf(d, trust), budget, rounds=3)
        rows.append(
            ("verify_pdf, 2 signatures", name, ours, "validate_pdf_signature x2",
             rate(hanko_verify2, budget, rounds=3), 5)
        )  # fmt: skip

    loop.close()
    print("Primitives (references)")
    for label, ops in primitives:
        print(f"  {label:<34} {ops:>10.0f} ops/s")
    print()
    header = (
        f"{'time-stamping (RSA-2048 TSA)':<36} {'ours ms':>8}  {'reference':<32}"
        f" {'ref ms':>8} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, ours, ref, theirs in latencies:
        tail = "" if theirs is None else f"{1000 / theirs:>8.2f} {ours / theirs:>6.1f}x"
        print(f"{label:<36} {1000 / ours:>8.2f}  {ref:<32} {tail}".rstrip())
    print()
    header = (
        f"{'operation':<26} {'key':<9} {'ours ops/s':>11}  {'reference':<27}"
        f" {'ref ops/s':>10} {'ratio':>7}  {'goal':>6}  result"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for op, key, ours, ref, theirs, goal in rows:
        ratio = ours / theirs
        verdict = "-" if goal is None else ("PASS" if ratio >= goal else "FAIL")
        failed += verdict == "FAIL"
        goal_text = "" if goal is None else f">={goal:g}x"
        print(
            f"{op:<26} {key:<9} {ours:>11.1f}  {ref:<27} {theirs:>10.1f} {ratio:>6.1f}x"
            f"  {goal_text:>6}  {verdict}"
        )
    return 1 if failed or gost_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
