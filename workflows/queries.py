"""Reading cases as a given person may see them."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models import Case, User
from workflows.access import can_view
from workflows.errors import NotFound


def load_visible(session: Session, user: User, case_id: int) -> Case:
    """Return the case if the user may see it; otherwise refuse with 404."""
    case = session.get(Case, case_id)
    if case is None or not can_view(user, case):
        raise NotFound("No such case.")
    return case
