"""Readings: the public names of the feature, gathered from its modules.

The work is split by job, the way :mod:`docflow.documents` is:

- :mod:`~docflow.readings.meters` — the contract (access), objects, meters, transit;
- :mod:`~docflow.readings.ledger` — a contract's readings, indexed;
- :mod:`~docflow.readings.window` — the submission window and its announcement;
- :mod:`~docflow.readings.sheet` — «Передача показаний» of a period;
- :mod:`~docflow.readings.submission` — saving and sending values;
- :mod:`~docflow.readings.history` — history and the supplier's decisions;
- :mod:`~docflow.readings.analysis` — consumption by month;
- :mod:`~docflow.readings.overview` — the contract card's section, the main-page widget;
- :mod:`~docflow.readings.prom10` — the ПРОМ10 act: data, print, the document flow;
- :mod:`~docflow.readings.uploads` — the Excel form: template, upload, its history.

Existing callers import from here (``from docflow.readings import services``);
new code may import from the module that does the job.
"""

from __future__ import annotations

from docflow.readings.acts import ActData, ActObject, ActRow, PartyDetails
from docflow.readings.analysis import (
    ConsumptionChart,
    Series,
    chart_for_contract,
    consumption_by_month,
)
from docflow.readings.history import (
    HistoryPeriod,
    HistoryRow,
    PendingGroup,
    decide_readings,
    pending_decisions,
    reading_history,
)
from docflow.readings.ledger import LOCKED, SUBMITTED, Ledger
from docflow.readings.meters import (
    CONTRACT_NOT_FOUND,
    contracts_for_readings,
    effective_status,
    get_contract,
    objects_of,
    transit_volumes,
)
from docflow.readings.overview import (
    ContractObjects,
    ContractStatus,
    list_objects_for_contract,
    readings_overview,
)
from docflow.readings.prom10 import (
    ACT_FORMATS,
    RenderedAct,
    act_data,
    act_number,
    act_title,
    acts_of_contract,
    latest_act,
    render_act,
    send_act_to_docflow,
)
from docflow.readings.sheet import MeterLine, ObjectBlock, Sheet, list_meters
from docflow.readings.submission import (
    ReadingRow,
    ReadingsRejected,
    RowResult,
    SubmitResult,
    save_reading,
    send_readings,
    submit_readings,
)
from docflow.readings.uploads import (
    form_template,
    get_upload,
    list_uploads,
    upload_form,
)
from docflow.readings.window import (
    WindowDays,
    announce_window,
    require_window,
    window_for,
)

__all__ = [
    "ACT_FORMATS",
    "CONTRACT_NOT_FOUND",
    "LOCKED",
    "SUBMITTED",
    "ActData",
    "ActObject",
    "ActRow",
    "ConsumptionChart",
    "ContractObjects",
    "ContractStatus",
    "HistoryPeriod",
    "HistoryRow",
    "Ledger",
    "MeterLine",
    "ObjectBlock",
    "PartyDetails",
    "PendingGroup",
    "ReadingRow",
    "ReadingsRejected",
    "RenderedAct",
    "RowResult",
    "Series",
    "Sheet",
    "SubmitResult",
    "WindowDays",
    "act_data",
    "act_number",
    "act_title",
    "acts_of_contract",
    "announce_window",
    "chart_for_contract",
    "consumption_by_month",
    "contracts_for_readings",
    "decide_readings",
    "effective_status",
    "form_template",
    "get_contract",
    "get_upload",
    "latest_act",
    "list_meters",
    "list_objects_for_contract",
    "list_uploads",
    "objects_of",
    "pending_decisions",
    "readings_overview",
    "reading_history",
    "render_act",
    "require_window",
    "save_reading",
    "send_act_to_docflow",
    "send_readings",
    "submit_readings",
    "transit_volumes",
    "upload_form",
    "window_for",
]
