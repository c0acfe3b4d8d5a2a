# -*- coding: utf-8 -*-
# Copyright (c) offload contributors
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options of every module that talks to a pool (offloadctl xapi).
    DOCUMENTATION = r'''
options:
  url:
    description:
      - Pool master URL (C(https://HOST), C(https://HOST:PORT), C(http://HOST:PORT) or C(unix:/PATH)).
      - Without O(url) and O(socket), C(offloadctl) uses dom0's local socket C(/var/lib/xcp/xapi).
    type: str
  socket:
    description: xapi's local unix socket (dom0), trusted without a password.
    type: path
  user:
    description: User name.
    type: str
    default: root
  password:
    description:
      - Password. It reaches C(offloadctl) through its environment, never its command line.
    type: str
  password_file:
    description: A file on the managed node whose first line is the password.
    type: path
  fingerprint:
    description: Trust exactly this certificate (SHA-256, hex with or without colons).
    type: str
  insecure:
    description: Do not check the pool master's certificate at all.
    type: bool
    default: false
  json_rpc:
    description: Speak JSON-RPC instead of XML-RPC.
    type: bool
    default: false
  timeout:
    description: Seconds before one XAPI call times out.
    type: int
    default: 60
'''

    # The path of the engine's command (every module).
    OFFLOADCTL = r'''
options:
  offloadctl:
    description:
      - Path of the C(offloadctl) command on the managed node; default the one on E(PATH).
    type: path
requirements:
  - C(offloadctl) (the offload RPM in dom0, or built from source) on the managed node
'''
