#!/usr/bin/env python3
"""Run one of the vendored Paho client tests (paho/client_test.py, paho/client_test5.py) as
`python3 client_test5.py -h HOST -p PORT` does, its files unchanged, with three differences
those files cannot have:

- the `mqtt` package is entered without running mqtt/__init__.py, which imports the suite's
  own Python broker (mqtt/brokers, not vendored: the tests only use mqtt/clients and
  mqtt/formats);
- unittest.main() gets no command line: it would read the suite's own -h (host) as --help;
- each test's outcome is written as a JSON line to --results, with what the suite logged at
  ERROR meanwhile (its client threads log there what they could not decode) and what it printed
  (tracebacks of the exceptions it catches), and a test still running after --test-timeout
  seconds is interrupted (several wait in unbounded loops).

usage: run_paho.py --results FILE [--test-timeout SECONDS] [--only TEST]... client_test5.py --hostname 127.0.0.1 -p 1883
(the suite's scripts take -h as --help: they test `o in ("--help")`, a substring test)
"""

import argparse
import io
import json
import logging
import os
import runpy
import signal
import sys
import time
import types
import unittest

# no __pycache__ beside the vendored files
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "paho")


class TestTimeout(Exception):
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--test-timeout", type=float, default=60.0)
    ap.add_argument("--only", action="append", default=[], help="run this test only (repeatable)")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    opts = ap.parse_args()
    out = open(opts.results, "a", buffering=1)

    def emit(**event):
        out.write(json.dumps(event) + "\n")

    def on_alarm(signum, frame):
        raise TestTimeout("no result after %g s" % opts.test_timeout)

    signal.signal(signal.SIGALRM, on_alarm)

    class Collect(logging.Handler):
        lines = []

        def emit(self, record):
            self.lines.append(self.format(record))

    collect = Collect(logging.ERROR)
    logging.getLogger().addHandler(collect)

    class Tee:
        """What the suite prints goes on to the real stream and into this test's record."""

        def __init__(self, stream, copy):
            self.stream = stream
            self.copy = copy

        def write(self, text):
            self.copy.write(text)
            return self.stream.write(text)

        def flush(self):
            self.stream.flush()

    real_stdout, real_stderr = sys.stdout, sys.stderr

    class JsonResult(unittest.TextTestResult):
        def startTest(self, test):
            super().startTest(test)
            self._started = time.monotonic()
            collect.lines = []
            self._printed = io.StringIO()
            sys.stdout = Tee(real_stdout, self._printed)
            sys.stderr = Tee(real_stderr, self._printed)
            emit(event="start", test=name(test))
            signal.setitimer(signal.ITIMER_REAL, opts.test_timeout)

        def stopTest(self, test):
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = real_stdout, real_stderr
            super().stopTest(test)

        def _end(self, test, outcome, err=None):
            started = getattr(self, "_started", time.monotonic())
            detail = self._exc_info_to_string(err, test) if err else ""
            printed = self._printed.getvalue()[-4000:] if hasattr(self, "_printed") else ""
            emit(event="end", test=name(test), outcome=outcome, detail=detail, log=collect.lines,
                 printed=printed, seconds=round(time.monotonic() - started, 2))

        def addSuccess(self, test):
            super().addSuccess(test)
            self._end(test, "pass")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._end(test, "fail", err)

        def addError(self, test, err):
            super().addError(test, err)
            self._end(test, "fail", err)

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            emit(event="end", test=name(test), outcome="skip", detail=reason, log=[], printed="", seconds=0)

    original_main = unittest.main

    def patched_main(*args, **kwargs):
        kwargs["argv"] = [opts.script] + ["Test." + t for t in opts.only]
        kwargs["testRunner"] = unittest.TextTestRunner(verbosity=2, resultclass=JsonResult)
        return original_main(*args, **kwargs)

    unittest.main = patched_main
    pkg = types.ModuleType("mqtt")
    pkg.__path__ = [os.path.join(SUITE, "mqtt")]
    sys.modules["mqtt"] = pkg
    sys.path.insert(0, SUITE)
    script = os.path.join(SUITE, opts.script)
    sys.argv = [script] + opts.args
    runpy.run_path(script, run_name="__main__")


def name(test):
    # a failing setUpClass is reported as "setUpClass (__main__.Test)", not as a test
    return getattr(test, "_testMethodName", None) or str(test).split(" ")[0]


if __name__ == "__main__":
    main()
