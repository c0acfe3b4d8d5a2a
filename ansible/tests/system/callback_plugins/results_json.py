# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Test-only stdout callback: the play's results as one JSON document
(ansible-core ships no JSON callback; ansible.posix's is not on PyPI alone)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
name: results_json
type: stdout
short_description: Every task result and the recap as one JSON document
description: For the collection's playbook tests.
'''

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'results_json'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append({'name': task.get_name(), 'hosts': {}})

    def _record(self, result, **status):
        outcome = dict(result._result)
        outcome.update(status)
        self.tasks[-1]['hosts'][result._host.get_name()] = outcome

    def v2_runner_on_ok(self, result):
        self._record(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        recap = dict((h, stats.summarize(h)) for h in sorted(stats.processed))
        self._display.display(json.dumps({'tasks': self.tasks, 'stats': recap}, default=str))
