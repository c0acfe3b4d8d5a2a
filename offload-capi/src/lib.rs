//! `offload-capi`: the C ABI of the offload toolkit (`liboffload`).
