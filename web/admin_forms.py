"""The forms of the administrators' user pages (web/admin.py)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput


class UserFilterForm(FlaskForm):
    """The user list's filters (administrators). Sent in the page's address (GET) and changing
    nothing, so without a CSRF token; the roles offered come from the roles table (set_choices)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Length(max=200)], default="",
                    description="Part of a username, name, email address or department.")
    role = SelectField("Role", default="")

    def set_choices(self, roles) -> "UserFilterForm":
        """Offer every role there is, by its title."""
        self.role.choices = [("", "Any role")] + [(r.name, r.title) for r in roles]
        return self


#: The choice of the department list that names a new department in the field below it.
NEW_DEPARTMENT = "new"

# The username field of the form adding a user, made before the fields they share with the form
# editing one, so that it comes first in the form's order (which the list of errors follows).
_username = StringField("Username", validators=[DataRequired("Give a username."), Length(max=80)],
                        description="What they sign in with: no spaces; capitals do not make it another name.",
                        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})


class UserDetailsForm(FlaskForm):
    """A person's name, email address, department and roles, as an administrator sets them.

    The department is one of the list, or a new one named in the field below it; the roles are
    checkboxes, one per role of the roles table. The choices are set with set_choices."""

    full_name = StringField("Full name", validators=[DataRequired("Give the person's full name."), Length(max=200)],
                            render_kw={"autocomplete": "off"})
    email = StringField("Email address", validators=[Optional(), Length(max=254)],
                        description="Where Accord's notices to them are sent; may be left empty.",
                        render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false"})
    department = SelectField("Department", default="", validators=[
        DataRequired("Choose a department, or “Another department” and name it below.")])
    new_department = StringField("New department's name", validators=[Length(max=120)],
                                 description="Only with “Another department” chosen above. A name already in the "
                                             "list, in other capitals, is that department.",
                                 render_kw={"autocomplete": "off"})
    roles = SelectMultipleField("Roles", validators=[DataRequired("Choose at least one role.")],
                                option_widget=CheckboxInput())
    # The head of the account's trail as the page showed it: a change made since by another
    # administrator refuses the save, which would put back what the page showed.
    seen = HiddenField()

    def set_choices(self, departments, roles):
        """Offer the departments there are (by id) and every role of the roles table (by title)."""
        self.department.choices = ([("", "Choose a department")] + [(str(d.id), d.name) for d in departments]
                                   + [(NEW_DEPARTMENT, "Another department (name it below)")])
        self.roles.choices = [(r.name, r.title) for r in roles]
        self._departments = {str(d.id): d.name for d in departments}
        return self

    def validate_new_department(self, field) -> None:
        typed = (field.data or "").strip()
        if self.department.data == NEW_DEPARTMENT and not typed:
            raise ValidationError("Name the new department, or choose one from the list above.")
        if self.department.data not in ("", NEW_DEPARTMENT) and typed:
            raise ValidationError("Leave this empty when you choose a department from the list, or choose "
                                  "“Another department” above.")

    def department_name(self) -> str:
        """Return the name of the department chosen or typed (validated)."""
        if self.department.data == NEW_DEPARTMENT:
            return self.new_department.data.strip()
        return self._departments[self.department.data]


class NewUserForm(UserDetailsForm):
    """An administrator adds a user, with an initial password that they hand over."""

    seen = None  # (a new account has no trail yet)
    username = _username
    password = PasswordField("Initial password", validators=[DataRequired("Give an initial password."),
                                                             Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})


class SetPasswordForm(FlaskForm):
    """An administrator sets a new password for someone (which ends their sessions and tokens)."""

    password = PasswordField("New password", validators=[DataRequired("Give the new password."), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"})


class AccountStatusForm(FlaskForm):
    """The button that deactivates or reactivates an account: its CSRF token alone."""
