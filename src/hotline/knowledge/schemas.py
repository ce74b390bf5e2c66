from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator


class ArticleIn(BaseModel):
    title: str = Field(min_length=2, max_length=300)
    questions: list[str] = Field(default_factory=list, max_length=50,
                                 description="ways citizens ask it, in their words")
    answer: str = Field(min_length=2, max_length=20_000)
    policy_basis: str | None = Field(None, max_length=5_000)
    department_code: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    review_on: date | None = None
    note: str | None = Field(None, max_length=2_000, description="why this version")

    @model_validator(mode="after")
    def _dates(self) -> ArticleIn:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class ArticleOut(BaseModel):
    id: int
    status: str
    department_code: str | None
    version: int
    title: str
    questions: list[str]
    answer: str
    policy_basis: str | None
    valid_from: date | None
    valid_until: date | None
    review_on: date | None
    author: str
    updated_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None


class SearchHit(BaseModel):
    id: int
    version: int
    title: str
    snippet: str = Field(description="the answer around the matched words, matches in <em>")
    score: float
    relevance: float = Field(description="score relative to the best hit (1.0 for the best)")
    department_code: str | None


class SearchResult(BaseModel):
    query: str
    confidence: float = Field(description="0..1: how clearly the first article is the answer")
    items: list[SearchHit]
