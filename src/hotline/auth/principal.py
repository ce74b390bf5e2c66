"""The signed-in caller, as every endpoint and service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # call-centre agent (话务员)
    SUPERVISOR = "supervisor"  # centre supervisor (班长/督办)
    DEPARTMENT = "department"  # a unit's key or login, bound to one department code
    CHANNEL = "channel"  # a channel bot
    ADMIN = "admin"
    SYSTEM = "system"  # hotline's own processes (router, SLA monitor)


CENTRE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SYSTEM})


@dataclass(frozen=True)
class Principal:
    id: int | None
    name: str
    role: Role
    department_code: str | None = None

    @property
    def is_centre(self) -> bool:
        """The 12345 centre sees everything, including reporters' identities."""
        return self.role in CENTRE_ROLES

    @property
    def actor(self) -> str:
        """How this principal is written in the audit timeline."""
        if self.role == Role.DEPARTMENT:
            return f"department:{self.department_code}:{self.name}"
        return f"{self.role.value}:{self.name}"


SYSTEM_ROUTER = Principal(None, "router", Role.SYSTEM)
SYSTEM_SLA = Principal(None, "sla-monitor", Role.SYSTEM)
