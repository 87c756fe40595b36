"""Statements built once and run many times: for a person's roles, with what the SQL spells out.

Constructing a SELECT and its cache key costs SQLAlchemy more than running it (120 to 370 us,
against about 50 us for a small indexed read), so the statements pages run on every request are
built once: with bind parameters, or once per set of roles (per_roles) with the person's id and
department bound when they run (person). Names from the code and a page's LIMIT are written into
the SQL (constant, inline), so that PostgreSQL can keep one plan for each prepared statement.
"""
from __future__ import annotations

from functools import lru_cache, wraps

from sqlalchemy import Integer, bindparam, inspect, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models import User
from workflows import registry


class Shape:
    """A person as a cached statement sees them: roles fixed when it is built, id and department
    bound when it runs (see per_roles)."""

    id = bindparam("me", type_=Integer)
    department_id = bindparam("department", type_=Integer)

    def __init__(self, roles: frozenset[str]):
        self.roles = roles

    def has_role(self, *names: str) -> bool:
        return any(name in self.roles for name in names)


def person(user: User) -> dict[str, int]:
    """Return the values a Shape's statement binds for this person."""
    return {"me": user.id, "department": user.department_id}


def per_roles(build):
    """Build a statement once per set of roles (and further arguments), not on every request.

    `build(shape, *args)` gets a Shape; the wrapper takes the user instead and returns the cached
    statement, to run with person(user) among its parameters. The registered workflows'
    generation is in the key, so a workflow registered later is seen.
    """
    @lru_cache(maxsize=256)
    def cached(roles: frozenset[str], generation: int, *args):
        return build(Shape(roles), *args)

    @wraps(build)
    def statement(user: User, *args):
        return cached(user.role_names, registry.generation(), *args)

    return statement


def constant(value: str):
    """Return a name from the code (a workflow, a state) written into the SQL, not sent apart.

    PostgreSQL then keeps one plan for a prepared statement instead of planning each run: given
    a parameter, it could not know that a state holds a tenth of the cases and not nine tenths.
    """
    return literal(value, literal_execute=True)


def inline(name: str, value: int | None = None):
    """Return a LIMIT or OFFSET written into the SQL when the statement runs, not sent apart.

    PostgreSQL plans a statement whose LIMIT it cannot see as if it read a tenth of the table, so
    it planned every execution afresh (a millisecond for the dashboard's list) rather than keep
    one plan for the prepared statement. A page has few such values, so few statements result.
    """
    return bindparam(name, value, type_=Integer, literal_execute=True)


def by_id(entity, *options):
    """Return load(session, ident): the entity with this id, as session.get(entity, ident, options=...)
    answers, from a statement built here once.

    session.get builds its SELECT and that SELECT's cache key on every call that misses the
    session: about 0.1 ms of a case page, and of each approval for its traveller. An object the
    session holds, and has not expired, is returned without SQL, as session.get returns it.
    """
    statement = select(entity).where(entity.id == bindparam("id")).options(*options)

    def load(session: Session, ident: int | None):
        if ident is None:
            return None
        found = session.identity_map.get(identity_key(entity, ident))
        if found is not None and not inspect(found).expired:
            return found
        return session.scalars(statement, {"id": ident}).unique().first()

    return load
