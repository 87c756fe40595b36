"""Flask extensions, created unbound and attached in create_app()."""
from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from accounts.devices import device_key, known_device, submitted_name, unknown_device

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _submitted_username() -> str:
    """The username a sign-in names, as the key of its limit (casefolded: guesses cannot go round
    the limit by changing capitals)."""
    return "username:" + submitted_name()


def sign_in_failed(response) -> bool:
    """Whether a sign-in's answer counts against its address's limit (ACCORD_LOGIN_RATE_LIMIT):
    only a refusal does. An office reaches the City's servers from one address, so counting those
    who signed in held the eleventh colleague back at nine o'clock; a guesser is still held back."""
    return response.status_code >= 400


#: Every sign-in from an address, refused or not (ACCORD_LOGIN_BURST_LIMIT, 60 a minute by default),
#: counted as each one arrives: the refusals alone are counted once answered, so many guesses sent
#: at once would all be let in before the first was counted. An office signing in at nine o'clock
#: stays far below it.
sign_in_attempts_per_address = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_BURST_LIMIT"], "sign-in-burst", methods=["POST"],
    error_message=lambda: TOO_MANY_SIGN_INS)

#: What a person is told when their address has tried to sign in too often (ACCORD_LOGIN_RATE_LIMIT).
TOO_MANY_SIGN_INS = "Too many sign-in attempts from your address; wait a minute and try again."

#: Failed sign-ins per username, from any address, on the sign-in page and the token endpoint
#: together (ACCORD_LOGIN_USER_RATE_LIMIT): the per-address limit alone let many machines guess one
#: person's password. Only refusals (401) count, so a person who signs in is never held back by it.
#: Someone guessing holds the username back, but only on browsers and scripts that have not signed
#: in as it before: one that has sends its device cookie, and is held to its own count instead
#: (accounts.devices), which no one else's guesses reach.
sign_in_attempts_per_username = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_USER_RATE_LIMIT"], "sign-in-per-username",
    key_func=_submitted_username, methods=["POST"], deduct_when=lambda response: response.status_code == 401,
    exempt_when=known_device,
    error_message="Too many failed sign-ins for this username; wait, and try again later.")

#: The same count for a sign-in from a device that has signed in as its username before.
sign_in_failures_per_device = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_USER_RATE_LIMIT"], "sign-in-per-device",
    key_func=device_key, methods=["POST"], deduct_when=lambda response: response.status_code == 401,
    exempt_when=unknown_device,
    error_message="Too many failed sign-ins for this username; wait, and try again later.")

#: Every sign-in naming a username, refused or not, from any address (ACCORD_LOGIN_USER_BURST_LIMIT,
#: 10 a minute by default), counted as each one arrives: the failures above are counted once
#: answered, so guesses sent at once from many machines were all checked before the first counted
#: (8 at once passed a limit of 3). A person signing in, or a script fetching its token, stays far below it.
#: A device that signed in as the username before is counted apart (sign_in_attempts_per_device_burst).
sign_in_attempts_per_username_burst = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_USER_BURST_LIMIT"], "sign-in-per-username-burst",
    key_func=_submitted_username, methods=["POST"], exempt_when=known_device,
    error_message="Too many sign-ins for this username at once; wait a minute, and try again.")

#: The same count for a sign-in from a device that has signed in as its username before.
sign_in_attempts_per_device_burst = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_USER_BURST_LIMIT"], "sign-in-per-device-burst",
    key_func=device_key, methods=["POST"], exempt_when=unknown_device,
    error_message="Too many sign-ins for this username at once; wait a minute, and try again.")

#: Failed sign-ins per address (ACCORD_LOGIN_RATE_LIMIT), on the sign-in page and the token endpoint
#: together: counted apart, an address had the limit twice over.
sign_in_failures_per_address = limiter.shared_limit(
    lambda: current_app.config["ACCORD_LOGIN_RATE_LIMIT"], "sign-in-failures", methods=["POST"],
    deduct_when=sign_in_failed, error_message=lambda: TOO_MANY_SIGN_INS)
