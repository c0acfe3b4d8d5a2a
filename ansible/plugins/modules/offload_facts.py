#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
module: offload_facts
short_description: Offload feature states of local interfaces and a pool's XAPI keys as facts
description:
  - V(features) reads every interface's offload features (C(offloadctl show --all --json)).
  - V(xapi) reads the C(ethtool-*) keys of every PIF and VIF of a pool with the host's verdict on each
    (C(offloadctl xapi pif|vif list --json)).
version_added: 0.1.0
author: offload contributors
extends_documentation_fragment:
  - offload.xen.xapi
  - offload.xen.xapi.offloadctl
options:
  gather:
    description: What to read.
    type: list
    elements: str
    choices: [features, xapi]
    default: [features]
  netns:
    description: With V(features), read the interfaces of this network namespace.
    type: str
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Changes nothing.
  facts:
    support: full
    description: Sets C(offload_features) and C(offload_xapi).
'''

EXAMPLES = r'''
- name: Read the NICs' offload state
  offload.xen.offload_facts:

- name: Which interfaces still have TX checksumming on
  ansible.builtin.debug:
    msg: "{{ offload_features | dict2items | selectattr('value.tx-checksum-ip-generic', 'defined')
             | selectattr('value.tx-checksum-ip-generic') | map(attribute='key') | list }}"

- name: The pool's keys
  offload.xen.offload_facts:
    gather: [xapi]
    url: https://pool-master.example.com
    password: "{{ vault_pool_password }}"
  delegate_to: localhost
'''

RETURN = r'''
ansible_facts:
  description: The facts.
  returned: always
  type: complex
  contains:
    offload_features:
      description: Per interface, each kernel feature's state (true when active).
      returned: when V(features) is gathered
      type: dict
      sample: {eth0: {tx-checksum-ip-generic: false, tx-scatter-gather: true}}
    offload_features_fixed:
      description: Per interface, the features the driver never lets change.
      returned: when V(features) is gathered
      type: dict
      sample: {eth0: [tx-checksum-fcoe-crc]}
    offload_xapi:
      description:
        - C(pifs) and C(vifs), the engine's list (C(uuid), C(label), C(keys) with C(key), C(value) and
          C(verdict), and C(effect) where keys change nothing).
      returned: when V(xapi) is gathered
      type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.offload.xen.plugins.module_utils.offloadctl import (
    LOCAL_REASONS,
    OFFLOADCTL_SPEC,
    XAPI_CONNECTION_EXCLUSIVE,
    XAPI_CONNECTION_SPEC,
    XAPI_REASONS,
    Offloadctl,
)


def features(module, engine):
    args = ['show', '--all', '--json']
    if module.params['netns']:
        args += ['--netns', module.params['netns']]
    rc, document, err = engine.run(args)
    if rc != 0 or not isinstance(document, dict):
        engine.fail('offloadctl show', rc, err, LOCAL_REASONS)
    states, fixed = {}, {}
    for interface in document['interfaces']:
        name = interface['ifname']
        states[name] = dict((f['name'], f['active']) for f in interface['features'])
        fixed[name] = [f['name'] for f in interface['features'] if f['fixed']]
    return dict(offload_features=states, offload_features_fixed=fixed)


def xapi(engine):
    pool = {}
    for objects in ('pif', 'vif'):
        rc, document, err = engine.xapi([objects, 'list'])
        # Exit 1 only says some keys are ignored by the host: still a full list.
        if rc not in (0, 1) or not isinstance(document, dict):
            engine.fail('offloadctl xapi', rc, err, XAPI_REASONS)
        pool[objects + 's'] = document['objects']
    return dict(offload_xapi=pool)


def main():
    argument_spec = dict(
        gather=dict(type='list', elements='str', default=['features'], choices=['features', 'xapi']),
        netns=dict(type='str'),
    )
    argument_spec.update(XAPI_CONNECTION_SPEC)
    argument_spec.update(OFFLOADCTL_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=XAPI_CONNECTION_EXCLUSIVE,
        supports_check_mode=True,
    )
    engine = Offloadctl(module)
    facts = {}
    if 'features' in module.params['gather']:
        facts.update(features(module, engine))
    if 'xapi' in module.params['gather']:
        facts.update(xapi(engine))
    module.exit_json(changed=False, ansible_facts=facts)


if __name__ == '__main__':
    main()
