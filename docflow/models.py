"""Every model, imported once so that ``Base.metadata`` is complete (Alembic,
the schema test)."""

from docflow.accounts.models import AccountToken, User
from docflow.api.models import ApiKey
from docflow.appeals.models import Appeal, AppealCounter, AppealHistory, AppealTopic
from docflow.audit.models import AuditHead, AuditRecord
from docflow.certificates.models import (
    AccreditedCentre,
    Certificate,
    CrlDownload,
    RevocationList,
    TrustAnchor,
    TrustState,
)
from docflow.cluster import ClusterNode
from docflow.content.models import FaqEntry, NewsItem, SiteSetting
from docflow.contracts.models import (
    Contract,
    ContractAccess,
    ContractAccessRequest,
    ContractContacts,
    ContractInvitation,
    Organisation,
    Payment,
    RestrictionEntry,
)
from docflow.dashboard.models import WidgetLayout
from docflow.db import Base
from docflow.documents.models import (
    Document,
    DocumentFile,
    RouteStep,
    Signature,
    SigningSession,
)
from docflow.outbox.models import (
    DeliveredMessage,
    Event,
    Notification,
    OutboxMessage,
    Subscription,
    Webhook,
)
from docflow.payments.models import FakeAcquiringPayment, OnlinePayment
from docflow.powers.models import PowerOfAttorney, PowerRule
from docflow.readings.hourly_analysis_models import (  # hourly analysis
    ControlDay,
    ControlMeasurement,
    ControlValue,
    PeakHour,
)
from docflow.readings.hourly_models import HourlyPoint, HourlyUpload, HourlyValue
from docflow.readings.models import (
    Meter,
    Reading,
    ReadingAct,
    ReadingUpload,
    SupplyObject,
    TransitVolume,
    WindowNotice,
)
from docflow.readings.planned_models import (  # ППП
    PlannedReminder,
    PlannedRequest,
    PlannedVersion,
)
from docflow.service_orders.models import (
    Service,
    ServiceOrder,
    ServiceOrderCounter,
    ServiceOrderEvent,
)
from docflow.surveys.models import (
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    SurveyTarget,
)
from docflow.tours.models import GridAccount, TourSeen

__all__ = [
    # appeals
    "Appeal",
    "AppealCounter",
    "AppealHistory",
    "AppealTopic",
    "AccountToken",
    "AccreditedCentre",
    "ApiKey",
    "AuditHead",
    "AuditRecord",
    "Base",
    "Certificate",
    "Document",
    "DocumentFile",
    "RouteStep",
    "Signature",
    "SigningSession",
    "TrustAnchor",
    # the trust store in the database, the cluster (issue 18)
    "ClusterNode",
    "CrlDownload",
    "RevocationList",
    "TrustState",
    "Contract",
    "ContractAccess",
    "ContractAccessRequest",
    "ContractContacts",
    "ContractInvitation",
    "DeliveredMessage",
    "Event",
    "FaqEntry",
    "NewsItem",
    "Notification",
    "Organisation",
    "PowerOfAttorney",
    "PowerRule",
    "OutboxMessage",
    "Payment",
    "RestrictionEntry",
    "SiteSetting",
    "Subscription",
    "User",
    "Webhook",
    "WidgetLayout",
    # readings
    "Meter",
    "Reading",
    "ReadingAct",
    "ReadingUpload",
    "SupplyObject",
    "TransitVolume",
    "WindowNotice",
    # hourly volumes
    "HourlyPoint",
    "HourlyUpload",
    "HourlyValue",
    # hourly analysis: peak hours, control measurements
    "ControlDay",
    "ControlMeasurement",
    "ControlValue",
    "PeakHour",
    # ППП (planned hourly consumption)
    "PlannedReminder",
    "PlannedRequest",
    "PlannedVersion",
    # payments
    "FakeAcquiringPayment",
    "OnlinePayment",
    # surveys
    "Survey",
    "SurveyAnswer",
    "SurveyQuestion",
    "SurveyResponse",
    "SurveyTarget",
    # tours and the grid cabinet
    "GridAccount",
    "TourSeen",
    # service orders
    "Service",
    "ServiceOrder",
    "ServiceOrderCounter",
    "ServiceOrderEvent",
]
