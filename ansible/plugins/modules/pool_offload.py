#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: pool_offload
short_description: Apply, verify or clear an offload policy on the PIFs or VIFs of one pool
description:
  - Writes, checks or removes the C(other-config:ethtool-*) keys of a pool's PIFs or VIFs
    through XAPI, with the offload engine (C(offloadctl xapi pif|vif apply|verify|clear --json)).
  - Only keys that differ are written, so a second run reports no change.
  - In check mode the engine plans (C(--dry-run)) and nothing is written.
  - With C(--diff) each changed object shows its keys before and after.
  - The task's result is the engine's per-object report.
version_added: 0.1.0
author: offload contributors
extends_documentation_fragment:
  - offload.xen.xapi
  - offload.xen.xapi.offloadctl
options:
  objects:
    description:
      - Which objects of the pool. C(pif) are host NICs, bonds, VLANs and tunnels; C(vif) the VIFs of VMs
        (not dom0, templates or snapshots).
    type: str
    required: true
    choices: [pif, vif]
  state:
    description:
      - V(present) writes the policy's keys where they differ.
      - V(absent) removes the policy's keys (every offload key with O(all_keys)).
      - V(verified) only reads; the task fails when some objects differ from the policy.
    type: str
    default: present
    choices: [present, absent, verified]
  preset:
    description: A named policy of the engine, for example V(seed) or V(tx-only).
    type: str
  settings:
    description:
      - "Explicit keys, for example C({tx: off, sg: off}): ethtool names or XAPI keys, each on, off, true or false."
      - YAML reads a bare C(off) as false and C(on) as true; both are passed on as off and on.
    type: dict
  all_keys:
    description: With O(state=absent), remove every ethtool offload key (link settings stay).
    type: bool
    default: false
  hosts:
    description: Only PIFs of these hosts (name, hostname or uuid; globs).
    type: list
    elements: str
    default: []
  devices:
    description: Only PIFs of these devices (globs, for example C(eth*)).
    type: list
    elements: str
    default: []
  kinds:
    description: Only PIFs of these kinds.
    type: list
    elements: str
    choices: [physical, bond, vlan, tunnel]
    default: []
  vms:
    description: Only VIFs of VMs whose name matches (globs).
    type: list
    elements: str
    default: []
  vm_uuids:
    description: Only VIFs of the VMs with these uuids.
    type: list
    elements: str
    default: []
  networks:
    description: Only PIFs or VIFs on these networks (name, bridge or uuid; globs).
    type: list
    elements: str
    default: []
  replug:
    description:
      - With O(state=present), re-apply at once, PIF.plug for PIFs, VIF unplug and plug for VIFs of running VMs.
    type: bool
    default: false
  reboot:
    description: With O(state=present) and O(objects=vif), clean-reboot running VMs whose VIFs changed.
    type: bool
    default: false
  reboot_limit:
    description: At most this many reboots at once.
    type: int
    default: 2
  workers:
    description: Parallel XAPI connections.
    type: int
    default: 8
attributes:
  check_mode:
    support: full
    description: The engine's dry run; nothing is written.
  diff_mode:
    support: full
    description: The keys before and after, per object.
'''

EXAMPLES = r'''
- name: The seed's six keys off on every PIF of the pool
  offload.xen.pool_offload:
    url: https://pool-master.example.com
    fingerprint: "{{ pool_fingerprint }}"
    password: "{{ vault_pool_password }}"
    objects: pif
    preset: seed
  delegate_to: localhost

- name: TX checksum off on the VIFs of the routers, applied now
  offload.xen.pool_offload:
    url: https://pool-master.example.com
    password_file: /root/.xapi-pass
    objects: vif
    settings:
      tx: off
    vms: ['pfsense*', 'opnsense*']
    replug: true

- name: Fail when a PIF of xen01 lost the policy
  offload.xen.pool_offload:
    objects: pif
    preset: seed
    hosts: [xen01]
    state: verified

- name: Remove the keys again
  offload.xen.pool_offload:
    objects: vif
    preset: seed
    state: absent
'''

RETURN = r'''
objects:
  description:
    - The engine's report, one entry per object (C(offloadctl xapi ... --json)).
    - For O(state=present) and O(state=absent) each has C(uuid), C(label), C(class), C(status)
      (C(changed), C(would-change), C(unchanged), C(no-effect), C(failed), C(not-attempted)),
      C(changes) (C(key), C(from), C(to)), C(written) and when relevant C(error), C(pending), C(effect).
    - For O(state=verified) each has C(ok) and C(keys) (C(key), C(wanted), C(found), C(ok), C(problem)).
  returned: always
  type: list
  elements: dict
summary:
  description: How many objects ended in each status (verify, C(match) and C(differ)).
  returned: always
  type: dict
  sample: {changed: 4, unchanged: 1, no-effect: 2}
policy:
  description: The name of the policy the engine resolved.
  returned: always
  type: str
  sample: seed
actions:
  description: Replugs and reboots done after writing (O(replug), O(reboot)).
  returned: when O(state=present)
  type: list
  elements: dict
not_undone:
  description: For O(state=absent), what removing keys does not undo on the host.
  returned: when O(state=absent)
  type: str
differing:
  description: Labels of objects whose keys differ from the policy (O(state=verified)).
  returned: when O(state=verified)
  type: list
  elements: str
rc:
  description: The engine's exit code (0 done, 1 some objects failed or differ, 70 wrong password, 71 unreachable...).
  returned: always
  type: int
reason:
  description: The failure as one word (V(auth), V(unreachable), V(tls), V(some-failed), ...).
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.offload.xen.plugins.module_utils.offloadctl import (
    OFFLOADCTL_SPEC,
    XAPI_CONNECTION_EXCLUSIVE,
    XAPI_CONNECTION_SPEC,
    XAPI_REASONS,
    Offloadctl,
    repeated,
    settings_text,
)

