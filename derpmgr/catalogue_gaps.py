# ruff: noqa: E501 - upstream msgids are quoted whole, as they are
"""Messages that Django and the third-party apps show people but their own catalogues leave in
English under zh-hans (a string changed upstream after its translation, or an app with no Chinese
catalogue at all). Listed here, never called, so that `makemessages` carries them into the
project's catalogue, which Django consults before the apps' own.

Regenerate the list after upgrading one of them: the msgids must match the upstream source exactly.
"""

from django.utils.translation import gettext_noop, ngettext


def _listed_for_makemessages():  # pragma: no cover - never called
    # Django
    gettext_noop("IPv4")
    gettext_noop("IPv6")
    gettext_noop("URL")
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice.")
    gettext_noop("%s KB")
    gettext_noop("%s MB")
    gettext_noop("%s GB")
    gettext_noop("%s TB")
    gettext_noop("%s PB")
    gettext_noop("p.m.")
    gettext_noop("a.m.")
    gettext_noop("PM")
    gettext_noop("AM")
    # Django's contrib apps (admin, auth)
    gettext_noop("%(class_name)s %(instance)s")
    gettext_noop("Model name")
    gettext_noop("Add link")
    gettext_noop("Change or view list link")
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options.")
    gettext_noop("Error:")
    gettext_noop("Forgotten your login credentials?")
    gettext_noop("In case you’ve forgotten, you are:")
    ngettext("This password is too short. It must contain at least %d character.",
             "This password is too short. It must contain at least %d characters.", 2)
    # Django REST framework
    gettext_noop("A valid biginteger is required.")
    gettext_noop("Integer value too large to convert to float")
    # django-celery-beat
    gettext_noop("Schedule")
    gettext_noop("Arguments")
    gettext_noop("Execution Options")
    gettext_noop("task \"{not_found_task_name}\" not found")
    gettext_noop("Cron Months (1-12) Of The Year to Run. Use \"*\" for \"all\". (Example: \"1,12\")")
    gettext_noop("Cron Days Of The Week to Run. Use \"*\" for \"all\", Sunday is 0 or 7, Monday is 1. (Example: \"0,5\")")
    # django-otp (ships no Chinese catalogue)
    gettext_noop("Please enter your OTP token.")
    gettext_noop("Error generating challenge: {0}")
    gettext_noop("The selected OTP device is not interactive")
    gettext_noop("OTP Challenge: {0}")
    gettext_noop("Invalid token. Please make sure you have entered it correctly.")
    ngettext("Verification temporarily disabled because of %(failure_count)d failed attempt, please try again soon.",
             "Verification temporarily disabled because of %(failure_count)d failed attempts, please try again soon.", 2)
    gettext_noop("Verification of the token is currently disabled")
    gettext_noop("Please select a device.")
    gettext_noop("Token generation cooldown period has not expired yet. Next generation allowed %s.")
    gettext_noop("Token generation is not allowed at this time")
    gettext_noop("sent by email")
    gettext_noop("Please correct the errors below.")
    gettext_noop("OTP Device:")
    gettext_noop("OTP Token:")
    gettext_noop("Get OTP Challenge")
