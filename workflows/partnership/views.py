"""Web pages: the inventory, a councillor's proposal form, the decisions of the bodies."""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from extensions import db
from models import Partnership
from models.partnership import STATUSES
from web import nav
from web.forms import (KEPT_BELOW, case_to_edit, flash_saved, form_page, kept_to_save_again, mark_fields_to_correct,
                       refusal_message)
from web.payloads import register_form
from workflows import engine
from workflows.errors import Forbidden, NotFound, StaleVersion, WorkflowError
from workflows.partnership import decisions, inventory
from workflows.partnership.forms import DecisionForm, InventoryForm, ProposalForm
from workflows.presenters import case_tables
from workflows.queries import load_visible

bp = Blueprint("partnership", __name__, url_prefix="/partnerships")


@bp.get("")
@login_required
def inventory_page():
    """List the partnership inventory, filtered by status and country."""
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    country = request.args.get("country", "").strip()[:120]
    rows = inventory.entries(db.session, status or None, country or None)
    # The filter shows the country it applies (an address may name it in other letters, or name
    # one the inventory lacks), not "Any country" above a list filtered to it.
    countries = inventory.countries(db.session)
    chosen = next((c for c in countries if inventory.same_place(c, country)), None) if country else ""
    if chosen is None:
        countries, chosen = sorted([*countries, country], key=inventory.place_key), country
    return render_template("partnership/list.html", rows=rows, status=status, country=country, chosen=chosen,
                           statuses=STATUSES, countries=countries)


@bp.get("/<int:pid>")
@login_required
def entry(pid: int):
    """Show one partnership with the proposals naming it and its own history."""
    p = _entry_or_404(pid)
    proposals = inventory.proposals_for(db.session, current_user, p)
    # The history names the proposal behind each change; it links only to those the person may see.
    return render_template("partnership/detail.html", p=p, events=inventory.events_for(db.session, p),
                           proposals=case_tables(current_user, proposals)[0], seen={c.id for c in proposals})


def _entry_or_404(pid: int) -> Partnership:
    try:
        return inventory.get_entry(db.session, pid)
    except NotFound:
        abort(404)


def _admin_only() -> None:
    if not current_user.has_role("admin"):
        raise Forbidden("Only administrators change the partnership inventory.")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_entry():
    """Add an entry to the inventory (administrators)."""
    _admin_only()
    form, status = InventoryForm(), None
    if form.validate_on_submit():
        try:
            p = inventory.create_entry(db.session, current_user, form.values())
        except WorkflowError as err:
            status = _refused(form, err)
        else:
            flash(f"{p.city} added to the inventory.", "success")
            return redirect(url_for("partnership.entry", pid=p.id))
    return form_page("partnership/entry_form.html", form, status, p=None)


