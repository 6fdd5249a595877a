"""The project's URLs plus two views with a bug, for the 500 page's tests (test_error_pages.py)."""

from django.urls import include, path

import derpmgr.urls

SECRET_CAUSE = "the-bug-s-own-words-7f3a"  # must never reach the page


def cut_the_database():
    """Replaced by a test to make every later database access fail."""


def crash(request):
    raise RuntimeError(SECRET_CAUSE)


def crash_after_loading_the_user(request):
    assert request.user.email  # the request knows who is signed in before the failure
    cut_the_database()
    raise RuntimeError(SECRET_CAUSE)


urlpatterns = [
    path("crash/", crash),
    path("crash-after-loading-the-user/", crash_after_loading_the_user),
    path("", include(derpmgr.urls.urlpatterns)),
]
handler403, handler404 = derpmgr.urls.handler403, derpmgr.urls.handler404
handler500 = derpmgr.urls.handler500
