"""Another panel process for the invalidation tests: `python -m tests.acl.admission_peer`, with
the test's database, cache and DATA_DIR in its environment. It reads "<token> <node key>" lines
on stdin and answers each with a JSON line {"allow": bool, "queries": n}: its own admission
decision and how many database queries that decision made (0: answered from its cache)."""

import json
import sys


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.acl import admission

    admission._recorder.note = lambda *args: None  # no bookkeeping writes from this process
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        token, key = line.split()
        with CaptureQueriesContext(connection) as queries:
            allow = admission.decide(token, key, "203.0.113.7")
        print(json.dumps({"allow": allow, "queries": len(queries)}), flush=True)


if __name__ == "__main__":
    main()
