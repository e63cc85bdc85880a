//! Both clients configured by environment variables alone: the OS trust store through
//! `SSL_CERT_FILE`, `SY_CREDENTIALS_FILE`, `SY_CA_CERT` and the proxy variables. Each
//! scenario runs the client in a child process with its own environment, so no test changes
//! the environment of this one.

mod ureq {
    syvault_tests::environment_tests!(syvault_tests::sdk::Blocking);
}

mod hyper {
    syvault_tests::environment_tests!(syvault_tests::sdk::Async);
}
