"""The router's brain: type, topic, place, urgency and the catalogue → one dispatch decision.

Learned models when a city has trained them, the catalogue's keyword rules otherwise. Above
the confidence threshold a ticket is dispatched; below it, it waits in the manual queue with
the top three suggestions and their reasons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hotline.routing.catalogue import (
    ANY,
    TOWN,
    TYPE_ALIASES,
    Catalogue,
    RowMatch,
    default_catalogue,
)
from hotline.routing.place import PlaceMatch, extract_place, places_from_text
from hotline.routing.rules import classify_type, classify_types
from hotline.routing.schemas import RoutingDecision
from hotline.routing.urgency import UrgencyFlags, assess_batch

log = logging.getLogger(__name__)

TOWN_FALLBACK_CONFIDENCE = 0.6
MANUAL = "fallback:manual"


class HasLocation(Protocol):
    lat: float | None
    lng: float | None


@dataclass
class _Candidate:
    lead: str
    co: list[str]
    score: float
    rule: str
    reasons: list[str]
    match: RowMatch | None = None


def _predict(model: Any, texts: list[str], what: str) -> list[Any] | None:
    if model is None or not texts:
        return None
    try:
        out = model.predict(texts)
    except Exception:  # a broken model must not stop intake; the rules carry on
        log.exception("%s model failed on a batch of %d: rules alone for it", what, len(texts))
        return None
    return list(out) if out is not None else None


def load_learned_models(model_dir: Path | str) -> tuple[Any, str]:
    """C's topic/type models from `model_dir`, and a line saying what the router runs on."""
    try:
        from hotline.routing.models import load_models

        models = load_models(model_dir)
    except Exception as exc:  # noqa: BLE001 - missing or corrupt: start on rules alone
        log.warning("router starts on rules alone: models in %s not loaded (%s: %s)",
                    model_dir, type(exc).__name__, exc)
        return None, "rules alone (no model loaded)"
    topic, type_ = getattr(models, "topic", None), getattr(models, "type", None)
    status = (f"topic: {'model' if topic else 'rules'}, type: {'model' if type_ else 'rules'}")
    if topic is None and type_ is None:
        log.warning("router starts on rules alone: no trained model in %s (run `hotline train`)", model_dir)
        status = "rules alone (no model loaded)"
    return models, status


