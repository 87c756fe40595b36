"""Email to the people who can act on a case, and reminders sent once.

Mail goes through SMTP when MAIL_SERVER is set, and to the application log otherwise. Every
message is sent after the transaction that caused it committed, never before.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AuditEvent, Case, Notification, Role, User
from models.types import utcnow
from models.user import user_roles
from workflows import registry
from workflows.access import can_view, pending_steps, waits_for
from workflows.transaction import write_transaction

log = logging.getLogger("accord.mail")


def log_unsent(err: Exception, message: str, *args) -> None:
    """Log a message that could not be sent: in one line when the mail server refused it or could
    not be reached (a traceback per message said nothing more, and buried the summary), with the
    traceback when something else failed."""
    if isinstance(err, (smtplib.SMTPException, OSError)):
        log.error(message + ": %s", *args, err)
    else:
        log.exception(message, *args)


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
    what = f"{actor.full_name} moved \"{case.title}\" to {wf.label_in_sentence(case.state)}.\n{said}"
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
        # may be counting on it is told. (Not one who may no longer read it: an officer since
        # moved out of the office.)
        for person, which in _counting_on_it(session, case):
            if person.active and can_view(person, case):
                _tell_outcome(rows, outbox, person, case, actor, comment, whose="their request", which=which)
    if rows:  # a Core INSERT in the transaction's connection: the rows are never changed
        session.connection().execute(_INSERT, rows)


def _queue(rows: list[dict], outbox: list, person: User | Person, kind: str, case: Case, subject: str,
           body: str) -> None:
    """Queue one message of a step: its row (with its words, to be sent again if sending fails)
    commits with the step; the message goes after the commit."""
    row = {"user_id": person.id, "kind": kind, "key": f"{case.id}:{case.version}", "case_id": case.id,
           "subject": subject, "body": body}
    rows.append(row)
    outbox.append((row, person.email))


def _awaits(rows: list[dict], outbox: list, person: User | Person, case: Case, what: str) -> None:
    """Queue the "awaits you" message to one person, saying what happened first."""
    wf = registry.get(case.workflow)
    _queue(rows, outbox, person, "awaits", case, f"[Accord] {wf.title} #{case.id} awaits you: {case.title}",
           f"{what}It now awaits your action: {case_url(case)}\n")


# Who was told since the case entered its state that it awaits them (a message whose sending
# failed told no one yet).
_TOLD = select(Notification.user_id).where(Notification.case_id == bindparam("case_id"),
                                           Notification.kind == "awaits", Notification.sent_at >= bindparam("since"),
                                           Notification.failed_at.is_(None))


def queue_handed_over(sender: str, session: Session, case: Case, actor: User) -> None:
    """Record, with a declared conflict of interest, a message for each person the case now waits
    for who was not told so since it entered its state: who decides in the declarer's place (the
    CAO for a trip its head stepped aside from, every officer for a request its officer did)."""
    told = set(session.scalars(_TOLD, {"case_id": case.id, "since": case.state_entered_at}))
    # Who brought it to this state knows it is theirs (an officer who took it up): a colleague's
    # conflict changes nothing for them.
    told.add(session.execute(_MOVES, {"chain": f"case:{case.id}", "seq": case.last_event_seq}).scalars().first())
    outbox = session.info.setdefault("accord_outbox", [])
    rows: list[dict] = []
    what = (f"{actor.full_name} declared a conflict of interest on \"{case.title}\" "
            f"({registry.get(case.workflow).label_in_sentence(case.state)}) and takes no decision on it.\n")
    for person in people_who_can_act(session, case):
        if person.id != actor.id and person.id != case.owner_id and person.id not in told:
            _awaits(rows, outbox, person, case, what)
    if rows:
        session.connection().execute(_INSERT, rows)


def tell_handed_over(session: Session, cases: list[Case], gone: User) -> None:
    """Mail "awaits you" to each person these requests wait for now that an account change took
    them from one who could act on them, and who was not told so since the request entered its
    state: the officers a request in triage or under review waits for again once the officer who
    took it up is closed or loses the role, as a declared conflict tells them
    (queue_handed_over). Their lists showed it at once, but no one was mailed, and a request
    waiting for triage could sit past its deadline unseen. Run after the change committed (each
    request in a transaction of its own, its messages sent after it); `cases` are those that
    waited for the person before the change."""
    for case in cases:
        with write_transaction(session) as tx:
            case = tx.get(Case, case.id)
            # Told since it came to its state, whether the message went or is to be sent again;
            # and who brought it there, who knows it is theirs.
            told = set(tx.scalars(_AWAITED, {"case_id": case.id, "since": case.state_entered_at}))
            told.add(tx.execute(_MOVES, {"chain": f"case:{case.id}", "seq": case.last_event_seq + 1})
                     .scalars().first())
            wf = registry.get(case.workflow)
            what = (f"{gone.full_name} can no longer act on \"{case.title}\" ({wf.label_in_sentence(case.state)}), "
                    "which waited for them.\n")
            rows: list[dict] = []
            outbox = tx.info.setdefault("accord_outbox", [])
            for person in people_who_can_act(tx, case):
                if person.id not in told and person.id not in (gone.id, case.owner_id):
                    _awaits(rows, outbox, person, case, what)
            if rows:
                tx.connection().execute(_INSERT, rows)
        send_outbox(case.workflow, case, gone)


def told_of(session: Session, person_id: int, cases: list[Case]) -> set[int]:
    """Return the ids of those of the requests the person was mailed "awaits you" about since each
    entered its state (whether the message went or is to be sent again), or brought to it: one
    query for the mail, and one per request only for what the mail leaves."""
    if not cases:
        return set()
    entered = {case.id: case.state_entered_at for case in cases}
    told = {case_id for case_id, at in session.execute(
        select(Notification.case_id, Notification.sent_at).where(
            Notification.user_id == person_id, Notification.kind == "awaits",
            Notification.case_id.in_(list(entered)))) if at >= entered[case_id]}
    for case in cases:
        if case.id not in told and session.execute(_MOVES, {"chain": f"case:{case.id}", "seq": case.last_event_seq + 1}
                                                   ).scalars().first() == person_id:
            told.add(case.id)
    return told


# The case's row, locked (not the rows its eager relationships join: PostgreSQL refuses that).
_LOCKED = (select(Case).where(Case.id == bindparam("case_id")).with_for_update(of=Case)
           .execution_options(populate_existing=True))


def tell_now_theirs(session: Session, cases: list[Case], person: User) -> None:
    """Mail "awaits you" to a person an account change gave the power to act (a role given, a new
    department, the account reopened or new) of each of these requests that waited for no one
    before it and waits for them alone now, unless they were told since it entered its state or
    brought it there: an acting Department Head named for a department whose only head was closed,
    a second CAO once the only one left. Their list showed it at once, but no one was mailed. Not
    one that others could already act on: they were told of it, and a newly named officer is not
    sent one message for each request waiting for the office. Run after the change committed (each
    request in a transaction of its own, the case row locked against a step or another change at
    the same moment, its message sent after it)."""
    for case in cases:
        with write_transaction(session) as tx:
            case = tx.scalars(_LOCKED, {"case_id": case.id}).one()
            if told_of(tx, person.id, [case]):
                continue
            if [p.id for p in people_who_can_act(tx, case)] != [person.id]:
                continue  # (moved on meanwhile, or someone else may act on it too)
            wf = registry.get(case.workflow)
            what = (f"You can now act on \"{case.title}\" ({wf.label_in_sentence(case.state)}), which waited for "
                    "no one: no other active account may take its next step.\n")
            rows: list[dict] = []
            _awaits(rows, tx.info.setdefault("accord_outbox", []), person, case, what)
            tx.connection().execute(_INSERT, rows)
        send_outbox(case.workflow, case, person)


def _tell_outcome(rows: list[dict], outbox: list, reader: User, case: Case, actor: User, comment: str | None, *,
                  whose: str, which: str = "", later: tuple[str, ...] = ()) -> None:
    """Queue the message that tells one person a request came to its end, or to a state where
    their step comes later (said in `later`), with the comment given (`which`: what the request
    was to them, "which awaited you")."""
    wf = registry.get(case.workflow)
    state = wf.label_in_sentence(case.state)
    reason = f"\n{actor.full_name} wrote:\n\n{comment}\n" if comment else ""
    which = f", {which}," if which else ""
    then = "".join(f"\n{line}\n" for line in later)
    _queue(rows, outbox, reader, "outcome", case, f"[Accord] {wf.title} #{case.id} {state}: {case.title}",
           f"{actor.full_name} moved {whose} \"{case.title}\"{which} to {state}.\n{reason}{then}\n"
           f"{case_url(case)}\n")


# The steps that moved a case to another state before the event numbered "seq", latest first:
# who took each, and when.
_MOVES = (select(AuditEvent.actor_id, AuditEvent.at)
          .where(AuditEvent.chain == bindparam("chain"), AuditEvent.seq < bindparam("seq"),
                 AuditEvent.from_state != AuditEvent.to_state)
          .order_by(AuditEvent.seq.desc()))
# Who was told a case awaited them since a time, whether the message went or failed.
_AWAITED = select(Notification.user_id).where(Notification.case_id == bindparam("case_id"),
                                              Notification.kind == "awaits", Notification.sent_at >= bindparam("since"))


def _counting_on_it(session: Session, case: Case) -> list[tuple[User, str]]:
    """Return, for a request its owner has just ended, who may be counting on it, each with what
    the request was to them: the last person other than its owner who moved it on (the officer
    who asked for information, though its owner answered since), its assignee, and who was told
    it awaited them in the state it left (a head mailed about a trip then cancelled; every officer
    mailed about a relief request withdrawn before anyone took it up). Its owner is not among them."""
    moves = session.execute(_MOVES, {"chain": f"case:{case.id}", "seq": case.last_event_seq}).all()
    mover = next((who for who, _at in moves if who is not None and who != case.owner_id), None)
    which = {mover: "which you had moved on"}
    which.setdefault(case.assignee_id, "which you had taken up")
    if moves:  # (the state it left was entered at the last move before this one)
        for told in session.scalars(_AWAITED, {"case_id": case.id, "since": moves[0].at}):
            which.setdefault(told, "which awaited you")
    wanted = sorted(i for i in which if i is not None and i != case.owner_id)
    people = session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.id)) if wanted else ()
    return [(person, which[person.id]) for person in people]


_NOTES = Notification.__table__
_MARK_FAILED = (update(_NOTES).where(_NOTES.c.user_id == bindparam("uid"), _NOTES.c.kind == bindparam("k"),
                                     _NOTES.c.key == bindparam("kkey"))
                .values(failed_at=bindparam("at")))


def send_outbox(sender: str, case: Case, actor: User, transition=None) -> None:
    """Send the messages queued by the transition (or declared conflict) that just committed.

    A message that cannot be sent is marked failed on its row, for `flask reminders send` to send
    again (it was recorded as sent and lost: the approver it was for never heard of the request).
    """
    from extensions import db

    failed = []
    for row, email in db.session.info.pop("accord_outbox", []):
        try:
            send_mail([email], row["subject"], row["body"])
        except Exception as err:  # the step has committed: a mail that fails must not fail its answer
            log_unsent(err, "could not send mail about case %s to %s; it will be sent again", case.id, email)
            failed.append({"uid": row["user_id"], "k": row["kind"], "kkey": row["key"], "at": utcnow()})
    if failed:
        try:
            with write_transaction(db.session) as session:
                session.connection().execute(_MARK_FAILED, failed)
        except Exception:  # (the database is gone too: the log says what was not sent)
            log.exception("could not mark %d unsent message(s) about case %s", len(failed), case.id)


# Messages of steps whose sending failed, to people still active, queued within the last week
# (an address refused that long is given up: the log has it).
_UNSENT = (select(_NOTES.c.id, _NOTES.c.kind, _NOTES.c.key, _NOTES.c.case_id, _NOTES.c.user_id,
                  _NOTES.c.subject, _NOTES.c.body, _NOTES.c.sent_at)
           .join(User.__table__, User.__table__.c.id == _NOTES.c.user_id)
           .where(_NOTES.c.failed_at.is_not(None), _NOTES.c.subject.is_not(None),
                  _NOTES.c.sent_at >= bindparam("since"), User.__table__.c.active.is_(True))
           .order_by(_NOTES.c.id))
RETRY_DAYS = 7


# A later "awaits you" to the same person about the same request (a hand-over since, say).
_LATER_AWAITS = select(_NOTES.c.id).where(_NOTES.c.user_id == bindparam("uid"), _NOTES.c.case_id == bindparam("cid"),
                                          _NOTES.c.kind == "awaits", _NOTES.c.id > bindparam("nid")).limit(1)


def _still_news(session: Session, note) -> User | None:
    """Return the person a failed message is for, if it is still theirs to read: they may still
    see the request; and an "awaits you" only while the request is where it was, waits for them
    still (not once they stepped aside) and no later one went to them."""
    user, case = session.get(User, note.user_id), session.get(Case, note.case_id)
    if user is None or case is None or not can_view(user, case):
        return None
    if note.kind == "awaits" and (
            case.state_entered_at > note.sent_at
            or not any(person.id == user.id for person in people_who_can_act(session, case))
            or session.scalar(_LATER_AWAITS, {"uid": user.id, "cid": case.id, "nid": note.id}) is not None):
        return None
    return user


def _claim(session: Session, note_id: int) -> bool:
    """Take a failed message to send it again, unless another run took it first (two cron hosts):
    return whether this run has it."""
    with write_transaction(session) as tx:
        return tx.execute(update(_NOTES).where(_NOTES.c.id == note_id, _NOTES.c.failed_at.is_not(None))
                          .values(failed_at=None)).rowcount == 1


def send_again(session: Session) -> tuple[int, int]:
    """Send again each step's message whose sending failed; return how many went and how many failed."""
    went = failed = 0
    for note in session.execute(_UNSENT, {"since": utcnow() - timedelta(days=RETRY_DAYS)}).all():
        person = _still_news(session, note)
        if person is None or not _claim(session, note.id):
            continue
        try:
            send_mail([person.email], note.subject, note.body)
        except Exception as err:  # one failure must not stop the others; it is tried again next run
            failed += 1
            log_unsent(err, "could not send again the message %s %s to %s", note.kind, note.key, person.username)
            outcome = {"failed_at": utcnow()}
        else:
            went += 1
            outcome = {"sent_at": utcnow()}
        with write_transaction(session) as tx:
            tx.execute(update(_NOTES).where(_NOTES.c.id == note.id).values(**outcome))
    return went, failed


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
        except Exception as err:  # the comment has committed: a mail that fails must not fail its answer
            log_unsent(err, "could not send mail about case %s to %s", case.id, person.email)


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
