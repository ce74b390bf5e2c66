"""Every table, imported once, so Alembic and the tests see the whole metadata."""

from hotline.auth.models import (
    ApiKey,
    ConsoleSession,
    IdempotencyRecord,
    IdentityView,
    PrincipalRecord,
)
from hotline.calls.models import Call
from hotline.departments.models import Department
from hotline.intake.models import IntakeRecord
from hotline.kit.db import Base
from hotline.knowledge.models import Article, ArticleVersion
from hotline.notify.models import OutboxMessage
from hotline.routing.tables import DispatchCatalogueVersion
from hotline.sla.models import HolidayYear, SlaClock, SlaPolicyVersion, SupervisionStep, UnitContact
from hotline.tickets.models import CitizenContact, Ticket, TicketAssignment, TicketEvent

__all__ = [
    "ApiKey",
    "Article",
    "ArticleVersion",
    "Base",
    "Call",
    "CitizenContact",
    "ConsoleSession",
    "Department",
    "DispatchCatalogueVersion",
    "HolidayYear",
    "IdempotencyRecord",
    "IdentityView",
    "IntakeRecord",
    "OutboxMessage",
    "PrincipalRecord",
    "SlaClock",
    "SlaPolicyVersion",
    "SupervisionStep",
    "Ticket",
    "TicketAssignment",
    "TicketEvent",
    "UnitContact",
]
