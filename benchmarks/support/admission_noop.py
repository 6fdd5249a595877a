"""The admission process (derpmgr.admission_wsgi) with the admission benchmark's baseline: a no-op
answered at the same place as admission. The chain is the admission fast path in front of a
handler that answers a constant JSON body where the admission process answers its 404, so a
request to any other path passes exactly what an admission request passes (the WSGI handler, the
fast path's prefix test) and nothing more.

    gunicorn benchmarks.support.admission_noop:application
"""

from django.http import HttpResponse

from derpmgr.admission_wsgi import AdmissionHandler  # sets Django up


def no_op(request):
    return HttpResponse(b'{"Allow":false}', content_type="application/json")


class AdmissionWithNoOp(AdmissionHandler):
    def load_middleware(self, is_async=False):
        from django.core.handlers.exception import convert_exception_to_response

        from apps.acl.admission_view import AdmissionFastPath

        super().load_middleware(is_async)
        self._middleware_chain = convert_exception_to_response(AdmissionFastPath(no_op))


application = AdmissionWithNoOp()