@bp.route("/<int:pid>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(pid: int):
    """Edit an entry of the inventory (administrators)."""
    _admin_only()
    p = _entry_or_404(pid)
    form, status = InventoryForm(obj=p), None
    if request.method == "GET":
        form.seen.data = p.last_event_hash or ""
    if form.validate_on_submit():
        head = p.last_event_hash
        try:
            p = inventory.edit_entry(db.session, current_user, pid, form.values(), seen=form.seen.data or None)
        except StaleVersion as err:
            # Shown as it is now: the fields as sent would put back what the other change changed.
            p = _entry_or_404(pid)
            form = InventoryForm(formdata=None, obj=p, seen=p.last_event_hash or "")
            flash(err.message, "error")  # (its own words: an entry, not a request)
            status = err.status
        except WorkflowError as err:
            status = _refused(form, err)
        else:
            if p.last_event_hash == head:
                flash("Nothing was changed: the entry is as it was.", "info")
            else:
                flash("The entry has been changed.", "success")
            return redirect(url_for("partnership.entry", pid=pid))
    return form_page("partnership/entry_form.html", form, status, p=p)


def _proposal_form(**kwargs) -> ProposalForm:
    form = ProposalForm(**kwargs)
    form.set_inventory(inventory.entries(db.session, "dormant") + inventory.entries(db.session, "completed"),
                       inventory.entries(db.session, "prospective"))
    return form


def _with_partner(data: dict) -> dict:
    """Take the partner city and country from the inventory entry a proposal names."""
    p = db.session.get(Partnership, data["partnership_id"]) if data.get("partnership_id", 0) > 0 else None
    if p is not None and data.get("proposal_type") == "revival":
        data.update(partner_city=p.city, partner_country=p.country)
    elif p is not None:
        data.setdefault("partner_city", p.city)
        data.setdefault("partner_country", p.country)
    return data


@bp.route("/propose", methods=["GET", "POST"])
@login_required
def propose():
    """Let a councillor draft a proposal to revive a partnership or open a new one."""
    if not current_user.has_role("councillor"):
        raise Forbidden("Partnerships are proposed by Members of Council.")
    form, status = _proposal_form(), None
    if form.validate_on_submit():
        try:
            case = engine.create_case(db.session, current_user, "partnership", form.title.data, form.goals.data,
                                      _with_partner(form.proposal_data()))
        except WorkflowError as err:
            status = _refused(form, err)
        else:
            flash("Your proposal is saved as a draft; submit it from its page when it is ready.", "success")
            return redirect(url_for("web.case_page", case_id=case.id))
    return form_page("partnership/propose.html", form, status, case=None)


@bp.route("/proposals/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit_proposal(case_id: int):
    """Let the owner edit a proposal in draft or when a revision was requested."""
    case = case_to_edit(case_id, "partnership", "Only the Member of Council who made the proposal may edit it.")
    if case is None:
        return redirect(url_for("web.case_page", case_id=case_id))
    form, status = _proposal_form(data=None if request.method == "POST" else ProposalForm.values_of(case)), None
    if request.method == "GET":  # (a page asked for, not refused, even with fields marked)
        mark_fields_to_correct(case, form, lambda errors: _attach(form, errors))
        status = 200
    if form.validate_on_submit():
        data = _with_partner(form.proposal_data())
        for name in case.data:
            data.setdefault(name, None)  # emptied on the page: cleared (submit then says it is missing)
        before = case.version
        try:
            case = engine.update_case(db.session, current_user, case.id, form.version.data, title=form.title.data,
                                      goals=form.goals.data, data=data)
        except WorkflowError as err:
            status = _refused(form, err)
            case = load_visible(db.session, current_user, case.id)
            kept_to_save_again(form, err, case.version)
        else:
            flash_saved(case, before, "Your changes are saved.")
            return redirect(url_for("web.case_page", case_id=case.id))
    return form_page("partnership/propose.html", form, status, case=case)


@bp.get("/decisions")
@login_required
def decisions_page():
    """Search the decisions of the Committee and Council by meeting reference or motion."""
    q = request.args.get("q", "").strip()[:200]
    return render_template("partnership/decisions.html", q=q,
                           items=decisions.named(db.session, decisions.search(db.session, current_user, q)))


def _refused(form, err: WorkflowError) -> int:
    """Show the engine's refusal on the form and return its status: the form's own errors alone do
    not say it was refused (the focus areas' errors are not the form's, nor is a conflict)."""
    _attach(form, err.errors or {})
    flash(refusal_message(err, KEPT_BELOW), "error")
    return err.status


def _attach(form, errors: dict) -> None:
    """Show the engine's field errors beside the form's fields (the focus areas as one list)."""
    flat = {**errors, **(errors.get("data") or {})}
    for name, messages in flat.items():
        if isinstance(messages, dict):  # a list field's errors, by position
            messages = [m for msgs in messages.values() for m in (msgs if isinstance(msgs, list) else [msgs])]
        if name == "focus_areas":
            form.list_errors = {"focus_areas": list(messages)}
        elif name != "data" and hasattr(form, name):
            field = getattr(form, name)
            field.errors = list(field.errors) + list(messages)


def _case_decisions(case) -> list[dict]:
    return decisions.named(db.session, decisions.decisions_for(db.session, current_user, case))


def init_app(app: Flask) -> None:
    """Register the pages, the decision forms and the links."""
    app.register_blueprint(bp)
    app.add_template_global(_case_decisions, "partnership_decisions")
    app.add_template_global(inventory.change_lines, "inventory_changes")
    app.add_template_global(lambda pid: inventory.entry_label(db.session, pid), "inventory_label")
    for trigger in ("approve", "decline", "defer"):
        register_form("partnership", trigger, DecisionForm)
    nav.add_link("Partnerships", "partnership.inventory_page")
    nav.add_new_link("Propose a partnership", "partnership.propose", ("councillor",))
    nav.add_case_section("partnership/decisions_section.html", ("partnership",))
    nav.set_edit_endpoint("partnership", "partnership.edit_proposal")
