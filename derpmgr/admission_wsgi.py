"""The admission endpoint alone, as its own WSGI application (gunicorn derpmgr.admission_wsgi).

Relays ask POST /api/acl/admit/<token> on every client connection. Served by its own processes
(scripts/run.sh, docker-compose.yml: ADMISSION_BIND; relays are given ADMISSION_URL), slow pages
or a frozen database cannot take its workers: cached answers keep coming. Every other path is a
JSON 404. The main web server still answers the same route.
"""

import os

import django
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "derpmgr.settings")
django.setup(set_prefix=False)

from apps.acl.admission_view import AdmissionFastPath  # noqa: E402 - needs the apps loaded
from derpmgr.api import json_not_found  # noqa: E402


class AdmissionHandler(WSGIHandler):
    """Django's WSGI handler with one middleware, the admission fast path, in front of a 404."""

    def load_middleware(self, is_async=False):
        self._view_middleware, self._template_response_middleware = [], []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(AdmissionFastPath(json_not_found))


application = AdmissionHandler()
