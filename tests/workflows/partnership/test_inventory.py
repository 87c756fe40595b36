"""The inventory: the reference data matches the framework row by row, the API lists and
filters it, an administrator's changes are audited, and an adoption updates it."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Partnership, User
from tests.workflows.partnership.conftest import entry, new, revival
from workflows import engine
from workflows.errors import WorkflowError
from workflows.partnership import definition
from workflows.partnership.inventory import create_entry

# Written by hand from the framework: §6.1.2 (statuses) and Appendix 4 (years, municipalities, sponsors).
# city, country, established, municipality, sponsor, status
FRAMEWORK = [
    ("Middlesex", "Great Britain", "1990-98", "Metropolitan Toronto", "N/A", "completed"),
    ("Nanjing", "China", "1996", "Scarborough", "CIDA/FCM", "completed"),
    ("Medellin", "Colombia", "1997", "Toronto", "CIDA/FCM", "completed"),
    ("The State of Mexico", "Mexico", "1996", "Metropolitan Toronto", "Metropolis", "completed"),
    ("Lima", "Peru", "1990", "Toronto", "CIDA/FCM", "completed"),
    ("Istanbul", "Turkey", "1997", "Metropolitan Toronto", "CIDA/FCM", "completed"),
    ("Tallinn", "Estonia", "1997", "Toronto", "CIDA/CUI", "completed"),
    ("Riga", "Latvia", "1997", "Toronto", "CIDA/CUI", "completed"),
    ("Vilnius", "Lithuania", "1997", "Toronto", "CIDA/CUI", "completed"),
    ("Cape Town", "South Africa", "1995", "Toronto", "CIDA/FCM", "completed"),
    ("Soyapango", "El Salvador", "1996", "York", "CIDA/FCM", "active"),
    ("Sao Paulo", "Brazil", "1987", "Toronto", "CIDA/FCM", "dormant"),
    ("Botswana", "Botswana", None, None, None, "prospective"),
]
FOCUS_WORDS = {"Middlesex": "Ambulance", "Nanjing": "Municipal Management", "Medellin": "Drug Plans",
               "The State of Mexico": "Infrastructure financing", "Lima": "Emergency services",
               "Istanbul": "Landfill", "Tallinn": "tourism", "Riga": "tourism", "Vilnius": "tourism",
               "Cape Town": "Governance models", "Soyapango": "Property assessment",
               "Sao Paulo": "Healthy City approach"}


def _rows(items) -> list[tuple]:
    return sorted((i["city"], i["country"], i["established"], i["municipality"], i["sponsor"], i["status"])
                  for i in items)


def test_init_db_loaded_the_framework_inventory(app):
    loaded = db.session.scalars(select(Partnership)).all()
    assert _rows([{k: getattr(p, k) for k in ("city", "country", "established", "municipality", "sponsor",
                                              "status")} for p in loaded]) == sorted(FRAMEWORK)
    for p in loaded:
        assert FOCUS_WORDS.get(p.city, "Prospective") in p.focus
    baltic = {p.city for p in loaded if p.program == "Canadian Baltic Municipal Cooperation Program"}
    assert baltic == {"Tallinn", "Riga", "Vilnius"}


def test_api_lists_the_framework_inventory(api, people):
    r = api(people["chen"]).get("/api/v1/partnerships")
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert _rows(items) == sorted(FRAMEWORK)
    assert {"id", "city", "country", "established", "municipality", "focus", "sponsor", "status"} <= set(items[0])


@pytest.mark.parametrize("query, cities", [
    ("status=dormant", {"Sao Paulo"}),
    ("status=active", {"Soyapango"}),
    ("country=south%20africa", {"Cape Town"}),
    ("status=completed&country=Latvia", {"Riga"}),
    ("status=active&country=Brazil", set()),
])
def test_api_filters_by_status_and_country(api, people, query, cities):
    items = api(people["chen"]).get(f"/api/v1/partnerships?{query}").get_json()["items"]
    assert {i["city"] for i in items} == cities


def test_the_inventory_is_in_the_order_of_its_names_whatever_their_case_or_accents(api, people, browser_of):
    # SQLite sorted by bytes: an adopted "durban" or an "Ávila" came after "Zagreb", on the page,
    # in the API and in the relief form's list of partner cities; and "éire" found no "ÉIRE".
    for city, country in [("Zagreb", "Croatia"), ("durban", "South Africa"), ("Ávila", "ÉIRE"), ("Łódź", "Poland")]:
        create_entry(db.session, people["ada"], {"city": city, "country": country, "focus": "", "status": "active"})
    cities = [i["city"] for i in api(people["chen"]).get("/api/v1/partnerships?status=active").get_json()["items"]]
    assert cities == ["Ávila", "durban", "Łódź", "Soyapango", "Zagreb"]
    assert [i["city"] for i in api(people["chen"]).get("/api/v1/partnerships?country=%C3%A9ire").get_json()["items"]] == [
        "Ávila"]
    page = browser_of(people["chen"]).get("/partnerships").get_data(as_text=True)
    assert page.index("Ávila") < page.index("Cape Town") < page.index("durban") < page.index("Zagreb")
    countries = page[page.index('name="country"'):]
    assert countries.index("Brazil") < countries.index("ÉIRE") < countries.index("Great Britain")


def test_api_refuses_an_unknown_status_and_a_missing_token(api, people):
    r = api(people["chen"]).get("/api/v1/partnerships?status=lapsed")
    assert r.status_code == 422 and "status" in r.get_json()["errors"]
    assert api(None).get("/api/v1/partnerships").status_code == 401


def test_api_reads_one_entry_with_its_proposals_and_history(api, people, make_case):
    case = make_case("adopted")
    hidden = make_case("draft", owner="rossi", title="Rossi's own Sao Paulo idea")
    sao = entry("Sao Paulo")
    body = api(people["hana"]).get(f"/api/v1/partnerships/{sao.id}").get_json()
    assert body["status"] == "active"
    assert [p["id"] for p in body["proposals"]] == [hidden.id, case.id]
    # Its chain begins with its loading from the framework's inventory, by "system".
    assert [(e["action"], e["actor"]) for e in body["events"]] == [("inventory_create", "system"),
                                                                   ("inventory_edit", "clerk.council")]
    assert body["events"][0]["payload"]["status"] == "dormant"
    assert body["events"][1]["payload"]["status"] == {"from": "dormant", "to": "active"}
    assert body["events"][1]["payload"]["case_id"] == case.id
    # A councillor sees only their own proposals on the entry.
    mine = api(people["chen"]).get(f"/api/v1/partnerships/{sao.id}").get_json()
    assert [p["id"] for p in mine["proposals"]] == [case.id]
    assert api(people["chen"]).get("/api/v1/partnerships/9999").status_code == 404


def test_adopting_a_new_partnership_creates_it_active_and_stores_its_id(api, people, make_case):
    case = make_case("adopted", data=new("Cape Town", "South Africa", focus_areas=["Governance", "Housing"]))
    created = db.session.get(Partnership, case.data["partnership_id"])
    assert (created.city, created.status, created.focus, created.sponsor) == (
        "Cape Town", "active", "Governance; Housing", "FCM")
    assert entry("Cape Town").status == "completed"  # the old partnership stays as the framework left it
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{created.id}")).all()
    assert [(e.action, e.actor_username, e.payload["case_id"]) for e in events] == [
        ("inventory_create", "clerk.council", case.id)]


def test_adopting_a_new_partnership_activates_its_prospective_entry(people, make_case):
    botswana = entry("Botswana")
    case = make_case("adopted", data=new("Botswana", "Botswana", partnership_id=botswana.id))
    db.session.refresh(botswana)
    assert case.data["partnership_id"] == botswana.id
    assert botswana.status == "active" and botswana.municipality == "Toronto" and botswana.established


def test_a_prospective_entry_of_a_country_takes_the_city_council_adopted(people, make_case):
    # The entry named the country alone; adopted for Gaborone, it still read "Botswana, Botswana",
    # and a second Gaborone proposal passed the duplicate check and made a second active entry.
    botswana = entry("Botswana")
    case = make_case("adopted", data=new("Gaborone", "Botswana", partnership_id=botswana.id), title="Gaborone")
    db.session.refresh(botswana)
    assert (botswana.city, botswana.country, botswana.status) == ("Gaborone", "Botswana", "active")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{botswana.id}")
                               .order_by(AuditEvent.seq.desc())).first()
    assert event.payload["city"] == {"from": "Botswana", "to": "Gaborone"} and event.payload["case_id"] == case.id
    again = make_case("draft", data=new("Gaborone", "Botswana"), title="Gaborone again")
    with pytest.raises(WorkflowError, match="already has an active partnership with Gaborone, Botswana"):
        engine.fire(db.session, people["chen"], again.id, "submit", again.version)


def test_a_country_spelled_another_way_does_not_make_a_second_active_partnership(people, make_case):
    make_case("adopted", data=new("Durban", "South Africa"), title="Durban")
    again = make_case("draft", data=new("durban", "Republic of South Africa"), title="Durban again")
    with pytest.raises(WorkflowError, match="already has an active partnership with Durban, South Africa"):
        engine.fire(db.session, people["chen"], again.id, "submit", again.version)


def test_a_revival_keeps_the_country_of_the_partnership_revived(people, make_case):
    case = make_case("draft", data=revival("Sao Paulo", partner_country="Portugal"))
    with pytest.raises(WorkflowError) as refused:
        engine.fire(db.session, people["chen"], case.id, "submit", case.version)
    assert refused.value.errors == {"data": {"partner_country": [
        "The partnership revived is with Sao Paulo, Brazil; the partner country must be the same."]}}


def test_admin_creates_and_edits_entries_each_change_audited(people):
    from workflows.partnership import inventory

    p = inventory.create_entry(db.session, people["ada"], {
        "city": "Kyiv", "country": "Ukraine", "established": "2026", "municipality": "Toronto",
        "focus": "Emergency preparedness", "sponsor": "FCM", "status": "prospective"})
    inventory.edit_entry(db.session, people["ada"], p.id, {"status": "active", "focus": "Emergency services"})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{p.id}")
                                .order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["inventory_create", "inventory_edit"]
    assert events[0].payload["city"] == "Kyiv" and events[0].payload["program"] is None
    assert events[1].payload == {"status": {"from": "prospective", "to": "active"},
                                 "focus": {"from": "Emergency preparedness", "to": "Emergency services"}}
    assert events[1].prev_hash == events[0].hash


@pytest.mark.parametrize("who, values, error", [
    ("hana", {"status": "active"}, "Forbidden"),
    ("ada", {"status": "lapsed"}, "ValidationFailed"),
    ("ada", {"city": ""}, "ValidationFailed"),
])
def test_inventory_edit_refusals_change_nothing(people, who, values, error):
    from workflows.partnership import inventory

    sao = entry("Sao Paulo")
    before = (sao.city, sao.status, db.session.scalar(select(AuditEvent.id).limit(1)))
    with pytest.raises(Exception) as raised:
        inventory.edit_entry(db.session, people[who], sao.id, values)
    assert type(raised.value).__name__ == error
    db.session.expire_all()
    sao = entry("Sao Paulo")
    assert (sao.city, sao.status, db.session.scalar(select(AuditEvent.id).limit(1))) == before


def test_an_inventory_edit_that_changes_nothing_is_answered_as_done_and_records_nothing(api, people):
    # As a case's edit: repeating a PATCH (a script retrying) is not an error.
    sao = entry("Sao Paulo")
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    for _ in range(2):
        r = api(people["ada"]).patch(f"/api/v1/partnerships/{sao.id}", json={"city": "Sao Paulo", "status": "dormant"})
        assert r.status_code == 200 and r.get_json()["status"] == "dormant"
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_an_administrator_keeps_the_inventory_through_the_api_too(api, people):
    # A script can do what the admin's pages do: add an entry, then change it; each is audited.
    admin = api(people["ada"])
    r = admin.post("/api/v1/partnerships", json={"city": "Kyiv", "country": "Ukraine", "established": "2026",
                                                  "focus": "Emergency preparedness", "status": "prospective"})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["city"] == "Kyiv" and created["municipality"] is None and created["status"] == "prospective"
    r = admin.patch(f"/api/v1/partnerships/{created['id']}", json={"status": "active"})
    assert r.status_code == 200 and r.get_json() == {**created, "status": "active"}
    detail = admin.get(f"/api/v1/partnerships/{created['id']}").get_json()
    assert [(e["action"], e["actor"]) for e in detail["events"]] == [
        ("inventory_create", "ada.admin"), ("inventory_edit", "ada.admin")]
    assert detail["events"][1]["payload"] == {"status": {"from": "prospective", "to": "active"}}
    assert "Kyiv" in [i["city"] for i in admin.get("/api/v1/partnerships?status=active").get_json()["items"]]


@pytest.mark.parametrize("who, method, body, status, field", [
    ("hana", "post", {"city": "Lisbon", "country": "Portugal", "focus": "Health", "status": "prospective"}, 403, None),
    ("ada", "post", {"country": "Portugal", "focus": "Health", "status": "prospective"}, 422, "city"),
    ("ada", "post", {"city": "Lisbon", "country": "Portugal", "focus": "Health", "status": "lapsed"}, 422, "status"),
    ("ada", "post", ["not", "an", "object"], 422, "_schema"),
    ("hana", "patch", {"status": "active"}, 403, None),
    ("ada", "patch", {"city": ""}, 422, "city"),
    ("ada", "patch", {}, 422, "_schema"),  # nothing to change (the same values: 200, see below)
])
def test_inventory_api_refusals_name_the_field_and_change_nothing(api, people, who, method, body, status, field):
    sao = entry("Sao Paulo")
    before = (db.session.scalar(select(func.count()).select_from(Partnership)), sao.city, sao.status,
              db.session.scalar(select(func.count()).select_from(AuditEvent)))
    client = api(people[who])
    url = "/api/v1/partnerships" if method == "post" else f"/api/v1/partnerships/{sao.id}"
    r = getattr(client, method)(url, json=body)
    assert r.status_code == status
    if field:
        assert field in r.get_json()["errors"]
    db.session.expire_all()
    sao = entry("Sao Paulo")
    assert (db.session.scalar(select(func.count()).select_from(Partnership)), sao.city, sao.status,
            db.session.scalar(select(func.count()).select_from(AuditEvent))) == before


def test_inventory_api_answers_a_missing_entry_and_a_body_that_is_not_json(api, people):
    admin = api(people["ada"])
    assert admin.patch("/api/v1/partnerships/999999", json={"status": "active"}).status_code == 404
    r = admin.client.post("/api/v1/partnerships", data="city=Lisbon", headers={**admin._headers(),
                                                                                 "Content-Type": "text/plain"})
    assert r.status_code == 400
    # Someone who may not change the inventory learns only that, whatever they sent.
    hco = api(people["hana"])
    assert hco.client.post("/api/v1/partnerships", data="city=Lisbon", headers={
        **hco._headers(), "Content-Type": "text/plain"}).status_code == 403


@pytest.mark.parametrize("kind", ["revival", "new"])
def test_two_adoptions_at_once_are_decided_one_after_the_other(app, people, make_user, make_case, monkeypatch, kind):
    # Two proposals for one city reach Council (two revivals of Sao Paulo, or two new partnerships
    # with Durban); two clerks adopt them at the same moment. The second must see the first's
    # change and be refused: on PostgreSQL both once passed their checks before either committed,
    # and both were adopted.
    data = (lambda: None) if kind == "revival" else new
    first, second = make_case("council_review", data=data()), make_case("council_review", data=data(), owner="rossi")
    clerks = [people["jordan"].id, make_user("clerk.two", "council", department="City Clerk's Office").id]
    slow_adopt = definition.adopt

    def adopt(*args, **kwargs):
        time.sleep(0.3)  # the other adoption checks the inventory meanwhile
        return slow_adopt(*args, **kwargs)

    monkeypatch.setattr(definition, "adopt", adopt)
    barrier, outcomes = threading.Barrier(2), {}

    def clerk(case, user_id):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                barrier.wait()
                engine.fire(db.session, user, case.id, "approve", case.version, payload={"meeting_reference": "2026.CC14.2"})
                outcomes[case.id] = "adopted"
            except WorkflowError as err:
                outcomes[case.id] = err.status
            finally:
                db.session.remove()

    threads = [threading.Thread(target=clerk, args=(case, uid)) for case, uid in zip((first, second), clerks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(map(str, outcomes.values())) == ["422", "adopted"], outcomes
    db.session.rollback()  # (this thread's read began before the clerks wrote)
    city = "Sao Paulo" if kind == "revival" else "Durban"
    active = db.session.scalars(select(Partnership).where(Partnership.city == city, Partnership.status == "active")).all()
    assert len(active) == 1
    changes = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{active[0].id}",
                                                          AuditEvent.actor_username != "system")).all()
    assert len(changes) == 1  # revived, or created, once (beside its loading from the framework, if any)


def test_an_administrators_edit_and_councils_adoption_of_one_entry_wait_for_each_other(app, people, make_case,
                                                                                          monkeypatch):
    # The edit locked the entry, then the table (to write); the adoption, the table, then the
    # entry: on PostgreSQL each waited for the other and one failed as a deadlock, a 500.
    from workflows.partnership import inventory

    case = make_case("council_review")  # a revival of Sao Paulo, dormant
    pid, ids = entry("Sao Paulo").id, {"admin": people["ada"].id, "clerk": people["jordan"].id}
    editing, real_lock = threading.Event(), inventory.lock_entry

    def lock_entry(session, found_id):
        found = real_lock(session, found_id)
        if threading.current_thread().name == "admin":
            editing.set()
            time.sleep(0.5)  # the adoption starts while the edit holds what it has locked
        return found

    monkeypatch.setattr(inventory, "lock_entry", lock_entry)
    outcomes = {}

    def act(who):
        with app.app_context():
            try:
                user = db.session.get(User, ids[who])
                if who == "admin":
                    inventory.edit_entry(db.session, user, pid, {"focus": "Waste and health"})
                else:
                    editing.wait(10)
                    engine.fire(db.session, user, case.id, "approve", case.version,
                                payload={"meeting_reference": "2026.CC14.2"})
                outcomes[who] = "done"
            except Exception as err:  # noqa: BLE001 - the test reports any outcome
                outcomes[who] = repr(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(who,), name=who) for who in ("admin", "clerk")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes == {"admin": "done", "clerk": "done"}
    db.session.rollback()
    assert (entry("Sao Paulo").status, entry("Sao Paulo").focus) == ("active", "Waste and health")


def test_an_entrys_trail_cut_short_or_its_status_changed_outside_accord_is_named(app, people):
    # The inventory's chains had no recorded head: their last events could be deleted, and the
    # entry's row edited to match, and `flask audit verify` said OK.
    from sqlalchemy import text

    from tests.factories import trail_unguarded
    from workflows.partnership import inventory

    sao_paulo = entry("Sao Paulo")
    inventory.edit_entry(db.session, people["ada"], sao_paulo.id, {"status": "active"})
    inventory.edit_entry(db.session, people["ada"], sao_paulo.id, {"focus": "Waste and health"})

    def verify():
        return app.test_cli_runner().invoke(args=["audit", "verify"])

    assert verify().exit_code == 0
    db.session.execute(text("UPDATE partnerships SET status = 'dormant' WHERE id = :id"), {"id": sao_paulo.id})
    db.session.commit()
    result = verify()
    assert result.exit_code == 1 and "the entry is 'dormant' but its last event left it 'active'" in result.output
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{sao_paulo.id}")
                              .order_by(AuditEvent.seq.desc())).first()
    with trail_unguarded(db.session.connection()):
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})
    db.session.commit()
    result = verify()
    assert result.exit_code == 1 and f"chain partnership:{sao_paulo.id}: the entry's last event hash differs" in (
        result.output)


def test_an_entry_of_the_framework_never_edited_is_sealed_too(app):
    # The twelve entries init-db loads had no event and no head: Sao Paulo's status could be set to
    # "active" with one UPDATE and `flask audit verify` said OK. Entries loaded before their
    # loading was recorded are sealed when init-db runs again.
    from sqlalchemy import text, update

    from cli.database import init_database

    def verify():
        return app.test_cli_runner().invoke(args=["audit", "verify"])

    sao_paulo = entry("Sao Paulo")
    assert sao_paulo.last_event_hash is not None and verify().exit_code == 0
    db.session.execute(text("UPDATE partnerships SET status = 'active' WHERE id = :id"), {"id": sao_paulo.id})
    db.session.commit()
    result = verify()
    assert result.exit_code == 1 and "the entry is 'active' but its last event left it 'dormant'" in result.output
    # As a database made before: no loading recorded for Lima.
    from tests.factories import trail_unguarded

    lima = entry("Lima")
    with trail_unguarded(db.session.connection()):
        db.session.execute(text("DELETE FROM audit_events WHERE chain = :chain"), {"chain": f"partnership:{lima.id}"})
    db.session.execute(update(Partnership).where(Partnership.id == lima.id).values(last_event_hash=None))
    db.session.commit()
    init_database()
    db.session.expire_all()
    assert entry("Lima").last_event_hash is not None
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"partnership:{lima.id}"))
            ] == ["inventory_create"]
