"""An integration in one file: what a customer's ERP does with the docflow API.

1. registers the signatory's certificate (the public part of the PKCS#12 file);
2. posts a PDF to be signed (with an Idempotency-Key: a retry makes no duplicate);
3. downloads the original back and checks its SHA-256;
4. signs it with the PKCS#12 key here, on the client (a detached CMS, CAdES-BES,
   the ``.sig`` of Russian EDM practice) and posts the signature;
5. collects the result: the verification report, the document's status and the
   ZIP package (document + signatures + report); with ``--wait`` it also waits
   for the supplier's countersignature, reading the event feed.

Against the demo (``docflow demo`` prints the key files; make a key with
``docflow api-key create --org 7701234567 --scopes read,write,sign``)::

    python examples/integration.py --base http://127.0.0.1:8000 --key dfk_... \\
        --p12 var/demo/romashka-signer.p12 --password demo1234

The private key never leaves this process: the server only ever sees the
certificate and the signature.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

import signing


class ApiError(RuntimeError):
    def __init__(self, response: httpx.Response) -> None:
        try:
            error = response.json()["error"]
            text = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            text = response.text[:300]
        super().__init__(f"HTTP {response.status_code} {text}")
        self.response = response


def check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        raise ApiError(response)
    return response


def make_pdf(title: str) -> bytes:
    """A one-page PDF with Cyrillic text (any PDF of your own will do)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = Path(signing.__file__).parent / "fonts" / "DejaVuSans.ttf"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(font)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("DejaVuSans", 14)
    c.drawString(72, 760, title)
    c.setFont("DejaVuSans", 11)
    c.drawString(72, 730, f"Сформирован учётной системой {dt.date.today():%d.%m.%Y}")
    c.showPage()
    c.save()
    return buf.getvalue()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.hazmat.primitives.serialization import Encoding

    signer = signing.Pkcs12Signer.load(Path(args.p12).read_bytes(), args.password)  # type: ignore[attr-defined]
    certificate = signer.certificate.public_bytes(Encoding.DER)
    api = httpx.Client(
        base_url=args.base.rstrip("/") + "/api/v1",
        headers={"Authorization": f"Bearer {args.key}"},
        timeout=60,
    )
    with api:
        # 1. The certificate: 201 registered now, 200 registered before.
        resp = api.post(
            "/certificates",
            content=certificate,
            headers={"Content-Type": "application/pkix-cert"},
        )
        if resp.status_code == 422:
            problems = resp.json()["error"]["details"].get("problems", [])
            raise SystemExit("certificate refused: " + "; ".join(problems))
        cert = check(resp, 200, 201).json()["certificate"]
        print(f"certificate {cert['serial']} of {cert['owner']}: {cert['status']}")

        # 2. The document. The Idempotency-Key makes a retried post (after a
        # timeout, say) return the same document instead of a second one.
        pdf = Path(args.pdf).read_bytes() if args.pdf else make_pdf(args.title)
        meta = {
            "type": args.type,
            "number": args.number or f"ERP-{uuid.uuid4().hex[:8].upper()}",
            "date": dt.date.today().isoformat(),
            "contract_number": args.contract,
            "title": args.title,
            "route": ["customer", "supplier"],
        }
        resp = api.post(
            "/documents",
            files={
                "file": (
                    Path(args.pdf).name if args.pdf else "document.pdf",
                    pdf,
                    "application/pdf",
                ),
                "meta": (
                    None,
                    json.dumps(meta, ensure_ascii=False),
                    "application/json",
                ),
            },
            headers={"Idempotency-Key": args.idempotency_key or str(uuid.uuid4())},
        )
        doc = check(resp, 200, 201).json()
        print(f"document {doc['number']} ({doc['id']}): {doc['status_label']}")

        # 3. What the server keeps is byte for byte what was sent.
        original = check(api.get(f"/documents/{doc['id']}/content"), 200).content
        digest = hashlib.sha256(original).hexdigest()
        if digest != doc["files"][0]["sha256"] or original != pdf:
            raise SystemExit("the stored original differs from what was sent")

        # 4. Sign here, post the detached CMS; the server verifies it at once.
        sig = signing.sign_cms(original, signer)  # type: ignore[attr-defined]
        resp = api.post(
            f"/documents/{doc['id']}/signatures",
            content=sig,
            headers={"Content-Type": "application/pkcs7-signature"},
        )
        if resp.status_code == 422:
            error = resp.json()["error"]
            raise SystemExit(f"signature refused ({error['code']}): {error['message']}")
        result = check(resp, 201).json()
        print(
            f"signature: {result['signature']['verdict']} — "
            f"{result['signature']['report']['cms_summary']}"
        )
        print(f"status: {result['document']['status_label']}")

        # 5. Optionally wait for the supplier, reading the event feed (a
        # webhook would deliver the same events; the feed catches up on any
        # missed ones).
        status = result["document"]["status"]
        cursor = "0"
        deadline = time.monotonic() + args.wait
        while status != "signed" and time.monotonic() < deadline:
            feed = check(api.get("/events", params={"after": cursor}), 200).json()
            cursor = feed["next_cursor"]
            if any(
                e["kind"] == "document.completed"
                and e["data"].get("document_id") == doc["id"]
                for e in feed["items"]
            ):
                status = "signed"
                break
            time.sleep(2)

        final = check(api.get(f"/documents/{doc['id']}"), 200).json()
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        package = check(api.get(f"/documents/{doc['id']}/package"), 200).content
        path = out / f"{final['number']}.zip"
        path.write_bytes(package)
        print(
            f"package: {path} ({len(package)} bytes); status: {final['status_label']}"
        )
        return {
            "document_id": final["id"],
            "status": final["status"],
            "signatures": [s["verdict"] for s in final["signatures"]],
            "package": str(path),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--base", default="http://127.0.0.1:8000", help="the cabinet's URL"
    )
    parser.add_argument("--key", required=True, help="the API key (dfk_…)")
    parser.add_argument("--p12", required=True, help="the signatory's PKCS#12 key file")
    parser.add_argument("--password", required=True, help="its password")
    parser.add_argument("--contract", default="77-0001-ЮЛ", help="the contract number")
    parser.add_argument("--pdf", help="a PDF to send (by default one is made)")
    parser.add_argument("--title", default="Акт сверки взаимных расчётов")
    parser.add_argument("--number", help="the document number (default: ERP-…)")
    parser.add_argument(
        "--type",
        default="other",
        choices=["prom10", "contract", "agreement", "invoice", "letter", "other"],
    )
    parser.add_argument("--idempotency-key", help="to retry a post safely")
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        help="seconds to wait for the supplier's countersignature",
    )
    parser.add_argument("--out", default="var/integration", help="where the ZIP goes")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    args = parser.parse_args(argv)
    try:
        outcome = run(args)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"cannot reach {args.base}: {exc}", file=sys.stderr)
        return 2
    except (signing.KeyLoadError, OSError) as exc:
        print(f"cannot open the key file {args.p12}: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(outcome, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
