"""offload.doctor* through the module: the same engine and JSON as
`offloadctl doctor`. Recorded evidence gives the same report as
`offloadctl doctor --evidence FILE --json`; a live run in a namespace that
does not exist cannot diagnose; the comparison of two reports. No root needed.
"""

import json
import subprocess

import pytest

import offload
from test_check import offloadctl

CORRUPT = {
    "schema": "offload.doctor.evidence/1",
    "kernel": "6.1.0",
    "seconds": 5.0,
    "namespaces": [
        {
            "captured": True,
            "counters": {"UdpInCsumErrors": 8},
            "devices": [
                {
                    "name": "eth0",
                    "kind": "physical",
                    "driver": "ixgbe",
                    "mtu": 1500,
                    "offloads_on": ["tx"],
                    "traffic": {
                        "received": {"packets": 20, "correct": 12, "incorrect": 8, "offload_pending": 0},
                        "sent": {"packets": 30, "correct": 0, "incorrect": 0, "offload_pending": 30},
                    },
                }
            ],
        }
    ],
}


def test_recorded_evidence_matches_offloadctl(tmp_path):
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(CORRUPT))
    report = offload.doctor_evidence(json.dumps(CORRUPT))
    cli = subprocess.run(
        [offloadctl(), "doctor", "--json", "--evidence", str(path)], capture_output=True, text=True
    )
    assert cli.returncode == 1
    assert json.loads(cli.stdout) == report
    assert report["verdict"] == "problem_found"
    first = report["findings"][0]
    assert (first["cause"], first["device"], first["fix"]) == ("corruption_on_path", "eth0", [])


def test_compare_and_bad_input():
    before = offload.doctor_evidence(json.dumps(CORRUPT))
    fixed = json.loads(json.dumps(CORRUPT))
    fixed["namespaces"][0]["counters"] = {"UdpInCsumErrors": 0}
    fixed["namespaces"][0]["devices"][0]["traffic"]["received"]["incorrect"] = 0
    after = offload.doctor_evidence(json.dumps(fixed))
    assert after["summary"] == "offload artefacts only, nothing to fix"
    c = offload.doctor_compare(json.dumps(before), json.dumps(after))
    assert (c["change"], c["exit_code"], c["resolved"]) == ("helped", 0, ["eth0: corruption_on_path"])
    with pytest.raises(offload.InvalidArgumentError):
        offload.doctor_evidence('{"schema": "other/1"}')
    with pytest.raises(offload.InvalidArgumentError):
        offload.doctor(["x"], seconds=-1.0)


def test_live_run_in_a_missing_namespace_cannot_diagnose():
    report = offload.doctor(["offload-no-such-netns"], seconds=0.1)
    assert report["verdict"] == "could_not_diagnose"
    assert "offload-no-such-netns" in report["summary"]
    assert json.loads(offload.doctor_json(["offload-no-such-netns"], 0.1))["verdict"] == "could_not_diagnose"
