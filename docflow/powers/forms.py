"""The forms of «Доверенности»: an МЧД with its signature, its revocation and
the supplier's map of powers to types of documents."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from docflow.documents.forms import no_control_characters
from docflow.documents.models import DOC_TYPE_TITLES

#: The largest МЧД and signature taken (an МЧД is a few kilobytes; its
#: signature with the chain and revocation data a few dozen).
MAX_XML_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 256 * 1024

XML_TOO_LARGE = "Файл МЧД слишком велик: МЧД — XML-файл не больше 1 МБ."
SIGNATURE_TOO_LARGE = "Файл подписи МЧД слишком велик: не больше 256 КБ."

XML_LABEL = "Машиночитаемая доверенность (МЧД), .xml"
SIGNATURE_LABEL = "Подпись МЧД, .sig"


class PowerUploadForm(FlaskForm):
    xml = FileField(XML_LABEL, validators=[FileRequired("Выберите файл МЧД (.xml).")])
    signature = FileField(
        SIGNATURE_LABEL,
        validators=[FileRequired("Выберите файл подписи МЧД (.sig).")],
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Причина отзыва",
        validators=[
            Optional(),
            Length(max=500, message="Не длиннее 500 символов."),
            no_control_characters,
        ],
    )


class RulesForm(FlaskForm):
    """A text field per type of document, named by the type («prom10»), with
    the codes of powers separated by commas or spaces."""

    def doc_type_fields(self) -> list[StringField]:
        return [self[t.value] for t in DOC_TYPE_TITLES]


def rules_form(current: Mapping[str, tuple[str, ...]] | None = None) -> RulesForm:
    """The form with the codes in force as the fields' values (on GET)."""

    class _Form(RulesForm):
        pass

    for doc_type, title in DOC_TYPE_TITLES.items():
        setattr(
            _Form,
            doc_type.value,
            StringField(
                title,
                validators=[
                    Optional(),
                    Length(max=1000, message="Не длиннее 1000 символов."),
                    no_control_characters,
                ],
            ),
        )
    form = _Form()
    if current is not None and not form.is_submitted():
        for doc_type in DOC_TYPE_TITLES:
            form[doc_type.value].data = ", ".join(current.get(doc_type.value, ()))
    return form


def split_codes(text: str | None) -> list[str]:
    """«02.001, 02.002 03.001» → the codes."""
    return [c for c in (text or "").replace(";", ",").replace(",", " ").split() if c]


def read_upload(
    storage: FileStorage, limit: int, too_large: str
) -> tuple[bytes | None, str | None]:
    """The file's bytes, or the message when it is larger than ``limit``."""
    data = storage.read(limit + 1)
    if len(data) > limit:
        return None, too_large
    return data, None
