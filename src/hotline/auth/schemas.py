from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hotline.auth.principal import Role


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class LoginOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    token_type: str = "bearer"
    expires_at: datetime
    principal: PrincipalOut


class PrincipalOut(BaseModel):
    id: int | None
    name: str
    role: Role
    department_code: str | None


class MeOut(PrincipalOut):
    credential: str = Field(description="api_key or session")
    credential_expires_at: datetime | None
    is_centre: bool


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class PrincipalAdminOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    department_code: str | None
    active: bool
    has_password: bool
    created_at: datetime
    keys: list[ApiKeyOut]


class PrincipalPage(BaseModel):
    items: list[PrincipalAdminOut]
    next_cursor: str | None


class PrincipalCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    department_code: str | None = None
    password: str | None = Field(None, min_length=8, max_length=1000)
    key_expires_at: datetime | None = None


class PrincipalCreated(BaseModel):
    principal: PrincipalAdminOut
    api_key: str = Field(description="shown once; hotline keeps only its keyed digest")


LoginOut.model_rebuild()
