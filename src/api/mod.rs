//! The HTTP client for the Customers API.
