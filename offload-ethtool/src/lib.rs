//! `offload-ethtool`: reading and changing NIC offload features through the
//! SIOCETHTOOL ioctl, interface enumeration, network namespaces and live capture.
