//! The connection options every `offloadctl xapi` command shares: where the
//! pool master is, who we are, how its certificate is trusted.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use offload_xapi::credentials::read_password_file;
use offload_xapi::{ConnectOptions, Endpoint, Error, Protocol, TrustSpec};

#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// Pool master URL: https://HOST, https://HOST:PORT, http://HOST:PORT or unix:/PATH.
    #[arg(long, global = true, env = "OFFLOAD_XAPI_URL", value_name = "URL")]
    url: Option<String>,
    /// xapi's local unix socket (dom0). Default when no --url: /var/lib/xcp/xapi.
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "url")]
    socket: Option<PathBuf>,
    /// User name.
    #[arg(long, global = true, env = "OFFLOAD_XAPI_USER", default_value = "root")]
    user: String,
    /// File whose first line is the password.
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Trust exactly this certificate (SHA-256, hex with or without colons).
    #[arg(long, global = true, value_name = "SHA256")]
    fingerprint: Option<String>,
    /// Do not check the host's certificate at all.
    // No clap conflict with --fingerprint: offload-xapi's TrustSpec refuses both.
    #[arg(long, global = true)]
    insecure: bool,
    /// Speak JSON-RPC (/jsonrpc) instead of XML-RPC.
    #[arg(long, global = true)]
    json_rpc: bool,
    /// Seconds before a call times out.
    #[arg(long, global = true, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
}

impl Connection {
    /// Everything needed to connect, checked before any network traffic.
    pub fn options(&self) -> Result<ConnectOptions, Error> {
        let c = self;
        let endpoint = match (&c.url, &c.socket) {
            (Some(url), _) => Endpoint::parse(url)?,
            (None, Some(path)) => Endpoint::Unix(path.clone()),
            (None, None) => {
                let dom0 = PathBuf::from(offload_xapi::transport::DOM0_SOCKET);
                if !dom0.exists() {
                    return Err(Error::InvalidArgument {
                        what: "connection".into(),
                        message: format!(
                            "give --url or --socket (no {} here: not a dom0)",
                            dom0.display()
                        ),
                    });
                }
                Endpoint::Unix(dom0)
            }
        };
        let password = match (&endpoint, &c.password_file) {
            (_, Some(path)) => {
                let file = read_password_file(path)?;
                if let Some(mode) = file.readable_by_others {
                    eprintln!(
                        "offloadctl xapi: warning: {} has mode {mode:03o}: group or others can read the password (chmod 600)",
                        path.display()
                    );
                }
                file.password
            }
            (_, None) if std::env::var_os("OFFLOAD_XAPI_PASSWORD").is_some() => {
                let password =
                    std::env::var("OFFLOAD_XAPI_PASSWORD").map_err(|_| Error::Credentials {
                        source: "OFFLOAD_XAPI_PASSWORD".into(),
                        message: "not valid UTF-8".into(),
                    })?;
                if password.is_empty() {
                    return Err(Error::Credentials {
                        source: "OFFLOAD_XAPI_PASSWORD".into(),
                        message: "empty: no password to log in with".into(),
                    });
                }
                password
            }
            // The local socket is pre-authenticated: any password works.
            (Endpoint::Unix(_), None) => String::new(),
            (Endpoint::Tcp { .. }, None) => {
                if !std::io::stdin().is_terminal() {
                    return Err(Error::Credentials {
                        source: "prompt".into(),
                        message:
                            "no terminal to ask on: use --password-file or OFFLOAD_XAPI_PASSWORD"
                                .into(),
                    });
                }
                rpassword::prompt_password(format!(
                    "Password for {}@{}: ",
                    c.user,
                    endpoint.display()
                ))
                .map_err(|e| Error::Credentials {
                    source: "prompt".into(),
                    message: e.to_string(),
                })?
            }
        };
        let mut options = ConnectOptions::new(endpoint, c.user.clone(), password);
        options.trust = TrustSpec {
            fingerprint: c.fingerprint.clone(),
            insecure: c.insecure,
        }
        .resolve()?;
        options.protocol = if c.json_rpc {
            Protocol::JsonRpc
        } else {
            Protocol::XmlRpc
        };
        options.timeout = Duration::from_secs(c.timeout.max(1));
        Ok(options)
    }
}
