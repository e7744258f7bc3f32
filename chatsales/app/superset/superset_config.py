"""Superset's configuration, loaded by the Superset process through SUPERSET_CONFIG_PATH.

Stdlib and Superset only (it runs in .venv-superset). Every value comes from the env that
`chatsales.app.superset.server.superset_env` builds.
"""

import os

SECRET_KEY = os.environ["CHATSALES_SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["CHATSALES_SUPERSET_METADATA_URI"]
SUPERSET_WEBSERVER_PORT = int(os.environ.get("CHATSALES_SUPERSET_PORT", "8088"))

# The UI speaks the dashboards' language; the menu offers the other one (a user's pick stays
# in their session).
BABEL_DEFAULT_LOCALE = os.environ.get("CHATSALES_LANGUAGE", "ru")
LANGUAGES = {
    "ru": {"flag": "ru", "name": "Русский"},
    "en": {"flag": "us", "name": "English"},
}

RU_MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
             "сентябрь", "октябрь", "ноябрь", "декабрь"]  # fmt: skip
RU_SHORT_MONTHS = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт",
                   "ноя", "дек"]  # fmt: skip
RU_DAYS = ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница",
           "суббота"]  # fmt: skip
RU_TIME_FORMAT = {
    "dateTime": "%A, %e %B %Y г. %X",
    "date": "%d.%m.%Y",
    "time": "%H:%M:%S",
    "periods": ["AM", "PM"],
    "days": RU_DAYS,
    "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    "months": RU_MONTHS,
    "shortMonths": RU_SHORT_MONTHS,
}


def COMMON_BOOTSTRAP_OVERRIDES_FUNC(data):  # noqa: N802 (the name Superset looks for)
    """Month and day names on the charts' time axes (d3's, not Babel's) in the session's
    language."""
    return {"d3_time_format": RU_TIME_FORMAT} if data.get("locale") == "ru" else {}


# Served on 127.0.0.1 over plain http: no forced https, but forms keep their CSRF tokens.
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True

# Anonymous visitors get nothing: no public role.
PUBLIC_ROLE_LIKE = None

FEATURE_FLAGS = {
    # the Manager role's row-level security clause uses {{ current_username() }}, the
    # Conversion charts' where-clause {{ filter_values("channel") }} (the picked channel)
    "ENABLE_TEMPLATE_PROCESSING": True,
    "DASHBOARD_NATIVE_FILTERS": True,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    "EMBEDDED_SUPERSET": False,
}

# Nothing leaves the machine: no map tiles, no Slack, and the menu's analytics pixel
# (an <img> to an outside host that the frontend always renders) is refused by the browser.
MAPBOX_API_KEY = ""
SLACK_API_TOKEN = None
SCARF_ANALYTICS = False
IMG_POLICY = "img-src 'self' data: blob:"


def FLASK_APP_MUTATOR(app):  # the name Superset looks for
    @app.after_request
    def only_local_images(response):
        response.headers.setdefault("Content-Security-Policy", IMG_POLICY)
        return response
