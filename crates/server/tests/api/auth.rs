//! Authentication, tenancy and scope: wrong keys, other merchants, other devices.
