"""dagwire's benchmark suite: `make bench` (or `python -m bench [name ...] [--quick]`).

Every benchmark starts its own server as a separate process on a free loopback port with
a temporary data directory, and the bare grpc.aio echo server (bench/echo.py) the same
way when it compares against one; loads are bounded in count and time. The runner
prints one table (figure, value, baseline, ratio, target, PASS/FAIL) and writes
bench/results/latest.json after a full run (bench/results/partial.json otherwise).
"""
