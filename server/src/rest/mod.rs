//! The documented REST API under `/zhugeleida/`: thin adapters that parse the
//! request, call the service layer and render the envelope.

pub mod admin;
pub mod article;
pub mod chat;
pub mod crm;
pub mod media;
pub mod signin;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{any, get};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::auth::verify_for_path;
use crate::error::{ApiError, Error};
use crate::AppState;

/// Every API route, to be mounted under `/zhugeleida`.
pub fn routes() -> Routes {
    let mut t = table();
    t.map_router(|r| r.fallback(not_found));
    t
}

/// The patterns of every route under `/zhugeleida`, as registered.
pub fn route_patterns() -> Vec<String> {
    table().patterns
}

fn table() -> Routes {
    let mut t = Routes::default();
    chat::routes(&mut t);
    media::upload_routes(&mut t);
    crm::routes(&mut t);
    article::routes(&mut t);
    crate::ws::routes(&mut t);
    t
}

/// A router that remembers the pattern of each route it was given, so that
/// the OpenAPI test can hold the document to the routes actually served
/// (`radar::route_patterns`).
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    patterns: Vec<String>,
}

impl Routes {
    pub fn route(
        &mut self,
        pattern: &'static str,
        method_router: axum::routing::MethodRouter<AppState>,
    ) -> &mut Self {
        self.router = std::mem::take(&mut self.router).route(pattern, method_router);
        self.patterns.push(pattern.to_owned());
        self
    }

    /// `other`'s routes under `prefix`.
    pub fn nest(&mut self, prefix: &str, other: Routes) -> &mut Self {
        self.router = std::mem::take(&mut self.router).nest(prefix, other.router);
        self.patterns
            .extend(other.patterns.into_iter().map(|p| format!("{prefix}{p}")));
        self
    }

    /// A router built elsewhere (the pages), with the patterns it serves.
    pub fn merge(&mut self, router: Router<AppState>, patterns: Vec<String>) -> &mut Self {
        self.router = std::mem::take(&mut self.router).merge(router);
        self.patterns.extend(patterns);
        self
    }

    /// Changes the router without adding routes (a fallback, layers).
    pub fn map_router(
        &mut self,
        f: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> &mut Self {
        self.router = f(std::mem::take(&mut self.router));
        self
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

async fn not_found() -> Error {
    Error::NotFound
}

/// A method the route does not serve: authentication still comes first, as in the
/// original, then `402 请求异常`.
pub async fn wrong_method(State(st): State<AppState>, req: axum::extract::Request) -> ApiError {
    let (parts, _) = req.into_parts();
    match verify_for_path(&parts, &st).await {
        Err(e) => e,
        Ok(_) => Error::bad_request().into(),
    }
}

/// Path parameters whose rejection is the contract's envelope, not axum's text.
pub struct Args<T>(pub T);

impl<T, S> FromRequestParts<S> for Args<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Args(v)),
            Err(_) => Err(Error::bad_request().into()),
        }
    }
}

/// `GET` only, with the 402 fallback for other methods.
pub fn get_only<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    get(h).fallback(wrong_method)
}

/// `POST` only, with the 402 fallback for other methods.
pub fn post_only<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    axum::routing::post(h).fallback(wrong_method)
}

/// Any method; the handler dispatches on method and operation itself.
pub fn any_method<H, T>(h: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    any(h)
}
