#!/usr/bin/python3
"""ExaBGP API process for the interop tests (test/interop/peers.ts).

ExaBGP writes what it receives (JSON encoder: updates, notifications, route refresh, state
changes) to our stdin: every line is appended to RECORD_FILE, flushed at once, for the test to read.
The test appends API commands to COMMAND_FILE; new complete lines are written to stdout, which
ExaBGP reads as commands. Ends when ExaBGP closes our stdin.

Usage: exabgp-api.py RECORD_FILE COMMAND_FILE
"""
import os
import sys
import threading
import time

record_file, command_file = sys.argv[1], sys.argv[2]


def record():
    with open(record_file, 'a', buffering=1) as out:
        for line in sys.stdin:
            out.write(line)
            out.flush()
    os._exit(0)


threading.Thread(target=record, daemon=True).start()

pos = 0
pending = ''
while True:
    try:
        with open(command_file) as f:
            f.seek(pos)
            data = f.read()
            pos = f.tell()
    except FileNotFoundError:
        data = ''
    if data:
        pending += data
        *lines, pending = pending.split('\n')
        for line in lines:
            if line.strip():
                sys.stdout.write(line + '\n')
        sys.stdout.flush()
    time.sleep(0.05)
