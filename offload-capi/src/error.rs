//! Result codes: one stable number per failure, grouped by origin (10xx the C
//! glue, 11xx packet decoding, 12xx interfaces and files, 13xx XAPI). Numbers are
//! never changed or reused; the OS errno travels separately (`int *errno_out`).

use offload_core::verdict::DecodeError;

/// What a liboffload call did. Returned as `uint32_t`; compare with the
/// `OFFLOAD_RESULT_*` constants. Numbers are stable and never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum offload_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1001,
    /// A Rust panic was caught at the boundary (a bug in liboffload).
    Panic = 1002,
    /// The output buffer is too small; `*len_out` holds the length needed
    /// (without the NUL).
    InsufficientSize = 1003,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 1004,
    /// An argument is out of range or malformed.
    InvalidArgument = 1005,
    /// The object was already consumed.
    AlreadyUsed = 1006,
    /// A handle that is not live (freed, or not a liboffload handle); only
    /// detected in debug builds, undefined behaviour otherwise.
    InvalidHandle = 1007,
    /// The link type is not one liboffload decodes.
    UnsupportedLinkType = 1101,
    /// The frame carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    NotIp = 1102,
    /// The frame ends inside the link-layer header or a VLAN tag.
    TruncatedLinkHeader = 1103,
    /// The frame ends inside the fixed IP header.
    TruncatedIpHeader = 1104,
    /// The IP version nibble contradicts the link layer.
    BadIpVersion = 1105,
    /// An IPv4 header length below 5 words.
    BadHeaderLen = 1106,
    /// The frame could not be decoded for another reason.
    UndecodableFrame = 1107,
    /// No interface of that name exists in the namespace.
    NoSuchInterface = 1201,
    /// Not permitted: changing features needs CAP_NET_ADMIN.
    PermissionDenied = 1202,
    /// The driver or kernel does not support the operation.
    NotSupported = 1203,
    /// A name that cannot be an interface name (empty, longer than 15 bytes,
    /// `/`, `:` or whitespace); refused before any system call.
    InvalidIfname = 1204,
    /// A feature name that is neither a legacy name (`tx`) nor a kernel
    /// feature of the interface.
    UnknownFeature = 1205,
    /// A feature named explicitly that the driver never lets change.
    FixedFeature = 1206,
    /// The network namespace does not exist or cannot be entered.
    Netns = 1207,
    /// Another OS error; see `*errno_out`.
    OsError = 1208,
    /// A capture file that is damaged or not a pcap/pcapng file.
    CaptureFormat = 1209,
    /// A snapshot file that is unreadable as a snapshot or of another schema.
    BadSnapshot = 1210,
    /// A snapshot taken on another host (machine-id differs).
    OtherHost = 1211,
    /// The snapshot file exists; it is never replaced (save elsewhere, or
    /// restore it first).
    SnapshotExists = 1212,
    /// A doctor input that cannot be used: a knowledge file, recorded
    /// evidence or report that is unreadable, not JSON, or of another schema.
    DoctorInput = 1213,
    /// XAPI could not be reached, or the connection or TLS failed.
    XapiTransport = 1301,
    /// XAPI answered with an error (code and parameters in the JSON report).
    XapiApi = 1302,
    /// XAPI's answer could not be decoded, or was an HTTP error.
    XapiDecode = 1303,
    /// A policy or selection XAPI would not take (unknown key, bad value).
    XapiInvalidPolicy = 1304,
}

