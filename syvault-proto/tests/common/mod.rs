//! A virtual clock, a seeded RNG and a scripted server for driving the core's operations
//! without sockets.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use http::{Method, StatusCode};
use rand_core::SeedableRng;
use syvault_proto::config::ClientConfig;
use syvault_proto::keys::ClientKey;
use syvault_proto::ops::Operation;
use syvault_proto::record::RecordPayload;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{self, Access, Base64Bytes, DataEnvelope, Folder, FolderList, Record};
use syvault_proto::{Client, Error, RecordUid, Timestamp, folder_key, record};
use uuid::Uuid;

pub const SERVER: &str = "https://vault.example.com";
pub const T0: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

pub struct TestFolder {
    pub id: Uuid,
    pub parent: Option<Uuid>,
    pub name: String,
    pub key: SymmetricKey,
    pub access: Access,
}

/// The vault as the server would hold it, and the client that talks to it.
pub struct World {
    pub client: Client,
    pub client_id: Uuid,
    pub key: ClientKey,
    pub rng: ChaCha20Rng,
    pub now: Timestamp,
    pub folders: Vec<TestFolder>,
    pub records: BTreeMap<RecordUid, Record>,
    /// Every request sent, in order.
    pub sent: Vec<Request>,
    /// Every sleep asked for, as a duration from the time it was asked.
    pub slept: Vec<Duration>,
    /// Whether [`World::serve`] answers incremental listings: a full listing carries a sync
    /// token, and `since` gets a delta.
    pub sync: bool,
    /// The records changed, deleted or moved in or out of view, in order: a sync token is a
    /// position in it (`t<n>`).
    pub log: Vec<RecordUid>,
    /// Positions before this are forgotten: a token older gets 410.
    pub log_start: usize,
}

