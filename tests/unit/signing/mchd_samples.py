"""A small builder of МЧД XML (ЕФ МЧД versions 003 and 002) for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

NUMBER = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
POWER_CODE = "02.001"
POWER_NAME = "Подписывать акты сверки взаимных расчётов"
POWER_TEXT = "Подписывать акты приёма-передачи электрической энергии"


@dataclass(frozen=True)
class Sample:
    org_inn: str = "7701234567"
    issued_on: str = "2026-01-15"
    valid_until: str = "2026-12-31"
    with_principal: bool = True
    encoding: str = "UTF-8"


def _principal_003(s: Sample) -> str:
    if not s.with_principal:
        return ""
    return f"""
      <СвДоверит ТипДоверит="1">
        <Доверит>
          <РосОргДовер ЕИОУК="0" ЕИОФЛ="1" ЕИОИП="0">
            <СвРосОрг НаимОрг={quoteattr("ООО «Ромашка»")} ИННЮЛ="{s.org_inn}" КПП="770101001" ОГРН="1027700132195"/>
            <ЛицоБезДов ПолнЮЛ="1">
              <СвФЛ ИННФЛ="770100000011" СНИЛС="111-222-333 44" Должность="ГЕНЕРАЛЬНЫЙ ДИРЕКТОР">
                <СведФЛ>
                  <ФИО Фамилия="Петров" Имя="Пётр" Отчество="Петрович"/>
                </СведФЛ>
              </СвФЛ>
            </ЛицоБезДов>
          </РосОргДовер>
        </Доверит>
      </СвДоверит>"""


def mchd_003(s: Sample = Sample()) -> bytes:
    """Version 003 (EMCHD_1), valid against ON_EMCHD_1_928_00_01_01_01.xsd."""
    return f"""<?xml version="1.0" encoding="{s.encoding}"?>
<Доверенность xmlns="urn://x-artefacts/EMCHD_1" ВерсФорм="EMCHD_1" ПрЭлФорм="00000000" ИдФайл="ON_EMCHD_20260115_{NUMBER}">
  <Документ>
    <Довер>
      <СвДов ВидДовер="1" ПрПередов="2" ВнНомДовер="МЧД-2026/17" НомДовер="{NUMBER}" ДатаВыдДовер="{s.issued_on}" СрокДейст="{s.valid_until}">
        <СведСист>https://m4d.nalog.gov.ru/emchd/check-status?guid={NUMBER}</СведСист>
      </СвДов>{_principal_003(s)}
      <СвУпПред ТипПред="3">
        <Пред>
          <СведФизЛ ИННФЛ="772800123456" СНИЛС="123-456-789 01">
            <СведФЛ>
              <ФИО Фамилия="Иванова" Имя="Мария" Отчество="Сергеевна"/>
            </СведФЛ>
          </СведФизЛ>
        </Пред>
      </СвУпПред>
      <СвПолн ТипПолн="1" ПрСовмПолн="1">
        <ТекстПолн>{POWER_TEXT}</ТекстПолн>
        <МашПолн КодПолн="{POWER_CODE}" НаимПолн="{POWER_NAME}"/>
      </СвПолн>
    </Довер>
  </Документ>
</Доверенность>
""".encode("utf-8" if s.encoding == "UTF-8" else "cp1251")


def mchd_002(s: Sample = Sample()) -> bytes:
    """Version 002 (the one before EMCHD_1), as ФНС issued it in 2023-2024."""
    principal = (
        f"""
      <СвДоверит ТипДовер="ЮЛ">
        <РосОргДовер>
          <СвРосОрг НаимОрг={quoteattr("ООО «Ромашка»")} ИННЮЛ="{s.org_inn}" ОГРН="1027700132195" КПП="770101001"/>
        </РосОргДовер>
      </СвДоверит>"""
        if s.with_principal
        else ""
    )
    return f"""<?xml version="1.0" encoding="{s.encoding}"?>
<Доверенность ИдФайл="ON_DOVBB_20260115_{NUMBER}" ВерсФорм="002">
  <Документ>
    <Довер>
      <СвДов НомДовер="{NUMBER}" ВнНомДовер="МЧД-2026/17" ДатаВыдДовер="{s.issued_on}" ДатаКонДовер="{s.valid_until}" ПрПередов="2">
        <СведСистОтм>https://m4d.nalog.gov.ru/EMCHD/check-status?guid={NUMBER}</СведСистОтм>
      </СвДов>{principal}
      <СвУпПред ТипПред="ФЛ">
        <СведФизЛ ИННФЛ="772800123456" СНИЛС="123-456-789 01">
          <ФИО Фамилия="Иванова" Имя="Мария" Отчество="Сергеевна"/>
        </СведФизЛ>
      </СвУпПред>
      <СвПолн>
        <ТекстПолн>{POWER_TEXT}</ТекстПолн>
        <МашПолн КодПолн="{POWER_CODE}" НаимПолн="{POWER_NAME}"/>
      </СвПолн>
    </Довер>
  </Документ>
</Доверенность>
""".encode("utf-8" if s.encoding == "UTF-8" else "cp1251")
