"""The guided tours, per page, as data.

A tour is a list of steps: a CSS selector of the element to point at (``None``:
a popover in the middle of the page), a title and a text, in Russian (the
message ids; ``tours.js`` shows them as the page's translation gives them).
A step whose element is missing on the page (a button the user has no right
to, an empty list) is skipped by the script, so one tour serves every role.

:data:`ENDPOINTS` says which page (Flask endpoint) shows which tour.
"""

from __future__ import annotations

from dataclasses import dataclass

from docflow.extensions import N_


@dataclass(frozen=True)
class Step:
    selector: str | None
    title: str
    text: str


TOURS: dict[str, tuple[Step, ...]] = {
    "main": (
        Step(
            None,
            N_("Добро пожаловать в личный кабинет"),
            N_(
                "Короткая подсказка покажет, где что находится. Её можно закрыть "
                "в любой момент и открыть снова кнопкой «?» вверху страницы."
            ),
        ),
        Step(
            ".mainnav",
            N_("Разделы кабинета"),
            N_(
                "Договоры, документы, показания и сертификаты. Редкие разделы "
                "собраны в меню «Ещё»."
            ),
        ),
        Step(
            "#widgets",
            N_("Виджеты главной страницы"),
            N_(
                "Сводка по договорам, показаниям, документам и уведомлениям. "
                "Виджет можно свернуть, переставить или убрать на нижнюю панель "
                "кнопкой «Убрать с экрана»; вернуть — кнопкой «Раскрыть»."
            ),
        ),
        Step(
            ".bell",
            N_("Уведомления"),
            N_(
                "Здесь появляются документы на подпись, подписанные и отклонённые "
                "документы, напоминания о сертификатах и показаниях."
            ),
        ),
        Step(
            "[data-tour-help]",
            N_("Подсказки"),
            N_("Эта кнопка снова покажет подсказку по текущей странице."),
        ),
    ),
    "documents": (
        Step(
            "[data-testid=search-form]",
            N_("Поиск документов"),
            N_(
                "Ищите по номеру, названию, типу, статусу, договору, ИНН "
                "контрагента, датам и подписанту."
            ),
        ),
        Step(
            "a[href$='/documents/new']",
            N_("Регистрация нового документа"),
            N_(
                "Загрузите файл, укажите тип, номер, дату и порядок подписания — "
                "документ попадёт в документооборот."
            ),
        ),
        Step(
            "[data-testid=documents]",
            N_("Список документов"),
            N_(
                "Откройте документ, чтобы подписать его, скачать оригинал с "
                "подписями или отказать в подписании."
            ),
        ),
    ),
    "document": (
        Step(
            "[data-testid=document-status]",
            N_("Статус документа"),
            N_("Чья очередь подписывать и что уже сделано."),
        ),
        Step(
            "[data-testid=sign-link]",
            N_("Подписание"),
            N_(
                "Подпишите документ усиленной квалифицированной электронной "
                "подписью: ключом из файла или через КриптоПро."
            ),
        ),
        Step(
            "[data-testid=files]",
            N_("Файлы документа"),
            N_(
                "Оригинал хранится без изменений; скачайте его, подписи, печатную "
                "форму со штампами или архив с отчётом о проверке."
            ),
        ),
        Step(
            "[data-testid=history]",
            N_("История"),
            N_("Кто, что и когда сделал с документом."),
        ),
    ),
    "sign": (
        Step(
            "#certificate_id",
            N_("Сертификат"),
            N_("Выберите зарегистрированный сертификат, которым будете подписывать."),
        ),
        Step(
            "#key_file",
            N_("Файл ключа"),
            N_("Ключ открывается только в вашем браузере, на сервер он не передаётся."),
        ),
        Step(
            "form[data-docflow-sign] button[type=submit]",
            N_("Подписать"),
            N_(
                "Подпись проверяется сразу после получения, результат проверки "
                "сохраняется вместе с документом."
            ),
        ),
    ),
    "certificates": (
        Step(
            "[data-testid=certificates]",
            N_("Ваши сертификаты"),
            N_(
                "Подписывать документы организации можно только "
                "зарегистрированным действующим сертификатом."
            ),
        ),
        Step(
            "#register",
            N_("Регистрация сертификата"),
            N_(
                "Загрузите файл сертификата (DER или PEM). Если сертификат выдан "
                "сотруднику, приложите машиночитаемую доверенность (МЧД)."
            ),
        ),
    ),
    "readings": (
        Step(
            "#contract-switch",
            N_("Договор"),
            N_("Выберите договор, показания по которому хотите передать."),
        ),
        Step(
            "[data-testid=window]",
            N_("Период передачи"),
            N_("Показания принимаются в установленные дни месяца."),
        ),
        Step(
            "#readings-form",
            N_("Показания"),
            N_(
                "Введите текущие показания приборов учёта: они сохраняются со "
                "статусом «Готово к передаче»."
            ),
        ),
        Step(
            "[data-testid=send]",
            N_("Передача в расчёт"),
            N_("Нажмите «Передать показания в расчёт», когда всё введено."),
        ),
        Step(
            "[data-testid=print]",
            N_("Акт ПРОМ10"),
            N_(
                "Распечатайте акт снятия показаний или передайте его на "
                "подписание в документооборот."
            ),
        ),
    ),
    "contracts": (
        Step(
            "[data-testid=bind-contract]",
            N_("Привязать договор"),
            N_(
                "Укажите электронную почту организации, ИНН и номер договора. "
                "Кто привязал договор, тот управляет доступом к нему."
            ),
        ),
        Step(
            "[data-testid=contracts]",
            N_("Ваши договоры"),
            N_(
                "Откройте карточку договора: реквизиты, платежи, документы, "
                "объекты и график ограничений."
            ),
        ),
    ),
    "contract": (
        Step(
            "[data-testid=contract-details]",
            N_("Реквизиты договора"),
            N_("Организация, дата договора, соглашение об ЭДО и ваши права."),
        ),
        Step(
            "[data-testid=grid-cabinet]",
            N_("Личный кабинет сетевой компании"),
            N_(
                "Ссылка на личный кабинет ПАО «Россети Московский регион» (МОЭСК) "
                "с номером вашей учётной записи."
            ),
        ),
        Step(
            "[data-testid=contract-documents]",
            N_("Документы по договору"),
            N_("Последние документы этого договора."),
        ),
    ),
}

#: The page (endpoint) → the tour it shows.
ENDPOINTS: dict[str, str] = {
    "dashboard.index": "main",
    "documents.index": "documents",
    "documents.card": "document",
    "documents.sign_page": "sign",
    "certificates.list_certificates": "certificates",
    "readings.index": "readings",
    "readings.sheet": "readings",
    "contracts.index": "contracts",
    "contracts.card": "contract",
}
