"""The audit trail: one row per state change made by a person or by mailbot, in the same transaction."""
from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

from mailbot.ledger.models import AuditEvent


def record(session: Session, actor: str, action: str, entity: str, entity_id: int | None,
           **detail: Any) -> None:
    session.add(AuditEvent(actor=actor, action=action, entity=entity, entity_id=entity_id,
                           detail=json.dumps(detail, default=str, sort_keys=True) if detail else None))
