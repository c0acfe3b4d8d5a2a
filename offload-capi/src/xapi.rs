//! XAPI policies for PIFs and VIFs: apply and verify over offload-xapi's
//! pool-wide operations, with a JSON request and a JSON report.

use std::ffi::{c_char, c_int};

use offload_xapi::client::{Client, ConnectOptions, Protocol};
use offload_xapi::ops::{self, RunOptions, Selection};
use offload_xapi::policy::{PifFilter, Policy, VifFilter};
use offload_xapi::{Endpoint, PolicySpec, Trust, TrustSpec};
use serde::Deserialize;

use crate::error::{of_xapi, offload_result, Failure};
use crate::ffi::{self, Out};
use crate::panic;

/// What a C caller asks for, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// "pif" or "vif".
    class: String,
    /// A preset name (`seed`, `tx-only`) ...
    #[serde(default)]
    preset: Option<String>,
    /// ... or settings (`tx=off,sg=off`).
    #[serde(default)]
    set: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    networks: Vec<String>,
    #[serde(default)]
    vm_names: Vec<String>,
    #[serde(default)]
    vm_uuids: Vec<String>,
    /// JSON-RPC instead of XML-RPC.
    #[serde(default)]
    json_rpc: bool,
    /// Skip TLS certificate checks (lab hosts with self-signed certificates).
    #[serde(default)]
    insecure: bool,
    /// Trust exactly this certificate: SHA-256, hex with or without colons.
    #[serde(default)]
    fingerprint: Option<String>,
}

impl Request {
    fn parse(text: &str) -> Result<Request, Failure> {
        serde_json::from_str(text).map_err(|_| offload_result::InvalidArgument.into())
    }

    fn policy(&self) -> Result<Policy, Failure> {
        PolicySpec {
            preset: self.preset.clone(),
            settings: self.set.clone(),
        }
        .resolve()
        .map_err(|e| of_xapi(&e))
    }

    fn trust(&self) -> Result<Trust, Failure> {
        TrustSpec {
            fingerprint: self.fingerprint.clone(),
            insecure: self.insecure,
        }
        .resolve()
        // A fingerprint that is not one is a bad argument, not a policy problem.
        .map_err(|e| match e {
            offload_xapi::Error::InvalidArgument { .. } => offload_result::InvalidArgument.into(),
            other => of_xapi(&other),
        })
    }

    fn selection(&self) -> Result<Selection, Failure> {
        match self.class.as_str() {
            "pif" => Ok(Selection::Pifs(PifFilter {
                hosts: self.hosts.clone(),
                devices: self.devices.clone(),
                networks: self.networks.clone(),
                kinds: Vec::new(),
            })),
            "vif" => Ok(Selection::Vifs(VifFilter {
                vm_names: self.vm_names.clone(),
                vm_uuids: self.vm_uuids.clone(),
                networks: self.networks.clone(),
                include_templates: false,
            })),
            _ => Err(offload_result::InvalidArgument.into()),
        }
    }
}

/// Everything checked locally, then connected: (client, policy, selection, request).
fn prepare(
    url: *const c_char,
    user: *const c_char,
    password: *const c_char,
    request: *const c_char,
) -> Result<(Client, Policy, Selection, Request), Failure> {
    let url = ffi::str_arg(url)?;
    let user = ffi::str_arg(user)?;
    let password = ffi::str_arg(password)?;
    let request = Request::parse(ffi::str_arg(request)?)?;
    let policy = request.policy()?;
    let selection = request.selection()?;
    policy
        .check_for(selection.object())
        .map_err(|e| of_xapi(&e))?;
    // A URL that cannot be one is a bad argument, not a policy problem.
    let endpoint =
        Endpoint::parse(url).map_err(|_| Failure::from(offload_result::InvalidArgument))?;
    let mut options = ConnectOptions::new(endpoint, user, password);
    options.trust = request.trust()?;
    if request.json_rpc {
        options.protocol = Protocol::JsonRpc;
    }
    let client = Client::connect(options).map_err(|e| of_xapi(&e))?;
    Ok((client, policy, selection, request))
}

