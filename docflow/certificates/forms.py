from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from docflow.powers.forms import SIGNATURE_LABEL, XML_LABEL


class CertificateUploadForm(FlaskForm):
    certificate = FileField(
        "Файл сертификата (.cer, .crt, .pem) или подписи (.sig)",
        validators=[FileRequired("Выберите файл сертификата.")],
    )
    #: For a personal certificate of an employee (no ИНН ЮЛ): the МЧД it signs
    #: under and the head's signature of it, both or neither.
    power_xml = FileField(XML_LABEL)
    power_signature = FileField(SIGNATURE_LABEL)

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        valid = super().validate(extra_validators)
        if bool(self.power_xml.data) != bool(self.power_signature.data):
            missing = self.power_signature if self.power_xml.data else self.power_xml
            missing.errors = [
                *missing.errors,
                "Приложите и подпись МЧД (.sig): доверенность принимается только "
                "вместе с подписью руководителя организации."
                if missing is self.power_signature
                else "Приложите и файл МЧД (.xml), к которому относится эта подпись.",
            ]
            return False
        return valid


class TrustAnchorForm(FlaskForm):
    certificate = FileField(
        "Сертификат корневого или промежуточного УЦ (.cer, .crt, .pem)",
        validators=[FileRequired("Выберите файл сертификата.")],
    )


class CrlUploadForm(FlaskForm):
    crl = FileField(
        "Файл списка отзыва (CRL в формате DER или PEM)",
        validators=[FileRequired("Выберите файл списка отзыва.")],
    )
