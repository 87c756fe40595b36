"""Email to the people who can act on a case, and reminders sent once.

Mail goes through SMTP when MAIL_SERVER is set, and to the application log otherwise. Every
message is sent after the transaction that caused it committed, never before.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AuditEvent, Case, Notification, Role, User
from models.user import user_roles
from workflows import registry
from workflows.access import can_view, pending_steps, waits_for
from workflows.transaction import write_transaction

log = logging.getLogger("accord.mail")


def send_mail(recipients: list[str], subject: str, body: str) -> None:
    """Send one message by SMTP, or write it to the log when no mail server is configured."""
    recipients = [r for r in recipients if r]
    if not recipients:
        return
    # One line: a request's title may hold a line break (the API takes any text), and a header
    # may not; the email library would refuse the message after the change had committed.
    subject = " ".join(subject.split())
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("mail to %s: %s\n%s", ", ".join(recipients), subject, body)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def case_url(case: Case) -> str:
    """Return the link to a case page for an email."""
    return f"{current_app.config['ACCORD_BASE_URL'].rstrip('/')}/cases/{case.id}"


@dataclass(frozen=True)
class Person:
    """What the permission rules and a message need of a user, read without loading the user."""

    id: int
    username: str
    full_name: str
    email: str
    department_id: int
    role_names: frozenset[str]

    def has_role(self, *names: str) -> bool:
        return not self.role_names.isdisjoint(names)


_holders = select(user_roles.c.user_id).join(Role).where(Role.name.in_(bindparam("roles", expanding=True)))
# Every role of every active user who holds one of the roles: one query of plain rows.
_CANDIDATES = (select(User.id, User.username, User.full_name, User.email, User.department_id, Role.name)
               .join(user_roles, user_roles.c.user_id == User.id).join(Role, Role.id == user_roles.c.role_id)
               .where(User.active.is_(True), User.id.in_(_holders)))


def people_who_can_act(session: Session, case: Case) -> list[User | Person]:
    """Return the people the case now waits for: the active users who may take a step on it, and
    its owner when only the owner can move it on, and now (Workflow.owners_turn)."""
    wf = registry.get(case.workflow)
    transitions = [t for t in wf.transitions if case.state in t.source]
    roles = {r for t in transitions if not t.by_owner for r in t.roles}
    people: dict[int, User | Person] = {}
    if wf.owners_turn(case) and case.owner.active:  # not where the owner may only withdraw
        people[case.owner_id] = case.owner
    if roles:
        found: dict[int, tuple] = {}
        held: dict[int, set[str]] = {}
        for uid, username, full_name, email, department_id, role in session.connection().execute(
                _CANDIDATES, {"roles": sorted(roles)}):
            found[uid] = (uid, username, full_name, email, department_id)
            held.setdefault(uid, set()).add(role)
        for uid, fields in found.items():
            user = Person(*fields, frozenset(held[uid]))
            if any(waits_for(user, case, t) for t in transitions if not t.by_owner):
                people[uid] = user
    return list(people.values())


def notify_once(session: Session, user: User, kind: str, key: str, subject: str, body: str,
                case: Case | None = None) -> bool:
    """Send a message unless one of this kind and key already went to the user; return whether sent.

    The unique (user, kind, key) row is committed before the mail goes out, so a reminder run
    twice, or by two cron hosts at once, sends one message. If the mail cannot be sent, the row is
    taken back, so that the next run tries again (and the error is raised to the caller).
    """
    row = Notification(user_id=user.id, kind=kind, key=key, case_id=case.id if case else None)
    # In write transactions: on SQLite, a row added to the transaction that read the trips was
    # refused when anyone's step had committed since ("database is locked"), and that refusal
    # left the session unusable for every reminder after it.
    try:
        with write_transaction(session) as tx:
            tx.add(row)
    except IntegrityError:
        return False
    try:
        send_mail([user.email], subject, body)
    except Exception:
        with write_transaction(session) as tx:
            tx.delete(row)
        raise
    return True


_INSERT = insert(Notification.__table__)


def queue_awaiting(sender: str, session: Session, case: Case, transition, actor: User,
                   comment: str | None = None) -> None:
    """Record, with the transition, a message for each person who can act now, and for the owner
    when another's step ended their request; send after commit.

    The Notification rows commit with the transition, so a message is neither lost nor sent for
    a transition that rolled back, and no extra commit is paid per transition.
    """
    wf = registry.get(case.workflow)
    outbox = session.info.setdefault("accord_outbox", [])
    rows = []
    # The step's comment is often what the person must answer (request_info, return).
    said = f"\n{actor.full_name} wrote:\n\n{comment}\n\n" if comment else ""
    what = f"{actor.full_name} moved \"{case.title}\" to {wf.label(case.state).lower()}.\n{said}"
    for person in people_who_can_act(session, case):
        if person.id != actor.id:
            _awaits(rows, outbox, person, case, what)
    owner = case.owner
    ended = not any(case.state in t.source for t in wf.transitions)
    # Theirs later: a trip approved ahead waits for its traveller only from its first day.
    later = case.state in wf.waits_on_owner and not wf.owners_turn(case)
    # A step that must give its reason (a committee's deferral) is the owner's news too.
    reasoned = transition is not None and transition.comment_required
    if ((ended or later or reasoned) and actor.id != owner.id and owner.active
            and not any(row["user_id"] == owner.id for row in rows)):
        # The request came to its end by another's step (declined, closed, adopted), to a state
        # where its owner's step comes later, or on by a step that gives its reason (deferred): its
        # owner, who has nothing to do now, is told, with the reason given (a decline's comment).
        _tell_outcome(rows, outbox, owner, case, actor, comment, whose="your request",
                      later=tuple(reason for _step, reason in pending_steps(owner, case, wf)) if later else ())
    elif ended and actor.id == owner.id:
        # The owner ended it (a trip cancelled once approved, a request withdrawn in triage): who
        # brought it to the state it left, and may be counting on it, is told.
        mover = session.scalar(_MOVED_IT, {"chain": f"case:{case.id}", "seq": case.last_event_seq})
        # (Not one who may no longer read it: an officer since moved out of the office.)
        if mover is not None and mover.id != owner.id and mover.active and can_view(mover, case):
            _tell_outcome(rows, outbox, mover, case, actor, comment, whose="their request", moved_on=True)
    if rows:  # a Core INSERT in the transaction's connection: the rows are never changed
        session.connection().execute(_INSERT, rows)


def _awaits(rows: list[dict], outbox: list, person: User | Person, case: Case, what: str) -> None:
    """Queue the "awaits you" message to one person, saying what happened first."""
    wf = registry.get(case.workflow)
    rows.append({"user_id": person.id, "kind": "awaits", "key": f"{case.id}:{case.version}", "case_id": case.id})
    outbox.append(([person.email], f"[Accord] {wf.title} #{case.id} awaits you: {case.title}",
                   f"{what}It now awaits your action: {case_url(case)}\n"))


# Who was told since the case entered its state that it awaits them.
_TOLD = select(Notification.user_id).where(Notification.case_id == bindparam("case_id"),
                                           Notification.kind == "awaits", Notification.sent_at >= bindparam("since"))


def queue_handed_over(sender: str, session: Session, case: Case, actor: User) -> None:
    """Record, with a declared conflict of interest, a message for each person the case now waits
    for who was not told so since it entered its state: who decides in the declarer's place (the
    CAO for a trip its head stepped aside from, every officer for a request its officer did)."""
    told = set(session.scalars(_TOLD, {"case_id": case.id, "since": case.state_entered_at}))
    outbox = session.info.setdefault("accord_outbox", [])
    rows: list[dict] = []
    what = (f"{actor.full_name} declared a conflict of interest on \"{case.title}\" "
            f"({registry.get(case.workflow).label(case.state).lower()}) and takes no decision on it.\n")
    for person in people_who_can_act(session, case):
        if person.id != actor.id and person.id != case.owner_id and person.id not in told:
            _awaits(rows, outbox, person, case, what)
    if rows:
        session.connection().execute(_INSERT, rows)


def _tell_outcome(rows: list[dict], outbox: list, reader: User, case: Case, actor: User, comment: str | None, *,
                  whose: str, moved_on: bool = False, later: tuple[str, ...] = ()) -> None:
    """Queue the message that tells one person a request came to its end, or to a state where
    their step comes later (said in `later`), with the comment given."""
    wf = registry.get(case.workflow)
    state = wf.label(case.state).lower()
    rows.append({"user_id": reader.id, "kind": "outcome", "key": f"{case.id}:{case.version}", "case_id": case.id})
    reason = f"\n{actor.full_name} wrote:\n\n{comment}\n" if comment else ""
    which = ", which you had moved on," if moved_on else ""
    then = "".join(f"\n{line}\n" for line in later)
    outbox.append(([reader.email], f"[Accord] {wf.title} #{case.id} {state}: {case.title}",
                   f"{actor.full_name} moved {whose} \"{case.title}\"{which} to {state}.\n{reason}{then}\n"
                   f"{case_url(case)}\n"))


# Who took the last step that moved a case to another state before the event numbered "seq".
_MOVED_IT = (select(User).join(AuditEvent, AuditEvent.actor_id == User.id)
             .where(AuditEvent.chain == bindparam("chain"), AuditEvent.seq < bindparam("seq"),
                    AuditEvent.from_state != AuditEvent.to_state)
             .order_by(AuditEvent.seq.desc()).limit(1))


def send_outbox(sender: str, case: Case, actor: User, transition=None) -> None:
    """Send the messages queued by the transition (or declared conflict) that just committed."""
    from extensions import db

    for recipients, subject, body in db.session.info.pop("accord_outbox", []):
        try:
            send_mail(recipients, subject, body)
        except Exception:  # the step has committed: a mail that fails must not fail its answer
            log.exception("could not send mail about case %s to %s", case.id, recipients)


def mail_comment(sender: str, case: Case, actor: User, comment: str) -> None:
    """Tell the request's owner and its assignee, whoever of them did not write it and may still read
    it, of a comment (an officer whose role was taken away stays the assignee, and reads it no more)."""
    wf = registry.get(case.workflow)
    readers = {p.id: p for p in (case.owner, case.assignee)
               if p is not None and p.id != actor.id and p.active and can_view(p, case)}
    subject = f"[Accord] {wf.title} #{case.id}: {actor.full_name} commented on {case.title}"
    body = f"{actor.full_name} wrote on \"{case.title}\":\n\n{comment}\n\n{case_url(case)}\n"
    for person in readers.values():
        try:
            send_mail([person.email], subject, body)
        except Exception:  # the comment has committed: a mail that fails must not fail its answer
            log.exception("could not send mail about case %s to %s", case.id, person.email)


def init_app(app) -> None:
    """Subscribe to transitions and declared conflicts: queue inside their transaction, send after
    their commit; and to comments."""
    from workflows.engine import comment_committed, transition_committed, transition_recorded
    from workflows.scoring import conflict_committed, conflict_recorded

    transition_recorded.connect(queue_awaiting)
    conflict_recorded.connect(queue_handed_over)
    conflict_committed.connect(send_outbox)
    transition_committed.connect(send_outbox)
    comment_committed.connect(mail_comment)
