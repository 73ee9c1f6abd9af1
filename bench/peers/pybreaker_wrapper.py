#!/usr/bin/env python3
"""The pybreaker way of guarding a command, for breaker-run's benchmarks.

    pybreaker_wrapper.py STATE_FILE COMMAND [ARG...]

What an operator without breaker-run would write: a Python wrapper around
pybreaker (the library whose terms breaker-run follows) that keeps the
breaker's state in a JSON file, so that separate invocations share it. It
takes an exclusive flock on STATE_FILE.lock, loads the state, lets pybreaker
decide, runs COMMAND with subprocess (the lock released meanwhile, as
breaker-run does), then saves the state under the lock again with a
temporary file, fsync and rename. Exit status: the command's own, or 75
(EX_TEMPFAIL) when the breaker is open, as breaker-run's default.

Not part of breaker-run: a peer to measure against.
"""
import datetime
import fcntl
import json
import os
import subprocess
import sys

import pybreaker

FAIL_MAX = 5
RESET_TIMEOUT = 60  # seconds


class CommandFailed(Exception):
    """The command exited with a status other than 0."""


def load(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return {}


def storage_from(data):
    storage = pybreaker.CircuitMemoryStorage(data.get("state", pybreaker.STATE_CLOSED))
    storage._fail_counter = data.get("fail_counter", 0)
    storage._success_counter = data.get("success_counter", 0)
    opened = data.get("opened_at")
    storage._opened_at = datetime.datetime.fromisoformat(opened) if opened else None
    return storage


def save(path, storage):
    data = {
        "state": storage.state,
        "fail_counter": storage.counter,
        "success_counter": storage.success_counter,
        "opened_at": storage.opened_at.isoformat() if storage.opened_at else None,
    }
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, path)


def locked(path):
    handle = open(path + ".lock", "a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def main():
    path, command = sys.argv[1], sys.argv[2:]
    with locked(path):
        storage = storage_from(load(path))
    breaker = pybreaker.CircuitBreaker(fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT, state_storage=storage)
    status = 0

    def call():
        nonlocal status
        status = subprocess.run(command).returncode
        if status != 0:
            raise CommandFailed(status)

    try:
        breaker.call(call)
    except pybreaker.CircuitBreakerError:
        if status == 0:
            status = 75
    except CommandFailed:
        pass
    with locked(path):
        save(path, storage)
    return status


if __name__ == "__main__":
    sys.exit(main())
