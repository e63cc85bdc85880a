//! Test helpers: a small hyper client (plain or TLS) and a client bootstrapped with the core.

#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of this module.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::de::DeserializeOwned;
use syvault_dev::wire::{
    self, Base64Bytes, BootstrapRequest, BootstrapResponse, FolderKeysUpload, paths,
};
use syvault_dev::{DevServer, NewClient};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::jwt::{self, Claims, canonical_audience};
use syvault_proto::keys::ClientKey;
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{SecretString, Timestamp, folder_key};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

/// The operating system's generator, as the core wants it.
pub fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

pub fn now_secs() -> u64 {
    Timestamp::from(SystemTime::now()).as_unix_secs()
}

/// An answer as received.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {:?}",
                self.status, self.body
            )
        })
    }

    pub fn parse<T: DeserializeOwned>(&self) -> T {
        wire::parse_body(self.status, &self.body).expect("body parses as the wire type")
    }

    /// The `error.code` of an error envelope, after checking the envelope's shape.
    pub fn error_code(&self) -> String {
        let json = self.json();
        assert!(json["error"]["message"].is_string(), "{json}");
        json["error"]["code"]
            .as_str()
            .expect("error.code")
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an error answer with `status` and `code`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let answer = self.expect(status);
        assert_eq!(answer.error_code(), code);
        answer
    }
}

/// A one-connection-per-request HTTP/1.1 client.
#[derive(Clone)]
pub struct Http {
    host: String,
    port: u16,
    authority: String,
    tls: Option<TlsConnector>,
}

impl Http {
    pub fn new(url: &str, ca_pem: Option<&str>) -> Self {
        let uri: http::Uri = url.parse().unwrap();
        let authority = uri.authority().unwrap();
        let tls = ca_pem.map(|pem| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(cert.unwrap()).unwrap();
            }
            TlsConnector::from(Arc::new(client_config(roots)))
        });
        Self {
            host: authority.host().trim_matches(['[', ']']).to_owned(),
            port: authority.port_u16().unwrap(),
            authority: authority.as_str().to_owned(),
            tls,
        }
    }

    pub fn for_server(server: &DevServer) -> Self {
        Self::new(&server.url(), server.ca_pem().as_deref())
    }

    /// Sends a request; `Err` is a transport failure (connection closed, body cut short).
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        match &self.tls {
            None => exchange(stream, request).await,
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone()).unwrap();
                let stream = tls
                    .connect(name, stream)
                    .await
                    .map_err(|e| format!("tls: {e}"))?;
                exchange(stream, request).await
            }
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        self.try_send(method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub async fn get(&self, path: &str, bearer: &str) -> Answer {
        let auth = format!("Bearer {bearer}");
        self.send(Method::GET, path, &[("authorization", &auth)], Vec::new())
            .await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Vec<u8>) -> Answer {
        self.with_body(Method::POST, path, bearer, body).await
    }

    pub async fn put(&self, path: &str, bearer: &str, body: Vec<u8>) -> Answer {
        self.with_body(Method::PUT, path, Some(bearer), body).await
    }

    async fn with_body(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let auth = bearer.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        self.send(method, path, &headers, body).await
    }
}

/// A client configuration on *ring*, the project's one provider (whose constructor rustls
/// 0.23.48 deprecates for lacking post-quantum key exchange).
#[allow(deprecated)]
pub fn client_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