WRITTEN = ('changed', 'would-change')


def selection(p):
    """The selection flags `offloadctl xapi pif|vif` offers."""
    args = repeated('--network', p['networks'])
    if p['objects'] == 'pif':
        args += repeated('--host', p['hosts']) + repeated('--device', p['devices'])
        args += repeated('--kind', p['kinds'])
    else:
        args += repeated('--vm', p['vms']) + repeated('--vm-uuid', p['vm_uuids'])
    return args


def policy(p):
    if p['preset'] is not None:
        return ['--preset', p['preset']]
    if p['settings'] is not None:
        return ['--set', settings_text(p['settings'])]
    return []


def object_diff(o):
    """The keys an object had and has (or would have), as --diff shows them."""
    # An absent key is left out (clear removes keys, apply may add them).
    before = dict((c['key'], c['from']) for c in o['changes'] if c['from'] is not None)
    after = dict((c['key'], c['to']) for c in o['changes'] if c['to'] is not None)
    header = '%s %s (%s)' % (o.get('class', ''), o['label'], o['uuid'])
    return dict(before=before, after=after, before_header=header, after_header=header)


def counts(objects, key):
    summary = {}
    for o in objects:
        summary[o[key]] = summary.get(o[key], 0) + 1
    return summary


def write(module, engine):
    """apply or clear: one bulk write (or plan) by the engine."""
    p = module.params
    if p['state'] == 'present':
        args = [p['objects'], 'apply'] + policy(p) + selection(p)
        if p['replug'] and not module.check_mode:
            args.append('--replug')
        if p['reboot'] and not module.check_mode:
            args += ['--reboot', '--reboot-limit', str(p['reboot_limit'])]
    else:
        args = [p['objects'], 'clear'] + selection(p)
        args += ['--all-keys'] if p['all_keys'] else policy(p)
    args += ['--workers', str(p['workers'])]
    if module.check_mode:
        args.append('--dry-run')
    rc, document, err = engine.xapi(args)
    if not isinstance(document, dict) or 'report' not in document:
        engine.fail('offloadctl xapi', rc, err, XAPI_REASONS, changed=False)
    report = document['report']
    objects = report['objects']
    touched = [o for o in objects if o['status'] in WRITTEN or o.get('written')]
    result = dict(
        changed=bool(touched),
        objects=objects,
        summary=counts(objects, 'status'),
        policy=report['policy'],
        rc=rc,
    )
    if p['state'] == 'present':
        result['actions'] = document.get('actions', [])
    else:
        result['not_undone'] = report.get('clear_leaves')
    if module._diff:
        result['diff'] = [object_diff(o) for o in touched]
    if rc != 0:
        failed = [o['label'] for o in objects if o['status'] in ('failed', 'not-attempted')]
        failed += [a.get('label', '') for a in result.get('actions', []) if not a.get('ok', True)]
        result['msg'] = 'failed on %d object(s): %s' % (len(failed), ', '.join(failed))
        module.fail_json(reason=XAPI_REASONS.get(rc, 'error'), stderr=err, **result)
    module.exit_json(**result)


def verify(module, engine):
    p = module.params
    rc, document, err = engine.xapi([p['objects'], 'verify'] + policy(p) + selection(p))
    if not isinstance(document, dict) or 'objects' not in document:
        engine.fail('offloadctl xapi', rc, err, XAPI_REASONS, changed=False)
    objects = document['objects']
    # The engine's count: keys on objects where they have no effect do not differ.
    differing = [o['label'] for o in objects if not o['ok'] and not o.get('effect')]
    result = dict(
        changed=False,
        objects=objects,
        summary=dict(match=len(objects) - len(differing), differ=len(differing)),
        policy=document['policy']['name'],
        differing=differing,
        rc=rc,
    )
    if rc != 0:
        result['msg'] = '%d object(s) differ from policy %s: %s' % (
            len(differing), result['policy'], ', '.join(differing))
        module.fail_json(reason=XAPI_REASONS.get(rc, 'error'), stderr=err, **result)
    module.exit_json(**result)


def main():
    argument_spec = dict(
        objects=dict(type='str', required=True, choices=['pif', 'vif']),
        state=dict(type='str', default='present', choices=['present', 'absent', 'verified']),
        preset=dict(type='str'),
        settings=dict(type='dict'),
        all_keys=dict(type='bool', default=False),
        hosts=dict(type='list', elements='str', default=[]),
        devices=dict(type='list', elements='str', default=[]),
        kinds=dict(type='list', elements='str', default=[], choices=['physical', 'bond', 'vlan', 'tunnel']),
        vms=dict(type='list', elements='str', default=[]),
        vm_uuids=dict(type='list', elements='str', default=[]),
        networks=dict(type='list', elements='str', default=[]),
        replug=dict(type='bool', default=False),
        reboot=dict(type='bool', default=False),
        reboot_limit=dict(type='int', default=2),
        workers=dict(type='int', default=8),
    )
    argument_spec.update(XAPI_CONNECTION_SPEC)
    argument_spec.update(OFFLOADCTL_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=XAPI_CONNECTION_EXCLUSIVE + [('preset', 'settings'), ('all_keys', 'preset'),
                                                        ('all_keys', 'settings')],
        supports_check_mode=True,
    )
    p = module.params
    if p['objects'] == 'vif' and (p['hosts'] or p['devices'] or p['kinds']):
        module.fail_json(msg='hosts, devices and kinds select PIFs; VIFs are selected by vms, vm_uuids and networks')
    engine = Offloadctl(module)
    if module.params['state'] == 'verified':
        verify(module, engine)
    else:
        write(module, engine)


if __name__ == '__main__':
    main()