class Router:
    """Routes batches of message texts; holds the active catalogue version and the models."""

    def __init__(self, catalogue: Catalogue | None = None, models: Any = None, threshold: float = 0.6,
                 refresh_seconds: float = 30.0, model_status: str | None = None) -> None:
        self.catalogue = catalogue or default_catalogue()
        self.models = models
        self.threshold = threshold
        self.refresh_seconds = refresh_seconds
        self.model_status = model_status or ("rules alone (no model loaded)" if models is None else "models")
        self._loaded_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Any) -> Router:
        models, status = load_learned_models(settings.model_dir)
        return cls(None, models, settings.dispatch_confidence_threshold,
                   settings.catalogue_refresh_seconds, status)

    async def refresh(self, session: Any, force: bool = False) -> None:
        """Load the active catalogue version from the database at most every `refresh_seconds`."""
        if not force and time.monotonic() - self._loaded_at < self.refresh_seconds:
            return
        from hotline.routing import service

        self.catalogue = await service.active_catalogue(session)
        self._loaded_at = time.monotonic()

    def __call__(self, texts: list[str], locations: Sequence[Any | None] | None = None) -> list[RoutingDecision]:
        return self.route_batch(texts, locations)

    def route_batch(self, texts: list[str], locations: Sequence[Any | None] | None = None) -> list[RoutingDecision]:
        topics = _predict(getattr(self.models, "topic", None), texts, "topic")
        types = _predict(getattr(self.models, "type", None), texts, "type")
        # Every word list is searched once for the whole batch (routing.text.Lexicon).
        rule_types = classify_types(texts) if not types else None
        places = places_from_text(texts)
        flags = assess_batch(texts)
        hits = self.catalogue.keyword_hits_batch(texts)
        out = []
        for i, text in enumerate(texts):
            loc = locations[i] if locations is not None and i < len(locations) else None
            out.append(self._route_one(text, loc, topics[i] if topics else None, types[i] if types else None,
                                       rule_types[i] if rule_types else None, places[i], flags[i], hits[i]))
        return out

    def _route_one(self, text: str, loc: Any, topic_pred: Any, type_pred: Any,
                   rule_type: tuple[str, str] | None, place_in_text: PlaceMatch, flags: UrgencyFlags,
                   hits: dict[int, list[str]]) -> RoutingDecision:
        cat = self.catalogue
        reasons: list[str] = []
        # Type: the model when it has one, the rules otherwise.
        if type_pred is not None:
            type_ = TYPE_ALIASES.get(type_pred.label, type_pred.label)
            type_reason = f"type model: {type_} ({type_pred.confidence:.2f})"
        else:
            type_, type_reason = rule_type or classify_type(text)
        reasons.append(type_reason)

        lat = getattr(loc, "lat", None) if loc is not None else None
        lng = getattr(loc, "lng", None) if loc is not None else None
        # Without coordinates the place is the text's (what extract_place returns then).
        place = place_in_text if lat is None or lng is None else extract_place(text, lat, lng, by_text=place_in_text)
        town = place.code if place.status == "found" else None
        if place.status == "found":
            reasons.append(f"place {place.name}: {place.reason}")
        elif place.status == "ambiguous":
            reasons.append(f"place ambiguous ({place.reason}): candidates "
                           + ", ".join(c.name for c in place.candidates))

        reasons.extend(flags.reasons)

        model_topic: str | None = None
        model_conf = 0.0
        if topic_pred is not None:
            model_topic, model_conf = topic_pred.label, float(topic_pred.confidence)
            topic, topic_conf = model_topic, model_conf
            reasons.append(f"topic model: {topic} ({topic_conf:.2f})")
        else:
            votes = cat.topic_votes(hits)
            if votes:
                topic = max(votes, key=lambda t: (votes[t], t))
                topic_conf = votes[topic] / sum(votes.values())
                reasons.append(f"topic by keywords: {topic}")
            else:
                topic, topic_conf = None, 0.0

        matches = cat.match(hits, model_topic, model_conf, town, type_)
        candidates = self._candidates(matches, place)
        decided = next((c for c in candidates if c.match is not None), None)

        if decided is not None and decided.match is not None:
            # Every other unit's evidence counts against this one: three units named, no one sure.
            rivals = sum(c.score for c in candidates if c.match is not None and c.lead != decided.lead)
            confidence = _rule_confidence(decided.match, rivals, model_topic, model_conf)
            rule = f"catalogue:{decided.rule}"
            reasons.extend(decided.reasons)
        elif town is not None:
            confidence = TOWN_FALLBACK_CONFIDENCE
            rule = "fallback:town"
            reasons.append(f"no catalogue rule: the town government of {place.name} handles it")
        else:
            confidence = 0.0
            rule = MANUAL
            reasons.append("no catalogue rule and no unambiguous place: manual dispatch")
        if decided is None and town is not None:
            decided = next((c for c in candidates if c.lead == town),
                           _Candidate(town, [], 1.0, "fallback:town", [place.reason or ""]))

        lead: str | None = decided.lead if decided else None
        co = list(decided.co) if decided else []
        if flags.handoff is not None:
            also = flags.handoff.get("also")
            lines = "/".join([str(flags.handoff["target"]), *(also if isinstance(also, list) else [])])
            reasons.append(f"emergency: an agent hands it off to {lines} at once; not dispatched automatically")
            lead, co = None, []
        elif flags.refusal is not None:
            reasons.append("flagged for refusal (不予受理): an agent decides, nothing is dispatched")
            lead, co = None, []
        elif lead is not None and confidence < self.threshold:
            reasons.append(f"confidence {confidence:.2f} below the threshold {self.threshold:.2f}: "
                           "manual dispatch queue with suggestions")
            lead, co = None, []

        # In RoutingDecision's field order: _decision takes them as they are.
        return _decision({
            "type": type_, "type_reason": type_reason, "topic": topic, "town_code": town,
            "urgency": flags.urgency, "department_code": lead, "co_department_codes": co,
            "confidence": round(confidence, 4), "rule": rule, "reasons": reasons,
            "suggestions": _suggestions(candidates, confidence), "topic_confidence": round(topic_conf, 4),
            "place": place.as_dict(), "handoff": flags.handoff, "refusal": flags.refusal,
            "catalogue_version": cat.version, "models": self.model_status,
        })

    def _candidates(self, matches: list[RowMatch], place: PlaceMatch) -> list[_Candidate]:
        """Distinct lead units, best first: catalogue rows, then the town government fallback."""
        status = place.status
        town = place.code if status == "found" else None
        out: list[_Candidate] = []
        seen: set[str] = set()
        here = [(town, place.reason or "")]
        for m in matches:
            r = m.row
            by_town = r.lead == TOWN
            towns: list[tuple[str | None, str]] = here
            if town is None and status == "ambiguous" and (by_town or TOWN in r.co):
                # Not guessed: each candidate town becomes its own suggestion, none is dispatched.
                towns = [(c.code, c.reason) for c in place.candidates]
            for t, why in towns:
                lead = t if by_town else r.lead
                if lead is None or lead in seen:  # a unit already suggested keeps its first (best) rule
                    continue
                if r.co:
                    named = [t if u == TOWN else u for u in r.co]
                    co = [u for u in dict.fromkeys(named) if u is not None and u != lead]
                else:
                    co = []
                usable = not by_town or (t == town and town is not None)
                rs = [*m.reasons, f"town government: {why}"] if by_town else list(m.reasons)
                seen.add(lead)
                out.append(_Candidate(lead, co, m.score, r.rule, rs, m if usable else None))
        if town is not None:
            if town not in seen:
                out.append(_Candidate(town, [], 1.0, "fallback:town",
                                      [f"the town government of the place: {place.reason}"]))
        elif status == "ambiguous":
            for c in place.candidates:
                if c.code not in seen:
                    seen.add(c.code)
                    out.append(_Candidate(c.code, [], 0.5, "fallback:town", [f"possible place: {c.reason}"]))
        return out


