from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class CertificateUploadForm(FlaskForm):
    certificate = FileField(
        "Файл сертификата (.cer, .crt, .pem) или подписи (.sig)",
        validators=[FileRequired("Выберите файл сертификата.")],
    )


class TrustAnchorForm(FlaskForm):
    certificate = FileField(
        "Сертификат корневого или промежуточного УЦ (.cer, .crt, .pem)",
        validators=[FileRequired("Выберите файл сертификата.")],
    )