impl offload_result {
    /// Every code, for lookups from a number.
    const ALL: [offload_result; 32] = [
        offload_result::Ok,
        offload_result::NullParameter,
        offload_result::Panic,
        offload_result::InsufficientSize,
        offload_result::InvalidUtf8,
        offload_result::InvalidArgument,
        offload_result::AlreadyUsed,
        offload_result::InvalidHandle,
        offload_result::UnsupportedLinkType,
        offload_result::NotIp,
        offload_result::TruncatedLinkHeader,
        offload_result::TruncatedIpHeader,
        offload_result::BadIpVersion,
        offload_result::BadHeaderLen,
        offload_result::UndecodableFrame,
        offload_result::NoSuchInterface,
        offload_result::PermissionDenied,
        offload_result::NotSupported,
        offload_result::InvalidIfname,
        offload_result::UnknownFeature,
        offload_result::FixedFeature,
        offload_result::Netns,
        offload_result::OsError,
        offload_result::CaptureFormat,
        offload_result::BadSnapshot,
        offload_result::OtherHost,
        offload_result::SnapshotExists,
        offload_result::DoctorInput,
        offload_result::XapiTransport,
        offload_result::XapiApi,
        offload_result::XapiDecode,
        offload_result::XapiInvalidPolicy,
    ];

    /// The code with this number, if there is one.
    pub fn from_u32(n: u32) -> Option<offload_result> {
        Self::ALL.iter().copied().find(|r| *r as u32 == n)
    }

    /// One line saying what the code means.
    pub fn message(self) -> &'static str {
        use offload_result as R;
        match self {
            R::Ok => "success",
            R::NullParameter => "a required pointer argument was NULL",
            R::Panic => "internal error: a panic was caught at the liboffload boundary",
            R::InsufficientSize => "the output buffer is too small",
            R::InvalidUtf8 => "a string argument is not valid UTF-8",
            R::InvalidArgument => "an argument is out of range or malformed",
            R::AlreadyUsed => "the object was already consumed",
            R::InvalidHandle => "the handle is not live (freed or foreign)",
            R::UnsupportedLinkType => "unsupported link type",
            R::NotIp => "the frame does not carry IPv4 or IPv6",
            R::TruncatedLinkHeader => "the frame ends inside the link-layer header",
            R::TruncatedIpHeader => "the frame ends inside the IP header",
            R::BadIpVersion => "the IP version contradicts the link layer",
            R::BadHeaderLen => "IPv4 header length below 5 words",
            R::UndecodableFrame => "the frame cannot be decoded",
            R::NoSuchInterface => "no such interface",
            R::PermissionDenied => "permission denied (changing features needs CAP_NET_ADMIN)",
            R::NotSupported => "operation not supported by the driver or kernel",
            R::InvalidIfname => "not a valid interface name (1 to 15 bytes, no '/', ':' or spaces)",
            R::UnknownFeature => "unknown offload feature name",
            R::FixedFeature => "the feature is fixed: the driver does not let it change",
            R::Netns => "the network namespace does not exist or cannot be entered",
            R::OsError => "operating system error (see errno)",
            R::CaptureFormat => "the capture file is damaged or not a pcap/pcapng file",
            R::BadSnapshot => "not a readable offload snapshot",
            R::OtherHost => "the snapshot was taken on another host",
            R::SnapshotExists => "the snapshot file exists and is never replaced",
            R::DoctorInput => {
                "a knowledge file, recorded evidence or doctor report that cannot be used"
            }
            R::XapiTransport => "XAPI could not be reached (connection or TLS failed)",
            R::XapiApi => "XAPI returned an error",
            R::XapiDecode => "XAPI's answer could not be decoded",
            R::XapiInvalidPolicy => "the policy or selection is not valid for XAPI",
        }
    }
}

/// A failed call: its code and the errno behind it (0 when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub result: offload_result,
    pub errno: i32,
}

impl From<offload_result> for Failure {
    fn from(result: offload_result) -> Failure {
        Failure { result, errno: 0 }
    }
}

