"""Forms shared by every page (Flask-WTF gives each its CSRF token)."""
from __future__ import annotations

from flask import flash, render_template, session
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class TransitionForm(FlaskForm):
    """The form behind each action button: the version the person saw, and a comment."""

    version = IntegerField(widget=HiddenField.widget)
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])


class CommentForm(FlaskForm):
    """The case page's comment box: a note for the record, which moves nothing."""

    comment = TextAreaField("Your comment", validators=[DataRequired("Write a comment."), Length(max=5000)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired(), Length(max=1024)],
                        render_kw={"autocomplete": "new-password"})


#: What a refused form says at the top of its page, above the errors marked beside its fields.
CORRECT_THE_FIELDS = "Please correct the fields marked below."


def form_page(template: str, form: FlaskForm, status: int | None = None, **context):
    """Render a page with a form: 200, or 422 when it was refused (by default, when it has errors).

    A refused form says so at the top of the page, unless a message was already given: the errors
    beside the fields are not enough for a person who cannot see which fields are marked.
    """
    status = status if status is not None else (422 if form.errors else 200)
    if status == 422 and "_flashes" not in session:
        flash(CORRECT_THE_FIELDS, "error")
    return render_template(template, form=form, **context), status