/// Runs `op` with a logged-in client and writes its JSON report; logs out on every path.
fn with_client(
    args: [*const c_char; 4],
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    op: impl FnOnce(&Client, &Policy, &Selection, &Request) -> offload_xapi::Result<String>,
) -> Result<(), Failure> {
    Out::new(len_out)?;
    let (client, policy, selection, request) = prepare(args[0], args[1], args[2], args[3])?;
    let result = op(&client, &policy, &selection, &request);
    let _ = client.logout();
    let text = result.map_err(|e| of_xapi(&e))?;
    ffi::write_text(&text, buf, len, len_out)?;
    Ok(())
}

/// Applies an offload policy to the PIFs or VIFs of a pool, like `offloadctl
/// xapi pif|vif apply`: writes only the `other-config:ethtool-*` keys that
/// differ. `url`: `https://host`, `http://host:port` or `unix:/path`;
/// `request`: JSON `{"class": "pif"|"vif", "preset": "seed"|"tx-only"}` or
/// `{"class": ..., "set": "tx=off,sg=off"}`, optional `"dry_run": true`,
/// filters `"hosts"`, `"devices"`, `"networks"` (PIFs), `"vm_names"`,
/// `"vm_uuids"`, `"networks"` (VIFs) as lists of globs, `"json_rpc"`,
/// `"fingerprint"` (pin the host's SHA-256 certificate fingerprint) or
/// `"insecure"`. On `OFFLOAD_RESULT_OK`, `buf` holds the per-object report
/// (JSON: `class`, `policy`, `dry_run`, `objects` with each `status`). The
/// pool is changed once per call: on `INSUFFICIENT_SIZE` the writes were made
/// (re-run with `"dry_run": true` or `offload_xapi_verify_json` to read the
/// state). Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_ARGUMENT` (bad
/// JSON or class, bad URL, neither or both of `preset` and `set`, both
/// `fingerprint` and `insecure`), `XAPI_INVALID_POLICY` (also: a filter that
/// matches nothing), `XAPI_TRANSPORT` (errno in
/// `*errno_out`), `XAPI_API`, `XAPI_DECODE`.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the C shape: 4 inputs, a buffer, errno
pub extern "C" fn offload_xapi_apply_json(
    url: *const c_char,
    user: *const c_char,
    password: *const c_char,
    request: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = with_client(
            [url, user, password, request],
            buf,
            len,
            len_out,
            |client, policy, selection, request| {
                let options = RunOptions {
                    dry_run: request.dry_run,
                    ..RunOptions::default()
                };
                let report = ops::apply(client, policy, selection, &options)?;
                Ok(serde_json::to_string(&report).unwrap_or_default())
            },
        );
        ffi::finish(run, errno_out)
    })
}

/// Checks the PIFs or VIFs of a pool against a policy as the host will read
/// their keys, like `offloadctl xapi pif|vif verify`. Arguments as
/// `offload_xapi_apply_json` (`dry_run` is ignored). On `OFFLOAD_RESULT_OK`,
/// `buf` holds a JSON list of objects, each with `ok` and its `keys`.
/// Errors as `offload_xapi_apply_json`.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the C shape: 4 inputs, a buffer, errno
pub extern "C" fn offload_xapi_verify_json(
    url: *const c_char,
    user: *const c_char,
    password: *const c_char,
    request: *const c_char,
    buf: *mut c_char,
    len: usize,
    len_out: *mut usize,
    errno_out: *mut c_int,
) -> offload_result {
    panic::guard(|| {
        let run = with_client(
            [url, user, password, request],
            buf,
            len,
            len_out,
            |client, policy, selection, _| {
                let objects = ops::verify(client, policy, selection)?;
                Ok(serde_json::to_string(&objects).unwrap_or_default())
            },
        );
        ffi::finish(run, errno_out)
    })
}
