"""Who is calling, and may they: `Annotated` dependencies every endpoint declares.

`CurrentPrincipal` reads `Authorization: Bearer <api key or console token>`; `require_roles(...)`
narrows it (403). Which tickets a principal may see is decided in one place, the tickets
repository's `readable(principal)`, never here or per endpoint.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hotline.api.deps import SessionDep, SettingsDep
from hotline.auth import service
from hotline.auth.principal import CENTRE_ROLES, Principal, Role
from hotline.kit.errors import Forbidden

# auto_error=False: a missing header must give our 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="an API key (hlk_…) or a console token (hls_…)")


async def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The signed-in caller; 401 (with `WWW-Authenticate`) when the credential is missing or not valid."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise service.NotAuthenticated("sign in: send `Authorization: Bearer <API key or console token>`")
    principal, credential = await service.authenticate(session, credentials.credentials, settings.secret_key)
    request.state.principal = principal
    request.state.credential = credential
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """A dependency admitting only these roles (403 for the others), e.g.
    `principal: Annotated[Principal, require_roles(Role.SUPERVISOR, Role.ADMIN)]`."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"the {principal.role.value} role may not do this (allowed: {names})")
        return principal

    return Depends(check)


# The centre (agents, supervisors, admins, hotline's own processes) sees every ticket and identity.
CentreOnly = Annotated[Principal, require_roles(*CENTRE_ROLES)]
AgentRole = Annotated[Principal, require_roles(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)]
SupervisorRole = Annotated[Principal, require_roles(Role.SUPERVISOR, Role.ADMIN)]
AdminOnly = Annotated[Principal, require_roles(Role.ADMIN)]
DepartmentOnly = Annotated[Principal, require_roles(Role.DEPARTMENT)]
# Those who work tickets: the centre and departments (a department then sees only its own, via readable()).
TicketReader = Annotated[Principal, require_roles(*CENTRE_ROLES, Role.DEPARTMENT)]
ChannelBot = Annotated[Principal, require_roles(Role.CHANNEL, Role.ADMIN)]