/// The code of a frame that could not be decoded.
pub(crate) fn of_decode(e: DecodeError) -> offload_result {
    match e {
        DecodeError::UnsupportedLinkType(_) => offload_result::UnsupportedLinkType,
        DecodeError::NotIp(_) => offload_result::NotIp,
        DecodeError::TruncatedLinkHeader => offload_result::TruncatedLinkHeader,
        DecodeError::TruncatedIpHeader => offload_result::TruncatedIpHeader,
        DecodeError::BadIpVersion(_) => offload_result::BadIpVersion,
        DecodeError::BadHeaderLen(_) => offload_result::BadHeaderLen,
        _ => offload_result::UndecodableFrame,
    }
}

/// The code and errno of an offload-ethtool error.
pub(crate) fn of_ethtool(e: &offload_ethtool::Error) -> Failure {
    use offload_ethtool::Error as E;
    let errno = e.raw_os_error().unwrap_or(0);
    let result = match e {
        E::InvalidIfname { .. } => offload_result::InvalidIfname,
        E::NoSuchInterface { .. } => offload_result::NoSuchInterface,
        E::Netns { .. } => offload_result::Netns,
        E::InvalidRequest { .. } | E::InvalidSelection { .. } => offload_result::InvalidArgument,
        E::NoMatch => offload_result::NoSuchInterface,
        E::BadSnapshot { .. } => offload_result::BadSnapshot,
        E::OtherHost { .. } => offload_result::OtherHost,
        E::SnapshotExists { .. } => offload_result::SnapshotExists,
        _ => match errno {
            libc::ENODEV => offload_result::NoSuchInterface,
            libc::EPERM | libc::EACCES => offload_result::PermissionDenied,
            libc::EOPNOTSUPP => offload_result::NotSupported,
            _ => offload_result::OsError,
        },
    };
    Failure { result, errno }
}

/// The code and errno of an offload-diagnose error.
pub(crate) fn of_diagnose(e: &offload_diagnose::Error) -> Failure {
    use offload_diagnose::Error as E;
    let errno = e.raw_os_error().unwrap_or(0);
    let result = match e {
        E::Interface(inner) => return of_ethtool(inner),
        E::NoSuchInterface { .. } => offload_result::NoSuchInterface,
        E::CaptureFileDamaged { .. } => offload_result::CaptureFormat,
        E::TooManyInterfaces { .. } => offload_result::InvalidArgument,
        _ => match errno {
            libc::ENODEV => offload_result::NoSuchInterface,
            libc::EPERM | libc::EACCES => offload_result::PermissionDenied,
            _ => offload_result::OsError,
        },
    };
    Failure { result, errno }
}

/// The code and errno of an offload-xapi error.
pub(crate) fn of_xapi(e: &offload_xapi::Error) -> Failure {
    use offload_xapi::Error as E;
    let result = match e {
        E::Api { .. } => offload_result::XapiApi,
        E::Decode { .. } | E::Http { .. } => offload_result::XapiDecode,
        E::InvalidArgument { .. } | E::NoMatch { .. } => offload_result::XapiInvalidPolicy,
        E::Spec(_) => offload_result::InvalidArgument,
        E::Credentials { .. } => offload_result::InvalidArgument,
        _ => offload_result::XapiTransport,
    };
    Failure {
        result,
        errno: e.raw_os_error().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_contract_and_round_trip() {
        assert_eq!(offload_result::NullParameter as u32, 1001);
        assert_eq!(offload_result::CaptureFormat as u32, 1209);
        assert_eq!(
            offload_result::from_u32(1205),
            Some(offload_result::UnknownFeature)
        );
        assert_eq!(offload_result::from_u32(999), None);
        for r in offload_result::ALL {
            assert_eq!(offload_result::from_u32(r as u32), Some(r));
            assert!(!r.message().is_empty());
        }
    }

    #[test]
    fn errno_picks_the_interface_codes() {
        let e = offload_ethtool::Error::Ethtool {
            op: "ETHTOOL_SFEATURES",
            ifname: "eth0".into(),
            source: std::io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(
            of_ethtool(&e),
            Failure {
                result: offload_result::PermissionDenied,
                errno: libc::EPERM
            }
        );
    }
}