async fn exchange<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Answer, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let (parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    driver.abort();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// A client bootstrapped through the HTTP API with the core, holding its folder keys.
pub struct TestClient {
    pub client_id: Uuid,
    pub key: ClientKey,
    pub audience: String,
    pub folder_keys: BTreeMap<Uuid, SymmetricKey>,
}

impl TestClient {
    /// A token valid for ten minutes from now.
    pub fn token(&self) -> String {
        let now = now_secs();
        self.token_with(now, now + 600, &self.audience.clone())
    }

    pub fn token_with(&self, iat: u64, exp: u64, aud: &str) -> String {
        let claims = Claims::new(self.client_id, aud, iat, exp);
        jwt::sign(&self.key, &claims).expose().to_owned()
    }
}

/// The bootstrap request for `token` with `key`.
pub fn bootstrap_body(token: &SecretString, key: &ClientKey) -> Vec<u8> {
    let proof = OneTimeToken::parse(token.expose()).unwrap().derive();
    wire::to_body(&BootstrapRequest {
        token: proof.request_token(),
        public_key: Base64Bytes::from(key.public_key().to_sec1().as_slice()),
    })
}

/// Bootstraps `client` and uploads its folder keys, as an SDK does.
pub async fn bootstrap(server: &DevServer, http: &Http, client: &NewClient) -> TestClient {
    let key = ClientKey::generate(&mut rng());
    let answer = http
        .post(
            paths::bootstrap(),
            None,
            bootstrap_body(&client.token, &key),
        )
        .await
        .expect(200);
    let answer: BootstrapResponse = answer.parse();
    assert_eq!(answer.client_id, client.client_id);
    let proof = OneTimeToken::parse(client.token.expose()).unwrap().derive();
    let mut folder_keys = BTreeMap::new();
    let mut upload = BTreeMap::new();
    for (folder_id, sealed) in &answer.encrypted_folder_keys {
        let folder_key = proof.open_folder_key(folder_id, sealed.as_slice()).unwrap();
        let wrapped = folder_key::wrap(
            &folder_key,
            folder_id,
            &answer.client_id,
            &key.public_key(),
            &mut rng(),
        );
        upload.insert(*folder_id, Base64Bytes::from(wrapped));
        folder_keys.insert(*folder_id, folder_key);
    }
    let test_client = TestClient {
        client_id: answer.client_id,
        key,
        audience: canonical_audience(&server.url()).unwrap(),
        folder_keys,
    };
    http.put(
        paths::folder_keys(),
        &test_client.token(),
        wire::to_body(&FolderKeysUpload { keys: upload }),
    )
    .await
    .expect(204);
    test_client
}

/// A server with short rotation delays for tests.
pub async fn start() -> DevServer {
    DevServer::builder()
        .rotation_delay(Duration::from_millis(100))
        .start()
        .await
        .unwrap()
}

/// A server with one application, a folder `Production` and a client bootstrapped on it.
pub struct Fixture {
    pub server: DevServer,
    pub http: Http,
    pub admin: syvault_dev::Admin,
    pub app: Uuid,
    pub folder: Uuid,
    pub client: TestClient,
}

impl Fixture {
    pub async fn new(access: wire::Access) -> Self {
        Self::on(start().await, access).await
    }

    pub async fn on(server: DevServer, access: wire::Access) -> Self {
        let http = Http::for_server(&server);
        let admin = server.admin();
        let app = admin.create_application("Tests");
        let folder = admin.create_folder("Production", None).unwrap();
        let client = admin.create_client(app, "test client").unwrap();
        admin.grant(client.client_id, folder, access).unwrap();
        let client = bootstrap(&server, &http, &client).await;
        Self {
            server,
            http,
            admin,
            app,
            folder,
            client,
        }
    }

    /// Another client of the same application with `access` on the fixture's folder.
    pub async fn second_client(&self, access: wire::Access) -> TestClient {
        let client = self.admin.create_client(self.app, "second client").unwrap();
        self.admin
            .grant(client.client_id, self.folder, access)
            .unwrap();
        bootstrap(&self.server, &self.http, &client).await
    }

    /// A secret in the fixture's folder with a `password` field.
    pub fn secret(&self, title: &str, password: &str) -> syvault_proto::RecordUid {
        let mut payload = syvault_proto::record::RecordPayload::new(title);
        payload.fields.set("username", "app");
        payload.fields.set("password", password);
        self.admin.create_secret(self.folder, &payload).unwrap()
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.http.get(path, &self.client.token()).await
    }

    /// A secret titled `title`, bound as a dynamic target on database `app`, schema
    /// `inventory`.
    pub fn dynamic_target(&self, title: &str) -> syvault_proto::RecordUid {
        let uid = self.secret(title, "unused");
        self.admin
            .set_dynamic_target(
                uid,
                syvault_dev::RoleTemplate::new("app").schema("inventory"),
            )
            .unwrap();
        uid
    }

    /// Starts a rotation of `uid` over HTTP and polls it until it completes or fails; answers
    /// the last poll's `data`.
    pub async fn rotate_to_end(&self, uid: syvault_proto::RecordUid) -> serde_json::Value {
        let started = self
            .http
            .post(
                &syvault_dev::wire::paths::rotate(&uid),
                Some(&self.client.token()),
                Vec::new(),
            )
            .await
            .expect(202)
            .json();
        let id = started["data"]["rotation_id"].as_str().unwrap().to_owned();
        for _ in 0..200 {
            let polled = self
                .get(&format!("/api/sm/v1/rotations/{id}"))
                .await
                .expect(200)
                .json();
            if matches!(
                polled["data"]["status"].as_str(),
                Some("completed" | "failed")
            ) {
                return polled["data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the rotation did not finish");
    }
}
