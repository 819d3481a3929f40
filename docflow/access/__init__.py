"""Who may do what, decided in one place.

* :mod:`docflow.access.actor` — who is acting (a user, an API key of a
  customer organisation or of the supplier, the system) and what rights it
  holds on a contract, scopes folded in;
* :mod:`docflow.access.policy` — the questions the code asks (may this actor
  see / register / sign / refuse / delete this document, manage this
  contract, open the supplier's pages) and the one rule for the answer:
  *404* when the actor cannot see the thing at all, *403* when it sees it but
  may not do this;
* :mod:`docflow.access.web` — the same for pages: decorators for staff and
  administrator pages, and the template helpers that show or hide actions.

Nothing outside this package reads ``is_supplier``, ``is_staff`` or API key
scopes to decide access (``scripts/check_access.py``, run by ``make test``).
"""

from docflow.access.actor import (
    ALL_SCOPES,
    FULL,
    NONE,
    RIGHT_COLUMNS,
    Actor,
    Right,
    Rights,
    contract_rights,
    registrable_contract_ids,
    supplier_organisation,
    supplier_staff,
    users_with_right,
    visible_contract_ids,
)
from docflow.access.policy import (
    Action,
    acts_for_supplier,
    customer_organisations,
    document_filter,
    is_admin,
    is_staff,
    is_supplier_organisation,
    may,
    may_revoke_power,
    may_sign_for,
    party_of,
    require,
    require_register,
    require_scopes,
    require_visible,
    sees_deleted_documents,
    signs_with_own_certificate,
    visible_certificates,
    visible_powers,
)

# isort: split
# appeals (docflow.appeals)
from docflow.access.policy import (
    appeal_contract_filter,
    handles_appeals,
    manages_appeal_topics,
    may_see_appeal,
    require_appeal_filing,
)

# isort: split
# surveys (docflow.surveys)
from docflow.access.policy import (
    answers_surveys,
    manages_surveys,
    reads_survey_results,
    survey_answer_contract_ids,
    survey_contract_ids,
)

# isort: split
# tours and the grid cabinet (docflow.tours)
from docflow.access.policy import (
    grid_account_rights,
    may_set_grid_account,
    require_grid_account_manager,
    sees_grid_cabinet,
)

# isort: split
# service orders (docflow.service_orders)
from docflow.access.policy import (
    may_edit_service_catalogue,
    may_process_service_orders,
    require_service_order,
    service_order_contract_ids,
)

# isort: split
# online payments (docflow.payments)
from docflow.access.policy import (
    may_pay_online,
    online_payment_filter,
    require_pay_online,
    sees_all_online_payments,
)

# isort: split
# hourly volumes (docflow.readings.hourly_*)
from docflow.access.policy import (
    hourly_contract_ids,
    hourly_rights,
    require_hourly_upload,
)

# isort: split
# ППП, planned hourly consumption (docflow.readings.planned_*)
from docflow.access.policy import (
    accepts_planned,
    may_file_planned,
    planned_contract_ids,
    planned_rights,
    require_planned_filing,
)

__all__ = [
    "ALL_SCOPES",
    "Action",
    "Actor",
    "FULL",
    "NONE",
    "RIGHT_COLUMNS",
    "Right",
    "Rights",
    "acts_for_supplier",
    "contract_rights",
    "registrable_contract_ids",
    "customer_organisations",
    "document_filter",
    "is_admin",
    "is_staff",
    "is_supplier_organisation",
    "may",
    "may_revoke_power",
    "may_sign_for",
    "party_of",
    "require",
    "require_register",
    "require_scopes",
    "require_visible",
    "sees_deleted_documents",
    "signs_with_own_certificate",
    "supplier_organisation",
    "supplier_staff",
    "users_with_right",
    "visible_certificates",
    "visible_powers",
    "visible_contract_ids",
    # appeals (docflow.appeals)
    "appeal_contract_filter",
    "handles_appeals",
    "manages_appeal_topics",
    "may_see_appeal",
    "require_appeal_filing",
    # surveys (docflow.surveys)
    "answers_surveys",
    "manages_surveys",
    "reads_survey_results",
    "survey_answer_contract_ids",
    "survey_contract_ids",
    # tours and the grid cabinet (docflow.tours)
    "grid_account_rights",
    "may_set_grid_account",
    "require_grid_account_manager",
    "sees_grid_cabinet",
    # service orders (docflow.service_orders)
    "may_edit_service_catalogue",
    "may_process_service_orders",
    "require_service_order",
    "service_order_contract_ids",
    # online payments (docflow.payments)
    "may_pay_online",
    "online_payment_filter",
    "require_pay_online",
    "sees_all_online_payments",
    # hourly volumes (docflow.readings.hourly_*)
    "hourly_contract_ids",
    "hourly_rights",
    "require_hourly_upload",
    # ППП, planned hourly consumption (docflow.readings.planned_*)
    "accepts_planned",
    "may_file_planned",
    "planned_contract_ids",
    "planned_rights",
    "require_planned_filing",
]
