"""Every state a ticket can be in reads the same to its citizen on every public surface."""

from __future__ import annotations

from hotline.open311.service import open311_status
from hotline.tickets.models import TicketStatus
from hotline.tickets.public import CLOSED_TO_PUBLIC, PUBLIC_STATUS, public_status


def test_every_state_has_public_words_and_internal_steps_do_not_show() -> None:
    assert set(PUBLIC_STATUS) == set(TicketStatus)  # a new state without public words fails here
    # A unit's return (退单) or the centre's dispute of it is internal: the citizen reads re-dispatch.
    assert public_status("returned") == public_status("dispute_review") == "正在重新分派"
    assert public_status("extension_requested") == public_status("in_progress")


def test_open311_open_or_closed_follows_the_same_vocabulary() -> None:
    assert {s for s in TicketStatus if open311_status(s) == "closed"} == set(CLOSED_TO_PUBLIC)
    assert open311_status("dispatched") == "open"
