"""People, their departments and roles, their web sessions and API tokens."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import utcnow

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    users: Mapped[list[User]] = relationship(back_populates="department")


#: The standard roles and the titles people read them by: created with these titles (accounts.service.
#: ensure_roles), and named by them wherever a page or a refusal speaks of a role, never by its id.
ROLE_TITLES = {
    "staff": "City employee",
    "councillor": "Member of Council",
    "hco": "Healthy City Office officer",
    "dept_head": "Department Head",
    "committee": "Policy and Finance Committee secretary",
    "council": "City Clerk",
    "cao": "Chief Administrative Officer's office",
    "finance": "Finance",
    "admin": "System administrator",
}


class Role(db.Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(120))


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The hash of the last event of the account's audit chain ("user:N"), as a case row keeps its own.
    last_event_hash: Mapped[str | None] = mapped_column(String(64))

    # Loaded when asked for (few pages show a person's department): joined, it added two joins to
    # every query of cases, which load their owner and assignee.
    department: Mapped[Department] = relationship(back_populates="users", lazy="select")
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.name)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def role_names(self) -> frozenset[str]:
        """Return the names of the user's roles."""
        return frozenset(r.name for r in self.roles)

    def has_role(self, *names: str) -> bool:
        """Return whether the user holds any of the given roles."""
        # Asked hundreds of times per page (every rule, for every case shown): no set built, and a
        # plain loop (0.5 us a call, against 0.8 to 1.0 for any() over a generator).
        for role in self.roles:
            if role.name in names:
                return True
        return False

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class LoginSession(db.Model):
    """A server-side record of a web sign-in, so that sign-out really ends it."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiToken(db.Model):
    """An API bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")
