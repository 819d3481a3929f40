"""A small Минцифры list of accredited certification centres, built from a
test PKI in the format of e-trust.gosuslugi.ru (see :mod:`signing.tsl`)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from signing import pki


@dataclass(frozen=True)
class Centre:
    name: str
    ogrn: str
    status: str
    certificates: Sequence[pki.Issued] = field(default=())
    inn: str = "7700000000"


def _certificate(issued: pki.Issued, *, thumbprint: str | None = None) -> str:
    der = issued.der
    sha1 = thumbprint or hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    cert = issued.cert
    return f"""
          <ДанныеСертификата>
            <Отпечаток>{sha1}</Отпечаток>
            <КемВыдан>{escape(cert.issuer.rfc4514_string())}</КемВыдан>
            <КомуВыдан>{escape(cert.subject.rfc4514_string())}</КомуВыдан>
            <СерийныйНомер>{cert.serial_number:X}</СерийныйНомер>
            <ПериодДействияС>{cert.not_valid_before_utc.isoformat()}</ПериодДействияС>
            <ПериодДействияДо>{cert.not_valid_after_utc.isoformat()}</ПериодДействияДо>
            <Данные>{base64.b64encode(der).decode()}</Данные>
          </ДанныеСертификата>"""


def tsl_xml(
    centres: Sequence[Centre], *, version: str = "1001", bad_thumbprint: bool = False
) -> bytes:
    """The XML of a list holding ``centres``; ``bad_thumbprint`` states a
    wrong Отпечаток for every certificate."""
    parts = []
    for c in centres:
        certs = "".join(
            _certificate(i, thumbprint="00" * 20 if bad_thumbprint else None)
            for i in c.certificates
        )
        parts.append(f"""
  <УдостоверяющийЦентр>
    <Название>{escape(c.name)}</Название>
    <ЭлектроннаяПочта>uc@example.ru</ЭлектроннаяПочта>
    <КраткоеНазвание>{escape(c.name)}</КраткоеНазвание>
    <ИНН>{c.inn}</ИНН>
    <ОГРН>{c.ogrn}</ОГРН>
    <РеестровыйНомер>{c.ogrn[-3:]}</РеестровыйНомер>
    <СтатусАккредитации>
      <Статус>{escape(c.status)}</Статус>
      <ДействуетС>2021-07-01T00:00:00+03:00</ДействуетС>
    </СтатусАккредитации>
    <ПрограммноАппаратныеКомплексы>
      <ПрограммноАппаратныйКомплекс>
        <Псевдоним>{escape(c.name)} ПАК 1</Псевдоним>
        <КлассСредствЭП>КС1</КлассСредствЭП>
        <КлючиУполномоченныхЛиц>
          <Ключ>
            <ИдентификаторКлюча>00AA</ИдентификаторКлюча>
            <АдресаСписковОтзыва><Адрес>http://crl.docflow.invalid/ca.crl</Адрес></АдресаСписковОтзыва>
            <Сертификаты>{certs}
            </Сертификаты>
          </Ключ>
        </КлючиУполномоченныхЛиц>
      </ПрограммноАппаратныйКомплекс>
    </ПрограммноАппаратныеКомплексы>
  </УдостоверяющийЦентр>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<АккредитованныеУдостоверяющиеЦентры>
  <Версия>{version}</Версия>
  <Дата>2026-12-01T10:00:00+03:00</Дата>{"".join(parts)}
</АккредитованныеУдостоверяющиеЦентры>
""".encode()


#: A document type with an internal entity: refused before any parsing.
ENTITY_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>
"""

#: «Billion laughs»: ten levels of ten-fold entity expansion.
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>\n"
)
