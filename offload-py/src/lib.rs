//! `offload-py`: Python bindings (pyo3) for the offload toolkit.
