"""The demo proposals: one in every state, built through the engine, and seeded only once."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Case, Partnership
from workflows.audit import verify_all
from workflows.partnership import demo
from workflows.partnership.definition import STATES


def test_demo_covers_every_state_once_and_leaves_sao_paulo_dormant(make_user):
    # The demo's own accounts, made the fast way (demo.users hashes a password for each).
    people = {name: make_user(name, role) for name, role in [
        ("cllr.chen", "councillor"), ("cllr.rossi", "councillor"), ("hana.hco", "hco"),
        ("pat.committee", "committee"), ("clerk.council", "council")]}
    assert demo.seed(db.session, people) == 10
    assert demo.seed(db.session, people) == 0
    states = db.session.scalars(select(Case.state).where(Case.workflow == "partnership")).all()
    assert sorted(states) == sorted(STATES)
    inventory = {p.city: p.status for p in db.session.scalars(select(Partnership))}
    assert inventory["Sao Paulo"] == "dormant" and inventory["Botswana"] == "active"
    assert verify_all(db.session)[2] == []
