"""Timing a piece of work and counting the SQL statements it sends, for the benchmarks."""

import time


def measured(work) -> tuple[float, int, object]:
    """(seconds, statements sent to the database, result) of work()."""
    from django.db import connection

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = work()
        elapsed = time.perf_counter() - started
    return elapsed, statements, result
