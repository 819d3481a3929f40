"""NIST PKITS (2011 edition) through signing.trust and the validate-cert CLI.

The corpus lives in the shared corpora beside the repository
(``../shared/corpora/nist_pkits``); its ``manifest.json`` says how to run it,
as pyhanko-certvalidator's own test suite does: the trust anchor and its CRL
always, the case's other certificates and CRLs, validation time frozen at
2022-05-01, revocation mode ``hard`` when the case says ``revocation: false``,
``require`` otherwise. A case with an ``error`` must not validate. The 33 cases
with ``params`` (RFC 5280 initial policy inputs) are skipped: the library does
not take user-initial-policy-set / explicit-policy inputs.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from signing import TrustStore, Verdict, validate_certificate
from signing.cli import main
from tests.services import unavailable

CORPUS = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora" / "nist_pkits"
)
MOMENT = dt.datetime(2022, 5, 1, tzinfo=dt.UTC)
ANCHOR = "TrustAnchorRootCertificate.crt"
ANCHOR_CRL = "TrustAnchorRootCRL.crl"
REVOCATION_ERRORS = {"RevokedError", "InsufficientRevinfoError", "StaleRevinfoError"}

Case = dict[str, object]


def _cases() -> list[Case]:
    try:
        return json.loads((CORPUS / "pkits.json").read_text())  # type: ignore[no-any-return]
    except OSError:
        return []


CASES = _cases()


def _params(cases: list[Case]) -> list[object]:
    if not cases:
        return [pytest.param(None, id="corpus-missing")]
    params = []
    for case in cases:
        marks = []
        if "params" in case:
            marks.append(
                pytest.mark.skip(
                    reason="PKITS case with RFC 5280 initial policy inputs (params): "
                    "the library takes no user-initial-policy-set"
                )
            )
        params.append(
            pytest.param(case, id=f"{case['id']}-{case['name']}", marks=marks)
        )
    return params


def _is_revocation_related(case: Case) -> bool:
    error = case.get("error")
    name = str(case["name"])
    return (
        (isinstance(error, dict) and error.get("class") in REVOCATION_ERRORS)
        or "crl" in name
        or "revoked" in name
    )


def _cli_sample(cases: list[Case]) -> list[Case]:
    runnable = [c for c in cases if "params" not in c]
    return [
        c for i, c in enumerate(runnable) if i % 10 == 0 or _is_revocation_related(c)
    ]


def _require_corpus(case: Case | None) -> Case:
    if case is None:
        unavailable("NIST PKITS corpus", f"{CORPUS.resolve()} is missing")
    assert case is not None
    return case


def _mode(case: Case) -> str:
    return "hard" if case.get("revocation", True) is False else "require"


def _must_pass(case: Case) -> bool:
    return "error" not in case


def _store(case: Case) -> TrustStore:
    certs, crls = CORPUS / "certs", CORPUS / "crls"
    return TrustStore(
        [(certs / ANCHOR).read_bytes()],
        [(certs / name).read_bytes() for name in case.get("other_certs", [])],  # type: ignore[attr-defined]
        [(crls / ANCHOR_CRL).read_bytes()]
        + [(crls / name).read_bytes() for name in case.get("crls", [])],  # type: ignore[attr-defined]
        ocsp=False,
        fetch_crls=False,
        fetch_issuers=False,
        # As pyhanko-certvalidator runs PKITS: the DSA cases use 1024-bit DSA
        # keys with SHA-1.
        weak_hash_algorithms={"md2", "md5"},
        min_dsa_bits=1024,
        cache_size=0,
    )


@pytest.mark.parametrize("case", _params(CASES))
def test_pkits_case_through_the_library(case: Case | None) -> None:
    case = _require_corpus(case)
    cert = (CORPUS / "certs" / str(case["cert"])).read_bytes()

    result = validate_certificate(
        cert,
        _store(case),
        at=MOMENT,
        revocation=_mode(case),
        usage="any",  # type: ignore[arg-type]
    )

    if _must_pass(case):
        assert result.verdict is Verdict.VALID, [r.to_json() for r in result.reasons]
        assert len(result.chain) == case["path_len"]
    else:
        assert result.verdict is not Verdict.VALID, case["error"]
        assert result.errors, "a failure must say why"


def _cli_args(case: Case, *, as_files: bool = True) -> list[str]:
    certs, crls = CORPUS / "certs", CORPUS / "crls"
    args = [
        "validate-cert",
        str(certs / str(case["cert"])),
        "--trust",
        str(certs / ANCHOR),
        "--crl",
        str(crls / ANCHOR_CRL),
        *[str(crls / n) for n in case.get("crls", [])],  # type: ignore[attr-defined]
        "--at",
        MOMENT.isoformat(),
        "--revocation",
        _mode(case),
        "--usage",
        "any",
        "--offline",
        "--allow-weak-algorithms",
    ]
    if case.get("other_certs"):
        args += ["--intermediate", *[str(certs / n) for n in case["other_certs"]]]  # type: ignore[attr-defined]
    return args


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"{c['id']}-{c['name']}") for c in _cli_sample(CASES)]
    or [pytest.param(None, id="corpus-missing")],
)
def test_pkits_case_through_the_cli(
    case: Case | None, capsys: pytest.CaptureFixture[str]
) -> None:
    case = _require_corpus(case)

    code = main(_cli_args(case))

    out = capsys.readouterr().out
    if _must_pass(case):
        assert code == 0, out
    else:
        assert code in (1, 2), out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("valid_signatures_test1", {0}),
        ("invalid_ca_signature_test2", {1}),
        ("invalid_revoked_ee_test3", {1}),
        ("missing_crl_test1", {2}),
    ],
)
def test_pkits_exit_codes_of_the_real_command(name: str, expected: set[int]) -> None:
    case = _require_corpus(next((c for c in CASES if c["name"] == name), None))

    proc = subprocess.run(  # noqa: S603 - our own CLI with corpus paths
        [sys.executable, "-m", "signing", *_cli_args(case), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.returncode in expected, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert (
        report["verdict"]
        == {0: "valid", 1: "invalid", 2: "indeterminate"}[proc.returncode]
    )
