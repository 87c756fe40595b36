"""Demo data for a newcomer's `make run`: one account per role and cases of every workflow."""
from __future__ import annotations

import importlib
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

import clock
from accounts.service import create_user
from extensions import db
from models import AuditEvent, Case, User
from workflows import engine

DEMO_PASSWORD = "accord-demo-2026"

#: username, full name, roles, department
DEMO_USERS = [
    ("sam.staff", "Sam Okafor", ["staff"], "Toronto Public Health"),
    ("dana.head", "Dana Whitfield", ["dept_head"], "Toronto Public Health"),
    ("erin.staff", "Erin Castillo", ["staff"], "Economic Development and Culture"),
    ("eli.head", "Eli Marchetti", ["dept_head"], "Economic Development and Culture"),
    ("cllr.chen", "Councillor Grace Chen", ["councillor"], "City Council"),
    ("cllr.rossi", "Councillor Marco Rossi", ["councillor"], "City Council"),
    ("hana.hco", "Hana Lindqvist", ["hco"], "Strategic and Corporate Policy"),
    ("omar.hco", "Omar Haddad", ["hco"], "Strategic and Corporate Policy"),
    ("pat.committee", "Pat Nguyen", ["committee"], "City Clerk's Office"),
    ("clerk.council", "Jordan Blake", ["council"], "City Clerk's Office"),
    ("cao.office", "Morgan Ellis", ["cao"], "Chief Administrative Officer"),
    ("fin.officer", "Ravi Sharma", ["finance"], "Finance"),
    ("ada.admin", "Ada Fournier", ["admin"], "Information and Technology"),
]


def users(session: Session) -> dict[str, User]:
    """Create the demo users that are missing; return every demo user by username."""
    found = {u.username: u for u in session.scalars(select(User).where(User.username.in_([u[0] for u in DEMO_USERS])))}
    for username, name, roles, dept in DEMO_USERS:
        if username not in found:
            found[username] = create_user(session, username, DEMO_PASSWORD, roles, dept, name,
                                          email=f"{username}@toronto.example")
    session.commit()
    return found


def seed(session: Session) -> Iterator[str]:
    """Seed users and each workflow's demo cases; yield lines describing what is there."""
    from workflows.setup import PACKAGES

    people = users(session)
    for name in PACKAGES:
        try:
            module = importlib.import_module(f"workflows.{name}.demo")
        except ModuleNotFoundError as err:
            if err.name != f"workflows.{name}.demo":
                raise
            continue
        added = module.seed(db.session, people)
        yield f"{name}: {added} demo case(s) added"
    yield ""
    yield f"Demo accounts (password for all: {DEMO_PASSWORD}):"
    for username, name, roles, dept in DEMO_USERS:
        yield f"  {username:<15} {', '.join(roles):<11} {name} — {dept}"


def play(session: Session, people: dict[str, User], owner: User, case, steps, gap: dict):
    """Play (who, trigger, comment, payload) steps on a case through the engine, a gap apart.

    `who` is a demo username or "owner"; the trigger "score" submits the ratings given in the
    comment slot as that person's score; a callable payload is called when its step is played.
    """
    from workflows.scoring import submit_score

    for who, trigger, comment, payload in steps:
        clock.advance(**gap)
        actor = owner if who == "owner" else people[who]
        if trigger == "score":
            submit_score(session, actor, case.id, comment)
            continue
        payload = payload() if callable(payload) else payload
        case = engine.fire(session, actor, case.id, trigger, case.version, comment=comment, payload=payload)
    return case


def titles_made(session: Session, workflow: str) -> set[str]:
    """Return the titles the workflow's cases were made with, as their creation events record them.

    Not their titles now: a demo draft renamed by its owner was seeded again, as a second case.
    """
    return set(session.scalars(select(AuditEvent.payload["title"].as_string())
                               .join(Case, Case.id == AuditEvent.case_id)
                               .where(Case.workflow == workflow, AuditEvent.action == "create")))


def seed_missing(session: Session, workflow: str, specs: list[dict], run) -> int:
    """Run each spec whose title no case of the workflow was made with; return how many were added.

    Demo cases are dated in the past through the settable clock, which is reset afterwards.
    """
    existing = titles_made(session, workflow)
    added, now = 0, clock.now()
    try:
        for spec in specs:
            if spec["title"] not in existing:
                run(session, spec, now)
                added += 1
    finally:
        clock.set(None)
    return added
