#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: host_offload
short_description: Show, set, disable or restore the offload features of a host's interfaces
description:
  - Works on the managed node's own interfaces (dom0 or any Linux) with the offload engine,
    C(offloadctl show|set|disable|restore --json).
  - V(set) changes named features as C(ethtool -K) does; V(disabled) switches offloads off on many
    interfaces (the seed's loop), optionally saving a snapshot first; V(restored) puts a snapshot back.
  - A second run reports no change. Check mode is the engine's dry run. With C(--diff) each interface
    shows the features that move, before and after.
version_added: 0.1.0
author: offload contributors
extends_documentation_fragment:
  - offload.xen.xapi.offloadctl
options:
  state:
    description:
      - V(show) only reads (the result's C(features)).
      - V(set) applies O(settings) to O(interfaces).
      - V(disabled) switches features off (O(preset) or O(features); default the engine's V(seed) preset).
      - V(restored) puts back the features saved in O(snapshot).
    type: str
    default: show
    choices: [show, set, disabled, restored]
  interfaces:
    description:
      - Interfaces to work on. Required for V(set). For V(show) and V(disabled), empty means every
        interface but loopback (narrowed by O(targets), O(kinds), O(include), O(exclude) for V(disabled)).
    type: list
    elements: str
    default: []
  settings:
    description:
      - "For V(set), feature names (legacy like C(tx), C(sg), C(tso) or kernel names) and on or off,
        for example C({tx: off, gro: on})."
      - A legacy name covers several kernel features; when some of them are fixed on this interface
        the outcome is C(partial) and the task fails, as C(ethtool -K) reports C([requested on]).
    type: dict
  preset:
    description: For V(disabled), a preset of the engine (V(seed), V(tx-only)).
    type: str
  features:
    description: For V(disabled), the features to switch off instead of a preset.
    type: list
    elements: str
  targets:
    description: For V(disabled) without O(interfaces), which interfaces.
    type: str
    choices: [all, nics, vifs]
    default: all
  kinds:
    description: For V(disabled), only interfaces of these kinds (physical, bond, bridge, vlan, veth, xenvif, ...).
    type: list
    elements: str
    default: []
  include:
    description: For V(disabled), only interfaces whose name matches one of these globs.
    type: list
    elements: str
    default: []
  exclude:
    description: For V(disabled), skip interfaces whose name matches one of these globs.
    type: list
    elements: str
    default: []
  save:
    description:
      - For V(disabled), save the state first to this snapshot file on the managed node. An existing
        snapshot keeps the state it saved (the first run's), new interfaces are added.
    type: path
  snapshot:
    description: For V(restored), the snapshot file written by O(save) (or C(offloadctl disable --save)).
    type: path
  all_features:
    description: For V(restored), put back every saved feature, not only those the disable changed.
    type: bool
    default: false
  force_other_host:
    description: For V(restored), accept a snapshot taken on another machine.
    type: bool
    default: false
  netns:
    description: Work in this network namespace (a name under C(/run/netns), or a path).
    type: str
attributes:
  check_mode:
    support: full
    description: The engine's dry run (C(--dry-run)); nothing changes and no snapshot is written.
  diff_mode:
    support: full
    description: The features that move, per interface, before and after.
'''

EXAMPLES = r'''
- name: The seed's loop on every NIC, keeping the first state for an undo
  offload.xen.host_offload:
    state: disabled
    save: /root/offload-before.json

- name: TX checksum off on the guests' backends only
  offload.xen.host_offload:
    state: disabled
    targets: vifs
    preset: tx-only

- name: GRO back on for eth1
  offload.xen.host_offload:
    state: set
    interfaces: [eth1]
    settings:
      gro: on

- name: Undo
  offload.xen.host_offload:
    state: restored
    snapshot: /root/offload-before.json
'''

RETURN = r'''
interfaces:
  description:
    - For V(set), V(disabled) and V(restored), the engine's outcome per interface.
    - C(ifname); C(status), one of C(changed), C(unchanged), C(partial), C(refused), C(planned), C(skipped), C(failed);
      C(changed), the kernel features that moved (or would move, in check mode); C(refused); C(error).
  returned: unless O(state=show)
  type: list
  elements: dict
features:
  description: Per interface, each kernel feature's state (true when active), after the change.
  returned: when O(state=show)
  type: dict
  sample: {eth0: {tx-checksum-ip-generic: false}}
rc:
  description: The engine's exit code.
  returned: always
  type: int
reason:
  description: The failure as one word (V(no-such-interface), V(permission), V(usage), V(other-host), ...).
  returned: failure
  type: str
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.offload.xen.plugins.module_utils.offloadctl import (
    LOCAL_REASONS,
    OFFLOADCTL_SPEC,
    Offloadctl,
    repeated,
)

MOVED = ('changed', 'partial', 'planned')


def netns_args(netns):
    return ['--netns', netns] if netns else []


def read_states(module, engine, netns):
    """{ifname: {feature: active}} of every interface of the namespace."""
    rc, document, err = engine.run(['show', '--all', '--json'] + netns_args(netns))
    if rc != 0 or not isinstance(document, dict):
        engine.fail('offloadctl show', rc, err, LOCAL_REASONS, changed=False)
    return dict((i['ifname'], dict((f['name'], f['active']) for f in i['features']))
                for i in document['interfaces'])


def on_off(active):
    return 'on' if active else 'off'


def interface_diff(outcome, states):
    """The features that moved (or would), before and after: each is a
    switch, so the engine's list of names and the state read first say both."""
    now = states.get(outcome['ifname'], {})
    moved = [name for name in outcome['changed'] if name in now]
    before = dict((name, on_off(now[name])) for name in moved)
    after = dict((name, on_off(not now[name])) for name in moved)
    header = outcome['ifname']
    return dict(before=before, after=after, before_header=header, after_header=header)


def setting_words(settings):
    words = []
    for name in sorted(settings):
        value = settings[name]
        if isinstance(value, bool):
            value = 'on' if value else 'off'
        words += [name, str(value)]
    return words


def set_features(module, engine):
    p = module.params
    if not p['interfaces'] or not p['settings']:
        module.fail_json(msg='state=set needs interfaces and settings')
    outcomes = []
    for ifname in p['interfaces']:
        args = ['set', ifname] + setting_words(p['settings']) + netns_args(p['netns']) + ['--json']
        if module.check_mode:
            args.append('--dry-run')
        rc, document, err = engine.run(args)
        if rc != 0 or not isinstance(document, dict):
            engine.fail('offloadctl set', rc, err, LOCAL_REASONS, interfaces=outcomes,
                        changed=any(o['changed'] for o in outcomes))
        outcomes += document['interfaces']
    return 0, outcomes, ''


def disable(module, engine):
    p = module.params
    args = ['disable'] + list(p['interfaces']) + netns_args(p['netns']) + ['--json']
    if not p['interfaces']:
        args += ['--targets', p['targets']]
        if p['kinds']:
            args += ['--kinds', ','.join(p['kinds'])]
        args += repeated('--include', p['include']) + repeated('--exclude', p['exclude'])
    if p['preset']:
        args += ['--preset', p['preset']]
    if p['features']:
        args += ['--features', ','.join(p['features'])]
    if p['save']:
        # --force: a re-run adds new interfaces and keeps the first run's state.
        args += ['--save', p['save'], '--force']
    if module.check_mode:
        args.append('--dry-run')
    return engine.run(args)


def restore(module, engine):
    p = module.params
    if not p['snapshot']:
        module.fail_json(msg='state=restored needs snapshot')
    args = ['restore', p['snapshot'], '--json'] + netns_args(p['netns'])
    if p['all_features']:
        args.append('--all-features')
    if p['force_other_host']:
        args.append('--force-other-host')
    if module.check_mode:
        args.append('--dry-run')
    return engine.run(args)


def snapshot_netns(path):
    """The namespace a snapshot was taken in (restore works there)."""
    try:
        with open(path) as f:
            return json.load(f).get('netns')
    except (IOError, OSError, ValueError, AttributeError):
        return None  # the engine reports an unreadable snapshot


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='show', choices=['show', 'set', 'disabled', 'restored']),
            interfaces=dict(type='list', elements='str', default=[]),
            settings=dict(type='dict'),
            preset=dict(type='str'),
            features=dict(type='list', elements='str'),
            targets=dict(type='str', default='all', choices=['all', 'nics', 'vifs']),
            kinds=dict(type='list', elements='str', default=[]),
            include=dict(type='list', elements='str', default=[]),
            exclude=dict(type='list', elements='str', default=[]),
            save=dict(type='path'),
            snapshot=dict(type='path'),
            all_features=dict(type='bool', default=False),
            force_other_host=dict(type='bool', default=False),
            netns=dict(type='str'),
            **OFFLOADCTL_SPEC
        ),
        mutually_exclusive=[('preset', 'features')],
        required_if=[('state', 'set', ('interfaces', 'settings')), ('state', 'restored', ('snapshot',))],
        supports_check_mode=True,
    )
    p = module.params
    engine = Offloadctl(module)
    if p['state'] == 'show':
        states = read_states(module, engine, p['netns'])
        if p['interfaces']:
            missing = [i for i in p['interfaces'] if i not in states]
            if missing:
                module.fail_json(msg='no such interface: %s' % ', '.join(missing), reason='no-such-interface',
                                 rc=3, changed=False)
            states = dict((i, states[i]) for i in p['interfaces'])
        module.exit_json(changed=False, features=states, rc=0)

    netns = p['netns']
    if p['state'] == 'restored' and not netns:
        netns = snapshot_netns(p['snapshot'])
    states = read_states(module, engine, netns) if module._diff else {}
    if p['state'] == 'set':
        rc, outcomes, err = set_features(module, engine)
    else:
        run = disable if p['state'] == 'disabled' else restore
        rc, document, err = run(module, engine)
        if not isinstance(document, dict) or 'interfaces' not in document:
            engine.fail('offloadctl', rc, err, LOCAL_REASONS, changed=False)
        outcomes = document['interfaces']
    moved = [o for o in outcomes if o['status'] in MOVED and o['changed']]
    result = dict(changed=bool(moved), interfaces=outcomes, rc=rc)
    if module._diff:
        result['diff'] = [interface_diff(o, states) for o in moved]
    if rc != 0:
        failed = ['%s (%s)' % (o['ifname'], o.get('error') or o['status'])
                  for o in outcomes if o['status'] not in ('changed', 'unchanged', 'planned', 'skipped')]
        result['msg'] = 'not done on %s' % ', '.join(failed) if failed else err
        module.fail_json(reason=LOCAL_REASONS.get(rc, 'error'), stderr=err, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
