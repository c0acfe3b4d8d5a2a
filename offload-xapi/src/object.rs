//! XAPI class names of the objects a policy touches ([`XapiObject`]), for
//! method names (`PIF.plug`, `network.add_to_other_config`) and reports
//! (`"class": "PIF"`).

use offload_core::features::XapiObject;
use serde::Serializer;

/// The XAPI class: `PIF`, `VIF` or `network`.
pub fn class_name(object: XapiObject) -> &'static str {
    match object {
        XapiObject::Pif => "PIF",
        XapiObject::Vif => "VIF",
        XapiObject::Network => "network",
    }
}

/// `serialize_with` for an [`XapiObject`] field: its class name.
pub(crate) fn serialize_class<S: Serializer>(
    object: &XapiObject,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(class_name(*object))
}