impl World {
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    pub fn with_config(configure: impl FnOnce(&mut ClientConfig)) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
        let key = ClientKey::generate(&mut rng);
        let client_id = Uuid::from_u128(0xc11e);
        let mut config = ClientConfig::new(SERVER, client_id, key.to_client_secret());
        configure(&mut config);
        let client = Client::new(config).unwrap();
        let mut world = Self {
            client,
            client_id,
            key,
            rng,
            now: T0,
            folders: Vec::new(),
            records: BTreeMap::new(),
            sent: Vec::new(),
            slept: Vec::new(),
            sync: false,
            log: Vec::new(),
            log_start: 0,
        };
        world.add_folder("Production", None, Access::ReadWrite);
        world
    }

    pub fn add_folder(&mut self, name: &str, parent: Option<Uuid>, access: Access) -> Uuid {
        let id = Uuid::from_u128(0xf0 + self.folders.len() as u128);
        let key = SymmetricKey::generate(&mut self.rng);
        self.folders.push(TestFolder {
            id,
            parent,
            name: name.into(),
            key,
            access,
        });
        id
    }

    pub fn folder(&self, name: &str) -> &TestFolder {
        self.folders.iter().find(|f| f.name == name).unwrap()
    }

    /// Stores a record the way an admin would create it.
    pub fn add_secret(&mut self, folder: &str, title: &str, fields: &[(&str, &str)]) -> RecordUid {
        let uid = RecordUid::generate(&mut self.rng);
        let mut payload = RecordPayload::new(title);
        for (name, value) in fields {
            payload.fields.set(*name, *value);
        }
        self.store(uid, folder, &payload, 1);
        uid
    }

    /// Deletes a record, as an admin would.
    pub fn delete(&mut self, uid: &RecordUid) {
        self.records.remove(uid);
        self.log.push(*uid);
    }

    /// Revokes the client's grant on a folder: its records are no longer visible.
    pub fn revoke(&mut self, folder: &str) {
        let at = self.folders.iter().position(|f| f.name == folder).unwrap();
        let id = self.folders.remove(at).id;
        let gone: Vec<RecordUid> = self
            .records
            .values()
            .filter(|r| r.folder_id == id)
            .map(|r| r.uid)
            .collect();
        for uid in gone {
            self.records.remove(&uid);
            self.log.push(uid);
        }
    }

    /// The visible records, as a listing shows them.
    fn visible(&self) -> Vec<Record> {
        self.records.values().cloned().collect()
    }

    /// The answer to `GET /secrets` with this query: a full listing in one page, or a delta.
    pub fn listing(&self, query: &str) -> Response {
        let query = wire::ListQuery::parse(query).unwrap();
        let token = self.sync.then(|| format!("t{}", self.log.len()));
        let Some(since) = query.since.filter(|_| self.sync) else {
            let mut page = wire::SecretList::full(self.visible(), None);
            page.sync_token = token;
            return json(StatusCode::OK, &page);
        };
        let Some(position) = since
            .strip_prefix('t')
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return error(StatusCode::BAD_REQUEST, "invalid_request");
        };
        if position > self.log.len() {
            return error(StatusCode::BAD_REQUEST, "invalid_request");
        }
        if position < self.log_start {
            return error(StatusCode::GONE, "sync_token_expired");
        }
        let changed: std::collections::BTreeSet<RecordUid> =
            self.log[position..].iter().copied().collect();
        let mut page = wire::SecretList::full(Vec::new(), None);
        page.delta = true;
        page.sync_token = token;
        for uid in changed {
            match self.records.get(&uid) {
                Some(record) => page.data.push(record.clone()),
                None => page.deleted.push(uid),
            }
        }
        json(StatusCode::OK, &page)
    }

    pub fn store(&mut self, uid: RecordUid, folder: &str, payload: &RecordPayload, revision: u64) {
        self.log.push(uid);
        let folder = self.folders.iter().find(|f| f.name == folder).unwrap();
        let sealed = record::seal(&uid, &folder.key, payload, &mut self.rng);
        self.records.insert(
            uid,
            Record {
                uid,
                folder_id: folder.id,
                revision,
                encrypted_dek: Base64Bytes(sealed.encrypted_dek),
                encrypted_data: Base64Bytes(sealed.encrypted_data),
                created_at: "2026-01-01T00:00:00Z".into(),
                updated_at: "2026-01-01T00:00:00Z".into(),
            },
        );
    }

    pub fn folders_response(&mut self) -> Response {
        let data = self
            .folders
            .iter()
            .map(|f| Folder {
                folder_id: f.id,
                parent_id: f.parent,
                encrypted_key: Base64Bytes(folder_key::wrap(
                    &f.key,
                    &f.id,
                    &self.client_id,
                    &self.key.public_key(),
                    &mut self.rng,
                )),
                encrypted_name: Base64Bytes(folder_key::seal_name(&f.key, &f.name, &mut self.rng)),
                access: f.access,
            })
            .collect();
        json(StatusCode::OK, &FolderList { data })
    }

    pub fn record_response(&self, uid: &RecordUid) -> Response {
        match self.records.get(uid) {
            Some(record) => {
                let mut response = json(StatusCode::OK, &DataEnvelope::new(record.clone()));
                response
                    .headers_mut()
                    .insert("etag", format!("\"r{}\"", record.revision).parse().unwrap());
                response
            }
            None => error(StatusCode::NOT_FOUND, "secret_not_found"),
        }
    }

    /// Answers the plain reads of a healthy server: folders, one record, one page of all.
    pub fn serve(&mut self, request: &Request) -> Response {
        let path = request.uri().path().to_owned();
        let api = path.strip_prefix("/api/sm/v1").unwrap();
        match (request.method().clone(), api) {
            (Method::GET, "/folders") => self.folders_response(),
            (Method::GET, "/secrets") => self.listing(request.uri().query().unwrap_or_default()),
            (Method::GET, p) if p.starts_with("/secrets/") => {
                let uid: RecordUid = p["/secrets/".len()..].parse().unwrap();
                if let (Some(tag), Some(record)) = (
                    request.headers().get("if-none-match"),
                    self.records.get(&uid),
                ) && tag.to_str().unwrap() == format!("\"r{}\"", record.revision)
                {
                    return http::Response::builder()
                        .status(304)
                        .body(Vec::new())
                        .unwrap();
                }
                self.record_response(&uid)
            }
            other => panic!("unexpected request {other:?}"),
        }
    }

    /// Drives an operation to its end: `respond` answers each request; sleeps and joins advance
    /// the virtual clock.
    pub fn drive<O: Operation>(
        &mut self,
        mut op: O,
        mut respond: impl FnMut(&mut Self, &Request) -> Result<Response, Error>,
    ) -> syvault_proto::Result<O::Output> {
        let mut input = Input::Start;
        for _ in 0..1000 {
            let step = op.step(&mut self.client, input, self.now, &mut self.rng);
            input = match step {
                Step::Send(request) => {
                    self.sent.push(clone_request(&request));
                    match respond(self, &request) {
                        Ok(response) => Input::Response(response),
                        Err(error) => Input::Failed(error),
                    }
                }
                Step::Sleep(until) | Step::Join(until) => {
                    self.slept.push(until.saturating_duration_since(self.now));
                    self.now = until.max(self.now);
                    Input::Wake
                }
                Step::Done(result) => return result,
            };
        }
        panic!("operation did not finish in 1000 steps");
    }

    /// Drives against [`World::serve`].
    pub fn run<O: Operation>(&mut self, op: O) -> syvault_proto::Result<O::Output> {
        self.drive(op, |world, request| Ok(world.serve(request)))
    }

    /// Runs the background work the client wants done now, as a driver would after an
    /// operation, answered by `respond`; how many jobs ran.
    pub fn run_background(
        &mut self,
        mut respond: impl FnMut(&mut Self, &Request) -> Result<Response, Error>,
    ) -> usize {
        let mut jobs = 0;
        while let Some(job) = self.client.take_background(self.now) {
            jobs += 1;
            self.drive(job, &mut respond).unwrap();
        }
        jobs
    }

    pub fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
    }

    pub fn requests_to(&self, path_suffix: &str) -> usize {
        self.sent
            .iter()
            .filter(|r| r.uri().path().ends_with(path_suffix))
            .count()
    }
}

pub fn clone_request(request: &Request) -> Request {
    let mut builder = http::Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    builder.body(request.body().clone()).unwrap()
}

pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap()
}

pub fn error(status: StatusCode, code: &str) -> Response {
    http::Response::builder()
        .status(status)
        .body(format!(r#"{{"error":{{"code":"{code}","message":"scripted"}}}}"#).into_bytes())
        .unwrap()
}

pub fn error_with_retry_after(status: StatusCode, code: &str, seconds: u64) -> Response {
    let mut response = error(status, code);
    response
        .headers_mut()
        .insert("retry-after", seconds.to_string().parse().unwrap());
    response
}

pub fn bearer(request: &Request) -> Option<String> {
    request
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap().trim_start_matches("Bearer ").to_owned())
}
