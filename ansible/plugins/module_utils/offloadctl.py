# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Runs `offloadctl ... --json` for the modules of offload.xen.

The engine decides everything (policies, selections, plans, what changed);
this file only builds argument lists, runs the command and reads its JSON.
It runs on the managed node's Python, dom0's 2.7 and 3.6 included.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

# `offloadctl xapi --help`: one exit code per kind of failure.
XAPI_REASONS = {
    1: 'some-failed',
    2: 'all-failed',
    64: 'usage',
    67: 'no-match',
    70: 'auth',
    71: 'unreachable',
    72: 'tls',
    73: 'not-master',
    74: 'protocol',
    75: 'api',
    76: 'credentials',
    130: 'interrupted',
}

# `offloadctl show|set|disable|restore --help`.
LOCAL_REASONS = {
    1: 'some-failed',
    2: 'all-failed',
    3: 'no-such-interface',
    4: 'permission',
    5: 'no-such-namespace',
    6: 'os-error',
    64: 'usage',
    65: 'bad-snapshot',
    66: 'other-host',
    67: 'snapshot-exists',
    75: 'busy',
    130: 'interrupted',
}

# The connection options every XAPI module shares (doc fragment offload.xen.xapi).
XAPI_CONNECTION_SPEC = dict(
    url=dict(type='str'),
    socket=dict(type='path'),
    user=dict(type='str', default='root'),
    password=dict(type='str', no_log=True),
    password_file=dict(type='path', no_log=False),
    fingerprint=dict(type='str'),
    insecure=dict(type='bool', default=False),
    json_rpc=dict(type='bool', default=False),
    timeout=dict(type='int', default=60),
)

XAPI_CONNECTION_EXCLUSIVE = [
    ('url', 'socket'),
    ('password', 'password_file'),
    ('fingerprint', 'insecure'),
]

OFFLOADCTL_SPEC = dict(offloadctl=dict(type='path'))


def settings_text(settings):
    """`{tx: off, sg: false}` as `--set`'s `tx=off,sg=off`.

    YAML reads a bare `off` as false, so booleans become on/off; the engine
    checks names and values."""
    words = []
    for key in sorted(settings):
        value = settings[key]
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        words.append('%s=%s' % (key, value))
    return ','.join(words)


def repeated(flag, values):
    args = []
    for value in values or []:
        args.extend([flag, value])
    return args


class Offloadctl(object):
    """The engine's command on this node."""

    def __init__(self, module):
        self.module = module
        self.path = module.params.get('offloadctl') or module.get_bin_path('offloadctl', required=True)

    def run(self, args, environ=None):
        """(rc, parsed JSON on stdout or None, stderr)."""
        rc, out, err = self.module.run_command([self.path] + args, environ_update=environ or {})
        document = None
        if out.strip():
            try:
                document = json.loads(out)
            except ValueError:
                document = None
        return rc, document, err.strip()

    def xapi(self, args):
        """`offloadctl xapi CONNECTION ARGS --json`; the password travels in
        the environment, never in argv."""
        p = self.module.params
        command = ['xapi']
        environ = {}
        if p['url']:
            command += ['--url', p['url']]
        if p['socket']:
            command += ['--socket', p['socket']]
        command += ['--user', p['user'], '--timeout', str(p['timeout'])]
        if p['password_file']:
            command += ['--password-file', p['password_file']]
        if p['password']:
            environ['OFFLOAD_XAPI_PASSWORD'] = p['password']
        if p['fingerprint']:
            command += ['--fingerprint', p['fingerprint']]
        if p['insecure']:
            command.append('--insecure')
        if p['json_rpc']:
            command.append('--json-rpc')
        return self.run(command + args + ['--json'], environ)

    def fail(self, what, rc, err, reasons, **result):
        """Fails the task with the engine's message and a reason word for `when:`."""
        reason = reasons.get(rc, 'error')
        message = err.splitlines()[-1] if err else '%s exited %d' % (what, rc)
        self.module.fail_json(msg=message, rc=rc, reason=reason, stderr=err, **result)
