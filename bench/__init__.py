"""Benchmarks for branchq; kept apart from the tests (``make bench``).

* ``python -m bench.issuance`` — issuance and call-next throughput and latency, SQLite and PostgreSQL.
* ``python -m bench.displays`` — call-to-display latency with thousands of connected displays.
* ``python -m bench.reports``  — report speed over a year of tickets.
* ``python -m bench.complaint_stats`` — complaint statistics over a year of cases (SQLite).
"""
