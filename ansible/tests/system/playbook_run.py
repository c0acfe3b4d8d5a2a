# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""One ansible-playbook run of the collection's tests, read through the
test-only callback `results_json`."""

from __future__ import (absolute_import, division, print_function)

import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


class Run(object):
    """One ansible-playbook run, read from the json callback."""

    def __init__(self, tmp_path, playbook, inventory, *args, **extra_vars):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_STDOUT_CALLBACK": "results_json",
            "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        })
        extra_vars.setdefault("offloadctl", os.environ["OFFLOADCTL"])
        started = time.monotonic()
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
             "-i", str(inventory), str(playbook), "-e", json.dumps(extra_vars)] + list(args),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.seconds = time.monotonic() - started
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.doc = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("no JSON from ansible-playbook (rc %d): %s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
        self.stats = self.doc["stats"]
        print("ansible-playbook %s: rc %d in %.1f s, stats %s" % (
            " ".join(args), self.rc, self.seconds, json.dumps(self.stats, sort_keys=True)))

    def results(self, task_name):
        """{host: result} of every task with this name (the last one wins)."""
        found = {}
        for task in self.doc["tasks"]:
            if task["name"] == task_name:
                found.update(task["hosts"])
        return found