_DECISION_FIELDS = tuple(RoutingDecision.model_fields)


def _constructed(values: dict[str, Any]) -> RoutingDecision:
    """What `RoutingDecision.model_construct(**values)` makes when `values` holds every field,
    without its per-field alias and default handling (a fifth of a decision's cost)."""
    m = RoutingDecision.__new__(RoutingDecision)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(values))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


def _fast_construction_works() -> bool:
    sample: dict[str, Any] = {name: None for name in _DECISION_FIELDS} | {"type": "other", "reasons": ["x"]}
    try:
        fast, slow = _constructed(dict(sample)), RoutingDecision.model_construct(**sample)
        return (fast == slow and fast.model_dump() == slow.model_dump()
                and fast.model_fields_set == slow.model_fields_set and repr(fast) == repr(slow))
    except Exception:  # noqa: BLE001 - another pydantic: construct it the documented way
        return False


_FAST_CONSTRUCTION = _fast_construction_works()


def _decision(values: dict[str, Any]) -> RoutingDecision:
    """A decision from values made by the router, of the declared types: no validation."""
    if _FAST_CONSTRUCTION and len(values) == len(_DECISION_FIELDS):
        if tuple(values) == _DECISION_FIELDS:
            return _constructed(values)
        return _constructed({name: values[name] for name in _DECISION_FIELDS})
    return RoutingDecision.model_construct(**values)


def _rule_confidence(m: RowMatch, rival: float, model_topic: str | None, model_conf: float) -> float:
    if m.keywords:
        margin = (m.score - rival) / m.score if m.score > 0 else 0.0
        margin = max(margin, 0.0)
        conf = 0.5 + 0.35 * margin + 0.05 * min(len(m.keywords) - 1, 2) * margin
    else:
        conf = 0.85 * model_conf  # a topic's default unit: only as sure as the topic model
    if model_topic is not None and m.keywords:
        if m.row.topic in (ANY, model_topic):
            conf += 0.5 * model_conf * (1.0 - conf)
        else:
            conf *= 1.0 - 0.5 * model_conf
    return min(conf, 0.99)


def _suggestions(candidates: list[_Candidate], confidence: float) -> list[dict[str, object]]:
    top = candidates[:3]
    total = sum(c.score for c in top) or 1.0
    return [{"department_code": c.lead, "co_department_codes": c.co, "rule": c.rule,
             "share": round(c.score / total, 4), "reasons": c.reasons} for c in top]
